/*-------------------------------------------------------------------------
 *
 * launcher.c
 *		The launcher background worker: one per cluster, started with the
 *		server.  It will run base backups, schedules and WAL push-ahead;
 *		for now it publishes its state and idles correctly: SIGHUP reloads
 *		the configuration, SIGTERM and postmaster death make it exit.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "worker/launcher.h"
#include "worker/worker.h"
#include "backend/shmem.h"

#define LAUNCHER_NAP_MS		10000

void
sb_launcher_register(void)
{
	BackgroundWorker worker;

	sb_worker_describe(&worker, "sb_launcher_main", "pg_safebackup launcher", 10);
	RegisterBackgroundWorker(&worker);
}

static void
set_state(SbLauncherState state)
{
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->launcher_state = state;
	if (state == SB_LAUNCHER_STOPPED)
		sb_shared->launcher_pid = 0;
	else
		sb_shared->launcher_pid = MyProcPid;
	if (state == SB_LAUNCHER_STARTING)
		sb_shared->launcher_started = GetCurrentTimestamp();
	LWLockRelease(sb_shared->lock);
}

static void
launcher_exit(int code, Datum arg)
{
	if (sb_shared != NULL)
		set_state(SB_LAUNCHER_STOPPED);
}

void
sb_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	if (sb_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_safebackup shared memory is not initialized")));

	/* no database: we only want to appear in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	before_shmem_exit(launcher_exit, (Datum) 0);
	set_state(SB_LAUNCHER_STARTING);
	ereport(LOG, (errmsg("pg_safebackup launcher started")));
	set_state(SB_LAUNCHER_IDLE);

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_NAP_MS,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}

	/*
	 * Exit code 1: if someone terminated us while the server runs, the
	 * postmaster starts a new launcher after bgw_restart_time; during
	 * shutdown it does not.
	 */
	ereport(LOG, (errmsg("pg_safebackup launcher shutting down")));
	proc_exit(1);
}
