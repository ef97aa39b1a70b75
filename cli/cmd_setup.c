/*-------------------------------------------------------------------------
 *
 * cmd_setup.c
 *		"pg_safebackup setup sftp|tls": dispatch to the setup helper.  Each
 *		has its own options (none of them a repository option), so they are
 *		parsed there, not by options.c.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
sb_cmd_setup(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sftp") == 0)
	{
		argv[1] = (char *) progname;	/* for getopt's messages */
		return sb_cmd_setup_sftp(argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "tls") == 0)
	{
		argv[1] = (char *) progname;
		return sb_cmd_setup_tls(argc - 1, argv + 1);
	}
	if (argc < 2)
		sb_cli_error("setup needs \"sftp\" or \"tls\"");
	else
		sb_cli_error("unknown setup command \"%s\"", argv[1]);
	fprintf(stderr, "Try \"%s setup --help\" for more information.\n", progname);
	return SB_EXIT_USAGE;
}
