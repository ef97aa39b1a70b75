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

/*
 * Copy every file of entries (SbWalkEntry *, directories already made, the
 * last entry global/pg_control) into the backup of m, with up to nworkers
 * processes counting this one, largest files first; the last entry is
 * copied after all others.  Adds the files to m.  Raises an ERROR when any
 * copier fails, after the others have stopped.
 */
extern void sb_copy_files(SbStorage *st, const SbRepoConfig *cfg,
						  SbManifest *m, List *entries, XLogRecPtr start_lsn,
						  int nworkers);

/*
 * Stop the copy workers of this process (its backup is failing) and wait
 * (bounded) until they have exited.
 */
extern void sb_copy_terminate_workers(void);

extern PGDLLEXPORT void sb_backup_copy_main(Datum main_arg);

#endif							/* SB_BACKUP_COPY_H */
