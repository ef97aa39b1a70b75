/*-------------------------------------------------------------------------
 *
 * info_file.c
 *		Small self-checking key = value files kept in two copies; see
 *		info_file.h.
 *
 *-------------------------------------------------------------------------
 */
#include "info_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"

#define CHECKSUM_KEY "checksum="

void
sb_info_init(SbInfoFile *info)
{
	memset(info, 0, sizeof(*info));
}

void
sb_info_free(SbInfoFile *info)
{
	for (int i = 0; i < info->nkeys; i++)
	{
		free(info->keys[i]);
		free(info->values[i]);
	}
	sb_info_init(info);
}

bool
sb_info_set(SbInfoFile *info, const char *key, const char *value)
{
	char	   *v;

	/* keys and values are single-line; refuse anything else */
	if (strpbrk(key, "=\n\r") != NULL || strpbrk(value, "\n\r") != NULL)
		return false;
	v = strdup(value);
	if (v == NULL)
		return false;
	for (int i = 0; i < info->nkeys; i++)
	{
		if (strcmp(info->keys[i], key) == 0)
		{
			free(info->values[i]);
			info->values[i] = v;
			return true;
		}
	}
	if (info->nkeys >= SB_INFO_MAX_KEYS)
	{
		free(v);
		return false;
	}
	info->keys[info->nkeys] = strdup(key);
	if (info->keys[info->nkeys] == NULL)
	{
		free(v);
		return false;
	}
	info->values[info->nkeys++] = v;
	return true;
}

const char *
sb_info_get(const SbInfoFile *info, const char *key)
{
	for (int i = 0; i < info->nkeys; i++)
		if (strcmp(info->keys[i], key) == 0)
			return info->values[i];
	return NULL;
}

char *
sb_info_render(const SbInfoFile *info, size_t *len)
{
	size_t		size = sizeof(CHECKSUM_KEY) + SB_SHA256_HEX_LEN + 2;
	size_t		pos = 0;
	char	   *buf;
	char		hex[SB_SHA256_HEX_LEN + 1];

	for (int i = 0; i < info->nkeys; i++)
		size += strlen(info->keys[i]) + strlen(info->values[i]) + 2;
	buf = malloc(size);
	if (buf == NULL)
		return NULL;
	for (int i = 0; i < info->nkeys; i++)
		pos += sprintf(buf + pos, "%s=%s\n", info->keys[i], info->values[i]);
	sb_sha256_hex(buf, pos, hex);
	pos += sprintf(buf + pos, "%s%s\n", CHECKSUM_KEY, hex);
	*len = pos;
	return buf;
}

SbStatus
sb_info_parse(SbInfoFile *info, const char *text, size_t len,
			  const char *what, SbError *err)
{
	const char *sum;
	const char *p;
	char		hex[SB_SHA256_HEX_LEN + 1];

	sb_info_init(info);
	if (memchr(text, '\0', len) != NULL)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"repository file \"%s\" contains a NUL byte", what);

	/* the checksum line is the last line */
	sum = NULL;
	for (p = text; p < text + len;)
	{
		const char *nl = memchr(p, '\n', text + len - p);

		if (nl == NULL)
			break;
		if (strncmp(p, CHECKSUM_KEY, strlen(CHECKSUM_KEY)) == 0 && nl + 1 == text + len)
			sum = p;
		p = nl + 1;
	}
	if (sum == NULL ||
		(size_t) (text + len - sum) != strlen(CHECKSUM_KEY) + SB_SHA256_HEX_LEN + 1)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"repository file \"%s\" has no valid checksum line", what);
	sb_sha256_hex(text, sum - text, hex);
	if (strncasecmp(hex, sum + strlen(CHECKSUM_KEY), SB_SHA256_HEX_LEN) != 0)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"checksum mismatch in repository file \"%s\"", what);

	for (p = text; p < sum;)
	{
		const char *nl = memchr(p, '\n', sum - p);
		const char *eq = memchr(p, '=', nl - p);
		char	   *key;
		char	   *value;
		bool		ok;

		if (eq == NULL)
		{
			sb_info_free(info);
			return sb_error_set(err, SB_ERR_CORRUPT,
								"invalid line in repository file \"%s\"", what);
		}
		key = strndup(p, eq - p);
		value = strndup(eq + 1, nl - eq - 1);
		ok = key && value && sb_info_set(info, key, value);
		free(key);
		free(value);
		if (!ok)
		{
			sb_info_free(info);
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not parse repository file \"%s\": out of memory or too many keys",
								what);
		}
		p = nl + 1;
	}
	return SB_OK;
}

/* Read one file, through the codec unless raw. */
static SbStatus
load_one(SbStorage *st, const char *path, bool raw, SbInfoFile *info,
		 SbError *err)
{
	char	   *buf;
	const char *data;
	size_t		len;
	SbFilter   *sink;
	SbStatus	rc;

	if (raw)
	{
		rc = sb_storage_get(st, path, SB_INFO_MAX_LEN, &buf, &len, err);
		if (rc != SB_OK)
			return rc;
		rc = sb_info_parse(info, buf, len, path, err);
		free(buf);
		return rc;
	}
	sink = sb_filter_buffer_sink_new(SB_INFO_MAX_LEN);
	if (sink == NULL)
		return sb_error_oom(err);
	rc = sb_codec_fetch(st, path, SB_COMPRESS_NONE, sink, NULL, UINT64_MAX,
						NULL, err);
	if (rc == SB_OK)
	{
		data = sb_filter_buffer_data(sink, &len);
		rc = sb_info_parse(info, data ? data : "", len, path, err);
	}
	sb_filter_free_chain(sink);
	return rc;
}

static SbStatus
load_both(SbStorage *st, const char *path, bool raw, SbInfoFile *info,
		  SbError *err)
{
	char		copy[SB_PATH_MAX];
	SbError		err2;
	SbStatus	rc;
	SbStatus	rc2;

	rc = load_one(st, path, raw, info, err);
	if (rc == SB_OK)
		return SB_OK;
	if (rc != SB_ERR_NOT_FOUND && rc != SB_ERR_CORRUPT)
		return rc;

	snprintf(copy, sizeof(copy), "%s.copy", path);
	rc2 = load_one(st, copy, raw, info, &err2);
	if (rc2 == SB_OK)
		return SB_OK;
	/* report the main file's problem unless only the copy says more */
	if (rc == SB_ERR_NOT_FOUND && rc2 != SB_ERR_NOT_FOUND)
		*err = err2;
	return err->status;
}

SbStatus
sb_info_load(SbStorage *st, const char *path, SbInfoFile *info, SbError *err)
{
	return load_both(st, path, false, info, err);
}

SbStatus
sb_info_load_raw(SbStorage *st, const char *path, SbInfoFile *info,
				 SbError *err)
{
	return load_both(st, path, true, info, err);
}

static SbStatus
put_one(SbStorage *st, const char *path, int flags, bool raw,
		const char *buf, size_t len, SbError *err)
{
	SbRepoConfig cfg;

	if (raw)
		return sb_storage_put(st, path, flags, buf, len, err);
	cfg = st->cfg;
	cfg.compress_type = SB_COMPRESS_NONE;
	return sb_codec_store_buffer(st, &cfg, buf, len, path, flags, NULL, err);
}

static SbStatus
save_both(SbStorage *st, const char *path, int flags, bool raw,
		  const SbInfoFile *info, SbError *err)
{
	char		copy[SB_PATH_MAX];
	char	   *buf;
	size_t		len;
	SbStatus	rc;

	buf = sb_info_render(info, &len);
	if (buf == NULL)
		return sb_error_oom(err);
	rc = put_one(st, path, flags, raw, buf, len, err);
	if (rc == SB_OK)
	{
		snprintf(copy, sizeof(copy), "%s.copy", path);
		rc = put_one(st, copy, flags, raw, buf, len, err);
	}
	free(buf);
	return rc;
}

SbStatus
sb_info_save(SbStorage *st, const char *path, int flags,
			 const SbInfoFile *info, SbError *err)
{
	return save_both(st, path, flags, false, info, err);
}

SbStatus
sb_info_save_raw(SbStorage *st, const char *path, int flags,
				 const SbInfoFile *info, SbError *err)
{
	return save_both(st, path, flags, true, info, err);
}

SbStatus
sb_info_put_raw(SbStorage *st, const char *path, int flags,
				const SbInfoFile *info, SbError *err)
{
	char	   *buf;
	size_t		len;
	SbStatus	rc;

	buf = sb_info_render(info, &len);
	if (buf == NULL)
		return sb_error_oom(err);
	rc = put_one(st, path, flags, true, buf, len, err);
	free(buf);
	return rc;
}
