/*-------------------------------------------------------------------------
 *
 * filter_zstd.c
 *		The zstd compress and decompress steps: one Zstandard frame per
 *		file, or per SB_SEEK_FRAME_SIZE plain bytes of a seekable file
 *		followed by its seek table (libzstd's streaming API, which begins a
 *		new frame after each ZSTD_e_end), so a repository file can be
 *		checked by hand with "zstd -dc".  The type is chosen in filter_compress.c;
 *		buffering and stream checks are filter_stream.c's.
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

#include <zstd.h>

/* largest window accepted when decompressing: 2^23 = 8 MiB */
#define SB_ZSTD_WINDOW_LOG_MAX	23

/*
 * At level 1, the default, the match finder's hash table has 2^11 entries
 * (8 KiB, held in the L1 cache) instead of the 2^13 libzstd chooses for a
 * stream of unknown size.  Measured through the streaming API on pgbench
 * WAL, it compresses 5-12% faster and stores as much or less; table files
 * compress as fast and take about 0.1% of their size more (figures in
 * docs/wal-speed.md).  Other levels keep libzstd's parameters.
 */
#define SB_ZSTD_LEVEL1_HASH_LOG	11

static SbStreamResult
zstd_compress_step(void *ctx, const uint8_t **in, size_t *in_len,
				   uint8_t **out, size_t *room, bool end, const char **detail)
{
	ZSTD_inBuffer i = {*in, *in_len, 0};
	ZSTD_outBuffer o = {*out, *room, 0};
	size_t		left;

	left = ZSTD_compressStream2((ZSTD_CCtx *) ctx, &o, &i,
								end ? ZSTD_e_end : ZSTD_e_continue);
	if (ZSTD_isError(left))
	{
		*detail = ZSTD_getErrorName(left);
		return SB_STREAM_FAILED;
	}
	*in += i.pos;
	*in_len -= i.pos;
	*out += o.pos;
	*room -= o.pos;
	return end && left == 0 ? SB_STREAM_END : SB_STREAM_OK;
}

static size_t
zstd_frame_bound(void *ctx, size_t in_len)
{
	(void) ctx;
	return ZSTD_compressBound(in_len);
}

/* a whole frame at once: the library's parameters as for streaming */
static SbStreamResult
zstd_compress_frame(void *ctx, const uint8_t *in, size_t in_len,
					uint8_t *out, size_t room, size_t *out_len,
					const char **detail)
{
	size_t		n = ZSTD_compress2((ZSTD_CCtx *) ctx, out, room, in, in_len);

	if (ZSTD_isError(n))
	{
		*detail = ZSTD_getErrorName(n);
		return SB_STREAM_FAILED;
	}
	*out_len = n;
	return SB_STREAM_END;
}

static SbStreamResult
zstd_decompress_step(void *ctx, const uint8_t **in, size_t *in_len,
					 uint8_t **out, size_t *room, bool end,
					 const char **detail)
{
	ZSTD_inBuffer i = {*in, *in_len, 0};
	ZSTD_outBuffer o = {*out, *room, 0};
	size_t		hint;

	(void) end;
	hint = ZSTD_decompressStream((ZSTD_DCtx *) ctx, &o, &i);
	if (ZSTD_isError(hint))
	{
		*detail = ZSTD_getErrorName(hint);
		return SB_STREAM_CORRUPT;
	}
	*in += i.pos;
	*in_len -= i.pos;
	*out += o.pos;
	*room -= o.pos;
	return hint == 0 ? SB_STREAM_END : SB_STREAM_OK;
}

static void
zstd_release_cctx(void *ctx)
{
	ZSTD_freeCCtx((ZSTD_CCtx *) ctx);
}

static void
zstd_release_dctx(void *ctx)
{
	ZSTD_freeDCtx((ZSTD_DCtx *) ctx);
}

/* every Zstandard frame starts with it (little-endian) */
#define SB_ZSTD_FRAME_MAGIC		UINT32_C(0xFD2FB528)

/* a parameter of the frames begun from now on (allowed between frames) */
static void
zstd_omit_checksum(void *ctx)
{
	(void) ZSTD_CCtx_setParameter((ZSTD_CCtx *) ctx, ZSTD_c_checksumFlag, 0);
}

static const SbStreamOps zstd_compress_ops = {
	false, SB_ZSTD_FRAME_MAGIC, zstd_compress_step, zstd_release_cctx,
	zstd_frame_bound, zstd_compress_frame, zstd_omit_checksum
};

static const SbStreamOps zstd_decompress_ops = {
	true, SB_ZSTD_FRAME_MAGIC, zstd_decompress_step, zstd_release_dctx
};

SbFilter *
sb_zstd_compress_new(int level, SbFilter *next)
{
	ZSTD_CCtx  *cctx = ZSTD_createCCtx();

	if (cctx != NULL &&
		(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
											 level)) ||
		 ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) ||
		 (level == 1 &&
		  ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog,
											  SB_ZSTD_LEVEL1_HASH_LOG)))))
	{
		ZSTD_freeCCtx(cctx);
		cctx = NULL;
	}
	return sb_stream_filter_new(&zstd_compress_ops, cctx, next);
}

SbFilter *
sb_zstd_decompress_new(SbFilter *next)
{
	ZSTD_DCtx  *dctx = ZSTD_createDCtx();

	if (dctx != NULL &&
		ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
											SB_ZSTD_WINDOW_LOG_MAX)))
	{
		ZSTD_freeDCtx(dctx);
		dctx = NULL;
	}
	return sb_stream_filter_new(&zstd_decompress_ops, dctx, next);
}
