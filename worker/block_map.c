/*-------------------------------------------------------------------------
 *
 * block_map.c
 *		The changed chunks of relation files, from the WAL summaries; see
 *		block_map.h.
 *
 * A summary names blocks by relation (tablespace, database, relfilenode),
 * fork and block number; a backup names files by path.  The map is keyed
 * by relation and 1 GB segment (the file "<relfilenode>.<segment>") and
 * holds, for each, the pages of the segment file that changed (numbered
 * from the segment's start): a list while they are few, a bitmap of the
 * segment (RELSEG_SIZE bits, 16 kB) once the list would be as large, so
 * that the map takes at most 16 kB per segment file however much changed
 * (at most 16 MB for 1 TB of relations).  A "limit block" (the fork was
 * truncated, created or dropped within the range) marks the whole fork: it
 * is copied whole, every segment.  Only main forks are taken by chunks: free space
 * maps are not WAL-logged, and visibility map bits are cleared by heap
 * records that do not name the map's page; both are small and copied
 * whole.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include "catalog/pg_tablespace_d.h"
#include "common/relpath.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "block_sum.h"
#include "sb_config.h"
#include "worker/block_map.h"

/* a segment number that stands for the whole fork (its limit flag) */
#define FORK_WIDE	PG_UINT32_MAX

/* a segment's bitmap, and the list length from which it is used instead */
#define BITMAP_BYTES	((RELSEG_SIZE + 7) / 8)
#define BITMAP_AT		(BITMAP_BYTES / sizeof(uint32))


typedef struct MapKey
{
	Oid			spc;
	Oid			db;
	Oid			rel;
	uint32		seg;
} MapKey;

typedef struct MapEntry
{
	MapKey		key;
	bool		limit;			/* FORK_WIDE entries: copy the fork whole */
	bool		sorted;			/* pages: ascending, no repeats; bits: n
								 * counts them */
	uint32		n;
	uint32		cap;
	uint32	   *pages;			/* the list, or NULL */
	uint8	   *bits;			/* the bitmap, or NULL */
} MapEntry;

struct SbBlockMap
{
	MemoryContext cxt;
	HTAB	   *hash;
	uint64		nchunks;
	uint64		nfiles;
};

static MapEntry *
entry_for(SbBlockMap *map, Oid spc, Oid db, Oid rel, uint32 seg)
{
	MapKey		key;
	MapEntry   *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.spc = spc;
	key.db = db;
	key.rel = rel;
	key.seg = seg;
	e = hash_search(map->hash, &key, HASH_ENTER, &found);
	if (!found)
	{
		e->limit = false;
		e->sorted = true;
		e->n = 0;
		e->cap = 0;
		e->pages = NULL;
		e->bits = NULL;
	}
	return e;
}

/* A list as long as the bitmap becomes the bitmap. */
static void
to_bitmap(SbBlockMap *map, MapEntry *e)
{
	e->bits = MemoryContextAllocZero(map->cxt, BITMAP_BYTES);
	for (uint32 i = 0; i < e->n; i++)
		e->bits[e->pages[i] / 8] |= (uint8) (1 << (e->pages[i] % 8));
	pfree(e->pages);
	e->pages = NULL;
	e->n = 0;
	e->cap = 0;
	e->sorted = false;
}

static void
add_block(void *arg, Oid spc, Oid db, Oid relnumber, int fork, uint32 block,
		  bool is_limit)
{
	SbBlockMap *map = arg;
	MapEntry   *e;
	uint32		page;

	if (fork != MAIN_FORKNUM)
		return;
	if (is_limit)
	{
		entry_for(map, spc, db, relnumber, FORK_WIDE)->limit = true;
		return;
	}
	e = entry_for(map, spc, db, relnumber, block / RELSEG_SIZE);
	page = block % RELSEG_SIZE;
	if (e->bits != NULL)
	{
		e->bits[page / 8] |= (uint8) (1 << (page % 8));
		e->sorted = false;
		return;
	}
	/* blocks come in order within a relation: most repeats are the last */
	if (e->n > 0 && e->pages[e->n - 1] == page)
		return;
	if (e->n == e->cap)
	{
		uint32		newcap = e->cap > 0 ? e->cap * 2 : 16;

		e->pages = e->pages == NULL ?
			MemoryContextAlloc(map->cxt, sizeof(uint32) * newcap) :
			repalloc(e->pages, sizeof(uint32) * newcap);
		e->cap = newcap;
	}
	if (e->n > 0 && e->pages[e->n - 1] > page)
		e->sorted = false;
	e->pages[e->n++] = page;
	if (e->n >= BITMAP_AT)
		to_bitmap(map, e);
}

SbBlockMap *
sb_block_map_build(TimeLineID tli, XLogRecPtr from, XLogRecPtr to, char **why)
{
	SbBlockMap *map;
	HASHCTL		ctl;
	MemoryContext cxt;

	cxt = AllocSetContextCreate(TopMemoryContext, "pg_safebackup block map",
								ALLOCSET_DEFAULT_SIZES);
	map = MemoryContextAllocZero(cxt, sizeof(SbBlockMap));
	map->cxt = cxt;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(MapKey);
	ctl.entrysize = sizeof(MapEntry);
	ctl.hcxt = cxt;
	map->hash = hash_create("pg_safebackup block map", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	if (!sb_wal_summary_blocks(tli, from, to, SB_SUMMARY_WAIT_MS, add_block,
							   map, why))
	{
		MemoryContextDelete(cxt);
		return NULL;
	}
	return map;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Sort and drop repeats (a bitmap: count its pages), once. */
static void
settle(MapEntry *e)
{
	uint32		k = 0;

	if (e->sorted)
		return;
	if (e->bits != NULL)
	{
		e->n = 0;
		for (uint32 i = 0; i < BITMAP_BYTES; i++)
			e->n += (uint32) __builtin_popcount(e->bits[i]);
		e->sorted = true;
		return;
	}
	qsort(e->pages, e->n, sizeof(uint32), cmp_u32);
	for (uint32 i = 0; i < e->n; i++)
		if (k == 0 || e->pages[k - 1] != e->pages[i])
			e->pages[k++] = e->pages[i];
	e->n = k;
	e->sorted = true;
}

/* A run of decimal digits into *out; the end of it, or NULL. */
static const char *
parse_oid(const char *s, Oid *out)
{
	uint32_t	v;

	if (!sb_parse_u32(&s, &v))
		return NULL;
	*out = (Oid) v;
	return s;
}

/* "<relfilenode>[.<segment>]" with nothing after: a main fork's segment. */
static bool
parse_main_fork_file(const char *name, Oid *rel, uint32 *seg)
{
	const char *p = parse_oid(name, rel);
	Oid			s = 0;

	if (p == NULL)
		return false;
	if (*p == '.' && (p = parse_oid(p + 1, &s)) == NULL)
		return false;
	*seg = (uint32) s;
	return *p == '\0';
}

/* The relation segment a data directory path names, if it is a main fork's. */
static bool
parse_relpath(const char *path, Oid *spc, Oid *db, Oid *rel, uint32 *seg)
{
	const char *p;

	if (strncmp(path, "global/", 7) == 0)
	{
		*spc = GLOBALTABLESPACE_OID;
		*db = InvalidOid;
		return parse_main_fork_file(path + 7, rel, seg);
	}
	if (strncmp(path, "base/", 5) == 0)
	{
		*spc = DEFAULTTABLESPACE_OID;
		p = parse_oid(path + 5, db);
	}
	else if (strncmp(path, "pg_tblspc/", 10) == 0)
	{
		/* pg_tblspc/<spc>/<version directory>/<db>/<file> */
		p = parse_oid(path + 10, spc);
		if (p == NULL || *p != '/' || (p = strchr(p + 1, '/')) == NULL)
			return false;
		p = parse_oid(p + 1, db);
	}
	else
		return false;
	if (p == NULL || *p != '/')
		return false;
	return parse_main_fork_file(p + 1, rel, seg);
}

/*
 * The entry of relpath's segment (NULL: no page changed); false: the file
 * is not taken by its pages.
 */
static bool
find_entry(SbBlockMap *map, const char *relpath, MapEntry **found)
{
	MapKey		key;
	MapEntry   *e;
	Oid			spc,
				db,
				rel;
	uint32		seg;

	*found = NULL;
	if (!parse_relpath(relpath, &spc, &db, &rel, &seg))
		return false;
	memset(&key, 0, sizeof(key));
	key.spc = spc;
	key.db = db;
	key.rel = rel;
	key.seg = FORK_WIDE;
	e = hash_search(map->hash, &key, HASH_FIND, NULL);
	if (e != NULL && e->limit)
		return false;
	key.seg = seg;
	e = hash_search(map->hash, &key, HASH_FIND, NULL);
	if (e != NULL)
		settle(e);
	*found = e;
	return true;
}

/* e's pages below limit, ascending, into pages (NULL: only count them). */
static uint32
pages_below(const MapEntry *e, uint32 limit, uint32 *pages)
{
	uint32		n = 0;

	if (e == NULL)
		return 0;
	if (e->bits == NULL)
	{
		while (n < e->n && e->pages[n] < limit)
		{
			if (pages != NULL)
				pages[n] = e->pages[n];
			n++;
		}
		return n;
	}
	for (uint32 byte = 0; byte < BITMAP_BYTES && byte * 8 < limit; byte++)
	{
		uint8		b = e->bits[byte];

		for (uint32 page = byte * 8; b != 0 && page < limit; page++, b >>= 1)
		{
			if ((b & 1) == 0)
				continue;
			if (pages != NULL)
				pages[n] = page;
			n++;
		}
	}
	return n;
}

bool
sb_block_map_lookup(SbBlockMap *map, const char *relpath, uint32 limit,
					uint32 *npages)
{
	MapEntry   *e;

	*npages = 0;
	if (!find_entry(map, relpath, &e))
		return false;
	*npages = pages_below(e, limit, NULL);
	return true;
}

void
sb_block_map_pages(SbBlockMap *map, const char *relpath, uint32 limit,
				   uint32 *pages)
{
	MapEntry   *e;

	if (find_entry(map, relpath, &e))
		(void) pages_below(e, limit, pages);
}

void
sb_block_map_counts(SbBlockMap *map, uint64 *npages, uint64 *nfiles)
{
	HASH_SEQ_STATUS seq;
	MapEntry   *e;

	*npages = 0;
	*nfiles = 0;
	hash_seq_init(&seq, map->hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->key.seg == FORK_WIDE)
			continue;
		settle(e);
		*npages += e->n;
		(*nfiles)++;
	}
}
