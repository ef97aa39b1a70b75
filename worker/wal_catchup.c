/*-------------------------------------------------------------------------
 *
 * wal_catchup.c
 *		The catch-up worker: copies into a repository that fell behind
 *		(safebackup.archive_repo_hold) the WAL files it missed, so that it
 *		catches up by itself once it works again.
 *
 * The launcher starts it (sb_wal_catchup_maintain()) while a configured
 * repository is behind, where the archiver runs; it exits when none is.
 * For each such repository it takes the recorded files oldest first
 * (backend/repo_behind.h), fetches each from another repository that has
 * it, through the codec (decrypted, decompressed, its checksum verified)
 * into a local file, and pushes that into the repository with the same
 * call as the archiver (its own compression and encryption; an identical
 * copy already there is accepted, a different one refused), then marks it
 * copied.  A failure is logged as a WARNING (again once a minute while it
 * goes on) and retried with a back-off of 1 s doubling to 10 s, at once
 * after a reload; the fetched file is kept for the retry, so a repository
 * that stays down costs one failed write per attempt, not a fetch.  It never holds up archiving: the archiver does not wait
 * for it, and it works over its own repository sessions.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "worker/wal_catchup.h"
#include "worker/wal_push.h"
#include "worker/worker.h"
#include "backend/repo_behind.h"
#include "backend/report.h"
#include "backend/shmem.h"
#include "backend/wal_session.h"

/* the file being copied, in the data directory */
#define COPY_PATH	SB_BEHIND_DIR "/catchup.wal"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	10000
/* a failure that stays the same is logged again after this long */
#define WARN_AGAIN_MS	60000
/* the launcher starts the worker at most this often */
#define RESTART_MS		1000

/* --- the worker --- */

static TimestampTz retry_at[SB_REPO_MAX];
static long backoff_ms[SB_REPO_MAX];
static bool warned[SB_REPO_MAX];	/* a failure logged since the last copy */
/* the file in COPY_PATH, kept while pushing it fails ("": none) */
static char fetched[SB_WALNAME_LEN];
static TimestampTz last_warned_at[SB_REPO_MAX];

static void
catchup_exit(int code, Datum arg)
{
	sb_wal_session_close();
	unlink(COPY_PATH);
	fetched[0] = '\0';
}

/* The configured repositories that are behind, as a mask. */
static int
behind_now(const SbWalRepos *all)
{
	int			mask = sb_behind_mask();
	int			configured = 0;

	for (int k = 0; k < all->n; k++)
		configured |= 1 << (all->index[k] - 1);
	return mask & configured;
}

static void
warn_failure(int repo, const char *name, const SbError *err)
{
	SbRepoBehindInfo info;
	TimestampTz now = GetCurrentTimestamp();

	sb_behind_note_error(repo, err->msg);
	/* messages name temporary files: a failure in a row is one failure */
	if (warned[repo - 1] &&
		!TimestampDifferenceExceeds(last_warned_at[repo - 1], now, WARN_AGAIN_MS))
		return;
	warned[repo - 1] = true;
	last_warned_at[repo - 1] = now;
	sb_behind_info(repo, &info);
	ereport(WARNING,
			(errcode(sb_errcode(err->status)),
			 errmsg("could not copy WAL file \"%s\" into repository %d, which is behind: %s",
					name, repo, err->msg),
			 errdetail_plural("Repository %d misses %lld WAL file.%s%s",
							  "Repository %d misses %lld WAL files.%s%s",
							  (unsigned long) info.missed,
							  repo, (long long) info.missed,
							  err->detail[0] ? " " : "", err->detail),
			 errhint("%s", err->hint[0] ? err->hint :
					 "The copy is retried; archiving goes on into the other repositories meanwhile.")));
}

/*
 * Fetch name from a repository other than "repo" into COPY_PATH: the ones
 * that are not behind first.  SB_ERR_NOT_FOUND when every other one
 * answered that it does not have it.
 */
static SbStatus
fetch_from_other(int repo, const SbWalRepos *all, const char *name,
				 int *source, SbError *err)
{
	int			behind = sb_behind_mask();
	SbStatus	result = SB_ERR_NOT_FOUND;
	SbError		e;

	sb_error_set(err, SB_ERR_NOT_FOUND, "WAL file \"%s\" is in no other repository", name);
	for (int pass = 0; pass < 2; pass++)
	{
		for (int k = 0; k < all->n; k++)
		{
			int			s = all->index[k];
			bool		s_behind = (behind & (1 << (s - 1))) != 0;
			SbStatus	rc;

			if (s == repo || s_behind != (pass == 1))
				continue;
			sb_error_clear(&e);
			rc = sb_wal_session_fetch(s, &all->cfg[k], name, COPY_PATH, &e);
			if (rc == SB_OK)
			{
				*source = s;
				return SB_OK;
			}
			if (rc != SB_ERR_NOT_FOUND && result == SB_ERR_NOT_FOUND)
			{
				/* keep the first real failure */
				*err = e;
				result = rc;
			}
		}
	}
	return result;
}

/*
 * Copy the oldest file repository "repo" misses into it.  True when the
 * record moved on (copied, or skipped as in no other repository).
 */
static bool
copy_one(int repo, const SbWalRepos *all)
{
	char		name[SB_WALNAME_LEN];
	int64		next;
	int			source = 0;
	int			k;
	bool		current;
	const char *what;
	SbWalPushResult res;
	SbError		err;
	SbStatus	rc;

	if (!sb_behind_next(repo, name, &next))
		return false;
	for (k = 0; k < all->n && all->index[k] != repo; k++)
		;

	sb_error_clear(&err);
	if (strcmp(fetched, name) == 0)
		rc = SB_OK;				/* fetched for an attempt that failed */
	else if (!sb_wal_name_valid(name))
		rc = sb_error_set(&err, SB_ERR_NOT_FOUND, "invalid WAL file name \"%s\"", name);
	else
	{
		fetched[0] = '\0';
		rc = fetch_from_other(repo, all, name, &source, &err);
		if (rc == SB_OK)
		{
			strlcpy(fetched, name, SB_WALNAME_LEN);
			ereport(DEBUG1,
					(errmsg_internal("fetched WAL file \"%s\" from repository %d for repository %d",
									 name, source, repo)));
		}
	}
	if (rc == SB_ERR_NOT_FOUND)
	{
		/* e.g. removed by another repository's retention: nothing to copy */
		ereport(WARNING,
				(errmsg("WAL file \"%s\" missed by repository %d is in no other repository and cannot be copied into it",
						name, repo),
				 errdetail("%s", err.msg),
				 errhint("A restore from repository %d alone cannot replay past this file.", repo)));
	}
	else if (rc == SB_OK)
	{
		rc = sb_wal_session_push_to(repo, &all->cfg[k], name, COPY_PATH, &res, &err);
		if (rc == SB_OK)
		{
			unlink(COPY_PATH);
			fetched[0] = '\0';
		}
	}
	if (rc != SB_OK && rc != SB_ERR_NOT_FOUND)
	{
		warn_failure(repo, name, &err);
		return false;
	}
	if (rc == SB_OK)
		ereport(DEBUG1,
				(errmsg_internal("copied WAL file \"%s\" into repository %d", name, repo)));

	if (!sb_behind_copied(repo, next, &current, &what))
	{
		sb_error_set(&err, SB_ERR_IO, "could not update \"%s\": %s", what,
					 strerror(errno));
		warn_failure(repo, name, &err);
		return false;
	}
	warned[repo - 1] = false;
	if (current)
	{
		SbRepoBehindInfo info;

		sb_behind_info(repo, &info);
		ereport(LOG,
				(errmsg("repository %d has caught up: it has every WAL file it missed",
						repo),
				 errdetail_plural("%lld WAL file was copied into it since the server started.",
								  "%lld WAL files were copied into it since the server started.",
								  (unsigned long) info.caught_up,
								  (long long) info.caught_up)));
	}
	return true;
}

void
sb_wal_catchup_main(Datum main_arg)
{
	static SbWalRepos all;

	sb_worker_begin_loop("pg_safebackup catch-up worker");
	before_shmem_exit(catchup_exit, (Datum) 0);

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		long		sleep_ms = BACKOFF_MAX_MS;
		bool		progressed = false;
		int			mask;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* new settings may fix what failed */
			memset(retry_at, 0, sizeof(retry_at));
		}
		sb_wal_repos_load(&all);
		mask = behind_now(&all);
		if (mask == 0)
			break;

		now = GetCurrentTimestamp();
		for (int r = 1; r <= SB_REPO_MAX; r++)
		{
			if (!(mask & (1 << (r - 1))))
				continue;
			if (retry_at[r - 1] > now)
			{
				sleep_ms = Min(sleep_ms,
							   TimestampDifferenceMilliseconds(now, retry_at[r - 1]) + 1);
				continue;
			}
			if (copy_one(r, &all))
			{
				progressed = true;
				backoff_ms[r - 1] = 0;
				continue;
			}
			backoff_ms[r - 1] = backoff_ms[r - 1] == 0 ? BACKOFF_MIN_MS :
				Min(backoff_ms[r - 1] * 2, BACKOFF_MAX_MS);
			retry_at[r - 1] = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														  backoff_ms[r - 1]);
			sleep_ms = Min(sleep_ms, backoff_ms[r - 1]);
		}
		CHECK_FOR_INTERRUPTS();
		if (progressed)
			continue;

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(sleep_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}

/* --- the launcher's side --- */

static BackgroundWorkerHandle *handle = NULL;
static TimestampTz last_start = 0;
static bool exit_hook_set = false;
static bool no_slot_logged = false;

static void
stop_worker(int code, Datum arg)
{
	if (handle != NULL)
		TerminateBackgroundWorker(handle);
}

static bool
any_behind(void)
{
	static SbWalRepos all;

	sb_wal_repos_load(&all);
	return behind_now(&all) != 0;
}

long
sb_wal_catchup_maintain(void)
{
	BackgroundWorker worker;
	MemoryContext old;
	pid_t		pid;
	long		wait;
	bool		ok;

	if (!exit_hook_set)
	{
		before_shmem_exit(stop_worker, (Datum) 0);
		exit_hook_set = true;
	}
	if (handle != NULL && GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
	{
		pfree(handle);
		handle = NULL;
	}
	if (handle != NULL)
		return -1;				/* its exit sets our latch */
	if (!sb_wal_archiving_here() || !any_behind())
		return -1;

	wait = last_start == 0 ? 0 :
		RESTART_MS - TimestampDifferenceMilliseconds(last_start, GetCurrentTimestamp());
	if (wait > 0)
		return wait;
	last_start = GetCurrentTimestamp();

	sb_worker_describe(&worker, "sb_wal_catchup_main",
					   "pg_safebackup catch-up worker", BGW_NEVER_RESTART);
	worker.bgw_notify_pid = MyProcPid;
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		handle = NULL;
		if (!no_slot_logged)
			ereport(LOG,
					(errmsg("could not start the pg_safebackup catch-up worker: no free background worker slot"),
					 errhint("Raise max_worker_processes: a repository that is behind catches up only while this worker runs.")));
		no_slot_logged = true;
		return RESTART_MS;
	}
	no_slot_logged = false;
	return -1;
}
