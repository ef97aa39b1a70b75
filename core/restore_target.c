/*-------------------------------------------------------------------------
 *
 * restore_target.c
 *		Names of recovery targets and actions, and the parsing and checking
 *		of recovery target values.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ----------------------------------------------------------------
 *		Names and target values
 * ----------------------------------------------------------------
 */

const char *
sb_target_kind_name(SbTargetKind kind)
{
	switch (kind)
	{
		case SB_TARGET_NONE:
			return "none";
		case SB_TARGET_TIME:
			return "time";
		case SB_TARGET_LSN:
			return "lsn";
		case SB_TARGET_XID:
			return "xid";
		case SB_TARGET_NAME:
			return "name";
	}
	return "unknown";
}

const char *
sb_target_action_name(SbTargetAction action)
{
	switch (action)
	{
		case SB_ACTION_PAUSE:
			return "pause";
		case SB_ACTION_PROMOTE:
			return "promote";
		case SB_ACTION_SHUTDOWN:
			return "shutdown";
	}
	return "unknown";
}

bool
sb_target_action_parse(const char *name, SbTargetAction *out)
{
	if (strcasecmp(name, "pause") == 0)
		*out = SB_ACTION_PAUSE;
	else if (strcasecmp(name, "promote") == 0)
		*out = SB_ACTION_PROMOTE;
	else if (strcasecmp(name, "shutdown") == 0)
		*out = SB_ACTION_SHUTDOWN;
	else
		return false;
	return true;
}

/* Exactly n decimal digits; advances *s. */
static bool
take_digits(const char **s, int n, int *out)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) (*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= (m <= 2);
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : days[m - 1];
}

bool
sb_parse_target_time(const char *s, int64_t *epoch, int *usec,
					 bool *zone_given)
{
	int			year,
				mon,
				day,
				hour,
				min,
				sec;
	int			frac = 0;
	int			ndigits = 0;
	int			offset = 0;		/* seconds east of UTC */

	*zone_given = false;
	while (isspace((unsigned char) *s))
		s++;
	if (!take_digits(&s, 4, &year) || *s++ != '-' ||
		!take_digits(&s, 2, &mon) || *s++ != '-' ||
		!take_digits(&s, 2, &day))
		return false;
	if (*s != ' ' && *s != 'T' && *s != 't')
		return false;
	s++;
	if (!take_digits(&s, 2, &hour) || *s++ != ':' ||
		!take_digits(&s, 2, &min) || *s++ != ':' ||
		!take_digits(&s, 2, &sec))
		return false;
	if (*s == '.')
	{
		s++;
		if (!isdigit((unsigned char) *s))
			return false;
		while (isdigit((unsigned char) *s))
		{
			if (ndigits < 6)
			{
				frac = frac * 10 + (*s - '0');
				ndigits++;
			}
			s++;
		}
		for (; ndigits < 6; ndigits++)
			frac *= 10;
	}
	while (*s == ' ')
		s++;
	if (*s == 'Z' || *s == 'z')
	{
		*zone_given = true;
		s++;
	}
	else if (strncasecmp(s, "UTC", 3) == 0 || strncasecmp(s, "GMT", 3) == 0)
	{
		*zone_given = true;
		s += 3;
	}
	else if (*s == '+' || *s == '-')
	{
		int			sign = (*s == '-') ? -1 : 1;
		int			oh;
		int			om = 0;

		s++;
		if (!take_digits(&s, 2, &oh))
			return false;
		if (*s == ':')
		{
			s++;
			if (!take_digits(&s, 2, &om))
				return false;
		}
		else if (isdigit((unsigned char) *s) && !take_digits(&s, 2, &om))
			return false;
		if (oh > 15 || om > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60);
		*zone_given = true;
	}
	while (isspace((unsigned char) *s))
		s++;
	if (*s != '\0')
		return false;

	if (year < 1900 || mon < 1 || mon > 12 || day < 1 ||
		day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 59)
		return false;

	*epoch = days_from_civil(year, mon, day) * 86400 +
		hour * 3600 + min * 60 + sec - offset;
	*usec = frac;
	return true;
}

bool
sb_target_value_valid(SbTargetKind kind, const char *value)
{
	int64_t		epoch;
	int			usec;
	bool		zone;
	uint64_t	lsn;
	const char *p;

	if (kind == SB_TARGET_NONE)
		return true;
	if (value == NULL || value[0] == '\0' || strpbrk(value, "\n\r") != NULL)
		return false;
	switch (kind)
	{
		case SB_TARGET_NONE:
			return true;
		case SB_TARGET_TIME:
			return sb_parse_target_time(value, &epoch, &usec, &zone);
		case SB_TARGET_LSN:
			return sb_lsn_parse(value, &lsn);
		case SB_TARGET_XID:
			/* a transaction ID, possibly with its epoch (64 bits) */
			for (p = value; *p; p++)
				if (!isdigit((unsigned char) *p))
					return false;
			return strlen(value) < 20 ||
				(strlen(value) == 20 && strcmp(value, "18446744073709551615") <= 0);
		case SB_TARGET_NAME:
			/* restore point names are shorter than 64 bytes */
			return strlen(value) < 64;
	}
	return false;
}

bool
sb_target_timeline_valid(const char *value)
{
	const char *p;
	uint64_t	tli = 0;

	if (value == NULL || value[0] == '\0')
		return false;
	if (strcmp(value, "latest") == 0 || strcmp(value, "current") == 0)
		return true;
	for (p = value; *p; p++)
	{
		if (!isdigit((unsigned char) *p))
			return false;
		tli = tli * 10 + (uint64_t) (*p - '0');
		if (tli > UINT32_MAX)
			return false;
	}
	return tli >= 1;
}
