/*-------------------------------------------------------------------------
 *
 * backup_schedule.c
 *		Parse safebackup.backup_schedule into typed cron schedules; see
 *		backup_schedule.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "backup_schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define ENTRY_MAX	256

/* Parse one entry (modified in place): "[type:] cron". */
static SbStatus
parse_entry(char *entry, int index, SbBackupSchedule *s, SbError *err)
{
	char	   *colon = strchr(entry, ':');
	char	   *cron = entry;
	SbBackupType type = SB_BACKUP_FULL;

	if (colon != NULL)
	{
		char	   *name = entry;
		char	   *end = colon;

		while (isspace((unsigned char) *name))
			name++;
		while (end > name && isspace((unsigned char) end[-1]))
			end--;
		*end = '\0';
		if (!sb_backup_type_parse(name, &type))
		{
			sb_error_set(err, SB_ERR_CONFIG, "entry %d has an invalid backup type \"%s\"",
						 index, name);
			sb_error_detail(err, "Valid types are full, diff and incr.");
			return SB_ERR_CONFIG;
		}
		cron = colon + 1;
	}
	if (sb_cron_parse(cron, &s->cron[s->n], err) != SB_OK)
	{
		char		msg[SB_ERROR_MSG_LEN];

		if (index == 1 && colon == NULL && s->n == 0)
			return err->status;
		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg), "entry %d: %s", index, msg);
		return err->status;
	}
	s->type[s->n++] = type;
	return SB_OK;
}

SbStatus
sb_backup_schedule_parse(const char *spec, SbBackupSchedule *s, SbError *err)
{
	char		buf[SB_SCHEDULE_MAX * ENTRY_MAX];
	char	   *p;
	int			index = 0;

	memset(s, 0, sizeof(*s));
	if (strlen(spec) >= sizeof(buf))
		return sb_error_set(err, SB_ERR_CONFIG, "the schedule is too long");
	strcpy(buf, spec);
	p = buf;
	for (;;)
	{
		char	   *semi = strchr(p, ';');
		char	   *q;

		if (semi != NULL)
			*semi = '\0';
		index++;
		for (q = p; isspace((unsigned char) *q); q++)
			;
		if (*q == '\0')
		{
			if (semi != NULL || index > 1)
			{
				sb_error_set(err, SB_ERR_CONFIG, "entry %d is empty", index);
				sb_error_detail(err, "Entries are separated by \";\", each \"[full|diff|incr:] minute hour day-of-month month day-of-week\".");
				return SB_ERR_CONFIG;
			}
			return SB_OK;		/* empty setting: no schedule */
		}
		if (s->n == SB_SCHEDULE_MAX)
			return sb_error_set(err, SB_ERR_CONFIG, "more than %d entries",
								SB_SCHEDULE_MAX);
		if (parse_entry(p, index, s, err) != SB_OK)
			return err->status;
		if (semi == NULL)
			return SB_OK;
		p = semi + 1;
	}
}
