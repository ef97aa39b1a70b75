/*-------------------------------------------------------------------------
 *
 * archive.c
 *		The archive module: ship each completed WAL file to the repository
 *		from inside the archiver process.
 *
 * The repository session stays open across files and is reopened when the
 * safebackup.* settings change or after a network error.  A file is
 * reported archived only once sb_wal_push() has made it durable.  No ERROR
 * may escape the callback (on 15 and 16 it would kill the archiver without
 * counting a failure), so failures are logged as WARNING with a hint and
 * the callback returns false: the file stays in pg_wal and is retried.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/xlog.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "report.h"
#include "shmem.h"
#include "stanza.h"
#include "storage.h"
#include "storage_wait.h"
#include "wal.h"

#define RETRY_HINT "The file stays in pg_wal and archiving will be retried."

static SbStorage *session = NULL;
static SbRepoConfig session_cfg;
static bool stanza_checked = false;

static void
close_session(void)
{
	if (session != NULL)
	{
		sb_storage_close(session);
		sb_storage_free(session);
		session = NULL;
	}
	stanza_checked = false;
}

/*
 * Open the repository with the settings in force, reusing the open session
 * when they have not changed.
 */
static SbStatus
ensure_session(const SbRepoConfig *cfg, SbError *err)
{
	SbStatus	rc;

	if (session != NULL && memcmp(cfg, &session_cfg, sizeof(*cfg)) == 0)
		return SB_OK;
	close_session();

	if (cfg->repo_path[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "safebackup.repo_path is not set");
		sb_error_hint(err, "Set safebackup.repo_path to the repository directory and reload the configuration.");
		return SB_ERR_CONFIG;
	}
	rc = sb_backend_storage_create(cfg, &session, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_storage_open(session, err);
	if (rc != SB_OK)
	{
		sb_storage_free(session);
		session = NULL;
		return rc;
	}
	session_cfg = *cfg;
	return SB_OK;
}

static void
record_success(const char *file, const SbWalPushResult *res)
{
	if (sb_shared == NULL)
		return;
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	strlcpy(sb_shared->last_archived_wal, file, SB_WALNAME_LEN);
	sb_shared->last_archived_time = GetCurrentTimestamp();
	sb_shared->archived_count++;
	if (!res->already_stored)
	{
		sb_shared->archived_bytes += res->store.plain_size;
		sb_shared->stored_bytes += res->store.stored_size;
	}
	LWLockRelease(sb_shared->lock);
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
	/* a broken connection is reopened on the next attempt */
	if (err->status == SB_ERR_NETWORK || err->status == SB_ERR_IO)
		close_session();
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
	if (ensure_session(&cfg, &err) != SB_OK)
		return fail(file, &err);

	if (!stanza_checked)
	{
		SbStanzaInfo mine;

		mine.format_version = SB_REPO_FORMAT_VERSION;
		mine.system_identifier = GetSystemIdentifier();
		mine.pg_version = PG_VERSION_NUM / 10000;
		if (sb_stanza_ensure(session, cfg.stanza, &mine, &err) != SB_OK)
			return fail(file, &err);
		stanza_checked = true;
	}

	if (sb_wal_push(session, &cfg, file, path, &res, &err) != SB_OK)
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
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("could not archive WAL file \"%s\": %s", file, edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s  " RETRY_HINT, edata->hint) : errhint(RETRY_HINT)));
		record_failure(file, edata->message);
		FreeErrorData(edata);
		close_session();
		ok = false;
	}
	PG_END_TRY();

	return ok;
}

bool
sb_archive_check_configured(char **detail)
{
	SbRepoConfig cfg;
	SbError		err;

	sb_error_clear(&err);
	sb_guc_repo_config(&cfg);
	if (ensure_session(&cfg, &err) == SB_OK)
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
	close_session();
}
