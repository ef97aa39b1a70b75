/*-------------------------------------------------------------------------
 *
 * wal_session.c
 *		This process's repository sessions for pushing WAL files, one per
 *		repository (see wal_session.h).
 *
 * Each session stays open across files and is reopened when its
 * repository's settings change or after a network or I/O error.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/xlog.h"
#include "common/hashfn.h"

#include "stanza.h"
#include "storage.h"
#include "storage_wait.h"
#include "guc.h"
#include "repo_behind.h"
#include "shmem.h"
#include "wal_session.h"

/* Repository r's session is sessions[r - 1] */
static SbStorage *sessions[SB_REPO_MAX];
static SbRepoConfig session_cfgs[SB_REPO_MAX];
static bool stanza_checked[SB_REPO_MAX];

void
sb_wal_repos_load(SbWalRepos *repos)
{
	repos->n = 0;
	for (int r = 1; r <= SB_REPO_MAX; r++)
		if (sb_guc_repo_config_n(r, &repos->cfg[repos->n]))
			repos->index[repos->n++] = r;
}

void
sb_wal_repos_without(const SbWalRepos *all, int mask, SbWalRepos *out)
{
	out->n = 0;
	for (int k = 0; k < all->n; k++)
	{
		if (mask & (1 << (all->index[k] - 1)))
			continue;
		out->index[out->n] = all->index[k];
		out->cfg[out->n++] = all->cfg[k];
	}
}

void
sb_wal_repos_current(const SbWalRepos *all, SbWalRepos *cur, int *mask)
{
	*mask = sb_behind_mask();
	sb_wal_repos_without(all, *mask, cur);
	if (cur->n == 0)
	{
		/* never none: every configured one is behind (settings changed) */
		*cur = *all;
		*mask = 0;
	}
	for (int r = 1; r <= SB_REPO_MAX; r++)
	{
		bool		configured = false;

		for (int k = 0; k < all->n; k++)
			configured |= (all->index[k] == r);
		if (!configured)
			*mask &= ~(1 << (r - 1));
	}
}

uint64_t
sb_wal_repos_hash(const SbWalRepos *repos)
{
	uint64		hash = 0;

	/* sb_guc_repo_config_n() zero-pads each: its bytes are its value */
	for (int k = 0; k < repos->n; k++)
		hash = hash_bytes_extended((const unsigned char *) &repos->cfg[k],
								   sizeof(repos->cfg[k]), hash + repos->index[k]);
	return hash;
}

static void
close_one(int r)
{
	if (sessions[r - 1] != NULL)
	{
		sb_storage_close(sessions[r - 1]);
		sb_storage_free(sessions[r - 1]);
		sessions[r - 1] = NULL;
	}
	stanza_checked[r - 1] = false;
}

void
sb_wal_session_close(void)
{
	for (int r = 1; r <= SB_REPO_MAX; r++)
		close_one(r);
}

SbStatus
sb_wal_session_ensure(int repo, const SbRepoConfig *cfg, SbError *err)
{
	SbStorage **session = &sessions[repo - 1];
	SbStatus	rc;

	if (*session != NULL && memcmp(cfg, &session_cfgs[repo - 1], sizeof(*cfg)) == 0)
		return SB_OK;
	close_one(repo);

	if (cfg->repo_path[0] == '\0')
	{
		if (repo == 1)
		{
			sb_error_set(err, SB_ERR_CONFIG, "safebackup.repo_path is not set");
			sb_error_hint(err, "Set safebackup.repo_path to the repository directory and reload the configuration.");
		}
		else
		{
			sb_error_set(err, SB_ERR_CONFIG, "safebackup.repo%d_path is not set", repo);
			sb_error_hint(err, "Set safebackup.repo%d_path to the repository directory and reload the configuration.", repo);
		}
		return SB_ERR_CONFIG;
	}
	rc = sb_backend_storage_create(cfg, session, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_storage_open(*session, err);
	if (rc != SB_OK)
	{
		sb_storage_free(*session);
		*session = NULL;
		return rc;
	}
	session_cfgs[repo - 1] = *cfg;
	if (repo == 1)
		sb_status_note_repo_mode((int) sb_storage_mode(*session));
	return SB_OK;
}

/* Open repository "repo" and check its stanza once per session. */
static SbStatus
ensure_stanza(int repo, const SbRepoConfig *cfg, SbError *err)
{
	SbStatus	rc;

	rc = sb_wal_session_ensure(repo, cfg, err);
	if (rc != SB_OK)
		return rc;

	if (!stanza_checked[repo - 1])
	{
		SbStanzaInfo mine;

		mine.format_version = SB_REPO_FORMAT_VERSION;
		mine.system_identifier = GetSystemIdentifier();
		mine.pg_version = PG_VERSION_NUM / 10000;
		rc = sb_stanza_ensure(sessions[repo - 1], cfg->stanza, &mine, err);
		if (rc != SB_OK)
			return rc;
		stanza_checked[repo - 1] = true;
	}
	return SB_OK;
}

SbStatus
sb_wal_session_push_to(int repo, const SbRepoConfig *cfg, const char *file,
					   const char *path, SbWalPushResult *res, SbError *err)
{
	SbStatus	rc;

	rc = ensure_stanza(repo, cfg, err);
	if (rc == SB_OK)
		rc = sb_wal_push(sessions[repo - 1], cfg, file, path, res, err);
	/* a broken connection is reopened on the next attempt */
	if (rc == SB_ERR_NETWORK || rc == SB_ERR_IO)
		close_one(repo);
	/* safebackup.archive_repo_hold counts from the first failure in a row */
	sb_behind_note_push(repo, rc == SB_OK);
	return rc;
}

SbStatus
sb_wal_session_fetch(int repo, const SbRepoConfig *cfg, const char *file,
					 const char *path, SbError *err)
{
	SbStatus	rc;

	/* the stanza check: never copy another cluster's WAL */
	rc = ensure_stanza(repo, cfg, err);
	if (rc == SB_OK)
		rc = sb_wal_get(sessions[repo - 1], cfg->stanza, file, path, err);
	if (rc == SB_ERR_NETWORK || rc == SB_ERR_IO)
		close_one(repo);
	return rc;
}

SbStatus
sb_wal_session_push(const SbWalRepos *repos, const char *file,
					const char *path, SbWalPushResult *res, int *failed,
					SbError *err)
{
	for (int k = 0; k < repos->n; k++)
	{
		SbWalPushResult other;
		SbStatus	rc;

		rc = sb_wal_session_push_to(repos->index[k], &repos->cfg[k], file,
									path, k == 0 ? res : &other, err);
		if (rc != SB_OK)
		{
			*failed = repos->index[k];
			return rc;
		}
	}
	return SB_OK;
}
