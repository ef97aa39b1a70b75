/*-------------------------------------------------------------------------
 *
 * settings.c
 *		Walking the settings tables (the general one and each driver's),
 *		and checking, parsing and storing a setting's value; see
 *		core/settings.h.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage.h"

int
sb_settings_count(void)
{
	int			n;

	(void) sb_general_settings(&n);
	for (int d = 0; d < sb_driver_count(); d++)
		n += sb_driver_at(d)->nsettings;
	return n;
}

const SbSetting *
sb_setting_at(int i, int *driver)
{
	int			n;
	const SbSetting *general = sb_general_settings(&n);

	if (i < 0)
		return NULL;
	if (i < n)
	{
		if (driver)
			*driver = -1;
		return &general[i];
	}
	i -= n;
	for (int d = 0; d < sb_driver_count(); d++)
	{
		const SbDriver *drv = sb_driver_at(d);

		if (i < drv->nsettings)
		{
			if (driver)
				*driver = d;
			return &drv->settings[i];
		}
		i -= drv->nsettings;
	}
	return NULL;
}

const char *
sb_setting_group_title(int driver)
{
	if (driver < 0)
		return "Repository options (also in a --config file, without the dashes)";
	return sb_driver_at(driver)->title;
}

int
sb_setting_index(const char *name)
{
	char		norm[128];
	size_t		len;
	int			n = sb_settings_count();

	if (strncmp(name, "safebackup.", 11) == 0)
		name += 11;
	len = strlen(name);
	if (len >= sizeof(norm))
		return -1;
	for (size_t k = 0; k <= len; k++)
		norm[k] = name[k] == '-' ? '_' : name[k];
	for (int i = 0; i < n; i++)
		if (strcmp(sb_setting_at(i, NULL)->name, norm) == 0)
			return i;
	return -1;
}

void *
sb_setting_field(SbRepoConfig *cfg, int i)
{
	int			driver;
	const SbSetting *s = sb_setting_at(i, &driver);
	char	   *base;

	if (s == NULL || (s->flags & SB_SETTING_SERVER))
		return NULL;
	if (driver < 0)
		base = (char *) cfg;
	else
		base = sb_driver_settings(cfg, sb_driver_at(driver));
	return base + s->offset;
}

SbStatus
sb_setting_check_string(int i, const char *shown, const char *value,
						SbError *err)
{
	const SbSetting *s = sb_setting_at(i, NULL);
	size_t		len;
	SbStatus	rc;

	if (s == NULL || s->type != SB_SETTING_TYPE_STRING)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"setting %d is not a string setting", i);
	if (value == NULL)
		value = "";
	if (s->check != NULL && (rc = s->check(s, shown, value, err)) != SB_OK)
		return rc;
	if ((s->flags & SB_SETTING_ABSOLUTE) && value[0] != '\0' && value[0] != '/')
		return sb_error_set(err, SB_ERR_CONFIG, "%s must be an absolute path",
							shown);
	len = strlen(value);
	if (s->max_len > 0 && len > s->max_len)
	{
		sb_error_set(err, SB_ERR_CONFIG, "value of \"%s\" is too long", shown);
		sb_error_detail(err, "The value is %zu bytes long; the limit is %zu bytes.",
						len, s->max_len);
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

void
sb_setting_store_int(SbRepoConfig *cfg, int i, int value)
{
	int		   *field = sb_setting_field(cfg, i);

	if (field != NULL)
		*field = value;
}

SbStatus
sb_setting_store_string(SbRepoConfig *cfg, int i, const char *shown,
						const char *value, SbError *err)
{
	char	   *field = sb_setting_field(cfg, i);
	SbStatus	rc = sb_setting_check_string(i, shown, value, err);

	if (rc != SB_OK)
		return rc;
	if (field != NULL)
		strcpy(field, value ? value : "");	/* fits: checked above */
	return SB_OK;
}

/* "1s", "60s", "60min", "250ms": how the help and messages write a time */
static void
format_ms(int ms, char *buf, size_t len)
{
	if (ms % 1000 != 0)
		snprintf(buf, len, "%dms", ms);
	else if (ms % 60000 == 0 && ms >= 600000)
		snprintf(buf, len, "%dmin", ms / 60000);
	else
		snprintf(buf, len, "%ds", ms / 1000);
}

/* "N" milliseconds, or N with a unit: ms, s, min; false when not a time. */
static bool
parse_ms(const char *value, long *out)
{
	char	   *end;
	long		n;
	long		scale = 1;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || n < 0)
		return false;
	if (strcmp(end, "s") == 0)
		scale = 1000;
	else if (strcmp(end, "min") == 0)
		scale = 60000;
	else if (*end != '\0' && strcmp(end, "ms") != 0)
		return false;
	if (n > INT_MAX / scale)
		return false;
	*out = n * scale;
	return true;
}

void
sb_setting_enum_list(const SbSetting *s, bool quoted, char *buf, size_t len)
{
	int			n = 0;
	size_t		used = 0;

	while (s->enum_name(n) != NULL)
		n++;
	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
	{
		const char *sep = "";

		if (i > 0)
			sep = !quoted ? ", " : (i == n - 1 ? " and " : ", ");
		used += snprintf(buf + used, len - used, quoted ? "%s\"%s\"" : "%s%s",
						 sep, s->enum_name(i));
	}
}

static SbStatus
invalid_value(const SbSetting *s, const char *shown, const char *value,
			  SbError *err)
{
	char		list[256];

	sb_error_set(err, SB_ERR_CONFIG, "invalid value \"%s\" for option \"%s\"",
				 value, shown);
	switch (s->type)
	{
		case SB_SETTING_TYPE_ENUM:
			sb_setting_enum_list(s, true, list, sizeof(list));
			sb_error_hint(err, "Valid values are %s.", list);
			break;
		case SB_SETTING_TYPE_MS:
			{
				char		min[32];
				char		max[32];

				format_ms(s->min, min, sizeof(min));
				format_ms(s->max, max, sizeof(max));
				sb_error_hint(err, "Give a time between %s and %s, such as \"30s\" or \"60000\" (milliseconds).",
							  min, max);
			}
			break;
		default:
			sb_error_hint(err, "Give an integer between %d and %d.", s->min, s->max);
			break;
	}
	return SB_ERR_CONFIG;
}

SbStatus
sb_setting_set(SbRepoConfig *cfg, int i, const char *shown, const char *value,
			   SbError *err)
{
	const SbSetting *s = sb_setting_at(i, NULL);
	char	   *end;
	long		n;

	if (s == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "unknown setting %d", i);
	switch (s->type)
	{
		case SB_SETTING_TYPE_STRING:
			return sb_setting_store_string(cfg, i, shown, value, err);
		case SB_SETTING_TYPE_ENUM:
			for (int k = 0; s->enum_name(k) != NULL; k++)
				if (strcasecmp(value, s->enum_name(k)) == 0)
				{
					sb_setting_store_int(cfg, i, k);
					return SB_OK;
				}
			return invalid_value(s, shown, value, err);
		case SB_SETTING_TYPE_MS:
			if (!parse_ms(value, &n) || n < s->min || n > s->max)
				return invalid_value(s, shown, value, err);
			sb_setting_store_int(cfg, i, (int) n);
			return SB_OK;
		case SB_SETTING_TYPE_INT:
			errno = 0;
			n = strtol(value, &end, 10);
			if (errno != 0 || end == value || *end != '\0' ||
				n < s->min || n > s->max)
				return sb_error_set(err, SB_ERR_CONFIG,
									"option \"%s\" must be an integer between %d and %d",
									shown, s->min, s->max);
			sb_setting_store_int(cfg, i, (int) n);
			return SB_OK;
	}
	return sb_error_set(err, SB_ERR_INTERNAL, "setting \"%s\" has no type", s->name);
}

void
sb_settings_defaults(SbRepoConfig *cfg)
{
	int			n = sb_settings_count();

	for (int i = 0; i < n; i++)
	{
		const SbSetting *s = sb_setting_at(i, NULL);

		if (s->flags & SB_SETTING_SERVER)
			continue;
		if (s->type == SB_SETTING_TYPE_STRING)
			strcpy(sb_setting_field(cfg, i), s->str_default ? s->str_default : "");
		else
			sb_setting_store_int(cfg, i, s->int_default);
	}
}

void
sb_setting_default_text(const SbSetting *s, char *buf, size_t len)
{
	switch (s->type)
	{
		case SB_SETTING_TYPE_STRING:
			snprintf(buf, len, "%s", s->str_default ? s->str_default : "");
			break;
		case SB_SETTING_TYPE_ENUM:
			snprintf(buf, len, "%s", s->enum_name(s->int_default));
			break;
		case SB_SETTING_TYPE_MS:
			format_ms(s->int_default, buf, len);
			break;
		case SB_SETTING_TYPE_INT:
			snprintf(buf, len, "%d", s->int_default);
			break;
	}
}

/* Edit distance of a and b (both short: names of settings). */
static int
distance(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);
	int			row[128];

	if (la >= 127 || lb >= 127)
		return INT_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int) j;
	for (size_t i = 1; i <= la; i++)
	{
		int			diag = row[0];

		row[0] = (int) i;
		for (size_t j = 1; j <= lb; j++)
		{
			int			up = row[j];
			int			best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/*
 * The closest name, when it is close enough to be a misspelling: at most a
 * third of its letters differ.
 */
const char *
sb_closest_name(const char *name, const char *const *names, int nnames)
{
	const char *best = NULL;
	int			best_d = INT_MAX;

	for (int i = 0; i < nnames; i++)
	{
		int			d = distance(name, names[i]);

		if (d < best_d)
		{
			best_d = d;
			best = names[i];
		}
	}
	if (best == NULL || best_d > (int) (strlen(best) + 2) / 3)
		return NULL;
	return best;
}
