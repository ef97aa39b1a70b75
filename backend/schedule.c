/*-------------------------------------------------------------------------
 *
 * schedule.c
 *		Evaluate a cron schedule in the server's time zone: convert the
 *		current time to local fields with PostgreSQL's time zone code, let
 *		the shared core find the next matching minute, convert it back.
 *
 * A local time skipped by a daylight-saving change (02:30 on a spring
 * forward night) runs at the equivalent instant after the change; of a
 * repeated local time PostgreSQL picks one instant.  A converted time that
 * is not after "after" is passed over, so the result always lies ahead.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "schedule.h"

/* more than the local minutes a daylight-saving change can repeat */
#define MAX_PASSED_OVER 200

bool
sb_schedule_next(const SbCron *cron, TimestampTz after, TimestampTz *next)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	SbCronTime	from;

	if (timestamp2tm(after, &tz, &tm, &fsec, NULL, session_timezone) != 0)
		return false;
	from.year = tm.tm_year;
	from.month = tm.tm_mon;
	from.mday = tm.tm_mday;
	from.hour = tm.tm_hour;
	from.minute = tm.tm_min;

	for (int i = 0; i < MAX_PASSED_OVER; i++)
	{
		SbCronTime	t;
		TimestampTz result;

		if (!sb_cron_next(cron, &from, &t))
			return false;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = t.year;
		tm.tm_mon = t.month;
		tm.tm_mday = t.mday;
		tm.tm_hour = t.hour;
		tm.tm_min = t.minute;
		tm.tm_sec = 0;
		tz = DetermineTimeZoneOffset(&tm, session_timezone);
		if (tm2timestamp(&tm, 0, &tz, &result) != 0)
			return false;
		if (result > after)
		{
			*next = result;
			return true;
		}
		from = t;
	}
	return false;
}
