/*-------------------------------------------------------------------------
 *
 * backup_copy.c
 *		Copy the files of a base backup with several processes.
 *
 * One core compresses about 150 MB/s, far below what a disk reads, so the
 * backup worker (the leader) shares the files out to copy workers: dynamic
 * background workers, each with its own repository session, streaming files
 * through the codec exactly as the leader does.  The work queue is a dynamic
 * shared memory segment holding the file list, largest first, and an atomic
 * index of the next file to take; each copier writes what the manifest
 * needs (sizes, checksum, failing pages) into the file's slot, and adds the
 * bytes it reads to counters the leader publishes as the backup's progress.
 * The leader copies too, and copies global/pg_control itself after every
 * other file is done.
 *
 * The first copier to fail records its error in the queue; every copier
 * checks the queue (and safebackup_cancel()) between reads and stops, and
 * the leader terminates the copy workers before it fails the backup, so a
 * failed backup never gets a manifest.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/xlog.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "backend/guc_backup.h"
#include "backend/report.h"
#include "backend/shmem.h"
#include "backend/storage_wait.h"
#include "codec.h"
#include "worker/backup_copy.h"
#include "worker/backup_walk.h"
#include "worker/page_verify.h"
#include "worker/worker.h"

/* how long a failing leader waits for terminated copy workers to exit */
#define SB_COPY_STOP_WAIT_MS	30000

typedef enum SbCopyState
{
	SB_COPY_TODO = 0,
	SB_COPY_DONE,
	SB_COPY_GONE				/* dropped before we opened it */
} SbCopyState;

/* One file of the queue; results are written by the copier that took it. */
typedef struct SbCopyFile
{
	Size		path_off;		/* offsets of strings from the queue start */
	Size		local_off;
	uint64		size;			/* as the walk saw it */
	int64		mtime;
	unsigned int mode;
	int			state;			/* SbCopyState */
	uint64		plain_size;
	uint64		stored_size;
	uint32		checksum_failures;
	char		sha256[SB_SHA256_HEX_LEN + 1];
} SbCopyFile;

typedef struct SbCopyQueue
{
	pg_atomic_uint32 next;		/* index of the next file to hand out */
	pg_atomic_uint32 failed;	/* set once, by the first copier that fails */
	pg_atomic_uint64 bytes_done;
	pg_atomic_uint64 files_done;
	pg_atomic_uint64 checksum_failures;
	uint64		generation;		/* sb_shared->backup_generation of the backup */
	SbRepoConfig cfg;			/* the leader's settings, for every copier */
	XLogRecPtr	start_lsn;
	bool		verify_checksums;
	int			checksum_failure;	/* SbChecksumFailure */
	char		label[SB_LABEL_LEN];
	slock_t		mutex;			/* protects the error fields */
	bool		has_error;
	int			error_code;		/* of the first failure */
	char		error[SB_LAST_ERROR_LEN];
	uint32		nshared;		/* files handed out: all but the last */
	uint32		nfiles;
	SbCopyFile	files[FLEXIBLE_ARRAY_MEMBER];
	/* then the strings */
} SbCopyQueue;

/* What one copier works with. */
typedef struct Copier
{
	SbCopyQueue *q;
	SbStorage  *st;
	bool		leader;
	SbPageVerify pv;
	int64		files;			/* copied by this copier */
	int64		bytes;
} Copier;

/* the leader's copy workers, while it copies */
static BackgroundWorkerHandle *handles[SB_BACKUP_WORKERS_MAX];
static int	nhandles = 0;
static SbCopyQueue *active_queue = NULL;

static const char *
queue_string(SbCopyQueue *q, Size off)
{
	return (const char *) q + off;
}

/* Record the first failure: copiers stop at their next check. */
static void
record_failure(SbCopyQueue *q, int code, const char *message)
{
	SpinLockAcquire(&q->mutex);
	if (!q->has_error)
	{
		q->has_error = true;
		q->error_code = code;
		strlcpy(q->error, message, sizeof(q->error));
	}
	SpinLockRelease(&q->mutex);
	/* after the message, so that whoever sees the flag finds it */
	pg_atomic_write_u32(&q->failed, 1);
}

/* Has the backup been stopped (failure, cancel, or a leader gone)? */
static bool
must_stop(SbCopyQueue *q)
{
	bool		stop;

	/* not InterruptPending: a barrier or a reload is no reason to stop */
	if (ProcDiePending || QueryCancelPending ||
		pg_atomic_read_u32(&q->failed) != 0)
		return true;
	LWLockAcquire(sb_shared->lock, LW_SHARED);
	stop = sb_shared->backup_cancel || !sb_shared->backup_running ||
		sb_shared->backup_generation != q->generation;
	LWLockRelease(sb_shared->lock);
	return stop;
}

/* Raise the reason to stop, if there is one. */
static void
check_stop(SbCopyQueue *q)
{
	CHECK_FOR_INTERRUPTS();
	if (pg_atomic_read_u32(&q->failed) != 0)
	{
		char		message[SB_LAST_ERROR_LEN];
		int			code;

		SpinLockAcquire(&q->mutex);
		strlcpy(message, q->error, sizeof(message));
		code = q->error_code;
		SpinLockRelease(&q->mutex);
		if (message[0] != '\0')
			ereport(ERROR,
					(errcode(code),
					 errmsg_internal("%s", message)));
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("base backup stopped because another copier failed")));
	}
	if (must_stop(q))
	{
		bool		cancel;

		LWLockAcquire(sb_shared->lock, LW_SHARED);
		cancel = sb_shared->backup_cancel;
		LWLockRelease(sb_shared->lock);
		if (cancel)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("backup canceled by safebackup.safebackup_cancel()")));
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("base backup stopped because the backup worker exited")));
	}
}

/* The leader shows the progress of all copiers as one total. */
static void
publish_progress(SbCopyQueue *q)
{
	int64		bytes = (int64) pg_atomic_read_u64(&q->bytes_done);

	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->backup_bytes_done = bytes;
	sb_shared->backup_files_done = (int64) pg_atomic_read_u64(&q->files_done);
	sb_shared->backup_checksum_failures =
		(int64) pg_atomic_read_u64(&q->checksum_failures);
	LWLockRelease(sb_shared->lock);
	pgstat_progress_update_param(PROGRESS_BASEBACKUP_BACKUP_STREAMED, bytes);
}

/*
 * Called by the codec on every chunk read: verify its pages, count it, and
 * stop when the backup is stopped.  No ERROR may cross the codec, so every
 * reason to stop is an SbStatus; the caller raises the real error.
 */
static SbStatus
inspect_chunk(void *arg, int fd, uint8_t *buf, size_t len, uint64_t offset,
			  SbError *err)
{
	Copier	   *c = arg;
	SbCopyQueue *q = c->q;
	uint32		bad;

	bad = sb_page_verify_chunk(&c->pv, fd, (char *) buf, len, offset);
	if (bad > 0)
	{
		pg_atomic_fetch_add_u64(&q->checksum_failures, bad);
		if (q->checksum_failure == SB_CHECKSUM_FAILURE_FAIL)
		{
			sb_error_set(err, SB_ERR_CORRUPT,
						 "page checksum verification failed in file \"%s\"",
						 c->pv.path);
			sb_error_hint(err, "With safebackup.checksum_failure = warn the backup completes and counts the failures.");
			return SB_ERR_CORRUPT;
		}
	}
	pg_atomic_fetch_add_u64(&q->bytes_done, len);
	if (c->leader)
		publish_progress(q);
	if (must_stop(q))
		return sb_error_set(err, SB_ERR_INTERNAL, "base backup stopped");
	return SB_OK;
}

static void
copy_one(Copier *c, uint32 i)
{
	SbCopyQueue *q = c->q;
	SbCopyFile *f = &q->files[i];
	const char *relpath = queue_string(q, f->path_off);
	const char *local = queue_string(q, f->local_off);
	char		path[SB_PATH_MAX];
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	int			fd;

	fd = open(local, O_RDONLY | PG_BINARY | O_CLOEXEC);
	if (fd < 0)
	{
		if (errno != ENOENT)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", local)));
		/* dropped while we copied: WAL replay recreates it */
		f->state = SB_COPY_GONE;
		pg_atomic_fetch_add_u64(&q->files_done, 1);
		return;
	}
	sb_page_verify_init(&c->pv, relpath, q->verify_checksums, q->start_lsn);
	sb_backup_file_path(q->cfg.stanza, q->label, relpath, q->cfg.compress_type,
						path);
	/* flushed all at once before the manifest (sb_storage_sync) */
	rc = sb_codec_store_fd_inspect(c->st, &q->cfg, fd, path,
								   SB_WRITE_DEFER_SYNC, inspect_chunk,
								   c, &res, &err);
	close(fd);
	if (rc != SB_OK)
	{
		if (rc != SB_ERR_CORRUPT)
			check_stop(q);
		sb_report(ERROR, &err, "could not store backup file", NULL);
	}

	f->plain_size = res.plain_size;
	f->stored_size = res.stored_size;
	f->checksum_failures = c->pv.failures;
	memcpy(f->sha256, res.sha256, sizeof(f->sha256));
	pg_write_barrier();
	f->state = SB_COPY_DONE;
	pg_atomic_fetch_add_u64(&q->files_done, 1);
	c->files++;
	c->bytes += (int64) res.plain_size;
}

/* Take files from the queue until it is empty. */
static void
copy_loop(Copier *c)
{
	SbCopyQueue *q = c->q;

	for (;;)
	{
		uint32		i;

		check_stop(q);
		i = pg_atomic_fetch_add_u32(&q->next, 1);
		if (i >= q->nshared)
			break;
		copy_one(c, i);
		if (c->leader)
			publish_progress(q);
	}
}

/* ----------------------------------------------------------------
 *		Copy workers
 * ----------------------------------------------------------------
 */

void
sb_backup_copy_main(Datum main_arg)
{
	dsm_segment *seg;
	SbCopyQueue *q;
	Copier		c;
	SbError		err;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: connected only to be seen in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the base backup work queue"),
				 errdetail("The backup worker has already exited.")));
	q = dsm_segment_address(seg);

	memset(&c, 0, sizeof(c));
	c.q = q;
	PG_TRY();
	{
		if (sb_backend_storage_create(&q->cfg, &c.st, &err) != SB_OK ||
			sb_storage_open(c.st, &err) != SB_OK)
			sb_report(ERROR, &err, "could not open the repository", NULL);
		copy_loop(&c);
		sb_storage_close(c.st);
		sb_storage_free(c.st);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		record_failure(q, edata->sqlerrcode, edata->message);
		PG_RE_THROW();
	}
	PG_END_TRY();

	ereport(LOG,
			(errmsg_plural("base backup copy worker copied %lld file (%lld bytes)",
						   "base backup copy worker copied %lld files (%lld bytes)",
						   (unsigned long) c.files,
						   (long long) c.files, (long long) c.bytes)));
	dsm_detach(seg);
	proc_exit(0);
}

static void
launch_workers(dsm_segment *seg, int n)
{
	int			started = 0;

	nhandles = 0;
	for (int i = 0; i < n; i++)
	{
		BackgroundWorker worker;

		sb_worker_describe(&worker, "sb_backup_copy_main",
						   "pg_safebackup backup copy", BGW_NEVER_RESTART);
		worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
		worker.bgw_notify_pid = MyProcPid;
		if (!RegisterDynamicBackgroundWorker(&worker, &handles[nhandles]))
			break;
		nhandles++;
		started++;
	}
	if (started < n)
		ereport(LOG,
				(errmsg_plural("base backup copies with %d worker process instead of %d",
							   "base backup copies with %d worker processes instead of %d",
							   started + 1, started + 1, n + 1),
				 errhint("Raise max_worker_processes.")));
}

static bool
workers_running(void)
{
	for (int i = 0; i < nhandles; i++)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			return true;
	}
	return false;
}

/* Wait until every copy worker has exited, or one fails. */
static void
wait_for_workers(SbCopyQueue *q)
{
	for (;;)
	{
		bool		running = workers_running();

		publish_progress(q);
		check_stop(q);
		if (!running)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 200L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

void
sb_copy_terminate_workers(void)
{
	TimestampTz deadline;

	if (active_queue != NULL)
		record_failure(active_queue, ERRCODE_QUERY_CANCELED, "");
	for (int i = 0; i < nhandles; i++)
		TerminateBackgroundWorker(handles[i]);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   SB_COPY_STOP_WAIT_MS);
	while (workers_running())
	{
		if (GetCurrentTimestamp() >= deadline)
		{
			ereport(WARNING,
					(errmsg("backup copy workers did not exit within %d seconds",
							SB_COPY_STOP_WAIT_MS / 1000)));
			break;
		}
		/* also called on the way out: never exit from here */
		if (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
					  100L, PG_WAIT_EXTENSION) & WL_POSTMASTER_DEATH)
			break;
		ResetLatch(MyLatch);
	}
	nhandles = 0;
}

/* ----------------------------------------------------------------
 *		The leader
 * ----------------------------------------------------------------
 */

static int
larger_first(const void *a, const void *b)
{
	const SbWalkEntry *x = *(SbWalkEntry *const *) a;
	const SbWalkEntry *y = *(SbWalkEntry *const *) b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Build the queue: files largest first, the last entry at the end. */
static dsm_segment *
build_queue(const SbRepoConfig *cfg, const char *label, List *entries,
			XLogRecPtr start_lsn)
{
	SbWalkEntry **files;
	int			nfiles = 0;
	Size		size;
	Size		off;
	dsm_segment *seg;
	SbCopyQueue *q;
	ListCell   *lc;

	files = palloc(sizeof(SbWalkEntry *) * list_length(entries));
	size = offsetof(SbCopyQueue, files);
	foreach(lc, entries)
	{
		SbWalkEntry *e = lfirst(lc);

		if (e->is_dir)
			continue;
		files[nfiles++] = e;
		size += sizeof(SbCopyFile) + strlen(e->path) + strlen(e->local_path) + 2;
	}
	if (nfiles == 0)
		elog(ERROR, "the base backup has no files");
	/* every file but the last (global/pg_control), largest first */
	qsort(files, nfiles - 1, sizeof(SbWalkEntry *), larger_first);

	seg = dsm_create(size, 0);
	dsm_pin_mapping(seg);
	q = dsm_segment_address(seg);
	memset(q, 0, offsetof(SbCopyQueue, files));
	pg_atomic_init_u32(&q->next, 0);
	pg_atomic_init_u32(&q->failed, 0);
	pg_atomic_init_u64(&q->bytes_done, 0);
	pg_atomic_init_u64(&q->files_done, 0);
	pg_atomic_init_u64(&q->checksum_failures, 0);
	SpinLockInit(&q->mutex);
	LWLockAcquire(sb_shared->lock, LW_SHARED);
	q->generation = sb_shared->backup_generation;
	LWLockRelease(sb_shared->lock);
	q->cfg = *cfg;
	q->start_lsn = start_lsn;
	q->verify_checksums = DataChecksumsEnabled();
	q->checksum_failure = sb_checksum_failure;
	strlcpy(q->label, label, sizeof(q->label));
	q->nfiles = nfiles;
	q->nshared = nfiles - 1;

	off = offsetof(SbCopyQueue, files) + sizeof(SbCopyFile) * nfiles;
	for (int i = 0; i < nfiles; i++)
	{
		SbCopyFile *f = &q->files[i];

		memset(f, 0, sizeof(*f));
		f->size = files[i]->size;
		f->mtime = files[i]->mtime;
		f->mode = files[i]->mode;
		f->path_off = off;
		strcpy((char *) q + off, files[i]->path);
		off += strlen(files[i]->path) + 1;
		f->local_off = off;
		strcpy((char *) q + off, files[i]->local_path);
		off += strlen(files[i]->local_path) + 1;
	}
	Assert(off == size);
	pfree(files);
	return seg;
}

/* Every file copied goes into the manifest, in copy order. */
static void
add_to_manifest(SbCopyQueue *q, SbManifest *m)
{
	m->checksums_verified = q->verify_checksums;
	for (uint32 i = 0; i < q->nfiles; i++)
	{
		SbCopyFile *f = &q->files[i];
		SbManifestFile mf;

		if (f->state == SB_COPY_GONE)
			continue;
		if (f->state != SB_COPY_DONE)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("a backup copy worker exited before it copied \"%s\"",
							queue_string(q, f->path_off))));
		memset(&mf, 0, sizeof(mf));
		mf.path = (char *) queue_string(q, f->path_off);
		mf.size = f->plain_size;
		mf.mtime = f->mtime;
		mf.mode = f->mode;
		memcpy(mf.sha256, f->sha256, sizeof(mf.sha256));
		mf.stored_size = f->stored_size;
		mf.checksum_failures = f->checksum_failures;
		if (!sb_manifest_add_file(m, &mf))
			elog(ERROR, "could not add \"%s\" to the manifest", mf.path);
		m->database_size += f->plain_size;
		m->stored_size += f->stored_size;
		m->checksum_failures += f->checksum_failures;
	}
}

void
sb_copy_files(SbStorage *st, const SbRepoConfig *cfg, SbManifest *m,
			  List *entries, XLogRecPtr start_lsn, int nworkers)
{
	dsm_segment *seg;
	SbCopyQueue *q;
	Copier		c;

	seg = build_queue(cfg, m->label, entries, start_lsn);
	q = dsm_segment_address(seg);
	active_queue = q;
	if (nworkers > 1 && q->nshared > 1)
		launch_workers(seg, Min(nworkers - 1, (int) q->nshared - 1));

	memset(&c, 0, sizeof(c));
	c.q = q;
	c.st = st;
	c.leader = true;
	copy_loop(&c);
	wait_for_workers(q);

	/* every other file is in: pg_control last */
	copy_one(&c, q->nfiles - 1);
	publish_progress(q);
	add_to_manifest(q, m);

	active_queue = NULL;
	nhandles = 0;
	dsm_detach(seg);
}
