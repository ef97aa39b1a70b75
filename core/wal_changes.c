/*-------------------------------------------------------------------------
 *
 * wal_changes.c
 *		Collect the relation blocks WAL touched between a backup's start and
 *		a stopped cluster's last checkpoint (see wal_changes.h).
 *
 * This file checks that the range makes sense (the target descends from
 * the backup's start), runs the decoder (wal_decode.c) and finishes the
 * set (wal_changes_set.c) so that queries are read-only.
 *
 *-------------------------------------------------------------------------
 */
#include "wal_changes_internal.h"


/* The timeline the target's history puts lsn on. */
static unsigned int
timeline_at(const SbWalChangesInput *in, uint64_t lsn)
{
	for (int i = 0; i < in->nhistory; i++)
		if (lsn < in->history[i].end_lsn)
			return in->history[i].tli;
	return in->target_tli;
}

static bool
input_valid(const SbWalChangesInput *in, SbWalChanges *ch)
{
	uint32_t	pagesz = in->xlog_blcksz != 0 ? in->xlog_blcksz : 8192;

	if (in->segsize < pagesz || (in->segsize & (in->segsize - 1)) != 0 ||
		(pagesz & (pagesz - 1)) != 0 || pagesz < 1024)
		sb_wc_unusable(ch, "invalid WAL segment size %" PRIu32 " or page size %" PRIu32,
					   in->segsize, pagesz);
	else if (in->end_lsn < in->start_lsn)
		sb_wc_unusable(ch, "the target's last checkpoint " SB_LSN_FMT
					   " is before the backup's start " SB_LSN_FMT,
					   SB_LSN_ARGS(in->end_lsn), SB_LSN_ARGS(in->start_lsn));
	else if (timeline_at(in, in->start_lsn) != in->start_tli)
		sb_wc_unusable(ch, "the target's timeline history does not contain the backup's start "
					   SB_LSN_FMT " on timeline %u",
					   SB_LSN_ARGS(in->start_lsn), in->start_tli);
	return ch->usable;
}

SbStatus
sb_wal_changes_collect(const SbWalChangesInput *in, SbWalChanges **out,
					   SbError *err)
{
	SbWalChanges *ch = sb_wc_new();
	SbStatus	rc = SB_OK;

	*out = NULL;
	if (ch == NULL)
		return sb_error_oom(err);
	if (in->certain_lsn != 0)
	{
		ch->later = sb_wc_new();
		ch->later_lsn = in->certain_lsn;
		if (ch->later == NULL)
		{
			sb_wal_changes_free(ch);
			return sb_error_oom(err);
		}
	}
	if (input_valid(in, ch))
		rc = sb_wal_decode_range(in, ch, err);
	if (rc != SB_OK)
	{
		sb_wal_changes_free(ch);
		return rc;
	}
	ch->stats.wal_bytes = in->end_lsn - in->start_lsn;
	sb_wc_finish(ch);
	if (ch->later != NULL)
		sb_wc_finish(ch->later);
	*out = ch;
	return SB_OK;
}
