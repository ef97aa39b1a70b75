/*-------------------------------------------------------------------------
 *
 * shmem.h
 *		State shared by the launcher, the archiver and SQL functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SHMEM_H
#define SB_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#define SB_WALNAME_LEN	64
#define SB_LAST_ERROR_LEN	1024

typedef enum SbLauncherState
{
	SB_LAUNCHER_STOPPED = 0,
	SB_LAUNCHER_STARTING,
	SB_LAUNCHER_IDLE
} SbLauncherState;

typedef enum SbBackupPhase
{
	SB_BACKUP_NONE = 0,
	SB_BACKUP_STARTING,			/* worker requested, not yet running */
	SB_BACKUP_CHECKPOINT,		/* waiting for the backup start checkpoint */
	SB_BACKUP_COPYING,			/* copying files */
	SB_BACKUP_WAITING_WAL,		/* waiting for the WAL it needs to be archived */
	SB_BACKUP_MANIFEST,			/* writing the manifest */
	SB_BACKUP_DONE,
	SB_BACKUP_FAILED,
	SB_BACKUP_CANCELED
} SbBackupPhase;

#define SB_BACKUP_LABEL_LEN 32

typedef struct SbShared
{
	LWLock	   *lock;

	/* launcher */
	pid_t		launcher_pid;
	SbLauncherState launcher_state;
	TimestampTz launcher_started;
	Latch	   *launcher_latch; /* NULL while no launcher runs */
	/* the launcher warned about the archive lag and waits for it to drop */
	bool		archive_lag_warned;

	/* archiving (since server start) */
	char		last_archived_wal[SB_WALNAME_LEN];
	TimestampTz last_archived_time;
	/* the same for WAL segments only (no history or backup history files) */
	char		last_archived_segment[SB_WALNAME_LEN];
	TimestampTz last_archived_segment_time;
	char		last_failed_wal[SB_WALNAME_LEN];
	char		last_error[SB_LAST_ERROR_LEN];
	TimestampTz last_error_time;
	int64		archived_count;
	int64		failed_count;
	int64		archived_bytes; /* plain bytes of newly stored files */
	int64		stored_bytes;	/* bytes written to the repository */
	int64		wal_gaps_repaired;	/* completed segments without status, queued */
	char		last_wal_gap[SB_WALNAME_LEN];
	/* the repository's mode as it last told us: SbRepoMode + 1; 0: not yet */
	int			repo_mode_seen;

	/* the current or last base backup */
	bool		backup_running;
	bool		backup_cancel;	/* safebackup_cancel() asked it to stop */
	pid_t		backup_pid;
	uint64		backup_generation;	/* bumped for each backup request */
	char		backup_label[SB_BACKUP_LABEL_LEN];
	int			backup_repo;	/* the repository it goes to, 1 to 4 */
	int			backup_type;	/* SbBackupType, after the base was chosen */
	char		backup_base[SB_BACKUP_LABEL_LEN];	/* "" for a full backup */
	bool		backup_resume;	/* the label is an interrupted attempt's */
	Oid			backup_dboid;	/* database the worker connects to, to read
								 * the WAL summaries; InvalidOid: none */
	SbBackupPhase backup_phase;
	TimestampTz backup_started;
	TimestampTz backup_finished;
	int64		backup_bytes_done;
	int64		backup_bytes_total;
	int64		backup_files_done;
	int64		backup_files_total;
	int64		backup_checksum_failures;	/* pages with a wrong checksum */
	char		backup_error[SB_LAST_ERROR_LEN];
	ConditionVariable backup_cv;	/* broadcast on every phase change */

	/* safebackup.backup_schedule: when the launcher starts the next backup */
	TimestampTz next_scheduled_backup;	/* 0 when no schedule is set */
} SbShared;

/* NULL when the library was not loaded by shared_preload_libraries. */
extern SbShared *sb_shared;

extern void sb_shmem_install_hooks(void);
/* ERROR unless the library was preloaded (its shared memory exists) */
extern void sb_shmem_require(void);

extern const char *sb_launcher_state_name(SbLauncherState state);
extern const char *sb_backup_phase_name(SbBackupPhase phase);

/* Set the backup phase (and error, for FAILED) and wake waiters. */
extern void sb_backup_set_phase(SbBackupPhase phase, const char *error);

/* status.c: remember the mode an opened repository reported (SbRepoMode) */
extern void sb_status_note_repo_mode(int mode);

#endif							/* SB_SHMEM_H */
