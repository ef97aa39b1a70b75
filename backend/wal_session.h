/*-------------------------------------------------------------------------
 *
 * wal_session.h
 *		This process's repository sessions for pushing WAL files, one per
 *		repository: used by the archiver (archive.c) and by each push-ahead
 *		worker (worker/wal_push.c), so both push through the same steps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_SESSION_H
#define SB_WAL_SESSION_H

#include "sb_config.h"
#include "sb_error.h"
#include "settings.h"
#include "wal.h"

/*
 * The repositories every WAL file goes to, in order: repository 1 and each
 * configured one of 2 to SB_REPO_MAX (safebackup.repoN_*).
 */
typedef struct SbWalRepos
{
	int			n;
	int			index[SB_REPO_MAX]; /* 1 to SB_REPO_MAX */
	SbRepoConfig cfg[SB_REPO_MAX];
} SbWalRepos;

/* The repositories of the settings in force in this process. */
extern void sb_wal_repos_load(SbWalRepos *repos);

/*
 * The repositories of "all" that are not in mask (bit 1 << (r - 1) for
 * repository r), in the same order.
 */
extern void sb_wal_repos_without(const SbWalRepos *all, int mask,
								 SbWalRepos *out);

/*
 * The repositories of "all" that WAL is pushed into now: those that are
 * not behind (repo_behind.h).  *mask is the configured ones that are
 * behind, the WAL files they miss are recorded instead.  Never none: if
 * every configured repository is behind, all of them, *mask 0.
 */
extern void sb_wal_repos_current(const SbWalRepos *all, SbWalRepos *cur,
								 int *mask);

/* A hash of all their settings (the push table's, push_table.h). */
extern uint64_t sb_wal_repos_hash(const SbWalRepos *repos);

/*
 * Open repository "repo" (1 to SB_REPO_MAX) with the settings cfg, reusing
 * the open session when they have not changed.
 */
extern SbStatus sb_wal_session_ensure(int repo, const SbRepoConfig *cfg,
									  SbError *err);

/*
 * Push the WAL file "file" (local path "path") with sb_wal_push() into
 * each repository of repos in order, after checking the stanza once per
 * session.  On success the file is durable in every one of them; res is
 * repository 1's result.  On failure *failed is the repository that failed
 * (the file may already be in the ones before it: pushing it again is
 * accepted when the content is the same).  A network or I/O error closes
 * that repository's session, so that the next push opens a new one.
 */
extern SbStatus sb_wal_session_push(const SbWalRepos *repos, const char *file,
									const char *path, SbWalPushResult *res,
									int *failed, SbError *err);

/*
 * Push the WAL file "file" (local path "path") into repository "repo"
 * alone, as sb_wal_session_push() does into each; the success or failure
 * starts or stops the repository's failure clock (repo_behind.h).
 */
extern SbStatus sb_wal_session_push_to(int repo, const SbRepoConfig *cfg,
									   const char *file, const char *path,
									   SbWalPushResult *res, SbError *err);

/*
 * Fetch the WAL file "file" from repository "repo" into the local path
 * "path" with sb_wal_get() (decrypted, decompressed, checksum verified).
 */
extern SbStatus sb_wal_session_fetch(int repo, const SbRepoConfig *cfg,
									 const char *file, const char *path,
									 SbError *err);

/* Close every repository's session. */
extern void sb_wal_session_close(void);

#endif							/* SB_WAL_SESSION_H */
