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

#endif							/* SB_REPORT_H */
