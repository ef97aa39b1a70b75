/*-------------------------------------------------------------------------
 *
 * guc_backup.c
 *		The settings of how a base backup is copied: how many processes copy
 *		the files, and what a page with a wrong checksum does to the backup.
 *
 * They live apart from the repository settings (guc.c) because only the
 * backup worker reads them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "backend/guc_backup.h"

int			sb_backup_workers = 2;
int			sb_checksum_failure = SB_CHECKSUM_FAILURE_WARN;

static const struct config_enum_entry checksum_failure_options[] = {
	{"warn", SB_CHECKSUM_FAILURE_WARN, false},
	{"fail", SB_CHECKSUM_FAILURE_FAIL, false},
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
}
