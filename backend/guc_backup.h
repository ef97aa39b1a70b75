/*-------------------------------------------------------------------------
 *
 * guc_backup.h
 *		safebackup.backup_workers and safebackup.checksum_failure.
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

extern int	sb_backup_workers;
extern int	sb_checksum_failure;

#endif							/* SB_GUC_BACKUP_H */
