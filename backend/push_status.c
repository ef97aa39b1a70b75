/*-------------------------------------------------------------------------
 *
 * push_status.c
 *		SQL function safebackup_push_workers(): one row per push-ahead
 *		worker (configured or still running), from shared memory.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "push_table.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(safebackup_push_workers);

#define PUSH_COLS 8

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

Datum
safebackup_push_workers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			configured = sb_guc_archive_push_workers();

	sb_shmem_require();
	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i < SB_PUSH_MAX_WORKERS; i++)
	{
		SbPushWorkerInfo info;
		Datum		values[PUSH_COLS];
		bool		nulls[PUSH_COLS];
		int			c = 0;
		const char *state;

		sb_push_worker_info(i, &info);
		if (i >= configured && info.pid == 0)
			continue;
		memset(nulls, 0, sizeof(nulls));
		if (info.pid == 0)
			state = "stopped";
		else if (info.current_wal[0] != '\0')
			state = "pushing";
		else
			state = "idle";

		values[c++] = Int32GetDatum(i);
		if (info.pid != 0)
			values[c++] = Int32GetDatum(info.pid);
		else
			nulls[c++] = true;
		values[c++] = CStringGetTextDatum(state);
		values[c] = text_or_null(info.current_wal, &nulls[c]);
		c++;
		values[c++] = Int64GetDatum(info.pushed_count);
		values[c++] = Int64GetDatum(info.failed_count);
		if (info.last_pushed_time != 0)
			values[c++] = TimestampTzGetDatum(info.last_pushed_time);
		else
			nulls[c++] = true;
		values[c] = text_or_null(info.last_error, &nulls[c]);
		c++;
		Assert(c == PUSH_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
