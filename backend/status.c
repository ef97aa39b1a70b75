/*-------------------------------------------------------------------------
 *
 * status.c
 *		SQL function safebackup_status(): the launcher's and the archive
 *		module's state and the next scheduled backup, from shared memory,
 *		and the repository's mode (append-only or admin) as the repository
 *		last reported it.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "shmem.h"
#include "storage.h"

PG_FUNCTION_INFO_V1(safebackup_status);

#define STATUS_COLS 25

void
sb_status_note_repo_mode(int mode)
{
	if (sb_shared == NULL)
		return;
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->repo_mode_seen = mode + 1;
	LWLockRelease(sb_shared->lock);
}

/*
 * What this host may do in the repository: as the repository server said
 * when we last connected (SB_CAP_SERVER_MODE: TLS), else what the driver
 * knows without asking (posix: "admin"; SFTP: "unknown", as a server's
 * request filter cannot be seen from the client).  NULL for a repository
 * whose server has not been contacted since PostgreSQL started.
 */
static const char *
repo_mode_name(int seen)
{
	SbRepoConfig cfg;
	const SbDriver *driver;
	SbRepoMode	mode;

	if (seen > 0)
		return sb_repo_mode_name((SbRepoMode) (seen - 1));
	sb_guc_repo_config(&cfg);
	driver = sb_driver_of(&cfg);
	if (driver != NULL && sb_driver_mode_before_open(driver, &mode))
		return sb_repo_mode_name(mode);
	return NULL;
}

Datum
safebackup_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS];
	SbShared	snap;
	int			i = 0;

	sb_shmem_require();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(sb_shared->lock, LW_SHARED);
	memcpy(&snap, sb_shared, sizeof(snap));
	LWLockRelease(sb_shared->lock);

	memset(nulls, 0, sizeof(nulls));

	if (snap.launcher_pid != 0)
		values[i++] = Int32GetDatum(snap.launcher_pid);
	else
		nulls[i++] = true;
	values[i++] = CStringGetTextDatum(sb_launcher_state_name(snap.launcher_state));

	if (snap.last_archived_wal[0] != '\0')
	{
		values[i++] = CStringGetTextDatum(snap.last_archived_wal);
		values[i++] = TimestampTzGetDatum(snap.last_archived_time);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
	}

	if (snap.last_failed_wal[0] != '\0')
	{
		values[i++] = CStringGetTextDatum(snap.last_failed_wal);
		values[i++] = CStringGetTextDatum(snap.last_error);
		values[i++] = TimestampTzGetDatum(snap.last_error_time);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
		nulls[i++] = true;
	}

	values[i++] = Int64GetDatum(snap.archived_count);
	values[i++] = Int64GetDatum(snap.failed_count);
	values[i++] = Int64GetDatum(snap.archived_bytes);
	values[i++] = Int64GetDatum(snap.stored_bytes);

	/* the current or last base backup */
	if (snap.backup_phase != SB_BACKUP_NONE)
	{
		values[i++] = CStringGetTextDatum(snap.backup_label);
		values[i++] = CStringGetTextDatum(sb_backup_phase_name(snap.backup_phase));
		values[i++] = TimestampTzGetDatum(snap.backup_started);
		if (snap.backup_finished != 0)
			values[i++] = TimestampTzGetDatum(snap.backup_finished);
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(snap.backup_bytes_done);
		values[i++] = Int64GetDatum(snap.backup_bytes_total);
		values[i++] = Int64GetDatum(snap.backup_files_done);
		values[i++] = Int64GetDatum(snap.backup_files_total);
		if (snap.backup_error[0] != '\0')
			values[i++] = CStringGetTextDatum(snap.backup_error);
		else
			nulls[i++] = true;
	}
	else
	{
		for (int j = 0; j < 9; j++)
			nulls[i++] = true;
	}

	if (snap.next_scheduled_backup != 0)
		values[i++] = TimestampTzGetDatum(snap.next_scheduled_backup);
	else
		nulls[i++] = true;

	values[i++] = Int64GetDatum(snap.wal_gaps_repaired);
	if (snap.last_wal_gap[0] != '\0')
		values[i++] = CStringGetTextDatum(snap.last_wal_gap);
	else
		nulls[i++] = true;
	if (snap.backup_phase != SB_BACKUP_NONE)
		values[i++] = Int64GetDatum(snap.backup_checksum_failures);
	else
		nulls[i++] = true;
	{
		const char *mode = repo_mode_name(snap.repo_mode_seen);

		if (mode != NULL)
			values[i++] = CStringGetTextDatum(mode);
		else
			nulls[i++] = true;
	}
	Assert(i == STATUS_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
