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
	}
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
