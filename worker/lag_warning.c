/*-------------------------------------------------------------------------
 *
 * lag_warning.c
 *		The launcher's watch over the archive lag (backend/archive_lag.h):
 *		when it exceeds safebackup.archive_lag_warning, one WARNING that
 *		says what waits and why; when it is back within, one LOG.  A lag
 *		that stays above is not repeated at each check.
 *
 * The state (warned or not) is shared so that the archive module can wake
 * the launcher as soon as a file is archived while it is raised: the drop
 * below the threshold is then seen at once, not up to a check later.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include "utils/guc.h"
#include "utils/timestamp.h"

#include "backend/archive_lag.h"
#include "backend/shmem.h"
#include "worker/lag_warning.h"

/* checks are this often at most, and at least every CHECK_MAX_MS */
#define CHECK_MIN_MS	1000
#define CHECK_MAX_MS	10000

int			sb_archive_lag_warning = 0;	/* seconds; 0: off */
static bool warned = false;


static void
set_warned(bool value)
{
	warned = value;
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->archive_lag_warned = value;
	LWLockRelease(sb_shared->lock);
}

/* The archive module's last failure, when it came after "since". */
static bool
last_failure_since(TimestampTz since, char *wal, char *error,
				   TimestampTz *when)
{
	bool		found;

	LWLockAcquire(sb_shared->lock, LW_SHARED);
	found = sb_shared->last_failed_wal[0] != '\0' &&
		sb_shared->last_error_time >= since;
	if (found)
	{
		strlcpy(wal, sb_shared->last_failed_wal, SB_WALNAME_LEN);
		strlcpy(error, sb_shared->last_error, SB_LAST_ERROR_LEN);
		*when = sb_shared->last_error_time;
	}
	LWLockRelease(sb_shared->lock);
	return found;
}

static void
warn(const SbArchiveLag *lag)
{
	char		wal[SB_WALNAME_LEN];
	char		error[SB_LAST_ERROR_LEN];
	TimestampTz failed_at;
	char	   *completed;

	if (lag->pending_files == 0)
	{
		ereport(WARNING,
				(errmsg("archive lag of %.0f s exceeds safebackup.archive_lag_warning (%d s)",
						lag->lag_seconds, sb_archive_lag_warning),
				 errdetail("No WAL file waits to be archived, but WAL written after segment \"%s\", archived at %s, is not in the repository yet.",
						   lag->last_archived,
						   timestamptz_to_str(lag->last_archived_time)),
				 errhint("Set archive_timeout so that a partly filled WAL segment is archived within the lag you accept.")));
		return;
	}

	completed = pstrdup(timestamptz_to_str(lag->oldest_pending_time));
	if (last_failure_since(lag->oldest_pending_time, wal, error, &failed_at))
		ereport(WARNING,
				(errmsg("archive lag of %.0f s exceeds safebackup.archive_lag_warning (%d s)",
						lag->lag_seconds, sb_archive_lag_warning),
				 errdetail_plural("%d WAL file waits to be archived, completed at %s. Archiving \"%s\" last failed at %s: %s",
								  "%d WAL files wait to be archived, the oldest completed at %s. Archiving \"%s\" last failed at %s: %s",
								  lag->pending_files,
								  lag->pending_files, completed, wal,
								  timestamptz_to_str(failed_at), error),
				 errhint("Make the repository reachable and writable again; the view safebackup.archiving shows the files waiting and the last error.")));
	else
		ereport(WARNING,
				(errmsg("archive lag of %.0f s exceeds safebackup.archive_lag_warning (%d s)",
						lag->lag_seconds, sb_archive_lag_warning),
				 errdetail_plural("%d WAL file waits to be archived, completed at %s.",
								  "%d WAL files wait to be archived, the oldest completed at %s.",
								  lag->pending_files,
								  lag->pending_files, completed),
				 errhint("Archiving is slower than WAL is written: see the view safebackup.archiving, and consider more safebackup.archive_push_workers.")));
	pfree(completed);
}

long
sb_lag_warning_check(void)
{
	SbArchiveLag lag;
	bool		over;

	if (sb_archive_lag_warning <= 0)
	{
		if (warned)
			set_warned(false);
		return -1;
	}

	sb_archive_lag_measure(&lag);
	over = lag.known && lag.lag_seconds > (double) sb_archive_lag_warning;
	if (over && !warned)
	{
		warn(&lag);
		set_warned(true);
	}
	else if (!over && warned)
	{
		ereport(LOG,
				(errmsg("archive lag is back to %.0f s, within safebackup.archive_lag_warning (%d s)",
						lag.known ? lag.lag_seconds : 0.0, sb_archive_lag_warning)));
		set_warned(false);
	}
	return Min(CHECK_MAX_MS, Max(CHECK_MIN_MS, (long) sb_archive_lag_warning * 1000 / 2));
}
