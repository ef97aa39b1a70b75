/*-------------------------------------------------------------------------
 *
 * archive_lag.h
 *		How far WAL archiving lags behind the WAL being written: measured
 *		for the view safebackup.archiving and for the launcher's
 *		safebackup.archive_lag_warning.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_ARCHIVE_LAG_H
#define SB_ARCHIVE_LAG_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#define SB_LAG_NAME_LEN 64

typedef struct SbArchiveLag
{
	TimestampTz now;			/* when it was measured */
	XLogRecPtr	current_lsn;	/* insert position (replay during recovery) */
	int			pending_files;	/* .ready files in pg_wal/archive_status */
	char		oldest_pending[SB_LAG_NAME_LEN];	/* "" when none waits */
	TimestampTz oldest_pending_time;	/* when it was completed */

	/* the last WAL segment archived, and when ("" when unknown) */
	char		last_archived[SB_LAG_NAME_LEN];
	TimestampTz last_archived_time;

	bool		known;			/* false: nothing to measure from */
	int64		lag_bytes;
	double		lag_seconds;
} SbArchiveLag;

/*
 * Measure the lag now (see README.md, "Archive lag"):
 *
 * - files wait to be archived: lag_seconds is the time since the oldest of
 *   them was completed (its .ready status file was made), lag_bytes the WAL
 *   from the start of the oldest waiting segment to current_lsn;
 * - none waits, but WAL was written after the last archived segment:
 *   lag_seconds is the time since that segment was archived, lag_bytes the
 *   WAL written after it;
 * - none waits and nothing was written after it: both are 0;
 * - none waits and no segment was archived since the statistics were last
 *   reset: unknown.
 *
 * The last archived segment is the archive module's since the server
 * started, else pg_stat_archiver's (kept across a clean restart).
 */
extern void sb_archive_lag_measure(SbArchiveLag *lag);

#endif							/* SB_ARCHIVE_LAG_H */
