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
#include "storage/lwlock.h"

#define SB_WALNAME_LEN	64
#define SB_LAST_ERROR_LEN	1024

typedef enum SbLauncherState
{
	SB_LAUNCHER_STOPPED = 0,
	SB_LAUNCHER_STARTING,
	SB_LAUNCHER_IDLE
} SbLauncherState;

typedef struct SbShared
{
	LWLock	   *lock;

	/* launcher */
	pid_t		launcher_pid;
	SbLauncherState launcher_state;
	TimestampTz launcher_started;

	/* archiving (since server start) */
	char		last_archived_wal[SB_WALNAME_LEN];
	TimestampTz last_archived_time;
	char		last_failed_wal[SB_WALNAME_LEN];
	char		last_error[SB_LAST_ERROR_LEN];
	TimestampTz last_error_time;
	int64		archived_count;
	int64		failed_count;
	int64		archived_bytes; /* plain bytes of newly stored files */
	int64		stored_bytes;	/* bytes written to the repository */
} SbShared;

/* NULL when the library was not loaded by shared_preload_libraries. */
extern SbShared *sb_shared;

extern void sb_shmem_install_hooks(void);

extern const char *sb_launcher_state_name(SbLauncherState state);

#endif							/* SB_SHMEM_H */
