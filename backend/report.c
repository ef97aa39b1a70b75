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
	}
	return ERRCODE_INTERNAL_ERROR;
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
