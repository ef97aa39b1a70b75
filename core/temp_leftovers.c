/*-------------------------------------------------------------------------
 *
 * temp_leftovers.c
 *		Find (and, for expire, remove) the temporary files of writers that
 *		died in a stanza; see temp_leftovers.h.
 *
 * Every driver writes "<final>.tmp.<pid>.<n>" and publishes it by rename or
 * link; a writer killed before that leaves the temporary file behind, and
 * nothing else would ever look at it (listings hide temporary names).  Only
 * the places a dying writer leaves them are scanned: the stanza directory
 * (stanza.info and its copy) and each WAL directory.  A backup killed in
 * the middle leaves its directory without a manifest, and expire removes
 * that directory whole.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "temp_leftovers.h"

#include <stdio.h>
#include <string.h>

#include "name_list.h"

typedef struct ScanState
{
	SbStorage  *st;
	int64_t		now;
	int64_t		min_age;
	bool		remove;
	SbTempLeftovers *out;
	SbNameList	subdirs;		/* WAL directories, when scanning <stanza>/wal */
	bool		want_subdirs;
	SbNameList	stale;			/* temporary files old enough to remove */
	bool		oom;
} ScanState;

static bool
scan_entry(const char *name, const SbStat *sst, void *arg)
{
	ScanState  *s = arg;

	if (sst->is_dir)
	{
		if (s->want_subdirs && !sb_name_list_add(&s->subdirs, name))
			s->oom = true;
		return !s->oom;
	}
	if (!sb_storage_is_temp_name(name))
		return true;
	s->out->found++;
	if (s->out->oldest_mtime == 0 || sst->mtime < s->out->oldest_mtime)
		s->out->oldest_mtime = sst->mtime;
	if (s->min_age > 0 && s->now - sst->mtime < s->min_age)
		s->out->young++;
	else
	{
		s->out->old++;
		if (s->remove && !sb_name_list_add(&s->stale, name))
			s->oom = true;
	}
	return !s->oom;
}

/* Scan one directory; its subdirectories are collected when asked. */
static SbStatus
scan_dir(ScanState *s, const char *dir, bool want_subdirs, SbError *err)
{
	SbStatus	rc;

	s->want_subdirs = want_subdirs;
	memset(&s->stale, 0, sizeof(s->stale));
	rc = sb_storage_list_flags(s->st, dir, SB_LIST_TEMP, scan_entry, s, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_error_clear(err);
		rc = SB_OK;
	}
	if (rc == SB_OK && s->oom)
		rc = sb_error_oom(err);
	for (int i = 0; rc == SB_OK && i < s->stale.n; i++)
	{
		char		path[SB_PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", dir, s->stale.names[i]) >=
			(int) sizeof(path))
			continue;
		rc = sb_storage_remove(s->st, path, false, err);
		if (rc == SB_ERR_NOT_FOUND)
		{
			/* gone meanwhile: nothing to do */
			sb_error_clear(err);
			rc = SB_OK;
			continue;
		}
		if (rc == SB_OK)
			s->out->removed++;
	}
	sb_name_list_free(&s->stale);
	return rc;
}

SbStatus
sb_temp_leftovers_scan(SbStorage *st, const char *stanza, int64_t now,
				   int64_t min_age, bool remove, SbTempLeftovers *out,
				   SbError *err)
{
	ScanState	s;
	char		wal[SB_PATH_MAX];
	SbStatus	rc;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.st = st;
	s.now = now;
	s.min_age = min_age;
	s.remove = remove;
	s.out = out;

	rc = scan_dir(&s, stanza, false, err);
	snprintf(wal, sizeof(wal), "%s/wal", stanza);
	if (rc == SB_OK)
		rc = scan_dir(&s, wal, true, err);
	for (int i = 0; rc == SB_OK && i < s.subdirs.n; i++)
	{
		char		dir[SB_PATH_MAX];

		if (snprintf(dir, sizeof(dir), "%s/%s", wal, s.subdirs.names[i]) >=
			(int) sizeof(dir))
			continue;
		rc = scan_dir(&s, dir, false, err);
	}
	sb_name_list_free(&s.subdirs);
	return rc;
}
