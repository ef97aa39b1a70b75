/*-------------------------------------------------------------------------
 *
 * guc.h
 *		The safebackup.* configuration parameters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_GUC_H
#define SB_GUC_H

#include "sb_config.h"
#include "settings.h"			/* SB_PUSH_MAX_WORKERS */

extern void sb_define_gucs(void);

/* The repository settings in force in this process (zero-padded copy). */
extern void sb_guc_repo_config(SbRepoConfig *cfg);

/* safebackup.backup_schedule in force in this process ("" = off). */
extern const char *sb_guc_backup_schedule(void);

/*
 * safebackup.archive_push_workers in force in this process; at most
 * SB_PUSH_MAX_WORKERS (shared memory holds that many worker slots).
 */
extern int	sb_guc_archive_push_workers(void);

#endif							/* SB_GUC_H */
