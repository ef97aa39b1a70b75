/*-------------------------------------------------------------------------
 *
 * temp_leftovers.h
 *		Temporary files left in a stanza by writers that died (an archiver
 *		or a repository server connection killed with SIGKILL in the middle
 *		of a write): counted for verify and info, removed by expire once
 *		they are old enough that no live writer can own them.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TEMP_LEFTOVERS_H
#define SB_TEMP_LEFTOVERS_H

#include <stdbool.h>
#include <stdint.h>

#include "sb_error.h"
#include "storage.h"

/*
 * A temporary file not modified for this long has no live writer: writes
 * stream without pause, and a stalled one gives up after io_timeout (at most
 * an hour); twice that leaves room for clocks that differ between hosts.
 */
#define SB_TEMP_SAFE_AGE_S		(2 * 3600)

typedef struct SbTempLeftovers
{
	int			found;			/* temporary files seen */
	int			old;			/* of those, at least min_age seconds old */
	int			young;			/* of those, more recent (never removed) */
	int			removed;		/* of the old ones, removed */
	int64_t		oldest_mtime;	/* of those seen; 0 when none */
} SbTempLeftovers;

/*
 * Look for temporary files in the stanza's own directory and its WAL
 * directories.  With remove, those whose modification time is at least
 * min_age seconds before now are removed.  Files that vanish meanwhile are
 * not errors.
 */
extern SbStatus sb_temp_leftovers_scan(SbStorage *st, const char *stanza,
								   int64_t now, int64_t min_age, bool remove,
								   SbTempLeftovers *out, SbError *err);

#endif							/* SB_TEMP_LEFTOVERS_H */
