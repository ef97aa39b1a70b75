/*-------------------------------------------------------------------------
 *
 * backup_order.h
 *		The order in which a base backup's copiers take its files: the
 *		longest to copy first (core/copy_cost.h says how that is told).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_ORDER_H
#define SB_BACKUP_ORDER_H

#include "sb_config.h"
#include "worker/backup_walk.h"

/*
 * The largest files sampled for how they compress; the rest are estimated
 * from the mean of the samples.
 */
#define SB_ORDER_SAMPLED_FILES	64
/* smaller files are short jobs whatever they hold: not sampled */
#define SB_ORDER_MIN_SAMPLED	(16 * 1024 * 1024)

/*
 * Sort files[0 .. nfiles - 1] (relative to the current directory, the data
 * directory) so that the one estimated longest to copy comes first; without
 * sample, largest first.
 */
extern void sb_backup_order(SbWalkEntry **files, int nfiles,
							const SbRepoConfig *cfg, bool sample);

#endif							/* SB_BACKUP_ORDER_H */
