/*-------------------------------------------------------------------------
 *
 * backup_schedule.h
 *		safebackup.backup_schedule: one or more cron schedules, each for a
 *		backup type.
 *
 * The setting is a list of entries separated by ";", each an optional
 * type ("full:", "diff:" or "incr:") followed by a five-field cron
 * schedule (cron.h); without a type the entry takes full backups, so a
 * plain cron schedule keeps its meaning.  A weekly full backup and nightly
 * incrementals:
 *
 *     full: 0 2 * * 0; incr: 0 2 * * 1-6
 *
 * When entries fall on the same minute, the most complete type runs (full
 * before diff before incr), so "full: 0 2 * * 0; incr: 0 2 * * *" means
 * the same as the example.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_SCHEDULE_H
#define SB_BACKUP_SCHEDULE_H

#include "backup_chain.h"
#include "cron.h"
#include "sb_error.h"

#define SB_SCHEDULE_MAX		8

typedef struct SbBackupSchedule
{
	int			n;
	SbBackupType type[SB_SCHEDULE_MAX];
	SbCron		cron[SB_SCHEDULE_MAX];
} SbBackupSchedule;

/*
 * Parse spec; an empty spec gives n = 0.  SB_ERR_CONFIG naming the entry
 * (message and detail as sb_cron_parse's) when one is invalid.
 */
extern SbStatus sb_backup_schedule_parse(const char *spec,
										 SbBackupSchedule *s, SbError *err);

#endif							/* SB_BACKUP_SCHEDULE_H */
