/*-------------------------------------------------------------------------
 *
 * cli.h
 *		Shared declarations of the pg_safebackup program: options, exit
 *		codes, messages, commands.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CLI_H
#define SB_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "restore.h"
#include "sb_config.h"
#include "sb_error.h"
#include "settings.h"

/* Exit codes (documented in README.md) */
/* restore --jobs: at most this many threads */
#define SB_CLI_MAX_JOBS		32

#define SB_EXIT_OK			0
#define SB_EXIT_ERROR		1	/* the command failed; the message says why */
#define SB_EXIT_USAGE		2	/* bad command line or configuration file */
#define SB_EXIT_NOT_FOUND	3	/* archive-get: the file is not in the repository */
/*
 * archive-get: any other failure.  PostgreSQL stops recovery when
 * restore_command exits with a code above 125, instead of taking the file
 * as the end of the archive.
 */
#define SB_EXIT_STOP_RECOVERY	255

#define SB_CLI_MAX_CONFIGS		8	/* --config files on one command line */
#define SB_CLI_MAX_REPO_ARGS	64	/* repository options on one command line */
#define SB_CLI_MAX_TABLESPACES	64	/* --tablespace-map options */

typedef enum SbOutputFormat
{
	SB_OUTPUT_TEXT = 0,
	SB_OUTPUT_JSON
} SbOutputFormat;

typedef struct SbCliOptions
{
	SbRepoConfig repo;			/* the repository a command uses */
	int			selected_repo;	/* its index, 1 to SB_REPO_MAX */
	/* each repository's settings (--repo2-path ...; not configured: unset) */
	SbRepoConfig repos[SB_REPO_MAX];
	int			repo_index;		/* --repo=N; 0 when not given */
	char		pgdata[SB_PATH_MAX];
	bool		pgdata_given;	/* -D/--pgdata on the command line */
	const char *command;
	int			nargs;			/* positional arguments after the command */
	char	  **args;

	/* --config files read, as absolute paths (for restore_command) */
	int			nconfigs;
	char		configs[SB_CLI_MAX_CONFIGS][SB_PATH_MAX];

	/* repository options given on the command line, as "--name=value" */
	int			nrepo_args;
	char	   *repo_args[SB_CLI_MAX_REPO_ARGS];

	/* restore */
	char		target_dir[SB_PATH_MAX];
	char		backup_label[SB_LABEL_LEN];
	SbTargetKind target_kind;
	char		target_value[SB_PATH_MAX];
	SbTargetAction target_action;
	char		target_timeline[16];	/* "" means latest */
	bool		standby;
	int			jobs;			/* 0: the default (cores, at most 4) */
	bool		delta;
	bool		delta_checksum;
	bool		progress;		/* -P: the progress line even without a terminal */
	int			ntablespace_map;
	SbTablespaceMap tablespace_map[SB_CLI_MAX_TABLESPACES];
	bool		accept_tablespace_locations;	/* command line only */

	/* info, verify */
	SbOutputFormat output;

	/* expire */
	bool		dry_run;
	/* rekey */
	char		new_cipher_pass_file[SB_PATH_MAX];
	int			cipher_kdf_log2n;	/* 0: keep the stanza's */
} SbCliOptions;

extern const char *progname;

/* Parse the command line (and --config FILE); SB_EXIT_OK or an exit code. */
extern int	sb_cli_parse(int argc, char **argv, SbCliOptions *opts);

/*
 * Make repository index the one commands use (opts->repo); false after
 * reporting that it is not configured.
 */
extern bool sb_cli_select_repo(SbCliOptions *opts, int index);
extern void sb_cli_usage(void);
/* help.c: one command's help (false: no such command); is it a command */
extern bool sb_cli_command_usage(const char *name);
extern bool sb_cli_is_command(const char *name);
/* help_settings.c: "help settings [--markdown]" (args after "settings") */
extern int	sb_cli_help_settings(int argc, char **argv);

/* -q (-1: errors only), 0, -v (1: more messages) */
extern int	sb_cli_verbosity;

/* "pg_safebackup: error: ..." plus detail and hint lines. */
extern void sb_cli_report(const SbError *err);
extern void sb_cli_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void sb_cli_info(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void sb_cli_verbose(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Commands */
extern int	sb_cmd_archive_get(SbCliOptions *opts);
extern int	sb_cmd_archive_push(SbCliOptions *opts);
extern int	sb_cmd_restore(SbCliOptions *opts);
extern int	sb_cmd_info(SbCliOptions *opts);
extern int	sb_cmd_expire(SbCliOptions *opts);
extern int	sb_cmd_verify(SbCliOptions *opts);

/* JSON output (json.c): an escaped string literal; ",\n" + indent + "key": */
extern void json_string(const char *s);
extern void json_key(const char *indent, const char *key, bool first);
extern int	sb_cmd_rekey(SbCliOptions *opts);
extern int	sb_cmd_server(int argc, char **argv);
/* developer diagnostic: the blocks WAL touched (cmd_wal_changes.c) */
extern int	sb_cmd_wal_changes(int argc, char **argv);
/* setup sftp|tls (cmd_setup.c, cmd_setup_sftp.c, cmd_setup_tls.c) */
extern int	sb_cmd_setup(int argc, char **argv);
extern int	sb_cmd_setup_sftp(int argc, char **argv);
extern int	sb_cmd_setup_tls(int argc, char **argv);

/* Shared by restore and info (main.c) */
extern bool sb_cli_require_repo(SbCliOptions *opts);
extern SbStorage *sb_cli_open_repository(SbCliOptions *opts);
extern void sb_cli_close_repository(SbStorage *st);
extern int	sb_cli_exit_code(SbStatus rc);
extern void sb_cli_format_size(uint64_t bytes, char *out, size_t len);
/* "2026-11-23T11:24:37Z" (UTC) */
extern void sb_cli_iso_time(int64_t t, char *out, size_t len);

struct SbTempLeftovers;
/* info and verify: the temporary files left by interrupted writes, if any */
extern void sb_cli_print_temp_files(const struct SbTempLeftovers *t);

#endif							/* SB_CLI_H */
