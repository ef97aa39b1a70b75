/*-------------------------------------------------------------------------
 *
 * wal_changes_set.c
 *		The set of relation blocks WAL touched: a hash table of relation
 *		forks, each with a deduplicated block array that turns into a
 *		bitmap when that is smaller, plus whole-relation and whole-directory
 *		marks.
 *
 *-------------------------------------------------------------------------
 */
#include "wal_changes_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_TABLE	256
#define INITIAL_BLOCKS	16

SbWalChanges *
sb_wc_new(void)
{
	SbWalChanges *ch = calloc(1, sizeof(SbWalChanges));

	if (ch == NULL)
		return NULL;
	ch->table = calloc(INITIAL_TABLE, sizeof(SbRelEntry));
	if (ch->table == NULL)
	{
		free(ch);
		return NULL;
	}
	ch->tabsize = INITIAL_TABLE;
	ch->usable = true;
	return ch;
}

void
sb_wc_unusable(SbWalChanges *ch, const char *fmt,...)
{
	va_list		ap;

	if (!ch->usable)
		return;					/* keep the first reason */
	ch->usable = false;
	va_start(ap, fmt);
	vsnprintf(ch->reason, sizeof(ch->reason), fmt, ap);
	va_end(ap);
}

static uint32_t
key_hash(uint32_t spc, uint32_t db, uint32_t rel, uint8_t fork)
{
	uint64_t	h = ((uint64_t) rel << 32 | db) * 0x9E3779B97F4A7C15ull;

	h ^= ((uint64_t) spc << 8 | fork) * 0xC2B2AE3D27D4EB4Full;
	return (uint32_t) (h >> 32) ^ (uint32_t) h;
}

static SbRelEntry *
slot_for(SbRelEntry *table, uint32_t tabsize, uint32_t spc, uint32_t db,
		 uint32_t rel, uint8_t fork)
{
	uint32_t	i = key_hash(spc, db, rel, fork) & (tabsize - 1);

	for (;;)
	{
		SbRelEntry *e = &table[i];

		if (!e->used || (e->rel == rel && e->db == db && e->spc == spc &&
						 e->fork == fork))
			return e;
		i = (i + 1) & (tabsize - 1);
	}
}

static bool
grow_table(SbWalChanges *ch)
{
	uint32_t	newsize = ch->tabsize * 2;
	SbRelEntry *nt = calloc(newsize, sizeof(SbRelEntry));

	if (nt == NULL)
		return false;
	for (uint32_t i = 0; i < ch->tabsize; i++)
	{
		SbRelEntry *e = &ch->table[i];

		if (e->used)
			*slot_for(nt, newsize, e->spc, e->db, e->rel, e->fork) = *e;
	}
	free(ch->table);
	ch->table = nt;
	ch->tabsize = newsize;
	ch->last = NULL;
	return true;
}

/* The entry of a relation fork, created when absent; NULL when out of memory. */
static SbRelEntry *
get_entry(SbWalChanges *ch, uint32_t spc, uint32_t db, uint32_t rel, uint8_t fork)
{
	SbRelEntry *e;

	if ((ch->nentries + 1) * 4 > ch->tabsize * 3 && !grow_table(ch))
		return NULL;
	e = slot_for(ch->table, ch->tabsize, spc, db, rel, fork);
	if (!e->used)
	{
		e->used = true;
		e->spc = spc;
		e->db = db;
		e->rel = rel;
		e->fork = fork;
		ch->nentries++;
	}
	return e;
}

/* The entry when present (no insertion), for queries. */
static const SbRelEntry *
find_entry(const SbWalChanges *ch, uint32_t spc, uint32_t db, uint32_t rel,
		   uint8_t fork)
{
	const SbRelEntry *e = slot_for(ch->table, ch->tabsize, spc, db, rel, fork);

	return e->used ? e : NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *) a;
	uint32_t	y = *(const uint32_t *) b;

	return (x > y) - (x < y);
}

static void
sort_unique(SbRelEntry *e)
{
	uint32_t	out = 0;

	if (e->n == 0)
		return;
	qsort(e->blocks, e->n, sizeof(uint32_t), cmp_u32);
	for (uint32_t i = 1; i < e->n; i++)
		if (e->blocks[i] != e->blocks[out])
			e->blocks[++out] = e->blocks[i];
	e->n = out + 1;
}

static bool
bitmap_set(SbRelEntry *e, uint32_t blk)
{
	uint32_t	need = blk / 8 + 1;

	if (need > e->bitmap_bytes)
	{
		uint32_t	size = e->bitmap_bytes * 2 > need ? e->bitmap_bytes * 2 : need;
		uint8_t    *nb = realloc(e->bitmap, size);

		if (nb == NULL)
			return false;
		memset(nb + e->bitmap_bytes, 0, size - e->bitmap_bytes);
		e->bitmap = nb;
		e->bitmap_bytes = size;
	}
	e->bitmap[blk / 8] |= (uint8_t) (1u << (blk % 8));
	return true;
}

/* The array is full: deduplicate, then grow it or switch to a bitmap. */
static bool
make_room(SbRelEntry *e)
{
	uint32_t	newcap;
	uint32_t   *nb;

	sort_unique(e);
	if (e->n < e->cap / 2)
		return true;
	if (e->n > 0 && e->blocks[e->n - 1] / 8 + 1 <= (uint64_t) e->cap * 2 * sizeof(uint32_t))
	{
		for (uint32_t i = 0; i < e->n; i++)
			if (!bitmap_set(e, e->blocks[i]))
				return false;
		free(e->blocks);
		e->blocks = NULL;
		e->n = e->cap = 0;
		return true;
	}
	newcap = e->cap == 0 ? INITIAL_BLOCKS : e->cap * 2;
	nb = realloc(e->blocks, (size_t) newcap * sizeof(uint32_t));
	if (nb == NULL)
		return false;
	e->blocks = nb;
	e->cap = newcap;
	return true;
}

SbStatus
sb_wc_add_block(SbWalChanges *ch, uint32_t spc, uint32_t db, uint32_t rel,
				uint8_t fork, uint32_t blk)
{
	SbRelEntry *e = ch->last;

	if (e == NULL || e->rel != rel || e->db != db || e->spc != spc || e->fork != fork)
	{
		e = get_entry(ch, spc, db, rel, fork);
		if (e == NULL)
			return SB_ERR_NO_MEMORY;
		ch->last = e;
	}
	if (e->bitmap != NULL)
		return bitmap_set(e, blk) ? SB_OK : SB_ERR_NO_MEMORY;
	if (e->n > 0 && e->blocks[e->n - 1] == blk)
		return SB_OK;
	if (e->n == e->cap && !make_room(e))
		return SB_ERR_NO_MEMORY;
	if (e->bitmap != NULL)
		return bitmap_set(e, blk) ? SB_OK : SB_ERR_NO_MEMORY;
	e->blocks[e->n++] = blk;
	return SB_OK;
}

SbStatus
sb_wc_mark_rel(SbWalChanges *ch, uint32_t spc, uint32_t db, uint32_t rel)
{
	SbRelEntry *e = get_entry(ch, spc, db, rel, SB_FORK_ALL);

	if (e == NULL)
		return SB_ERR_NO_MEMORY;
	e->whole = true;
	return SB_OK;
}

SbStatus
sb_wc_mark_dir(SbWalChanges *ch, uint32_t spc, uint32_t db, bool any_db)
{
	if (ch->ndirs == ch->capdirs)
	{
		int			cap = ch->capdirs == 0 ? 8 : ch->capdirs * 2;
		SbDirMark  *nd = realloc(ch->dirs, (size_t) cap * sizeof(SbDirMark));

		if (nd == NULL)
			return SB_ERR_NO_MEMORY;
		ch->dirs = nd;
		ch->capdirs = cap;
	}
	ch->dirs[ch->ndirs].spc = spc;
	ch->dirs[ch->ndirs].db = db;
	ch->dirs[ch->ndirs].any_db = any_db;
	ch->ndirs++;
	return SB_OK;
}

void
sb_wc_finish(SbWalChanges *ch)
{
	for (uint32_t i = 0; i < ch->tabsize; i++)
		if (ch->table[i].used && ch->table[i].bitmap == NULL)
			sort_unique(&ch->table[i]);
	ch->last = NULL;
}

void
sb_wal_changes_free(SbWalChanges *ch)
{
	if (ch == NULL)
		return;
	for (uint32_t i = 0; i < ch->tabsize; i++)
	{
		free(ch->table[i].blocks);
		free(ch->table[i].bitmap);
	}
	free(ch->table);
	free(ch->dirs);
	free(ch);
}

bool
sb_wal_changes_usable(const SbWalChanges *ch, const char **reason)
{
	if (reason != NULL)
		*reason = ch->usable ? NULL : ch->reason;
	return ch->usable;
}

void
sb_wal_changes_stats(const SbWalChanges *ch, SbWalChangesStats *stats)
{
	*stats = ch->stats;
}

/* ---- queries ---- */

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
	uint64_t	v = 0;

	if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9'))
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
	all = find_entry(ch, spc, db, rel, SB_FORK_ALL);
	e = find_entry(ch, spc, db, rel, fork);
	if (dir_marked(ch, spc, db) || (all != NULL && all->whole) ||
		(e != NULL && e->whole))
		return SB_WAL_FILE_WHOLE;
	if (e != NULL)
		collect_pages(e, 1, (uint64_t) seg * relseg_size, relseg_size, &l);
	if (fork == SB_FORK_VM && blcksz > 24)
	{
		/* a heap change may clear bits of the map page covering it */
		const SbRelEntry *m = find_entry(ch, spc, db, rel, SB_FORK_MAIN);

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
