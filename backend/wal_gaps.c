/*-------------------------------------------------------------------------
 *
 * wal_gaps.c
 *		Find completed WAL segments that PostgreSQL will not archive, and
 *		queue them for archiving.
 *
 * PostgreSQL marks a segment ready for archiving (archive_status/X.ready)
 * right after the process that completed it has flushed it.  A crash
 * between the two (an archiver killed with SIGKILL makes the postmaster
 * reinitialize, and every backend stops where it is) leaves a complete
 * segment with no archive status at all; crash recovery does not mark it,
 * and the archiver only looks at .ready files.  PostgreSQL notices such a
 * segment only when a checkpoint is about to remove it, which can be hours
 * later with a large wal_keep_size, or never with a replication slot: until
 * then the archive has a hole and point-in-time recovery through it fails.
 *
 * The launcher calls sb_wal_gaps_repair() at start and then periodically.
 * A segment counts as a gap when it is a whole segment file on this or an
 * earlier timeline, older than the segment WAL is being flushed into (so
 * PostgreSQL has already marked it, if it ever will), has neither a .ready
 * nor a .done status, and did so in the previous scan too (a margin against
 * any window we do not know of).  It is logged with a WARNING, marked
 * .ready exactly as PostgreSQL does, and the archiver is woken up: the
 * archiver then archives it with every usual guarantee (an identical copy
 * already in the repository is simply confirmed).  The count is shown by
 * safebackup_status().wal_gaps_repaired.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "postmaster/pgarch.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "shmem.h"
#include "wal_gaps.h"

/* gap candidates of the previous scan (names), in TopMemoryContext */
static List *previous_candidates = NIL;

static bool
status_exists(const char *walname, const char *suffix)
{
	char		path[MAXPGPATH];
	struct stat st;

	snprintf(path, sizeof(path), XLOGDIR "/archive_status/%s%s", walname, suffix);
	return stat(path, &st) == 0;
}

static bool
seen_before(const char *walname)
{
	ListCell   *lc;

	foreach(lc, previous_candidates)
	{
		if (strcmp((const char *) lfirst(lc), walname) == 0)
			return true;
	}
	return false;
}

/* Mark walname ready for archiving, as XLogArchiveNotify() does. */
static bool
mark_ready(const char *walname)
{
	char		path[MAXPGPATH];
	int			fd;

	snprintf(path, sizeof(path), XLOGDIR "/archive_status/%s.ready", walname);
	fd = OpenTransientFile(path, O_CREAT | O_EXCL | O_WRONLY | PG_BINARY);
	if (fd < 0)
	{
		/* the archiver or a checkpoint got there first: not a gap then */
		if (errno == EEXIST)
			return false;
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not create archive status file \"%s\": %m", path)));
		return false;
	}
	if (CloseTransientFile(fd) != 0)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not close archive status file \"%s\": %m", path)));
		return false;
	}
	return true;
}

static void
count_repaired(const char *walname)
{
	if (sb_shared == NULL)
		return;
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->wal_gaps_repaired++;
	strlcpy(sb_shared->last_wal_gap, walname, SB_WALNAME_LEN);
	LWLockRelease(sb_shared->lock);
}

int
sb_wal_gaps_repair(void)
{
	TimeLineID	current_tli;
	XLogRecPtr	flush;
	XLogSegNo	flush_segno;
	DIR		   *dir;
	struct dirent *de;
	List	   *candidates = NIL;
	MemoryContext oldcxt;
	int			repaired = 0;

	if (!XLogArchivingActive() || RecoveryInProgress())
	{
		list_free_deep(previous_candidates);
		previous_candidates = NIL;
		return 0;
	}

	flush = GetFlushRecPtr(&current_tli);
	XLByteToSeg(flush, flush_segno, wal_segment_size);

	dir = AllocateDir(XLOGDIR);
	while ((de = ReadDir(dir, XLOGDIR)) != NULL)
	{
		TimeLineID	tli;
		XLogSegNo	segno;
		char		path[MAXPGPATH];
		struct stat st;

		if (!IsXLogFileName(de->d_name))
			continue;
		XLogFromFileName(de->d_name, &tli, &segno, wal_segment_size);
		/* complete: older than the segment being flushed into */
		if (tli > current_tli || segno >= flush_segno)
			continue;
		snprintf(path, sizeof(path), XLOGDIR "/%s", de->d_name);
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
			st.st_size != wal_segment_size)
			continue;
		if (status_exists(de->d_name, ".ready") || status_exists(de->d_name, ".done"))
			continue;

		if (!seen_before(de->d_name))
		{
			/* look again at the next scan */
			oldcxt = MemoryContextSwitchTo(TopMemoryContext);
			candidates = lappend(candidates, pstrdup(de->d_name));
			MemoryContextSwitchTo(oldcxt);
			continue;
		}

		/* the segment may have been removed meanwhile: then no status */
		if (lstat(path, &st) != 0 || !mark_ready(de->d_name))
			continue;
		ereport(WARNING,
				(errmsg("WAL file \"%s\" is complete but was never marked ready for archiving",
						de->d_name),
				 errdetail("It had no archive status file, so the archiver would not have archived it before a checkpoint removes it (a crash right after the file was completed leaves it so). It has been marked ready for archiving.")));
		count_repaired(de->d_name);
		repaired++;
	}
	FreeDir(dir);

	list_free_deep(previous_candidates);
	previous_candidates = candidates;

	if (repaired > 0)
	{
		/* the archiver keeps a list of files from its last directory scan */
		PgArchForceDirScan();
		PgArchWakeup();
	}
	return repaired;
}
