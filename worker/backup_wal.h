/*-------------------------------------------------------------------------
 *
 * backup_wal.h
 *		Wait until the WAL a base backup needs is in the repository.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_WAL_H
#define SB_BACKUP_WAL_H

#include "backend/compat.h"

#include "manifest.h"
#include "storage.h"

/*
 * Wait until every WAL segment from run's start to its stop point, on the
 * timelines the stop point's history gives them, is stored in the stanza,
 * calling check_cancel between looks.  Fills m->start_wal and m->stop_wal.
 * Raises an ERROR after safebackup.backup_wal_timeout, when a backup taken
 * on a standby sees the standby promoted, and when the repository fails.
 */
extern void sb_backup_wait_wal(SbStorage *st, const char *stanza,
							   const SbBackupRun *run, SbManifest *m,
							   void (*check_cancel) (void));

#endif							/* SB_BACKUP_WAL_H */
