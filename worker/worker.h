/*-------------------------------------------------------------------------
 *
 * worker.h
 *		What every pg_safebackup background worker has in common.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WORKER_H
#define SB_WORKER_H

#include "postgres.h"

#include "postmaster/bgworker.h"

/*
 * Describe a worker of this library running function, shown as name in
 * pg_stat_activity; it attaches to shared memory and may connect.  Workers
 * start once the cluster is consistent, so that a hot standby runs the
 * launcher (its schedule) and takes backups; each worker decides what it
 * does during recovery.
 */
static inline void
sb_worker_describe(BackgroundWorker *worker, const char *function,
				   const char *name, int restart_time)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_ConsistentState;
	worker->bgw_restart_time = restart_time;
	snprintf(worker->bgw_library_name, sizeof(worker->bgw_library_name),
			 "pg_safebackup");
	snprintf(worker->bgw_function_name, sizeof(worker->bgw_function_name),
			 "%s", function);
	snprintf(worker->bgw_name, sizeof(worker->bgw_name), "%s", name);
	snprintf(worker->bgw_type, sizeof(worker->bgw_type), "%s", name);
}

/*
 * The start of a long-running worker (the launcher, push and catch-up
 * workers): reload on SIGHUP, stop on SIGTERM (ShutdownRequestPending),
 * signals unblocked, ERROR naming it (what) when the library's shared
 * memory is missing, connected without a database so that it shows in
 * pg_stat_activity.
 */
extern void sb_worker_begin_loop(const char *what);

#endif							/* SB_WORKER_H */
