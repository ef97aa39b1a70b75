/*-------------------------------------------------------------------------
 *
 * filter_lz4.c
 *		The lz4 compress and decompress filters: one LZ4 frame per file
 *		(liblz4's frame API), so a repository file can be checked by hand
 *		with "lz4 -dc".  The type is chosen in filter_compress.c.
 *
 * Frames carry a content checksum (xxHash32), so a damaged file is refused
 * by the decompressor itself even where no SHA-256 is checked.
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

/* input handed to LZ4F_compressUpdate at once */
#define SB_LZ4_IN_CHUNK		((size_t) 64 * 1024)

/*
 * Output is collected in one SB_CODEC_BUFSIZE buffer and pushed to next
 * only when full (or, compressing, when the worst case of the next step
 * does not fit), and once more at finish.
 */
typedef struct Lz4Filter
{
	SbFilter	base;
	LZ4F_cctx  *cctx;			/* compressing */
	LZ4F_dctx  *dctx;			/* decompressing */
	LZ4F_preferences_t prefs;
	bool		begun;			/* frame header written */
	bool		frame_end;		/* decompressing: end of frame seen */
	bool		finished;
	const char *label;			/* file name for messages, or NULL */
	size_t		out_len;		/* bytes of out in use */
	uint8_t		out[SB_CODEC_BUFSIZE];
} Lz4Filter;

static SbStatus
lz4_flush_out(Lz4Filter *z, SbError *err)
{
	SbStatus	rc;

	rc = sb_filter_push(&z->base, z->out, z->out_len, err);
	z->out_len = 0;
	return rc;
}

/* make room for need bytes of output (need <= SB_CODEC_BUFSIZE) */
static SbStatus
lz4_room(Lz4Filter *z, size_t need, SbError *err)
{
	if (SB_CODEC_BUFSIZE - z->out_len < need)
		return lz4_flush_out(z, err);
	return SB_OK;
}

static SbStatus
lz4_error(const char *what, size_t code, SbError *err)
{
	return sb_error_set(err, SB_ERR_INTERNAL, "could not %s data: %s", what,
						LZ4F_getErrorName(code));
}

static SbStatus
lz4_begin(Lz4Filter *z, SbError *err)
{
	SbStatus	rc;
	size_t		n;

	rc = lz4_room(z, LZ4F_HEADER_SIZE_MAX, err);
	if (rc != SB_OK)
		return rc;
	n = LZ4F_compressBegin(z->cctx, z->out + z->out_len,
						   SB_CODEC_BUFSIZE - z->out_len, &z->prefs);
	if (LZ4F_isError(n))
		return lz4_error("compress", n, err);
	z->out_len += n;
	z->begun = true;
	return SB_OK;
}

static SbStatus
lz4c_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	Lz4Filter  *z = (Lz4Filter *) f;
	SbStatus	rc;

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: write after finish");
	if (!z->begun && (rc = lz4_begin(z, err)) != SB_OK)
		return rc;

	while (len > 0)
	{
		size_t		chunk = len < SB_LZ4_IN_CHUNK ? len : SB_LZ4_IN_CHUNK;
		size_t		n;

		rc = lz4_room(z, LZ4F_compressBound(chunk, &z->prefs), err);
		if (rc != SB_OK)
			return rc;
		n = LZ4F_compressUpdate(z->cctx, z->out + z->out_len,
								SB_CODEC_BUFSIZE - z->out_len, buf, chunk,
								NULL);
		if (LZ4F_isError(n))
			return lz4_error("compress", n, err);
		z->out_len += n;
		buf += chunk;
		len -= chunk;
	}
	return SB_OK;
}

static SbStatus
lz4c_finish(SbFilter *f, SbError *err)
{
	Lz4Filter  *z = (Lz4Filter *) f;
	SbStatus	rc;
	size_t		n;

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: finished twice");
	z->finished = true;
	/* an empty file is still one (empty) frame */
	if (!z->begun && (rc = lz4_begin(z, err)) != SB_OK)
		return rc;

	rc = lz4_room(z, LZ4F_compressBound(0, &z->prefs), err);
	if (rc != SB_OK)
		return rc;
	n = LZ4F_compressEnd(z->cctx, z->out + z->out_len,
						 SB_CODEC_BUFSIZE - z->out_len, NULL);
	if (LZ4F_isError(n))
		return lz4_error("compress", n, err);
	z->out_len += n;
	rc = lz4_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return sb_filter_finish_next(f, err);
}

static SbStatus
lz4d_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	Lz4Filter  *z = (Lz4Filter *) f;

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: write after finish");

	/*
	 * Run until all input is consumed and the output buffer has room left,
	 * so that no output stays pending inside liblz4 when we return.
	 */
	while (len > 0 || z->out_len == SB_CODEC_BUFSIZE)
	{
		size_t		src_size = len;
		size_t		dst_size;
		size_t		hint;
		SbStatus	rc;

		if (z->frame_end)
		{
			/* the frame is complete and all its output delivered */
			if (len > 0)
				return sb_decompress_corrupt(z->label,
											 "trailing data after end of compressed stream",
											 err);
			break;
		}
		rc = lz4_room(z, 1, err);
		if (rc != SB_OK)
			return rc;
		dst_size = SB_CODEC_BUFSIZE - z->out_len;
		hint = LZ4F_decompress(z->dctx, z->out + z->out_len, &dst_size,
							   buf, &src_size, NULL);
		if (LZ4F_isError(hint))
			return sb_decompress_corrupt(z->label, LZ4F_getErrorName(hint),
										 err);
		z->out_len += dst_size;
		buf += src_size;
		len -= src_size;
		if (hint == 0)
			z->frame_end = true;
		else if (src_size == 0 && dst_size == 0)
		{
			if (len > 0)
				return sb_decompress_corrupt(z->label, "decoder made no progress",
											 err);
			break;				/* needs more input */
		}
	}
	return SB_OK;
}

static SbStatus
lz4d_finish(SbFilter *f, SbError *err)
{
	Lz4Filter  *z = (Lz4Filter *) f;
	SbStatus	rc;

	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: finished twice");
	z->finished = true;
	if (!z->frame_end)
		return sb_decompress_corrupt(z->label,
									 "unexpected end of compressed data", err);
	rc = lz4_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return sb_filter_finish_next(f, err);
}

static void
lz4_free(SbFilter *f)
{
	Lz4Filter  *z = (Lz4Filter *) f;

	if (z == NULL)
		return;
	if (z->cctx != NULL)
		LZ4F_freeCompressionContext(z->cctx);
	if (z->dctx != NULL)
		LZ4F_freeDecompressionContext(z->dctx);
	free(z);
}

static Lz4Filter *
lz4_alloc(SbFilter *next)
{
	Lz4Filter  *z = malloc(sizeof(Lz4Filter));

	if (z == NULL)
		return NULL;
	memset(z, 0, offsetof(Lz4Filter, out));
	z->base.free = lz4_free;
	z->base.next = next;
	return z;
}

SbFilter *
sb_lz4_compress_new(int level, SbFilter *next)
{
	Lz4Filter  *z = lz4_alloc(next);

	if (z == NULL)
		return NULL;
	if (LZ4F_isError(LZ4F_createCompressionContext(&z->cctx, LZ4F_VERSION)))
	{
		z->cctx = NULL;
		lz4_free(&z->base);
		return NULL;
	}
	z->prefs.compressionLevel = level;
	z->prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	z->prefs.frameInfo.blockMode = LZ4F_blockLinked;
	z->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	z->base.write = lz4c_write;
	z->base.finish = lz4c_finish;
	return &z->base;
}

SbFilter *
sb_lz4_decompress_new(SbFilter *next)
{
	Lz4Filter  *z = lz4_alloc(next);

	if (z == NULL)
		return NULL;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&z->dctx, LZ4F_VERSION)))
	{
		z->dctx = NULL;
		lz4_free(&z->base);
		return NULL;
	}
	z->base.write = lz4d_write;
	z->base.finish = lz4d_finish;
	return &z->base;
}

bool
sb_lz4_set_label(SbFilter *f, const char *label)
{
	if (f->write != lz4d_write)
		return false;
	((Lz4Filter *) f)->label = label;
	return true;
}
