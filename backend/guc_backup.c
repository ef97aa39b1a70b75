/*-------------------------------------------------------------------------
 *
 * guc_backup.c
 *		The variables of the settings of how a base backup is taken: how
 *		many processes copy the files, what a page with a wrong checksum
 *		does to the backup, how long it waits for its WAL to reach the
 *		repository, and whether scheduled backups run on a standby.
 *
 * They are described in core/settings_general.c and defined with the other
 * settings by backend/guc.c; only the backup worker (and, for the
 * schedule, the launcher) reads them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "backend/guc_backup.h"

int			sb_backup_workers = 2;
int			sb_checksum_failure = SB_CHECKSUM_FAILURE_WARN;
int			sb_backup_read = SB_BACKUP_READ_DIRECT;
int			sb_backup_wal_timeout = 600;
int			sb_backup_max_rate = 0;
int			sb_schedule_on_standby = SB_SCHEDULE_PRIMARY_ONLY;
char	   *sb_summary_database = NULL;
