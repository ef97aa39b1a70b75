/*-------------------------------------------------------------------------
 *
 * tls_settings.c
 *		The TLS driver (the client of "pg_safebackup server") and the table
 *		of its settings: the GUCs, options, help and README rows of
 *		safebackup.tls_* come from here.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "tls_settings.h"

#include <stdio.h>

_Static_assert(sizeof(SbTlsSettings) <= SB_DRIVER_AREA_SIZE,
			   "TLS settings do not fit the driver area");

static const SbSetting tls_settings[] = {
	{.name = "tls_host", SB_STRING_FIELD(SbTlsSettings, tls_host),
		.str_default = "", .arg = "HOST",
		.help = "repository server",
		.short_desc = "Host name or address of the pg_safebackup repository server (repo_type tls).",
	.doc = "`repo_type = 'tls'`: host name or IP address of the [repository server](#tls-repository-server)"},
	{.name = "tls_port", .type = SB_SETTING_TYPE_INT,
		SB_INT_FIELD(SbTlsSettings, tls_port),
		.min = 1, .max = 65535, .int_default = SB_TLS_DEFAULT_PORT,
		.arg = "PORT", .help = "its port (default 8432)",
		.short_desc = "TCP port of the pg_safebackup repository server.",
	.doc = "its TCP port"},
	{.name = "tls_cert_file", SB_STRING_FIELD(SbTlsSettings, tls_cert_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "client certificate (with intermediates)",
		.short_desc = "Client certificate presented to the repository server (PEM, intermediates after it).",
	.doc = "this host's client certificate (PEM; intermediate certificates may follow it); its common name is the identity the server authorizes"},
	{.name = "tls_key_file", SB_STRING_FIELD(SbTlsSettings, tls_key_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "its private key (mode 0600)",
		.short_desc = "Private key of the client certificate; must have permissions 0600 or less.",
	.doc = "the certificate's private key; must be owned by the PostgreSQL OS user with permissions `0600` or less, else refused"},
	{.name = "tls_ca_file", SB_STRING_FIELD(SbTlsSettings, tls_ca_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "CA that signed the server certificate",
		.short_desc = "CA certificate(s) that the repository server's certificate must chain to.",
	.doc = "CA certificate(s) the server's certificate must chain to"},
	{.name = "tls_server_name", SB_STRING_FIELD(SbTlsSettings, tls_server_name),
		.str_default = "", .arg = "NAME",
		.help = "name to verify (default: the host)",
		.short_desc = "Name verified in the repository server's certificate (default: tls_host).",
		.doc_default = "(empty: `tls_host`)",
	.doc = "name (DNS or IP) the server's certificate must carry; verification cannot be turned off"},
};

static void
tls_location(const SbRepoConfig *cfg, char *buf, size_t len)
{
	const SbTlsSettings *s = SB_TLS(cfg);

	snprintf(buf, len, "tls://%s:%d%s", s->tls_host, s->tls_port,
			 cfg->repo_path);
}

const SbDriver sb_tls_driver = {
	.name = "tls",
	.ops = &sb_tls_ops,
	.title = "TLS repository options (--repo-type=tls)",
	.settings = tls_settings,
	.nsettings = (int) (sizeof(tls_settings) / sizeof(tls_settings[0])),
	.settings_size = sizeof(SbTlsSettings),
	/* the root of the server's repository */
	.default_repo_path = "/",
	.location = tls_location
};
