/*-------------------------------------------------------------------------
 *
 * main.c
 *		The pg_safebackup program: dispatch to a command, usage, messages,
 *		and the repository helpers the commands share.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sb_version.h"
#include "storage.h"
#include "temp_leftovers.h"

const char *progname = "pg_safebackup";

typedef struct SbCommand
{
	const char *name;
	int			(*run) (SbCliOptions *opts);
} SbCommand;

static const SbCommand commands[] = {
	{"archive-get", sb_cmd_archive_get},
	{"archive-push", sb_cmd_archive_push},
	{"restore", sb_cmd_restore},
	{"info", sb_cmd_info},
	{"expire", sb_cmd_expire},
	{"verify", sb_cmd_verify},
	{"rekey", sb_cmd_rekey},
	{NULL, NULL}
};

void
sb_cli_report(const SbError *err)
{
	fprintf(stderr, "%s: error: %s\n", progname, err->msg);
	if (err->detail[0])
		fprintf(stderr, "%s: detail: %s\n", progname, err->detail);
	if (err->hint[0])
		fprintf(stderr, "%s: hint: %s\n", progname, err->hint);
}

void
sb_cli_error(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* -q: -1, -v: 1 */
int			sb_cli_verbosity = 0;

void
sb_cli_info(const char *fmt,...)
{
	va_list		ap;

	if (sb_cli_verbosity < 0)
		return;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* With -v only */
void
sb_cli_verbose(const char *fmt,...)
{
	va_list		ap;

	if (sb_cli_verbosity < 1)
		return;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool
sb_cli_require_repo(SbCliOptions *opts)
{
	/* tls: the path is on the server, its repository root by default */
	sb_config_default_repo_path(&opts->repo);
	if (opts->repo.repo_path[0] != '\0')
		return true;
	sb_cli_error("no repository given");
	fprintf(stderr, "%s: hint: Use --repo-path or a --config file with repo_path.\n", progname);
	return false;
}

/* Create and open the repository; NULL after reporting the error. */
SbStorage *
sb_cli_open_repository(SbCliOptions *opts)
{
	SbStorage  *st;
	SbError		err;

	sb_error_clear(&err);
	if (sb_storage_create(&opts->repo, &st, &err) != SB_OK)
	{
		sb_cli_report(&err);
		return NULL;
	}
	if (sb_storage_open(st, &err) != SB_OK)
	{
		sb_cli_report(&err);
		sb_storage_free(st);
		return NULL;
	}
	return st;
}

void
sb_cli_close_repository(SbStorage *st)
{
	sb_storage_close(st);
	sb_storage_free(st);
}

/* Exit code for a failed core call: configuration errors are usage errors. */
int
sb_cli_exit_code(SbStatus rc)
{
	if (rc == SB_OK)
		return SB_EXIT_OK;
	return rc == SB_ERR_CONFIG ? SB_EXIT_USAGE : SB_EXIT_ERROR;
}

void
sb_cli_iso_time(int64_t t, char *out, size_t len)
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	if (gmtime_r(&tt, &tm) == NULL ||
		strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%" PRId64, t);
}

void
sb_cli_print_temp_files(const SbTempLeftovers *t)
{
	char		oldest[64];

	if (t->found == 0)
		return;
	sb_cli_iso_time(t->oldest_mtime, oldest, sizeof(oldest));
	printf(t->found == 1 ?
		   "\n%d temporary file left by an interrupted write (last modified %s);\n" :
		   "\n%d temporary files left by interrupted writes (oldest modified %s);\n",
		   t->found, oldest);
	printf("    %d old enough for expire to remove them (%d hours without a change)\n",
		   t->old, SB_TEMP_SAFE_AGE_S / 3600);
}

/* "12.3 MB" (units of 1024, as PostgreSQL's pg_size_pretty) */
void
sb_cli_format_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
	double		v = (double) bytes;
	int			u = 0;

	while (v >= 1024.0 && u < 5)
	{
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu bytes", (unsigned long long) bytes);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

/*
 * "--help" or "-?" anywhere, or "help [COMMAND]": the help of the first
 * word that is a command ("setup sftp" is two), or the global help.
 */
static bool
help_for(int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++)
	{
		char		name[64];

		if (!sb_cli_is_command(argv[i]))
			continue;
		if (strcmp(argv[i], "setup") == 0 && i + 1 < argc &&
			(strcmp(argv[i + 1], "sftp") == 0 || strcmp(argv[i + 1], "tls") == 0))
		{
			snprintf(name, sizeof(name), "setup %s", argv[i + 1]);
			return sb_cli_command_usage(name);
		}
		return sb_cli_command_usage(argv[i]);
	}
	if (first > 0 && argc > first)
	{
		sb_cli_error("unknown command \"%s\"", argv[first]);
		fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
		return false;
	}
	sb_cli_usage();
	return true;
}

int
main(int argc, char **argv)
{
	SbCliOptions opts;
	int			rc;

	/* getopt's messages name the program, not the path it was run as */
	argv[0] = (char *) progname;
	if (argc > 1)
	{
		if (argc > 2 && strcmp(argv[1], "help") == 0 &&
			strcmp(argv[2], "settings") == 0)
			return sb_cli_help_settings(argc - 3, argv + 3);
		if (argc > 2 && strcmp(argv[1], "help") == 0)
			return help_for(argc - 1, argv + 1, 1) ? SB_EXIT_OK : SB_EXIT_USAGE;
		if (strcmp(argv[1], "help") == 0)
		{
			sb_cli_usage();
			return SB_EXIT_OK;
		}
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-?") == 0)
				return help_for(argc, argv, 0) ? SB_EXIT_OK : SB_EXIT_USAGE;
		if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		{
			printf("%s (pg_safebackup) %s\n", progname, SB_VERSION_STR);
			return SB_EXIT_OK;
		}
	}

	/* the server has its own configuration file format */
	if (argc > 1 && strcmp(argv[1], "server") == 0)
		return sb_cmd_server(argc - 1, argv + 1);
	/* a developer's diagnostic, no repository either (cmd_wal_changes.c) */
	if (argc > 1 && strcmp(argv[1], "wal-changes") == 0)
		return sb_cmd_wal_changes(argc - 1, argv + 1);
	/* setup has its own options, none of a repository */
	if (argc > 1 && strcmp(argv[1], "setup") == 0)
		return sb_cmd_setup(argc - 1, argv + 1);

	rc = sb_cli_parse(argc, argv, &opts);
	if (rc != SB_EXIT_OK)
	{
		/*
		 * A restore_command with a mistyped option must stop recovery, not
		 * end it as if the archive were exhausted (see SB_EXIT_STOP_RECOVERY).
		 */
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], "archive-get") == 0)
				return SB_EXIT_STOP_RECOVERY;
		return rc;
	}

	for (const SbCommand *c = commands; c->name != NULL; c++)
		if (strcmp(c->name, opts.command) == 0)
			return c->run(&opts);

	sb_cli_error("unknown command \"%s\"", opts.command);
	fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
	return SB_EXIT_USAGE;
}
