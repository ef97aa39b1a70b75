/*-------------------------------------------------------------------------
 *
 * launcher.c
 *		The launcher background worker: one per cluster, started with the
 *		server.  It publishes its state, reloads the configuration on
 *		SIGHUP, exits on SIGTERM and postmaster death, starts the backups
 *		of safebackup.backup_schedule (see below), keeps the push-ahead
 *		workers running (worker/wal_push.c) and the catch-up worker while a
 *		repository is behind (worker/wal_catchup.c), and every WAL_GAP_SCAN_MS
 *		queues for archiving the completed WAL segments PostgreSQL left
 *		without archive status (backend/wal_gaps.c), and watches the
 *		archive lag (safebackup.archive_lag_warning, lag_warning.c).
 *
 * Scheduled backups: the next run time is computed in the server's time
 * zone when the launcher starts, when a reload changes the schedule or
 * the timezone setting, and after each run; it is published in shared
 * memory (safebackup_status().next_scheduled_backup).  At that time the
 * launcher requests a backup exactly as safebackup_start() does; if one
 * is already running, the run is skipped with a LOG line, and so it is on
 * a standby unless safebackup.schedule_on_standby says otherwise (the role
 * is looked at when the run is due: a promoted standby follows it).  Runs
 * missed while the server was down, or by more than SCHEDULE_LATE_MS, are
 * not made up for: only the next future time counts.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "pgtime.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "worker/lag_warning.h"
#include "worker/launcher.h"
#include "worker/wal_catchup.h"
#include "worker/wal_push.h"
#include "worker/worker.h"
#include "backend/backup_request.h"
#include "backend/guc.h"
#include "backend/guc_backup.h"
#include "backend/report.h"
#include "backend/schedule.h"
#include "backend/shmem.h"
#include "backend/wal_gaps.h"
#include "backup_schedule.h"
#include "cron.h"

#define LAUNCHER_NAP_MS		10000

/* how often completed WAL segments without archive status are looked for */
#define WAL_GAP_SCAN_MS		10000

/* a scheduled run this late is skipped rather than started */
#define SCHEDULE_LATE_MS	60000

/* the schedule in force, and the time zone it was computed in */
static char *schedule_text = NULL;
static char *schedule_tz = NULL;
static bool schedule_on = false;
static SbBackupSchedule schedule;
static TimestampTz next_run = 0;	/* 0: no schedule */
static SbBackupType next_type = SB_BACKUP_FULL;	/* what runs at next_run */

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
	{
		sb_shared->launcher_pid = 0;
		sb_shared->launcher_latch = NULL;
		sb_shared->archive_lag_warned = false;
	}
	else
	{
		sb_shared->launcher_pid = MyProcPid;
		sb_shared->launcher_latch = MyLatch;
	}
	if (state == SB_LAUNCHER_STARTING)
		sb_shared->launcher_started = GetCurrentTimestamp();
	LWLockRelease(sb_shared->lock);
}

static void
publish_next_run(void)
{
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->next_scheduled_backup = next_run;
	LWLockRelease(sb_shared->lock);
}

static void
launcher_exit(int code, Datum arg)
{
	if (sb_shared != NULL)
	{
		set_state(SB_LAUNCHER_STOPPED);
		next_run = 0;
		publish_next_run();
	}
}

/*
 * Take the schedule and time zone now in force; true when either differs
 * from the ones the next run time was computed with.
 */
static bool
load_schedule(void)
{
	const char *spec = sb_guc_backup_schedule();
	const char *tz = pg_get_timezone_name(session_timezone);
	SbError		err;

	if (tz == NULL)
		tz = "";
	if (schedule_text != NULL && strcmp(schedule_text, spec) == 0 &&
		strcmp(schedule_tz, tz) == 0)
		return false;

	if (schedule_text != NULL)
		pfree(schedule_text);
	if (schedule_tz != NULL)
		pfree(schedule_tz);
	schedule_text = MemoryContextStrdup(TopMemoryContext, spec);
	schedule_tz = MemoryContextStrdup(TopMemoryContext, tz);

	schedule_on = false;
	if (spec[0] == '\0')
		return true;
	/* the check hook refused bad values: this is only a safety net */
	if (sb_backup_schedule_parse(spec, &schedule, &err) != SB_OK)
	{
		sb_report(LOG, &err, "scheduled backups are off", NULL);
		return true;
	}
	schedule_on = true;
	return true;
}

/* Compute and publish the first scheduled time after "after". */
static void
plan_next_run(TimestampTz after)
{
	next_run = 0;
	next_type = SB_BACKUP_FULL;
	/* the earliest entry; on the same minute the most complete type */
	for (int i = 0; schedule_on && i < schedule.n; i++)
	{
		TimestampTz t;

		if (!sb_schedule_next(&schedule.cron[i], after, &t))
			continue;
		if (next_run == 0 || t < next_run ||
			(t == next_run && schedule.type[i] < next_type))
		{
			next_run = t;
			next_type = schedule.type[i];
		}
	}
	if (schedule_on && next_run == 0)
	{
		next_run = 0;
		ereport(LOG,
				(errmsg("safebackup.backup_schedule \"%s\" has no next run time; scheduled backups are off",
						schedule_text)));
	}
	publish_next_run();
}

static void
log_plan(const char *why)
{
	if (next_run != 0)
		ereport(LOG,
				(errmsg("%s: next scheduled backup at %s, type %s (safebackup.backup_schedule \"%s\", time zone %s)",
						why, timestamptz_to_str(next_run),
						sb_backup_type_name(next_type), schedule_text,
						schedule_tz)));
	else
		ereport(LOG, (errmsg("%s: no scheduled backups", why)));
}

static void
schedule_error_context(void *arg)
{
	errcontext("scheduled backup of %s", timestamptz_to_str(*(TimestampTz *) arg));
}

/*
 * Start the backup due at "due", the same way safebackup_start() does; now
 * is the time the launcher decided it was due, which the label is made
 * from (never a clock read again, which could lag into the second before).
 */
static void
start_scheduled_backup(TimestampTz due, TimestampTz now)
{
	char		label[SB_BACKUP_LABEL_LEN];
	char		running[SB_BACKUP_LABEL_LEN];
	uint64		generation;
	BackgroundWorkerHandle *handle = NULL;
	ErrorContextCallback callback;
	SbBackupRequestResult result;

	callback.callback = schedule_error_context;
	callback.arg = &due;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	result = sb_backup_request(LOG, 1, Max(now, due), (int) next_type, label,
							   running, &generation, &handle);
	error_context_stack = callback.previous;

	switch (result)
	{
		case SB_REQUEST_STARTED:
			ereport(LOG,
					(errmsg("scheduled backup \"%s\" started (%s)",
							label, sb_backup_type_name(next_type))));
			break;
		case SB_REQUEST_BUSY:
			ereport(LOG,
					(errmsg("skipping the scheduled backup of %s: backup \"%s\" is already running",
							timestamptz_to_str(due), running)));
			break;
		case SB_REQUEST_FAILED:
			/* the reason was logged with the schedule as context */
			break;
	}
	if (handle != NULL)
		pfree(handle);
}

/*
 * Does a scheduled backup run on this server, a standby or not?  When it
 * does not, say so.
 */
static bool
runs_here(TimestampTz due)
{
	bool		standby = RecoveryInProgress();

	if (sb_schedule_on_standby == SB_SCHEDULE_ANYWHERE ||
		standby == (sb_schedule_on_standby == SB_SCHEDULE_STANDBY_ONLY))
		return true;
	if (standby)
		ereport(LOG,
				(errmsg("skipping the scheduled backup of %s: this server is a standby",
						timestamptz_to_str(due)),
				 errdetail("With safebackup.schedule_on_standby = off, scheduled backups run on the primary only.")));
	else
		ereport(LOG,
				(errmsg("skipping the scheduled backup of %s: this server is not a standby",
						timestamptz_to_str(due)),
				 errdetail("With safebackup.schedule_on_standby = only, scheduled backups run on a standby only.")));
	return false;
}

/* The scheduled time has come: run (or skip, if late), plan the next. */
static void
run_due(TimestampTz now)
{
	long		late_ms = TimestampDifferenceMilliseconds(next_run, now);

	if (late_ms > SCHEDULE_LATE_MS)
		ereport(LOG,
				(errmsg("skipping the scheduled backup of %s: it is %ld s late",
						timestamptz_to_str(next_run), late_ms / 1000),
				 errdetail("Missed scheduled backups are not made up for; the next one runs at its own time.")));
	else if (runs_here(next_run))
		start_scheduled_backup(next_run, now);
	plan_next_run(GetCurrentTimestamp());
}

/* How long to sleep: until the next run, at most LAUNCHER_NAP_MS. */
static long
nap_ms(TimestampTz now)
{
	long		ms;

	if (next_run == 0)
		return LAUNCHER_NAP_MS;
	ms = TimestampDifferenceMilliseconds(now, next_run) + 1;
	return Min(ms, LAUNCHER_NAP_MS);
}

void
sb_launcher_main(Datum main_arg)
{
	TimestampTz last_gap_scan = 0;

	sb_worker_begin_loop("pg_safebackup launcher");

	before_shmem_exit(launcher_exit, (Datum) 0);
	set_state(SB_LAUNCHER_STARTING);
	ereport(LOG, (errmsg("pg_safebackup launcher started")));

	/* a run missed while the server was down is not made up for */
	(void) load_schedule();
	plan_next_run(GetCurrentTimestamp());
	if (schedule_on)
		log_plan("pg_safebackup launcher");
	set_state(SB_LAUNCHER_IDLE);

	while (!ShutdownRequestPending)
	{
		long		push_ms = sb_wal_push_maintain();
		long		catchup_ms = sb_wal_catchup_maintain();
		long		lag_ms = sb_lag_warning_check();
		TimestampTz now = GetCurrentTimestamp();
		long		sleep_ms;

		if (TimestampDifferenceExceeds(last_gap_scan, now, WAL_GAP_SCAN_MS))
		{
			(void) sb_wal_gaps_repair();
			last_gap_scan = now;
		}

		if (next_run != 0 && now >= next_run)
		{
			run_due(now);
			continue;
		}

		sleep_ms = nap_ms(now);
		if (push_ms >= 0)
			sleep_ms = Min(sleep_ms, push_ms);
		if (lag_ms >= 0)
			sleep_ms = Min(sleep_ms, lag_ms);
		if (catchup_ms >= 0)
			sleep_ms = Min(sleep_ms, catchup_ms);
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (load_schedule())
			{
				plan_next_run(GetCurrentTimestamp());
				log_plan("backup schedule changed");
			}
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
