/*-------------------------------------------------------------------------
 *
 * cmd_archive.c
 *		pg_safebackup archive-get and archive-push.
 *
 * archive-get serves restore_command: it fetches a WAL file, verifies its
 * checksum and writes it atomically.  archive-push stores a WAL file the
 * way the archive module does, for use as archive_command or by hand.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

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
		sb_cli_error("%s needs %d argument%s", opts->command, n, n == 1 ? "" : "s");
		fprintf(stderr, "Usage: %s %s %s [OPTION]...\n", progname, opts->command, usage);
		return SB_EXIT_USAGE;
	}
	if (!sb_cli_require_repo(opts))
		return SB_EXIT_USAGE;
	return SB_EXIT_OK;
}

int
sb_cmd_archive_get(SbCliOptions *opts)
{
	SbStanzaInfo stanza;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	int			exit_code;

	exit_code = check_nargs(opts, 2, "WALNAME DESTPATH");
	if (exit_code != SB_EXIT_OK)
		return exit_code;
	st = sb_cli_open_repository(opts);
	if (st == NULL)
		return SB_EXIT_ERROR;

	sb_error_clear(&err);
	/* checks the stanza's encryption against ours and loads its key */
	rc = sb_stanza_load(st, opts->repo.stanza, &stanza, &err);
	if (rc == SB_OK)
		rc = sb_wal_get(st, opts->repo.stanza, opts->args[0], opts->args[1], &err);
	sb_cli_close_repository(st);
	if (rc == SB_ERR_NOT_FOUND && sb_wal_name_valid(opts->args[0]))
	{
		/* normal at the end of recovery: say it quietly */
		sb_cli_info("WAL file \"%s\" is not in the repository", opts->args[0]);
		return SB_EXIT_NOT_FOUND;
	}
	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		return rc == SB_ERR_CONFIG ? SB_EXIT_USAGE : SB_EXIT_ERROR;
	}
	return SB_EXIT_OK;
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
