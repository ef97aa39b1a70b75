/*-------------------------------------------------------------------------
 *
 * lag_warning.h
 *		safebackup.archive_lag_warning: the launcher warns once when the
 *		archive lag crosses the threshold and logs when it is back below.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_LAG_WARNING_H
#define SB_LAG_WARNING_H

#include "postgres.h"

/* safebackup.archive_lag_warning in seconds, 0 = off (backend/guc.c) */
extern int	sb_archive_lag_warning;

/*
 * Measure the lag and log a crossing of the threshold.  Returns how many
 * milliseconds the launcher may sleep before the next check, -1 when the
 * setting is off.
 */
extern long sb_lag_warning_check(void);

#endif							/* SB_LAG_WARNING_H */
