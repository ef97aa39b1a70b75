/*-------------------------------------------------------------------------
 *
 * wal_catchup.h
 *		The catch-up worker: copies the WAL files a repository that fell
 *		behind missed into it (safebackup.archive_repo_hold).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_CATCHUP_H
#define SB_WAL_CATCHUP_H

#include "postgres.h"

/*
 * Called by the launcher on every wake-up: start the catch-up worker while
 * a configured repository is behind and it does not run.  Returns in how
 * many milliseconds it wants to be called again at the latest (-1: no
 * need; the worker's exit and a repository falling behind set the latch).
 */
extern long sb_wal_catchup_maintain(void);

extern PGDLLEXPORT void sb_wal_catchup_main(Datum main_arg);

#endif							/* SB_WAL_CATCHUP_H */
