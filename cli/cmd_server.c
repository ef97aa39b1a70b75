/*-------------------------------------------------------------------------
 *
 * cmd_server.c
 *		"pg_safebackup server --config FILE": run the mutual-TLS repository
 *		server (server/).  Its configuration file has its own settings (see
 *		server/config.c and README.md), so it is parsed here, not by the
 *		repository options of the other commands.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../server/server.h"

int
sb_cmd_server(int argc, char **argv)
{
	const char *config = NULL;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0)
		{
			if (i + 1 >= argc)
			{
				sb_cli_error("option \"%s\" needs a value", argv[i]);
				return SB_EXIT_USAGE;
			}
			config = argv[++i];
		}
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config = argv[i] + 9;
		else
		{
			sb_cli_error("unexpected argument \"%s\" for command \"server\"", argv[i]);
			fprintf(stderr, "Try \"%s server --help\" for more information.\n", progname);
			return SB_EXIT_USAGE;
		}
	}
	if (config == NULL)
	{
		sb_cli_error("no configuration file given");
		fprintf(stderr, "%s: hint: Use \"%s server --config=FILE\".\n", progname, progname);
		return SB_EXIT_USAGE;
	}
	return srv_run(config);
}
