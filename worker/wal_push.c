/*-------------------------------------------------------------------------
 *
 * wal_push.c
 *		Push-ahead workers: background workers that push WAL files that are
 *		ready for archiving to the repository before the archiver asks for
 *		them, so that a backlog drains in parallel and the archive callback
 *		finds most files already durable.
 *
 * The launcher starts safebackup.archive_push_workers of them (and stops
 * or restarts them on reload and exit) through sb_wal_push_maintain().
 * Each worker looks at pg_wal/archive_status, takes the oldest ".ready"
 * files in the archiver's order (timeline history files first, then by
 * name) that no one has claimed in the shared push table, claims one,
 * pushes it over its own repository session with sb_wal_push() (the same
 * call as the archiver: stanza check, identical re-push, conflict refusal)
 * and records it durable together with the local file's identity.  Only
 * segments, ".partial" segments and timeline history files are pushed
 * ahead; backup history files are left to the archiver.  A repository
 * that is behind (safebackup.archive_repo_hold, backend/repo_behind.h) is
 * left out: the archiver records the file as missed by it instead.
 *
 * Nothing here reports a file archived: only the archive callback does,
 * after checking the durable entry against the file (push_table.h).  A
 * failure only means the archiver pushes the file itself.
 *
 * Wake-ups: the archive callback sets the workers' latches each time it is
 * called, so they look for new files at once; they also look every
 * SCAN_MS when idle.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "worker/wal_push.h"
#include "worker/worker.h"
#include "backend/guc.h"
#include "backend/push_table.h"
#include "backend/report.h"
#include "backend/shmem.h"
#include "backend/wal_session.h"

#define STATUS_DIR	XLOGDIR "/archive_status"

/* an idle worker looks at archive_status at least this often */
#define SCAN_MS		1000

/* after a failed push, wait this long before pushing ahead again */
#define BACKOFF_MS	1000

/* the launcher starts a worker at most this often per slot */
#define RESTART_MS	1000

/* files taken from one look at archive_status */
#define SCAN_BATCH	16

/* --- the worker --- */

static int	my_worker = -1;
static char batch[SCAN_BATCH][SB_WALNAME_LEN];
static int	batch_len = 0;
static int	batch_pos = 0;
static TimestampTz retry_at = 0;
static char last_logged[SB_PUSH_ERROR_LEN] = "";

static bool
all_hex(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static bool
is_history(const char *name)
{
	return strlen(name) == 16 && all_hex(name, 8) &&
		strcmp(name + 8, ".history") == 0;
}

/* A segment, a .partial segment or a timeline history file. */
static bool
pushed_ahead(const char *name)
{
	size_t		len = strlen(name);

	if (len == 24)
		return all_hex(name, 24);
	if (len == 32)
		return all_hex(name, 24) && strcmp(name + 24, ".partial") == 0;
	return is_history(name);
}

/* The archiver's order: timeline history files first, then by name. */
static bool
archived_before(const char *a, const char *b)
{
	bool		ha = is_history(a);
	bool		hb = is_history(b);

	if (ha != hb)
		return ha;
	return strcmp(a, b) < 0;
}

static bool
in_table(const char *name, char taken[][SB_WALNAME_LEN], int ntaken)
{
	for (int i = 0; i < ntaken; i++)
		if (strcmp(taken[i], name) == 0)
			return true;
	return false;
}

/* Keep the SCAN_BATCH first files to push in batch, in order. */
static void
batch_add(const char *name)
{
	int			pos = batch_len;

	while (pos > 0 && archived_before(name, batch[pos - 1]))
		pos--;
	if (pos >= SCAN_BATCH)
		return;
	if (batch_len < SCAN_BATCH)
		batch_len++;
	memmove(batch[pos + 1], batch[pos],
			(size_t) (batch_len - 1 - pos) * SB_WALNAME_LEN);
	strlcpy(batch[pos], name, SB_WALNAME_LEN);
}

/* Look at archive_status: the first ready files no one has taken. */
static void
scan_ready(void)
{
	char		taken[SB_PUSH_SLOTS][SB_WALNAME_LEN];
	int			ntaken;
	DIR		   *dir;
	struct dirent *de;

	sb_push_prune(STATUS_DIR);
	ntaken = sb_push_table_names(taken);
	batch_len = batch_pos = 0;

	dir = AllocateDir(STATUS_DIR);
	while ((de = ReadDir(dir, STATUS_DIR)) != NULL)
	{
		char		name[SB_WALNAME_LEN];
		size_t		len = strlen(de->d_name);

		if (len <= 6 || len - 6 >= SB_WALNAME_LEN ||
			strcmp(de->d_name + len - 6, ".ready") != 0)
			continue;
		memcpy(name, de->d_name, len - 6);
		name[len - 6] = '\0';
		if (pushed_ahead(name) && !in_table(name, taken, ntaken))
			batch_add(name);
	}
	FreeDir(dir);
}

static bool
still_ready(const char *name)
{
	char		path[MAXPGPATH];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.ready", STATUS_DIR, name);
	return stat(path, &st) == 0;
}

/*
 * Claim the next file to push into name; false when there is none or the
 * table is full.  Looks at archive_status at most once per call.
 */
static bool
claim_next(char *name)
{
	bool		scanned = false;
	bool		pruned = false;

	for (;;)
	{
		bool		full;
		const char *cand;

		if (batch_pos >= batch_len)
		{
			if (scanned)
				return false;
			scan_ready();
			scanned = true;
			continue;
		}
		cand = batch[batch_pos];
		if (!sb_push_claim(my_worker, cand, &full))
		{
			if (full && !pruned)
			{
				/* entries the archiver is done with make room */
				sb_push_prune(STATUS_DIR);
				pruned = true;
				continue;
			}
			if (full)
				return false;	/* try this one again when woken */
			batch_pos++;
			continue;
		}
		batch_pos++;
		if (!still_ready(cand))
		{
			sb_push_finish(my_worker, cand, false, NULL, 0, NULL);
			continue;
		}
		strlcpy(name, cand, SB_WALNAME_LEN);
		return true;
	}
}

static void
count_bytes(const SbWalPushResult *res)
{
	if (res->already_stored)
		return;
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->archived_bytes += res->store.plain_size;
	sb_shared->stored_bytes += res->store.stored_size;
	LWLockRelease(sb_shared->lock);
}

/* Log a failure once until the message changes or a push succeeds. */
static void
log_failure(const char *name, const SbWalRepos *repos, int failed,
			const SbError *err)
{
	char		context[MAXPGPATH + 64];

	if (strncmp(last_logged, err->msg, SB_PUSH_ERROR_LEN - 1) == 0)
		return;
	strlcpy(last_logged, err->msg, SB_PUSH_ERROR_LEN);
	if (repos->n > 1)
		snprintf(context, sizeof(context),
				 "could not push WAL file \"%s\" to repository %d ahead of the archiver",
				 name, failed);
	else
		snprintf(context, sizeof(context),
				 "could not push WAL file \"%s\" ahead of the archiver", name);
	sb_report(LOG, err, context,
			  "The archiver pushes the file itself; push-ahead is retried.");
}

static void
push_one(const char *name)
{
	char		path[MAXPGPATH];
	static SbWalRepos all;		/* static: four repositories' settings */
	static SbWalRepos repos;
	int			behind;
	int			failed;
	SbWalIdentity before;
	SbWalIdentity after;
	SbWalPushResult res;
	SbError		err;

	snprintf(path, sizeof(path), "%s/%s", XLOGDIR, name);
	sb_error_clear(&err);
	sb_wal_repos_load(&all);
	/* not into a repository that is behind: the archiver records it there */
	sb_wal_repos_current(&all, &repos, &behind);

	if (!sb_wal_identity(path, &before))
	{
		sb_push_finish(my_worker, name, false, NULL, 0, NULL);
		return;
	}
	if (sb_wal_session_push(&repos, name, path, &res, &failed, &err) != SB_OK)
	{
		sb_push_finish(my_worker, name, false, NULL, 0, err.msg);
		log_failure(name, &repos, failed, &err);
		retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), BACKOFF_MS);
		return;
	}

	/* what was stored must be the file the archiver will be asked about */
	if (!sb_wal_identity(path, &after) || !sb_wal_identity_equal(&before, &after))
	{
		sb_push_finish(my_worker, name, false, NULL, 0, NULL);
		return;
	}
	count_bytes(&res);
	sb_push_finish(my_worker, name, true, &before, sb_wal_repos_hash(&repos), NULL);
	last_logged[0] = '\0';
	/* logged as the archiver logs it, whichever process got there first */
	if (res.already_stored)
		ereport(LOG,
				(errmsg("WAL file \"%s\" was already in the repository with identical content",
						name)));
	else
		ereport(DEBUG1,
				(errmsg_internal("pushed WAL file \"%s\" ahead of the archiver", name)));
}

static void
worker_exit(int code, Datum arg)
{
	sb_push_worker_detach(my_worker);
	sb_wal_session_close();
}

/* Milliseconds to sleep before looking again. */
static long
idle_ms(void)
{
	long		ms = SCAN_MS;

	if (retry_at != 0)
		ms = Min(ms, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), retry_at));
	return Max(ms, 1);
}

void
sb_wal_push_main(Datum main_arg)
{
	my_worker = DatumGetInt32(main_arg);

	sb_worker_begin_loop("pg_safebackup push worker");
	if (my_worker < 0 || my_worker >= SB_PUSH_MAX_WORKERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_safebackup push worker number %d is out of range", my_worker)));

	if (!sb_push_worker_attach(my_worker))
	{
		ereport(LOG,
				(errmsg("pg_safebackup push worker %d is already running", my_worker)));
		proc_exit(0);
	}
	before_shmem_exit(worker_exit, (Datum) 0);

	while (!ShutdownRequestPending)
	{
		char		name[SB_WALNAME_LEN];

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (my_worker >= sb_guc_archive_push_workers())
				break;
			/* new settings may fix what failed: no need to sit out the back-off */
			retry_at = 0;
		}

		if (retry_at != 0 && GetCurrentTimestamp() >= retry_at)
			retry_at = 0;
		if (retry_at == 0 && claim_next(name))
		{
			push_one(name);
			CHECK_FOR_INTERRUPTS();
			continue;
		}

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 idle_ms(), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}

/* --- the launcher's side --- */

static BackgroundWorkerHandle *handles[SB_PUSH_MAX_WORKERS];
static TimestampTz last_start[SB_PUSH_MAX_WORKERS];
static bool exit_hook_set = false;
static bool no_slot_logged = false;

/*
 * The archiver runs here (on a standby only with archive_mode = always) and
 * archive_library names this library (with or without a directory).
 */
bool
sb_wal_archiving_here(void)
{
	const char *lib = GetConfigOption("archive_library", true, false);
	const char *base;

	if (!XLogArchivingActive() || lib == NULL)
		return false;
	if (RecoveryInProgress() && !XLogArchivingAlways())
		return false;
	base = strrchr(lib, '/');
	base = base ? base + 1 : lib;
	return strncmp(base, "pg_safebackup", 13) == 0 &&
		(base[13] == '\0' || strcmp(base + 13, DLSUFFIX) == 0);
}

static bool
start_worker(int i)
{
	BackgroundWorker worker;
	MemoryContext old;
	bool		ok;

	sb_worker_describe(&worker, "sb_wal_push_main", "pg_safebackup push worker",
					   BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, sizeof(worker.bgw_name),
			 "pg_safebackup push worker %d", i);
	worker.bgw_main_arg = Int32GetDatum(i);
	worker.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &handles[i]);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		handles[i] = NULL;
		if (!no_slot_logged)
			ereport(LOG,
					(errmsg("could not start pg_safebackup push worker %d: no free background worker slot", i),
					 errhint("Raise max_worker_processes, or lower safebackup.archive_push_workers.")));
		no_slot_logged = true;
		return false;
	}
	no_slot_logged = false;
	return true;
}

static void
stop_workers(int code, Datum arg)
{
	for (int i = 0; i < SB_PUSH_MAX_WORKERS; i++)
		if (handles[i] != NULL)
			TerminateBackgroundWorker(handles[i]);
}

long
sb_wal_push_maintain(void)
{
	int			want = sb_wal_archiving_here() ? sb_guc_archive_push_workers() : 0;
	TimestampTz now = GetCurrentTimestamp();
	long		next = -1;

	if (!exit_hook_set)
	{
		before_shmem_exit(stop_workers, (Datum) 0);
		exit_hook_set = true;
	}

	for (int i = 0; i < SB_PUSH_MAX_WORKERS; i++)
	{
		pid_t		pid;
		long		wait;

		if (handles[i] != NULL &&
			GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED)
		{
			pfree(handles[i]);
			handles[i] = NULL;
		}
		if (i >= want)
		{
			if (handles[i] != NULL)
				TerminateBackgroundWorker(handles[i]);
			continue;
		}
		if (handles[i] != NULL)
			continue;

		/* a worker that keeps failing is started at most every RESTART_MS */
		wait = (last_start[i] == 0) ? 0 :
			RESTART_MS - TimestampDifferenceMilliseconds(last_start[i], now);
		if (wait > 0)
		{
			next = (next < 0) ? wait : Min(next, wait);
			continue;
		}
		last_start[i] = now;
		if (!start_worker(i))
			next = (next < 0) ? RESTART_MS : Min(next, RESTART_MS);
	}
	return next;
}
