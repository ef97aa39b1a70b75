/*-------------------------------------------------------------------------
 *
 * guc.c
 *		Define the safebackup.* parameters, with check hooks so that a bad
 *		value is refused when it is set or reloaded, never silently replaced.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "utils/guc.h"

#include "cron.h"
#include "guc.h"
#include "guc_backup.h"
#include "sftp_hostkey.h"
#include "worker/lag_warning.h"

static int	sb_repo_type = SB_REPO_POSIX;
static char *sb_repo_path = NULL;
static char *sb_stanza = NULL;
static int	sb_compress_type = SB_DEFAULT_COMPRESS_TYPE;
static int	sb_compress_level = SB_DEFAULT_COMPRESS_LEVEL;
static int	sb_io_timeout = 60000;

/* tls repository (pg_safebackup server) */
static char *sb_tls_host = NULL;
static int	sb_tls_port = SB_TLS_DEFAULT_PORT;
static char *sb_tls_cert_file = NULL;
static char *sb_tls_key_file = NULL;
static char *sb_tls_ca_file = NULL;
static char *sb_tls_server_name = NULL;

/* sftp repository */
static char *sb_sftp_host = NULL;
static int	sb_sftp_port = 22;
static char *sb_sftp_user = NULL;
static char *sb_sftp_private_key_file = NULL;
static char *sb_sftp_public_key_file = NULL;
static char *sb_sftp_private_key_passphrase_file = NULL;
static char *sb_sftp_known_hosts_file = NULL;
static char *sb_sftp_host_key_fingerprint = NULL;
static char *sb_backup_schedule = NULL;
static int	sb_retention_full = 0;
static int	sb_cipher_type = SB_CIPHER_NONE;
static char *sb_cipher_pass_file = NULL;

static const struct config_enum_entry repo_type_options[] = {
	{"posix", SB_REPO_POSIX, false},
	{"sftp", SB_REPO_SFTP, false},
	{"tls", SB_REPO_TLS, false},
	{NULL, 0, false}
};

static const struct config_enum_entry compress_type_options[] = {
	{"none", SB_COMPRESS_NONE, false},
	{"zlib", SB_COMPRESS_ZLIB, false},
	{"lz4", SB_COMPRESS_LZ4, false},
	{"zstd", SB_COMPRESS_ZSTD, false},
	{NULL, 0, false}
};

static const struct config_enum_entry cipher_type_options[] = {
	{"none", SB_CIPHER_NONE, false},
	{"aes-256-gcm", SB_CIPHER_AES_256_GCM, false},
	{NULL, 0, false}
};

/*
 * Every string setting is refused when longer than its SbRepoConfig field
 * holds, with the limits of the table in core/sb_config.c that the CLI uses
 * too: a value is never cut short.
 */
static bool
check_length(const char *name, const char *value)
{
	SbError		err;
	char		shown[96];

	snprintf(shown, sizeof(shown), "safebackup.%s", name);
	if (sb_string_setting_check(name, shown, value, &err) == SB_OK)
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("%s", err.msg);
	GUC_check_errdetail("%s", err.detail);
	return false;
}

/* A check hook that checks the length only, for setting "field". */
#define LENGTH_CHECK_HOOK(field) \
static bool \
check_##field(char **newval, void **extra, GucSource source) \
{ \
	return check_length(#field, *newval); \
}

LENGTH_CHECK_HOOK(sftp_host)
LENGTH_CHECK_HOOK(sftp_user)
LENGTH_CHECK_HOOK(sftp_private_key_file)
LENGTH_CHECK_HOOK(sftp_public_key_file)
LENGTH_CHECK_HOOK(sftp_private_key_passphrase_file)
LENGTH_CHECK_HOOK(sftp_known_hosts_file)
LENGTH_CHECK_HOOK(tls_host)
LENGTH_CHECK_HOOK(tls_cert_file)
LENGTH_CHECK_HOOK(tls_key_file)
LENGTH_CHECK_HOOK(tls_ca_file)
LENGTH_CHECK_HOOK(tls_server_name)

/* The file's permissions are checked when it is read, not here. */
static bool
check_cipher_pass_file(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if ((*newval)[0] != '/')
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("safebackup.cipher_pass_file must be an absolute path");
		return false;
	}
	return check_length("cipher_pass_file", *newval);
}

/*
 * Is level valid for type?  When not, say so with the type's range.  The
 * table is the one the CLI and the codec use (sb_compress_level_range).
 */
static bool
compress_level_fits(int type, int level)
{
	int			min;
	int			max;

	if (type == SB_COMPRESS_NONE ||
		!sb_compress_level_range((SbCompressType) type, &min, &max) ||
		(level >= min && level <= max))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("compression level %d is outside the valid range for safebackup.compress_type \"%s\"",
					 level, sb_compress_type_name((SbCompressType) type));
	GUC_check_errdetail("Valid levels for %s are %d to %d.",
						sb_compress_type_name((SbCompressType) type), min, max);
	return false;
}

/*
 * The level is checked against the type in force.  A reload that changes
 * both is checked in the order of the file, so the type check is left to
 * the level (set compress_type first); a type whose range the level does
 * not fit is refused where the codec is used, with the same message.
 */
static bool
check_compress_level(int *newval, void **extra, GucSource source)
{
	if (compress_level_fits(sb_compress_type, *newval))
		return true;
	GUC_check_errhint("Set safebackup.compress_type first when changing both.");
	return false;
}

static bool
check_repo_path(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;			/* unset: archiving reports "not configured" */
	if ((*newval)[0] != '/')
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("safebackup.repo_path must be an absolute path");
		GUC_check_errhint("Give the repository directory as seen from the repository host, starting with \"/\".");
		return false;
	}
	return check_length("repo_path", *newval);
}

static bool
check_stanza(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || !sb_stanza_name_valid(*newval))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid stanza name \"%s\"", *newval ? *newval : "");
		GUC_check_errdetail("A stanza name is 1 to 63 letters, digits, \"_\", \"-\" or \".\", not starting with \".\".");
		return false;
	}
	return true;
}

static bool
check_sftp_host_key_fingerprint(char **newval, void **extra, GucSource source)
{
	unsigned char digest[32];

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;			/* unset: known_hosts is used */
	if (!sb_sftp_parse_fingerprint(*newval, digest))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid SSH host key fingerprint \"%s\"", *newval);
		GUC_check_errhint("Give the fingerprint as \"ssh-keygen -lf\" prints it (\"SHA256:\" followed by 43 base64 characters) or as 64 hexadecimal digits.");
		return false;
	}
	return check_length("sftp_host_key_fingerprint", *newval);
}

static bool
check_backup_schedule(char **newval, void **extra, GucSource source)
{
	SbCron		cron;
	SbError		err;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;			/* empty: no scheduled backups */
	if (sb_cron_parse(*newval, &cron, &err) != SB_OK)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid value for parameter \"safebackup.backup_schedule\": %s",
						 err.msg);
		if (err.detail[0] != '\0')
			GUC_check_errdetail("%s", err.detail);
		GUC_check_errhint("Give five fields: minute hour day-of-month month day-of-week, for example \"0 2 * * *\" for 02:00 every day; an empty string turns scheduled backups off.");
		return false;
	}
	return true;
}

/* safebackup.tls_*: the client side of repo_type = 'tls' */
static void
sb_define_tls_gucs(void)
{
	DefineCustomStringVariable("safebackup.tls_host",
							   "Host name or address of the pg_safebackup repository server (repo_type tls).",
							   NULL, &sb_tls_host, "", PGC_SIGHUP, 0,
							   check_tls_host, NULL, NULL);
	DefineCustomIntVariable("safebackup.tls_port",
							"TCP port of the pg_safebackup repository server.",
							NULL, &sb_tls_port, SB_TLS_DEFAULT_PORT, 1, 65535,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("safebackup.tls_cert_file",
							   "Client certificate presented to the repository server (PEM, intermediates after it).",
							   NULL, &sb_tls_cert_file, "", PGC_SIGHUP, 0,
							   check_tls_cert_file, NULL, NULL);
	DefineCustomStringVariable("safebackup.tls_key_file",
							   "Private key of the client certificate; must have permissions 0600 or less.",
							   NULL, &sb_tls_key_file, "", PGC_SIGHUP, 0,
							   check_tls_key_file, NULL, NULL);
	DefineCustomStringVariable("safebackup.tls_ca_file",
							   "CA certificate(s) that the repository server's certificate must chain to.",
							   NULL, &sb_tls_ca_file, "", PGC_SIGHUP, 0,
							   check_tls_ca_file, NULL, NULL);
	DefineCustomStringVariable("safebackup.tls_server_name",
							   "Name verified in the repository server's certificate (default: tls_host).",
							   NULL, &sb_tls_server_name, "", PGC_SIGHUP, 0,
							   check_tls_server_name, NULL, NULL);
}

/*
 * safebackup.archive_push_workers: background workers that push ready WAL
 * ahead of the archiver (worker/wal_push.c).
 */
static int	sb_archive_push_workers = 4;

static void
sb_define_push_gucs(void)
{
	DefineCustomIntVariable("safebackup.archive_push_workers",
							"Number of background workers that push ready WAL files to the repository ahead of the archiver.",
							"0 turns push-ahead off: the archiver then pushes every file itself.",
							&sb_archive_push_workers,
							4, 0, SB_PUSH_MAX_WORKERS,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}

int
sb_guc_archive_push_workers(void)
{
	return sb_archive_push_workers;
}

/* Define one string setting of the sftp repository (reloadable). */
static void
define_sftp_string(const char *name, const char *short_desc,
				   const char *long_desc, char **var,
				   GucStringCheckHook check)
{
	DefineCustomStringVariable(name, short_desc, long_desc, var, "",
							   PGC_SIGHUP, 0, check, NULL, NULL);
}

void
sb_define_gucs(void)
{
	DefineCustomEnumVariable("safebackup.repo_type",
							 "Kind of repository: posix, sftp or tls.",
							 NULL,
							 &sb_repo_type,
							 SB_REPO_POSIX,
							 repo_type_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("safebackup.repo_path",
							   "Absolute path of the repository directory.",
							   "For sftp, the path as seen by the SFTP account (inside its chroot).",
							   &sb_repo_path,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_repo_path, NULL, NULL);

	DefineCustomStringVariable("safebackup.stanza",
							   "Name of this cluster's stanza in the repository.",
							   NULL,
							   &sb_stanza,
							   "main",
							   PGC_SIGHUP,
							   0,
							   check_stanza, NULL, NULL);

	DefineCustomEnumVariable("safebackup.compress_type",
							 "Compression of files stored in the repository: none, zlib, lz4 or zstd.",
							 NULL,
							 &sb_compress_type,
							 SB_DEFAULT_COMPRESS_TYPE,
							 compress_type_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("safebackup.compress_level",
							"Compression level (higher is smaller and slower).",
							"zlib 0 to 9, lz4 1 to 12, zstd 1 to 19.",
							&sb_compress_level,
							SB_DEFAULT_COMPRESS_LEVEL, 0, SB_COMPRESS_LEVEL_MAX,
							PGC_SIGHUP,
							0,
							check_compress_level, NULL, NULL);

	DefineCustomIntVariable("safebackup.io_timeout",
							"Time limit of a connection attempt or of one network wait of a remote repository.",
							NULL,
							&sb_io_timeout,
							60000, 1000, 3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	define_sftp_string("safebackup.sftp_host",
					   "Host name or IP address of the SFTP repository server.",
					   NULL, &sb_sftp_host, check_sftp_host);
	DefineCustomIntVariable("safebackup.sftp_port",
							"TCP port of the SFTP repository server.",
							NULL,
							&sb_sftp_port,
							22, 1, 65535,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	define_sftp_string("safebackup.sftp_user",
					   "User name of the SFTP account.",
					   NULL, &sb_sftp_user, check_sftp_user);
	define_sftp_string("safebackup.sftp_private_key_file",
					   "Private key file used to authenticate to the SFTP server.",
					   "It must not be readable by other users (mode 0600 or stricter).",
					   &sb_sftp_private_key_file, check_sftp_private_key_file);
	define_sftp_string("safebackup.sftp_public_key_file",
					   "Public key file matching the private key (optional).",
					   "When empty, the public key is derived from the private key.",
					   &sb_sftp_public_key_file, check_sftp_public_key_file);
	define_sftp_string("safebackup.sftp_private_key_passphrase_file",
					   "File holding the passphrase of an encrypted private key (optional).",
					   "It must not be readable by other users (mode 0600 or stricter).",
					   &sb_sftp_private_key_passphrase_file, check_sftp_private_key_passphrase_file);
	define_sftp_string("safebackup.sftp_known_hosts_file",
					   "OpenSSH known_hosts file that holds the SFTP server's host key.",
					   "Used when safebackup.sftp_host_key_fingerprint is empty.",
					   &sb_sftp_known_hosts_file, check_sftp_known_hosts_file);
	define_sftp_string("safebackup.sftp_host_key_fingerprint",
					   "Pinned SHA-256 fingerprint of the SFTP server's host key.",
					   "As \"ssh-keygen -lf\" prints it (SHA256:...), or 64 hexadecimal digits.",
					   &sb_sftp_host_key_fingerprint,
					   check_sftp_host_key_fingerprint);

	DefineCustomStringVariable("safebackup.backup_schedule",
							   "When the launcher takes full backups, in cron syntax; empty means never.",
							   "Five fields: minute hour day-of-month month day-of-week, in the time zone of the server's timezone setting.",
							   &sb_backup_schedule,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_backup_schedule, NULL, NULL);

	DefineCustomIntVariable("safebackup.retention_full",
							"Number of full backups to keep; older backups and the WAL only they need are removed.",
							"0 keeps every backup and all WAL (expire then only removes the leftovers of interrupted backups).",
							&sb_retention_full,
							0, 0, 9999,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("safebackup.cipher_type",
							 "Encryption of the repository: none or aes-256-gcm.",
							 "Fixed when the stanza is created; it cannot be changed for an existing stanza.",
							 &sb_cipher_type,
							 SB_CIPHER_NONE,
							 cipher_type_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("safebackup.cipher_pass_file",
							   "File holding the repository encryption passphrase.",
							   "It must be owned by the server's operating system user and readable by it only (0600).",
							   &sb_cipher_pass_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   check_cipher_pass_file, NULL, NULL);

	sb_define_tls_gucs();
	sb_define_push_gucs();
	sb_define_backup_gucs();
	sb_define_lag_warning_guc();

	MarkGUCPrefixReserved("safebackup");
}

/*
 * Copy a checked setting into its field: the check hooks refused anything
 * longer, so this cannot fail unless the setting is missing from the table.
 */
static void
copy_setting(SbRepoConfig *cfg, const char *name, const char *value)
{
	SbError		err;

	if (sb_string_setting_set(cfg, name, name, value, &err) != SB_OK)
		elog(ERROR, "could not copy setting \"%s\": %s", name, err.msg);
}

void
sb_guc_repo_config(SbRepoConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	sb_config_init(cfg);
	cfg->repo_type = (SbRepoType) sb_repo_type;
	copy_setting(cfg, "repo_path", sb_repo_path);
	copy_setting(cfg, "stanza", sb_stanza ? sb_stanza : "main");
	cfg->compress_type = (SbCompressType) sb_compress_type;
	cfg->compress_level = sb_compress_level;
	cfg->io_timeout_ms = sb_io_timeout;

#define COPY_SETTING(field, var) copy_setting(cfg, #field, var)
	COPY_SETTING(sftp_host, sb_sftp_host);
	cfg->sftp_port = sb_sftp_port;
	COPY_SETTING(sftp_user, sb_sftp_user);
	COPY_SETTING(sftp_private_key_file, sb_sftp_private_key_file);
	COPY_SETTING(sftp_public_key_file, sb_sftp_public_key_file);
	COPY_SETTING(sftp_private_key_passphrase_file, sb_sftp_private_key_passphrase_file);
	COPY_SETTING(sftp_known_hosts_file, sb_sftp_known_hosts_file);
	COPY_SETTING(sftp_host_key_fingerprint, sb_sftp_host_key_fingerprint);
	cfg->retention_full = sb_retention_full;
	cfg->cipher_type = (SbCipherType) sb_cipher_type;
	COPY_SETTING(cipher_pass_file, sb_cipher_pass_file);
	COPY_SETTING(tls_host, sb_tls_host);
	cfg->tls_port = sb_tls_port;
	COPY_SETTING(tls_cert_file, sb_tls_cert_file);
	COPY_SETTING(tls_key_file, sb_tls_key_file);
	COPY_SETTING(tls_ca_file, sb_tls_ca_file);
	COPY_SETTING(tls_server_name, sb_tls_server_name);
#undef COPY_SETTING

	/* tls: repo_path is on the server, its repository root unless set */
	if (cfg->repo_type == SB_REPO_TLS && cfg->repo_path[0] == '\0' &&
		cfg->tls_host[0] != '\0')
		strlcpy(cfg->repo_path, "/", sizeof(cfg->repo_path));
}

const char *
sb_guc_backup_schedule(void)
{
	return sb_backup_schedule ? sb_backup_schedule : "";
}
