/*-------------------------------------------------------------------------
 *
 * restore_delta_wal.c
 *		The delta restore's change list: the relation blocks the WAL
 *		touched between the backup's start and the target's last
 *		checkpoint, so that only those blocks of the target are read and
 *		compared instead of every changed file whole.
 *
 * Why that is enough: the backup started at a checkpoint's redo point,
 * whose checkpoint had written every page changed before it; from there
 * on, every page PostgreSQL writes was first described in the WAL, hint
 * bits included when the cluster has data checksums (the first change of
 * a page after a checkpoint logs the whole page).  So a relation block the
 * WAL does not touch between the backup's start and the target's last
 * checkpoint (a clean shutdown: nothing was written after it) holds in the
 * target what the backup read.  Blocks a relation has beyond either size,
 * truncated relations, and databases copied or dropped without block
 * references are compared as before (wal_changes.c says which).
 *
 * The list is used only when all of this holds, and otherwise the restore
 * compares by content as before, saying why in its summary:
 *
 * - not --delta-checksum;
 * - the backup verified page checksums (the cluster had data checksums)
 *   and the target's pg_control still has them;
 * - the target was shut down cleanly (pg_control's state), so its last
 *   checkpoint record ends its WAL, and it ran as a primary on the
 *   backup's timeline since the backup: a standby, or a cluster promoted
 *   since (a new timeline), replayed WAL after the backup's start, and
 *   while replaying PostgreSQL may write a hint bit without WAL to a page
 *   last changed before its restartpoint, which may precede the backup's
 *   start (a primary's hint bits after the backup's start are logged, or
 *   go to pages changed after it); a crash recovery on the primary starts
 *   from a checkpoint after the backup's start, so it is no exception;
 * - every WAL segment in between is in the target's pg_wal or in the
 *   repository, and reads without error: never a partial list;
 * - that WAL is not larger than the backup's data: reading more WAL than
 *   there is data to compare would cost more than comparing.
 *
 * The WAL is read before the delta restore removes anything from pg_wal.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "wal_changes.h"

/* Say why the list is not used; the restore compares by content. */
static SbStatus
not_used(Restore *r, const char *fmt, const char *arg)
{
	snprintf(r->result->delta_wal_note, sizeof(r->result->delta_wal_note),
			 fmt, arg);
	return SB_OK;
}

/*
 * Collect r->delta_changes when the rules of the header comment allow;
 * else leave it NULL with the reason in r->result->delta_wal_note.  Only
 * running out of memory fails the restore.
 */
SbStatus
sb_restore_delta_wal(Restore *r, SbError *err)
{
	SbControlInfo ci;
	SbWalChangesInput in;
	RestoreWalSource *src = NULL;
	SbError		e;
	SbStatus	rc;
	const char *reason;
	uint64_t	from_repo;
	uint64_t	start_lsn;
	SbWalChangesStats stats;

	sb_error_clear(&e);
	if (r->o->delta_checksum)
		return not_used(r, "%s", "--delta-checksum compares every file");
	if (!r->m.checksums_verified)
		return not_used(r, "%s", "the backup's cluster had no data checksums");
	if (!sb_lsn_parse(r->m.start_lsn, &start_lsn))
		return not_used(r, "the backup's start LSN \"%s\" is not readable", r->m.start_lsn);
	if (sb_cluster_read_control(r->target, &ci, &e) != SB_OK)
		return not_used(r, "%s", e.msg);
	if (ci.data_checksum_version == 0)
		return not_used(r, "%s", "the target has no data checksums");
	if (ci.state != SB_DB_SHUTDOWNED)
		return not_used(r, "%s", ci.state == SB_DB_SHUTDOWNED_IN_RECOVERY ?
						"the target is a standby" :
						"the target was not shut down cleanly");
	if (ci.checkpoint_tli != r->m.timeline)
		return not_used(r, "%s", "the target is on another timeline than the backup");
	if (ci.checkpoint < start_lsn)
		return not_used(r, "%s", "the target's last checkpoint is older than the backup");
	/* reading more WAL than there is data costs more than comparing files */
	if (ci.checkpoint - start_lsn > r->m.database_size)
	{
		snprintf(r->result->delta_wal_note, sizeof(r->result->delta_wal_note),
				 "the WAL since the backup (%.0f MB) is larger than its data (%.0f MB)",
				 (double) (ci.checkpoint - start_lsn) / (1024.0 * 1024.0),
				 (double) r->m.database_size / (1024.0 * 1024.0));
		return SB_OK;
	}

	memset(&in, 0, sizeof(in));
	in.segsize = ci.xlog_seg_size;
	in.xlog_blcksz = ci.xlog_blcksz;
	in.system_identifier = ci.system_identifier;
	in.start_lsn = start_lsn;
	in.start_tli = r->m.timeline;
	in.end_lsn = ci.checkpoint;
	/* every page of the backup was read before its stop LSN */
	if (!sb_lsn_parse(r->m.stop_lsn, &in.certain_lsn))
		in.certain_lsn = 0;
	in.target_tli = ci.checkpoint_tli;
	rc = sb_restore_wal_source_new(r, in.segsize, in.end_lsn, &src, err);
	if (rc != SB_OK)
		return rc;
	in.read_segment = sb_restore_wal_source_read;
	in.read_end = sb_restore_wal_source_end;
	in.read_arg = src;
	rc = sb_wal_changes_collect(&in, &r->delta_changes, &e);
	from_repo = sb_restore_wal_source_free(src);
	if (rc != SB_OK)
	{
		/* only when out of memory */
		*err = e;
		return rc;
	}
	if (!sb_wal_changes_usable(r->delta_changes, &reason))
	{
		not_used(r, "%s", reason);
		sb_wal_changes_free(r->delta_changes);
		r->delta_changes = NULL;
		return SB_OK;
	}
	r->delta_blcksz = ci.blcksz;
	r->delta_relseg_size = ci.relseg_size;
	r->delta_wal_segsize = ci.xlog_seg_size;
	r->delta_wal_end_segno = ci.checkpoint / ci.xlog_seg_size;
	r->result->delta_wal_used = true;
	sb_wal_changes_stats(r->delta_changes, &stats);
	snprintf(r->result->delta_wal_note, sizeof(r->result->delta_wal_note),
			 stats.segments == 1 ?
			 "WAL from %s to %X/%X read, %.1f MB in %d segment (%" PRIu64 " from the repository)" :
			 "WAL from %s to %X/%X read, %.1f MB in %d segments (%" PRIu64 " from the repository)",
			 r->m.start_lsn, (unsigned) (in.end_lsn >> 32), (unsigned) in.end_lsn,
			 (double) stats.wal_bytes / (1024.0 * 1024.0), stats.segments,
			 from_repo);
	return SB_OK;
}
