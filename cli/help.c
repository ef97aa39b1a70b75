/*-------------------------------------------------------------------------
 *
 * help.c
 *		The help texts of pg_safebackup, from one table.
 *
 * Every option is one row: its spelling, its text and the commands that
 * take it.  The repository options are the rows of the settings tables
 * (core/settings.h), printed for every command that reaches a repository.  "pg_safebackup --help" prints every row, grouped;
 * "pg_safebackup COMMAND --help" prints the rows of that command only, so
 * the two can never disagree.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "settings.h"

/* One bit per command (and per setup subcommand) */
#define C_GET		(1u << 0)
#define C_PUSH		(1u << 1)
#define C_RESTORE	(1u << 2)
#define C_INFO		(1u << 3)
#define C_EXPIRE	(1u << 4)
#define C_VERIFY	(1u << 5)
#define C_REKEY		(1u << 6)
#define C_SERVER	(1u << 7)
#define C_SSFTP		(1u << 8)
#define C_STLS		(1u << 9)
/* the commands that reach a repository */
#define C_REPO		(C_GET | C_PUSH | C_RESTORE | C_INFO | C_EXPIRE | C_VERIFY | C_REKEY)
#define C_ALL		(C_REPO | C_SERVER | C_SSFTP | C_STLS)

typedef struct HelpCommand
{
	const char *name;			/* as typed: "restore", "setup sftp" */
	unsigned	bit;
	const char *synopsis;		/* after "pg_safebackup NAME " */
	const char *summary;		/* one line, for the global help */
	const char *description;	/* one paragraph, for the command's help */
} HelpCommand;

typedef struct HelpOption
{
	const char *group;
	const char *spelling;		/* "-D, --pgdata=DIR" */
	const char *text;			/* lines separated by \n */
	unsigned	commands;
} HelpOption;

static const HelpCommand help_commands[] = {
	{"archive-get", C_GET, "WALNAME DESTPATH [OPTION]...",
		"fetch a WAL file (for restore_command)",
		"Fetch WAL file WALNAME (or a history or backup file) from the repository\n"
		"and write it to DESTPATH, checking its checksum.  Exits with 3 when the\n"
		"file is not in the repository and with 255 on any other failure, so that\n"
	"PostgreSQL stops recovery instead of ending it early."},
	{"archive-push", C_PUSH, "WALPATH [OPTION]...",
		"store a WAL file (for archive_command)",
		"Store the WAL file at WALPATH (relative to the data directory) in the\n"
		"repository, durably.  A file already there with the same content is\n"
	"accepted; one with different content is refused."},
	{"restore", C_RESTORE, "-D DIR [OPTION]...",
		"restore a backup into a new data directory",
		"Restore a backup into a new or empty data directory (or, with --delta, over\n"
		"a stopped data directory of the same cluster), and write the recovery\n"
		"settings: restore_command runs \"pg_safebackup archive-get\" with the same\n"
	"repository options, up to the recovery target if one is given."},
	{"info", C_INFO, "[OPTION]...",
		"show the stanza, its backups and WAL",
		"Show the stanza (system identifier, PostgreSQL version, encryption), its\n"
	"backups with their sizes and WAL ranges, and the archived WAL."},
	{"expire", C_EXPIRE, "--retention-full=N [OPTION]...",
		"remove backups beyond the retention and the WAL they needed",
		"Remove the full backups beyond --retention-full (with the backups that\n"
		"depend on them), the WAL no kept backup needs, interrupted backups, and\n"
	"old temporary files left by interrupted writes."},
	{"verify", C_VERIFY, "[OPTION]...",
		"check backups and WAL against manifests and checksums",
		"Re-read every file of every backup (or of --backup) and the WAL each needs,\n"
		"and check them against the manifests and checksums.  Exits with 1 when a\n"
	"backup has problems."},
	{"rekey", C_REKEY, "--new-cipher-pass-file=FILE [OPTION]...",
		"change the passphrase of an encrypted stanza",
		"Change the passphrase of an encrypted stanza: the stanza's key is\n"
		"re-wrapped with the passphrase in FILE; no backup or WAL file is\n"
	"rewritten."},
	{"server", C_SERVER, "-c FILE",
		"run the mutual-TLS repository server",
		"Run the mutual-TLS repository server with the settings in FILE.  SIGHUP\n"
		"reloads FILE, SIGTERM stops after finishing requests (exit 0), SIGINT\n"
	"stops at once."},
	{"setup sftp", C_SSFTP, "--host=HOST --user=USER [OPTION]...",
		"create an SSH key and trust an SFTP server's host key",
		"Create an Ed25519 key pair for the current user (with ssh-keygen, unless\n"
		"the key file exists), fetch the SFTP server's host key and show its\n"
		"fingerprint; once confirmed (by typing \"yes\", or with\n"
		"--host-key-fingerprint), add it to the known_hosts file.  Then print the\n"
	"sshd_config block for the account and the safebackup.sftp_* settings."},
	{"setup tls", C_STLS, "--dir=DIR --server-name=NAME --client=CN [OPTION]...",
		"create a CA and the repository server's and clients' certificates",
		"Create a certificate authority in DIR (or use the one there), issue the\n"
		"repository server's certificate for NAME and a client certificate for\n"
		"each --client CN (EC P-256 keys, mode 0600), then print the server's\n"
	"configuration lines and the safebackup.tls_* settings."},
	{NULL, 0, NULL, NULL, NULL}
};

static const HelpOption help_options[] = {
	{"Restore options (also in a --config file)",
	"-D, --pgdata=DIR", "new data directory (missing or empty)", C_RESTORE},
	{NULL, "--target-dir=DIR", "the same as --pgdata", C_RESTORE},
	{NULL, "--backup=LABEL", "backup to restore (default: the newest that can\n"
	"reach the recovery target)", C_RESTORE},
	{NULL, "--target-time=TIME", "recover up to TIME (\"YYYY-MM-DD HH:MM:SS[+ZZ]\", UTC\n"
	"when no zone is given)", C_RESTORE},
	{NULL, "--target-lsn=LSN", "recover up to a WAL location, such as 0/1A2B3C4", C_RESTORE},
	{NULL, "--target-xid=XID", "recover up to a transaction", C_RESTORE},
	{NULL, "--target-name=NAME", "recover up to a restore point", C_RESTORE},
	{NULL, "--target-action=ACTION", "pause (default), promote or shutdown", C_RESTORE},
	{NULL, "--target-timeline=TLI", "latest (default), current or a timeline ID", C_RESTORE},
	{NULL, "--standby", "set up a log-shipping standby (standby.signal)", C_RESTORE},
	{NULL, "-j, --jobs=N", "restore N files at a time (default: cores, at most 4)", C_RESTORE},
	{NULL, "--delta", "write only the blocks that differ, in a stopped\n"
	"data directory of the same cluster", C_RESTORE},
	{NULL, "--delta-checksum", "--delta, checksumming every file (never trusting\n"
	"the WAL's change list or an unchanged size and time)", C_RESTORE},
	{NULL, "--tablespace-map=OID=DIR", "restore tablespace OID into DIR (repeatable)", C_RESTORE},
	{NULL, "--accept-tablespace-locations", "restore tablespaces not mapped to the\n"
		"locations the backup records, even outside the\n"
	"target directory (command line only)", C_RESTORE},
	{NULL, "-P, --progress", "show the progress line even when stderr is not a\n"
	"terminal", C_RESTORE},

	{"Archive options",
	"-D, --pgdata=DIR", "data directory (default $PGDATA or .)", C_PUSH | C_GET},

	{"Info and verify options",
	"--output=FORMAT", "text (default) or json", C_INFO | C_VERIFY},
	{NULL, "--backup=LABEL", "this backup only (default: all)", C_VERIFY},

	{"Expire options",
	"@retention_full", NULL, C_EXPIRE},
	{NULL, "--dry-run", "show what would be removed, remove nothing", C_EXPIRE},

	{"Rekey options",
	"--new-cipher-pass-file=FILE", "file holding the new passphrase (mode 0600)", C_REKEY},
	{NULL, "--cipher-kdf-log2n=N", "scrypt cost 2^N for the new passphrase, 10-22", C_REKEY},

	{"Server options",
	"-c, --config=FILE", "the server's configuration file (see README.md)", C_SERVER},

	{"Setup options",
	"--host=HOST", "SFTP server host name or address", C_SSFTP},
	{NULL, "--port=PORT", "its SSH port (default 22)", C_SSFTP},
	{NULL, "--user=USER", "the SFTP account on it", C_SSFTP},
	{NULL, "--key-file=FILE", "private key to create or use (default\n"
	"~/.ssh/safebackup_ed25519)", C_SSFTP},
	{NULL, "--known-hosts-file=FILE", "known_hosts file to add the host key to\n"
	"(default ~/.ssh/known_hosts)", C_SSFTP},
	{NULL, "--host-key-fingerprint=FP", "the fingerprint confirmed out of band\n"
	"(SHA256:...), instead of typing \"yes\"", C_SSFTP},
	{NULL, "--repo-path=PATH", "repository path inside the chroot, for the\n"
	"printed settings (default /backup)", C_SSFTP},
	{NULL, "--dir=DIR", "directory of the CA, keys and certificates", C_STLS},
	{NULL, "--server-name=NAME", "repository server's host name or IP address\n"
	"(repeatable: each is a subject alternative name)", C_STLS},
	{NULL, "--client=CN", "database host's certificate name (repeatable)", C_STLS},
	{NULL, "--days=N", "validity of new certificates (default 825)", C_STLS},
	{NULL, "--port=PORT", "the server's port, for the printed lines\n"
	"(default 8432)", C_STLS},
	{NULL, "--stanza=NAME", "stanza of the printed [auth] lines and settings\n"
	"(default \"main\")", C_STLS},

	{"Several repositories (see README.md)",
		"--repo=N", "use repository N (1-4) only; restore and archive-get\n"
		"otherwise look in each configured repository in\n"
	"order, the others use repository 1", C_REPO},
	{NULL, "--repoN-NAME=VALUE", "repository option NAME for repository N (2-4),\n"
		"with a leading \"repo-\" folded in: --repo2-type,\n"
	"--repo2-path, --repo2-stanza, --repo2-sftp-host", C_REPO},

	{"Output options",
	"-v, --verbose", "more messages", C_ALL & ~C_SERVER},
	{NULL, "-q, --quiet", "errors only", C_ALL & ~C_SERVER},

	{"Other options",
	"-V, --version", "output version information, then exit", C_ALL},
	{NULL, "-?, --help", "show this help, then exit", C_ALL},
	{NULL, NULL, NULL, 0}
};

#define SPELLING_WIDTH 26

static void
print_row(const char *spelling, const char *text)
{
	const char *t = text;
	int			len = (int) strlen(spelling);

	if (len > SPELLING_WIDTH - 2)
		printf("  %s\n%*s", spelling, SPELLING_WIDTH + 1, "");
	else
		printf("  %-*s ", SPELLING_WIDTH - 2, spelling);
	for (;;)
	{
		const char *nl = strchr(t, '\n');

		if (nl == NULL)
		{
			printf("%s\n", t);
			break;
		}
		printf("%.*s\n%*s", (int) (nl - t), t, SPELLING_WIDTH + 1, "");
		t = nl + 1;
	}
}

/* The row of a setting: "--sftp-host=HOST" and its help line */
static void
print_setting(const SbSetting *s)
{
	char		spelling[128];

	snprintf(spelling, sizeof(spelling), "--%s=%s", s->name,
			 s->arg ? s->arg : "VALUE");
	for (char *c = spelling + 2; *c != '=' && *c != '\0'; c++)
		if (*c == '_')
			*c = '-';
	print_row(spelling, s->help ? s->help : s->short_desc);
}

/* A row; "@name" is the row of setting name, from its table. */
static void
print_option(const HelpOption *o)
{
	if (o->spelling[0] == '@')
		print_setting(sb_setting_at(sb_setting_index(o->spelling + 1), NULL));
	else
		print_row(o->spelling, o->text);
}

/*
 * The repository options: --config, then each setting the CLI has, under
 * the heading of its group (general, then each driver's).
 */
static void
print_setting_options(void)
{
	int			n = sb_settings_count();
	int			group = -2;

	for (int i = 0; i < n; i++)
	{
		int			driver;
		const SbSetting *s = sb_setting_at(i, &driver);

		/* a command's own: an "@name" row of its group shows it */
		if ((s->flags & SB_SETTING_SERVER) || s->command != NULL)
			continue;
		if (driver != group)
		{
			printf("\n%s:\n", sb_setting_group_title(driver));
			if (driver < 0)
				print_row("-c, --config=FILE", "read options from FILE (key = value lines)");
			group = driver;
		}
		print_setting(s);
	}
}

/* The rows for the commands in mask, under their group headings. */
static void
print_options(unsigned mask)
{
	const char *group = NULL;
	bool		heading_shown = false;

	if (mask & C_REPO)
		print_setting_options();

	for (const HelpOption *o = help_options; o->spelling != NULL; o++)
	{
		if (o->group != NULL)
		{
			group = o->group;
			heading_shown = false;
		}
		if ((o->commands & mask) == 0)
			continue;
		if (!heading_shown)
		{
			printf("\n%s:\n", group);
			heading_shown = true;
		}
		print_option(o);
	}
}

static void
print_exit_status(void)
{
	printf("\nExit status: 0 success, 1 error (verify: a backup has problems), 2 usage\n"
		   "error, 3 WAL file not in the repository; archive-get exits with 255 on any\n"
		   "other failure, so that PostgreSQL stops recovery instead of ending it early.\n");
}

void
sb_cli_usage(void)
{
	printf("%s restores, verifies and serves pg_safebackup repositories.\n\n", progname);
	printf("Usage:\n");
	printf("  %s COMMAND [OPTION]... [ARGUMENT]...\n", progname);
	printf("  %s COMMAND --help\n\n", progname);
	printf("Commands:\n");
	for (const HelpCommand *c = help_commands; c->name != NULL; c++)
		printf("  %-14s %s\n", c->name, c->summary);
	print_options(C_ALL);
	print_exit_status();
}

/*
 * The help of one command ("setup" alone: of both setup subcommands);
 * false if name is not a command.
 */
bool
sb_cli_command_usage(const char *name)
{
	bool		found = false;

	for (const HelpCommand *c = help_commands; c->name != NULL; c++)
	{
		if (strcmp(c->name, name) != 0 &&
			!(strcmp(name, "setup") == 0 && strncmp(c->name, "setup ", 6) == 0))
			continue;
		if (found)
			printf("\n");
		printf("Usage:\n  %s %s %s\n\n%s\n", progname, c->name, c->synopsis,
			   c->description);
		print_options(c->bit);
		found = true;
	}
	return found;
}

/* Whether name is a command of the help table (the first word for setup). */
bool
sb_cli_is_command(const char *name)
{
	if (strcmp(name, "setup") == 0)
		return true;
	for (const HelpCommand *c = help_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return true;
	return false;
}
