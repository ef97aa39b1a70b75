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
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "settings.h"
#include "storage.h"

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

void
sb_config_init(SbRepoConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	sb_settings_defaults(cfg);
}

void
sb_config_default_repo_path(SbRepoConfig *cfg)
{
	const SbDriver *d = sb_driver_of(cfg);

	if (cfg->repo_path[0] == '\0' && d != NULL && d->default_repo_path != NULL)
		snprintf(cfg->repo_path, sizeof(cfg->repo_path), "%s", d->default_repo_path);
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

/*
 * Parse the decimal digits at *p into a uint32, moving *p past them;
 * false when there are none or the value is too large.
 */
bool
sb_parse_u32(const char **p, uint32_t *out)
{
	uint64_t	v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
	{
		v = v * 10 + (uint64_t) (*s - '0');
		if (v > UINT32_MAX)
			return false;
		s++;
	}
	*p = s;
	*out = (uint32_t) v;
	return true;
}
