/*-------------------------------------------------------------------------
 *
 * guc_backup.h
 *		safebackup.backup_workers, safebackup.checksum_failure,
 *		safebackup.backup_read,
 *		safebackup.backup_wal_timeout, safebackup.backup_max_rate,
 *		safebackup.summary_database and safebackup.schedule_on_standby.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_GUC_BACKUP_H
#define SB_GUC_BACKUP_H

#include "settings.h"			/* SB_BACKUP_WORKERS_MAX */

/* the order of the names in core/settings_general.c */
typedef enum SbChecksumFailure
{
	SB_CHECKSUM_FAILURE_WARN,
	SB_CHECKSUM_FAILURE_FAIL
} SbChecksumFailure;

/* How a backup reads its large files: safebackup.backup_read. */
typedef enum SbBackupRead
{
	SB_BACKUP_READ_DIRECT,		/* past the page cache (core/read_direct.c) */
	SB_BACKUP_READ_PAGE_CACHE	/* through it */
} SbBackupRead;

/* Where scheduled backups run: safebackup.schedule_on_standby. */
typedef enum SbScheduleOnStandby
{
	SB_SCHEDULE_PRIMARY_ONLY,	/* off: only on a primary */
	SB_SCHEDULE_ANYWHERE,		/* on: on a primary and on a standby */
	SB_SCHEDULE_STANDBY_ONLY	/* only: only on a standby */
} SbScheduleOnStandby;

extern int	sb_backup_workers;
extern int	sb_checksum_failure;
extern int	sb_backup_read;
extern int	sb_backup_wal_timeout;	/* seconds; 0: no limit */
extern int	sb_backup_max_rate;	/* kB per second; 0: no limit */
extern int	sb_schedule_on_standby;
extern char *sb_summary_database;	/* "": block-level increments off */

#endif							/* SB_GUC_BACKUP_H */
