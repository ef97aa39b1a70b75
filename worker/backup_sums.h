/*-------------------------------------------------------------------------
 *
 * backup_sums.h
 *		The block sums and chunk lists of a base backup's files while its
 *		copiers work: a temporary file they share, not shared memory.
 *
 * Each file's sums (one 64-bit sum per 128 kB block, core/block_sum.h)
 * are made by the copier that takes the file and read by the leader when
 * it writes the manifest: 64 MB for a 1 TB cluster, which in the copy
 * queue's shared memory would be in the leader's memory whatever the
 * database size.  The leader creates base/pgsql_tmp/pgsql_tmp_safebackup_
 * sums.<pid>, sized for every file's sums (a sparse file), and removes it
 * when it detaches from the queue (its end, an error or its exit; the
 * server removes pgsql_tmp files left by a crash when it starts).  Each
 * file owns a range of it; a copier writes a file's sums there once the
 * file is stored (a block-level file first reads its base's sums from it).
 * A file taken by its changed pages (block-incremental) owns a second
 * range: the pages the WAL summaries name (4 bytes each), written by the
 * leader, then the pages stored, written by its copier.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_SUMS_H
#define SB_BACKUP_SUMS_H

#include "storage/dsm.h"

/* Leader: create the file (path: MAXPGPATH bytes), removed on detach of seg. */
extern void sb_backup_sums_create(dsm_segment *seg, char *path);

/*
 * Any copier: write or read len bytes at offset off of the file at path (a
 * read past what was written gives zeros).
 */
extern void sb_backup_sums_write(const char *path, uint64 off,
								 const void *buf, Size len);
extern void sb_backup_sums_read(const char *path, uint64 off, void *buf,
								Size len);

#endif							/* SB_BACKUP_SUMS_H */
