/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		Allocate and attach the shared state (see shmem.h).
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "push_table.h"
#include "repo_behind.h"
#include "shmem.h"

#define SB_TRANCHE_NAME "pg_safebackup"

SbShared   *sb_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
sb_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SbShared)));
	RequestNamedLWLockTranche(SB_TRANCHE_NAME, 1);
	sb_push_shmem_request();
	sb_behind_shmem_request();
}

static void
sb_shmem_startup_hook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	sb_shared = ShmemInitStruct("pg_safebackup", sizeof(SbShared), &found);
	if (!found)
	{
		memset(sb_shared, 0, sizeof(SbShared));
		sb_shared->lock = &(GetNamedLWLockTranche(SB_TRANCHE_NAME))->lock;
		ConditionVariableInit(&sb_shared->backup_cv);
	}
	sb_push_shmem_init();
	sb_behind_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

void
sb_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sb_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sb_shmem_startup_hook;
}

const char *
sb_launcher_state_name(SbLauncherState state)
{
	switch (state)
	{
		case SB_LAUNCHER_STOPPED:
			return "stopped";
		case SB_LAUNCHER_STARTING:
			return "starting";
		case SB_LAUNCHER_IDLE:
			return "idle";
	}
	return "unknown";
}

const char *
sb_backup_phase_name(SbBackupPhase phase)
{
	switch (phase)
	{
		case SB_BACKUP_NONE:
			return "none";
		case SB_BACKUP_STARTING:
			return "starting";
		case SB_BACKUP_CHECKPOINT:
			return "waiting for checkpoint";
		case SB_BACKUP_COPYING:
			return "copying files";
		case SB_BACKUP_WAITING_WAL:
			return "waiting for WAL archiving";
		case SB_BACKUP_MANIFEST:
			return "writing manifest";
		case SB_BACKUP_DONE:
			return "done";
		case SB_BACKUP_FAILED:
			return "failed";
		case SB_BACKUP_CANCELED:
			return "canceled";
	}
	return "unknown";
}

void
sb_backup_set_phase(SbBackupPhase phase, const char *error)
{
	bool		finished = (phase == SB_BACKUP_DONE ||
							phase == SB_BACKUP_FAILED ||
							phase == SB_BACKUP_CANCELED);

	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	/* a canceled backup stays canceled whatever error ended it */
	if (!(phase == SB_BACKUP_FAILED && sb_shared->backup_cancel))
		sb_shared->backup_phase = phase;
	else
		sb_shared->backup_phase = SB_BACKUP_CANCELED;
	if (error != NULL)
		strlcpy(sb_shared->backup_error, error, SB_LAST_ERROR_LEN);
	if (finished)
	{
		sb_shared->backup_running = false;
		sb_shared->backup_pid = 0;
		sb_shared->backup_finished = GetCurrentTimestamp();
	}
	LWLockRelease(sb_shared->lock);
	ConditionVariableBroadcast(&sb_shared->backup_cv);
}

void
sb_shmem_require(void)
{
	if (sb_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_safebackup is not loaded"),
				 errhint("Add pg_safebackup to shared_preload_libraries and restart the server.")));
}
