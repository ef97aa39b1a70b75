/*-------------------------------------------------------------------------
 *
 * backup_wal.c
 *		Wait until every WAL segment a base backup needs is stored in the
 *		repository: until then the backup is not complete.
 *
 * On a primary, the backup stop has switched WAL (without PostgreSQL's own
 * wait for the archiver, which looks once a second): our archiver stores
 * the last segment within milliseconds, so the repository is looked at
 * after FIRST_POLL_MS, then at twice the interval each time up to POLL_MS.
 * On a standby the backup stops at the standby's minimum recovery point
 * and cannot switch WAL: the segments are archived by the primary's
 * pg_safebackup (or by a standby's with archive_mode = always), and the
 * last one only once the primary has completed it (more writes,
 * archive_timeout, pg_switch_wal()).  Each segment is looked for until it
 * is found, for at most safebackup.backup_wal_timeout; then the backup
 * fails and, having no manifest, is never listed.  A wait longer than
 * POLL_MS is logged.
 *
 * A standby promoted before the backup stops is refused by PostgreSQL's
 * backup stop itself.  Promoted while we wait, the backup's last segment on
 * the old timeline may never be archived (the old primary is usually gone):
 * the backup fails at once instead of waiting for the timeout.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include "access/timeline.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "backend/guc_backup.h"
#include "backend/report.h"
#include "wal.h"
#include "worker/backup_wal.h"

/* how often the repository is looked at while a segment is missing */
#define FIRST_POLL_MS	10
#define POLL_MS		1000

/*
 * The timeline recovery reads segment seg from: the one in force at the
 * segment's last byte in the stop timeline's history (a segment holding a
 * switch point is read from the newer timeline, whose copy continues it).
 */
static TimeLineID
segment_tli(const SbBackupRun *run, List *history, XLogSegNo seg)
{
	XLogRecPtr	end;

	if (history == NIL)
		return run->start_tli;
	XLogSegNoOffsetToRecPtr(seg + 1, 0, wal_segment_size, end);
	return tliOfPointInHistory(end - 1, history);
}

static void
fail_timeout(const SbBackupRun *run, const char *walname)
{
	int			secs = sb_backup_wal_timeout;

	if (run->from_standby)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg_plural("WAL file \"%s\" needed by the backup did not reach the repository within %d second",
							   "WAL file \"%s\" needed by the backup did not reach the repository within %d seconds",
							   secs, walname, secs),
				 errdetail("The backup was taken on a standby, which does not archive WAL itself unless archive_mode = always: the primary's pg_safebackup must archive it into the same repository and stanza."),
				 errhint("Check archiving on the primary (pg_stat_archiver, the view safebackup.archiving). The last segment a standby backup needs is archived only once the primary completes it: set archive_timeout on the primary, or run pg_switch_wal() there while the backup waits. safebackup.backup_wal_timeout sets how long it waits.")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg_plural("WAL file \"%s\" needed by the backup did not reach the repository within %d second",
						   "WAL file \"%s\" needed by the backup did not reach the repository within %d seconds",
						   secs, walname, secs),
			 errhint("Check that WAL archiving works (the view safebackup.archiving, pg_stat_archiver). safebackup.backup_wal_timeout sets how long a backup waits.")));
}

static void
fail_promoted(const SbBackupRun *run)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the standby was promoted while the backup waited for its WAL"),
			 errdetail("The backup stopped at %X/%X on timeline %u; the segment holding that point may never be archived from the old timeline.",
					   LSN_FORMAT_ARGS(run->stop_lsn), run->stop_tli),
			 errhint("Take a new backup on the promoted server.")));
}

/*
 * Is walname stored?  Waits POLL_MS and returns false when it is not yet;
 * raises the errors of the header comment.
 */
static bool
look_for(SbStorage *st, const char *stanza, const SbBackupRun *run,
		 const char *walname, TimestampTz started, bool *logged,
		 long *wait_ms, void (*check_cancel) (void))
{
	SbWalEntry	entry;
	SbError		err;
	SbStatus	rc;

	rc = sb_wal_find(st, stanza, walname, &entry, &err);
	if (rc == SB_OK)
		return true;
	if (rc != SB_ERR_NOT_FOUND)
		sb_report(ERROR, &err, "could not look for the WAL the backup needs", NULL);

	if (run->from_standby && !RecoveryInProgress())
		fail_promoted(run);
	if (sb_backup_wal_timeout > 0 &&
		TimestampDifferenceExceeds(started, GetCurrentTimestamp(),
								   sb_backup_wal_timeout * 1000))
		fail_timeout(run, walname);
	if (!*logged &&
		TimestampDifferenceExceeds(started, GetCurrentTimestamp(), POLL_MS))
	{
		ereport(LOG,
				(errmsg("base backup waits for WAL file \"%s\" to reach the repository",
						walname),
				 run->from_standby ?
				 errdetail("The backup was taken on a standby: the primary (or a standby with archive_mode = always) archives it once the primary has completed the segment.") : 0));
		*logged = true;
	}
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 *wait_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	check_cancel();
	*wait_ms = Min(*wait_ms * 2, POLL_MS);
	return false;
}

void
sb_backup_wait_wal(SbStorage *st, const char *stanza, const SbBackupRun *run,
				   SbManifest *m, void (*check_cancel) (void))
{
	XLogSegNo	seg;
	XLogSegNo	start_seg;
	XLogSegNo	stop_seg;
	List	   *history = NIL;
	TimestampTz started = GetCurrentTimestamp();
	bool		logged = false;
	long		wait_ms = FIRST_POLL_MS;
	char		walname[MAXFNAMELEN];

	/* the timeline changed during the backup (a standby's upstream was promoted) */
	if (run->start_tli != run->stop_tli)
	{
		history = readTimeLineHistory(run->stop_tli);
		TLHistoryFileName(walname, run->stop_tli);
		while (!look_for(st, stanza, run, walname, started, &logged,
						 &wait_ms, check_cancel))
			;
	}

	XLByteToSeg(run->start_lsn, start_seg, wal_segment_size);
	XLByteToPrevSeg(run->stop_lsn, stop_seg, wal_segment_size);
	/* the segments holding the start and the stop point, on their timelines */
	XLogFileName(m->start_wal, run->start_tli, start_seg, wal_segment_size);
	XLogFileName(m->stop_wal, run->stop_tli, stop_seg, wal_segment_size);

	for (seg = start_seg; seg <= stop_seg; seg++)
	{
		XLogFileName(walname, segment_tli(run, history, seg), seg,
					 wal_segment_size);
		while (!look_for(st, stanza, run, walname, started, &logged,
						 &wait_ms, check_cancel))
			;
	}
	if (logged)
		ereport(LOG,
				(errmsg("base backup found every WAL file it needs in the repository, %s to %s",
						m->start_wal, m->stop_wal)));
}
