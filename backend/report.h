/*-------------------------------------------------------------------------
 *
 * report.h
 *		Turn an SbError from the shared core into an ereport().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_REPORT_H
#define SB_REPORT_H

#include "sb_error.h"

/* SQLSTATE that best matches a core status. */
extern int	sb_errcode(SbStatus status);

/*
 * Report err at elevel.  context, when not NULL, is prefixed to the message
 * ("could not archive ...: <core message>").  extra_hint is used when the
 * core gave no hint.
 */
extern void sb_report(int elevel, const SbError *err, const char *context,
					  const char *extra_hint);

/*
 * Report a caught PostgreSQL error (from CopyErrorData()) at elevel,
 * keeping its SQLSTATE, detail and hint: context is prefixed to the message,
 * extra_hint appended to the error's hint.
 */
struct ErrorData;
extern void sb_report_caught(int elevel, const struct ErrorData *edata,
							 const char *context, const char *extra_hint);

#endif							/* SB_REPORT_H */
