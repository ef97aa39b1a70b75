/*-------------------------------------------------------------------------
 *
 * sb_large_alloc.h
 *		Buffers of several MiB (whole WAL segments, the buffers of direct
 *		reads) on huge pages where the kernel offers them
 *		(sb_large_alloc.c).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_LARGE_ALLOC_H
#define SB_LARGE_ALLOC_H

#include <stddef.h>

/*
 * size bytes, uninitialized, released with free(); NULL when out of
 * memory.  Of at least 2 MiB: aligned to 2 MiB.
 */
extern void *sb_large_alloc(size_t size);

#endif							/* SB_LARGE_ALLOC_H */
