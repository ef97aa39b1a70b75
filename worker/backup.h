/*-------------------------------------------------------------------------
 *
 * backup.h
 *		The base backup worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_H
#define SB_BACKUP_H

#include "postgres.h"

#include "postmaster/bgworker.h"

/* Start a backup worker; false when no worker slot is free. */
extern bool sb_backup_launch(BackgroundWorkerHandle **handle);
extern PGDLLEXPORT void sb_backup_main(Datum main_arg);

#endif							/* SB_BACKUP_H */
