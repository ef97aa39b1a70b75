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

#include "sb_config.h"
#include "sb_error.h"

/* Exit codes (documented in README.md) */
#define SB_EXIT_OK			0
#define SB_EXIT_ERROR		1	/* the command failed; the message says why */
#define SB_EXIT_USAGE		2	/* bad command line or configuration file */
#define SB_EXIT_NOT_FOUND	3	/* archive-get: the file is not in the repository */

typedef struct SbCliOptions
{
	SbRepoConfig repo;
	char		pgdata[SB_PATH_MAX];
	const char *command;
	int			nargs;			/* positional arguments after the command */
	char	  **args;
} SbCliOptions;

extern const char *progname;

/* Parse the command line (and --config FILE); SB_EXIT_OK or an exit code. */
extern int	sb_cli_parse(int argc, char **argv, SbCliOptions *opts);
extern void sb_cli_usage(void);

/* "pg_safebackup: error: ..." plus detail and hint lines. */
extern void sb_cli_report(const SbError *err);
extern void sb_cli_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void sb_cli_info(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Commands */
extern int	sb_cmd_archive_get(SbCliOptions *opts);
extern int	sb_cmd_archive_push(SbCliOptions *opts);

#endif							/* SB_CLI_H */
