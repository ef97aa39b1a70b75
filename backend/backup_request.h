/*-------------------------------------------------------------------------
 *
 * backup_request.h
 *		Starting a base backup worker: shared by safebackup_start() and the
 *		launcher's scheduled backups (implemented in backup_sql.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_REQUEST_H
#define SB_BACKUP_REQUEST_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"

typedef enum SbBackupRequestResult
{
	SB_REQUEST_STARTED,			/* the worker was asked to start */
	SB_REQUEST_BUSY,			/* another backup is running */
	SB_REQUEST_FAILED			/* reported at elevel (< ERROR) */
} SbBackupRequestResult;

/*
 * Start a backup of type (SbBackupType) requested at "when": the one time its label, its
 * start in safebackup_status() and its manifest's start_time are made from
 * (a later one only if a backup of that second exists).  label (and
 * running, for SB_REQUEST_BUSY) must hold SB_BACKUP_LABEL_LEN bytes;
 * generation and handle identify the backup for waiting.  A diff or incr
 * without a base becomes a full backup (logged); a backup of the type
 * interrupted since the newest complete one is resumed under its label.  Problems that
 * prevent a backup are reported at elevel.
 */
extern SbBackupRequestResult sb_backup_request(int elevel, TimestampTz when,
											   int type, char *label, char *running,
											   uint64 *generation,
											   BackgroundWorkerHandle **handle);

#endif							/* SB_BACKUP_REQUEST_H */
