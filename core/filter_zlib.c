/*-------------------------------------------------------------------------
 *
 * filter_zlib.c
 *		The zlib compress and decompress filters (gzip streams); the
 *		type is chosen in filter_compress.c.
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
	return sb_decompress_corrupt(z->label, detail, err);
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
				return sb_error_set(err, SB_ERR_NO_MEMORY,
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
sb_zlib_compress_new(int level, SbFilter *next)
{
	ZlibFilter *z;

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
sb_zlib_decompress_new(SbFilter *next)
{
	ZlibFilter *z;

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

bool
sb_zlib_set_label(SbFilter *f, const char *label)
{
	if (f->write != inflate_write)
		return false;
	((ZlibFilter *) f)->label = label;
	return true;
}
