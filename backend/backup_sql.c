/*-------------------------------------------------------------------------
 *
 * backup_sql.c
 *		SQL functions for base backups: safebackup_start(),
 *		safebackup_cancel() and safebackup_backups(), and the backup
 *		request they share with scheduled backups (backup_request.h).
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <time.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/condition_variable.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "backup_chain.h"
#include "backup_request.h"
#include "guc.h"
#include "guc_backup.h"
#include "manifest.h"
#include "report.h"
#include "shmem.h"
#include "storage.h"
#include "storage_wait.h"
#include "worker/backup.h"

PG_FUNCTION_INFO_V1(safebackup_start);
PG_FUNCTION_INFO_V1(safebackup_cancel);
PG_FUNCTION_INFO_V1(safebackup_backups);

/*
 * Who may call these functions is decided by EXECUTE alone, as for
 * PostgreSQL's own pg_backup_start(): revoked from PUBLIC by the
 * extension script, granted by the administrator (see README.md).
 */

/* "YYYYMMDD-HHMMSS", the time part of a label, before its type letter */
#define LABEL_TIME_LEN	15

/* The label of a backup requested at "when": its UTC time to the second. */
static void
make_label(TimestampTz when, SbBackupType type, char *label)
{
	time_t		t = timestamptz_to_time_t(when);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(label, SB_BACKUP_LABEL_LEN, "%Y%m%d-%H%M%S", &tm);
	snprintf(label + strlen(label), SB_BACKUP_LABEL_LEN - strlen(label), "%c",
			 sb_backup_type_letter(type));
}

/*
 * What the backup builds on: the base for its type (a diff or incr
 * without one becomes a full backup, logged) and the interrupted attempt of
 * the same type it resumes, if any (resume[0] == '\0' when none).  A
 * repository that cannot be read is reported at elevel; false then.
 */
static bool
plan_backup(SbStorage *st, const SbRepoConfig *cfg, int elevel,
			SbBackupType *type, char *base, char *resume)
{
	SbBackupType asked = *type;
	char		newest[SB_LABEL_LEN];
	SbError		err;

	resume[0] = '\0';
	if (sb_backup_choose_base(st, cfg->stanza, type, base, newest, &err) != SB_OK ||
		sb_backup_resume_candidate(st, cfg->stanza, *type, newest, resume,
								   &err) != SB_OK)
	{
		sb_report(elevel, &err, "could not list the backups", NULL);
		return false;
	}
	if (asked != *type)
		ereport(LOG,
				(errmsg("no backup to base the %s backup on in stanza \"%s\": taking a full backup",
						sb_backup_type_name(asked), cfg->stanza),
				 errdetail(asked == SB_BACKUP_DIFF ?
						   "A differential backup builds on the newest full backup." :
						   "An incremental backup builds on the newest complete backup.")));
	return true;
}

/*
 * Labels have one-second resolution: never reuse the previous label, nor one
 * whose directory exists in the repository (left by a backup interrupted by
 * a crash in the same second, which shared memory no longer remembers).  The
 * label is made from *when; when that one is taken, *when moves on to the
 * time of a free one.
 */
static bool
choose_label(const SbRepoConfig *cfg, int elevel, TimestampTz *when,
			 SbBackupType *type, char *base, bool *resume, char *label)
{
	SbStorage  *st = NULL;
	SbError		err;
	bool		can_look;
	char		resumed[SB_LABEL_LEN] = "";

	can_look = sb_backend_storage_create(cfg, &st, &err) == SB_OK &&
		sb_storage_open(st, &err) == SB_OK;
	if (!can_look && *type != SB_BACKUP_FULL)
	{
		/* the worker reports the unreachable repository */
		*type = SB_BACKUP_FULL;
		base[0] = '\0';
	}
	else if (can_look && !plan_backup(st, cfg, elevel, type, base, resumed))
	{
		sb_storage_close(st);
		sb_storage_free(st);
		return false;
	}
	*resume = resumed[0] != '\0';
	if (*resume)
	{
		strlcpy(label, resumed, SB_BACKUP_LABEL_LEN);
		ereport(LOG,
				(errmsg("resuming the interrupted backup \"%s\"", label),
				 errdetail("Its stored files are reused where their checksums verify and their source is unchanged.")));
	}
	for (; !*resume;)
	{
		char		dir[SB_PATH_MAX];
		SbStat		sbuf;
		bool		taken;

		/*
		 * Labels sort in the order backups were taken: one of any type from
		 * the same second (the time part, before the type letter) makes us
		 * wait for the next second.
		 */
		make_label(*when, *type, label);
		LWLockAcquire(sb_shared->lock, LW_SHARED);
		taken = strncmp(sb_shared->backup_label, label, LABEL_TIME_LEN) == 0;
		LWLockRelease(sb_shared->lock);
		for (const char *t = "FDI"; !taken && can_look && *t; t++)
		{
			char		other[SB_BACKUP_LABEL_LEN];

			strlcpy(other, label, sizeof(other));
			other[LABEL_TIME_LEN] = *t;
			sb_backup_dir(cfg->stanza, other, dir);
			taken = sb_storage_stat(st, dir, &sbuf, &err) == SB_OK;
		}
		if (!taken)
			break;
		pg_usleep(100000L);
		CHECK_FOR_INTERRUPTS();
		*when = GetCurrentTimestamp();
	}
	if (st != NULL)
	{
		sb_storage_close(st);
		sb_storage_free(st);
	}
	return true;
}

/* Wait until the backup of this generation has finished. */
static SbBackupPhase
wait_for_backup(uint64 generation, BackgroundWorkerHandle *handle,
				char *error)
{
	SbBackupPhase phase;

	ConditionVariablePrepareToSleep(&sb_shared->backup_cv);
	for (;;)
	{
		pid_t		pid;
		bool		done;

		LWLockAcquire(sb_shared->lock, LW_SHARED);
		done = sb_shared->backup_generation != generation ||
			!sb_shared->backup_running;
		phase = sb_shared->backup_phase;
		strlcpy(error, sb_shared->backup_error, SB_LAST_ERROR_LEN);
		LWLockRelease(sb_shared->lock);
		if (done)
			break;
		/* a worker that died without saying so (crash, never started) */
		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
		{
			sb_backup_set_phase(SB_BACKUP_FAILED,
								"the backup worker exited before the backup completed");
			continue;
		}
		ConditionVariableTimedSleep(&sb_shared->backup_cv, 1000,
									PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return phase;
}

/*
 * The database the worker of a differential or incremental backup
 * connects to, to read the WAL summaries (safebackup.summary_database),
 * or InvalidOid (file level) when the server keeps no summaries or the
 * setting names no database.  Called from SQL (in a transaction) and from
 * the launcher (not connected to a database: pg_database is shared).
 */
static Oid
summary_database(SbBackupType btype)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		own_xact = !IsTransactionState();
	Oid			oid;

	if (!SB_HAVE_WAL_SUMMARIES || btype == SB_BACKUP_FULL ||
		sb_summary_database == NULL || sb_summary_database[0] == '\0')
		return InvalidOid;
	if (own_xact)
		StartTransactionCommand();
	oid = get_database_oid(sb_summary_database, true);
	if (own_xact)
	{
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
	}
	if (!OidIsValid(oid))
		ereport(LOG,
				(errmsg("database \"%s\" of safebackup.summary_database does not exist; the backup works at file level",
						sb_summary_database)));
	return oid;
}

/*
 * Claim the backup slot in shared memory and start a backup worker: the one
 * code path of safebackup_start() and of scheduled backups.  Problems that
 * prevent a backup are reported at elevel (ERROR from SQL; LOG from the
 * launcher, and then SB_REQUEST_FAILED is returned).  A backup already
 * running is not reported: SB_REQUEST_BUSY, with its label in running.
 */
SbBackupRequestResult
sb_backup_request(int elevel, int repo, TimestampTz when, int type,
				  char *label, char *running, uint64 *generation,
				  BackgroundWorkerHandle **handle)
{
	SbRepoConfig cfg;
	bool		busy;
	SbBackupType btype = (SbBackupType) type;
	char		base[SB_LABEL_LEN] = "";
	bool		resume = false;
	Oid			dboid;

	/*
	 * A standby takes the backup itself and waits for the primary to archive
	 * its WAL (worker/backup_wal.c): its own archive_mode does not matter.
	 */
	if (!RecoveryInProgress() && !XLogArchivingActive())
	{
		ereport(elevel,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("WAL archiving is not enabled"),
				 errdetail("A backup is usable only with the WAL archived while it ran."),
				 errhint("Set archive_mode = on and archive_library = 'pg_safebackup', then restart the server.")));
		return SB_REQUEST_FAILED;
	}
	if (repo < 1 || repo > SB_REPO_MAX)
	{
		ereport(elevel,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("repository %d does not exist", repo),
				 errhint("Repositories are numbered 1 to %d.", SB_REPO_MAX)));
		return SB_REQUEST_FAILED;
	}
	if (!sb_guc_repo_config_n(repo, &cfg))
	{
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("repository %d is not configured", repo),
				 errhint("Set safebackup.repo%d_path (and safebackup.repo%d_type for another kind of repository) and reload the configuration.",
						 repo, repo)));
		return SB_REQUEST_FAILED;
	}
	if (cfg.repo_path[0] == '\0')
	{
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("safebackup.repo_path is not set"),
				 errhint("Set safebackup.repo_path to the repository directory and reload the configuration.")));
		return SB_REQUEST_FAILED;
	}

	if (!choose_label(&cfg, elevel, &when, &btype, base, &resume, label))
		return SB_REQUEST_FAILED;
	dboid = summary_database(btype);

	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	busy = sb_shared->backup_running;
	strlcpy(running, sb_shared->backup_label, SB_BACKUP_LABEL_LEN);
	if (!busy)
	{
		sb_shared->backup_running = true;
		sb_shared->backup_cancel = false;
		sb_shared->backup_pid = 0;
		sb_shared->backup_generation++;
		*generation = sb_shared->backup_generation;
		strlcpy(sb_shared->backup_label, label, SB_BACKUP_LABEL_LEN);
		sb_shared->backup_repo = repo;
		sb_shared->backup_type = (int) btype;
		strlcpy(sb_shared->backup_base, base, SB_BACKUP_LABEL_LEN);
		sb_shared->backup_resume = resume;
		sb_shared->backup_dboid = dboid;
		sb_shared->backup_phase = SB_BACKUP_STARTING;
		/* one time for the label, the status and the manifest */
		sb_shared->backup_started = when;
		sb_shared->backup_finished = 0;
		sb_shared->backup_bytes_done = sb_shared->backup_bytes_total = 0;
		sb_shared->backup_files_done = sb_shared->backup_files_total = 0;
		sb_shared->backup_checksum_failures = 0;
		sb_shared->backup_error[0] = '\0';
	}
	LWLockRelease(sb_shared->lock);
	if (busy)
		return SB_REQUEST_BUSY;

	if (!sb_backup_launch(handle))
	{
		sb_backup_set_phase(SB_BACKUP_FAILED, "no background worker slot was free");
		ereport(elevel,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the backup worker"),
				 errhint("Increase max_worker_processes (it needs one free slot per running backup).")));
		return SB_REQUEST_FAILED;
	}
	return SB_REQUEST_STARTED;
}

Datum
safebackup_start(PG_FUNCTION_ARGS)
{
	char	   *type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		wait = PG_GETARG_BOOL(1);
	/* the 1.1 SQL function has no repo argument */
	int			repo = PG_NARGS() > 2 ? PG_GETARG_INT32(2) : 1;
	char		label[SB_BACKUP_LABEL_LEN];
	char		running[SB_BACKUP_LABEL_LEN];
	char		error[SB_LAST_ERROR_LEN];
	BackgroundWorkerHandle *handle;
	uint64		generation;
	SbBackupPhase phase;
	SbBackupType btype;

	sb_shmem_require();
	if (!sb_backup_type_parse(type, &btype))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid backup type \"%s\"", type),
				 errhint("Valid backup types: full, diff, incr.")));

	if (sb_backup_request(ERROR, repo, GetCurrentTimestamp(), (int) btype, label,
						  running, &generation, &handle) ==
		SB_REQUEST_BUSY)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("backup \"%s\" is already running", running),
				 errhint("Wait for it to finish (see the view safebackup.backup_progress), or stop it with safebackup.safebackup_cancel().")));

	if (wait)
	{
		phase = wait_for_backup(generation, handle, error);
		if (phase == SB_BACKUP_CANCELED)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("backup \"%s\" was canceled", label)));
		if (phase != SB_BACKUP_DONE)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("backup \"%s\" failed: %s", label, error),
					 errhint("The server log has the details; the incomplete backup is not listed in safebackup.backups.")));
	}
	PG_RETURN_TEXT_P(cstring_to_text(label));
}

Datum
safebackup_cancel(PG_FUNCTION_ARGS)
{
	bool		running;
	pid_t		pid;

	sb_shmem_require();
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	running = sb_shared->backup_running;
	pid = sb_shared->backup_pid;
	if (running)
		sb_shared->backup_cancel = true;
	LWLockRelease(sb_shared->lock);
	if (running && pid != 0)
		kill(pid, SIGTERM);
	PG_RETURN_BOOL(running);
}

static Datum
time_datum(int64 t)
{
	return TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) t));
}

static Datum
lsn_datum(const char *text)
{
	uint64_t	lsn;

	if (!sb_lsn_parse(text, &lsn))
		return LSNGetDatum(InvalidXLogRecPtr);
	return LSNGetDatum((XLogRecPtr) lsn);
}

#define BACKUPS_COLS 14

Datum
safebackup_backups(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	char	  **labels = NULL;
	int			nlabels = 0;

	InitMaterializedSRF(fcinfo, 0);
	sb_guc_repo_config(&cfg);
	if (cfg.repo_path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("safebackup.repo_path is not set")));
	if (sb_backend_storage_create(&cfg, &st, &err) != SB_OK)
		sb_report(ERROR, &err, "could not open the repository", NULL);
	if (sb_storage_open(st, &err) != SB_OK ||
		sb_backup_list(st, cfg.stanza, &labels, &nlabels, &err) != SB_OK)
	{
		sb_storage_free(st);
		sb_report(ERROR, &err, "could not list backups", NULL);
	}

	for (int i = 0; i < nlabels; i++)
	{
		SbManifest	m;
		Datum		values[BACKUPS_COLS];
		bool		nulls[BACKUPS_COLS];
		int			c = 0;

		if (sb_manifest_load_flags(st, cfg.stanza, labels[i], &m,
								   SB_MANIFEST_SKIP_SUMS, &err) != SB_OK)
		{
			sb_report(WARNING, &err, "could not read a backup manifest", NULL);
			continue;
		}
		memset(nulls, 0, sizeof(nulls));
		values[c++] = CStringGetTextDatum(m.label);
		values[c++] = CStringGetTextDatum(m.type);
		values[c++] = CStringGetTextDatum("complete");
		values[c++] = time_datum(m.start_time);
		values[c++] = time_datum(m.stop_time);
		values[c++] = lsn_datum(m.start_lsn);
		values[c++] = lsn_datum(m.stop_lsn);
		values[c++] = CStringGetTextDatum(m.start_wal);
		values[c++] = CStringGetTextDatum(m.stop_wal);
		values[c++] = Int64GetDatum((int64) m.database_size);
		values[c++] = Int64GetDatum((int64) m.stored_size);
		values[c++] = Int32GetDatum(m.nfiles);
		/* NULL: the cluster had no data checksums to verify */
		if (m.checksums_verified)
			values[c++] = Int64GetDatum((int64) m.checksum_failures);
		else
			nulls[c++] = true;
		/* NULL for a full backup */
		if (m.base[0] != '\0')
			values[c++] = CStringGetTextDatum(m.base);
		else
			nulls[c++] = true;
		Assert(c == BACKUPS_COLS);
		/* 1.0 declared no base: only the first natts values are taken */
		Assert(rsinfo->setDesc->natts <= BACKUPS_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		sb_manifest_free(&m);
	}
	sb_backup_list_free(labels, nlabels);
	sb_storage_close(st);
	sb_storage_free(st);
	return (Datum) 0;
}
