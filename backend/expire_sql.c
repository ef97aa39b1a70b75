/*-------------------------------------------------------------------------
 *
 * expire_sql.c
 *		safebackup_expire(), and the expire run by the backup worker after
 *		each successful backup; the rules are in core/expire.h.
 *
 * The server knows which backup is running (shared memory), so unlike the
 * CLI it can remove every other backup directory without a manifest.
 *
 * With an append-only identity (the TLS server's "append" right) the host
 * removes nothing: safebackup_expire() fails with a clear error, the expire
 * after a backup is skipped with a LOG line; the repository expires.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "expire_sql.h"
#include "guc.h"
#include "report.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(safebackup_expire);

/*
 * Is this backup running now?  Asked by expire after it listed the backup
 * directories: a backup's label is in shared memory before its directory
 * is created, and only one runs at a time.
 */
static bool
backup_running(const char *label, void *arg)
{
	bool		running;

	LWLockAcquire(sb_shared->lock, LW_SHARED);
	running = sb_shared->backup_running &&
		strcmp(sb_shared->backup_label, label) == 0;
	LWLockRelease(sb_shared->lock);
	return running;
}

SbStatus
sb_server_expire(SbStorage *st, const SbRepoConfig *cfg, SbExpireResult *res,
				 SbError *err)
{
	SbExpireOptions o;
	SbStatus	rc;

	/*
	 * A database host with an append-only identity removes nothing: the
	 * repository applies retention itself.  Not a failure of the backup.
	 */
	memset(res, 0, sizeof(*res));
	if (sb_storage_mode(st) == SB_REPO_MODE_APPEND)
	{
		ereport(LOG,
				(errmsg("pg_safebackup expire skipped: the repository is append-only for this host"),
				 errdetail("Expire of stanza \"%s\" runs on the repository (the repository server's [retention] section, or an admin identity).",
						   cfg->stanza)));
		return SB_OK;
	}

	memset(&o, 0, sizeof(o));
	o.stanza = cfg->stanza;
	o.retention_full = cfg->retention_full;
	o.is_running = backup_running;
	rc = sb_expire(st, &o, res, err);
	if (rc != SB_OK)
		return rc;

	if (res->temp.removed > 0)
		ereport(LOG,
				(errmsg_plural("pg_safebackup expire removed %d temporary file left by an interrupted write",
							   "pg_safebackup expire removed %d temporary files left by interrupted writes",
							   res->temp.removed, res->temp.removed),
				 errdetail("Writers that die (a process killed in the middle of a write) leave them; they are removed once %d hours old.",
						   SB_TEMP_SAFE_AGE_S / 3600)));

	if (res->nexpired > 0 || res->nleftovers > 0 || res->wal_removed > 0)
		ereport(LOG,
				(errmsg("pg_safebackup expire removed %d backups, %d incomplete backups and %llu WAL files",
						res->nexpired, res->nleftovers,
						(unsigned long long) res->wal_removed),
				 res->wal_removed > 0 ?
				 errdetail("Retention %d full backups: %d kept.  WAL removed: %s to %s; kept from %s.",
						   cfg->retention_full, res->backups_kept,
						   res->wal_first, res->wal_last, res->wal_keep_from) :
				 errdetail("Retention %d full backups: %d kept.",
						   cfg->retention_full, res->backups_kept)));
	return SB_OK;
}

static Datum
labels_datum(char **labels, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n > 0 ? n : 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(labels[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

#define EXPIRE_COLS 9

Datum
safebackup_expire(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	SbRepoConfig cfg;
	SbStorage  *st;
	SbExpireResult res;
	SbError		err;
	SbStatus	rc;
	Datum		values[EXPIRE_COLS];
	bool		nulls[EXPIRE_COLS];
	int			c = 0;

	sb_shmem_require();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	sb_guc_repo_config(&cfg);
	if (cfg.repo_path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("safebackup.repo_path is not set")));

	sb_error_clear(&err);
	memset(&res, 0, sizeof(res));
	if (sb_storage_create(&cfg, &st, &err) != SB_OK)
		sb_report(ERROR, &err, "could not open the repository", NULL);
	rc = sb_storage_open(st, &err);
	if (rc == SB_OK)
		sb_status_note_repo_mode((int) sb_storage_mode(st));
	if (rc == SB_OK && sb_storage_mode(st) == SB_REPO_MODE_APPEND)
		rc = sb_expire_append_only_error(cfg.stanza, &err);
	if (rc == SB_OK)
		rc = sb_server_expire(st, &cfg, &res, &err);
	sb_storage_close(st);
	sb_storage_free(st);
	if (rc != SB_OK)
	{
		sb_expire_result_free(&res);
		sb_report(ERROR, &err, "could not expire", NULL);
	}

	memset(nulls, 0, sizeof(nulls));
	values[c++] = Int32GetDatum(cfg.retention_full);
	values[c++] = Int32GetDatum(res.backups_kept);
	values[c++] = labels_datum(res.expired, res.nexpired);
	values[c++] = labels_datum(res.leftovers, res.nleftovers);
	values[c++] = Int64GetDatum((int64) res.wal_removed);
	if (res.wal_first[0])
	{
		values[c++] = CStringGetTextDatum(res.wal_first);
		values[c++] = CStringGetTextDatum(res.wal_last);
	}
	else
	{
		nulls[c++] = true;
		nulls[c++] = true;
	}
	if (res.wal_keep_from[0])
		values[c++] = CStringGetTextDatum(res.wal_keep_from);
	else
		nulls[c++] = true;
	values[c++] = Int32GetDatum(res.temp.removed);
	Assert(c == EXPIRE_COLS);
	sb_expire_result_free(&res);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
