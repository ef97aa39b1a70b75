/*-------------------------------------------------------------------------
 *
 * repo_sql.c
 *		SQL function safebackup_repository(), behind the view
 *		safebackup.repository: the repository of the safebackup.* settings
 *		as it answers now.  A repository that cannot be opened or read is
 *		a row that says so (reachable, error), not an ERROR, so that a
 *		monitoring query keeps working when the repository is down.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "guc.h"
#include "repo_info.h"
#include "shmem.h"
#include "stanza.h"
#include "storage.h"
#include "storage_wait.h"

PG_FUNCTION_INFO_V1(safebackup_repository);

enum
{
	COL_REPO_TYPE,
	COL_LOCATION,
	COL_STANZA,
	COL_MODE,
	COL_REACHABLE,
	COL_ENCRYPTION,
	COL_SYSTEM_IDENTIFIER,
	COL_PG_VERSION,
	COL_WAL_FIRST,
	COL_WAL_LAST,
	COL_ERROR,
	REPO_COLS
};

/* Where the repository is, as a DBA would write it down. */
static char *
location(const SbRepoConfig *cfg)
{
	char		buf[2 * MAXPGPATH];

	sb_driver_location(cfg, buf, sizeof(buf));
	return pstrdup(buf);
}

static void
set_text(Datum *values, bool *nulls, int col, const char *s)
{
	nulls[col] = false;
	values[col] = CStringGetTextDatum(s);
}

/*
 * Fill what the open repository says about the stanza; false with err set
 * when it cannot be read (a stanza not created yet among them).
 */
static bool
describe_stanza(SbStorage *st, const SbRepoConfig *cfg, Datum *values,
				bool *nulls, SbError *err)
{
	SbStanzaInfo info;
	SbWalRange *ranges = NULL;
	int			nranges = 0;

	if (sb_stanza_describe(st, cfg->stanza, &info, err) != SB_OK)
		return false;
	set_text(values, nulls, COL_ENCRYPTION, sb_cipher_type_name(info.cipher_type));
	nulls[COL_SYSTEM_IDENTIFIER] = false;
	values[COL_SYSTEM_IDENTIFIER] = Int64GetDatum((int64) info.system_identifier);
	nulls[COL_PG_VERSION] = false;
	values[COL_PG_VERSION] = Int32GetDatum(info.pg_version);

	if (sb_wal_ranges(st, cfg->stanza, &ranges, &nranges, err) != SB_OK)
		return false;
	if (nranges > 0)
	{
		set_text(values, nulls, COL_WAL_FIRST, ranges[0].first);
		set_text(values, nulls, COL_WAL_LAST, ranges[nranges - 1].last);
	}
	free(ranges);
	return true;
}

Datum
safebackup_repository(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[REPO_COLS];
	bool		nulls[REPO_COLS];
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbError		err;
	bool		reachable = false;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(values, 0, sizeof(values));
	for (int i = 0; i < REPO_COLS; i++)
		nulls[i] = true;
	sb_error_clear(&err);
	sb_guc_repo_config(&cfg);

	set_text(values, nulls, COL_REPO_TYPE, sb_repo_type_name(cfg.repo_type));
	set_text(values, nulls, COL_LOCATION, location(&cfg));
	set_text(values, nulls, COL_STANZA, cfg.stanza);

	if (cfg.repo_path[0] == '\0')
		sb_error_set(&err, SB_ERR_CONFIG, "safebackup.repo_path is not set");
	else if (sb_backend_storage_create(&cfg, &st, &err) == SB_OK &&
			 sb_storage_open(st, &err) == SB_OK)
	{
		SbRepoMode	mode = sb_storage_mode(st);

		reachable = true;
		set_text(values, nulls, COL_MODE, sb_repo_mode_name(mode));
		sb_status_note_repo_mode((int) mode);
		(void) describe_stanza(st, &cfg, values, nulls, &err);
	}
	if (reachable)
		sb_storage_close(st);
	if (st != NULL)
		sb_storage_free(st);

	nulls[COL_REACHABLE] = false;
	values[COL_REACHABLE] = BoolGetDatum(reachable);
	if (err.status != SB_OK)
		set_text(values, nulls, COL_ERROR, err.msg);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
