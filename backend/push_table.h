/*-------------------------------------------------------------------------
 *
 * push_table.h
 *		The shared table through which the push-ahead workers and the
 *		archiver agree on WAL files: which file a worker is pushing (its
 *		claim) and which files a worker has made durable in the repository,
 *		plus each worker's state for safebackup_push_workers().
 *
 * A durable entry carries the identity of the local file it was pushed
 * from (device, inode, size, modification and change times) and a hash of
 * the repository settings it was pushed with.  The archiver trusts an
 * entry only when the file it is asked to archive still has that identity
 * and its own settings hash the same, so a recycled or rewritten file, or
 * a changed repository, is pushed again.  The table lives in shared memory
 * only: after a crash restart it starts empty and nothing is trusted.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_PUSH_TABLE_H
#define SB_PUSH_TABLE_H

#include "datatype/timestamp.h"

#include "guc.h"
#include "sb_config.h"
#include "shmem.h"

/* Files claimed or durable at one time (how far the workers run ahead). */
#define SB_PUSH_SLOTS 64

#define SB_PUSH_ERROR_LEN 256

/* Identity of a local WAL file, from stat(). */
typedef struct SbWalIdentity
{
	uint64		dev;
	uint64		ino;
	int64		size;
	int64		mtime_ns;
	int64		ctime_ns;
} SbWalIdentity;

/* One worker's state, as safebackup_push_workers() shows it. */
typedef struct SbPushWorkerInfo
{
	pid_t		pid;			/* 0: not running */
	char		current_wal[SB_WALNAME_LEN];	/* "" when idle */
	int64		pushed_count;
	int64		failed_count;
	TimestampTz last_pushed_time;
	char		last_error[SB_PUSH_ERROR_LEN];
} SbPushWorkerInfo;

/* shared memory (called from shmem.c's hooks) */
extern void sb_push_shmem_request(void);
extern void sb_push_shmem_init(void);

/* Stat path into *id; false (errno set) if it cannot be. */
extern bool sb_wal_identity(const char *path, SbWalIdentity *id);
extern bool sb_wal_identity_equal(const SbWalIdentity *a,
								  const SbWalIdentity *b);

/* --- push workers --- */

/*
 * Take worker slot "worker" for this process: false if another live
 * process has it.  Detaching drops the worker's claims and wakes waiters.
 */
extern bool sb_push_worker_attach(int worker);
extern void sb_push_worker_detach(int worker);

/*
 * Claim name for worker: false if it is already claimed or durable, or
 * the table is full (*full is then set).
 */
extern bool sb_push_claim(int worker, const char *name, bool *full);

/*
 * End worker's claim on name: durable (with the file's identity and the
 * settings hash), or not (the archiver pushes it itself).
 */
extern void sb_push_finish(int worker, const char *name, bool durable,
						   const SbWalIdentity *id, uint64 config_hash,
						   const char *error);

/*
 * Forget durable and archived entries whose ".ready" file is gone from
 * archive_status: the archiver is done with them (a durable one was then
 * archived another way, e.g. pushed by the archiver itself after waiting
 * for the worker timed out).
 */
extern void sb_push_prune(const char *status_dir);

/* Copy the names of the files in the table (at most SB_PUSH_SLOTS). */
extern int	sb_push_table_names(char names[][SB_WALNAME_LEN]);

/* --- the archiver --- */

/*
 * Called by the archive callback before pushing file (at path) itself.
 * True when a push worker already made exactly this file durable with the
 * same settings (config_hash: sb_wal_repos_hash, every repository's): the entry is consumed and the file counts as archived.
 * When a worker is pushing the file right now, waits (at most
 * SB_PUSH_ARCHIVER_WAIT_MS) for it to finish.  Otherwise the archiver
 * holds the claim on the file until sb_push_archiver_done(), so that no
 * worker pushes it at the same time; archived files stay in the table
 * until their ".ready" file is gone, for the same reason.  Wakes the workers in every case, so
 * that they look ahead.
 */
extern bool sb_push_archiver_take(const char *file, const char *path,
								  uint64 config_hash);
extern void sb_push_archiver_done(const char *file, bool archived);

/* --- status --- */

/* Copy worker slot i's state. */
extern void sb_push_worker_info(int worker, SbPushWorkerInfo *info);

#endif							/* SB_PUSH_TABLE_H */
