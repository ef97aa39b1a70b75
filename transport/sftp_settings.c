/*-------------------------------------------------------------------------
 *
 * sftp_settings.c
 *		The SFTP driver and the table of its settings: the GUCs, options,
 *		help and README rows of safebackup.sftp_* come from here.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_settings.h"

#include <stdio.h>

#include "sftp_hostkey.h"

_Static_assert(sizeof(SbSftpSettings) <= SB_DRIVER_AREA_SIZE,
			   "SFTP settings do not fit the driver area");

/* "SHA256:<base64>" as ssh-keygen -lf prints it, or 64 hexadecimal digits */
static SbStatus
check_fingerprint(const SbSetting *s, const char *shown, const char *value,
				  SbError *err)
{
	unsigned char digest[32];

	if (value[0] == '\0' || sb_sftp_parse_fingerprint(value, digest))
		return SB_OK;
	sb_error_set(err, SB_ERR_CONFIG, "invalid SSH host key fingerprint \"%s\"",
				 value);
	sb_error_hint(err, "Give the fingerprint as \"ssh-keygen -lf\" prints it (\"SHA256:\" followed by 43 base64 characters) or as 64 hexadecimal digits.");
	return SB_ERR_CONFIG;
}

static const SbSetting sftp_settings[] = {
	{.name = "sftp_host", SB_STRING_FIELD(SbSftpSettings, sftp_host),
		.str_default = "", .arg = "HOST",
		.help = "SFTP server host name or address",
		.short_desc = "Host name or IP address of the SFTP repository server.",
	.doc = "host name or address of the SFTP server"},
	{.name = "sftp_port", .type = SB_SETTING_TYPE_INT,
		SB_INT_FIELD(SbSftpSettings, sftp_port),
		.min = 1, .max = 65535, .int_default = 22, .arg = "PORT",
		.help = "SFTP server port (default 22)",
		.short_desc = "TCP port of the SFTP repository server.",
	.doc = "its TCP port"},
	{.name = "sftp_user", SB_STRING_FIELD(SbSftpSettings, sftp_user),
		.str_default = "", .arg = "USER",
		.help = "SFTP account",
		.short_desc = "User name of the SFTP account.",
	.doc = "the SFTP account"},
	{.name = "sftp_private_key_file",
		SB_STRING_FIELD(SbSftpSettings, sftp_private_key_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "private key (mode 0600 or stricter)",
		.short_desc = "Private key file used to authenticate to the SFTP server.",
		.long_desc = "It must not be readable by other users (mode 0600 or stricter).",
	.doc = "private key (Ed25519 recommended) of the PostgreSQL OS user; refused when group or others can read it, as ssh does"},
	{.name = "sftp_public_key_file",
		SB_STRING_FIELD(SbSftpSettings, sftp_public_key_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "public key (optional)",
		.short_desc = "Public key file matching the private key (optional).",
		.long_desc = "When empty, the public key is derived from the private key.",
	.doc = "matching public key; optional (derived from the private key)"},
	{.name = "sftp_private_key_passphrase_file",
		SB_STRING_FIELD(SbSftpSettings, sftp_private_key_passphrase_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "passphrase of the key (optional)",
		.short_desc = "File holding the passphrase of an encrypted private key (optional).",
		.long_desc = "It must not be readable by other users (mode 0600 or stricter).",
	.doc = "only for a passphrase-protected key: a file holding the passphrase, mode 0600 or stricter"},
	{.name = "sftp_known_hosts_file",
		SB_STRING_FIELD(SbSftpSettings, sftp_known_hosts_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "known_hosts file with the server's host key",
		.short_desc = "OpenSSH known_hosts file that holds the SFTP server's host key.",
		.long_desc = "Used when safebackup.sftp_host_key_fingerprint is empty.",
	.doc = "OpenSSH `known_hosts` file holding the server's host key (hashed entries and `[host]:port` entries work); used when no fingerprint is pinned.  Its `@revoked` lines are honoured even when a fingerprint is pinned; a `@cert-authority` line for the host is refused (host certificates are not supported)"},
	{.name = "sftp_host_key_fingerprint",
		SB_STRING_FIELD(SbSftpSettings, sftp_host_key_fingerprint),
		.str_default = "", .check = check_fingerprint, .arg = "FP",
		.help = "pinned host key, SHA256:... as ssh-keygen -lf",
		.short_desc = "Pinned SHA-256 fingerprint of the SFTP server's host key.",
		.long_desc = "As \"ssh-keygen -lf\" prints it (SHA256:...), or 64 hexadecimal digits.",
	.doc = "pinned host key: `SHA256:...` exactly as `ssh-keygen -lf` prints it, or 64 hex digits.  One of this and `sftp_known_hosts_file` is required: an unknown or changed host key is always refused"},
};

static void
sftp_location(const SbRepoConfig *cfg, char *buf, size_t len)
{
	const SbSftpSettings *s = SB_SFTP(cfg);

	snprintf(buf, len, "sftp://%s@%s:%d%s", s->sftp_user, s->sftp_host,
			 s->sftp_port, cfg->repo_path);
}

const SbDriver sb_sftp_driver = {
	.name = "sftp",
	.ops = &sb_sftp_ops,
	.title = "SFTP repository options (--repo-type=sftp)",
	.settings = sftp_settings,
	.nsettings = (int) (sizeof(sftp_settings) / sizeof(sftp_settings[0])),
	.settings_size = sizeof(SbSftpSettings),
	.default_repo_path = NULL,
	.location = sftp_location
};
