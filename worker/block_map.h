/*-------------------------------------------------------------------------
 *
 * block_map.h
 *		Which pages of which relation files changed since the base backup,
 *		from the server's WAL summaries (PostgreSQL 17 and later): what a
 *		block-level incremental backup copies.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BLOCK_MAP_H
#define SB_BLOCK_MAP_H

#include "postgres.h"

#include "access/xlogdefs.h"

typedef struct SbBlockMap SbBlockMap;

/* how long a backup waits for the WAL summarizer to reach its start */
#define SB_SUMMARY_WAIT_MS	30000

/*
 * The changed pages of every relation file
 * between from and to on timeline tli, in a memory context of its own;
 * NULL, with *why (a sentence) saying why, when the summaries cannot tell.
 */
extern SbBlockMap *sb_block_map_build(TimeLineID tli, XLogRecPtr from,
									  XLogRecPtr to, char **why);

/*
 * Can the file relpath (relative to the data directory) be taken by its
 * changed pages, and how many of its pages numbered below limit (in the
 * file) changed (maybe none)?  false for files that are not the main fork
 * of a relation, and for forks the summaries saw truncated, created or
 * dropped (copied whole).  sb_block_map_pages gives those pages, ascending,
 * into pages (room for *npages).
 */
extern bool sb_block_map_lookup(SbBlockMap *map, const char *relpath,
								uint32 limit, uint32 *npages);
extern void sb_block_map_pages(SbBlockMap *map, const char *relpath,
							   uint32 limit, uint32 *pages);

/* What the map holds, for the log: pages and relation files. */
extern void sb_block_map_counts(SbBlockMap *map, uint64 *npages,
								uint64 *nfiles);

#endif							/* SB_BLOCK_MAP_H */
