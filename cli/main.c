/*-------------------------------------------------------------------------
 *
 * main.c
 *		The pg_safebackup program: dispatch to a command.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sb_version.h"

const char *progname = "pg_safebackup";

typedef struct SbCommand
{
	const char *name;
	int			(*run) (SbCliOptions *opts);
} SbCommand;

static const SbCommand commands[] = {
	{"archive-get", sb_cmd_archive_get},
	{"archive-push", sb_cmd_archive_push},
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

void
sb_cli_info(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
sb_cli_usage(void)
{
	printf("%s restores, verifies and serves pg_safebackup repositories.\n\n", progname);
	printf("Usage:\n");
	printf("  %s COMMAND [OPTION]... [ARGUMENT]...\n\n", progname);
	printf("Commands:\n");
	printf("  archive-get WALNAME DESTPATH   fetch a WAL file (for restore_command)\n");
	printf("  archive-push WALPATH           store a WAL file (for archive_command)\n");
	printf("\nRepository options (also in a --config file, without the dashes):\n");
	printf("  --config=FILE            read options from FILE (key = value lines)\n");
	printf("  --repo-type=TYPE         posix (default), sftp or tls\n");
	printf("  --repo-path=PATH         absolute path of the repository\n");
	printf("  --stanza=NAME            stanza of the cluster (default \"main\")\n");
	printf("  --compress-type=TYPE     none or zlib (default) for files written\n");
	printf("  --compress-level=N       0-9 (default 1)\n");
	printf("\nOther options:\n");
	printf("  -D, --pgdata=DIR         data directory (archive-push; default $PGDATA or .)\n");
	printf("  -V, --version            output version information, then exit\n");
	printf("  -?, --help               show this help, then exit\n");
	printf("\nExit status: 0 success, 1 error, 2 usage error, 3 WAL file not in the repository.\n");
}

int
main(int argc, char **argv)
{
	SbCliOptions opts;
	int			rc;

	if (argc > 1)
	{
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0 ||
			strcmp(argv[1], "help") == 0)
		{
			sb_cli_usage();
			return SB_EXIT_OK;
		}
		if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		{
			printf("%s (pg_safebackup) %s\n", progname, SB_VERSION_STR);
			return SB_EXIT_OK;
		}
	}

	rc = sb_cli_parse(argc, argv, &opts);
	if (rc != SB_EXIT_OK)
		return rc;

	for (const SbCommand *c = commands; c->name != NULL; c++)
		if (strcmp(c->name, opts.command) == 0)
			return c->run(&opts);

	sb_cli_error("unknown command \"%s\"", opts.command);
	fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
	return SB_EXIT_USAGE;
}
