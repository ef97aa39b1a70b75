/*-------------------------------------------------------------------------
 *
 * verify_wal.c
 *		The WAL part of verify: for each backup, the segments from its start
 *		to the newest archived one must all be stored, on the timelines
 *		recovery follows, and each must have the content its name's SHA-256
 *		says.
 *
 * 1. Scan: list <stanza>/wal and note, per timeline, the numbers of the
 *    (whole) segments stored, and which timelines have a history file.
 * 2. Path: a backup on timeline T is recovered along the newest timeline
 *    L whose history file names T as an ancestor (or T itself); segment n
 *    is read from the timeline in force at n: T up to the segment holding
 *    T's switch point, then the next timeline of L's history, ..., then L
 *    up to its newest segment (at least the backup's stop segment).  Every
 *    missing run is a "WAL gap from A to B".
 * 3. Content: the directories holding segments some backup needs are
 *    listed again, and each such segment is fetched through the codec and
 *    compared with the checksum in its name (once, whatever the number of
 *    backups needing it); a bad segment is reported for every backup that
 *    needs it.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "verify_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "wal.h"
#include "wal_timeline.h"

#define WAL_DIR_LEN		16
#define WAL_SEG_LEN		24

typedef struct Timeline
{
	unsigned int tli;
	uint64_t   *segs;			/* sorted, unique after the scan */
	int			n;
	int			cap;
	bool		has_history;
	bool		history_read;
	SbStatus	history_rc;
	char		history_err[SB_ERROR_MSG_LEN];
	SbTimelineEntry *hist;
	int			nhist;
} Timeline;

typedef struct BadSegment
{
	unsigned int tli;
	uint64_t	segno;
	char	   *problem;
} BadSegment;

typedef struct WalIndex
{
	uint64_t	segsize;
	Timeline   *tl;
	int			ntl;
	char	  (*dirs)[WAL_DIR_LEN + 1];
	int			ndirs;
	BadSegment *bad;
	int			nbad;
	bool		oom;
} WalIndex;

static Timeline *
timeline_get(WalIndex *ix, unsigned int tli)
{
	Timeline   *p;

	for (int i = 0; i < ix->ntl; i++)
		if (ix->tl[i].tli == tli)
			return &ix->tl[i];
	p = realloc(ix->tl, sizeof(Timeline) * (size_t) (ix->ntl + 1));
	if (p == NULL)
		return NULL;
	ix->tl = p;
	p = &ix->tl[ix->ntl++];
	memset(p, 0, sizeof(*p));
	p->tli = tli;
	return p;
}

static Timeline *
timeline_find(WalIndex *ix, unsigned int tli)
{
	for (int i = 0; i < ix->ntl; i++)
		if (ix->tl[i].tli == tli)
			return &ix->tl[i];
	return NULL;
}

/* "<24 hex>-<64 or 32 hex>[suffix]": a whole segment; the checksum out */
static bool
segment_file(const char *name, char *sha, SbCompressType *ct)
{
	size_t		len = strlen(name);
	const char *p = name + WAL_SEG_LEN + 1;

	if (len < WAL_SEG_LEN + 1 + SB_XXH128_HEX_LEN || name[WAL_SEG_LEN] != '-')
		return false;
	for (int i = 0; i < WAL_SEG_LEN; i++)
		if (!isxdigit((unsigned char) name[i]) || islower((unsigned char) name[i]))
			return false;
	if (!sb_wal_stored_tail_parse(p, sha, ct))
		return false;
	return true;
}

/* ----------------------------------------------------------------
 *		1. Scan
 * ----------------------------------------------------------------
 */

static bool
dirs_cb(const char *name, const SbStat *st, void *arg)
{
	WalIndex   *ix = arg;
	void	   *p;

	if (!st->is_dir || strlen(name) != WAL_DIR_LEN)
		return true;
	for (int i = 0; i < WAL_DIR_LEN; i++)
		if (!isxdigit((unsigned char) name[i]) || islower((unsigned char) name[i]))
			return true;
	p = realloc(ix->dirs, sizeof(*ix->dirs) * (size_t) (ix->ndirs + 1));
	if (p == NULL)
	{
		ix->oom = true;
		return false;
	}
	ix->dirs = p;
	memcpy(ix->dirs[ix->ndirs++], name, WAL_DIR_LEN + 1);
	return true;
}

static bool
segs_cb(const char *name, const SbStat *st, void *arg)
{
	WalIndex   *ix = arg;
	SbCompressType ct;
	unsigned int tli;
	uint64_t	segno;
	Timeline   *tl;

	if (st->is_dir || !segment_file(name, NULL, &ct) ||
		!sb_wal_parse_segment(name, ix->segsize, &tli, &segno))
		return true;
	tl = timeline_get(ix, tli);
	if (tl != NULL && tl->n == tl->cap)
	{
		int			cap = tl->cap ? tl->cap * 2 : 256;
		uint64_t   *p = realloc(tl->segs, sizeof(uint64_t) * (size_t) cap);

		if (p == NULL)
			tl = NULL;
		else
		{
			tl->segs = p;
			tl->cap = cap;
		}
	}
	if (tl == NULL)
	{
		ix->oom = true;
		return false;
	}
	tl->segs[tl->n++] = segno;
	return true;
}

static bool
history_cb(const char *name, const SbStat *st, void *arg)
{
	WalIndex   *ix = arg;
	char		hex[9];
	Timeline   *tl;

	if (st->is_dir || strlen(name) < 17 || strncmp(name + 8, ".history-", 9) != 0)
		return true;
	memcpy(hex, name, 8);
	hex[8] = '\0';
	tl = timeline_get(ix, (unsigned int) strtoul(hex, NULL, 16));
	if (tl == NULL)
	{
		ix->oom = true;
		return false;
	}
	tl->has_history = true;
	return true;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static int
cmp_dir(const void *a, const void *b)
{
	return strcmp((const char *) a, (const char *) b);
}

static SbStatus
list_ok(SbStatus rc, WalIndex *ix, SbError *err)
{
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_error_clear(err);
		rc = SB_OK;
	}
	if (rc == SB_OK && ix->oom)
		rc = sb_error_oom(err);
	return rc;
}

static SbStatus
scan(SbStorage *st, const char *stanza, WalIndex *ix, SbError *err)
{
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	snprintf(path, sizeof(path), "%s/wal", stanza);
	rc = list_ok(sb_storage_list(st, path, dirs_cb, ix, err), ix, err);
	if (rc == SB_OK && ix->ndirs > 1)
		qsort(ix->dirs, (size_t) ix->ndirs, sizeof(*ix->dirs), cmp_dir);
	for (int i = 0; i < ix->ndirs && rc == SB_OK; i++)
	{
		snprintf(path, sizeof(path), "%s/wal/%s", stanza, ix->dirs[i]);
		rc = list_ok(sb_storage_list(st, path, segs_cb, ix, err), ix, err);
	}
	if (rc == SB_OK)
	{
		snprintf(path, sizeof(path), "%s/wal/history", stanza);
		rc = list_ok(sb_storage_list(st, path, history_cb, ix, err), ix, err);
	}
	for (int i = 0; i < ix->ntl && rc == SB_OK; i++)
	{
		Timeline   *tl = &ix->tl[i];
		int			k = 0;

		if (tl->n > 1)
			qsort(tl->segs, (size_t) tl->n, sizeof(uint64_t), cmp_u64);
		for (int j = 0; j < tl->n; j++)
			if (k == 0 || tl->segs[k - 1] != tl->segs[j])
				tl->segs[k++] = tl->segs[j];
		tl->n = k;
	}
	return rc;
}

/* ----------------------------------------------------------------
 *		2. Path and gaps
 * ----------------------------------------------------------------
 */

static bool
add_span(VerifyBackup *vb, unsigned int tli, uint64_t from, uint64_t to)
{
	VerifySpan *p = realloc(vb->spans, sizeof(VerifySpan) * (size_t) (vb->nspans + 1));

	if (p == NULL)
		return false;
	vb->spans = p;
	p[vb->nspans].tli = tli;
	p[vb->nspans].from = from;
	p[vb->nspans].to = to;
	vb->nspans++;
	return true;
}

static Timeline *
history_of(SbStorage *st, const char *stanza, Timeline *tl)
{
	SbError		herr;

	if (!tl->history_read)
	{
		tl->history_read = true;
		sb_error_clear(&herr);
		tl->history_rc = sb_timeline_history_load(st, stanza, tl->tli, &tl->hist,
												  &tl->nhist, &herr);
		snprintf(tl->history_err, sizeof(tl->history_err), "%s", herr.msg);
	}
	return tl;
}

/* Gaps of one span; counts the segments present. */
static void
check_span(WalIndex *ix, VerifyBackup *vb, const VerifySpan *sp)
{
	Timeline   *tl = timeline_find(ix, sp->tli);
	uint64_t	expected = sp->from;
	char		a[WAL_SEG_LEN + 1];
	char		b[WAL_SEG_LEN + 1];
	int			lo = 0;
	int			hi = tl ? tl->n : 0;

	/* first stored segment >= from */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (tl->segs[mid] < sp->from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; tl != NULL && i < tl->n && tl->segs[i] <= sp->to; i++)
	{
		if (tl->segs[i] > expected)
		{
			sb_wal_segment_name(sp->tli, expected, ix->segsize, a);
			sb_wal_segment_name(sp->tli, tl->segs[i] - 1, ix->segsize, b);
			sb_verify_problem(&vb->r, "WAL gap from %s to %s", a, b);
		}
		expected = tl->segs[i] + 1;
		vb->r.wal_checked++;
	}
	if (expected <= sp->to)
	{
		sb_wal_segment_name(sp->tli, expected, ix->segsize, a);
		sb_wal_segment_name(sp->tli, sp->to, ix->segsize, b);
		sb_verify_problem(&vb->r, "WAL gap from %s to %s", a, b);
	}
}

static SbStatus
backup_path(SbStorage *st, const char *stanza, WalIndex *ix, VerifyBackup *vb,
			SbError *err)
{
	unsigned int t;
	unsigned int stop_tli;
	uint64_t	start;
	uint64_t	stop;
	uint64_t	from;
	uint64_t	end;
	unsigned int cur;
	Timeline   *target = NULL;
	Timeline   *ltl;

	if (!sb_wal_parse_segment(vb->start_wal, ix->segsize, &t, &start) ||
		!sb_wal_parse_segment(vb->stop_wal, ix->segsize, &stop_tli, &stop))
	{
		sb_verify_problem(&vb->r, "invalid WAL segment names in the manifest: %s, %s",
						  vb->start_wal, vb->stop_wal);
		return SB_OK;
	}

	/* the newest timeline with WAL that descends from t */
	for (unsigned int above = UINT32_MAX;;)
	{
		Timeline   *best = NULL;

		for (int i = 0; i < ix->ntl; i++)
		{
			Timeline   *tl = &ix->tl[i];

			if (tl->tli > t && tl->tli < above && tl->n > 0 &&
				(best == NULL || tl->tli > best->tli))
				best = tl;
		}
		if (best == NULL)
			break;
		above = best->tli;
		if (!best->has_history)
		{
			best->history_read = true;
			best->history_rc = SB_ERR_NOT_FOUND;
			snprintf(best->history_err, sizeof(best->history_err), "missing");
		}
		else
			history_of(st, stanza, best);
		if (best->history_rc == SB_OK)
		{
			for (int k = 0; k < best->nhist; k++)
				if (best->hist[k].tli == t)
					target = best;
			if (target != NULL)
				break;
		}
	}
	/* problems with every newer timeline's history, whether or not chosen */
	for (int i = 0; i < ix->ntl; i++)
	{
		Timeline   *tl = &ix->tl[i];

		if (tl->tli > t && tl->n > 0 && tl->history_read && tl->history_rc != SB_OK &&
			(target == NULL || tl->tli > target->tli))
		{
			if (tl->history_rc == SB_ERR_NOT_FOUND)
				sb_verify_problem(&vb->r, "timeline history file %08X.history is missing: timeline %u has WAL, but where it branched off is unknown",
								  tl->tli, tl->tli);
			else
				sb_verify_problem(&vb->r, "could not read timeline history file %08X.history: %s",
								  tl->tli, tl->history_err);
		}
	}

	cur = t;
	from = start;
	if (target != NULL)
	{
		int			k = 0;

		while (target->hist[k].tli != t)
			k++;
		for (; k < target->nhist; k++)
		{
			unsigned int next = k + 1 < target->nhist ? target->hist[k + 1].tli : target->tli;
			uint64_t	sw = target->hist[k].end_lsn / ix->segsize;

			if (sw > from)
			{
				if (!add_span(vb, cur, from, sw - 1))
					return sb_error_oom(err);
				from = sw;
			}
			cur = next;
		}
	}
	ltl = timeline_find(ix, cur);
	end = (ltl != NULL && ltl->n > 0) ? ltl->segs[ltl->n - 1] : 0;
	if (stop_tli == cur && stop > end)
		end = stop;
	if (end < from)
		end = from;				/* at least the start segment is needed */
	if (!add_span(vb, cur, from, end))
		return sb_error_oom(err);
	sb_wal_segment_name(t, start, ix->segsize, vb->r.wal_first);
	sb_wal_segment_name(cur, end, ix->segsize, vb->r.wal_last);

	for (int i = 0; i < vb->nspans; i++)
		check_span(ix, vb, &vb->spans[i]);
	return SB_OK;
}

/* ----------------------------------------------------------------
 *		3. Content
 * ----------------------------------------------------------------
 */

static bool
needed(VerifyBackup *b, int nb, unsigned int tli, uint64_t from, uint64_t to)
{
	for (int i = 0; i < nb; i++)
		for (int j = 0; j < b[i].nspans; j++)
		{
			const VerifySpan *sp = &b[i].spans[j];

			if (sp->tli == tli && sp->from <= to && from <= sp->to)
				return true;
		}
	return false;
}

typedef struct ContentScan
{
	WalIndex   *ix;
	VerifyBackup *b;
	int			nb;
	char	  **names;
	int			n;
	bool		oom;
} ContentScan;

static bool
content_cb(const char *name, const SbStat *st, void *arg)
{
	ContentScan *cs = arg;
	SbCompressType ct;
	unsigned int tli;
	uint64_t	segno;
	char	  **p;

	if (st->is_dir || !segment_file(name, NULL, &ct) ||
		!sb_wal_parse_segment(name, cs->ix->segsize, &tli, &segno) ||
		!needed(cs->b, cs->nb, tli, segno, segno))
		return true;
	p = realloc(cs->names, sizeof(char *) * (size_t) (cs->n + 1));
	if (p == NULL || (p[cs->n] = strdup(name)) == NULL)
	{
		if (p != NULL)
			cs->names = p;
		cs->oom = true;
		return false;
	}
	cs->names = p;
	cs->n++;
	return true;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
add_bad(WalIndex *ix, const char *name, const char *fmt, const char *msg)
{
	BadSegment *p = realloc(ix->bad, sizeof(BadSegment) * (size_t) (ix->nbad + 1));
	char		buf[SB_ERROR_MSG_LEN + 128];
	char		seg[WAL_SEG_LEN + 1];

	if (p == NULL)
		return false;
	ix->bad = p;
	p = &ix->bad[ix->nbad];
	if (!sb_wal_parse_segment(name, ix->segsize, &p->tli, &p->segno))
		return true;
	memcpy(seg, name, WAL_SEG_LEN);
	seg[WAL_SEG_LEN] = '\0';
	snprintf(buf, sizeof(buf), fmt, seg, msg);
	if ((p->problem = strdup(buf)) == NULL)
		return false;
	ix->nbad++;
	return true;
}

static SbStatus
check_dir_content(SbStorage *st, const SbVerifyOptions *o, WalIndex *ix,
				  VerifyBackup *b, int nb, const char *dir, SbError *err)
{
	ContentScan cs;
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	memset(&cs, 0, sizeof(cs));
	cs.ix = ix;
	cs.b = b;
	cs.nb = nb;
	snprintf(path, sizeof(path), "%s/wal/%s", o->stanza, dir);
	rc = sb_storage_list(st, path, content_cb, &cs, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_error_clear(err);
		rc = SB_OK;
	}
	if (rc == SB_OK && cs.oom)
		rc = sb_error_oom(err);
	if (rc == SB_OK && cs.n > 1)
		qsort(cs.names, (size_t) cs.n, sizeof(char *), cmp_str);

	for (int i = 0; i < cs.n && rc == SB_OK; i++)
	{
		char		sha[SB_SHA256_HEX_LEN + 1];
		SbCompressType ct;
		SbFilter   *sink;
		SbError		ferr;
		SbStatus	frc;

		if (sb_verify_interrupted(o, err))
		{
			rc = err->status;
			break;
		}
		if (i > 0 && strncmp(cs.names[i], cs.names[i - 1], WAL_SEG_LEN) == 0)
		{
			if (!add_bad(ix, cs.names[i], "WAL file %s is stored more than once with different content%s", ""))
				rc = sb_error_oom(err);
			continue;
		}
		segment_file(cs.names[i], sha, &ct);
		snprintf(path, sizeof(path), "%s/wal/%s/%s", o->stanza, dir, cs.names[i]);
		sink = sb_filter_count_new(NULL);
		if (sink == NULL)
		{
			rc = sb_error_oom(err);
			break;
		}
		sb_error_clear(&ferr);
		frc = sb_codec_fetch(st, path, ct, sink, sha, UINT64_MAX, NULL, &ferr);
		sb_filter_free_chain(sink);
		if (frc != SB_OK &&
			!add_bad(ix, cs.names[i],
					 frc == SB_ERR_CORRUPT ? "checksum mismatch in WAL file %s: %s" :
					 "could not read WAL file %s: %s", ferr.msg))
			rc = sb_error_oom(err);
	}
	for (int i = 0; i < cs.n; i++)
		free(cs.names[i]);
	free(cs.names);
	return rc;
}

/* ----------------------------------------------------------------
 *		Entry point
 * ----------------------------------------------------------------
 */

SbStatus
sb_verify_wal(SbStorage *st, const SbVerifyOptions *o, VerifyBackup *b,
			  int nb, SbError *err)
{
	WalIndex	ix;
	SbStatus	rc = SB_OK;
	int			i;

	memset(&ix, 0, sizeof(ix));
	/* the segment size follows from any backup's start */
	for (i = 0; i < nb && ix.segsize == 0; i++)
		if (b[i].have_manifest)
			sb_wal_segsize_infer(b[i].start_lsn, b[i].start_wal, &ix.segsize);
	if (ix.segsize == 0)
	{
		for (i = 0; i < nb; i++)
			if (b[i].have_manifest)
				sb_verify_problem(&b[i].r, "cannot tell the WAL segment size from start LSN %s in segment %s",
								  b[i].start_lsn, b[i].start_wal);
		return SB_OK;
	}

	rc = scan(st, o->stanza, &ix, err);
	for (i = 0; i < nb && rc == SB_OK; i++)
		if (b[i].have_manifest)
			rc = backup_path(st, o->stanza, &ix, &b[i], err);

	for (i = 0; i < ix.ndirs && rc == SB_OK; i++)
	{
		char		name[WAL_SEG_LEN + 1];
		unsigned int tli;
		uint64_t	first;
		uint64_t	per_log = UINT64_C(0x100000000) / ix.segsize;

		snprintf(name, sizeof(name), "%s00000000", ix.dirs[i]);
		if (!sb_wal_parse_segment(name, ix.segsize, &tli, &first) ||
			!needed(b, nb, tli, first, first + per_log - 1))
			continue;
		rc = check_dir_content(st, o, &ix, b, nb, ix.dirs[i], err);
	}

	/* a bad segment counts against every backup that needs it */
	for (i = 0; i < ix.nbad && rc == SB_OK; i++)
		for (int k = 0; k < nb; k++)
			if (needed(&b[k], 1, ix.bad[i].tli, ix.bad[i].segno, ix.bad[i].segno))
				sb_verify_problem(&b[k].r, "%s", ix.bad[i].problem);

	for (i = 0; i < ix.ntl; i++)
	{
		free(ix.tl[i].segs);
		free(ix.tl[i].hist);
	}
	for (i = 0; i < ix.nbad; i++)
		free(ix.bad[i].problem);
	free(ix.tl);
	free(ix.dirs);
	free(ix.bad);
	return rc;
}
