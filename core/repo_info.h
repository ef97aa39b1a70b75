/*-------------------------------------------------------------------------
 *
 * repo_info.h
 *		What a stanza holds, read from the repository alone: the WAL range
 *		archived on each timeline (for "pg_safebackup info").
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_REPO_INFO_H
#define SB_REPO_INFO_H

#include <stdint.h>

#include "manifest.h"
#include "sb_error.h"
#include "storage.h"

typedef struct SbWalRange
{
	unsigned int timeline;
	char		first[SB_WALNAME_MAX];	/* oldest segment stored */
	char		last[SB_WALNAME_MAX];	/* newest segment stored */
} SbWalRange;

/*
 * The oldest and newest WAL segment stored for each timeline under
 * <stanza>/wal (history files, partial segments and backup history files
 * are not counted), ordered by timeline.  A stanza without WAL gives zero
 * ranges.  *ranges is malloc'd (NULL when there are none).
 */
extern SbStatus sb_wal_ranges(SbStorage *st, const char *stanza,
							  SbWalRange **ranges, int *nranges, SbError *err);

#endif							/* SB_REPO_INFO_H */
