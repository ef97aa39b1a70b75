/*-------------------------------------------------------------------------
 *
 * schedule.h
 *		safebackup.backup_schedule in the server's time zone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SCHEDULE_H
#define SB_SCHEDULE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "cron.h"

/*
 * The first scheduled minute strictly after "after", read in the time zone
 * of the timezone setting (session_timezone).  False if none was found.
 */
extern bool sb_schedule_next(const SbCron *cron, TimestampTz after,
							 TimestampTz *next);

#endif							/* SB_SCHEDULE_H */
