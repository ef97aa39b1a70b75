/*-------------------------------------------------------------------------
 *
 * filter_zstd.c
 *		The zstd compress and decompress filters: one Zstandard frame per
 *		file (libzstd's streaming API), so a repository file can be checked
 *		by hand with "zstd -dc".  The type is chosen in filter_compress.c.
 *
 * Frames carry a content checksum (xxHash64), so a damaged file is refused
 * by the decompressor itself even where no SHA-256 is checked.  The
 * decompressor accepts windows up to 8 MiB (what levels 1 to 19 write), so
 * a damaged or hostile header cannot make it allocate more.
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

/* largest window accepted when decompressing: 2^23 = 8 MiB */
#define SB_ZSTD_WINDOW_LOG_MAX	23

/*
 * Output is collected in one SB_CODEC_BUFSIZE buffer and pushed to next
 * only when full, and once more at finish.
 */
typedef struct ZstdFilter
{
	SbFilter	base;
	ZSTD_CCtx  *cctx;			/* compressing */
	ZSTD_DCtx  *dctx;			/* decompressing */
	bool		frame_end;		/* decompressing: end of frame seen */
	bool		finished;
	const char *label;			/* file name for messages, or NULL */
	size_t		out_len;		/* bytes of out in use */
	uint8_t		out[SB_CODEC_BUFSIZE];
} ZstdFilter;

static SbStatus
zstd_flush_out(ZstdFilter *z, SbError *err)
{
	SbStatus	rc;

	rc = sb_filter_push(&z->base, z->out, z->out_len, err);
	z->out_len = 0;
	return rc;
}

/* point o at the free part of our buffer, flushing first if it is full */
static SbStatus
zstd_prepare_out(ZstdFilter *z, ZSTD_outBuffer *o, SbError *err)
{
	if (z->out_len == SB_CODEC_BUFSIZE)
	{
		SbStatus	rc = zstd_flush_out(z, err);

		if (rc != SB_OK)
			return rc;
	}
	o->dst = z->out + z->out_len;
	o->size = SB_CODEC_BUFSIZE - z->out_len;
	o->pos = 0;
	return SB_OK;
}

/* compress in with mode; for ZSTD_e_end, until the frame is complete */
static SbStatus
zstd_compress(ZstdFilter *z, ZSTD_inBuffer *in, ZSTD_EndDirective mode,
			  SbError *err)
{
	for (;;)
	{
		ZSTD_outBuffer o;
		size_t		left;
		SbStatus	rc;

		rc = zstd_prepare_out(z, &o, err);
		if (rc != SB_OK)
			return rc;
		left = ZSTD_compressStream2(z->cctx, &o, in, mode);
		if (ZSTD_isError(left))
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not compress data: %s",
								ZSTD_getErrorName(left));
		z->out_len += o.pos;
		if (mode == ZSTD_e_end ? left == 0 : in->pos == in->size)
			return SB_OK;
	}
}

static SbStatus
zstdc_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ZstdFilter *z = (ZstdFilter *) f;
	ZSTD_inBuffer in = {buf, len, 0};

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: write after finish");
	return zstd_compress(z, &in, ZSTD_e_continue, err);
}

static SbStatus
zstdc_finish(SbFilter *f, SbError *err)
{
	ZstdFilter *z = (ZstdFilter *) f;
	ZSTD_inBuffer in = {NULL, 0, 0};
	SbStatus	rc;

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: finished twice");
	z->finished = true;
	rc = zstd_compress(z, &in, ZSTD_e_end, err);
	if (rc == SB_OK)
		rc = zstd_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return sb_filter_finish_next(f, err);
}

static SbStatus
zstdd_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ZstdFilter *z = (ZstdFilter *) f;
	ZSTD_inBuffer in = {buf, len, 0};

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: write after finish");

	/*
	 * Run until all input is consumed and the output buffer has room left,
	 * so that no output stays pending inside libzstd when we return.
	 */
	while (in.pos < in.size || z->out_len == SB_CODEC_BUFSIZE)
	{
		ZSTD_outBuffer o;
		size_t		before = in.pos;
		size_t		hint;
		SbStatus	rc;

		if (z->frame_end)
		{
			/* the frame is complete and all its output delivered */
			if (in.pos < in.size)
				return sb_decompress_corrupt(z->label,
											 "trailing data after end of compressed stream",
											 err);
			break;
		}
		rc = zstd_prepare_out(z, &o, err);
		if (rc != SB_OK)
			return rc;
		hint = ZSTD_decompressStream(z->dctx, &o, &in);
		if (ZSTD_isError(hint))
			return sb_decompress_corrupt(z->label, ZSTD_getErrorName(hint),
										 err);
		z->out_len += o.pos;
		if (hint == 0)
			z->frame_end = true;
		else if (in.pos == before && o.pos == 0)
		{
			if (in.pos < in.size)
				return sb_decompress_corrupt(z->label, "decoder made no progress",
											 err);
			break;				/* needs more input */
		}
	}
	return SB_OK;
}

static SbStatus
zstdd_finish(SbFilter *f, SbError *err)
{
	ZstdFilter *z = (ZstdFilter *) f;
	SbStatus	rc;

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: finished twice");
	z->finished = true;
	if (!z->frame_end)
		return sb_decompress_corrupt(z->label,
									 "unexpected end of compressed data", err);
	rc = zstd_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return sb_filter_finish_next(f, err);
}

static void
zstd_free(SbFilter *f)
{
	ZstdFilter *z = (ZstdFilter *) f;

	if (z == NULL)
		return;
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	free(z);
}

static ZstdFilter *
zstd_alloc(SbFilter *next)
{
	ZstdFilter *z = malloc(sizeof(ZstdFilter));

	if (z == NULL)
		return NULL;
	memset(z, 0, offsetof(ZstdFilter, out));
	z->base.free = zstd_free;
	z->base.next = next;
	return z;
}

SbFilter *
sb_zstd_compress_new(int level, SbFilter *next)
{
	ZstdFilter *z = zstd_alloc(next);

	if (z == NULL)
		return NULL;
	z->cctx = ZSTD_createCCtx();
	if (z->cctx == NULL ||
		ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel,
											level)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1)))
	{
		zstd_free(&z->base);
		return NULL;
	}
	z->base.write = zstdc_write;
	z->base.finish = zstdc_finish;
	return &z->base;
}

SbFilter *
sb_zstd_decompress_new(SbFilter *next)
{
	ZstdFilter *z = zstd_alloc(next);

	if (z == NULL)
		return NULL;
	z->dctx = ZSTD_createDCtx();
	if (z->dctx == NULL ||
		ZSTD_isError(ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax,
											SB_ZSTD_WINDOW_LOG_MAX)))
	{
		zstd_free(&z->base);
		return NULL;
	}
	z->base.write = zstdd_write;
	z->base.finish = zstdd_finish;
	return &z->base;
}

bool
sb_zstd_set_label(SbFilter *f, const char *label)
{
	if (f->write != zstdd_write)
		return false;
	((ZstdFilter *) f)->label = label;
	return true;
}
