/*-------------------------------------------------------------------------
 *
 * block_sum.h
 *		Per-block checksums of a file's content, recorded in the backup
 *		manifest (see manifest.h, "blocks=") so that a delta restore can
 *		tell which parts of an existing file still match the backup without
 *		fetching it, and so that a later incremental backup can tell which
 *		blocks changed.
 *
 * A file is cut into SB_BLOCK_SIZE blocks from offset 0 (the last one may
 * be shorter); each block's sum is the 64-bit XXH3 hash of its bytes
 * (libxxhash, seed 0).  The sums are a fast hint, not the file's
 * integrity check: the file's SHA-256 (or HMAC) in the manifest stays that.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BLOCK_SUM_H
#define SB_BLOCK_SUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 128 kB: 16 PostgreSQL pages.  Measured on pgbench (1% of the rows
 * updated): 2.0% of the blocks differ at 8 kB and 2.0% at 128 kB, so a
 * smaller block saves nothing there, while the manifest holds 16 hex
 * digits per block (0.012% of the data at 128 kB).
 */
#define SB_BLOCK_SIZE		(128 * 1024)
#define SB_BLOCK_SUM_HEX_LEN	16

/* The sum of one block (len <= SB_BLOCK_SIZE). */
extern uint64_t sb_block_sum(const void *buf, size_t len);

/* Blocks of a file of size bytes (0 for an empty file). */
extern uint64_t sb_block_count(uint64_t size, uint32_t block_size);

/*
 * Sums of the blocks in buf, which holds len bytes read from offset
 * (a multiple of block_size) of a file: sums[offset / block_size] and on.
 * Blocks at index cap or beyond are not stored; false then.
 */
extern bool sb_block_sums_update(uint64_t *sums, uint64_t cap,
								 uint32_t block_size, const void *buf,
								 size_t len, uint64_t offset);

#endif							/* SB_BLOCK_SUM_H */
