/*-------------------------------------------------------------------------
 *
 * cmd_verify.c
 *		pg_safebackup verify: re-read every backup (or the one given with
 *		--backup) and its WAL from the repository and report each backup,
 *		as text or JSON; exit 1 when any backup has a problem.  The checks
 *		are in core/verify.h.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "temp_leftovers.h"
#include "stanza.h"
#include "storage.h"
#include "verify.h"

typedef struct Printer
{
	SbCliOptions *opts;
	int			n;
} Printer;

static void
print_text(const SbVerifyBackup *b, void *arg)
{
	char		size[32];

	sb_cli_format_size(b->bytes_checked, size, sizeof(size));
	if (b->ok)
		printf("%s: ok (%d files, %s; WAL %s to %s, %d segments)\n",
			   b->label, b->files_checked, size, b->wal_first, b->wal_last,
			   b->wal_checked);
	else
	{
		printf(b->nproblems == 1 ? "%s: error (%d problem)\n" :
			   "%s: error (%d problems)\n", b->label, b->nproblems);
		for (int i = 0; i < b->nlisted; i++)
			printf("    %s\n", b->problems[i]);
		if (b->nproblems > b->nlisted)
			printf("    ... and %d more\n", b->nproblems - b->nlisted);
	}
	fflush(stdout);
}

static void
print_json(const SbVerifyBackup *b, void *arg)
{
	Printer    *p = arg;

	fputs(p->n++ == 0 ? "\n    {\n" : ",\n    {\n", stdout);
	json_key("      ", "label", true);
	json_string(b->label);
	json_key("      ", "status", false);
	json_string(b->ok ? "ok" : "error");
	json_key("      ", "files_checked", false);
	printf("%d", b->files_checked);
	json_key("      ", "bytes_checked", false);
	printf("%" PRIu64, b->bytes_checked);
	json_key("      ", "wal_first", false);
	json_string(b->wal_first);
	json_key("      ", "wal_last", false);
	json_string(b->wal_last);
	json_key("      ", "wal_checked", false);
	printf("%d", b->wal_checked);
	json_key("      ", "problem_count", false);
	printf("%d", b->nproblems);
	json_key("      ", "problems", false);
	fputs("[", stdout);
	for (int i = 0; i < b->nlisted; i++)
	{
		fputs(i == 0 ? "\n        " : ",\n        ", stdout);
		json_string(b->problems[i]);
	}
	fputs(b->nlisted > 0 ? "\n      ]\n    }" : "]\n    }", stdout);
}

int
sb_cmd_verify(SbCliOptions *opts)
{
	SbStorage  *st;
	SbStanzaInfo stanza;
	SbVerifyOptions o;
	Printer		printer;
	SbError		err;
	SbStatus	rc;
	int			nchecked = 0;
	int			nbad = 0;
	SbTempLeftovers temp = {0};
	bool		json = opts->output == SB_OUTPUT_JSON;
	bool		opened = false;

	if (opts->nargs != 0)
	{
		sb_cli_error("verify takes no argument (found \"%s\")", opts->args[0]);
		fprintf(stderr, "Usage: %s verify [--backup=LABEL] [--output=text|json] [OPTION]...\n", progname);
		return SB_EXIT_USAGE;
	}
	if (!sb_cli_require_repo(opts))
		return SB_EXIT_USAGE;
	st = sb_cli_open_repository(opts);
	if (st == NULL)
		return SB_EXIT_ERROR;

	memset(&o, 0, sizeof(o));
	memset(&printer, 0, sizeof(printer));
	printer.opts = opts;
	o.stanza = opts->repo.stanza;
	o.label = opts->backup_label;
	o.report = json ? print_json : print_text;
	o.report_arg = &printer;

	sb_error_clear(&err);
	rc = sb_stanza_load(st, opts->repo.stanza, &stanza, &err);
	if (rc == SB_ERR_NOT_FOUND)
		sb_error_hint(&err, "Check --stanza and --repo-path.");
	if (rc == SB_OK && json)
	{
		opened = true;
		fputs("{\n", stdout);
		json_key("  ", "stanza", true);
		json_string(opts->repo.stanza);
		json_key("  ", "backups", false);
		fputs("[", stdout);
	}
	if (rc == SB_OK)
		rc = sb_verify(st, &o, &nchecked, &nbad, &err);
	if (rc == SB_OK)
		rc = sb_temp_leftovers_scan(st, opts->repo.stanza, (int64_t) time(NULL),
								SB_TEMP_SAFE_AGE_S, false, &temp, &err);
	sb_cli_close_repository(st);
	if (opened)
	{
		/* a whole document even when verify could not finish */
		fputs(printer.n > 0 ? "\n  ]" : "]", stdout);
		if (rc == SB_OK)
		{
			json_key("  ", "temporary_files", false);
			printf("%d", temp.found);
		}
		json_key("  ", "status", false);
		json_string(rc != SB_OK ? "failed" : nbad > 0 ? "error" : "ok");
		fputs("\n}\n", stdout);
	}
	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		return sb_cli_exit_code(rc);
	}
	if (!json)
	{
		if (nchecked == 0)
			printf("no backups to verify\n");
		else if (nbad > 0)
			sb_cli_info(nbad == 1 ? "%d of %d backups has problems" :
						"%d of %d backups have problems", nbad, nchecked);
		sb_cli_print_temp_files(&temp);
	}
	return nbad > 0 ? SB_EXIT_ERROR : SB_EXIT_OK;
}
