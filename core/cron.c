/*-------------------------------------------------------------------------
 *
 * cron.c
 *		Parse five-field cron schedules and find the next matching minute
 *		on broken-down local time fields; see cron.h.
 *
 *-------------------------------------------------------------------------
 */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define CRON_FIELDS 5
#define FIELD_TEXT_MAX 128

typedef struct CronField
{
	const char *name;			/* for messages */
	int			min;
	int			max;			/* largest value accepted (7 for weekdays) */
	const char *const *names;	/* three-letter names, or NULL */
	int			names_base;		/* value of names[0] */
} CronField;

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};

static const char *const wday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const CronField fields[CRON_FIELDS] = {
	{"minute", 0, 59, NULL, 0},
	{"hour", 0, 23, NULL, 0},
	{"day-of-month", 1, 31, NULL, 0},
	{"month", 1, 12, month_names, 1},
	{"day-of-week", 0, 7, wday_names, 0},
};

int
sb_cron_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 &&
		((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return 29;
	return days[month - 1];
}

int
sb_cron_weekday(int year, int month, int mday)
{
	/* Sakamoto's method on the proleptic Gregorian calendar */
	static const int offset[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
	int			y = year - (month < 3 ? 1 : 0);
	int			w = (y + y / 4 - y / 100 + y / 400 + offset[month - 1] + mday) % 7;

	return w < 0 ? w + 7 : w;
}

static SbStatus
field_error(SbError *err, const CronField *f, const char *text,
			const char *fmt,...)
	__attribute__((format(printf, 4, 5)));

static SbStatus
field_error(SbError *err, const CronField *f, const char *text,
			const char *fmt,...)
{
	va_list		ap;

	sb_error_set(err, SB_ERR_CONFIG, "invalid %s field \"%s\"", f->name, text);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return SB_ERR_CONFIG;
}

/*
 * Read one value (a number or, where the field has them, a name) at *p.
 * Advances *p past it.
 */
static SbStatus
parse_value(const CronField *f, const char *text, const char **p, int *value,
			SbError *err)
{
	const char *s = *p;

	if (isdigit((unsigned char) *s))
	{
		long		v = 0;

		while (isdigit((unsigned char) *s))
		{
			if (v < 100000)
				v = v * 10 + (*s - '0');
			s++;
		}
		if (v < f->min || v > f->max)
			return field_error(err, f, text,
							   "Value %ld is out of range: the %s field takes %d to %d%s.",
							   v, f->name, f->min, f->max,
							   f->max == 7 ? ", 0 and 7 being Sunday" : "");
		*value = (int) v;
	}
	else if (isalpha((unsigned char) *s))
	{
		char		word[8];
		int			len = 0;

		while (isalpha((unsigned char) s[len]))
			len++;
		if (f->names == NULL)
			return field_error(err, f, text,
							   "Names are allowed only in the month (jan-dec) and day-of-week (sun-sat) fields.");
		if (len == 3)
		{
			for (int i = 0; i < 3; i++)
				word[i] = (char) tolower((unsigned char) s[i]);
			word[3] = '\0';
			for (int i = 0; f->names[i] != NULL; i++)
			{
				if (strcmp(word, f->names[i]) == 0)
				{
					*value = f->names_base + i;
					*p = s + len;
					return SB_OK;
				}
			}
		}
		return field_error(err, f, text,
						   "\"%.*s\" is not a %s name; use %s.",
						   len > 16 ? 16 : len, s, f->name,
						   f->names == month_names ? "jan, feb, ..., dec" : "sun, mon, ..., sat");
	}
	else if (*s == '\0' || *s == ',')
		return field_error(err, f, text, "A list item is empty.");
	else
		return field_error(err, f, text, "Unexpected character \"%c\".", *s);
	*p = s;
	return SB_OK;
}

/* Set the bits of one field's text; *star is set when it starts with "*". */
static SbStatus
parse_field(const CronField *f, const char *text, uint64_t *bits, bool *star,
			SbError *err)
{
	const char *p = text;

	*bits = 0;
	*star = (text[0] == '*');
	for (;;)
	{
		int			lo;
		int			hi;
		int			step = 1;
		SbStatus	rc;

		if (*p == '*')
		{
			lo = f->min;
			hi = f->max;
			p++;
		}
		else
		{
			if ((rc = parse_value(f, text, &p, &lo, err)) != SB_OK)
				return rc;
			hi = lo;
			if (*p == '-')
			{
				p++;
				if ((rc = parse_value(f, text, &p, &hi, err)) != SB_OK)
					return rc;
				if (hi < lo)
					return field_error(err, f, text,
									   "Range %d-%d ends before it starts.", lo, hi);
			}
			else if (*p == '/')
				hi = f->max;	/* "a/n": from a to the end */
		}
		if (*p == '/')
		{
			long		v = 0;

			p++;
			if (!isdigit((unsigned char) *p))
				return field_error(err, f, text,
								   "A step must be a whole number after \"/\".");
			while (isdigit((unsigned char) *p))
			{
				if (v < 100000)
					v = v * 10 + (*p - '0');
				p++;
			}
			if (v < 1 || v > f->max)
				return field_error(err, f, text,
								   "Step %ld is out of range: it must be 1 to %d.",
								   v, f->max);
			step = (int) v;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= (uint64_t) 1 << (f->max == 7 && v == 7 ? 0 : v);
		if (*p == '\0')
			break;
		if (*p != ',')
			return field_error(err, f, text, "Unexpected character \"%c\".", *p);
		p++;
		if (*p == '\0')
			return field_error(err, f, text, "A list item is empty.");
	}
	return SB_OK;
}

static const char *const month_full[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};

/*
 * A restricted day of month combined with an unrestricted weekday must
 * occur in at least one allowed month (day 29 of February counts: it
 * occurs in leap years).
 */
static SbStatus
check_satisfiable(const SbCron *cron, char text[][FIELD_TEXT_MAX],
				  SbError *err)
{
	int			first_day = 0;

	if (cron->mday_star || !cron->wday_star)
		return SB_OK;
	for (int d = 1; d <= 31; d++)
	{
		if (cron->mdays & ((uint32_t) 1 << d))
		{
			first_day = d;
			break;
		}
	}
	for (int m = 1; m <= 12; m++)
	{
		if ((cron->months & ((uint32_t) 1 << m)) &&
			first_day <= sb_cron_days_in_month(2000, m))
			return SB_OK;
	}
	for (int m = 1; m <= 12; m++)
	{
		if (cron->months & ((uint32_t) 1 << m))
		{
			field_error(err, &fields[2], text[2],
						"The month field \"%s\" allows no month with day %d (%s has %d days), so the schedule would never run.",
						text[3], first_day, month_full[m - 1],
						sb_cron_days_in_month(2000, m));
			break;
		}
	}
	return SB_ERR_CONFIG;
}

SbStatus
sb_cron_parse(const char *spec, SbCron *cron, SbError *err)
{
	char		text[CRON_FIELDS][FIELD_TEXT_MAX];
	uint64_t	bits[CRON_FIELDS];
	bool		star[CRON_FIELDS];
	const char *p = spec;
	int			n = 0;
	SbStatus	rc;
	SbCronTime	from = {2000, 1, 1, 0, 0};
	SbCronTime	next;

	memset(cron, 0, sizeof(*cron));
	for (;;)
	{
		size_t		len = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		while (p[len] != '\0' && p[len] != ' ' && p[len] != '\t')
			len++;
		if (n < CRON_FIELDS)
		{
			if (len >= FIELD_TEXT_MAX)
			{
				snprintf(text[n], FIELD_TEXT_MAX, "%.*s...", FIELD_TEXT_MAX - 8, p);
				return field_error(err, &fields[n], text[n],
								   "The field is longer than %d characters.",
								   FIELD_TEXT_MAX - 1);
			}
			memcpy(text[n], p, len);
			text[n][len] = '\0';
		}
		n++;
		p += len;
	}
	if (n != CRON_FIELDS)
	{
		sb_error_set(err, SB_ERR_CONFIG, "cron schedule \"%.200s\" has %d fields, not 5",
					 spec, n);
		sb_error_detail(err, "A schedule is five fields separated by spaces: minute hour day-of-month month day-of-week.");
		return SB_ERR_CONFIG;
	}

	for (int i = 0; i < CRON_FIELDS; i++)
		if ((rc = parse_field(&fields[i], text[i], &bits[i], &star[i], err)) != SB_OK)
			return rc;

	cron->minutes = bits[0];
	cron->hours = (uint32_t) bits[1];
	cron->mdays = (uint32_t) bits[2];
	cron->months = (uint32_t) bits[3];
	cron->wdays = (uint32_t) bits[4];
	cron->mday_star = star[2];
	cron->wday_star = star[4];

	if ((rc = check_satisfiable(cron, text, err)) != SB_OK)
		return rc;
	/* belt and braces: every accepted schedule must have a next time */
	if (!sb_cron_next(cron, &from, &next))
	{
		sb_error_set(err, SB_ERR_CONFIG, "cron schedule \"%.200s\" never matches", spec);
		sb_error_detail(err, "No minute in %d years matches it.", SB_CRON_SEARCH_YEARS);
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

static bool
day_matches(const SbCron *cron, int year, int month, int mday)
{
	bool		mday_ok = (cron->mdays & ((uint32_t) 1 << mday)) != 0;
	bool		wday_ok = (cron->wdays &
						   ((uint32_t) 1 << sb_cron_weekday(year, month, mday))) != 0;

	/* the classic rule: both restricted means either one is enough */
	if (!cron->mday_star && !cron->wday_star)
		return mday_ok || wday_ok;
	return mday_ok && wday_ok;
}

bool
sb_cron_matches(const SbCron *cron, const SbCronTime *t)
{
	return (cron->months & ((uint32_t) 1 << t->month)) &&
		day_matches(cron, t->year, t->month, t->mday) &&
		(cron->hours & ((uint32_t) 1 << t->hour)) &&
		(cron->minutes & ((uint64_t) 1 << t->minute));
}

static void
next_day(SbCronTime *t)
{
	t->hour = 0;
	t->minute = 0;
	if (++t->mday > sb_cron_days_in_month(t->year, t->month))
	{
		t->mday = 1;
		if (++t->month > 12)
		{
			t->month = 1;
			t->year++;
		}
	}
}

bool
sb_cron_next(const SbCron *cron, const SbCronTime *after, SbCronTime *next)
{
	SbCronTime	t = *after;
	int			last_year = after->year + SB_CRON_SEARCH_YEARS;

	if (t.month < 1 || t.month > 12 || t.mday < 1 ||
		t.mday > sb_cron_days_in_month(t.year, t.month) ||
		t.hour < 0 || t.hour > 23 || t.minute < 0 || t.minute > 59)
		return false;

	/* strictly after: start at the following minute */
	if (++t.minute > 59)
	{
		t.minute = 0;
		if (++t.hour > 23)
			next_day(&t);
	}

	while (t.year <= last_year)
	{
		if (!(cron->months & ((uint32_t) 1 << t.month)))
		{
			t.mday = 1;
			t.hour = 0;
			t.minute = 0;
			if (++t.month > 12)
			{
				t.month = 1;
				t.year++;
			}
			continue;
		}
		if (!day_matches(cron, t.year, t.month, t.mday))
		{
			next_day(&t);
			continue;
		}
		if (!(cron->hours & ((uint32_t) 1 << t.hour)))
		{
			t.minute = 0;
			if (++t.hour > 23)
				next_day(&t);
			continue;
		}
		if (!(cron->minutes & ((uint64_t) 1 << t.minute)))
		{
			if (++t.minute > 59)
			{
				t.minute = 0;
				if (++t.hour > 23)
					next_day(&t);
			}
			continue;
		}
		*next = t;
		return true;
	}
	return false;
}
