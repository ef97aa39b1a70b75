/*-------------------------------------------------------------------------
 *
 * filter_lz4.c
 *		The lz4 compress and decompress steps: one LZ4 frame per file, or
 *		per SB_SEEK_FRAME_SIZE plain bytes of a seekable file followed by
 *		its seek table in a skippable frame (liblz4's frame API: the
 *		decompressor ends each frame and begins the next), so a repository
 *		file can be checked by hand with "lz4 -dc".  The type is chosen in filter_compress.c; buffering
 *		and stream checks are filter_stream.c's.
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

typedef struct Lz4Compress
{
	LZ4F_cctx  *cctx;
	LZ4F_preferences_t prefs;
	bool		begun;			/* frame header written */
} Lz4Compress;

/*
 * liblz4 writes only into room for its worst case, so when that does not
 * fit the step makes no progress and filter_stream.c empties the buffer.
 */
static SbStreamResult
lz4_compress_step(void *ctx, const uint8_t **in, size_t *in_len,
				  uint8_t **out, size_t *room, bool end, const char **detail)
{
	Lz4Compress *z = (Lz4Compress *) ctx;
	size_t		n;

	if (!z->begun)
	{
		if (*room < LZ4F_HEADER_SIZE_MAX)
			return SB_STREAM_OK;
		n = LZ4F_compressBegin(z->cctx, *out, *room, &z->prefs);
		if (LZ4F_isError(n))
			goto failed;
		*out += n;
		*room -= n;
		z->begun = true;
	}

	while (*in_len > 0)
	{
		size_t		chunk = *in_len < SB_LZ4_IN_CHUNK ? *in_len : SB_LZ4_IN_CHUNK;

		if (*room < LZ4F_compressBound(chunk, &z->prefs))
			return SB_STREAM_OK;
		n = LZ4F_compressUpdate(z->cctx, *out, *room, *in, chunk, NULL);
		if (LZ4F_isError(n))
			goto failed;
		*out += n;
		*room -= n;
		*in += chunk;
		*in_len -= chunk;
	}

	if (!end)
		return SB_STREAM_OK;
	if (*room < LZ4F_compressBound(0, &z->prefs))
		return SB_STREAM_OK;
	n = LZ4F_compressEnd(z->cctx, *out, *room, NULL);
	if (LZ4F_isError(n))
		goto failed;
	*out += n;
	*room -= n;
	/* a seekable file's next frame begins with a header of its own */
	z->begun = false;
	return SB_STREAM_END;

failed:
	*detail = LZ4F_getErrorName(n);
	return SB_STREAM_FAILED;
}

static size_t
lz4_frame_bound(void *ctx, size_t in_len)
{
	Lz4Compress *z = (Lz4Compress *) ctx;

	return LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(in_len, &z->prefs);
}

/*
 * A whole frame at once, from input that stays where it is (stableSrc:
 * linked blocks refer back into it instead of into a copy).
 */
static SbStreamResult
lz4_compress_frame(void *ctx, const uint8_t *in, size_t in_len,
				   uint8_t *out, size_t room, size_t *out_len,
				   const char **detail)
{
	Lz4Compress *z = (Lz4Compress *) ctx;
	LZ4F_compressOptions_t opts = {.stableSrc = 1};
	size_t		used = 0;
	size_t		n;

	n = LZ4F_compressBegin(z->cctx, out, room, &z->prefs);
	if (LZ4F_isError(n))
		goto failed;
	used += n;
	n = LZ4F_compressUpdate(z->cctx, out + used, room - used, in, in_len,
							&opts);
	if (LZ4F_isError(n))
		goto failed;
	used += n;
	n = LZ4F_compressEnd(z->cctx, out + used, room - used, &opts);
	if (LZ4F_isError(n))
		goto failed;
	*out_len = used + n;
	return SB_STREAM_END;

failed:
	*detail = LZ4F_getErrorName(n);
	return SB_STREAM_FAILED;
}

static SbStreamResult
lz4_decompress_step(void *ctx, const uint8_t **in, size_t *in_len,
					uint8_t **out, size_t *room, bool end, const char **detail)
{
	size_t		src_size = *in_len;
	size_t		dst_size = *room;
	size_t		hint;

	(void) end;
	hint = LZ4F_decompress((LZ4F_dctx *) ctx, *out, &dst_size, *in,
						   &src_size, NULL);
	if (LZ4F_isError(hint))
	{
		*detail = LZ4F_getErrorName(hint);
		return SB_STREAM_CORRUPT;
	}
	*in += src_size;
	*in_len -= src_size;
	*out += dst_size;
	*room -= dst_size;
	return hint == 0 ? SB_STREAM_END : SB_STREAM_OK;
}

static void
lz4_release_compress(void *ctx)
{
	Lz4Compress *z = (Lz4Compress *) ctx;

	LZ4F_freeCompressionContext(z->cctx);
	free(z);
}

static void
lz4_release_decompress(void *ctx)
{
	LZ4F_freeDecompressionContext((LZ4F_dctx *) ctx);
}

/* every LZ4 frame starts with it (little-endian) */
#define SB_LZ4_FRAME_MAGIC		UINT32_C(0x184D2204)

/* read by LZ4F_compressBegin, at the start of each frame */
static void
lz4_omit_checksum(void *ctx)
{
	((Lz4Compress *) ctx)->prefs.frameInfo.contentChecksumFlag =
		LZ4F_noContentChecksum;
}

static const SbStreamOps lz4_compress_ops = {
	false, SB_LZ4_FRAME_MAGIC, lz4_compress_step, lz4_release_compress,
	lz4_frame_bound, lz4_compress_frame, lz4_omit_checksum
};

static const SbStreamOps lz4_decompress_ops = {
	true, SB_LZ4_FRAME_MAGIC, lz4_decompress_step, lz4_release_decompress
};

SbFilter *
sb_lz4_compress_new(int level, SbFilter *next)
{
	Lz4Compress *z = calloc(1, sizeof(Lz4Compress));

	if (z == NULL)
		return NULL;
	if (LZ4F_isError(LZ4F_createCompressionContext(&z->cctx, LZ4F_VERSION)))
	{
		free(z);
		return NULL;
	}
	z->prefs.compressionLevel = level;
	z->prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	z->prefs.frameInfo.blockMode = LZ4F_blockLinked;
	z->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	return sb_stream_filter_new(&lz4_compress_ops, z, next);
}

SbFilter *
sb_lz4_decompress_new(SbFilter *next)
{
	LZ4F_dctx  *dctx = NULL;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return NULL;
	return sb_stream_filter_new(&lz4_decompress_ops, dctx, next);
}
