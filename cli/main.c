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

bool
sb_cli_require_repo(SbCliOptions *opts)
{
	if (opts->repo.repo_path[0] != '\0')
		return true;
	/* tls: the path is on the server, its repository root by default */
	if (opts->repo.repo_type == SB_REPO_TLS)
	{
		strcpy(opts->repo.repo_path, "/");
		return true;
	}
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

void
sb_cli_usage(void)
{
	printf("%s restores, verifies and serves pg_safebackup repositories.\n\n", progname);
	printf("Usage:\n");
	printf("  %s COMMAND [OPTION]... [ARGUMENT]...\n\n", progname);
	printf("Commands:\n");
	printf("  archive-get WALNAME DESTPATH   fetch a WAL file (for restore_command)\n");
	printf("  archive-push WALPATH           store a WAL file (for archive_command)\n");
	printf("  restore --target-dir=DIR       restore a backup into a new data directory\n");
	printf("  info                           show the stanza, its backups and WAL\n");
	printf("  expire                         remove backups beyond --retention-full, the WAL\n");
	printf("                                 they needed, and interrupted backups\n");
	printf("  verify                         re-read every backup file and WAL segment and\n");
	printf("                                 check them against manifests and checksums\n");
	printf("  rekey --new-cipher-pass-file=FILE\n");
	printf("                                 change the passphrase of an encrypted stanza\n");
	printf("                                 (--cipher-kdf-log2n=N: scrypt cost 2^N, 10-22)\n");
	printf("  server --config=FILE           run the mutual-TLS repository server\n");
	printf("\nRepository options (also in a --config file, without the dashes):\n");
	printf("  --config=FILE            read options from FILE (key = value lines)\n");
	printf("  --repo-type=TYPE         posix (default), sftp or tls\n");
	printf("  --repo-path=PATH         absolute path of the repository\n");
	printf("  --stanza=NAME            stanza of the cluster (default \"main\")\n");
	printf("  --compress-type=TYPE     none, zlib, lz4 or zstd (default) for files written\n");
	printf("  --compress-level=N       zlib 0-9, lz4 1-12, zstd 1-19 (default 1)\n");
	printf("  --io-timeout=TIME        network connect/wait limit (default 60s)\n");
	printf("  --cipher-type=TYPE       none (default) or aes-256-gcm\n");
	printf("  --cipher-pass-file=FILE  file holding the encryption passphrase (mode 0600)\n");
	printf("\nSFTP repository options (--repo-type=sftp):\n");
	printf("  --sftp-host=HOST         SFTP server host name or address\n");
	printf("  --sftp-port=PORT         SFTP server port (default 22)\n");
	printf("  --sftp-user=USER         SFTP account\n");
	printf("  --sftp-private-key-file=FILE    private key (mode 0600 or stricter)\n");
	printf("  --sftp-public-key-file=FILE     public key (optional)\n");
	printf("  --sftp-private-key-passphrase-file=FILE  passphrase of the key (optional)\n");
	printf("  --sftp-known-hosts-file=FILE    known_hosts file with the server's host key\n");
	printf("  --sftp-host-key-fingerprint=FP  pinned host key, SHA256:... as ssh-keygen -lf\n");
	printf("\nTLS repository options (--repo-type=tls; see \"server\" for the server):\n");
	printf("  --tls-host=HOST          repository server (repo-type tls)\n");
	printf("  --tls-port=PORT          its port (default 8432)\n");
	printf("  --tls-cert-file=FILE     client certificate (with intermediates)\n");
	printf("  --tls-key-file=FILE      its private key (mode 0600)\n");
	printf("  --tls-ca-file=FILE       CA that signed the server certificate\n");
	printf("  --tls-server-name=NAME   name to verify (default: the host)\n");
	printf("\nRestore options (also in a --config file):\n");
	printf("  --target-dir=DIR         new data directory (missing or empty)\n");
	printf("  --backup=LABEL           backup to restore (default: the newest that can\n");
	printf("                           reach the recovery target)\n");
	printf("  --target-time=TIME       recover up to TIME (\"YYYY-MM-DD HH:MM:SS[+ZZ]\", UTC\n");
	printf("                           when no zone is given)\n");
	printf("  --target-lsn=LSN         recover up to a WAL location, such as 0/1A2B3C4\n");
	printf("  --target-xid=XID         recover up to a transaction\n");
	printf("  --target-name=NAME       recover up to a restore point\n");
	printf("  --target-action=ACTION   pause (default), promote or shutdown\n");
	printf("  --target-timeline=TLI    latest (default), current or a timeline ID\n");
	printf("  --standby                set up a log-shipping standby (standby.signal)\n");
	printf("  --jobs=N                 restore N files at a time (default: cores, at most 4)\n");
	printf("  --delta                  rewrite only what differs in a stopped data\n");
	printf("                           directory of the same cluster\n");
	printf("  --delta-checksum         --delta, checksumming every file (never trusting\n");
	printf("                           an unchanged size and modification time)\n");
	printf("  --tablespace-map=OID=DIR restore tablespace OID into DIR (repeatable)\n");
	printf("  --accept-tablespace-locations  restore tablespaces not mapped to the\n");
	printf("                           locations the backup records, even outside the\n");
	printf("                           target directory (command line only)\n");
	printf("\nInfo and verify options:\n");
	printf("  --output=FORMAT          text (default) or json\n");
	printf("  --backup=LABEL           verify: this backup only (default: all)\n");
	printf("\nExpire options:\n");
	printf("  --retention-full=N       full backups to keep (default 0: keep all)\n");
	printf("  --dry-run                show what would be removed, remove nothing\n");
	printf("\nOther options:\n");
	printf("  -D, --pgdata=DIR         data directory (archive-push; default $PGDATA or .)\n");
	printf("  -V, --version            output version information, then exit\n");
	printf("  -?, --help               show this help, then exit\n");
	printf("\nExit status: 0 success, 1 error (verify: a backup has problems), 2 usage\nerror, 3 WAL file not in the repository; archive-get exits with 255 on any\nother failure, so that PostgreSQL stops recovery instead of ending it early.\n");
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

	/* the server has its own configuration file format */
	if (argc > 1 && strcmp(argv[1], "server") == 0)
		return sb_cmd_server(argc - 1, argv + 1);

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
