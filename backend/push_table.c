/*-------------------------------------------------------------------------
 *
 * push_table.c
 *		The shared claim/durable table of the push-ahead workers and the
 *		archiver (see push_table.h).
 *
 * One LWLock guards the table; nothing slow (file or repository access)
 * happens while it is held.  A condition variable is broadcast whenever a
 * claim ends, for an archiver waiting on a file a worker is pushing.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <signal.h>
#include <sys/stat.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "push_table.h"

/* How long the archiver waits for a worker pushing the file it needs. */
#define SB_PUSH_ARCHIVER_WAIT_MS 10000

#define OWNER_ARCHIVER (-1)
#define PUSH_TRANCHE_NAME "pg_safebackup push"

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_CLAIMED,				/* being pushed by owner */
	SLOT_DURABLE,				/* pushed by a worker, not yet archived */
	SLOT_ARCHIVED				/* archived; kept until its .ready is gone */
} SlotState;

typedef struct PushSlot
{
	SlotState	state;
	int			owner;			/* worker index or OWNER_ARCHIVER */
	char		name[SB_WALNAME_LEN];
	SbWalIdentity id;			/* SLOT_DURABLE: the file pushed */
	uint64		config_hash;	/* SLOT_DURABLE: the settings pushed with */
} PushSlot;

typedef struct PushWorker
{
	SbPushWorkerInfo info;
	Latch	   *latch;			/* NULL when not running */
} PushWorker;

typedef struct PushShared
{
	LWLock	   *lock;
	ConditionVariable claim_ended;
	bool		full;			/* a worker found no free slot; read without
								 * the lock: a missed wake-up only delays
								 * push-ahead until the worker's next scan */
	PushSlot	slots[SB_PUSH_SLOTS];
	PushWorker	workers[SB_PUSH_MAX_WORKERS];
} PushShared;

static PushShared *push = NULL;

void
sb_push_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(PushShared)));
	RequestNamedLWLockTranche(PUSH_TRANCHE_NAME, 1);
}

void
sb_push_shmem_init(void)
{
	bool		found;

	/* the caller holds AddinShmemInitLock */
	push = ShmemInitStruct("pg_safebackup push", sizeof(PushShared), &found);
	if (!found)
	{
		memset(push, 0, sizeof(PushShared));
		push->lock = &(GetNamedLWLockTranche(PUSH_TRANCHE_NAME))->lock;
		ConditionVariableInit(&push->claim_ended);
	}
}

bool
sb_wal_identity(const char *path, SbWalIdentity *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0)
		return false;
	id->dev = (uint64) st.st_dev;
	id->ino = (uint64) st.st_ino;
	id->size = (int64) st.st_size;
	id->mtime_ns = (int64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	id->ctime_ns = (int64) st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return true;
}

static PushSlot *
find_slot(const char *name)
{
	for (int i = 0; i < SB_PUSH_SLOTS; i++)
		if (push->slots[i].state != SLOT_FREE &&
			strcmp(push->slots[i].name, name) == 0)
			return &push->slots[i];
	return NULL;
}

/*
 * A free slot.  The archiver may also reuse an archived one: the entry
 * only keeps workers from pushing a file the archiver has just finished.
 */
static PushSlot *
free_slot(bool reuse_archived)
{
	for (int i = 0; i < SB_PUSH_SLOTS; i++)
		if (push->slots[i].state == SLOT_FREE)
			return &push->slots[i];
	if (reuse_archived)
		for (int i = 0; i < SB_PUSH_SLOTS; i++)
			if (push->slots[i].state == SLOT_ARCHIVED)
				return &push->slots[i];
	return NULL;
}

static void
set_claim(PushSlot *slot, int owner, const char *name)
{
	memset(slot, 0, sizeof(*slot));
	slot->state = SLOT_CLAIMED;
	slot->owner = owner;
	strlcpy(slot->name, name, SB_WALNAME_LEN);
}

bool
sb_push_worker_attach(int worker)
{
	PushWorker *w = &push->workers[worker];
	bool		ok = true;

	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	if (w->info.pid != 0 && w->info.pid != MyProcPid &&
		kill(w->info.pid, 0) == 0)
		ok = false;
	else
	{
		memset(&w->info, 0, sizeof(w->info));
		w->info.pid = MyProcPid;
		w->latch = MyLatch;
	}
	LWLockRelease(push->lock);
	return ok;
}

void
sb_push_worker_detach(int worker)
{
	PushWorker *w = &push->workers[worker];

	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SB_PUSH_SLOTS; i++)
		if (push->slots[i].state == SLOT_CLAIMED &&
			push->slots[i].owner == worker)
			push->slots[i].state = SLOT_FREE;
	if (w->info.pid == MyProcPid)
	{
		w->info.pid = 0;
		w->info.current_wal[0] = '\0';
		w->latch = NULL;
	}
	LWLockRelease(push->lock);
	ConditionVariableBroadcast(&push->claim_ended);
}

bool
sb_push_claim(int worker, const char *name, bool *full)
{
	PushSlot   *slot;
	bool		ok = false;

	*full = false;
	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	if (find_slot(name) == NULL)
	{
		slot = free_slot(false);
		if (slot == NULL)
			*full = push->full = true;
		else
		{
			set_claim(slot, worker, name);
			strlcpy(push->workers[worker].info.current_wal, name, SB_WALNAME_LEN);
			ok = true;
		}
	}
	LWLockRelease(push->lock);
	return ok;
}

void
sb_push_finish(int worker, const char *name, bool durable,
			   const SbWalIdentity *id, uint64 config_hash,
			   const char *error)
{
	PushSlot   *slot;
	SbPushWorkerInfo *info = &push->workers[worker].info;

	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	slot = find_slot(name);
	if (slot != NULL && slot->state == SLOT_CLAIMED && slot->owner == worker)
	{
		if (durable)
		{
			slot->state = SLOT_DURABLE;
			slot->id = *id;
			slot->config_hash = config_hash;
		}
		else
			slot->state = SLOT_FREE;
	}
	if (durable)
	{
		info->pushed_count++;
		info->last_pushed_time = GetCurrentTimestamp();
	}
	else if (error != NULL)
	{
		info->failed_count++;
		strlcpy(info->last_error, error, SB_PUSH_ERROR_LEN);
	}
	info->current_wal[0] = '\0';
	LWLockRelease(push->lock);
	ConditionVariableBroadcast(&push->claim_ended);
}

void
sb_push_prune(const char *status_dir)
{
	char		names[SB_PUSH_SLOTS][SB_WALNAME_LEN];
	bool		gone[SB_PUSH_SLOTS];
	int			n = 0;

	LWLockAcquire(push->lock, LW_SHARED);
	for (int i = 0; i < SB_PUSH_SLOTS; i++)
		if (push->slots[i].state == SLOT_DURABLE ||
			push->slots[i].state == SLOT_ARCHIVED)
			strlcpy(names[n++], push->slots[i].name, SB_WALNAME_LEN);
	LWLockRelease(push->lock);
	if (n == 0)
		return;

	for (int i = 0; i < n; i++)
	{
		char		path[MAXPGPATH];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s.ready", status_dir, names[i]);
		gone[i] = (stat(path, &st) != 0 && errno == ENOENT);
	}

	/* forgetting an entry is always safe: the archiver then pushes again */
	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	for (int i = 0; i < n; i++)
	{
		PushSlot   *slot;

		if (!gone[i])
			continue;
		slot = find_slot(names[i]);
		if (slot != NULL &&
			(slot->state == SLOT_DURABLE || slot->state == SLOT_ARCHIVED))
			slot->state = SLOT_FREE;
	}
	LWLockRelease(push->lock);
}

static void
wake_workers(void)
{
	Latch	   *latches[SB_PUSH_MAX_WORKERS];
	int			n = 0;

	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	push->full = false;
	for (int i = 0; i < SB_PUSH_MAX_WORKERS; i++)
		if (push->workers[i].latch != NULL)
			latches[n++] = push->workers[i].latch;
	LWLockRelease(push->lock);
	for (int i = 0; i < n; i++)
		SetLatch(latches[i]);
}

bool
sb_wal_identity_equal(const SbWalIdentity *a, const SbWalIdentity *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
		a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

typedef enum TakeResult
{
	TAKE_DURABLE,				/* a worker stored exactly this file */
	TAKE_PUSH,					/* push it yourself */
	TAKE_WAIT					/* a worker is pushing it: wait */
} TakeResult;

/* One look at the table for the archiver; claims file when pushing it. */
static TakeResult
take_once(const char *file, const SbWalIdentity *id, uint64 config_hash,
		  bool may_wait)
{
	PushSlot   *slot;
	TakeResult	result = TAKE_PUSH;

	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	slot = find_slot(file);
	if (slot == NULL)
	{
		slot = free_slot(true);
		if (slot != NULL)
			set_claim(slot, OWNER_ARCHIVER, file);
	}
	else if (slot->state == SLOT_DURABLE)
	{
		if (id != NULL && sb_wal_identity_equal(&slot->id, id) &&
			slot->config_hash == config_hash)
		{
			slot->state = SLOT_ARCHIVED;
			result = TAKE_DURABLE;
		}
		else
			set_claim(slot, OWNER_ARCHIVER, file);	/* stale: push again */
	}
	else if (slot->state == SLOT_ARCHIVED)
		set_claim(slot, OWNER_ARCHIVER, file);	/* asked again: push again */
	else if (slot->owner != OWNER_ARCHIVER && may_wait)
		result = TAKE_WAIT;
	LWLockRelease(push->lock);
	return result;
}

bool
sb_push_archiver_take(const char *file, const char *path,
					  uint64 config_hash)
{
	SbWalIdentity id;
	bool		have_id;
	TimestampTz deadline;
	TakeResult	result;
	bool		timed_out = false;

	if (push == NULL)
		return false;
	have_id = sb_wal_identity(path, &id);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   SB_PUSH_ARCHIVER_WAIT_MS);
	for (;;)
	{
		long		ms;

		result = take_once(file, have_id ? &id : NULL, config_hash, !timed_out);
		if (result != TAKE_WAIT)
			break;
		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (ms <= 0)
			timed_out = true;
		else
			timed_out = ConditionVariableTimedSleep(&push->claim_ended, ms,
													PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();

	/*
	 * A file no worker has: there may be more behind it, so let the workers
	 * look ahead now.  A worker's file taken: wake them only if they wait
	 * for room in the table.
	 */
	if (result != TAKE_DURABLE || push->full)
		wake_workers();
	return result == TAKE_DURABLE;
}

void
sb_push_archiver_done(const char *file, bool archived)
{
	PushSlot   *slot;

	if (push == NULL)
		return;
	LWLockAcquire(push->lock, LW_EXCLUSIVE);
	slot = find_slot(file);
	if (slot != NULL && slot->state == SLOT_CLAIMED &&
		slot->owner == OWNER_ARCHIVER)
		slot->state = archived ? SLOT_ARCHIVED : SLOT_FREE;
	LWLockRelease(push->lock);
	/* workers held back by a full table may go on */
	if (push->full)
		wake_workers();
}

int
sb_push_table_names(char names[][SB_WALNAME_LEN])
{
	int			n = 0;

	LWLockAcquire(push->lock, LW_SHARED);
	for (int i = 0; i < SB_PUSH_SLOTS; i++)
		if (push->slots[i].state != SLOT_FREE)
			strlcpy(names[n++], push->slots[i].name, SB_WALNAME_LEN);
	LWLockRelease(push->lock);
	return n;
}

void
sb_push_worker_info(int worker, SbPushWorkerInfo *info)
{
	LWLockAcquire(push->lock, LW_SHARED);
	*info = push->workers[worker].info;
	LWLockRelease(push->lock);
}
