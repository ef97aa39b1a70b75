/*-------------------------------------------------------------------------
 *
 * filter_zlib.c
 *		The zlib compress and decompress steps (gzip streams); the type is
 *		chosen in filter_compress.c, buffering and stream checks are
 *		filter_stream.c's.
 *
 * Compressed files are single-member gzip streams, so a repository file can
 * be checked by hand with "gzip -dc".
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"

#include <stdlib.h>

#include <zlib.h>

/* gzip wrapper around a deflate stream with a 32 kB window */
#define SB_ZLIB_WINDOW_BITS		(15 + 16)
#define SB_ZLIB_MEM_LEVEL		8

/* largest window handed to zlib at once (its counts are unsigned ints) */
#define SB_ZLIB_MAX_CHUNK		((size_t) 1 << 30)

typedef struct ZlibStream
{
	z_stream	zs;
	bool		inflating;
	int			init_rc;		/* result of deflateInit2/inflateInit2 */
} ZlibStream;

/* hand zlib the windows, run fn, and account for what it used */
static int
zlib_run(ZlibStream *z, int (*fn) (z_streamp, int), int flush,
		 const uint8_t **in, size_t *in_len, uint8_t **out, size_t *room)
{
	uInt		avail_in = (uInt) (*in_len < SB_ZLIB_MAX_CHUNK ? *in_len : SB_ZLIB_MAX_CHUNK);
	uInt		avail_out = (uInt) (*room < SB_ZLIB_MAX_CHUNK ? *room : SB_ZLIB_MAX_CHUNK);
	int			zrc;

	z->zs.next_in = (Bytef *) *in;
	z->zs.avail_in = avail_in;
	z->zs.next_out = *out;
	z->zs.avail_out = avail_out;
	zrc = fn(&z->zs, flush);
	*in += avail_in - z->zs.avail_in;
	*in_len -= avail_in - z->zs.avail_in;
	*out += avail_out - z->zs.avail_out;
	*room -= avail_out - z->zs.avail_out;
	return zrc;
}

static SbStreamResult
deflate_step(void *ctx, const uint8_t **in, size_t *in_len,
			 uint8_t **out, size_t *room, bool end, const char **detail)
{
	ZlibStream *z = (ZlibStream *) ctx;
	int			zrc;

	if (z->init_rc != Z_OK)
	{
		*detail = "zlib could not initialize the stream";
		return SB_STREAM_FAILED;
	}
	zrc = zlib_run(z, deflate, end ? Z_FINISH : Z_NO_FLUSH,
				   in, in_len, out, room);
	if (zrc == Z_STREAM_END)
		return SB_STREAM_END;
	if (zrc == Z_OK || zrc == Z_BUF_ERROR)
		return SB_STREAM_OK;
	*detail = z->zs.msg ? z->zs.msg : "zlib error";
	return SB_STREAM_FAILED;
}

static SbStreamResult
inflate_step(void *ctx, const uint8_t **in, size_t *in_len,
			 uint8_t **out, size_t *room, bool end, const char **detail)
{
	ZlibStream *z = (ZlibStream *) ctx;
	int			zrc;

	(void) end;
	if (z->init_rc != Z_OK)
	{
		*detail = "zlib could not initialize the stream";
		return SB_STREAM_FAILED;
	}
	zrc = zlib_run(z, inflate, Z_NO_FLUSH, in, in_len, out, room);
	switch (zrc)
	{
		case Z_STREAM_END:
			return SB_STREAM_END;
		case Z_OK:
			return SB_STREAM_OK;
		case Z_BUF_ERROR:
			/* no progress possible: needs more input, or input is bad */
			return SB_STREAM_OK;
		case Z_DATA_ERROR:
		case Z_NEED_DICT:
			*detail = z->zs.msg ? z->zs.msg : "invalid data";
			return SB_STREAM_CORRUPT;
		case Z_MEM_ERROR:
			return SB_STREAM_NO_MEMORY;
	}
	*detail = "zlib error";
	return SB_STREAM_FAILED;
}

static void
zlib_release(void *ctx)
{
	ZlibStream *z = (ZlibStream *) ctx;

	if (z->init_rc == Z_OK)
	{
		if (z->inflating)
			inflateEnd(&z->zs);
		else
			deflateEnd(&z->zs);
	}
	free(z);
}

/* one gzip member, never seekable: no frame magic (see codec.h) */
static const SbStreamOps deflate_ops = {false, 0, deflate_step, zlib_release};
static const SbStreamOps inflate_ops = {true, 0, inflate_step, zlib_release};

SbFilter *
sb_zlib_compress_new(int level, SbFilter *next)
{
	ZlibStream *z = calloc(1, sizeof(ZlibStream));

	if (z == NULL)
		return NULL;
	z->init_rc = deflateInit2(&z->zs, level, Z_DEFLATED, SB_ZLIB_WINDOW_BITS,
							  SB_ZLIB_MEM_LEVEL, Z_DEFAULT_STRATEGY);
	if (z->init_rc == Z_MEM_ERROR)
	{
		free(z);
		return NULL;
	}
	return sb_stream_filter_new(&deflate_ops, z, next);
}

SbFilter *
sb_zlib_decompress_new(SbFilter *next)
{
	ZlibStream *z = calloc(1, sizeof(ZlibStream));

	if (z == NULL)
		return NULL;
	z->inflating = true;
	z->init_rc = inflateInit2(&z->zs, SB_ZLIB_WINDOW_BITS);
	if (z->init_rc == Z_MEM_ERROR)
	{
		free(z);
		return NULL;
	}
	return sb_stream_filter_new(&inflate_ops, z, next);
}
