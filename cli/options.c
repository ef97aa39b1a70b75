/*-------------------------------------------------------------------------
 *
 * options.c
 *		Command-line and --config file options of pg_safebackup.
 *
 * Every option can be given as --name=value on the command line or as
 * "name = value" in the configuration file (the same names as the
 * safebackup.* server settings, with "_" or "-", with or without the
 * "safebackup." prefix).  The command line wins over the file.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum OptId
{
	OPT_CONFIG = 256,
	OPT_REPO_TYPE,
	OPT_REPO_PATH,
	OPT_STANZA,
	OPT_COMPRESS_TYPE,
	OPT_COMPRESS_LEVEL,
	OPT_PGDATA = 'D'
} OptId;

static const struct option long_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"repo-type", required_argument, NULL, OPT_REPO_TYPE},
	{"repo-path", required_argument, NULL, OPT_REPO_PATH},
	{"stanza", required_argument, NULL, OPT_STANZA},
	{"compress-type", required_argument, NULL, OPT_COMPRESS_TYPE},
	{"compress-level", required_argument, NULL, OPT_COMPRESS_LEVEL},
	{"pgdata", required_argument, NULL, OPT_PGDATA},
	{NULL, 0, NULL, 0}
};

static bool
copy_value(char *dst, size_t size, const char *value, const char *name)
{
	if (strlen(value) >= size)
	{
		sb_cli_error("value of option \"%s\" is too long", name);
		return false;
	}
	strcpy(dst, value);
	return true;
}

/* Apply one option; returns false (after printing why) on a bad value. */
static bool
apply_option(SbCliOptions *opts, int id, const char *name, const char *value)
{
	char	   *end;
	long		level;

	switch (id)
	{
		case OPT_REPO_TYPE:
			if (!sb_repo_type_parse(value, &opts->repo.repo_type))
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Valid values are \"posix\", \"sftp\" and \"tls\".\n", progname);
				return false;
			}
			return true;
		case OPT_REPO_PATH:
			if (value[0] != '/')
			{
				sb_cli_error("option \"%s\" must be an absolute path", name);
				return false;
			}
			return copy_value(opts->repo.repo_path, sizeof(opts->repo.repo_path), value, name);
		case OPT_STANZA:
			if (!sb_stanza_name_valid(value))
			{
				sb_cli_error("invalid stanza name \"%s\"", value);
				fprintf(stderr, "%s: hint: A stanza name is 1 to 63 letters, digits, \"_\", \"-\" or \".\", not starting with \".\".\n", progname);
				return false;
			}
			return copy_value(opts->repo.stanza, sizeof(opts->repo.stanza), value, name);
		case OPT_COMPRESS_TYPE:
			if (!sb_compress_type_parse(value, &opts->repo.compress_type))
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Valid values are \"none\" and \"zlib\".\n", progname);
				return false;
			}
			return true;
		case OPT_COMPRESS_LEVEL:
			errno = 0;
			level = strtol(value, &end, 10);
			if (errno != 0 || end == value || *end != '\0' || level < 0 || level > 9)
			{
				sb_cli_error("option \"%s\" must be an integer between 0 and 9", name);
				return false;
			}
			opts->repo.compress_level = (int) level;
			return true;
		case OPT_PGDATA:
			return copy_value(opts->pgdata, sizeof(opts->pgdata), value, name);
	}
	return false;
}

/* Map a configuration file key to an option id; -1 if unknown. */
static int
option_for_key(const char *key)
{
	char		norm[64];
	size_t		i;

	if (strncmp(key, "safebackup.", 11) == 0)
		key += 11;
	for (i = 0; key[i] != '\0' && i < sizeof(norm) - 1; i++)
		norm[i] = (key[i] == '_') ? '-' : key[i];
	norm[i] = '\0';
	for (const struct option *o = long_options; o->name != NULL; o++)
		if (strcmp(o->name, norm) == 0 && o->val != OPT_CONFIG)
			return o->val;
	return -1;
}

static char *
trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

static bool
load_config_file(SbCliOptions *opts, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	int			lineno = 0;
	bool		ok = true;

	if (f == NULL)
	{
		sb_cli_error("could not open configuration file \"%s\": %s", path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f) != NULL)
	{
		char	   *p;
		char	   *key;
		char	   *value;
		char		name[128];
		int			id;

		lineno++;
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		value = strchr(p, '=');
		if (value == NULL)
		{
			sb_cli_error("syntax error in file \"%s\" line %d: expected \"name = value\"", path, lineno);
			ok = false;
			break;
		}
		*value++ = '\0';
		key = trim(p);
		value = trim(value);
		/* strip one pair of matching quotes */
		if ((value[0] == '\'' || value[0] == '"') && strlen(value) >= 2 &&
			value[strlen(value) - 1] == value[0])
		{
			value[strlen(value) - 1] = '\0';
			value++;
		}
		id = option_for_key(key);
		if (id < 0)
		{
			sb_cli_error("unrecognized option \"%s\" in file \"%s\" line %d", key, path, lineno);
			ok = false;
			break;
		}
		snprintf(name, sizeof(name), "%s (file \"%s\" line %d)", key, path, lineno);
		ok = apply_option(opts, id, name, value);
	}
	fclose(f);
	return ok;
}

int
sb_cli_parse(int argc, char **argv, SbCliOptions *opts)
{
	int			c;
	int			idx;
	const char *env;

	memset(opts, 0, sizeof(*opts));
	sb_config_init(&opts->repo);

	/* the config file first, so that the command line overrides it */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "D:", long_options, &idx)) != -1)
	{
		if (c == OPT_CONFIG && !load_config_file(opts, optarg))
			return SB_EXIT_USAGE;
	}

	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "D:", long_options, &idx)) != -1)
	{
		char		name[64];

		if (c == '?')
		{
			fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
			return SB_EXIT_USAGE;
		}
		if (c == OPT_CONFIG)
			continue;
		if (c == OPT_PGDATA)
			snprintf(name, sizeof(name), "--pgdata");
		else
			snprintf(name, sizeof(name), "--%s", long_options[idx].name);
		if (!apply_option(opts, c, name, optarg))
			return SB_EXIT_USAGE;
	}

	if (optind >= argc)
	{
		sb_cli_error("no command specified");
		fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
		return SB_EXIT_USAGE;
	}
	opts->command = argv[optind];
	opts->args = argv + optind + 1;
	opts->nargs = argc - optind - 1;

	if (opts->pgdata[0] == '\0')
	{
		env = getenv("PGDATA");
		snprintf(opts->pgdata, sizeof(opts->pgdata), "%s", env && *env ? env : ".");
	}
	return SB_EXIT_OK;
}
