/*-------------------------------------------------------------------------
 *
 * filter_zlib.c
 *		The compress and decompress filters: zlib (gzip) streams, the
 *		pass-through for SB_COMPRESS_NONE, and a filter that fails on first
 *		use for an unsupported compression type.
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
#include <string.h>

#include <zlib.h>

/* gzip wrapper around a deflate stream with a 32 kB window */
#define SB_ZLIB_WINDOW_BITS		(15 + 16)
#define SB_ZLIB_MEM_LEVEL		8

/* largest piece handed to zlib at once (avail_in is an unsigned int) */
#define SB_ZLIB_MAX_CHUNK		((size_t) 1 << 30)

/* ----------------------------------------------------------------
 *		Filter for an unsupported compression type
 *
 * The constructors may return NULL only when out of memory, so an unknown
 * type yields a filter that fails on first use.
 * ----------------------------------------------------------------
 */

typedef struct BadTypeFilter
{
	SbFilter	base;
	int			type;
} BadTypeFilter;

static SbStatus
badtype_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	(void) buf;
	(void) len;
	return sb_error_set(err, SB_ERR_CONFIG, "unsupported compression type %d",
						((BadTypeFilter *) f)->type);
}

static SbStatus
badtype_finish(SbFilter *f, SbError *err)
{
	return badtype_write(f, NULL, 0, err);
}

static void
badtype_free(SbFilter *f)
{
	free(f);
}

static SbFilter *
badtype_new(SbCompressType type, SbFilter *next)
{
	BadTypeFilter *b;

	b = calloc(1, sizeof(BadTypeFilter));
	if (b == NULL)
		return NULL;
	b->type = (int) type;
	b->base.write = badtype_write;
	b->base.finish = badtype_finish;
	b->base.free = badtype_free;
	b->base.next = next;
	return &b->base;
}

bool
sb_compress_type_known(SbCompressType type)
{
	return type == SB_COMPRESS_NONE || type == SB_COMPRESS_ZLIB;
}

/* ----------------------------------------------------------------
 *		zlib filters
 *
 * Output is collected in one SB_CODEC_BUFSIZE buffer and pushed to next
 * only when full, and once more at finish, so the stage after us sees
 * writes of the full chunk size.
 * ----------------------------------------------------------------
 */

typedef struct ZlibFilter
{
	SbFilter	base;
	z_stream	zs;
	bool		inflating;		/* decompress rather than compress */
	int			init_rc;		/* result of deflateInit2/inflateInit2 */
	bool		stream_end;		/* Z_STREAM_END seen */
	bool		finished;
	const char *label;			/* file name for messages, or NULL */
	size_t		out_len;		/* bytes of out in use */
	uint8_t		out[SB_CODEC_BUFSIZE];
} ZlibFilter;

static SbStatus
zlib_flush_out(ZlibFilter *z, SbError *err)
{
	SbStatus	rc;

	rc = sb_filter_push(&z->base, z->out, z->out_len, err);
	z->out_len = 0;
	return rc;
}

/* point zlib's output at the free part of our buffer, flushing if full */
static SbStatus
zlib_prepare_out(ZlibFilter *z, SbError *err)
{
	if (z->out_len == SB_CODEC_BUFSIZE)
	{
		SbStatus	rc = zlib_flush_out(z, err);

		if (rc != SB_OK)
			return rc;
	}
	z->zs.next_out = z->out + z->out_len;
	z->zs.avail_out = (uInt) (SB_CODEC_BUFSIZE - z->out_len);
	return SB_OK;
}

static void
zlib_account_out(ZlibFilter *z)
{
	z->out_len = SB_CODEC_BUFSIZE - z->zs.avail_out;
}

static SbStatus
zlib_init_error(ZlibFilter *z, SbError *err)
{
	return sb_error_set(err, SB_ERR_INTERNAL,
						"could not initialize zlib %s stream: error code %d",
						z->inflating ? "decompression" : "compression",
						z->init_rc);
}

static SbStatus
zlib_corrupt(ZlibFilter *z, const char *detail, SbError *err)
{
	if (z->label != NULL)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"could not decompress file \"%s\": %s",
							z->label, detail);
	return sb_error_set(err, SB_ERR_CORRUPT,
						"could not decompress data: %s", detail);
}

static SbStatus
deflate_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: write after finish");

	while (len > 0)
	{
		size_t		chunk = len < SB_ZLIB_MAX_CHUNK ? len : SB_ZLIB_MAX_CHUNK;

		z->zs.next_in = (Bytef *) buf;
		z->zs.avail_in = (uInt) chunk;
		while (z->zs.avail_in > 0)
		{
			SbStatus	rc;
			int			zrc;

			rc = zlib_prepare_out(z, err);
			if (rc != SB_OK)
				return rc;
			zrc = deflate(&z->zs, Z_NO_FLUSH);
			zlib_account_out(z);
			if (zrc != Z_OK && zrc != Z_BUF_ERROR)
				return sb_error_set(err, SB_ERR_INTERNAL,
									"could not compress data: %s",
									z->zs.msg ? z->zs.msg : "zlib error");
		}
		buf += chunk;
		len -= chunk;
	}
	return SB_OK;
}

static SbStatus
deflate_finish(SbFilter *f, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;
	SbStatus	rc;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: finished twice");
	z->finished = true;

	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	for (;;)
	{
		int			zrc;

		rc = zlib_prepare_out(z, err);
		if (rc != SB_OK)
			return rc;
		zrc = deflate(&z->zs, Z_FINISH);
		zlib_account_out(z);
		if (zrc == Z_STREAM_END)
			break;
		if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not compress data: %s",
								z->zs.msg ? z->zs.msg : "zlib error");
	}
	rc = zlib_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return sb_filter_finish_next(f, err);
}

static SbStatus
inflate_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: write after finish");

	while (len > 0)
	{
		size_t		chunk = len < SB_ZLIB_MAX_CHUNK ? len : SB_ZLIB_MAX_CHUNK;

		if (z->stream_end)
			return zlib_corrupt(z, "trailing data after end of compressed stream",
								err);

		z->zs.next_in = (Bytef *) buf;
		z->zs.avail_in = (uInt) chunk;

		/*
		 * Run until all input is consumed and zlib has room left, so that no
		 * output stays pending inside zlib when we return.
		 */
		while (z->zs.avail_in > 0 || z->out_len == SB_CODEC_BUFSIZE)
		{
			SbStatus	rc;
			int			zrc;

			rc = zlib_prepare_out(z, err);
			if (rc != SB_OK)
				return rc;
			zrc = inflate(&z->zs, Z_NO_FLUSH);
			zlib_account_out(z);
			if (zrc == Z_STREAM_END)
			{
				z->stream_end = true;
				if (z->zs.avail_in > 0)
					return zlib_corrupt(z, "trailing data after end of compressed stream",
										err);
				break;
			}
			if (zrc == Z_OK)
				continue;
			if (zrc == Z_BUF_ERROR && z->zs.avail_in == 0)
				break;			/* needs more input */
			if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT ||
				zrc == Z_BUF_ERROR)
				return zlib_corrupt(z, z->zs.msg ? z->zs.msg : "invalid data",
									err);
			if (zrc == Z_MEM_ERROR)
				return sb_error_set(err, SB_ERR_INTERNAL,
									"could not decompress data: out of memory");
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not decompress data: zlib error code %d",
								zrc);
		}
		buf += chunk;
		len -= chunk;
	}
	return SB_OK;
}

static SbStatus
inflate_finish(SbFilter *f, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;
	SbStatus	rc;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: finished twice");
	z->finished = true;

	/* inflate_write leaves no pending output, so the end must have been seen */
	if (!z->stream_end)
		return zlib_corrupt(z, "unexpected end of compressed data", err);

	rc = zlib_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return sb_filter_finish_next(f, err);
}

static void
zlib_free(SbFilter *f)
{
	ZlibFilter *z = (ZlibFilter *) f;

	if (z == NULL)
		return;
	if (z->init_rc == Z_OK)
	{
		if (z->inflating)
			inflateEnd(&z->zs);
		else
			deflateEnd(&z->zs);
	}
	free(z);
}

SbFilter *
sb_filter_compress_new(SbCompressType type, int level, SbFilter *next)
{
	ZlibFilter *z;

	if (type == SB_COMPRESS_NONE)
		return sb_filter_count_new(next);
	if (type != SB_COMPRESS_ZLIB)
		return badtype_new(type, next);

	/* clamp: negative means zlib's default, above 9 means 9 */
	if (level < 0)
		level = Z_DEFAULT_COMPRESSION;
	else if (level > 9)
		level = 9;

	z = malloc(sizeof(ZlibFilter));
	if (z == NULL)
		return NULL;
	memset(z, 0, offsetof(ZlibFilter, out));
	z->inflating = false;
	z->init_rc = deflateInit2(&z->zs, level, Z_DEFLATED, SB_ZLIB_WINDOW_BITS,
							  SB_ZLIB_MEM_LEVEL, Z_DEFAULT_STRATEGY);
	if (z->init_rc == Z_MEM_ERROR)
	{
		free(z);
		return NULL;
	}
	z->base.write = deflate_write;
	z->base.finish = deflate_finish;
	z->base.free = zlib_free;
	z->base.next = next;
	return &z->base;
}

SbFilter *
sb_filter_decompress_new(SbCompressType type, SbFilter *next)
{
	ZlibFilter *z;

	if (type == SB_COMPRESS_NONE)
		return sb_filter_count_new(next);
	if (type != SB_COMPRESS_ZLIB)
		return badtype_new(type, next);

	z = malloc(sizeof(ZlibFilter));
	if (z == NULL)
		return NULL;
	memset(z, 0, offsetof(ZlibFilter, out));
	z->inflating = true;
	z->init_rc = inflateInit2(&z->zs, SB_ZLIB_WINDOW_BITS);
	if (z->init_rc == Z_MEM_ERROR)
	{
		free(z);
		return NULL;
	}
	z->base.write = inflate_write;
	z->base.finish = inflate_finish;
	z->base.free = zlib_free;
	z->base.next = next;
	return &z->base;
}

/* Name the file a decompress filter reads, for its error messages. */
void
sb_decompress_set_label(SbFilter *f, const char *label)
{
	if (f->write == inflate_write)
		((ZlibFilter *) f)->label = label;
}
