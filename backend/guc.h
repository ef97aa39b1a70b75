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

/* Repository 1's settings in force in this process (zero-padded copy). */
extern void sb_guc_repo_config(SbRepoConfig *cfg);

/*
 * Repository repo's settings (1 to SB_REPO_MAX; safebackup.repoN_* from
 * 2).  False for a repository 2 to 4 that is not configured (neither its
 * path nor its type set); repository 1 is always returned as configured.
 */
extern bool sb_guc_repo_config_n(int repo, SbRepoConfig *cfg);

/* safebackup.backup_schedule in force in this process ("" = off). */
extern const char *sb_guc_backup_schedule(void);

/*
 * safebackup.archive_push_workers in force in this process; at most
 * SB_PUSH_MAX_WORKERS (shared memory holds that many worker slots).
 */
extern int	sb_guc_archive_push_workers(void);

#endif							/* SB_GUC_H */
