/*-------------------------------------------------------------------------
 *
 * repo_info.c
 *		The WAL range held per timeline in a stanza; see repo_info.h.
 *
 * WAL lives in <stanza>/wal/<TTTTTTTTXXXXXXXX>/, one directory per
 * timeline and "log" number, as "<segment>-<sha256>[suffix]".  Directory
 * names sort like the segments they hold, so the oldest segment of a
 * timeline is in its first non-empty directory and the newest in its last
 * one: only those are read, not the whole archive.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "repo_info.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "name_list.h"
#include "wal.h"

#define WAL_DIR_LEN		16
#define WAL_SEG_LEN		24


static bool
upper_hex(const char *s, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char) s[i]) || islower((unsigned char) s[i]))
			return false;
	return true;
}

static bool
wal_dir_cb(const char *name, const SbStat *st, void *arg)
{
	SbNameList *l = arg;

	if (!st->is_dir || strlen(name) != WAL_DIR_LEN || !upper_hex(name, WAL_DIR_LEN))
		return true;
	if (!sb_name_list_add(l, name))
	{
		l->oom = true;
		return false;
	}
	return true;
}

typedef struct SegScan
{
	const char *dir;			/* directory name, the segments' prefix */
	char		min[SB_WALNAME_MAX];
	char		max[SB_WALNAME_MAX];
} SegScan;

/* "<24 hex>-<64 or 32 hex>[suffix]" whose segment belongs in this directory */
static bool
segment_cb(const char *name, const SbStat *st, void *arg)
{
	SegScan    *s = arg;
	const char *p = name + WAL_SEG_LEN + 1;
	SbCompressType ct;

	if (st->is_dir || strlen(name) < WAL_SEG_LEN + 1 + SB_XXH128_HEX_LEN ||
		name[WAL_SEG_LEN] != '-' || !upper_hex(name, WAL_SEG_LEN) ||
		strncmp(name, s->dir, WAL_DIR_LEN) != 0)
		return true;
	if (!sb_wal_stored_tail_parse(p, NULL, &ct))
		return true;

	if (s->min[0] == '\0' || strncmp(name, s->min, WAL_SEG_LEN) < 0)
	{
		memcpy(s->min, name, WAL_SEG_LEN);
		s->min[WAL_SEG_LEN] = '\0';
	}
	if (s->max[0] == '\0' || strncmp(name, s->max, WAL_SEG_LEN) > 0)
	{
		memcpy(s->max, name, WAL_SEG_LEN);
		s->max[WAL_SEG_LEN] = '\0';
	}
	return true;
}

static SbStatus
scan_dir(SbStorage *st, const char *stanza, const char *dir, SegScan *s,
		 SbError *err)
{
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	memset(s, 0, sizeof(*s));
	s->dir = dir;
	snprintf(path, sizeof(path), "%s/wal/%s", stanza, dir);
	rc = sb_storage_list(st, path, segment_cb, s, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		/* removed since we listed its parent */
		sb_error_clear(err);
		return SB_OK;
	}
	return rc;
}


SbStatus
sb_wal_ranges(SbStorage *st, const char *stanza, SbWalRange **ranges,
			  int *nranges, SbError *err)
{
	SbNameList	dirs;
	SbWalRange *out = NULL;
	int			nout = 0;
	char		path[SB_PATH_MAX];
	SbStatus	rc;
	int			start;

	*ranges = NULL;
	*nranges = 0;
	memset(&dirs, 0, sizeof(dirs));
	snprintf(path, sizeof(path), "%s/wal", stanza);
	rc = sb_storage_list(st, path, wal_dir_cb, &dirs, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_error_clear(err);
		return SB_OK;
	}
	if (rc == SB_OK && dirs.oom)
		rc = sb_error_oom(err);
	if (rc != SB_OK)
	{
		sb_name_list_free(&dirs);
		return rc;
	}
	if (dirs.n > 1)
		sb_name_list_sort(&dirs);

	/* one group of directories per timeline (first 8 digits) */
	for (start = 0; start < dirs.n && rc == SB_OK;)
	{
		int			end = start;
		int			first_dir = start;
		int			i;
		char		tli[9];
		SegScan		s;
		SbWalRange	range;

		while (end < dirs.n && strncmp(dirs.names[end], dirs.names[start], 8) == 0)
			end++;

		memset(&range, 0, sizeof(range));
		memcpy(tli, dirs.names[start], 8);
		tli[8] = '\0';
		range.timeline = (unsigned int) strtoul(tli, NULL, 16);

		/* oldest: the first directory holding a segment */
		for (i = start; i < end && rc == SB_OK; i++)
		{
			rc = scan_dir(st, stanza, dirs.names[i], &s, err);
			if (rc == SB_OK && s.min[0] != '\0')
			{
				memcpy(range.first, s.min, sizeof(range.first));
				memcpy(range.last, s.max, sizeof(range.last));
				first_dir = i;
				break;
			}
		}
		/* newest: the last directory holding a segment */
		for (i = end - 1; range.first[0] != '\0' && i > first_dir && rc == SB_OK; i--)
		{
			rc = scan_dir(st, stanza, dirs.names[i], &s, err);
			if (rc == SB_OK && s.max[0] != '\0')
			{
				memcpy(range.last, s.max, sizeof(range.last));
				break;
			}
		}
		if (rc == SB_OK && range.first[0] != '\0')
		{
			SbWalRange *p = realloc(out, sizeof(SbWalRange) * (size_t) (nout + 1));

			if (p == NULL)
				rc = sb_error_oom(err);
			else
			{
				out = p;
				out[nout++] = range;
			}
		}
		start = end;
	}
	sb_name_list_free(&dirs);
	if (rc != SB_OK)
	{
		free(out);
		return rc;
	}
	*ranges = out;
	*nranges = nout;
	return SB_OK;
}
