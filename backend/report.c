/*-------------------------------------------------------------------------
 *
 * report.c
 *		Turn an SbError from the shared core into an ereport(), with the
 *		errcode, detail and hint the core provided.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "report.h"

int
sb_errcode(SbStatus status)
{
	switch (status)
	{
		case SB_OK:
			return ERRCODE_SUCCESSFUL_COMPLETION;
		case SB_ERR_NOT_FOUND:
			return ERRCODE_UNDEFINED_FILE;
		case SB_ERR_EXISTS:
			return ERRCODE_DUPLICATE_FILE;
		case SB_ERR_PERMISSION:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case SB_ERR_NO_SPACE:
			return ERRCODE_DISK_FULL;
		case SB_ERR_IO:
			return ERRCODE_IO_ERROR;
		case SB_ERR_CORRUPT:
			return ERRCODE_DATA_CORRUPTED;
		case SB_ERR_CONFLICT:
			return ERRCODE_DUPLICATE_FILE;
		case SB_ERR_CONFIG:
			return ERRCODE_CONFIG_FILE_ERROR;
		case SB_ERR_MISMATCH:
			return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
		case SB_ERR_NETWORK:
			return ERRCODE_CONNECTION_FAILURE;
		case SB_ERR_AUTH:
			return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		case SB_ERR_INTERNAL:
			return ERRCODE_INTERNAL_ERROR;
		case SB_ERR_NO_MEMORY:
			return ERRCODE_OUT_OF_MEMORY;
		case SB_ERR_UNSUPPORTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
	}
	return ERRCODE_INTERNAL_ERROR;
}

void
sb_report_caught(int elevel, const ErrorData *edata, const char *context,
				 const char *extra_hint)
{
	ereport(elevel,
			(errcode(edata->sqlerrcode),
			 errmsg("%s: %s", context, edata->message),
			 edata->detail ? errdetail("%s", edata->detail) : 0,
			 edata->hint && extra_hint ? errhint("%s  %s", edata->hint, extra_hint) :
			 edata->hint ? errhint("%s", edata->hint) :
			 extra_hint ? errhint("%s", extra_hint) : 0));
}

/*
 * A test hook for sb_report_caught(), not part of the extension's SQL: the
 * regression test "report" creates it by hand.  It raises an ERROR with a
 * detail and a hint, catches it as the archive callback does, and reports
 * it at WARNING.
 */
PG_FUNCTION_INFO_V1(sb_test_report_caught);

Datum
sb_test_report_caught(PG_FUNCTION_ARGS)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		ereport(ERROR,
				(errcode(ERRCODE_DISK_FULL),
				 errmsg("the test error"),
				 errdetail("The detail of the test error."),
				 errhint("The hint of the test error.")));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		sb_report_caught(WARNING, edata, "could not archive WAL file \"X\"",
						 "The file stays in pg_wal and archiving will be retried.");
		FreeErrorData(edata);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

void
sb_report(int elevel, const SbError *err, const char *context,
		  const char *extra_hint)
{
	const char *hint = err->hint[0] ? err->hint : extra_hint;

	ereport(elevel,
			(errcode(sb_errcode(err->status)),
			 context ? errmsg("%s: %s", context, err->msg) : errmsg("%s", err->msg),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}
