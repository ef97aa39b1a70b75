/*-------------------------------------------------------------------------
 *
 * archive.c
 *		The archive module: ship each completed WAL file to the repository
 *		from inside the archiver process.
 *
 * The repository sessions (wal_session.c) stay open across files and are
 * reopened when the safebackup.* settings change or after a network error.
 * A file is reported archived only once it is durable in every configured
 * repository (safebackup.repo_* and each repoN_*: the strict rule, README
 * "Several repositories"): pushed here by sb_wal_push() into each, or
 * pushed ahead by a push worker (worker/wal_push.c) that recorded it in the
 * shared push table for exactly this file and these settings
 * (push_table.h).  The one exception is safebackup.archive_repo_hold: a
 * repository that has failed for longer falls behind, and while it is
 * behind each file is recorded as missed by it (durably, before the file
 * is reported archived) instead of pushed into it; the catch-up worker
 * copies them later (repo_behind.h).  A file still has to be durable in
 * at least one repository.
 *
 * No ERROR may escape the callback (on 15 and 16 it would kill the
 * archiver without counting a failure), so failures are logged as WARNING
 * with a hint and the callback returns false: the file stays in pg_wal and
 * is retried.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/xlog_internal.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "push_table.h"
#include "repo_behind.h"
#include "report.h"
#include "shmem.h"
#include "wal_session.h"

#define RETRY_HINT "The file stays in pg_wal and archiving will be retried."

/*
 * Count the file archived.  When the launcher has warned about the archive
 * lag, wake it so that it sees at once whether the lag is back below the
 * threshold (backend/archive_lag.c measures it from these times).
 */
static void
record_success(const char *file, const SbWalPushResult *res)
{
	TimestampTz now = GetCurrentTimestamp();
	Latch	   *wake = NULL;

	if (sb_shared == NULL)
		return;
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	strlcpy(sb_shared->last_archived_wal, file, SB_WALNAME_LEN);
	sb_shared->last_archived_time = now;
	if (IsXLogFileName(file))
	{
		strlcpy(sb_shared->last_archived_segment, file, SB_WALNAME_LEN);
		sb_shared->last_archived_segment_time = now;
	}
	sb_shared->archived_count++;
	if (!res->already_stored)
	{
		sb_shared->archived_bytes += res->store.plain_size;
		sb_shared->stored_bytes += res->store.stored_size;
	}
	if (sb_shared->archive_lag_warned)
		wake = sb_shared->launcher_latch;
	LWLockRelease(sb_shared->lock);
	if (wake != NULL)
		SetLatch(wake);
}

static void
record_failure(const char *file, const char *message)
{
	if (sb_shared == NULL)
		return;
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	strlcpy(sb_shared->last_failed_wal, file, SB_WALNAME_LEN);
	strlcpy(sb_shared->last_error, message, SB_LAST_ERROR_LEN);
	sb_shared->last_error_time = GetCurrentTimestamp();
	sb_shared->failed_count++;
	LWLockRelease(sb_shared->lock);
}

static bool
fail(const char *file, const SbWalRepos *repos, int failed, SbError *err)
{
	char		context[MAXPGPATH + 64];

	if (repos->n > 1)
		snprintf(context, sizeof(context),
				 "could not archive WAL file \"%s\" to repository %d", file, failed);
	else
		snprintf(context, sizeof(context), "could not archive WAL file \"%s\"", file);
	sb_report(WARNING, err, context, RETRY_HINT);
	record_failure(file, err->msg);
	return false;
}

/* Wake the launcher: it starts the catch-up worker (worker/wal_catchup.c). */
static void
wake_launcher(void)
{
	Latch	   *latch;

	LWLockAcquire(sb_shared->lock, LW_SHARED);
	latch = sb_shared->launcher_latch;
	LWLockRelease(sb_shared->lock);
	if (latch != NULL)
		SetLatch(latch);
}

static void
log_falling_behind(const char *file, int repo, const SbError *err)
{
	long		seconds = 0;

	(void) sb_behind_hold_expired(repo, &seconds);
	ereport(WARNING,
			(errcode(sb_errcode(err->status)),
			 errmsg("repository %d fell behind: WAL file \"%s\" is archived without it",
					repo, file),
			 errdetail_plural("It has failed for %ld second (safebackup.archive_repo_hold is %d s): %s",
							  "It has failed for %ld seconds (safebackup.archive_repo_hold is %d s): %s",
							  seconds, seconds, sb_archive_repo_hold, err->msg),
			 errhint("The WAL files it misses are recorded in %s/repo%d.missed and copied into it once it works again; see safebackup.archive_repositories.",
					 SB_BEHIND_DIR, repo)));
}

/*
 * Record file as missed by each repository in "mask" (those that were
 * behind, and those that fall behind now) before it is reported archived.
 * A repository that has caught up since it was seen behind gets the file
 * pushed instead.  False when that failed or a record could not be written.
 */
static bool
record_missed(const char *file, const char *path, const SbWalRepos *all,
			  int was_behind, int mask)
{
	for (int k = 0; k < all->n; k++)
	{
		int			r = all->index[k];
		bool		caught_up;
		const char *what;
		SbWalPushResult res;
		SbError		err;

		if (!(mask & (1 << (r - 1))))
			continue;
		if (!sb_behind_record(r, file, (was_behind & (1 << (r - 1))) != 0,
							  &caught_up, &what))
		{
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not record WAL file \"%s\" as missed by repository %d in \"%s\": %m",
							file, r, what),
					 errhint(RETRY_HINT)));
			record_failure(file, "could not record a WAL file missed by a repository");
			return false;
		}
		if (!caught_up)
			continue;
		sb_error_clear(&err);
		if (sb_wal_session_push_to(r, &all->cfg[k], file, path, &res, &err) != SB_OK)
			return fail(file, all, r, &err);
	}
	return true;
}

static bool
archive_one(const char *file, const char *path)
{
	/* static: four repositories' settings and errors */
	static SbWalRepos all;
	static SbWalRepos repos;
	static SbError errs[SB_REPO_MAX];
	SbWalPushResult res;
	SbWalPushResult other;
	int			behind;			/* configured repositories that are behind */
	int			falling = 0;	/* failing past the hold: fall behind now */
	int			stored = 0;
	int			holding = -1;	/* the first failure that holds archiving */
	int			first_failure = -1;

	sb_wal_repos_load(&all);
	sb_wal_repos_current(&all, &repos, &behind);

	/* pushed ahead by a worker into every current repository: durable */
	if (sb_push_archiver_take(file, path, sb_wal_repos_hash(&repos)))
	{
		ereport(DEBUG1,
				(errmsg_internal("WAL file \"%s\" was pushed ahead by a push worker", file)));
		if (behind != 0 && !record_missed(file, path, &all, behind, behind))
			return false;
		memset(&res, 0, sizeof(res));
		res.already_stored = true;	/* its bytes were counted by the worker */
		record_success(file, &res);
		return true;
	}

	for (int k = 0; k < repos.n; k++)
	{
		long		seconds;

		sb_error_clear(&errs[k]);
		if (sb_wal_session_push_to(repos.index[k], &repos.cfg[k], file, path,
								   stored == 0 ? &res : &other, &errs[k]) == SB_OK)
		{
			stored++;
			continue;
		}
		if (first_failure < 0)
			first_failure = k;
		/* a repository may fall behind only while another one has the file */
		if (sb_behind_hold_expired(repos.index[k], &seconds))
			falling |= 1 << (repos.index[k] - 1);
		else if (holding < 0)
			holding = k;
	}
	if (stored == 0 || holding >= 0)
	{
		int			k = holding >= 0 ? holding : first_failure;

		return fail(file, &all, repos.index[k], &errs[k]);
	}

	if (behind | falling)
	{
		if (!record_missed(file, path, &all, behind, behind | falling))
			return false;
		for (int k = 0; k < repos.n; k++)
			if (falling & (1 << (repos.index[k] - 1)))
				log_falling_behind(file, repos.index[k], &errs[k]);
		if (falling)
			wake_launcher();
	}

	if (res.already_stored)
		ereport(LOG,
				(errmsg("WAL file \"%s\" was already in the repository with identical content",
						file)));
	else
		ereport(DEBUG1,
				(errmsg_internal("archived WAL file \"%s\" (%llu bytes stored)",
								 file, (unsigned long long) res.store.stored_size)));
	record_success(file, &res);
	return true;
}

bool
sb_archive_file(const char *file, const char *path)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = false;
	char		context[MAXPGPATH + 64];

	PG_TRY();
	{
		ok = archive_one(file, path);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* keep what the error said: its code, detail and hint */
		snprintf(context, sizeof(context), "could not archive WAL file \"%s\"", file);
		sb_report_caught(WARNING, edata, context, RETRY_HINT);
		record_failure(file, edata->message);
		FreeErrorData(edata);
		sb_wal_session_close();
		ok = false;
	}
	PG_END_TRY();
	sb_push_archiver_done(file, ok);

	return ok;
}

bool
sb_archive_check_configured(char **detail)
{
	SbRepoConfig cfg;
	SbError		err;

	sb_error_clear(&err);
	sb_guc_repo_config(&cfg);
	if (sb_wal_session_ensure(1, &cfg, &err) == SB_OK)
		return true;

	/*
	 * Settings that are missing or wrong make archiving "not configured".
	 * A repository that cannot be reached right now (network, host key,
	 * authentication) is a failure of each archive attempt instead, so it
	 * is counted in pg_stat_archiver and retried like any other.
	 */
	if (err.status != SB_ERR_CONFIG && err.status != SB_ERR_NOT_FOUND)
		return true;
	*detail = psprintf("The repository is not usable: %s.%s%s%s%s",
					   err.msg,
					   err.detail[0] ? " " : "", err.detail,
					   err.hint[0] ? " " : "", err.hint);
	return false;
}

void
sb_archive_shutdown(void)
{
	sb_wal_session_close();
}
