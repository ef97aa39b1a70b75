/*-------------------------------------------------------------------------
 *
 * wal_session.c
 *		This process's repository session for pushing WAL files (see
 *		wal_session.h).
 *
 * The session stays open across files and is reopened when the
 * safebackup.* settings change or after a network or I/O error.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/xlog.h"

#include "stanza.h"
#include "storage.h"
#include "storage_wait.h"
#include "shmem.h"
#include "wal_session.h"

static SbStorage *session = NULL;
static SbRepoConfig session_cfg;
static bool stanza_checked = false;

void
sb_wal_session_close(void)
{
	if (session != NULL)
	{
		sb_storage_close(session);
		sb_storage_free(session);
		session = NULL;
	}
	stanza_checked = false;
}

SbStatus
sb_wal_session_ensure(const SbRepoConfig *cfg, SbError *err)
{
	SbStatus	rc;

	if (session != NULL && memcmp(cfg, &session_cfg, sizeof(*cfg)) == 0)
		return SB_OK;
	sb_wal_session_close();

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
	sb_status_note_repo_mode((int) sb_storage_mode(session));
	return SB_OK;
}

static SbStatus
push(const SbRepoConfig *cfg, const char *file, const char *path,
	 SbWalPushResult *res, SbError *err)
{
	SbStatus	rc;

	rc = sb_wal_session_ensure(cfg, err);
	if (rc != SB_OK)
		return rc;

	if (!stanza_checked)
	{
		SbStanzaInfo mine;

		mine.format_version = SB_REPO_FORMAT_VERSION;
		mine.system_identifier = GetSystemIdentifier();
		mine.pg_version = PG_VERSION_NUM / 10000;
		rc = sb_stanza_ensure(session, cfg->stanza, &mine, err);
		if (rc != SB_OK)
			return rc;
		stanza_checked = true;
	}

	return sb_wal_push(session, cfg, file, path, res, err);
}

SbStatus
sb_wal_session_push(const SbRepoConfig *cfg, const char *file,
					const char *path, SbWalPushResult *res, SbError *err)
{
	SbStatus	rc = push(cfg, file, path, res, err);

	/* a broken connection is reopened on the next attempt */
	if (rc == SB_ERR_NETWORK || rc == SB_ERR_IO)
		sb_wal_session_close();
	return rc;
}
