/*-------------------------------------------------------------------------
 *
 * guc_backup.c
 *		The settings of how a base backup is taken: how many processes copy
 *		the files, what a page with a wrong checksum does to the backup, how
 *		long it waits for its WAL to reach the repository, and whether
 *		scheduled backups run on a standby.
 *
 * They live apart from the repository settings (guc.c) because only the
 * backup worker (and, for the schedule, the launcher) reads them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "backend/guc_backup.h"

int			sb_backup_workers = 2;
int			sb_checksum_failure = SB_CHECKSUM_FAILURE_WARN;
int			sb_backup_wal_timeout = 600;
int			sb_schedule_on_standby = SB_SCHEDULE_PRIMARY_ONLY;

static const struct config_enum_entry checksum_failure_options[] = {
	{"warn", SB_CHECKSUM_FAILURE_WARN, false},
	{"fail", SB_CHECKSUM_FAILURE_FAIL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry schedule_on_standby_options[] = {
	{"off", SB_SCHEDULE_PRIMARY_ONLY, false},
	{"on", SB_SCHEDULE_ANYWHERE, false},
	{"only", SB_SCHEDULE_STANDBY_ONLY, false},
	{"false", SB_SCHEDULE_PRIMARY_ONLY, true},
	{"true", SB_SCHEDULE_ANYWHERE, true},
	{"no", SB_SCHEDULE_PRIMARY_ONLY, true},
	{"yes", SB_SCHEDULE_ANYWHERE, true},
	{"0", SB_SCHEDULE_PRIMARY_ONLY, true},
	{"1", SB_SCHEDULE_ANYWHERE, true},
	{NULL, 0, false}
};

void
sb_define_backup_gucs(void)
{
	DefineCustomIntVariable("safebackup.backup_workers",
							"Number of processes that copy the files of a base backup.",
							"The backup worker is one of them; the others are dynamic background workers, each with its own repository session.",
							&sb_backup_workers,
							2, 1, SB_BACKUP_WORKERS_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("safebackup.checksum_failure",
							 "What a page with a wrong checksum does to a base backup: warn or fail.",
							 "Page checksums are verified only when the cluster has data checksums.",
							 &sb_checksum_failure,
							 SB_CHECKSUM_FAILURE_WARN,
							 checksum_failure_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("safebackup.backup_wal_timeout",
							"How long a base backup waits for the WAL it needs to reach the repository.",
							"Past it the backup fails and is not listed. 0 waits without a limit; at most one day.",
							&sb_backup_wal_timeout,
							600, 0, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("safebackup.schedule_on_standby",
							 "Whether safebackup.backup_schedule starts backups on a standby: off, on or only.",
							 "off: on a primary only; on: on a primary and on a standby; only: on a standby only. safebackup_start() works on both whatever this says.",
							 &sb_schedule_on_standby,
							 SB_SCHEDULE_PRIMARY_ONLY,
							 schedule_on_standby_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}
