/*-------------------------------------------------------------------------
 *
 * sb_config.c
 *		Defaults, name helpers and validation for SbRepoConfig; see
 *		sb_config.h.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sb_config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* Table of the repository type names, indexed by SbRepoType. */
static const char *const repo_type_names[] = {
	[SB_REPO_POSIX] = "posix",
	[SB_REPO_SFTP] = "sftp",
	[SB_REPO_TLS] = "tls",
	[SB_REPO_S3] = "s3"
};

static const char *const s3_uri_style_names[] = {
	[SB_S3_URI_HOST] = "host",
	[SB_S3_URI_PATH] = "path"
};

/* Table of the compression names, indexed by SbCompressType. */
static const char *const compress_type_names[] = {
	[SB_COMPRESS_NONE] = "none",
	[SB_COMPRESS_ZLIB] = "zlib",
	[SB_COMPRESS_LZ4] = "lz4",
	[SB_COMPRESS_ZSTD] = "zstd"
};

/*
 * Per compression type: the suffix of stored file names and the levels
 * accepted.  zlib 0 stores without compressing; lz4 3 and up is its
 * high-compression mode; zstd stops at 19 because its levels 20 to 22 need
 * far more memory than the per-process budget the codec keeps to.
 */
static const struct
{
	const char *suffix;
	int			min_level;
	int			max_level;
}			compress_types[] = {
	[SB_COMPRESS_NONE] = {"", 0, 0},
	[SB_COMPRESS_ZLIB] = {".gz", 0, 9},
	[SB_COMPRESS_LZ4] = {".lz4", 1, 12},
	[SB_COMPRESS_ZSTD] = {".zst", 1, 19}
};

/* Table of the cipher names, indexed by SbCipherType. */
static const char *const cipher_type_names[] = {
	[SB_CIPHER_NONE] = "none",
	[SB_CIPHER_AES_256_GCM] = "aes-256-gcm"
};

#define lengthof(array) (sizeof(array) / sizeof((array)[0]))

/* a setting whose limit is what its field holds */
#define FIELD_SETTING(field) \
	{#field, offsetof(SbRepoConfig, field), \
	 sizeof(((SbRepoConfig *) 0)->field) - 1}

/* Table of the string settings and their limits; see sb_config.h. */
static const SbStringSetting string_settings[] = {
	{"repo_path", offsetof(SbRepoConfig, repo_path), SB_REPO_PATH_MAX_LEN},
	FIELD_SETTING(stanza),
	FIELD_SETTING(sftp_host),
	FIELD_SETTING(sftp_user),
	FIELD_SETTING(sftp_private_key_file),
	FIELD_SETTING(sftp_public_key_file),
	FIELD_SETTING(sftp_private_key_passphrase_file),
	FIELD_SETTING(sftp_known_hosts_file),
	FIELD_SETTING(sftp_host_key_fingerprint),
	FIELD_SETTING(cipher_pass_file),
	FIELD_SETTING(tls_host),
	FIELD_SETTING(tls_cert_file),
	FIELD_SETTING(tls_key_file),
	FIELD_SETTING(tls_ca_file),
	FIELD_SETTING(tls_server_name),
	FIELD_SETTING(s3_bucket),
	FIELD_SETTING(s3_region),
	FIELD_SETTING(s3_endpoint),
	FIELD_SETTING(s3_credentials_file),
	FIELD_SETTING(s3_ca_file)
};

void
sb_config_init(SbRepoConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->repo_type = SB_REPO_POSIX;
	cfg->repo_path[0] = '\0';
	strcpy(cfg->stanza, "main");
	cfg->compress_type = SB_DEFAULT_COMPRESS_TYPE;
	cfg->compress_level = SB_DEFAULT_COMPRESS_LEVEL;
	cfg->io_timeout_ms = 60000;
	cfg->sftp_port = 22;
	cfg->tls_port = SB_TLS_DEFAULT_PORT;
	strcpy(cfg->s3_region, "us-east-1");
	cfg->s3_uri_style = SB_S3_URI_HOST;
}

bool
sb_s3_uri_style_parse(const char *name, SbS3UriStyle *out)
{
	size_t		i;

	if (name == NULL)
		return false;
	for (i = 0; i < lengthof(s3_uri_style_names); i++)
	{
		if (strcasecmp(name, s3_uri_style_names[i]) == 0)
		{
			*out = (SbS3UriStyle) i;
			return true;
		}
	}
	return false;
}

const char *
sb_s3_uri_style_name(SbS3UriStyle style)
{
	if ((size_t) style < lengthof(s3_uri_style_names))
		return s3_uri_style_names[style];
	return "unknown";
}

/*
 * Names are matched case-insensitively, as PostgreSQL does for the values
 * of enum GUCs.
 */
bool
sb_repo_type_parse(const char *name, SbRepoType *out)
{
	size_t		i;

	if (name == NULL)
		return false;
	for (i = 0; i < lengthof(repo_type_names); i++)
	{
		if (strcasecmp(name, repo_type_names[i]) == 0)
		{
			*out = (SbRepoType) i;
			return true;
		}
	}
	return false;
}

const char *
sb_repo_type_name(SbRepoType type)
{
	if ((unsigned int) type < lengthof(repo_type_names))
		return repo_type_names[type];
	return "unknown";
}

bool
sb_compress_type_parse(const char *name, SbCompressType *out)
{
	size_t		i;

	if (name == NULL)
		return false;
	for (i = 0; i < lengthof(compress_type_names); i++)
	{
		if (strcasecmp(name, compress_type_names[i]) == 0)
		{
			*out = (SbCompressType) i;
			return true;
		}
	}
	return false;
}

const char *
sb_compress_type_name(SbCompressType type)
{
	if ((unsigned int) type < lengthof(compress_type_names))
		return compress_type_names[type];
	return "unknown";
}

bool
sb_compress_level_range(SbCompressType type, int *min, int *max)
{
	if ((unsigned int) type >= lengthof(compress_types))
		return false;
	*min = compress_types[type].min_level;
	*max = compress_types[type].max_level;
	return true;
}

const char *
sb_compress_suffix(SbCompressType type)
{
	if ((unsigned int) type >= lengthof(compress_types))
		return "";
	return compress_types[type].suffix;
}

bool
sb_compress_type_from_suffix(const char *suffix, SbCompressType *out)
{
	size_t		i;

	for (i = 0; i < lengthof(compress_types); i++)
	{
		if (strcmp(suffix, compress_types[i].suffix) == 0)
		{
			*out = (SbCompressType) i;
			return true;
		}
	}
	return false;
}

bool
sb_cipher_type_parse(const char *name, SbCipherType *out)
{
	size_t		i;

	if (name == NULL)
		return false;
	for (i = 0; i < lengthof(cipher_type_names); i++)
	{
		if (strcasecmp(name, cipher_type_names[i]) == 0)
		{
			*out = (SbCipherType) i;
			return true;
		}
	}
	return false;
}

const char *
sb_cipher_type_name(SbCipherType type)
{
	if ((unsigned int) type < lengthof(cipher_type_names))
		return cipher_type_names[type];
	return "unknown";
}

bool
sb_stanza_name_valid(const char *name)
{
	size_t		len;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return false;

	for (len = 0; name[len] != '\0'; len++)
	{
		char		c = name[len];

		if (len >= SB_NAME_MAX - 1)
			return false;
		if (!((c >= 'A' && c <= 'Z') ||
			  (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') ||
			  c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

const SbStringSetting *
sb_string_setting(const char *name)
{
	size_t		i;

	for (i = 0; i < lengthof(string_settings); i++)
		if (strcmp(string_settings[i].name, name) == 0)
			return &string_settings[i];
	return NULL;
}

SbStatus
sb_string_setting_check(const char *name, const char *shown,
						const char *value, SbError *err)
{
	const SbStringSetting *s = sb_string_setting(name);
	size_t		len = value ? strlen(value) : 0;

	if (s == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"unknown setting \"%s\"", name);
	if (len > s->max_len)
	{
		sb_error_set(err, SB_ERR_CONFIG, "value of \"%s\" is too long", shown);
		sb_error_detail(err, "The value is %zu bytes long; the limit is %zu bytes.",
						len, s->max_len);
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

SbStatus
sb_string_setting_set(SbRepoConfig *cfg, const char *name, const char *shown,
					  const char *value, SbError *err)
{
	SbStatus	rc = sb_string_setting_check(name, shown, value, err);

	if (rc == SB_OK)
	{
		const SbStringSetting *s = sb_string_setting(name);

		/* fits: checked against the limit, which is below the field size */
		strcpy((char *) cfg + s->offset, value ? value : "");
	}
	return rc;
}
