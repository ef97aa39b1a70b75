/*-------------------------------------------------------------------------
 *
 * sum_store.h
 *		The block sums of a manifest's files, kept out of the process's
 *		memory once they are many.
 *
 * A manifest holds one 64-bit sum per 128 kB block of every file (see
 * block_sum.h): 64 MB of sums for a 1 TB cluster, twice that as manifest
 * text.  Holding them in memory would make the memory of every command
 * that reads a manifest (restore, verify, expire, the backup listing, an
 * incremental backup) grow with the size of the database.  A store keeps
 * the first sb_sum_store_mem_limit sums in memory (most clusters: all of
 * them) and appends the rest to an unnamed temporary file (O_TMPFILE, or
 * a name removed at once: nothing is left behind, even after a crash) in
 * sb_sum_store_dir(): sb_sum_store_tmpdir when set (the server's processes:
 * their data directory's base/pgsql_tmp, made if missing), else $TMPDIR,
 * else /var/tmp.  Readers ask for the sums of one file at a time.
 *
 * Appending is for one thread; once filled, a store may be read by several
 * threads at once (pread).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SUM_STORE_H
#define SB_SUM_STORE_H

#include <stdint.h>

#include "sb_error.h"

typedef struct SbSumStore
{
	uint64_t   *mem;			/* the first sums, up to the memory limit */
	uint64_t	mem_cap;		/* room in mem */
	uint64_t	mem_limit;		/* sums kept in memory: the rest in fd */
	uint64_t	count;			/* sums held */
	int			fd;				/* the temporary file, -1 until needed */
} SbSumStore;

/* Sums held in memory by stores initialized from now on: 128 Ki (1 MiB, 16 GB of data). */
extern uint64_t sb_sum_store_mem_limit;

/* Where the temporary files go; see above. */
extern const char *sb_sum_store_tmpdir;
extern const char *sb_sum_store_dir(void);

extern void sb_sum_store_init(SbSumStore *s);
extern void sb_sum_store_free(SbSumStore *s);

/* Add n sums; *at is the index of the first (for sb_sum_store_read). */
extern SbStatus sb_sum_store_append(SbSumStore *s, const uint64_t *sums,
									uint64_t n, uint64_t *at, SbError *err);

/* Copy n sums from index at into out. */
extern SbStatus sb_sum_store_read(const SbSumStore *s, uint64_t at, uint64_t n,
								  uint64_t *out, SbError *err);

#endif							/* SB_SUM_STORE_H */
