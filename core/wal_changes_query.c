/*-------------------------------------------------------------------------
 *
 * wal_changes_query.c
 *		Answer for one file of a data directory: is it a relation file, and
 *		which of its pages did the WAL touch (see wal_changes.h).
 *
 * Relation files are base/<db>/<rel>, global/<rel> (tablespace 1664,
 * database 0) and pg_tblspc/<spc>/<version dir>/<db>/<rel>, where <rel> is
 * the relation's file number, then _fsm, _vm or _init for those forks,
 * then .<n> for the segments after the first (relseg_size blocks each).
 *
 *-------------------------------------------------------------------------
 */
#include "wal_changes_internal.h"

#include <stdlib.h>
#include <string.h>

#include "sb_config.h"

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *) a;
	uint32_t	y = *(const uint32_t *) b;

	return (x > y) - (x < y);
}

/* Pages of blocks [lo, hi) of e, each mapped by /div, relative to base, appended. */
typedef struct PageList
{
	uint32_t   *v;
	uint32_t	n;
	uint32_t	cap;
	bool		oom;
} PageList;

static void
list_add(PageList *l, uint32_t page)
{
	if (l->oom || (l->n > 0 && l->v[l->n - 1] == page))
		return;
	if (l->n == l->cap)
	{
		uint32_t	cap = l->cap == 0 ? 16 : l->cap * 2;
		uint32_t   *nv = realloc(l->v, (size_t) cap * sizeof(uint32_t));

		if (nv == NULL)
		{
			l->oom = true;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = page;
}

/* The index of the first block >= lo in a sorted array. */
static uint32_t
lower_bound(const uint32_t *v, uint32_t n, uint64_t lo)
{
	uint32_t	a = 0;
	uint32_t	b = n;

	while (a < b)
	{
		uint32_t	mid = a + (b - a) / 2;

		if (v[mid] < lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

/* Append the pages (blk / div) - base of e's blocks that fall in [base, base + count). */
static void
collect_pages(const SbRelEntry *e, uint64_t div, uint64_t base, uint64_t count,
			  PageList *l)
{
	uint64_t	lo = base * div;
	uint64_t	hi = (base + count) * div;

	if (e->bitmap != NULL)
	{
		uint64_t	end = (uint64_t) e->bitmap_bytes * 8;

		for (uint64_t b = lo; b < hi && b < end; b++)
		{
			if (b % 8 == 0 && e->bitmap[b / 8] == 0)
				b += 7;
			else if (e->bitmap[b / 8] & (1u << (b % 8)))
				list_add(l, (uint32_t) (b / div - base));
		}
		return;
	}
	for (uint32_t i = lower_bound(e->blocks, e->n, lo); i < e->n && e->blocks[i] < hi; i++)
		list_add(l, (uint32_t) (e->blocks[i] / div - base));
}

/* Sort a list built from two sources and drop duplicates. */
static void
list_sort_unique(PageList *l)
{
	uint32_t	out = 0;

	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(uint32_t), cmp_u32);
	for (uint32_t i = 1; i < l->n; i++)
		if (l->v[i] != l->v[out])
			l->v[++out] = l->v[i];
	l->n = out + 1;
}

static bool
dir_marked(const SbWalChanges *ch, uint32_t spc, uint32_t db)
{
	for (int i = 0; i < ch->ndirs; i++)
		if (ch->dirs[i].spc == spc && (ch->dirs[i].any_db || ch->dirs[i].db == db))
			return true;
	return false;
}

/* Parse "<digits>" up to a delimiter; false when empty, too long or zero-padded. */
static bool
parse_oid(const char **p, uint32_t *out)
{
	const char *s = *p;

	if (*s == '0' && s[1] >= '0' && s[1] <= '9')
		return false;
	return sb_parse_u32(p, out);
}

/* "<rel>[_fsm|_vm|_init][.<seg>]" */
static bool
parse_rel_file(const char *s, uint32_t *rel, uint8_t *fork, uint32_t *seg)
{
	static const struct
	{
		const char *suffix;
		uint8_t		fork;
	}			forks[] = {{"_fsm", SB_FORK_FSM}, {"_vm", SB_FORK_VM}, {"_init", SB_FORK_INIT}};

	if (!parse_oid(&s, rel) || *rel == 0)
		return false;
	*fork = SB_FORK_MAIN;
	for (size_t i = 0; i < sizeof(forks) / sizeof(forks[0]); i++)
	{
		size_t		len = strlen(forks[i].suffix);

		if (strncmp(s, forks[i].suffix, len) == 0)
		{
			*fork = forks[i].fork;
			s += len;
			break;
		}
	}
	*seg = 0;
	if (*s == '.')
	{
		s++;
		if (!parse_oid(&s, seg) || *seg == 0)
			return false;
	}
	return *s == '\0';
}

/* Split a data-directory path into tablespace, database and file name. */
static bool
parse_rel_path(const char *path, uint32_t *spc, uint32_t *db, const char **file)
{
	const char *s = path;

	if (strncmp(s, "global/", 7) == 0)
	{
		*spc = SB_SPC_GLOBAL;
		*db = 0;
		*file = s + 7;
		return true;
	}
	if (strncmp(s, "base/", 5) == 0)
	{
		*spc = SB_SPC_DEFAULT;
		s += 5;
	}
	else if (strncmp(s, "pg_tblspc/", 10) == 0)
	{
		s += 10;
		if (!parse_oid(&s, spc) || *s != '/' || strncmp(s + 1, "PG_", 3) != 0)
			return false;
		s = strchr(s + 1, '/');
		if (s == NULL)
			return false;
		s++;
	}
	else
		return false;
	if (!parse_oid(&s, db) || *s != '/')
		return false;
	*file = s + 1;
	return strchr(*file, '/') == NULL;
}

SbWalFileChange
sb_wal_changes_file(const SbWalChanges *ch, const char *relpath,
					uint32_t blcksz, uint32_t relseg_size,
					uint32_t **pages, uint32_t *npages)
{
	uint32_t	spc, db, rel, seg;
	uint8_t		fork;
	const char *file;
	const SbRelEntry *e;
	const SbRelEntry *all;
	PageList	l = {0};

	*pages = NULL;
	*npages = 0;
	if (!parse_rel_path(relpath, &spc, &db, &file) ||
		!parse_rel_file(file, &rel, &fork, &seg))
		return SB_WAL_FILE_NOT_RELATION;
	if (!ch->usable)
		return SB_WAL_FILE_WHOLE;	/* a partial list must not be trusted */
	all = sb_wc_find(ch, spc, db, rel, SB_FORK_ALL);
	e = sb_wc_find(ch, spc, db, rel, fork);
	if (dir_marked(ch, spc, db) || (all != NULL && all->whole) ||
		(e != NULL && e->whole))
		return SB_WAL_FILE_WHOLE;
	if (e != NULL)
		collect_pages(e, 1, (uint64_t) seg * relseg_size, relseg_size, &l);
	if (fork == SB_FORK_VM && blcksz > 24)
	{
		/* a heap change may clear bits of the map page covering it */
		const SbRelEntry *m = sb_wc_find(ch, spc, db, rel, SB_FORK_MAIN);

		if (m != NULL)
			collect_pages(m, (uint64_t) (blcksz - 24) * 4,
						  (uint64_t) seg * relseg_size, relseg_size, &l);
		list_sort_unique(&l);
	}
	if (l.oom)
	{
		free(l.v);
		return SB_WAL_FILE_WHOLE;
	}
	if (l.n == 0)
	{
		free(l.v);
		return SB_WAL_FILE_UNTOUCHED;
	}
	*pages = l.v;
	*npages = l.n;
	return SB_WAL_FILE_PAGES;
}

void
sb_wal_changes_file_later(const SbWalChanges *ch, const char *relpath,
						  uint32_t blcksz, uint32_t relseg_size,
						  uint32_t **pages, uint32_t *npages)
{
	*pages = NULL;
	*npages = 0;
	/* the later set holds block references only: pages or nothing */
	if (ch->usable && ch->later != NULL &&
		sb_wal_changes_file(ch->later, relpath, blcksz, relseg_size,
							pages, npages) != SB_WAL_FILE_PAGES)
	{
		free(*pages);
		*pages = NULL;
		*npages = 0;
	}
}
