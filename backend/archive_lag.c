/*-------------------------------------------------------------------------
 *
 * archive_lag.c
 *		Measure the archive lag (archive_lag.h) from pg_wal/archive_status,
 *		the last segment archived and the current WAL position; and the SQL
 *		function safebackup_archive_lag() behind the view
 *		safebackup.archiving.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogrecovery.h"
#include "funcapi.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "archive_lag.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(safebackup_archive_lag);

#define ARCHIVE_STATUS_DIR XLOGDIR "/archive_status"
#define READY_SUFFIX ".ready"

static TimestampTz
mtime_of(const struct stat *st)
{
	return time_t_to_timestamptz(st->st_mtim.tv_sec) +
		st->st_mtim.tv_nsec / 1000;
}

/*
 * Count the files waiting to be archived; remember the one completed first
 * (the oldest .ready file) and the lowest waiting segment number.
 */
static void
scan_pending(SbArchiveLag *lag, bool *have_segno, XLogSegNo *oldest_segno)
{
	DIR		   *dir;
	struct dirent *de;

	*have_segno = false;
	dir = AllocateDir(ARCHIVE_STATUS_DIR);
	while ((de = ReadDirExtended(dir, ARCHIVE_STATUS_DIR, LOG)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char		name[MAXPGPATH];
		char		path[MAXPGPATH];
		struct stat st;
		TimestampTz completed;

		if (len <= strlen(READY_SUFFIX) ||
			strcmp(de->d_name + len - strlen(READY_SUFFIX), READY_SUFFIX) != 0 ||
			len - strlen(READY_SUFFIX) >= SB_LAG_NAME_LEN)
			continue;
		snprintf(path, sizeof(path), "%s/%s", ARCHIVE_STATUS_DIR, de->d_name);
		/* archived since the directory was read: no longer waiting */
		if (stat(path, &st) != 0)
			continue;
		memcpy(name, de->d_name, len - strlen(READY_SUFFIX));
		name[len - strlen(READY_SUFFIX)] = '\0';

		lag->pending_files++;
		completed = mtime_of(&st);
		if (lag->oldest_pending[0] == '\0' ||
			completed < lag->oldest_pending_time ||
			(completed == lag->oldest_pending_time &&
			 strcmp(name, lag->oldest_pending) < 0))
		{
			strlcpy(lag->oldest_pending, name, SB_LAG_NAME_LEN);
			lag->oldest_pending_time = completed;
		}
		if (IsXLogFileName(name) || IsPartialXLogFileName(name))
		{
			TimeLineID	tli;
			XLogSegNo	segno;

			XLogFromFileName(name, &tli, &segno, wal_segment_size);
			if (!*have_segno || segno < *oldest_segno)
				*oldest_segno = segno;
			*have_segno = true;
		}
	}
	FreeDir(dir);
}

/*
 * The last segment archived: the archive module's since the server started,
 * else the one pg_stat_archiver remembers.  Outside a transaction (the
 * launcher) the statistics snapshot is refreshed first.
 */
static void
last_archived_segment(SbArchiveLag *lag)
{
	PgStat_ArchiverStats *stats;

	if (sb_shared != NULL)
	{
		LWLockAcquire(sb_shared->lock, LW_SHARED);
		strlcpy(lag->last_archived, sb_shared->last_archived_segment,
				SB_LAG_NAME_LEN);
		lag->last_archived_time = sb_shared->last_archived_segment_time;
		LWLockRelease(sb_shared->lock);
		if (lag->last_archived[0] != '\0')
			return;
	}
	if (!IsTransactionState())
		pgstat_clear_snapshot();
	stats = pgstat_fetch_stat_archiver();
	if (stats != NULL && IsXLogFileName(stats->last_archived_wal))
	{
		strlcpy(lag->last_archived, stats->last_archived_wal, SB_LAG_NAME_LEN);
		lag->last_archived_time = stats->last_archived_timestamp;
	}
}

static double
seconds_between(TimestampTz from, TimestampTz to)
{
	if (to <= from)
		return 0.0;
	return (double) (to - from) / USECS_PER_SEC;
}

void
sb_archive_lag_measure(SbArchiveLag *lag)
{
	bool		have_segno;
	XLogSegNo	oldest_segno = 0;
	XLogRecPtr	from = InvalidXLogRecPtr;

	memset(lag, 0, sizeof(*lag));
	last_archived_segment(lag);
	scan_pending(lag, &have_segno, &oldest_segno);
	lag->current_lsn = RecoveryInProgress() ? GetXLogReplayRecPtr(NULL) :
		GetXLogInsertRecPtr();
	lag->now = GetCurrentTimestamp();

	if (lag->last_archived[0] != '\0')
	{
		TimeLineID	tli;
		XLogSegNo	segno;

		/* WAL after the last archived segment starts where it ends */
		XLogFromFileName(lag->last_archived, &tli, &segno, wal_segment_size);
		XLogSegNoOffsetToRecPtr(segno + 1, 0, wal_segment_size, from);
	}

	if (lag->pending_files > 0)
	{
		if (have_segno)
			XLogSegNoOffsetToRecPtr(oldest_segno, 0, wal_segment_size, from);
		lag->known = true;
		lag->lag_seconds = seconds_between(lag->oldest_pending_time, lag->now);
		if (!XLogRecPtrIsInvalid(from) && lag->current_lsn > from)
			lag->lag_bytes = (int64) (lag->current_lsn - from);
	}
	else if (!XLogRecPtrIsInvalid(from))
	{
		lag->known = true;

		/*
		 * Right after a segment switch the insert position is past the new
		 * segment's page header, with nothing written yet.
		 */
		if (lag->current_lsn > from + SizeOfXLogLongPHD)
		{
			lag->lag_bytes = (int64) (lag->current_lsn - from);
			lag->lag_seconds = seconds_between(lag->last_archived_time,
											   lag->now);
		}
	}
}

#define LAG_COLS 6

Datum
safebackup_archive_lag(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[LAG_COLS];
	bool		nulls[LAG_COLS];
	SbArchiveLag lag;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	sb_archive_lag_measure(&lag);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = LSNGetDatum(lag.current_lsn);
	values[i++] = Int32GetDatum(lag.pending_files);
	if (lag.oldest_pending[0] != '\0')
	{
		values[i++] = CStringGetTextDatum(lag.oldest_pending);
		values[i++] = TimestampTzGetDatum(lag.oldest_pending_time);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
	}
	if (lag.known)
	{
		values[i++] = Int64GetDatum(lag.lag_bytes);
		values[i++] = Float8GetDatum(lag.lag_seconds);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
	}
	Assert(i == LAG_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
