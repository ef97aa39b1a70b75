/*-------------------------------------------------------------------------
 *
 * cron.h
 *		Five-field cron schedules: parsing and the next matching minute.
 *
 * A schedule is "minute hour day-of-month month day-of-week".  Each field
 * is "*" or a comma list of values, ranges "a-b" and steps (a range, "*"
 * or a start value followed by "/n": every n-th value of it, a start value
 * alone meaning up to the field's end); months may be
 * named jan..dec and weekdays sun..sat; weekday 0 and 7 are Sunday.  When
 * both day fields are restricted (neither starts with "*"), a day matches
 * if EITHER matches, as in the classic cron.
 *
 * The search works on broken-down local time fields only (no time zone,
 * no libc local time), so the server converts to and from its own time
 * zone; it never looks further than SB_CRON_SEARCH_YEARS ahead.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CRON_H
#define SB_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "sb_error.h"

/* long enough for a Feb 29 schedule across a non-leap century year */
#define SB_CRON_SEARCH_YEARS	10

typedef struct SbCron
{
	uint64_t	minutes;		/* bit m: minute m (0-59) */
	uint32_t	hours;			/* bit h: hour h (0-23) */
	uint32_t	mdays;			/* bit d: day of month d (1-31) */
	uint32_t	months;			/* bit m: month m (1-12) */
	uint32_t	wdays;			/* bit d: weekday d (0-6, 0 = Sunday) */
	bool		mday_star;		/* the day-of-month field started with "*" */
	bool		wday_star;		/* the day-of-week field started with "*" */
} SbCron;

/* A local time with minute resolution; month 1-12, mday 1-31. */
typedef struct SbCronTime
{
	int			year;
	int			month;
	int			mday;
	int			hour;
	int			minute;
} SbCronTime;

/*
 * Parse spec into *cron.  Also refuses schedules that can never match
 * (e.g. "0 0 31 2 *").  On failure returns SB_ERR_CONFIG with err->msg
 * naming the bad field and err->detail saying what is wrong with it.
 */
extern SbStatus sb_cron_parse(const char *spec, SbCron *cron, SbError *err);

/*
 * The first minute matching cron strictly after *after (whose fields need
 * not be normalized beyond the usual ranges).  False when none is found
 * within SB_CRON_SEARCH_YEARS years (never for a schedule that parsed).
 */
extern bool sb_cron_next(const SbCron *cron, const SbCronTime *after,
						 SbCronTime *next);

/* Does the minute t match?  (For tests and callers re-checking a time.) */
extern bool sb_cron_matches(const SbCron *cron, const SbCronTime *t);

/* Calendar helpers: days in a month, weekday (0 = Sunday) of a date. */
extern int	sb_cron_days_in_month(int year, int month);
extern int	sb_cron_weekday(int year, int month, int mday);

#endif							/* SB_CRON_H */
