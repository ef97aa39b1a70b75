/*-------------------------------------------------------------------------
 *
 * wal_push.h
 *		The push-ahead workers (safebackup.archive_push_workers).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_PUSH_H
#define SB_WAL_PUSH_H

#include "postgres.h"

/*
 * Called by the launcher on every wake-up: start the push workers the
 * settings ask for (restarting ones that exited), stop the ones they no
 * longer ask for.  Returns in how many milliseconds it wants to be called
 * again at the latest (-1: no need; a worker's exit sets the latch).
 */
extern long sb_wal_push_maintain(void);

/*
 * The archiver runs here (on a standby only with archive_mode = always)
 * and archive_library names this library.
 */
extern bool sb_wal_archiving_here(void);

extern PGDLLEXPORT void sb_wal_push_main(Datum main_arg);

#endif							/* SB_WAL_PUSH_H */
