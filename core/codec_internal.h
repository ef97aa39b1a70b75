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

/* filter_zlib.c */
extern bool sb_compress_type_known(SbCompressType type);
extern void sb_decompress_set_label(SbFilter *f, const char *label);

#endif							/* SB_CODEC_INTERNAL_H */
