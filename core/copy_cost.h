/*-------------------------------------------------------------------------
 *
 * copy_cost.h
 *		How long a file will take to back up, estimated before the copy
 *		starts, so that the copy queue can hand out the longest jobs first.
 *
 * Copying workers take files from one queue.  Ordered by size alone, the
 * last large file handed out may be one that compresses four times slower
 * than the rest (a B-tree index against a table of repetitive rows: zstd
 * level 1 at about 600 against 2,500 MB/s on pgbench), and the backup then
 * ends with one core compressing it while the others idle.  A compressor's
 * time per byte grows with how much of the input it must emit, so a small
 * sample's stored/plain ratio predicts it: the estimate is the size times
 * SB_COPY_COST_BASE plus that ratio (docs/restore-speed.md, "The backup at
 * scale 200", has the figures).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_COPY_COST_H
#define SB_COPY_COST_H

#include <stdint.h>

#include "sb_config.h"

/*
 * Reading, verifying and hashing a byte, in units of compressing a byte
 * that is stored whole (the time per byte is then about BASE + ratio).
 */
#define SB_COPY_COST_BASE		0.07
/* a sampled file gives this many samples of this many bytes, spread over it */
#define SB_COPY_COST_SAMPLES	2
#define SB_COPY_COST_SAMPLE_BYTES	(64 * 1024)

/*
 * Ask the disk for the samples sb_copy_cost_ratio() will read, so that the
 * reads of many files' samples overlap (posix_fadvise; failures ignored).
 */
extern void sb_copy_cost_prefetch(int fd, uint64_t size, SbCompressType type);

/*
 * The stored/plain ratio of samples of the file open on fd (size bytes),
 * compressed with type and level: 0 (all repeated) to about 1 (stored
 * whole).  -1 when it cannot be told: too small to sample, a read failed,
 * no compression.
 */
extern double sb_copy_cost_ratio(int fd, uint64_t size, SbCompressType type,
								 int level);

/* The estimated cost of copying size bytes that compress to ratio. */
extern double sb_copy_cost(uint64_t size, double ratio);

#endif							/* SB_COPY_COST_H */
