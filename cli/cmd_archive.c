/*-------------------------------------------------------------------------
 *
 * cmd_archive.c
 *		pg_safebackup archive-get and archive-push.
 *
 * archive-get serves restore_command: it fetches a WAL file, verifies its
 * checksum and writes it atomically.  Its exit code tells PostgreSQL what
 * happened: 0 fetched, 3 not in the archive (the normal end of recovery),
 * above 125 anything else (recovery stops instead of ending early).  archive-push stores a WAL file the
 * way the archive module does, for use as archive_command or by hand.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "stanza.h"
#include "storage.h"
#include "wal.h"

static int
check_nargs(SbCliOptions *opts, int n, const char *usage)
{
	if (opts->nargs != n)
	{
		if (n == 1)
			sb_cli_error("%s needs %d argument", opts->command, n);
		else
			sb_cli_error("%s needs %d arguments", opts->command, n);
		fprintf(stderr, "Usage: %s %s %s [OPTION]...\n", progname, opts->command, usage);
		return SB_EXIT_USAGE;
	}
	if (!sb_cli_require_repo(opts))
		return SB_EXIT_USAGE;
	return SB_EXIT_OK;
}

/*
 * Is the data directory PostgreSQL runs restore_command in a standby?
 * restore_command runs with the data directory as its working directory;
 * --pgdata names it otherwise.
 */
static bool
in_standby(const char *pgdata)
{
	char		path[SB_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/standby.signal", pgdata[0] ? pgdata : ".");
	return access(path, F_OK) == 0;
}

/*
 * The exit code of a failed archive-get.  PostgreSQL takes any exit code up
 * to 125 as "this file is not in the archive": archive recovery would end
 * there and promote, silently short of the data.  So a failure that is not
 * an absent file stops recovery (exit code above 125, which PostgreSQL
 * treats like a crash of the command), except a repository that cannot be
 * reached from a standby: the standby retries, and says why in its log.
 */
static int
failure_exit_code(SbStatus rc, const char *pgdata)
{
	if ((rc == SB_ERR_NETWORK || rc == SB_ERR_IO) && in_standby(pgdata))
		return SB_EXIT_ERROR;
	return SB_EXIT_STOP_RECOVERY;
}

/*
 * The identity of the cluster being recovered, when archive-get runs in (or
 * is given) a data directory: a stanza of another cluster must never feed
 * it WAL.  false when there is no data directory to compare with.
 */
static bool
local_cluster(const char *pgdata, SbStanzaInfo *mine)
{
	char		path[SB_PATH_MAX + 32];
	const char *dir = pgdata[0] ? pgdata : ".";
	SbError		err;

	snprintf(path, sizeof(path), "%s/global/pg_control", dir);
	if (access(path, F_OK) != 0)
		return false;
	sb_error_clear(&err);
	return sb_cluster_read_info(dir, mine, &err) == SB_OK;
}

/*
 * Fetch the file from the repository opts->repo into the destination.
 * *absent: the repository answered that it does not have the file (a
 * repository or stanza that is not found is a failure, not that); hints
 * added to errors.
 */
static SbStatus
get_from_repo(SbCliOptions *opts, bool *absent, SbError *err)
{
	SbStanzaInfo stanza;
	SbStanzaInfo mine;
	SbStorage  *st = NULL;
	SbStatus	rc;

	rc = sb_storage_create(&opts->repo, &st, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_storage_open(st, err);
	if (rc != SB_OK)
	{
		sb_storage_free(st);
		return rc;
	}
	/* the stanza must exist, be readable and be this cluster's */
	if (local_cluster(opts->pgdata, &mine))
		rc = sb_stanza_load_for(st, opts->repo.stanza, &mine, &stanza, err);
	else
		rc = sb_stanza_load(st, opts->repo.stanza, &stanza, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_error_hint(err,
					  "Check the stanza and repository options of restore_command (or the --config file it names): no stanza of that name exists there.");
		rc = SB_ERR_CONFIG;
	}
	else if (rc == SB_ERR_MISMATCH)
		sb_error_hint(err, "restore_command names the stanza of another cluster: correct --stanza (or the --config file it names).");
	if (rc == SB_OK)
	{
		rc = sb_wal_get(st, opts->repo.stanza, opts->args[0], opts->args[1], err);
		*absent = rc == SB_ERR_NOT_FOUND && sb_wal_name_valid(opts->args[0]);
	}
	sb_cli_close_repository(st);
	return rc;
}

/*
 * Each configured repository in order (or the one --repo names): the file
 * comes from the first that has it.  A repository that fails is reported
 * and the next one asked; the file counts as absent only when every
 * repository answered that it does not have it.
 */
int
sb_cmd_archive_get(SbCliOptions *opts)
{
	SbError		err;
	SbError		first_err;
	SbStatus	first_rc = SB_OK;
	int			nconfigured = 0;
	int			exit_code;

	exit_code = check_nargs(opts, 2, "WALNAME DESTPATH");
	if (exit_code != SB_EXIT_OK)
		return exit_code == SB_EXIT_USAGE ? SB_EXIT_STOP_RECOVERY : exit_code;

	for (int r = 1; r <= SB_REPO_MAX; r++)
		nconfigured += sb_repo_configured(&opts->repos[r - 1], r);
	sb_error_clear(&first_err);
	for (int r = 1; r <= SB_REPO_MAX; r++)
	{
		SbStatus	rc;
		bool		absent = false;

		if (opts->repo_index > 0 ? r != opts->repo_index :
			!sb_repo_configured(&opts->repos[r - 1], r))
			continue;
		if (!sb_cli_select_repo(opts, r))
			return SB_EXIT_STOP_RECOVERY;
		sb_config_default_repo_path(&opts->repo);
		sb_error_clear(&err);
		rc = get_from_repo(opts, &absent, &err);
		if (rc == SB_OK)
		{
			if (nconfigured > 1)
				sb_cli_info("fetched WAL file \"%s\" from repository %d",
							opts->args[0], r);
			return SB_EXIT_OK;
		}
		if (absent)
		{
			if (nconfigured > 1)
				sb_cli_verbose("WAL file \"%s\" is not in repository %d",
							   opts->args[0], r);
			continue;
		}
		if (nconfigured > 1 && opts->repo_index == 0)
			sb_cli_info("could not fetch WAL file \"%s\" from repository %d: %s",
						opts->args[0], r, err.msg);
		if (first_rc == SB_OK)
		{
			first_rc = rc;
			first_err = err;
		}
	}

	if (first_rc == SB_OK)
	{
		/* normal at the end of recovery: say it quietly */
		if (nconfigured > 1 && opts->repo_index == 0)
			sb_cli_info("WAL file \"%s\" is in no repository", opts->args[0]);
		else
			sb_cli_info("WAL file \"%s\" is not in the repository", opts->args[0]);
		return SB_EXIT_NOT_FOUND;
	}
	exit_code = failure_exit_code(first_rc, opts->pgdata);
	/* every failure says what recovery does about it */
	if (first_err.hint[0] == '\0')
		sb_error_hint(&first_err, exit_code == SB_EXIT_STOP_RECOVERY ?
					  "Recovery stops here rather than end early: correct the problem and start the server again." :
					  "The standby retries restore_command until the repository answers.");
	sb_cli_report(&first_err);
	return exit_code;
}

int
sb_cmd_archive_push(SbCliOptions *opts)
{
	SbStorage  *st;
	SbStanzaInfo mine;
	SbWalPushResult res;
	SbError		err;
	const char *walpath;
	const char *walname;
	SbStatus	rc;
	int			exit_code;

	exit_code = check_nargs(opts, 1, "WALPATH");
	if (exit_code != SB_EXIT_OK)
		return exit_code;
	walpath = opts->args[0];
	walname = strrchr(walpath, '/') ? strrchr(walpath, '/') + 1 : walpath;

	sb_error_clear(&err);
	if (sb_cluster_read_info(opts->pgdata, &mine, &err) != SB_OK)
	{
		sb_cli_report(&err);
		return SB_EXIT_ERROR;
	}
	st = sb_cli_open_repository(opts);
	if (st == NULL)
		return SB_EXIT_ERROR;

	rc = sb_stanza_ensure(st, opts->repo.stanza, &mine, &err);
	if (rc == SB_OK)
		rc = sb_wal_push(st, &opts->repo, walname, walpath, &res, &err);
	sb_cli_close_repository(st);
	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		return rc == SB_ERR_CONFIG ? SB_EXIT_USAGE : SB_EXIT_ERROR;
	}
	if (res.already_stored)
		sb_cli_info("WAL file \"%s\" was already in the repository with identical content",
					walname);
	return SB_EXIT_OK;
}
