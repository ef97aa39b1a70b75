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

const SbRelEntry *
sb_wc_find(const SbWalChanges *ch, uint32_t spc, uint32_t db, uint32_t rel,
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
	/* a block again, or one of the two last (an update's old and new page) */
	if (e->n > 0 && (e->blocks[e->n - 1] == blk ||
					 (e->n > 1 && e->blocks[e->n - 2] == blk)))
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
	sb_wal_changes_free(ch->later);
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
