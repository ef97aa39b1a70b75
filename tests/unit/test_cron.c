/*-------------------------------------------------------------------------
 *
 * test_cron.c
 *		Unit tests of cron schedules: parsing valid and invalid specs (with
 *		their messages), the next matching minute across month and year
 *		ends and leap days, the day-of-month/day-of-week OR rule, steps,
 *		names, and independence from the process's time zone.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup_schedule.h"
#include "cron.h"
#include "sb_test.h"

SB_TEST_DEFINE_COUNTERS;

static SbCronTime
tm_of(const char *text)
{
	SbCronTime	t;

	memset(&t, 0, sizeof(t));
	if (sscanf(text, "%d-%d-%d %d:%d", &t.year, &t.month, &t.mday,
			   &t.hour, &t.minute) != 5)
	{
		fprintf(stderr, "bad test time \"%s\"\n", text);
		exit(2);
	}
	return t;
}

/* The next time after "after" as "YYYY-MM-DD HH:MM", or "none"/"invalid". */
static const char *
next_of(const char *spec, const char *after)
{
	static char out[64];
	SbCron		cron;
	SbError		err;
	SbCronTime	from = tm_of(after);
	SbCronTime	next;

	if (sb_cron_parse(spec, &cron, &err) != SB_OK)
	{
		snprintf(out, sizeof(out), "invalid");
		return out;
	}
	if (!sb_cron_next(&cron, &from, &next))
		return "none";
	snprintf(out, sizeof(out), "%04d-%02d-%02d %02d:%02d",
			 next.year, next.month, next.mday, next.hour, next.minute);
	return out;
}

#define CHECK_NEXT(spec, after, expected) \
	do { \
		const char *got_ = next_of(spec, after); \
		SB_CHECK_MSG(strcmp(got_, expected) == 0, \
					 "\"%s\" after %s: got %s, expected %s", \
					 spec, after, got_, expected); \
	} while (0)

static void
check_invalid(const char *spec, const char *msg, const char *detail_part)
{
	SbCron		cron;
	SbError		err;

	sb_error_clear(&err);
	SB_CHECK_MSG(sb_cron_parse(spec, &cron, &err) == SB_ERR_CONFIG,
				 "\"%s\" accepted", spec);
	SB_CHECK_MSG(strcmp(err.msg, msg) == 0,
				 "\"%s\": message \"%s\", expected \"%s\"", spec, err.msg, msg);
	SB_CHECK_MSG(strstr(err.detail, detail_part) != NULL,
				 "\"%s\": detail \"%s\" lacks \"%s\"", spec, err.detail, detail_part);
}

static uint64_t
bits(const int *values, int n)
{
	uint64_t	b = 0;

	for (int i = 0; i < n; i++)
		b |= (uint64_t) 1 << values[i];
	return b;
}

static void
test_parse_valid(void)
{
	SbCron		c;
	SbError		err;

	SB_REQUIRE(sb_cron_parse("0 2 * * *", &c, &err) == SB_OK);
	SB_CHECK(c.minutes == 1);
	SB_CHECK(c.hours == (1u << 2));
	SB_CHECK(c.mdays == 0xfffffffeu);	/* 1..31 */
	SB_CHECK(c.months == 0x1ffeu);	/* 1..12 */
	SB_CHECK(c.wdays == 0x7f);
	SB_CHECK(c.mday_star && c.wday_star);

	SB_REQUIRE(sb_cron_parse("*/15 * * * *", &c, &err) == SB_OK);
	{
		int			v[] = {0, 15, 30, 45};

		SB_CHECK(c.minutes == bits(v, 4));
	}
	SB_REQUIRE(sb_cron_parse("1-5/2 * * * *", &c, &err) == SB_OK);
	{
		int			v[] = {1, 3, 5};

		SB_CHECK(c.minutes == bits(v, 3));
	}
	SB_REQUIRE(sb_cron_parse("5/20 * * * *", &c, &err) == SB_OK);
	{
		int			v[] = {5, 25, 45};

		SB_CHECK(c.minutes == bits(v, 3));
	}
	SB_REQUIRE(sb_cron_parse("0,30 8-10,20 1,15 * *", &c, &err) == SB_OK);
	{
		int			m[] = {0, 30};
		int			h[] = {8, 9, 10, 20};
		int			d[] = {1, 15};

		SB_CHECK(c.minutes == bits(m, 2));
		SB_CHECK(c.hours == bits(h, 4));
		SB_CHECK(c.mdays == bits(d, 2));
		SB_CHECK(!c.mday_star && c.wday_star);
	}

	/* names, any case, in ranges too */
	SB_REQUIRE(sb_cron_parse("0 0 * jan,JUL,Dec mon-fri", &c, &err) == SB_OK);
	{
		int			mo[] = {1, 7, 12};
		int			wd[] = {1, 2, 3, 4, 5};

		SB_CHECK(c.months == bits(mo, 3));
		SB_CHECK(c.wdays == bits(wd, 5));
		SB_CHECK(c.mday_star && !c.wday_star);
	}
	SB_REQUIRE(sb_cron_parse("0 0 * feb-apr *", &c, &err) == SB_OK);
	SB_CHECK(c.months == ((1u << 2) | (1u << 3) | (1u << 4)));

	/* Sunday is 0, 7 and sun */
	SB_REQUIRE(sb_cron_parse("0 0 * * 7", &c, &err) == SB_OK);
	SB_CHECK(c.wdays == 1);
	SB_REQUIRE(sb_cron_parse("0 0 * * 0", &c, &err) == SB_OK);
	SB_CHECK(c.wdays == 1);
	SB_REQUIRE(sb_cron_parse("0 0 * * SUN", &c, &err) == SB_OK);
	SB_CHECK(c.wdays == 1);
	SB_REQUIRE(sb_cron_parse("0 0 * * 5-7", &c, &err) == SB_OK);
	SB_CHECK(c.wdays == ((1u << 5) | (1u << 6) | 1u));
	SB_REQUIRE(sb_cron_parse("0 0 * * */2", &c, &err) == SB_OK);
	SB_CHECK(c.wdays == ((1u << 0) | (1u << 2) | (1u << 4) | (1u << 6)));
	SB_CHECK(c.wday_star);

	/* spaces and tabs around and between fields */
	SB_CHECK(sb_cron_parse("  0\t2  * *\t* ", &c, &err) == SB_OK);
	SB_CHECK(c.minutes == 1 && c.hours == (1u << 2));

	/* days that exist in some allowed month, or only in leap years */
	SB_CHECK(sb_cron_parse("0 0 29 2 *", &c, &err) == SB_OK);
	SB_CHECK(sb_cron_parse("0 0 30 1,2 *", &c, &err) == SB_OK);
	SB_CHECK(sb_cron_parse("0 0 31 2,3 *", &c, &err) == SB_OK);
	/* impossible day of month, but OR-ed with a weekday: runs on Mondays */
	SB_CHECK(sb_cron_parse("0 0 31 2 mon", &c, &err) == SB_OK);
}

static void
test_parse_invalid(void)
{
	check_invalid("", "cron schedule \"\" has 0 fields, not 5",
				  "minute hour day-of-month month day-of-week");
	check_invalid("0 2 * *", "cron schedule \"0 2 * *\" has 4 fields, not 5",
				  "five fields");
	check_invalid("0 2 * * * *", "cron schedule \"0 2 * * * *\" has 6 fields, not 5",
				  "five fields");
	check_invalid("60 * * * *", "invalid minute field \"60\"",
				  "Value 60 is out of range: the minute field takes 0 to 59.");
	check_invalid("* 24 * * *", "invalid hour field \"24\"",
				  "the hour field takes 0 to 23");
	check_invalid("* * 0 * *", "invalid day-of-month field \"0\"",
				  "1 to 31");
	check_invalid("* * 32 * *", "invalid day-of-month field \"32\"",
				  "Value 32 is out of range");
	check_invalid("* * * 13 *", "invalid month field \"13\"", "1 to 12");
	check_invalid("* * * * 8", "invalid day-of-week field \"8\"",
				  "0 to 7, 0 and 7 being Sunday");
	check_invalid("*/0 * * * *", "invalid minute field \"*/0\"",
				  "Step 0 is out of range");
	check_invalid("*/ * * * *", "invalid minute field \"*/\"",
				  "A step must be a whole number");
	check_invalid("5-1 * * * *", "invalid minute field \"5-1\"",
				  "Range 5-1 ends before it starts.");
	check_invalid("1-2-3 * * * *", "invalid minute field \"1-2-3\"",
				  "Unexpected character \"-\".");
	check_invalid("1,,2 * * * *", "invalid minute field \"1,,2\"",
				  "A list item is empty.");
	check_invalid("1, * * * *", "invalid minute field \"1,\"",
				  "A list item is empty.");
	check_invalid("0 0 * foo *", "invalid month field \"foo\"",
				  "\"foo\" is not a month name");
	check_invalid("0 0 * jan-foo *", "invalid month field \"jan-foo\"",
				  "not a month name");
	check_invalid("0 0 * * monday", "invalid day-of-week field \"monday\"",
				  "not a day-of-week name");
	check_invalid("mon * * * *", "invalid minute field \"mon\"",
				  "Names are allowed only in the month");
	check_invalid("0 0 * * 1x", "invalid day-of-week field \"1x\"",
				  "Unexpected character \"x\".");
	check_invalid("-1 * * * *", "invalid minute field \"-1\"",
				  "Unexpected character \"-\".");
	/* schedules that can never run */
	check_invalid("0 0 31 2 *", "invalid day-of-month field \"31\"",
				  "allows no month with day 31 (February has 29 days)");
	check_invalid("0 0 30,31 feb *", "invalid day-of-month field \"30,31\"",
				  "allows no month with day 30");
	check_invalid("0 0 31 4,6,9,11 *", "invalid day-of-month field \"31\"",
				  "April has 30 days");
}

static void
test_next_basic(void)
{
	/* 2026-11-23 is a Monday */
	CHECK_NEXT("0 2 * * *", "2026-11-23 12:55", "2026-11-24 02:00");
	CHECK_NEXT("0 2 * * *", "2026-11-23 01:59", "2026-11-23 02:00");
	/* strictly after: a time that matches gives the following one */
	CHECK_NEXT("0 2 * * *", "2026-11-23 02:00", "2026-11-24 02:00");
	CHECK_NEXT("* * * * *", "2026-11-23 12:55", "2026-11-23 12:56");
	CHECK_NEXT("* * * * *", "2026-11-23 23:59", "2026-11-24 00:00");
}

static void
test_next_calendar(void)
{
	/* month ends */
	CHECK_NEXT("0 0 * * *", "2026-11-30 23:59", "2026-12-01 00:00");
	CHECK_NEXT("0 0 * * *", "2026-04-30 00:00", "2026-05-01 00:00");
	CHECK_NEXT("0 0 31 * *", "2026-11-01 00:00", "2026-12-31 00:00");
	CHECK_NEXT("0 0 31 * *", "2026-01-31 00:00", "2026-03-31 00:00");
	CHECK_NEXT("0 0 30 * *", "2026-01-30 00:00", "2026-03-30 00:00");
	CHECK_NEXT("15 10 1 * *", "2026-02-28 23:00", "2026-03-01 10:15");

	/* year end */
	CHECK_NEXT("0 0 * * *", "2026-12-31 23:59", "2027-01-01 00:00");
	CHECK_NEXT("30 * * * *", "2026-12-31 23:30", "2027-01-01 00:30");
	CHECK_NEXT("0 0 1 1 *", "2026-01-01 00:00", "2027-01-01 00:00");
	CHECK_NEXT("59 23 31 12 *", "2026-12-31 23:58", "2026-12-31 23:59");
	CHECK_NEXT("59 23 31 12 *", "2026-12-31 23:59", "2027-12-31 23:59");

	/* leap years */
	CHECK_NEXT("0 0 29 2 *", "2026-11-23 12:00", "2028-02-29 00:00");
	CHECK_NEXT("0 0 29 2 *", "2028-02-29 00:00", "2032-02-29 00:00");
	CHECK_NEXT("0 0 29 2 *", "2000-01-01 00:00", "2000-02-29 00:00");
	/* 2100 is not a leap year: eight years to the next Feb 29 */
	CHECK_NEXT("0 0 29 2 *", "2096-03-01 00:00", "2104-02-29 00:00");
	CHECK_NEXT("0 12 * 2 *", "2028-02-28 12:00", "2028-02-29 12:00");
	CHECK_NEXT("0 12 * 2 *", "2027-02-28 12:00", "2028-02-01 12:00");
	CHECK_NEXT("0 0 * * *", "2028-02-28 01:00", "2028-02-29 00:00");
	CHECK_NEXT("0 0 * * *", "2027-02-28 01:00", "2027-03-01 00:00");

	SB_CHECK(sb_cron_days_in_month(2028, 2) == 29);
	SB_CHECK(sb_cron_days_in_month(2100, 2) == 28);
	SB_CHECK(sb_cron_days_in_month(2000, 2) == 29);
	SB_CHECK(sb_cron_days_in_month(2026, 12) == 31);
	SB_CHECK(sb_cron_weekday(2026, 11, 23) == 1);
	SB_CHECK(sb_cron_weekday(2000, 1, 1) == 6);
	SB_CHECK(sb_cron_weekday(2024, 2, 29) == 4);
	SB_CHECK(sb_cron_weekday(2027, 1, 1) == 5);
}

static void
test_next_days(void)
{
	/* both day fields restricted: the 13th OR a Friday */
	CHECK_NEXT("0 0 13 * 5", "2026-11-23 00:00", "2026-11-27 00:00");
	CHECK_NEXT("0 0 13 * 5", "2026-12-11 00:00", "2026-12-13 00:00");
	CHECK_NEXT("0 0 13 * fri", "2026-12-13 00:00", "2026-12-18 00:00");
	/* an impossible day of month OR Monday: the Mondays of February */
	CHECK_NEXT("0 0 31 2 mon", "2026-11-23 00:00", "2027-02-01 00:00");
	CHECK_NEXT("0 0 31 2 mon", "2027-02-01 00:00", "2027-02-08 00:00");
	/* one restricted: only that one counts */
	CHECK_NEXT("0 0 * * 1", "2026-11-23 00:00", "2026-11-30 00:00");
	CHECK_NEXT("0 0 1 * *", "2026-11-23 00:00", "2026-12-01 00:00");
	/* a day field starting with "*" counts as unrestricted: AND */
	CHECK_NEXT("0 0 */2 * 1", "2026-11-23 00:00", "2026-12-07 00:00");

	/* Sunday as 0, 7 and a name */
	CHECK_NEXT("0 0 * * 0", "2026-11-23 00:00", "2026-11-29 00:00");
	CHECK_NEXT("0 0 * * 7", "2026-11-23 00:00", "2026-11-29 00:00");
	CHECK_NEXT("0 0 * * sun", "2026-11-23 00:00", "2026-11-29 00:00");
	/* weekdays only: Friday evening to Monday */
	CHECK_NEXT("0 1 * * mon-fri", "2026-11-27 02:00", "2026-11-30 01:00");
	/* month names */
	CHECK_NEXT("0 8 * jan mon", "2026-11-23 12:00", "2027-01-04 08:00");
	CHECK_NEXT("0 8 1 jun,dec *", "2026-11-23 12:00", "2026-12-01 08:00");
	CHECK_NEXT("0 8 1 jun,dec *", "2026-12-01 08:00", "2027-06-01 08:00");
}

static void
test_next_steps(void)
{
	CHECK_NEXT("*/15 * * * *", "2026-11-23 12:55", "2026-11-23 13:00");
	CHECK_NEXT("*/15 * * * *", "2026-11-23 13:00", "2026-11-23 13:15");
	CHECK_NEXT("*/15 * * * *", "2026-11-23 13:14", "2026-11-23 13:15");
	CHECK_NEXT("1-5/2 9 * * *", "2026-11-23 09:01", "2026-11-23 09:03");
	CHECK_NEXT("1-5/2 9 * * *", "2026-11-23 09:05", "2026-11-24 09:01");
	CHECK_NEXT("0 */6 * * *", "2026-11-23 12:00", "2026-11-23 18:00");
	CHECK_NEXT("0 */6 * * *", "2026-11-23 18:00", "2026-11-24 00:00");
	CHECK_NEXT("0 0 */10 * *", "2026-11-21 00:00", "2026-12-01 00:00");
	CHECK_NEXT("0 0 1 */4 *", "2026-11-23 00:00", "2027-01-01 00:00");
	CHECK_NEXT("5/20 * * * *", "2026-11-23 12:46", "2026-11-23 13:05");
}

/*
 * The search works on calendar fields only: a local time that a DST change
 * skips or repeats is still found once, whatever the process's TZ says
 * (the server converts with its own time zone afterwards).
 */
static void
test_next_dst_independent(void)
{
	const char *zones[] = {"UTC", "America/New_York", "Europe/Berlin",
	"Australia/Lord_Howe", NULL};

	for (int i = 0; zones[i] != NULL; i++)
	{
		setenv("TZ", zones[i], 1);
		tzset();
		/* US spring forward (02:00-03:00 skipped) */
		CHECK_NEXT("30 2 * * *", "2026-03-08 00:00", "2026-03-08 02:30");
		/* EU spring forward and fall back */
		CHECK_NEXT("30 2 * * *", "2026-03-29 00:00", "2026-03-29 02:30");
		CHECK_NEXT("30 2 * * *", "2026-10-25 02:30", "2026-10-26 02:30");
		CHECK_NEXT("*/30 * * * *", "2026-10-25 02:00", "2026-10-25 02:30");
		CHECK_NEXT("0 3 * * *", "2026-10-25 02:59", "2026-10-25 03:00");
	}
	unsetenv("TZ");
	tzset();
}

static void
test_next_bounds(void)
{
	SbCron		c;
	SbError		err;
	SbCronTime	from = tm_of("2026-11-23 12:00");
	SbCronTime	bad;
	SbCronTime	next;

	SB_REQUIRE(sb_cron_parse("* * * * *", &c, &err) == SB_OK);
	/* fields out of range are refused, not normalized */
	bad = from;
	bad.month = 13;
	SB_CHECK(!sb_cron_next(&c, &bad, &next));
	bad = from;
	bad.mday = 31;				/* November has 30 */
	SB_CHECK(!sb_cron_next(&c, &bad, &next));
	bad = from;
	bad.minute = 60;
	SB_CHECK(!sb_cron_next(&c, &bad, &next));

	/* the search gives up instead of looping: Feb 31 built by hand */
	memset(&c, 0, sizeof(c));
	c.minutes = 1;
	c.hours = 1;
	c.mdays = 1u << 31;
	c.months = 1u << 2;
	c.wdays = 0x7f;
	c.wday_star = true;
	SB_CHECK(!sb_cron_next(&c, &from, &next));

	/* matches() agrees with next() */
	SB_REQUIRE(sb_cron_parse("0 0 13 * 5", &c, &err) == SB_OK);
	SB_CHECK(sb_cron_matches(&c, &(SbCronTime) {2026, 11, 13, 0, 0}));	/* Friday 13th */
	SB_CHECK(sb_cron_matches(&c, &(SbCronTime) {2026, 11, 27, 0, 0}));	/* Friday */
	SB_CHECK(sb_cron_matches(&c, &(SbCronTime) {2026, 12, 13, 0, 0}));	/* Sunday 13th */
	SB_CHECK(!sb_cron_matches(&c, &(SbCronTime) {2026, 11, 23, 0, 0}));
	SB_CHECK(!sb_cron_matches(&c, &(SbCronTime) {2026, 11, 27, 0, 1}));
}

/* safebackup.backup_schedule: typed entries separated by ";" */
static void
test_backup_schedule(void)
{
	SbBackupSchedule s;
	SbError		err;

	SB_CHECK(sb_backup_schedule_parse("", &s, &err) == SB_OK && s.n == 0);
	SB_CHECK(sb_backup_schedule_parse("0 2 * * *", &s, &err) == SB_OK &&
			 s.n == 1 && s.type[0] == SB_BACKUP_FULL);
	SB_CHECK(sb_backup_schedule_parse("full: 0 2 * * 0; incr: 0 2 * * 1-6", &s, &err) == SB_OK &&
			 s.n == 2 && s.type[0] == SB_BACKUP_FULL && s.type[1] == SB_BACKUP_INCR &&
			 s.cron[0].wdays == 1 && s.cron[1].wdays == 0x7e);
	SB_CHECK(sb_backup_schedule_parse(" diff :30 1 1 * *", &s, &err) == SB_OK &&
			 s.n == 1 && s.type[0] == SB_BACKUP_DIFF);
	SB_CHECK(sb_backup_schedule_parse("weekly: 0 2 * * 0", &s, &err) == SB_ERR_CONFIG);
	SB_CHECK(strstr(err.msg, "invalid backup type \"weekly\"") != NULL);
	SB_CHECK(sb_backup_schedule_parse("full: 0 2 * * 0;", &s, &err) == SB_ERR_CONFIG);
	SB_CHECK(sb_backup_schedule_parse("0 2 * * 0; incr: 0 25 * * *", &s, &err) == SB_ERR_CONFIG);
	SB_CHECK(strncmp(err.msg, "entry 2: ", 9) == 0);
	SB_CHECK(sb_backup_schedule_parse("0 2 * * *;0 2 * * *;0 2 * * *;0 2 * * *;"
									  "0 2 * * *;0 2 * * *;0 2 * * *;0 2 * * *;0 2 * * *",
									  &s, &err) == SB_ERR_CONFIG);
}

int
main(void)
{
	test_parse_valid();
	test_parse_invalid();
	test_next_basic();
	test_next_calendar();
	test_next_days();
	test_next_steps();
	test_next_dst_independent();
	test_next_bounds();
	test_backup_schedule();
	return sb_test_summary("test_cron");
}
