/*-------------------------------------------------------------------------
 *
 * filter_compress.c
 *		Choose the compress or decompress filter for a compression type
 *		(filter_zlib.c, filter_lz4.c, filter_zstd.c, or the pass-through for
 *		SB_COMPRESS_NONE), and what those filters share: the error for
 *		corrupt input and a filter that fails on first use for an
 *		unsupported type.
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"

#include <stdlib.h>

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
	switch (type)
	{
		case SB_COMPRESS_NONE:
		case SB_COMPRESS_ZLIB:
		case SB_COMPRESS_LZ4:
		case SB_COMPRESS_ZSTD:
			return true;
	}
	return false;
}

/*
 * A level outside the type's range is clamped here; the settings are
 * checked before (sb_compress_level_range), so only direct callers of the
 * filters ever get clamped.
 */
static int
clamp_level(SbCompressType type, int level)
{
	int			min;
	int			max;

	if (!sb_compress_level_range(type, &min, &max))
		return level;
	if (level < min)
		return min;
	if (level > max)
		return max;
	return level;
}

SbFilter *
sb_filter_compress_new(SbCompressType type, int level, SbFilter *next)
{
	switch (type)
	{
		case SB_COMPRESS_NONE:
			return sb_filter_count_new(next);
		case SB_COMPRESS_ZLIB:
			return sb_zlib_compress_new(clamp_level(type, level), next);
		case SB_COMPRESS_LZ4:
			return sb_lz4_compress_new(clamp_level(type, level), next);
		case SB_COMPRESS_ZSTD:
			return sb_zstd_compress_new(clamp_level(type, level), next);
	}
	return badtype_new(type, next);
}

SbFilter *
sb_filter_compress_seekable_new(SbCompressType type, int level,
								uint64_t frame_size, SbFilter *next)
{
	SbFilter   *f = sb_filter_compress_new(type, level, next);

	/* no frames in zlib's or none's format: then the plain filter */
	if (f != NULL && (type == SB_COMPRESS_LZ4 || type == SB_COMPRESS_ZSTD))
		(void) sb_stream_filter_set_frame_size(f, frame_size);
	return f;
}

SbFilter *
sb_filter_decompress_new(SbCompressType type, SbFilter *next)
{
	switch (type)
	{
		case SB_COMPRESS_NONE:
			return sb_filter_count_new(next);
		case SB_COMPRESS_ZLIB:
			return sb_zlib_decompress_new(next);
		case SB_COMPRESS_LZ4:
			return sb_lz4_decompress_new(next);
		case SB_COMPRESS_ZSTD:
			return sb_zstd_decompress_new(next);
	}
	return badtype_new(type, next);
}

/* Name the file a decompress filter reads, for its error messages. */
void
sb_decompress_set_label(SbFilter *f, const char *label)
{
	(void) sb_stream_filter_set_label(f, label);
}

SbStatus
sb_decompress_corrupt(const char *label, const char *detail, SbError *err)
{
	if (label != NULL)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"could not decompress file \"%s\": %s",
							label, detail);
	return sb_error_set(err, SB_ERR_CORRUPT,
						"could not decompress data: %s", detail);
}
