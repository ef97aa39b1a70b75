/*-------------------------------------------------------------------------
 *
 * worker_start.c
 *		What every long-running pg_safebackup background worker does first
 *		(see worker.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"

#include "backend/shmem.h"
#include "worker/worker.h"

void
sb_worker_begin_loop(const char *what)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	if (sb_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s started without its shared memory", what)));
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
}
