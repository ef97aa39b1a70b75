/*-------------------------------------------------------------------------
 *
 * options.c
 *		Command-line and --config file options of pg_safebackup.
 *
 * Every option can be given as --name=value on the command line or as
 * "name = value" in the configuration file (the same names as the
 * safebackup.* server settings, with "_" or "-", with or without the
 * "safebackup." prefix).  The repository options are the settings of the
 * tables in core/settings.h (general and per driver): their long options,
 * checks and --config keys are built from those tables here.
 *
 * The command line wins over the file: a value given on the command line
 * replaces the file's, a recovery target given on the command line replaces
 * the file's target (whatever its kind), and a --tablespace-map for an OID
 * replaces the file's mapping of that OID.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conf_file.h"
#include "settings.h"

typedef enum OptId
{
	OPT_CONFIG = 256,
	/* options of one command */
	OPT_TARGET_DIR,
	OPT_BACKUP,
	OPT_TARGET_TIME,
	OPT_TARGET_LSN,
	OPT_TARGET_XID,
	OPT_TARGET_NAME,
	OPT_TARGET_ACTION,
	OPT_TARGET_TIMELINE,
	OPT_STANDBY,
	OPT_JOBS,
	OPT_DELTA,
	OPT_DELTA_CHECKSUM,
	OPT_TABLESPACE_MAP,
	OPT_ACCEPT_TABLESPACE_LOCATIONS,
	OPT_OUTPUT,
	OPT_DRY_RUN,
	OPT_NEW_CIPHER_PASS_FILE,
	OPT_CIPHER_KDF_LOG2N,
	OPT_PGDATA = 'D',
	OPT_PROGRESS = 'P',
	OPT_QUIET = 'q',
	OPT_VERBOSE = 'v',
	/* setting i of core/settings.h is option OPT_SETTING + i */
	OPT_SETTING = 1000
} OptId;

/* short options, as pg_basebackup and pg_rewind spell them */
#define SHORT_OPTIONS "c:D:j:Pqv"

/* The options of commands; the settings' options are added to them. */
static const struct option command_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"pgdata", required_argument, NULL, OPT_PGDATA},
	{"target-dir", required_argument, NULL, OPT_TARGET_DIR},
	{"backup", required_argument, NULL, OPT_BACKUP},
	{"target-time", required_argument, NULL, OPT_TARGET_TIME},
	{"target-lsn", required_argument, NULL, OPT_TARGET_LSN},
	{"target-xid", required_argument, NULL, OPT_TARGET_XID},
	{"target-name", required_argument, NULL, OPT_TARGET_NAME},
	{"target-action", required_argument, NULL, OPT_TARGET_ACTION},
	{"target-timeline", required_argument, NULL, OPT_TARGET_TIMELINE},
	{"standby", no_argument, NULL, OPT_STANDBY},
	{"jobs", required_argument, NULL, OPT_JOBS},
	{"delta", no_argument, NULL, OPT_DELTA},
	{"delta-checksum", no_argument, NULL, OPT_DELTA_CHECKSUM},
	{"tablespace-map", required_argument, NULL, OPT_TABLESPACE_MAP},
	{"accept-tablespace-locations", no_argument, NULL, OPT_ACCEPT_TABLESPACE_LOCATIONS},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"new-cipher-pass-file", required_argument, NULL, OPT_NEW_CIPHER_PASS_FILE},
	{"cipher-kdf-log2n", required_argument, NULL, OPT_CIPHER_KDF_LOG2N},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"verbose", no_argument, NULL, OPT_VERBOSE},
	{NULL, 0, NULL, 0}
};

#define NCOMMAND_OPTIONS (sizeof(command_options) / sizeof(command_options[0]) - 1)
#define MAX_SETTING_OPTIONS SB_SETTINGS_MAX

/*
 * command_options and one "--sftp-host" option per setting the CLI has
 * (not SB_SETTING_SERVER), filled by build_options().
 */
static struct option long_options[NCOMMAND_OPTIONS + MAX_SETTING_OPTIONS + 1];
static char setting_option_names[MAX_SETTING_OPTIONS][64];

static void
build_options(void)
{
	int			n = 0;
	int			nsettings = sb_settings_count();

	memcpy(long_options, command_options, sizeof(struct option) * NCOMMAND_OPTIONS);
	for (int i = 0; i < nsettings && n < MAX_SETTING_OPTIONS; i++)
	{
		const SbSetting *s = sb_setting_at(i, NULL);
		struct option *o = &long_options[NCOMMAND_OPTIONS + n];

		if (s->flags & SB_SETTING_SERVER)
			continue;
		snprintf(setting_option_names[n], sizeof(setting_option_names[n]),
				 "%s", s->name);
		for (char *c = setting_option_names[n]; *c; c++)
			if (*c == '_')
				*c = '-';
		o->name = setting_option_names[n];
		o->has_arg = required_argument;
		o->flag = NULL;
		o->val = OPT_SETTING + i;
		n++;
	}
	memset(&long_options[NCOMMAND_OPTIONS + n], 0, sizeof(struct option));
}

/*
 * Which pass is applying options: 1 for --config files, 2 for the command
 * line.  A recovery target set in an earlier pass may be replaced by one of
 * another kind; two kinds in the same pass are a usage error.
 */
static int	current_pass = 0;
static int	target_pass = 0;
static bool target_dir_given = false;	/* --target-dir on the command line */

static bool
apply_target(SbCliOptions *opts, SbTargetKind kind, const char *name,
			 const char *value)
{
	if (opts->target_kind != SB_TARGET_NONE && opts->target_kind != kind &&
		target_pass == current_pass)
	{
		sb_cli_error("only one recovery target can be given (found target_%s and target_%s)",
					 sb_target_kind_name(opts->target_kind),
					 sb_target_kind_name(kind));
		return false;
	}
	if (!sb_target_value_valid(kind, value))
	{
		sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
		if (kind == SB_TARGET_TIME)
			fprintf(stderr, "%s: hint: Write the time as \"YYYY-MM-DD HH:MM:SS\", optionally with a fraction of a second and a time zone (\"Z\", \"+02\", \"-05:30\"); without a zone it is UTC.\n", progname);
		else if (kind == SB_TARGET_LSN)
			fprintf(stderr, "%s: hint: Write the LSN as two hexadecimal numbers separated by a slash, such as \"0/1A2B3C4\".\n", progname);
		else if (kind == SB_TARGET_XID)
			fprintf(stderr, "%s: hint: A transaction ID is a decimal number.\n", progname);
		else if (kind == SB_TARGET_NAME)
			fprintf(stderr, "%s: hint: A restore point name is 1 to 63 bytes long.\n", progname);
		return false;
	}
	if (strlen(value) >= sizeof(opts->target_value))
	{
		sb_cli_error("value of option \"%s\" is too long", name);
		return false;
	}
	strcpy(opts->target_value, value);
	opts->target_kind = kind;
	target_pass = current_pass;
	return true;
}

/* "OID=DIR": add, or replace the mapping of the same OID. */
static bool
apply_tablespace_map(SbCliOptions *opts, const char *name, const char *value)
{
	const char *eq = strchr(value, '=');
	char	   *end;
	unsigned long oid;
	int			i;

	errno = 0;
	oid = strtoul(value, &end, 10);
	if (eq == NULL || end != eq || end == value || errno != 0 ||
		oid == 0 || oid > 4294967295UL || !isdigit((unsigned char) value[0]))
	{
		sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
		fprintf(stderr, "%s: hint: Write the mapping as OID=DIRECTORY, such as 16385=/srv/pg/ts1.\n", progname);
		return false;
	}
	if (eq[1] != '/')
	{
		sb_cli_error("directory of option \"%s\" must be an absolute path", name);
		return false;
	}
	if (strlen(eq + 1) >= SB_PATH_MAX)
	{
		sb_cli_error("value of option \"%s\" is too long", name);
		return false;
	}
	for (i = 0; i < opts->ntablespace_map; i++)
		if (opts->tablespace_map[i].oid == (unsigned int) oid)
			break;
	if (i == opts->ntablespace_map)
	{
		if (i == SB_CLI_MAX_TABLESPACES)
		{
			sb_cli_error("too many tablespace mappings (at most %d)", SB_CLI_MAX_TABLESPACES);
			return false;
		}
		opts->ntablespace_map++;
	}
	opts->tablespace_map[i].oid = (unsigned int) oid;
	strcpy(opts->tablespace_map[i].dir, eq + 1);
	return true;
}

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

/*
 * Setting i (core/settings.h): a file name made absolute first (restore
 * passes it on to a restore_command that runs in another directory), then
 * parsed, checked and stored by the table's rules, the server's too.
 */
static bool
apply_setting(SbCliOptions *opts, int i, const char *name, const char *value)
{
	const SbSetting *s = sb_setting_at(i, NULL);
	char		cwd[PATH_MAX];
	char	   *abs = NULL;
	SbError		err;
	SbStatus	rc;

	if ((s->flags & SB_SETTING_FILE) && value[0] != '/' && value[0] != '\0')
	{
		if (getcwd(cwd, sizeof(cwd)) == NULL)
		{
			sb_cli_error("could not get the current directory: %s", strerror(errno));
			return false;
		}
		abs = malloc(strlen(cwd) + strlen(value) + 2);
		if (abs == NULL)
		{
			sb_cli_error("out of memory");
			return false;
		}
		sprintf(abs, "%s/%s", cwd, value);
		value = abs;
	}
	sb_error_clear(&err);
	rc = sb_setting_set(&opts->repo, i, name, value, &err);
	free(abs);
	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		return false;
	}
	return true;
}

/*
 * A file path option: made absolute, since restore passes it on to a
 * restore_command that runs in another directory.
 */
static bool
copy_path_value(char *dst, size_t size, const char *value, const char *name)
{
	char		cwd[PATH_MAX];

	if (value[0] == '/' || value[0] == '\0')
		return copy_value(dst, size, value, name);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
	{
		sb_cli_error("could not get the current directory: %s", strerror(errno));
		return false;
	}
	if ((size_t) snprintf(dst, size, "%s/%s", cwd, value) >= size)
	{
		sb_cli_error("value of option \"%s\" is too long", name);
		return false;
	}
	return true;
}

/* A decimal integer between min and max; false after saying why. */
static bool
parse_int_option(const char *value, const char *name, long min, long max,
				 int *out)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < min || n > max)
	{
		sb_cli_error("option \"%s\" must be an integer between %ld and %ld",
					 name, min, max);
		return false;
	}
	*out = (int) n;
	return true;
}

/* Apply one option; returns false (after printing why) on a bad value. */
static bool
apply_option(SbCliOptions *opts, int id, const char *name, const char *value)
{
	if (id >= OPT_SETTING)
		return apply_setting(opts, id - OPT_SETTING, name, value);
	switch (id)
	{
		case OPT_NEW_CIPHER_PASS_FILE:
			return copy_path_value(opts->new_cipher_pass_file,
								 sizeof(opts->new_cipher_pass_file), value, name);
		case OPT_CIPHER_KDF_LOG2N:
			return parse_int_option(value, name, 10, 22, &opts->cipher_kdf_log2n);
		case OPT_PGDATA:
			/* a file's pgdata (for archive-push) never names a restore target */
			if (current_pass == 2)
				opts->pgdata_given = true;
			return copy_value(opts->pgdata, sizeof(opts->pgdata), value, name);
		case OPT_PROGRESS:
			opts->progress = true;
			return true;
		case OPT_QUIET:
			sb_cli_verbosity = -1;
			return true;
		case OPT_VERBOSE:
			sb_cli_verbosity = 1;
			return true;
		case OPT_TARGET_DIR:
			if (value[0] == '\0')
			{
				sb_cli_error("option \"%s\" must not be empty", name);
				return false;
			}
			if (current_pass == 2)
				target_dir_given = true;
			return copy_value(opts->target_dir, sizeof(opts->target_dir), value, name);
		case OPT_BACKUP:
			if (strchr(value, '/') != NULL || strcmp(value, ".") == 0 ||
				strcmp(value, "..") == 0)
			{
				sb_cli_error("invalid backup label \"%s\"", value);
				return false;
			}
			return copy_value(opts->backup_label, sizeof(opts->backup_label), value, name);
		case OPT_TARGET_TIME:
			return apply_target(opts, SB_TARGET_TIME, name, value);
		case OPT_TARGET_LSN:
			return apply_target(opts, SB_TARGET_LSN, name, value);
		case OPT_TARGET_XID:
			return apply_target(opts, SB_TARGET_XID, name, value);
		case OPT_TARGET_NAME:
			return apply_target(opts, SB_TARGET_NAME, name, value);
		case OPT_TARGET_ACTION:
			if (!sb_target_action_parse(value, &opts->target_action))
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Valid values are \"pause\", \"promote\" and \"shutdown\".\n", progname);
				return false;
			}
			return true;
		case OPT_TARGET_TIMELINE:
			if (!sb_target_timeline_valid(value))
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Use \"latest\" (the default), \"current\" or a timeline ID such as 2.\n", progname);
				return false;
			}
			return copy_value(opts->target_timeline, sizeof(opts->target_timeline), value, name);
		case OPT_JOBS:
			return parse_int_option(value, name, 1, SB_CLI_MAX_JOBS, &opts->jobs);
		case OPT_DELTA:
			opts->delta = true;
			return true;
		case OPT_DELTA_CHECKSUM:
			opts->delta = opts->delta_checksum = true;
			return true;
		case OPT_STANDBY:
			opts->standby = true;
			return true;
		case OPT_TABLESPACE_MAP:
			return apply_tablespace_map(opts, name, value);
		case OPT_ACCEPT_TABLESPACE_LOCATIONS:
			opts->accept_tablespace_locations = true;
			return true;
		case OPT_OUTPUT:
			if (strcmp(value, "text") == 0)
				opts->output = SB_OUTPUT_TEXT;
			else if (strcmp(value, "json") == 0)
				opts->output = SB_OUTPUT_JSON;
			else
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Valid values are \"text\" and \"json\".\n", progname);
				return false;
			}
			return true;
		case OPT_DRY_RUN:
			opts->dry_run = true;
			return true;
	}
	return false;
}

/* An option a --config file may set: one with a value, not --config. */
static bool
file_option(const struct option *o)
{
	return o->has_arg == required_argument && o->val != OPT_CONFIG;
}

/* Map a configuration file key to an option id; -1 if unknown. */
static int
option_for_key(const char *key)
{
	char		norm[64];
	size_t		i;

	if (strncmp(key, "safebackup.", 11) == 0)
		key += 11;
	for (i = 0; i < sizeof(norm) - 1 && key[i] != '\0'; i++)
		norm[i] = (key[i] == '_') ? '-' : key[i];
	norm[i] = '\0';
	if (key[i] != '\0')
		return -1;
	for (const struct option *o = long_options; o->name != NULL; o++)
		if (strcmp(o->name, norm) == 0 && file_option(o))
			return o->val;
	return -1;
}

/* An unknown key: refused, with the closest known key as a hint. */
static SbStatus
unknown_key(const SbConfLine *line, SbError *err)
{
	const char *names[NCOMMAND_OPTIONS + MAX_SETTING_OPTIONS];
	static char keys[NCOMMAND_OPTIONS + MAX_SETTING_OPTIONS][64];
	int			n = 0;

	for (const struct option *o = long_options; o->name != NULL; o++)
	{
		if (!file_option(o))
			continue;
		snprintf(keys[n], sizeof(keys[n]), "%s", o->name);
		for (char *c = keys[n]; *c; c++)
			if (*c == '-')
				*c = '_';
		names[n] = keys[n];
		n++;
	}
	return sb_conf_unknown_key(line, "option", names, n, err);
}

typedef struct ConfigState
{
	SbCliOptions *opts;
	bool		reported;		/* the option's error is printed already */
} ConfigState;

/* One "key = value" line of a --config file */
static SbStatus
config_value(const SbConfLine *line, void *arg, SbError *err)
{
	ConfigState *state = arg;
	char		name[SB_PATH_MAX + 128];
	int			id = option_for_key(line->key);

	if (id < 0)
		return unknown_key(line, err);
	snprintf(name, sizeof(name), "%s (file \"%s\" line %d)", line->key,
			 line->file, line->lineno);
	if (apply_option(state->opts, id, name, line->value))
		return SB_OK;
	state->reported = true;
	return sb_error_set(err, SB_ERR_CONFIG, "invalid option");
}

static bool
load_config_file(SbCliOptions *opts, const char *path)
{
	char		resolved[PATH_MAX];
	ConfigState state = {opts, false};
	SbError		err;

	if (opts->nconfigs == SB_CLI_MAX_CONFIGS)
	{
		sb_cli_error("too many configuration files (at most %d)", SB_CLI_MAX_CONFIGS);
		return false;
	}
	/* remembered absolute, for the restore_command that restore writes */
	errno = 0;
	if (realpath(path, resolved) == NULL || strlen(resolved) >= SB_PATH_MAX)
	{
		if (errno == ENOENT || errno == EACCES)
			sb_cli_error("could not open configuration file \"%s\": %s", path,
						 strerror(errno));
		else
			sb_cli_error("could not resolve path of configuration file \"%s\": %s",
						 path, strerror(errno ? errno : ENAMETOOLONG));
		return false;
	}
	strcpy(opts->configs[opts->nconfigs++], resolved);
	sb_error_clear(&err);
	if (sb_conf_parse_file(path, config_value, NULL, &state, &err) == SB_OK)
		return true;
	if (!state.reported)
		sb_cli_report(&err);
	return false;
}

/*
 * Keep "--name=value" of a repository option given on the command line, so
 * that restore can pass it on in the restore_command it writes.
 */
static bool
remember_repo_option(SbCliOptions *opts, const char *name, const char *value)
{
	size_t		len = strlen(name) + strlen(value) + 4;
	char	   *arg;

	if (opts->nrepo_args == SB_CLI_MAX_REPO_ARGS)
	{
		sb_cli_error("too many repository options (at most %d)", SB_CLI_MAX_REPO_ARGS);
		return false;
	}
	arg = malloc(len);
	if (arg == NULL)
	{
		sb_cli_error("out of memory");
		return false;
	}
	snprintf(arg, len, "--%s=%s", name, value);
	opts->repo_args[opts->nrepo_args++] = arg;
	return true;
}

/*
 * The level must suit the type; checked after --config and the command
 * line are both applied, as either may set either.  The same table as the
 * safebackup.compress_level check hook (sb_compress_level_range).
 */
static bool
check_compress_level(const SbRepoConfig *repo)
{
	int			min;
	int			max;

	if (repo->compress_type == SB_COMPRESS_NONE ||
		!sb_compress_level_range(repo->compress_type, &min, &max) ||
		(repo->compress_level >= min && repo->compress_level <= max))
		return true;
	sb_cli_error("compression level %d is outside the valid range for compress-type %s",
				 repo->compress_level, sb_compress_type_name(repo->compress_type));
	fprintf(stderr, "%s: hint: Valid levels for %s are %d to %d.\n", progname,
			sb_compress_type_name(repo->compress_type), min, max);
	return false;
}

/* A short option's id is its long option's ("-c" is --config). */
static int
long_id(int c)
{
	if (c == 'c')
		return OPT_CONFIG;
	if (c == 'j')
		return OPT_JOBS;
	return c;
}

/* "--name" of an option id, for messages */
static void
option_name(int id, char *name, size_t size)
{
	for (const struct option *o = long_options; o->name != NULL; o++)
		if (o->val == id)
		{
			snprintf(name, size, "--%s", o->name);
			return;
		}
	snprintf(name, size, "-%c", id);
}

/*
 * restore: -D/--pgdata names the target directory (as pg_basebackup's -D
 * does), the same as --target-dir.
 */
static bool
pgdata_as_target_dir(SbCliOptions *opts)
{
	if (strcmp(opts->command, "restore") != 0 || !opts->pgdata_given)
		return true;
	if (target_dir_given && strcmp(opts->target_dir, opts->pgdata) != 0)
	{
		sb_cli_error("--pgdata and --target-dir name different directories");
		fprintf(stderr, "%s: hint: For restore, -D/--pgdata is the target directory: give one of them.\n", progname);
		return false;
	}
	if (opts->pgdata[0] == '\0')
	{
		sb_cli_error("option \"--pgdata\" must not be empty");
		return false;
	}
	strcpy(opts->target_dir, opts->pgdata);
	return true;
}

int
sb_cli_parse(int argc, char **argv, SbCliOptions *opts)
{
	int			c;
	int			idx;
	const char *env;

	memset(opts, 0, sizeof(*opts));
	sb_config_init(&opts->repo);
	build_options();

	/* the config file first, so that the command line overrides it */
	current_pass = 1;
	target_pass = 0;
	target_dir_given = false;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, SHORT_OPTIONS, long_options, &idx)) != -1)
	{
		c = long_id(c);
		if (c == OPT_CONFIG && !load_config_file(opts, optarg))
			return SB_EXIT_USAGE;
	}

	current_pass = 2;
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, SHORT_OPTIONS, long_options, &idx)) != -1)
	{
		char		name[64];

		if (c == '?')
		{
			fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
			return SB_EXIT_USAGE;
		}
		c = long_id(c);
		if (c == OPT_CONFIG)
			continue;
		option_name(c, name, sizeof(name));
		if (!apply_option(opts, c, name, optarg))
			return SB_EXIT_USAGE;
		if (c >= OPT_SETTING &&
			!(sb_setting_at(c - OPT_SETTING, NULL)->flags & SB_SETTING_LOCAL))
		{
			char		abs[SB_PATH_MAX];
			const char *v = optarg;

			if (sb_setting_at(c - OPT_SETTING, NULL)->flags & SB_SETTING_FILE)
			{
				if (!copy_path_value(abs, sizeof(abs), optarg, name))
					return SB_EXIT_USAGE;
				v = abs;
			}
			if (!remember_repo_option(opts, name + 2, v))
				return SB_EXIT_USAGE;
		}
	}

	if (!check_compress_level(&opts->repo))
		return SB_EXIT_USAGE;

	if (optind >= argc)
	{
		sb_cli_error("no command specified");
		fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
		return SB_EXIT_USAGE;
	}
	opts->command = argv[optind];
	opts->args = argv + optind + 1;
	opts->nargs = argc - optind - 1;
	if (!pgdata_as_target_dir(opts))
		return SB_EXIT_USAGE;

	if (opts->pgdata[0] == '\0')
	{
		env = getenv("PGDATA");
		snprintf(opts->pgdata, sizeof(opts->pgdata), "%s", env && *env ? env : ".");
	}
	return SB_EXIT_OK;
}
