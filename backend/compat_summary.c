/*-------------------------------------------------------------------------
 *
 * compat_summary.c
 *		Reading the server's WAL summaries (PostgreSQL 17 and later) for
 *		block-level incremental backups; see sb_wal_summary_blocks() in
 *		compat.h.  Part of the compatibility layer: before 17 it says that
 *		there are no summaries.
 *
 * The summaries are read through SQL (SPI): pg_get_wal_summarizer_state()
 * to wait until the summarizer has reached the backup's start,
 * pg_available_wal_summaries() for the files covering the range, and
 * pg_wal_summary_contents() for their blocks, read with a cursor so that a
 * large summary never sits in memory as one result.  Debian's server
 * headers lack backup/walsummary.h, and the SQL functions are the
 * interface the server documents.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#if SB_HAVE_WAL_SUMMARIES

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* rows fetched from pg_wal_summary_contents() at a time */
#define SB_SUMMARY_FETCH	10000

typedef struct SummaryRange
{
	XLogRecPtr	start;
	XLogRecPtr	end;
} SummaryRange;

static void
begin_sql(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_sql(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* How far the summarizer has summarized (InvalidXLogRecPtr: not at all). */
static XLogRecPtr
summarized_lsn(void)
{
	XLogRecPtr	lsn = InvalidXLogRecPtr;
	bool		isnull;

	begin_sql();
	if (SPI_execute("SELECT summarized_lsn FROM pg_catalog.pg_get_wal_summarizer_state()",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the WAL summarizer's state");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			lsn = DatumGetLSN(d);
	}
	end_sql();
	return lsn;
}

/* Wait until the summarizer reaches end_lsn; false after wait_ms. */
static bool
wait_for_summarizer(XLogRecPtr end_lsn, int wait_ms, char **why)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   wait_ms);
	XLogRecPtr	lsn;
	long		nap_ms = 2;

	for (;;)
	{
		lsn = summarized_lsn();
		if (lsn >= end_lsn)
			return true;
		if (GetCurrentTimestamp() >= deadline)
			break;

		/*
		 * The backup's start checkpoint has woken the summarizer; it often
		 * needs only milliseconds more, so look again soon (2 ms, doubling
		 * up to 100 ms).
		 */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 nap_ms, PG_WAIT_EXTENSION);
		nap_ms = Min(nap_ms * 2, 100);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	*why = psprintf("The WAL summarizer had summarized up to %X/%X, not yet up to the backup's start %X/%X, after %d ms.",
					LSN_FORMAT_ARGS(lsn), LSN_FORMAT_ARGS(end_lsn), wait_ms);
	return false;
}

/* The summaries of tli that cover [start, end), in order; false on a gap. */
static bool
list_summaries(TimeLineID tli, XLogRecPtr start, XLogRecPtr end,
			   SummaryRange **ranges, int *n, MemoryContext cxt, char **why)
{
	Oid			types[3] = {INT8OID, LSNOID, LSNOID};
	Datum		values[3];
	XLogRecPtr	reached = start;

	values[0] = Int64GetDatum((int64) tli);
	values[1] = LSNGetDatum(start);
	values[2] = LSNGetDatum(end);
	if (SPI_execute_with_args("SELECT start_lsn, end_lsn FROM pg_catalog.pg_available_wal_summaries()"
							  " WHERE tli = $1 AND end_lsn > $2 AND start_lsn < $3"
							  " ORDER BY start_lsn, end_lsn",
							  3, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the WAL summaries");
	*n = (int) SPI_processed;
	*ranges = MemoryContextAlloc(cxt, sizeof(SummaryRange) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		(*ranges)[i].start = DatumGetLSN(SPI_getbinval(tup, desc, 1, &isnull));
		(*ranges)[i].end = DatumGetLSN(SPI_getbinval(tup, desc, 2, &isnull));
		/* each must begin at or before where the ones before it reach */
		if ((*ranges)[i].start > reached)
			break;
		if ((*ranges)[i].end > reached)
			reached = (*ranges)[i].end;
	}
	if (reached < end)
	{
		*why = psprintf("The WAL summaries of timeline %u cover the range from the base backup's start %X/%X to this backup's start %X/%X only up to %X/%X.",
						tli, LSN_FORMAT_ARGS(start), LSN_FORMAT_ARGS(end),
						LSN_FORMAT_ARGS(reached));
		return false;
	}
	return true;
}

/* Every block one summary file records. */
static void
read_summary(TimeLineID tli, const SummaryRange *r, SbSummaryBlockFn fn,
			 void *arg)
{
	Oid			types[3] = {INT8OID, LSNOID, LSNOID};
	Datum		values[3];
	Portal		portal;

	values[0] = Int64GetDatum((int64) tli);
	values[1] = LSNGetDatum(r->start);
	values[2] = LSNGetDatum(r->end);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT relfilenode, reltablespace, reldatabase, relforknumber,"
									   " relblocknumber, is_limit_block"
									   " FROM pg_catalog.pg_wal_summary_contents($1, $2, $3)",
									   3, types, values, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, SB_SUMMARY_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Oid			relnumber = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
			Oid			spc = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
			Oid			db = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
			int			fork = DatumGetInt16(SPI_getbinval(tup, desc, 4, &isnull));
			int64		block = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
			bool		limit = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));

			fn(arg, spc, db, relnumber, fork, (uint32) block, limit);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

bool
sb_wal_summary_blocks(TimeLineID tli, XLogRecPtr start_lsn, XLogRecPtr end_lsn,
					  int wait_ms, SbSummaryBlockFn fn, void *arg, char **why)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = false;
	const char *summarize = GetConfigOption("summarize_wal", true, false);

	*why = NULL;
	if (!OidIsValid(MyDatabaseId))
	{
		*why = pstrdup("The backup worker is connected to no database: see safebackup.summary_database.");
		return false;
	}
	if (summarize == NULL || strcmp(summarize, "on") != 0)
	{
		*why = pstrdup("summarize_wal is off.");
		return false;
	}
	PG_TRY();
	{
		SummaryRange *ranges;
		int			n;

		if (wait_for_summarizer(end_lsn, wait_ms, why))
		{
			begin_sql();
			if (list_summaries(tli, start_lsn, end_lsn, &ranges, &n, cxt, why))
			{
				for (int i = 0; i < n; i++)
					read_summary(tli, &ranges[i], fn, arg);
				ok = true;
			}
			end_sql();
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		/* a cancel or a shutdown is no reason to go on at file level */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		*why = psprintf("Reading the WAL summaries failed: %s.", edata->message);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return ok;
}

#else							/* !SB_HAVE_WAL_SUMMARIES */

bool
sb_wal_summary_blocks(TimeLineID tli, XLogRecPtr start_lsn, XLogRecPtr end_lsn,
					  int wait_ms, SbSummaryBlockFn fn, void *arg, char **why)
{
	*why = psprintf("PostgreSQL %d keeps no WAL summaries; they begin with PostgreSQL 17.",
					PG_VERSION_NUM / 10000);
	return false;
}

#endif
