/*-------------------------------------------------------------------------
 *
 * restore_recovery.c
 *		Writing the recovery settings of a restore into postgresql.auto.conf:
 *		restore_command and the recovery target.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t
quote_conf_value(char *buf, const char *value)
{
	size_t		pos = 0;

	buf[pos++] = '\'';
	for (; *value; value++)
	{
		if (*value == '\'' || *value == '\\')
			buf[pos++] = *value;
		buf[pos++] = *value;
	}
	buf[pos++] = '\'';
	buf[pos] = '\0';
	return pos;
}

SbStatus
sb_restore_write_recovery_conf(Restore *r, SbError *err)
{
	const SbRestoreOptions *o = r->o;
	char		path[RESTORE_PATH_LEN];
	char		value[64];
	const char *target = o->target_value;
	char	   *text;
	size_t		pos = 0;
	size_t		vlen;
	SbStatus	rc;

	if (o->target_kind == SB_TARGET_TIME)
	{
		int64_t		epoch;
		int			usec;
		bool		zone;
		time_t		tt;
		struct tm	tm;

		/* normalized to UTC, so that the server reads what we chose by */
		if (!sb_parse_target_time(o->target_value, &epoch, &usec, &zone))
			return sb_error_set(err, SB_ERR_CONFIG,
								"invalid recovery target time \"%s\"", o->target_value);
		tt = (time_t) epoch;
		if (gmtime_r(&tt, &tm) == NULL)
			return sb_error_set(err, SB_ERR_CONFIG,
								"invalid recovery target time \"%s\"", o->target_value);
		vlen = strftime(value, sizeof(value), "%Y-%m-%d %H:%M:%S", &tm);
		if (usec > 0)
			vlen += snprintf(value + vlen, sizeof(value) - vlen, ".%06d", usec);
		snprintf(value + vlen, sizeof(value) - vlen, "+00");
		target = value;
	}

	text = malloc(256 + strlen(r->m.label) + 2 * strlen(o->restore_command) +
				  (target ? 2 * strlen(target) : 0));
	if (text == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
	pos += sprintf(text + pos, "# added by pg_safebackup restore of backup %s\n",
				   r->m.label);
	pos += sprintf(text + pos, "restore_command = ");
	pos += quote_conf_value(text + pos, o->restore_command);
	text[pos++] = '\n';
	if (o->target_kind != SB_TARGET_NONE)
	{
		pos += sprintf(text + pos, "recovery_target_%s = ",
					   sb_target_kind_name(o->target_kind));
		pos += quote_conf_value(text + pos, target);
		pos += sprintf(text + pos, "\nrecovery_target_action = '%s'\n",
					   sb_target_action_name(o->target_action));
	}
	rc = sb_restore_join_path(path, r->target, "postgresql.auto.conf", err);
	if (rc == SB_OK)
		rc = sb_restore_write_local_file(path, text, pos, true, err);
	free(text);
	return rc;
}
