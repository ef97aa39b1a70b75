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

#include "guc.h"

static int	sb_repo_type = SB_REPO_POSIX;
static char *sb_repo_path = NULL;
static char *sb_stanza = NULL;
static int	sb_compress_type = SB_COMPRESS_ZLIB;
static int	sb_compress_level = 1;
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
	{NULL, 0, false}
};

static const struct config_enum_entry cipher_type_options[] = {
	{"none", SB_CIPHER_NONE, false},
	{"aes-256-gcm", SB_CIPHER_AES_256_GCM, false},
	{NULL, 0, false}
};

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
	if (strlen(*newval) >= SB_PATH_MAX)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("safebackup.cipher_pass_file is too long");
		return false;
	}
	return true;
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
	if (strlen(*newval) >= SB_PATH_MAX - 256)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("safebackup.repo_path is too long");
		GUC_check_errdetail("The limit is %d bytes.", SB_PATH_MAX - 256);
		return false;
	}
	return true;
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
							 "Compression of files stored in the repository: none or zlib.",
							 NULL,
							 &sb_compress_type,
							 SB_COMPRESS_ZLIB,
							 compress_type_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("safebackup.compress_level",
							"Compression level (0-9, higher is smaller and slower).",
							NULL,
							&sb_compress_level,
							1, 0, 9,
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

	MarkGUCPrefixReserved("safebackup");
}

void
sb_guc_repo_config(SbRepoConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	sb_config_init(cfg);
	cfg->repo_type = (SbRepoType) sb_repo_type;
	strlcpy(cfg->repo_path, sb_repo_path ? sb_repo_path : "", sizeof(cfg->repo_path));
	strlcpy(cfg->stanza, sb_stanza ? sb_stanza : "main", sizeof(cfg->stanza));
	cfg->compress_type = (SbCompressType) sb_compress_type;
	cfg->compress_level = sb_compress_level;
	cfg->cipher_type = (SbCipherType) sb_cipher_type;
	strlcpy(cfg->cipher_pass_file, sb_cipher_pass_file ? sb_cipher_pass_file : "",
			sizeof(cfg->cipher_pass_file));
}
