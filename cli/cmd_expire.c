/*-------------------------------------------------------------------------
 *
 * cmd_expire.c
 *		pg_safebackup expire: apply --retention-full to the repository (the
 *		rules are in core/expire.h) and say what was removed.
 *
 * The program cannot see which backup a server is running, so it spares
 * every incomplete backup directory newer than the newest complete backup
 * (a backup in progress is always the newest); older ones are leftovers of
 * interrupted backups and are removed.  The server's own expire (after each
 * backup, safebackup_expire()) knows the running backup and spares only it.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "expire.h"
#include "stanza.h"
#include "storage.h"

int
sb_cmd_expire(SbCliOptions *opts)
{
	SbStorage  *st;
	SbStanzaInfo stanza;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;
	SbStatus	rc;
	const char *verb = opts->dry_run ? "would remove" : "removed";

	if (opts->nargs != 0)
	{
		sb_cli_error("expire takes no argument (found \"%s\")", opts->args[0]);
		fprintf(stderr, "Usage: %s expire --retention-full=N [--dry-run] [OPTION]...\n", progname);
		return SB_EXIT_USAGE;
	}
	if (!sb_cli_require_repo(opts))
		return SB_EXIT_USAGE;
	st = sb_cli_open_repository(opts);
	if (st == NULL)
		return SB_EXIT_ERROR;

	memset(&o, 0, sizeof(o));
	o.stanza = opts->repo.stanza;
	o.retention_full = opts->repo.retention_full;
	o.running_unknown = true;
	o.dry_run = opts->dry_run;
	sb_error_clear(&err);
	memset(&res, 0, sizeof(res));
	rc = sb_stanza_load(st, opts->repo.stanza, &stanza, &err);
	if (rc == SB_ERR_NOT_FOUND)
		sb_error_hint(&err, "Check --stanza and --repo-path.");
	if (rc == SB_OK)
		rc = sb_expire(st, &o, &res, &err);
	sb_cli_close_repository(st);
	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		sb_expire_result_free(&res);
		return sb_cli_exit_code(rc);
	}

	if (o.retention_full == 0)
		sb_cli_info("retention_full is 0: every backup and all WAL are kept (set --retention-full or retention_full in the --config file)");
	printf(res.backups_kept == 1 ?
		   "stanza %s: retention %d full backups, %d backup kept%s\n" :
		   "stanza %s: retention %d full backups, %d backups kept%s\n",
		   opts->repo.stanza, o.retention_full, res.backups_kept,
		   opts->dry_run ? " (dry run: nothing removed)" : "");
	for (int i = 0; i < res.nexpired; i++)
		printf("    %s backup %s\n", verb, res.expired[i]);
	for (int i = 0; i < res.nleftovers; i++)
		printf("    %s incomplete backup %s\n", verb, res.leftovers[i]);
	if (res.nskipped > 0)
		printf(res.nskipped == 1 ?
			   "    kept %d incomplete backup directory newer than the newest complete backup (a backup may be running)\n" :
			   "    kept %d incomplete backup directories newer than the newest complete backup (a backup may be running)\n",
			   res.nskipped);
	if (res.wal_removed > 0)
		printf(res.wal_removed == 1 ?
			   "    %s %" PRIu64 " WAL file, %s to %s; WAL kept from %s\n" :
			   "    %s %" PRIu64 " WAL files, %s to %s; WAL kept from %s\n",
			   verb, res.wal_removed, res.wal_first, res.wal_last, res.wal_keep_from);
	else if (res.wal_keep_from[0] != '\0')
		printf("    no WAL file to remove; WAL kept from %s\n", res.wal_keep_from);
	if (res.temp.old > 0)
		printf(res.temp.old == 1 ?
			   "    %s %d temporary file left by an interrupted write\n" :
			   "    %s %d temporary files left by interrupted writes\n",
			   verb, opts->dry_run ? res.temp.old : res.temp.removed);
	if (res.temp.young > 0)
		printf(res.temp.young == 1 ?
			   "    kept %d temporary file younger than %d hours (a write may be in progress)\n" :
			   "    kept %d temporary files younger than %d hours (writes may be in progress)\n",
			   res.temp.young, SB_TEMP_SAFE_AGE_S / 3600);
	sb_expire_result_free(&res);
	return SB_EXIT_OK;
}
