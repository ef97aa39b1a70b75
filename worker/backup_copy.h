/*-------------------------------------------------------------------------
 *
 * backup_copy.h
 *		Copy the files of a base backup with several processes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_COPY_H
#define SB_BACKUP_COPY_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "nodes/pg_list.h"

#include "manifest.h"
#include "storage.h"
#include "worker/backup_reuse.h"

/* How the files of a backup were taken. */
typedef struct SbCopyCounts
{
	uint64		copied;			/* read and stored */
	uint64		referenced;		/* unchanged since the base: referenced */
	uint64		resumed;		/* stored by the interrupted attempt */
	uint64		blocks;			/* stored by their changed pages only */
	uint64		bytes_read;		/* read from the data directory */
	uint64		chunk_bytes;	/* the changed pages those files stored */
} SbCopyCounts;

/*
 * Copy every file of entries (SbWalkEntry *, directories already made, the
 * last entry global/pg_control) into the backup of m, with up to nworkers
 * processes counting this one, the longest to copy first (backup_order.h);
 * the last entry is copied after all others.  Files reuse allows are
 * referenced in the base or taken from the interrupted attempt instead (see
 * backup_reuse.h).  Adds the files to m and counts them in counts.  Raises
 * an ERROR when any copier fails, after the others have stopped and the
 * resume list is written.
 */
extern void sb_copy_files(SbStorage *st, const SbRepoConfig *cfg,
						  SbManifest *m, List *entries, XLogRecPtr start_lsn,
						  int nworkers, const SbReuseSources *reuse,
						  SbCopyCounts *counts);

/*
 * Stop the copy workers of this process (its backup is failing) and wait
 * (bounded) until they have exited.
 */
extern void sb_copy_terminate_workers(void);

extern PGDLLEXPORT void sb_backup_copy_main(Datum main_arg);

#endif							/* SB_BACKUP_COPY_H */
