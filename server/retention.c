/*-------------------------------------------------------------------------
 *
 * retention.c
 *		Server-side retention: the repository server applies retention_full
 *		itself ([retention] in its configuration), so that database hosts
 *		need no right to remove anything (README "Append-only repositories").
 *
 * Expire runs after each completed backup (the commit of a backup's
 * manifest, seen by the connection process) and every retention_interval
 * seconds for every stanza with a retention.  It runs in a detached
 * process (double fork: nobody has to reap it, and the connection goes on
 * at once) through the posix driver rooted at the repository root, with
 * core/expire.c: the same rules as "pg_safebackup expire".  The server
 * cannot know which backup is running, so it spares incomplete backup
 * directories newer than the newest complete backup, as the CLI does.  Two
 * expires of one stanza never overlap: each holds flock() on the stanza's
 * directory.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expire.h"
#include "server.h"
#include "stanza.h"
#include "storage.h"

/* retention_full of stanza, -1 when the server applies none to it */
int
srv_retention_for(const SrvConfig *cfg, const char *stanza)
{
	int			all = -1;

	for (int i = 0; i < cfg->nretention; i++)
	{
		if (strcmp(cfg->retention[i].stanza, stanza) == 0)
			return cfg->retention[i].retention_full;
		if (strcmp(cfg->retention[i].stanza, "*") == 0)
			all = cfg->retention[i].retention_full;
	}
	return all;
}

/* "<stanza>/backup/<label>/backup.manifest" */
bool
srv_retention_is_backup_commit(const char *path, char *stanza, size_t size)
{
	const char *slash = strchr(path, '/');
	const char *label;
	const char *rest;
	size_t		len;

	if (slash == NULL || strncmp(slash, "/backup/", 8) != 0)
		return false;
	label = slash + 8;
	rest = strchr(label, '/');
	if (rest == NULL || strcmp(rest, "/backup.manifest") != 0)
		return false;
	len = (size_t) (slash - path);
	if (len >= size)
		return false;
	memcpy(stanza, path, len);
	stanza[len] = '\0';
	return true;
}

static void
log_result(const char *stanza, int keep, const SbExpireResult *res,
		   const char *why)
{
	srv_log(SRV_LOG_INFO, "retention of stanza \"%s\" (%s): retention_full %d, %d backups kept, %d removed, %d incomplete removed, %" PRIu64 " WAL files removed%s%s",
			stanza, why, keep, res->backups_kept, res->nexpired,
			res->nleftovers, res->wal_removed,
			res->wal_keep_from[0] ? ", WAL kept from " : "",
			res->wal_keep_from);
	for (int i = 0; i < res->nexpired; i++)
		srv_log(SRV_LOG_INFO, "retention of stanza \"%s\": removed backup %s",
				stanza, res->expired[i]);
	if (res->temp.removed > 0)
		srv_log(SRV_LOG_INFO, "retention of stanza \"%s\": removed %d temporary files left by interrupted writes",
				stanza, res->temp.removed);
}

/* Expire one stanza now, in this process. */
static void
run_expire(const SrvConfig *cfg, const char *stanza, int keep, const char *why)
{
	SbRepoConfig rcfg;
	SbStorage  *st = NULL;
	SbStanzaInfo info;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;
	SbStatus	rc;
	char		dir[SB_PATH_MAX * 2];
	int			lock;

	snprintf(dir, sizeof(dir), "%s/%s", cfg->repo_path, stanza);
	lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0)
	{
		srv_log(SRV_LOG_WARNING, "retention of stanza \"%s\": could not open its directory: %s",
				stanza, strerror(errno));
		return;
	}
	/* one expire per stanza at a time; the next one waits its turn */
	while (flock(lock, LOCK_EX) != 0 && errno == EINTR)
		;

	sb_config_init(&rcfg);
	rcfg.repo_type = SB_REPO_POSIX;
	snprintf(rcfg.repo_path, sizeof(rcfg.repo_path), "%s", cfg->repo_path);
	snprintf(rcfg.stanza, sizeof(rcfg.stanza), "%s", stanza);
	memset(&res, 0, sizeof(res));
	sb_error_clear(&err);
	rc = sb_storage_create(&rcfg, &st, &err);
	if (rc == SB_OK)
		rc = sb_storage_open(st, &err);
	if (rc == SB_OK)
		rc = sb_stanza_load(st, stanza, &info, &err);
	if (rc == SB_OK)
	{
		memset(&o, 0, sizeof(o));
		o.stanza = stanza;
		o.retention_full = keep;
		o.running_unknown = true;
		if (cfg->retention_min_days > 0)
			o.keep_newer_than = (int64_t) time(NULL) -
				(int64_t) cfg->retention_min_days * 86400;
		rc = sb_expire(st, &o, &res, &err);
	}
	if (rc == SB_OK)
		log_result(stanza, keep, &res, why);
	else
		srv_log(SRV_LOG_WARNING, "retention of stanza \"%s\" (%s) failed: %s%s%s",
				stanza, why, err.msg, err.detail[0] ? ": " : "", err.detail);
	sb_expire_result_free(&res);
	if (st != NULL)
	{
		sb_storage_close(st);
		sb_storage_free(st);
	}
	close(lock);
}

void
srv_retention_spawn(const SrvConfig *cfg, const char *stanza, const char *why)
{
	int			keep = srv_retention_for(cfg, stanza);
	pid_t		pid;
	int			status;

	if (keep < 0)
		return;
	pid = fork();
	if (pid < 0)
	{
		srv_log(SRV_LOG_WARNING, "retention of stanza \"%s\": could not fork: %s",
				stanza, strerror(errno));
		return;
	}
	if (pid > 0)
	{
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}

	/* the intermediate child: leave at once, so that init adopts ours */
	if (fork() != 0)
		_exit(0);

	/* hold no socket or pipe of the server's: connections must close */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != srv_log_fd())
			close(fd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	(void) prctl(PR_SET_PDEATHSIG, 0);
	run_expire(cfg, stanza, keep, why);
	_exit(0);
}

/* The stanzas under the repository root to which a retention applies. */
void
srv_retention_tick(const SrvConfig *cfg)
{
	static time_t last = 0;
	time_t		now = time(NULL);
	DIR		   *d;
	struct dirent *de;

	if (cfg->retention_interval == 0 || cfg->nretention == 0)
		return;
	if (last != 0 && now - last < cfg->retention_interval)
		return;
	last = now;
	d = opendir(cfg->repo_path);
	if (d == NULL)
	{
		srv_log(SRV_LOG_WARNING, "retention: could not list repository \"%s\": %s",
				cfg->repo_path, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL)
	{
		if (!sb_stanza_name_valid(de->d_name) ||
			srv_retention_for(cfg, de->d_name) < 0)
			continue;
		srv_retention_spawn(cfg, de->d_name, "timer");
	}
	closedir(d);
}
