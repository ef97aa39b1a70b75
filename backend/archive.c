/*-------------------------------------------------------------------------
 *
 * archive.c
 *		The archive module: ship each completed WAL file to the repository
 *		from inside the archiver process.
 *
 * The repository session (wal_session.c) stays open across files and is
 * reopened when the safebackup.* settings change or after a network error.
 * A file is reported archived only once it is durable: pushed here by
 * sb_wal_push(), or pushed ahead by a push worker (worker/wal_push.c) that
 * recorded it in the shared push table for exactly this file and these
 * settings (push_table.h).
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
fail(const char *file, SbError *err)
{
	char		context[MAXPGPATH + 64];

	snprintf(context, sizeof(context), "could not archive WAL file \"%s\"", file);
	sb_report(WARNING, err, context, RETRY_HINT);
	record_failure(file, err->msg);
	return false;
}

static bool
archive_one(const char *file, const char *path)
{
	SbRepoConfig cfg;
	SbWalPushResult res;
	SbError		err;

	sb_error_clear(&err);
	sb_guc_repo_config(&cfg);

	/* pushed ahead by a worker: already durable */
	if (sb_push_archiver_take(file, path, &cfg))
	{
		ereport(DEBUG1,
				(errmsg_internal("WAL file \"%s\" was pushed ahead by a push worker", file)));
		memset(&res, 0, sizeof(res));
		res.already_stored = true;	/* its bytes were counted by the worker */
		record_success(file, &res);
		return true;
	}

	if (sb_wal_session_push(&cfg, file, path, &res, &err) != SB_OK)
		return fail(file, &err);

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
	if (sb_wal_session_ensure(&cfg, &err) == SB_OK)
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
