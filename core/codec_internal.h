/*-------------------------------------------------------------------------
 *
 * codec_internal.h
 *		Helpers shared by the files of the codec pipeline (codec.c and the
 *		filter_*.c files); not part of the public API in codec.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CODEC_INTERNAL_H
#define SB_CODEC_INTERNAL_H

#include "codec.h"

/* codec.c: pass data or finish on to the next stage, if there is one */
extern SbStatus sb_filter_push(SbFilter *f, const uint8_t *buf, size_t len,
							   SbError *err);
extern SbStatus sb_filter_finish_next(SbFilter *f, SbError *err);

/* filter_compress.c */
extern bool sb_compress_type_known(SbCompressType type);
extern void sb_decompress_set_label(SbFilter *f, const char *label);
/* SB_ERR_CORRUPT: "could not decompress file "label": detail" */
extern SbStatus sb_decompress_corrupt(const char *label, const char *detail,
									  SbError *err);

/*
 * The compression filters, one file each.  Levels are within the type's
 * range (sb_compress_level_range).  Constructors return NULL only when out
 * of memory; set_label returns false when f is not one of its filters.
 */
extern SbFilter *sb_zlib_compress_new(int level, SbFilter *next);
extern SbFilter *sb_zlib_decompress_new(SbFilter *next);
extern bool sb_zlib_set_label(SbFilter *f, const char *label);
extern SbFilter *sb_lz4_compress_new(int level, SbFilter *next);
extern SbFilter *sb_lz4_decompress_new(SbFilter *next);
extern bool sb_lz4_set_label(SbFilter *f, const char *label);
extern SbFilter *sb_zstd_compress_new(int level, SbFilter *next);
extern SbFilter *sb_zstd_decompress_new(SbFilter *next);
extern bool sb_zstd_set_label(SbFilter *f, const char *label);

#endif							/* SB_CODEC_INTERNAL_H */
