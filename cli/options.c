/*-------------------------------------------------------------------------
 *
 * options.c
 *		Command-line and --config file options of pg_safebackup.
 *
 * Every option can be given as --name=value on the command line or as
 * "name = value" in the configuration file (the same names as the
 * safebackup.* server settings, with "_" or "-", with or without the
 * "safebackup." prefix).  The command line wins over the file: a value
 * given on the command line replaces the file's, a recovery target given on
 * the command line replaces the file's target (whatever its kind), and a
 * --tablespace-map for an OID replaces the file's mapping of that OID.
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
#include "sftp_hostkey.h"

typedef enum OptId
{
	OPT_CONFIG = 256,
	/* repository options: the ones restore passes on in restore_command */
	OPT_REPO_TYPE,
	OPT_REPO_PATH,
	OPT_STANZA,
	OPT_COMPRESS_TYPE,
	OPT_COMPRESS_LEVEL,
	OPT_IO_TIMEOUT,
	OPT_SFTP_HOST,
	OPT_SFTP_PORT,
	OPT_SFTP_USER,
	OPT_SFTP_PRIVATE_KEY_FILE,
	OPT_SFTP_PUBLIC_KEY_FILE,
	OPT_SFTP_PRIVATE_KEY_PASSPHRASE_FILE,
	OPT_SFTP_KNOWN_HOSTS_FILE,
	OPT_SFTP_HOST_KEY_FINGERPRINT,
	OPT_CIPHER_TYPE,
	OPT_CIPHER_PASS_FILE,
	OPT_TLS_HOST,
	OPT_TLS_PORT,
	OPT_TLS_CERT_FILE,
	OPT_TLS_KEY_FILE,
	OPT_TLS_CA_FILE,
	OPT_TLS_SERVER_NAME,
	OPT_END_REPO_OPTIONS,		/* add repository options above this line */
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
	OPT_RETENTION_FULL,
	OPT_DRY_RUN,
	OPT_NEW_CIPHER_PASS_FILE,
	OPT_CIPHER_KDF_LOG2N,
	OPT_PGDATA = 'D'
} OptId;

static const struct option long_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"repo-type", required_argument, NULL, OPT_REPO_TYPE},
	{"repo-path", required_argument, NULL, OPT_REPO_PATH},
	{"stanza", required_argument, NULL, OPT_STANZA},
	{"compress-type", required_argument, NULL, OPT_COMPRESS_TYPE},
	{"compress-level", required_argument, NULL, OPT_COMPRESS_LEVEL},
	{"io-timeout", required_argument, NULL, OPT_IO_TIMEOUT},
	{"sftp-host", required_argument, NULL, OPT_SFTP_HOST},
	{"sftp-port", required_argument, NULL, OPT_SFTP_PORT},
	{"sftp-user", required_argument, NULL, OPT_SFTP_USER},
	{"sftp-private-key-file", required_argument, NULL, OPT_SFTP_PRIVATE_KEY_FILE},
	{"sftp-public-key-file", required_argument, NULL, OPT_SFTP_PUBLIC_KEY_FILE},
	{"sftp-private-key-passphrase-file", required_argument, NULL, OPT_SFTP_PRIVATE_KEY_PASSPHRASE_FILE},
	{"sftp-known-hosts-file", required_argument, NULL, OPT_SFTP_KNOWN_HOSTS_FILE},
	{"sftp-host-key-fingerprint", required_argument, NULL, OPT_SFTP_HOST_KEY_FINGERPRINT},
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
	{"retention-full", required_argument, NULL, OPT_RETENTION_FULL},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"cipher-type", required_argument, NULL, OPT_CIPHER_TYPE},
	{"cipher-pass-file", required_argument, NULL, OPT_CIPHER_PASS_FILE},
	{"new-cipher-pass-file", required_argument, NULL, OPT_NEW_CIPHER_PASS_FILE},
	{"cipher-kdf-log2n", required_argument, NULL, OPT_CIPHER_KDF_LOG2N},
	{"tls-host", required_argument, NULL, OPT_TLS_HOST},
	{"tls-port", required_argument, NULL, OPT_TLS_PORT},
	{"tls-cert-file", required_argument, NULL, OPT_TLS_CERT_FILE},
	{"tls-key-file", required_argument, NULL, OPT_TLS_KEY_FILE},
	{"tls-ca-file", required_argument, NULL, OPT_TLS_CA_FILE},
	{"tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME},
	{NULL, 0, NULL, 0}
};

/*
 * Which pass is applying options: 1 for --config files, 2 for the command
 * line.  A recovery target set in an earlier pass may be replaced by one of
 * another kind; two kinds in the same pass are a usage error.
 */
static int	current_pass = 0;
static int	target_pass = 0;

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
 * A string setting of the repository: refused when longer than the limit
 * the server's settings have too (the table in core/sb_config.c).
 */
static bool
set_repo_string(SbCliOptions *opts, const char *setting, const char *value,
				const char *name)
{
	SbError		err;

	if (sb_string_setting_set(&opts->repo, setting, name, value, &err) != SB_OK)
	{
		sb_cli_report(&err);
		return false;
	}
	return true;
}

/* A file name setting of the repository: made absolute, then as above. */
static bool
set_repo_path_string(SbCliOptions *opts, const char *setting,
					 const char *value, const char *name)
{
	char		cwd[PATH_MAX];
	char	   *abs;
	bool		ok;

	if (value[0] == '/' || value[0] == '\0')
		return set_repo_string(opts, setting, value, name);
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
	ok = set_repo_string(opts, setting, abs, name);
	free(abs);
	return ok;
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

/* "N" milliseconds, or N with a unit: ms, s, min. */
static bool
parse_duration_ms(const char *value, int *out)
{
	char	   *end;
	long		n;
	long		scale = 1;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || n < 0)
		return false;
	if (strcmp(end, "s") == 0)
		scale = 1000;
	else if (strcmp(end, "min") == 0)
		scale = 60000;
	else if (*end != '\0' && strcmp(end, "ms") != 0)
		return false;
	if (n > 3600000 / scale)
		return false;
	*out = (int) (n * scale);
	return true;
}

/* Apply one option; returns false (after printing why) on a bad value. */
static bool
apply_option(SbCliOptions *opts, int id, const char *name, const char *value)
{
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
			return set_repo_string(opts, "repo_path", value, name);
		case OPT_STANZA:
			if (!sb_stanza_name_valid(value))
			{
				sb_cli_error("invalid stanza name \"%s\"", value);
				fprintf(stderr, "%s: hint: A stanza name is 1 to 63 letters, digits, \"_\", \"-\" or \".\", not starting with \".\".\n", progname);
				return false;
			}
			return set_repo_string(opts, "stanza", value, name);
		case OPT_COMPRESS_TYPE:
			if (!sb_compress_type_parse(value, &opts->repo.compress_type))
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Valid values are \"none\", \"zlib\", \"lz4\" and \"zstd\".\n", progname);
				return false;
			}
			return true;
		case OPT_COMPRESS_LEVEL:
			/* the range of the type is checked once all options are in */
			return parse_int_option(value, name, 0, SB_COMPRESS_LEVEL_MAX,
									&opts->repo.compress_level);
		case OPT_IO_TIMEOUT:
			if (!parse_duration_ms(value, &opts->repo.io_timeout_ms) ||
				opts->repo.io_timeout_ms < 1000)
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Give a time between 1s and 60min, such as \"30s\" or \"60000\" (milliseconds).\n", progname);
				return false;
			}
			return true;
		case OPT_SFTP_HOST:
			return set_repo_string(opts, "sftp_host", value, name);
		case OPT_SFTP_PORT:
			return parse_int_option(value, name, 1, 65535, &opts->repo.sftp_port);
		case OPT_SFTP_USER:
			return set_repo_string(opts, "sftp_user", value, name);
		case OPT_SFTP_PRIVATE_KEY_FILE:
			return set_repo_path_string(opts, "sftp_private_key_file", value, name);
		case OPT_SFTP_PUBLIC_KEY_FILE:
			return set_repo_path_string(opts, "sftp_public_key_file", value, name);
		case OPT_SFTP_PRIVATE_KEY_PASSPHRASE_FILE:
			return set_repo_path_string(opts, "sftp_private_key_passphrase_file", value, name);
		case OPT_SFTP_KNOWN_HOSTS_FILE:
			return set_repo_path_string(opts, "sftp_known_hosts_file", value, name);
		case OPT_SFTP_HOST_KEY_FINGERPRINT:
			{
				unsigned char digest[32];

				if (value[0] != '\0' && !sb_sftp_parse_fingerprint(value, digest))
				{
					sb_cli_error("invalid SSH host key fingerprint \"%s\"", value);
					fprintf(stderr, "%s: hint: Give the fingerprint as \"ssh-keygen -lf\" prints it (\"SHA256:\" followed by 43 base64 characters) or as 64 hexadecimal digits.\n", progname);
					return false;
				}
				return set_repo_string(opts, "sftp_host_key_fingerprint", value, name);
			}
		case OPT_CIPHER_TYPE:
			if (!sb_cipher_type_parse(value, &opts->repo.cipher_type))
			{
				sb_cli_error("invalid value \"%s\" for option \"%s\"", value, name);
				fprintf(stderr, "%s: hint: Valid values are \"none\" and \"aes-256-gcm\".\n", progname);
				return false;
			}
			return true;
		case OPT_CIPHER_PASS_FILE:
			return set_repo_path_string(opts, "cipher_pass_file", value, name);
		case OPT_NEW_CIPHER_PASS_FILE:
			return copy_path_value(opts->new_cipher_pass_file,
								 sizeof(opts->new_cipher_pass_file), value, name);
		case OPT_CIPHER_KDF_LOG2N:
			return parse_int_option(value, name, 10, 22, &opts->cipher_kdf_log2n);
		case OPT_PGDATA:
			return copy_value(opts->pgdata, sizeof(opts->pgdata), value, name);
		case OPT_TARGET_DIR:
			if (value[0] == '\0')
			{
				sb_cli_error("option \"%s\" must not be empty", name);
				return false;
			}
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
		case OPT_RETENTION_FULL:
			return parse_int_option(value, name, 0, 9999, &opts->repo.retention_full);
		case OPT_DRY_RUN:
			opts->dry_run = true;
			return true;
		case OPT_TLS_HOST:
			return set_repo_string(opts, "tls_host", value, name);
		case OPT_TLS_PORT:
			return parse_int_option(value, name, 1, 65535, &opts->repo.tls_port);
		case OPT_TLS_CERT_FILE:
			return set_repo_path_string(opts, "tls_cert_file", value, name);
		case OPT_TLS_KEY_FILE:
			return set_repo_path_string(opts, "tls_key_file", value, name);
		case OPT_TLS_CA_FILE:
			return set_repo_path_string(opts, "tls_ca_file", value, name);
		case OPT_TLS_SERVER_NAME:
			return set_repo_string(opts, "tls_server_name", value, name);
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
	for (i = 0; i < sizeof(norm) - 1 && key[i] != '\0'; i++)
		norm[i] = (key[i] == '_') ? '-' : key[i];
	norm[i] = '\0';
	for (const struct option *o = long_options; o->name != NULL; o++)
		if (strcmp(o->name, norm) == 0 && o->val != OPT_CONFIG &&
			o->val != OPT_DRY_RUN && o->val != OPT_STANDBY && o->val != OPT_DELTA && o->val != OPT_DELTA_CHECKSUM &&
			o->val != OPT_ACCEPT_TABLESPACE_LOCATIONS)
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
	char		resolved[PATH_MAX];
	char		line[4096];
	int			lineno = 0;
	bool		ok = true;

	if (f == NULL)
	{
		sb_cli_error("could not open configuration file \"%s\": %s", path, strerror(errno));
		return false;
	}
	if (opts->nconfigs == SB_CLI_MAX_CONFIGS)
	{
		sb_cli_error("too many configuration files (at most %d)", SB_CLI_MAX_CONFIGS);
		fclose(f);
		return false;
	}
	/* remembered absolute, for the restore_command that restore writes */
	errno = 0;
	if (realpath(path, resolved) == NULL || strlen(resolved) >= SB_PATH_MAX)
	{
		sb_cli_error("could not resolve path of configuration file \"%s\": %s",
					 path, strerror(errno ? errno : ENAMETOOLONG));
		fclose(f);
		return false;
	}
	strcpy(opts->configs[opts->nconfigs++], resolved);
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

/* Options whose value is a file name (made absolute when applied). */
static bool
option_is_path(int id)
{
	switch (id)
	{
		case OPT_SFTP_PRIVATE_KEY_FILE:
		case OPT_SFTP_PUBLIC_KEY_FILE:
		case OPT_SFTP_PRIVATE_KEY_PASSPHRASE_FILE:
		case OPT_SFTP_KNOWN_HOSTS_FILE:
		case OPT_CIPHER_PASS_FILE:
		case OPT_TLS_CERT_FILE:
		case OPT_TLS_KEY_FILE:
		case OPT_TLS_CA_FILE:
			return true;
		default:
			return false;
	}
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

int
sb_cli_parse(int argc, char **argv, SbCliOptions *opts)
{
	int			c;
	int			idx;
	const char *env;

	memset(opts, 0, sizeof(*opts));
	sb_config_init(&opts->repo);

	/* the config file first, so that the command line overrides it */
	current_pass = 1;
	target_pass = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "D:", long_options, &idx)) != -1)
	{
		if (c == OPT_CONFIG && !load_config_file(opts, optarg))
			return SB_EXIT_USAGE;
	}

	current_pass = 2;
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
		if (c > OPT_CONFIG && c < OPT_END_REPO_OPTIONS)
		{
			char		abs[SB_PATH_MAX];
			const char *v = optarg;

			if (option_is_path(c))
			{
				if (!copy_path_value(abs, sizeof(abs), optarg, name))
					return SB_EXIT_USAGE;
				v = abs;
			}
			if (!remember_repo_option(opts, long_options[idx].name, v))
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

	if (opts->pgdata[0] == '\0')
	{
		env = getenv("PGDATA");
		snprintf(opts->pgdata, sizeof(opts->pgdata), "%s", env && *env ? env : ".");
	}
	return SB_EXIT_OK;
}
