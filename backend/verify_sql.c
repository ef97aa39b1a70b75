/*-------------------------------------------------------------------------
 *
 * verify_sql.c
 *		safebackup_verify(label): one row per backup checked, ok or what is
 *		wrong with it; the checks are in core/verify.h.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "guc.h"
#include "report.h"
#include "shmem.h"
#include "verify.h"

PG_FUNCTION_INFO_V1(safebackup_verify);

#define VERIFY_COLS 8

static void
put_row(const SbVerifyBackup *b, void *arg)
{
	ReturnSetInfo *rsinfo = arg;
	Datum		values[VERIFY_COLS];
	bool		nulls[VERIFY_COLS];
	int			c = 0;

	memset(nulls, 0, sizeof(nulls));
	values[c++] = CStringGetTextDatum(b->label);
	values[c++] = CStringGetTextDatum(b->ok ? "ok" : "error");
	if (b->ok)
		nulls[c++] = true;
	else
	{
		StringInfoData s;

		initStringInfo(&s);
		for (int i = 0; i < b->nlisted; i++)
			appendStringInfo(&s, "%s%s", i > 0 ? "\n" : "", b->problems[i]);
		if (b->nproblems > b->nlisted)
			appendStringInfo(&s, "\n(and %d more problems)", b->nproblems - b->nlisted);
		values[c++] = CStringGetTextDatum(s.data);
	}
	values[c++] = Int32GetDatum(b->files_checked);
	values[c++] = Int64GetDatum((int64) b->bytes_checked);
	if (b->wal_first[0])
	{
		values[c++] = CStringGetTextDatum(b->wal_first);
		values[c++] = CStringGetTextDatum(b->wal_last);
	}
	else
	{
		nulls[c++] = true;
		nulls[c++] = true;
	}
	values[c++] = Int32GetDatum(b->wal_checked);
	Assert(c == VERIFY_COLS);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Stop between files on a cancel or termination request. */
static bool
sql_interrupted(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

Datum
safebackup_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *label = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	SbRepoConfig cfg;
	SbVerifyOptions o;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	int			nchecked;
	int			nbad;

	InitMaterializedSRF(fcinfo, 0);
	sb_guc_repo_config(&cfg);
	if (cfg.repo_path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("safebackup.repo_path is not set")));

	memset(&o, 0, sizeof(o));
	o.stanza = cfg.stanza;
	o.label = label;
	o.report = put_row;
	o.report_arg = rsinfo;
	o.interrupted = sql_interrupted;

	sb_error_clear(&err);
	if (sb_storage_create(&cfg, &st, &err) != SB_OK)
		sb_report(ERROR, &err, "could not open the repository", NULL);
	rc = sb_storage_open(st, &err);
	if (rc == SB_OK)
		rc = sb_verify(st, &o, &nchecked, &nbad, &err);
	sb_storage_close(st);
	sb_storage_free(st);
	CHECK_FOR_INTERRUPTS();
	if (rc != SB_OK)
		sb_report(ERROR, &err, "could not verify", NULL);
	if (nbad > 0)
		ereport(WARNING,
				(errmsg("%d of %d backups have problems", nbad, nchecked),
				 errhint("See the detail column; a backup with problems may not restore.")));
	return (Datum) 0;
}
