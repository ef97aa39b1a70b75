/*-------------------------------------------------------------------------
 *
 * guc_backup.c
 *		The variables of the settings of how a base backup is copied: how
 *		many processes copy the files, and what a page with a wrong checksum
 *		does to the backup.
 *
 * They are described in core/settings_general.c and defined with the other
 * settings by backend/guc.c; only the backup worker reads them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "backend/guc_backup.h"

int			sb_backup_workers = 2;
int			sb_checksum_failure = SB_CHECKSUM_FAILURE_WARN;
