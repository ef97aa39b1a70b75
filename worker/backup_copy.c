/*-------------------------------------------------------------------------
 *
 * backup_copy.c
 *		Copy the files of a base backup with several processes.
 *
 * One core compresses about 150 MB/s, far below what a disk reads, so the
 * backup worker (the leader) shares the files out to copy workers: dynamic
 * background workers, each with its own repository session, streaming files
 * through the codec exactly as the leader does.  The work queue is a dynamic
 * shared memory segment holding the file list, the longest to copy first
 * (backup_order.h), and an atomic index of the next file to take; each
 * copier writes what the manifest needs (sizes, checksum, failing pages)
 * into the file's slot, and adds the bytes it reads to counters the leader
 * publishes as the backup's progress.
 * The leader copies too, and copies global/pg_control itself after every
 * other file is done.
 *
 * Each copier also records the block sums of every file larger than one
 * block (block_sum.h) for the manifest, into a range of the leader's
 * temporary sums file (backup_sums.h, not the queue: they grow with the
 * database) sized from the file's size at the walk plus some room to grow;
 * a file that grew past that while it was copied gets no sums (a delta
 * restore then compares it as a whole).  The page lists of files taken by
 * their changed pages are in that file too.
 *
 * Files of a differential or incremental backup unchanged since its base
 * are referenced there instead of copied; on PostgreSQL 17 and later the
 * main forks of relations the WAL summaries can tell about are taken by
 * their changed pages only (copy_blocks below, block_map.h); and files an
 * interrupted attempt of the same backup already stored are reused once
 * their stored content verifies (backup_reuse.h has the rules).  The leader writes the list of
 * files stored so far (the resume list) now and then, and when the copy
 * fails, so that the next attempt knows what it may reuse.
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
#include <sys/stat.h>
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
#include "block_sum.h"
#include "backup_chain.h"
#include "codec.h"
#include "worker/backup_copy.h"
#include "worker/backup_order.h"
#include "worker/backup_reuse.h"
#include "worker/backup_sums.h"
#include "worker/backup_walk.h"
#include "worker/page_verify.h"
#include "worker/worker.h"

/* files at least this large are compressed on a thread of their own */
#define SB_COPY_OVERLAP_MIN		(4 * 1024 * 1024)
/* how many bytes of small files are asked of the disk ahead of the copiers */
#define SB_COPY_READ_AHEAD		((uint64) 64 * 1024 * 1024)

/* blocks of room for a file to grow while it is copied */
#define SB_COPY_SUMS_SLACK		64

/* inspect_chunk's offsets are block boundaries */
StaticAssertDecl(SB_CODEC_BUFSIZE % SB_BLOCK_SIZE == 0,
				 "the codec's chunk must be a whole number of blocks");

/* how long a failing leader waits for terminated copy workers to exit */
#define SB_COPY_STOP_WAIT_MS	30000

typedef enum SbCopyState
{
	SB_COPY_TODO = 0,
	SB_COPY_DONE,
	SB_COPY_GONE				/* dropped before we opened it */
} SbCopyState;

/* how often the leader rewrites the resume list while files are copied */
#define SB_RESUME_SAVE_MS	1000

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
	char		digest[SB_SHA256_HEX_LEN + 1];
	uint64		sums_off;		/* where its block sums go in the sums file */
	uint64		sums_cap;		/* room for this many sums there; 0: none */
	uint64		nblocks;		/* sums recorded, 0 when none */
	SbReuseCandidate cand;		/* what it may be taken from instead */
	int			outcome;		/* SbReuseKind it was finally taken as */
	/* block-level: the base entry's sums are in the sums file already */
	bool		block_mode;		/* may be taken by its changed pages */
	uint64		base_size;		/* the base entry's size */
	uint64		chunks_off;		/* page list in the sums file, room for
								 * chunks_cap */
	uint32		chunks_cap;
	uint32		nchunks;		/* the summaries' pages; then those stored */
	uint64		chunks_size;	/* bytes of the pages stored */
	uint64		small_before;	/* bytes of the files read ahead (see
								 * read_ahead_small) before it in the queue */
} SbCopyFile;

typedef struct SbCopyQueue
{
	pg_atomic_uint32 next;		/* index of the next file to hand out */
	pg_atomic_uint32 failed;	/* set once, by the first copier that fails */
	pg_atomic_uint64 bytes_done;
	pg_atomic_uint64 files_done;
	pg_atomic_uint64 checksum_failures;
	pg_atomic_uint64 files_referenced;
	pg_atomic_uint64 files_resumed;
	pg_atomic_uint64 files_blocks;	/* taken by their changed pages */
	pg_atomic_uint64 bytes_read;	/* from the data directory */
	pg_atomic_uint64 chunk_bytes;	/* plain bytes of the pages stored */
	uint64		generation;		/* sb_shared->backup_generation of the backup */
	int			max_rate;		/* safebackup.backup_max_rate, kB/s; 0: none */
	TimestampTz copy_start;		/* when copying began, for max_rate */
	SbRepoConfig cfg;			/* the leader's settings, for every copier */
	XLogRecPtr	start_lsn;
	bool		verify_checksums;
	int			checksum_failure;	/* SbChecksumFailure */
	int			large_read_flags;	/* SB_WRITE_SOURCE_DIRECT or 0 */
	char		label[SB_LABEL_LEN];
	int			write_flags;	/* SB_WRITE_REPLACE when resuming, else
								 * SB_WRITE_UNIQUE_NAME */
	slock_t		mutex;			/* protects the error fields */
	bool		has_error;
	int			error_code;		/* of the first failure */
	char		error[SB_LAST_ERROR_LEN];
	char		sums_path[MAXPGPATH];	/* the block sums (backup_sums.h) */
	pg_atomic_uint32 read_ahead_next;	/* the next file to read ahead */
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
	uint64	   *sums;			/* the current file's block sums, or NULL */
	uint64		sums_cap;
	bool		sums_lost;		/* the file outgrew sums_cap */
	uint64	   *sums_buf;		/* where they are made (palloc'd) */
	uint64		sums_buf_cap;
	int64		files;			/* copied by this copier */
	int64		bytes;
} Copier;

/* the leader's copy workers, while it copies */
static BackgroundWorkerHandle *handles[SB_BACKUP_WORKERS_MAX];
static int	nhandles = 0;
static SbCopyQueue *active_queue = NULL;

/* the leader's resume list: what it describes, and when it was written */
static const SbManifest *resume_of = NULL;
static SbStorage *resume_st = NULL;
static bool resume_enabled = false;
static TimestampTz resume_saved = 0;

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
 * With safebackup.backup_max_rate, wait until the bytes read by all copiers
 * together are within the rate since copying began.  The codec is under us,
 * so no ERROR: the reasons to stop are reported as an SbStatus.
 */
static SbStatus
throttle(SbCopyQueue *q, SbError *err)
{
	for (;;)
	{
		uint64		done = pg_atomic_read_u64(&q->bytes_done);
		TimestampTz due;
		long		wait_ms;
		int			rc;

		due = q->copy_start +
			(TimestampTz) ((double) done * USECS_PER_SEC / (q->max_rate * 1024.0));
		wait_ms = (long) ((due - GetCurrentTimestamp()) / 1000);
		if (wait_ms <= 0)
			return SB_OK;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
					   Min(wait_ms, 1000L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if ((rc & WL_POSTMASTER_DEATH) || must_stop(q) ||
			InterruptPending || pg_atomic_read_u32(&q->failed) != 0)
			return sb_error_set(err, SB_ERR_INTERNAL, "base backup stopped");
	}
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
	if (c->sums_cap > 0 &&
		!sb_block_sums_update(c->sums, c->sums_cap, SB_BLOCK_SIZE, buf, len,
							  offset))
		c->sums_lost = true;
	pg_atomic_fetch_add_u64(&q->bytes_done, len);
	pg_atomic_fetch_add_u64(&q->bytes_read, len);
	if (c->leader)
		publish_progress(q);
	if (must_stop(q))
		return sb_error_set(err, SB_ERR_INTERNAL, "base backup stopped");
	if (q->max_rate > 0)
		return throttle(q, err);
	return SB_OK;
}

/* Does the local file (read from its start) have the candidate's content? */
static bool
source_matches(Copier *c, int fd, const char *local, const SbReuseCandidate *cand)
{
	char		hex[SB_SHA256_HEX_LEN + 1];
	uint64		size;
	SbError		err;

	/*
	 * The same digest as the manifest's: of its kind (an older backup's is
	 * SHA-256), HMAC under an encrypted stanza's key
	 */
	if (sb_codec_ready(c->st, &err) != SB_OK ||
		sb_codec_digest_fd(c->st, sb_digest_kind_of(cand->digest), fd, local,
						   hex, &size, &err) != SB_OK)
		sb_report(ERROR, &err, "could not read a file to compare it with its base", NULL);
	if (lseek(fd, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not seek in file \"%s\": %m", local)));
	pg_atomic_fetch_add_u64(&c->q->bytes_read, size);
	return size == cand->size &&
		pg_strcasecmp(hex, cand->digest) == 0;
}

/*
 * Is the interrupted attempt's stored copy whole, with the content it was
 * listed with?  Nothing it left is trusted without this.
 */
static bool
stored_copy_verifies(Copier *c, const char *path, const SbReuseCandidate *cand)
{
	SbFilter   *sink = sb_filter_count_new(NULL);
	SbError		err;
	SbStatus	rc;

	if (sink == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	rc = sb_codec_fetch(c->st, path, c->q->cfg.compress_type, sink,
						cand->digest, cand->size, NULL, &err);
	sb_filter_free_chain(sink);
	if (rc != SB_OK && rc != SB_ERR_CORRUPT && rc != SB_ERR_NOT_FOUND)
		sb_report(ERROR, &err, "could not read a file of the interrupted backup", NULL);
	return rc == SB_OK;
}

/* Take the file as its candidate says, if it still holds; false: copy it. */
static bool
reuse_one(Copier *c, SbCopyFile *f, int fd, const char *local,
		  const char *path)
{
	SbCopyQueue *q = c->q;
	const SbReuseCandidate *cand = &f->cand;

	if (cand->kind == SB_REUSE_NONE)
		return false;
	if (cand->in_doubt && !source_matches(c, fd, local, cand))
		return false;
	if (cand->kind == SB_REUSE_RESUME && !stored_copy_verifies(c, path, cand))
		return false;
	f->plain_size = cand->size;
	f->stored_size = cand->stored_size;
	f->checksum_failures = cand->checksum_failures;
	memcpy(f->digest, cand->digest, sizeof(f->digest));
	f->outcome = cand->kind;
	pg_atomic_fetch_add_u64(cand->kind == SB_REUSE_BASE ?
							&q->files_referenced : &q->files_resumed, 1);
	pg_atomic_fetch_add_u64(&q->bytes_done, cand->size);
	return true;
}

#define PAGES_PER_BLOCK		(SB_BLOCK_SIZE / BLCKSZ)

StaticAssertDecl(SB_BLOCK_SIZE % BLCKSZ == 0,
				 "a block sum must cover whole pages");

/* Append [offset, offset + len) to ranges, merged with the last one. */
static void
add_range(SbRange *ranges, int *n, uint64 offset, uint64 len)
{
	if (*n > 0 && ranges[*n - 1].offset + ranges[*n - 1].len == offset)
		ranges[*n - 1].len += len;
	else if (*n == 0 || ranges[*n - 1].offset + ranges[*n - 1].len < offset)
	{
		ranges[*n].offset = offset;
		ranges[*n].len = len;
		(*n)++;
	}
}

/* The buffer in which c makes f's block sums (none when f has no room). */
static void
use_sums(Copier *c, const SbCopyFile *f)
{
	if (f->sums_cap > c->sums_buf_cap)
	{
		if (c->sums_buf != NULL)
			pfree(c->sums_buf);
		c->sums_buf = MemoryContextAllocHuge(TopMemoryContext,
											 sizeof(uint64) * f->sums_cap);
		c->sums_buf_cap = f->sums_cap;
	}
	c->sums = f->sums_cap > 0 ? c->sums_buf : NULL;
	c->sums_cap = f->sums_cap;
	c->sums_lost = false;
}

/*
 * Take a relation file by its changed pages, if it still qualifies: the
 * pages the WAL summaries name, plus every page the base did not have
 * (those the file grew by, which may have been extended without WAL).  The
 * SB_BLOCK_SIZE blocks holding them are read whole, for their block sums
 * and page checksums; only the pages are stored.  A file unchanged since
 * the base is referenced there; one that shrank (a truncation after the
 * backup started), is not made of whole pages, or changed mostly is
 * copied whole.  false: copy it whole.
 */
static bool
copy_blocks(Copier *c, SbCopyFile *f, int fd, const char *relpath,
			const char *path)
{
	SbCopyQueue *q = c->q;
	struct stat sst;
	uint64		size;
	uint64		npages;
	uint64		base_pages = f->base_size / BLCKSZ;
	uint32	   *pages;
	uint32		n = 0;
	uint64		read_bytes = 0;
	SbRange    *reads;
	SbRange    *emit;
	int			nreads = 0;
	int			nemit = 0;
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;

	if (!f->block_mode)
		return false;
	if (fstat(fd, &sst) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", relpath)));
	size = (uint64) sst.st_size;
	npages = size / BLCKSZ;
	if (size < f->base_size || size % BLCKSZ != 0 ||
		sb_block_count(size, SB_BLOCK_SIZE) > f->sums_cap ||
		npages - base_pages + f->nchunks > f->chunks_cap)
		return false;

	/* the summaries' pages (ascending) within the base, then the new ones */
	pages = palloc(sizeof(uint32) * Max(f->chunks_cap, 1));
	sb_backup_sums_read(q->sums_path, f->chunks_off, pages,
						sizeof(uint32) * f->nchunks);
	while (n < f->nchunks && pages[n] < base_pages)
		n++;
	for (uint64 p = base_pages; p < npages; p++)
		pages[n++] = (uint32) p;
	if (n == 0)
	{
		/* not one page changed: the base's entry stands (cand holds it) */
		pfree(pages);
		f->plain_size = f->cand.size;
		f->stored_size = f->cand.stored_size;
		f->checksum_failures = f->cand.checksum_failures;
		memcpy(f->digest, f->cand.digest, sizeof(f->digest));
		f->outcome = SB_REUSE_BASE;
		pg_atomic_fetch_add_u64(&q->files_referenced, 1);
		pg_atomic_fetch_add_u64(&q->bytes_done, size);
		return true;
	}

	/* the blocks to read, the pages to store */
	reads = palloc(sizeof(SbRange) * n);
	emit = palloc(sizeof(SbRange) * n);
	for (uint32 k = 0; k < n; k++)
	{
		uint64		b = pages[k] / PAGES_PER_BLOCK;
		uint64		from = b * SB_BLOCK_SIZE;

		add_range(reads, &nreads, from, Min((uint64) SB_BLOCK_SIZE, size - from));
		add_range(emit, &nemit, (uint64) pages[k] * BLCKSZ, BLCKSZ);
	}
	for (int k = 0; k < nreads; k++)
		read_bytes += reads[k].len;
	/* mostly changed: a whole copy is simpler to restore */
	if (read_bytes * 2 > size)
	{
		pfree(pages);
		pfree(reads);
		pfree(emit);
		return false;
	}
	sb_page_verify_init(&c->pv, relpath, q->verify_checksums, q->start_lsn);
	/* the base's sums are there: the blocks read replace theirs */
	use_sums(c, f);
	sb_backup_sums_read(q->sums_path, f->sums_off, c->sums,
						sizeof(uint64) * f->sums_cap);
	rc = sb_codec_store_fd_ranges(c->st, &q->cfg, fd, path,
								  SB_WRITE_DEFER_SYNC | q->write_flags,
								  reads, nreads, emit, nemit,
								  inspect_chunk, c, &res, &err);
	pfree(reads);
	pfree(emit);
	if (rc == SB_ERR_CONFLICT)
	{
		/* it shrank while we read it: WAL replay cuts it, copy what is there */
		pfree(pages);
		return false;
	}
	if (rc != SB_OK)
	{
		if (rc != SB_ERR_CORRUPT)
			check_stop(q);
		sb_report(ERROR, &err, "could not store backup file", NULL);
	}
	sb_backup_sums_write(q->sums_path, f->chunks_off, pages, sizeof(uint32) * n);
	pfree(pages);
	f->nchunks = n;
	f->chunks_size = res.plain_size;
	f->plain_size = size;
	f->stored_size = res.stored_size;
	f->checksum_failures = c->pv.failures;
	memcpy(f->digest, res.digest, sizeof(f->digest));
	f->nblocks = sb_block_count(size, SB_BLOCK_SIZE);
	sb_backup_sums_write(q->sums_path, f->sums_off, c->sums,
						 sizeof(uint64) * f->nblocks);
	f->outcome = SB_REUSE_BLOCKS;
	pg_atomic_fetch_add_u64(&q->files_blocks, 1);
	pg_atomic_fetch_add_u64(&q->chunk_bytes, res.plain_size);
	/* progress counts the file's size, as the total does */
	pg_atomic_fetch_add_u64(&q->bytes_done, size - read_bytes);
	c->files++;
	c->bytes += (int64) res.plain_size;
	return true;
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
	sb_backup_file_path(q->cfg.stanza, q->label, relpath, q->cfg.compress_type,
						path);
	if (copy_blocks(c, f, fd, relpath, path) ||
		reuse_one(c, f, fd, local, path))
	{
		close(fd);
		pg_write_barrier();
		f->state = SB_COPY_DONE;
		pg_atomic_fetch_add_u64(&q->files_done, 1);
		return;
	}
	sb_page_verify_init(&c->pv, relpath, q->verify_checksums, q->start_lsn);
	use_sums(c, f);
	/*
	 * Flushed all at once before the manifest (sb_storage_sync).  A large
	 * file is compressed and written by a thread of the codec while this
	 * process reads, verifies and digests the next part (SB_WRITE_OVERLAP:
	 * only where the driver allows it, and the thread runs only the codec
	 * and write(2), never PostgreSQL code, with every signal blocked).
	 * Seekable (lz4, zstd, unencrypted: SB_WRITE_SEEKABLE), so that a delta
	 * restore fetches only the frames holding the blocks it needs.
	 */
	rc = sb_codec_store_fd_inspect(c->st, &q->cfg, fd, path,
								   SB_WRITE_DEFER_SYNC | SB_WRITE_SEEKABLE |
								   q->write_flags |
								   (f->size >= SB_COPY_OVERLAP_MIN ?
									SB_WRITE_OVERLAP | q->large_read_flags : 0),
								   inspect_chunk, c, &res, &err);
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
	memcpy(f->digest, res.digest, sizeof(f->digest));
	f->outcome = SB_REUSE_NONE;
	f->nblocks = 0;
	if (res.plain_size > SB_BLOCK_SIZE && !c->sums_lost &&
		sb_block_count(res.plain_size, SB_BLOCK_SIZE) <= f->sums_cap)
		f->nblocks = sb_block_count(res.plain_size, SB_BLOCK_SIZE);
	sb_backup_sums_write(q->sums_path, f->sums_off, c->sums,
						 sizeof(uint64) * f->nblocks);
	pg_write_barrier();
	f->state = SB_COPY_DONE;
	pg_atomic_fetch_add_u64(&q->files_done, 1);
	c->files++;
	c->bytes += (int64) res.plain_size;
}

/*
 * Write the resume list: every file stored in this backup's directory so
 * far (copied or reused), under the attempt's start time.  force: now,
 * else at most every SB_RESUME_SAVE_MS.  A failure only costs the next
 * attempt some copying: logged, never raised.
 */
static void
save_resume_list(SbCopyQueue *q, bool force)
{
	TimestampTz now = GetCurrentTimestamp();
	SbManifest	r;
	SbError		err;
	bool		ok = true;

	if (!resume_enabled || resume_of == NULL ||
		(!force && !TimestampDifferenceExceeds(resume_saved, now, SB_RESUME_SAVE_MS)))
		return;
	resume_saved = now;
	sb_manifest_init(&r);
	strlcpy(r.label, resume_of->label, sizeof(r.label));
	strlcpy(r.type, resume_of->type, sizeof(r.type));
	strlcpy(r.start_lsn, resume_of->start_lsn, sizeof(r.start_lsn));
	strlcpy(r.stop_lsn, resume_of->start_lsn, sizeof(r.stop_lsn));
	r.timeline = resume_of->timeline;
	r.start_time = resume_of->start_time;
	r.system_identifier = resume_of->system_identifier;
	r.pg_version = resume_of->pg_version;
	r.compress_type = q->cfg.compress_type;
	pg_read_barrier();
	for (uint32 i = 0; i < q->nfiles && ok; i++)
	{
		SbCopyFile *f = &q->files[i];
		SbManifestFile mf;

		/* what only its chain makes whole is no resume material */
		if (f->state != SB_COPY_DONE || f->outcome == SB_REUSE_BASE ||
			f->outcome == SB_REUSE_BLOCKS)
			continue;
		memset(&mf, 0, sizeof(mf));
		mf.path = (char *) queue_string(q, f->path_off);
		mf.size = f->plain_size;
		mf.mtime = f->mtime;
		mf.mode = f->mode;
		memcpy(mf.digest, f->digest, sizeof(mf.digest));
		mf.stored_size = f->stored_size;
		mf.checksum_failures = f->checksum_failures;
		ok = sb_manifest_add_file(&r, &mf);
	}
	if (!ok)
		elog(LOG, "could not build the resume list of backup \"%s\"", r.label);
	else if (sb_backup_resume_save(resume_st, &q->cfg, &r, &err) != SB_OK)
	{
		sb_report(LOG, &err, "could not write the resume list of the backup", NULL);
		resume_enabled = false;
	}
	sb_manifest_free(&r);
}

/*
 * Is f one of the files read ahead?  Those a copier reads through the page
 * cache on its own thread, whole: under SB_COPY_OVERLAP_MIN, not empty,
 * not referenced or resumed (not read, or only checked), not taken by its
 * changed pages.
 */
static bool
read_ahead_wanted(const SbCopyFile *f)
{
	return f->size > 0 && f->size < SB_COPY_OVERLAP_MIN &&
		f->cand.kind == SB_REUSE_NONE && !f->block_mode;
}

/*
 * Ask the kernel to read the small files ahead (POSIX_FADV_WILLNEED starts
 * the reads and returns), up to SB_COPY_READ_AHEAD bytes of them past the
 * file just taken.  They come last in the queue, and each was read cold by
 * its copier, which then waited on the disk: a scale-200 backup ended with
 * both copiers at half a core for its last 0.3-0.5 s.  The first copier to
 * take a file asks for the first SB_COPY_READ_AHEAD bytes of them while
 * the large files are copied; each file taken after asks for what its
 * turn lets in.  Which copier asks for which file is settled by
 * read_ahead_next; a file that cannot be opened is left to its copier to
 * report.
 */
static void
read_ahead_small(SbCopyQueue *q, uint32 taken)
{
	uint64		limit = q->files[taken].small_before + SB_COPY_READ_AHEAD;

	for (;;)
	{
		uint32		j = pg_atomic_read_u32(&q->read_ahead_next);
		uint32		k = Max(j, taken + 1);	/* those up to taken: too late */
		SbCopyFile *f;
		int			fd;

		if (k >= q->nshared || q->files[k].small_before >= limit)
			return;
		f = &q->files[k];
		if (!pg_atomic_compare_exchange_u32(&q->read_ahead_next, &j, k + 1))
			continue;
		if (!read_ahead_wanted(f))
			continue;
		fd = open(queue_string(q, f->local_off), O_RDONLY | PG_BINARY | O_CLOEXEC);
		if (fd < 0)
			continue;
		(void) posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
		close(fd);
	}
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
		read_ahead_small(q, i);
		copy_one(c, i);
		if (c->leader)
		{
			publish_progress(q);
			save_resume_list(q, false);
		}
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
		save_resume_list(q, false);
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

/* What build_queue found for a file that may be taken by its chunks. */
typedef struct BlockPlan
{
	const SbManifestFile *be;	/* the base's entry; NULL: file level */
	uint32		npages;			/* the summaries' pages within the base */
	uint32		cap;			/* room for the pages stored */
} BlockPlan;

/*
 * Can e be taken by its changed chunks?  It must be a relation's main fork
 * the summaries can tell about, larger than one chunk, not smaller than in
 * the base, whose base entry has the sums of every chunk.
 */
static void
plan_blocks(const SbReuseSources *reuse, const SbWalkEntry *e, BlockPlan *p)
{
	const SbManifestFile *be;

	memset(p, 0, sizeof(*p));
	/* its layers, if any, count in pages of this cluster's size */
	if (reuse->blocks == NULL || e->size <= SB_BLOCK_SIZE ||
		reuse->base->block_size != SB_BLOCK_SIZE ||
		(reuse->base->chunk_size != 0 && reuse->base->chunk_size != BLCKSZ))
		return;
	be = sb_reuse_base_entry(reuse, e->path);
	if (be == NULL || be->nblocks == 0 ||
		be->nblocks != sb_block_count(be->size, SB_BLOCK_SIZE) ||
		be->size % BLCKSZ != 0 || e->size < be->size)
		return;
	/* the summaries' pages within the base, and every page after it */
	if (sb_block_map_lookup(reuse->blocks, e->path,
							(uint32) (be->size / BLCKSZ), &p->npages))
	{
		uint64		room = (sb_block_count(e->size, SB_BLOCK_SIZE) +
							SB_COPY_SUMS_SLACK) * PAGES_PER_BLOCK;

		p->be = be;
		p->cap = p->npages + (uint32) (room - be->size / BLCKSZ);
	}
}

/* The block sums of be, an entry of the base manifest, into sums. */
static void
base_sums(const SbReuseSources *reuse, const SbManifestFile *be, uint64 *sums)
{
	SbError		err;

	if (sb_manifest_file_sums(reuse->base, be, (uint64_t *) sums, &err) != SB_OK)
		sb_report(ERROR, &err, "could not read the block sums of the base backup", NULL);
}

/*
 * A file to take by chunks: its list of the summaries' chunks, the base's
 * sums in its sums array, and the base entry (in cand, as SB_REUSE_NONE:
 * the file-level rules do not apply) for when nothing changed.
 */
static void
plan_to_queue(SbCopyQueue *q, SbCopyFile *f, const SbReuseSources *reuse,
			  const BlockPlan *p, const char *relpath, uint64 *side_off)
{
	const SbManifestFile *be = p->be;
	uint64	   *sums = palloc(sizeof(uint64) * be->nblocks);
	uint32	   *pages = palloc(sizeof(uint32) * Max(p->npages, 1));

	Assert(f->sums_cap > 0 && be->nblocks <= f->sums_cap);
	f->block_mode = true;
	f->base_size = be->size;
	f->chunks_off = *side_off;
	f->chunks_cap = p->cap;
	*side_off += TYPEALIGN(sizeof(uint64), sizeof(uint32) * (uint64) p->cap);
	f->nchunks = p->npages;
	sb_block_map_pages(reuse->blocks, relpath, (uint32) (be->size / BLCKSZ),
					   pages);
	sb_backup_sums_write(q->sums_path, f->chunks_off, pages,
						 sizeof(uint32) * p->npages);
	pfree(pages);
	base_sums(reuse, be, sums);
	sb_backup_sums_write(q->sums_path, f->sums_off, sums,
						 sizeof(uint64) * be->nblocks);
	pfree(sums);
	memset(&f->cand, 0, sizeof(f->cand));
	memcpy(f->cand.digest, be->digest, sizeof(f->cand.digest));
	f->cand.size = be->size;
	f->cand.stored_size = be->stored_size;
	f->cand.checksum_failures = be->checksum_failures;
	sb_reuse_holder(reuse, be, f->cand.ref_label, &f->cand.ref_compress);
}

/* Build the queue: the longest files to copy first, the last entry at the end. */
static dsm_segment *
build_queue(SbStorage *st, const SbRepoConfig *cfg, const char *label,
			List *entries, XLogRecPtr start_lsn, const SbReuseSources *reuse)
{
	SbWalkEntry **files;
	int			nfiles = 0;
	Size		size;
	Size		off;
	uint64		side_off;
	dsm_segment *seg;
	SbCopyQueue *q;
	ListCell   *lc;
	BlockPlan  *plans;
	uint64		small_bytes = 0;

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
	/*
	 * every file but the last (global/pg_control), the longest first; in a
	 * backup with a base most large files are referenced or taken by their
	 * changed pages, so compressing samples of them tells nothing
	 */
	sb_backup_order(files, nfiles - 1, cfg, reuse->base == NULL);
	/* files taken by chunks get a chunk list as long as their sums array */
	plans = palloc0(sizeof(BlockPlan) * nfiles);
	for (int i = 0; i < nfiles - 1; i++)
		plan_blocks(reuse, files[i], &plans[i]);

	seg = dsm_create(size, 0);
	dsm_pin_mapping(seg);
	q = dsm_segment_address(seg);
	memset(q, 0, offsetof(SbCopyQueue, files));
	pg_atomic_init_u32(&q->next, 0);
	pg_atomic_init_u32(&q->failed, 0);
	pg_atomic_init_u32(&q->read_ahead_next, 0);
	pg_atomic_init_u64(&q->bytes_done, 0);
	pg_atomic_init_u64(&q->files_done, 0);
	pg_atomic_init_u64(&q->checksum_failures, 0);
	pg_atomic_init_u64(&q->files_referenced, 0);
	pg_atomic_init_u64(&q->files_resumed, 0);
	pg_atomic_init_u64(&q->files_blocks, 0);
	pg_atomic_init_u64(&q->bytes_read, 0);
	pg_atomic_init_u64(&q->chunk_bytes, 0);
	SpinLockInit(&q->mutex);
	LWLockAcquire(sb_shared->lock, LW_SHARED);
	q->generation = sb_shared->backup_generation;
	LWLockRelease(sb_shared->lock);
	q->cfg = *cfg;
	q->max_rate = sb_backup_max_rate;
	q->copy_start = GetCurrentTimestamp();
	q->start_lsn = start_lsn;
	q->verify_checksums = DataChecksumsEnabled();
	q->checksum_failure = sb_checksum_failure;
	q->large_read_flags = sb_backup_read == SB_BACKUP_READ_DIRECT ?
		SB_WRITE_SOURCE_DIRECT : 0;
	strlcpy(q->label, label, sizeof(q->label));
	/*
	 * A new backup's files are its own, below its label; their digests of
	 * the kind of the stanza (the copiers' sessions never load it)
	 */
	q->write_flags = (reuse->resume != NULL ? SB_WRITE_REPLACE : SB_WRITE_UNIQUE_NAME) |
		sb_codec_digest_flag(st, cfg->stanza) |
		/* the manifest's digests and block sums check their content */
		SB_WRITE_NO_FRAME_CHECKSUM;
	q->nfiles = nfiles;
	q->nshared = nfiles - 1;

	/*
	 * The block sums and chunk lists go to a file, each file's after the
	 * one before; the strings after the files
	 */
	sb_backup_sums_create(seg, q->sums_path);
	side_off = 0;
	off = offsetof(SbCopyQueue, files) + sizeof(SbCopyFile) * nfiles;
	for (int i = 0; i < nfiles; i++)
	{
		SbCopyFile *f = &q->files[i];

		memset(f, 0, sizeof(*f));
		f->small_before = small_bytes;
		if (files[i]->size > SB_BLOCK_SIZE)
		{
			f->sums_off = side_off;
			f->sums_cap = sb_block_count(files[i]->size, SB_BLOCK_SIZE) +
				SB_COPY_SUMS_SLACK;
			side_off += sizeof(uint64) * f->sums_cap;
		}
		f->size = files[i]->size;
		f->mtime = files[i]->mtime;
		f->mode = files[i]->mode;
		/* pg_control, copied last, is always copied */
		if (plans[i].be != NULL)
			plan_to_queue(q, f, reuse, &plans[i], files[i]->path, &side_off);
		else if (i < nfiles - 1)
			sb_reuse_lookup(reuse, files[i]->path, files[i]->size,
							files[i]->mtime, &f->cand);
		if (read_ahead_wanted(f))
			small_bytes += f->size;
		f->path_off = off;
		strcpy((char *) q + off, files[i]->path);
		off += strlen(files[i]->path) + 1;
		f->local_off = off;
		strcpy((char *) q + off, files[i]->local_path);
		off += strlen(files[i]->local_path) + 1;
	}
	Assert(off == size);
	pfree(files);
	pfree(plans);
	return seg;
}

/*
 * A file referenced in the base keeps what the base's entry has besides
 * its content: its block sums (read into a palloc'd array, returned for
 * the caller to free once sb_manifest_add_file copied them) and, for a
 * block-incremental entry, its chunks and parts (shallow:
 * sb_manifest_add_file copies them).
 */
static uint64 *
inherit_entry(SbManifest *m, const SbReuseSources *reuse, SbManifestFile *mf)
{
	const SbManifestFile *be = sb_reuse_base_entry(reuse, mf->path);
	uint64	   *sums;

	if (be == NULL || reuse->base->block_size != SB_BLOCK_SIZE ||
		be->nblocks == 0 || be->nblocks != sb_block_count(mf->size, SB_BLOCK_SIZE))
		return NULL;
	sums = palloc(sizeof(uint64) * be->nblocks);
	base_sums(reuse, be, sums);
	mf->nblocks = be->nblocks;
	mf->block_sums = sums;
	m->block_size = SB_BLOCK_SIZE;
	mf->nchunks = be->nchunks;
	mf->chunks = be->chunks;
	mf->chunks_size = be->chunks_size;
	mf->nparts = be->nparts;
	mf->parts = be->parts;
	if (be->nchunks > 0)
		m->chunk_size = reuse->base->chunk_size;
	return sums;
}

/* Every file copied goes into the manifest, in copy order. */
static void
add_to_manifest(SbCopyQueue *q, SbManifest *m, const SbReuseSources *reuse)
{
	uint64	   *sums = palloc(sizeof(uint64));
	uint64		sums_cap = 1;
	SbError		err;

	m->checksums_verified = q->verify_checksums;
	for (uint32 i = 0; i < q->nfiles; i++)
	{
		SbCopyFile *f = &q->files[i];
		SbManifestFile mf;
		uint64	   *inherited = NULL;
		uint32	   *chunks = NULL;

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
		memcpy(mf.digest, f->digest, sizeof(mf.digest));
		mf.stored_size = f->stored_size;
		mf.checksum_failures = f->checksum_failures;
		if (f->nblocks > 0)
		{
			sums = f->nblocks > sums_cap ?
				repalloc_huge(sums, sizeof(uint64) * f->nblocks) : sums;
			sums_cap = Max(sums_cap, f->nblocks);
			sb_backup_sums_read(q->sums_path, f->sums_off, sums,
								sizeof(uint64) * f->nblocks);
			mf.nblocks = f->nblocks;
			mf.block_sums = (uint64_t *) sums;
			m->block_size = SB_BLOCK_SIZE;
		}
		if (f->outcome == SB_REUSE_BASE)
		{
			strlcpy(mf.ref_label, f->cand.ref_label, sizeof(mf.ref_label));
			mf.ref_compress = (SbCompressType) f->cand.ref_compress;
			inherited = inherit_entry(m, reuse, &mf);
		}
		if (f->outcome == SB_REUSE_BLOCKS)
		{
			/* its chunks, over the layers of its base entry */
			chunks = palloc(sizeof(uint32) * Max(f->nchunks, 1));
			sb_backup_sums_read(q->sums_path, f->chunks_off, chunks,
								sizeof(uint32) * f->nchunks);
			mf.nchunks = f->nchunks;
			mf.chunks = chunks;
			mf.chunks_size = f->chunks_size;
			m->chunk_size = BLCKSZ;
			if (!sb_manifest_inherit_parts(&mf, reuse->base,
										   sb_reuse_base_entry(reuse, mf.path)))
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			m->block_incremental_files++;
		}
		if (sb_manifest_add(m, &mf, &err) != SB_OK)
			sb_report(ERROR, &err, "could not add a file to the backup manifest", NULL);
		if (inherited != NULL)
			pfree(inherited);
		if (f->outcome == SB_REUSE_BLOCKS)
		{
			/* the parts were made for mf; its chunks are ours */
			mf.chunks = NULL;
			sb_manifest_file_free_layers(&mf);
			pfree(chunks);
		}
		m->database_size += f->plain_size;
		/* what this backup stored: not what its base holds */
		if (f->outcome != SB_REUSE_BASE)
			m->stored_size += f->stored_size;
		m->checksum_failures += f->checksum_failures;
	}
	pfree(sums);
}

void
sb_copy_files(SbStorage *st, const SbRepoConfig *cfg, SbManifest *m,
			  List *entries, XLogRecPtr start_lsn, int nworkers,
			  const SbReuseSources *reuse, SbCopyCounts *counts)
{
	dsm_segment *seg;
	SbCopyQueue *q;
	Copier		c;

	seg = build_queue(st, cfg, m->label, entries, start_lsn, reuse);
	q = dsm_segment_address(seg);
	active_queue = q;
	resume_of = m;
	resume_st = st;
	resume_saved = GetCurrentTimestamp();
	/* an append-only repository cannot have a list that is rewritten */
	resume_enabled = sb_storage_mode(st) != SB_REPO_MODE_APPEND;
	if (nworkers > 1 && q->nshared > 1)
		launch_workers(seg, Min(nworkers - 1, (int) q->nshared - 1));

	memset(&c, 0, sizeof(c));
	c.q = q;
	c.st = st;
	c.leader = true;
	PG_TRY();
	{
		copy_loop(&c);
		wait_for_workers(q);
	}
	PG_CATCH();
	{
		/* what the copiers finished stays usable by the next attempt */
		HOLD_INTERRUPTS();
		save_resume_list(q, true);
		RESUME_INTERRUPTS();
		resume_of = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	/* all but pg_control stored: what a crash while waiting for WAL keeps */
	save_resume_list(q, true);
	resume_of = NULL;

	/* every other file is in: pg_control last */
	copy_one(&c, q->nfiles - 1);
	publish_progress(q);
	add_to_manifest(q, m, reuse);
	counts->referenced = pg_atomic_read_u64(&q->files_referenced);
	counts->resumed = pg_atomic_read_u64(&q->files_resumed);
	counts->blocks = pg_atomic_read_u64(&q->files_blocks);
	counts->bytes_read = pg_atomic_read_u64(&q->bytes_read);
	counts->chunk_bytes = pg_atomic_read_u64(&q->chunk_bytes);
	counts->copied = q->nfiles - counts->referenced - counts->resumed -
		counts->blocks;

	active_queue = NULL;
	nhandles = 0;
	dsm_detach(seg);
}
