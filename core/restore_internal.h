/*-------------------------------------------------------------------------
 *
 * restore_internal.h
 *		What the files of the restore share: the state of one restore and
 *		the steps sb_restore() runs; not part of the public API in restore.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_RESTORE_INTERNAL_H
#define SB_RESTORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "codec.h"
#include "file_io.h"
#include "restore.h"
#include "stanza.h"

/* room for a target directory joined with a relative path */
#define RESTORE_PATH_LEN		(2 * SB_PATH_MAX + 64)

/*
 * One piece of the jobs' work (restore_parallel.c): a whole file, or a
 * part of a large one (restore_parts.c)
 */
typedef struct RestoreItem
{
	int			file;			/* index into the manifest's files */
	bool		part;			/* a part: [offset, offset + len) of it */
	uint64_t	offset;
	uint64_t	len;			/* the file's size for a whole file */
} RestoreItem;

/* The state of one restore, shared by its steps */
typedef struct Restore
{
	SbStorage  *st;
	const SbRestoreOptions *o;
	SbManifest	m;
	char		target[SB_PATH_MAX];	/* target dir, no trailing '/' */
	char	   *ts_dirs;		/* final dir of each tablespace, SB_PATH_MAX each */

	SbRestoreProgressFn progress;
	void	   *progress_arg;
	uint64_t	bytes_total;
	uint64_t	bytes_done;
	int			files_total;
	int			files_done;
	struct timespec last_report;
	SbRestoreResult dummy_result;
	SbRestoreResult *result;

	/*
	 * Files are restored by o->jobs threads (restore_parallel.c): lock
	 * guards the progress counters, the result, next_file and failed.
	 */
	pthread_mutex_t lock;
	RestoreItem *order;			/* what to restore, largest first */
	int			norder;
	int			next_file;		/* next index into order */
	int			last_file;		/* and the last one not taken: the small
								 * files' job takes from there */
	bool		small_job;		/* there is one (restore_parallel.c) */
	int		   *parts_left;		/* per file of the manifest: its parts not
								 * yet written (NULL: no file is cut) */
	bool		failed;			/* a thread failed: the others stop */
	struct RestoreThread *first_failure;
	/* the repository read ahead of the jobs (restore_prefetch.c) */
	pthread_cond_t file_taken;	/* next_file or last_file moved on, or
								 * prefetch_stop */
	pthread_t	prefetch_thread;
	bool		prefetching;	/* prefetch_thread runs */
	bool		prefetch_stop;

	/* delta restore into an existing data directory (restore_delta.c) */
	bool		delta;
	SbStanzaInfo target_cluster;	/* the target's identity */
	const char **delta_files;	/* the backup's files and directories, sorted */
	int			ndelta_files;
	const char **delta_dirs;
	int			ndelta_dirs;
	int			delta_removed;	/* files the backup does not have, removed */
	/* the blocks the WAL touched since the backup (restore_delta_wal.c) */
	struct SbWalChanges *delta_changes;
	uint32_t	delta_blcksz;	/* the target's page size */
	uint32_t	delta_relseg_size;	/* and relation segment size, in pages */
	uint64_t	delta_wal_segsize;	/* its WAL segment size, and the segment */
	uint64_t	delta_wal_end_segno;	/* of its last checkpoint (0: unknown) */
	uint64_t	delta_recycle_segno;	/* the last name a segment was recycled to */
} Restore;

#define TS_DIR(r, i)	((r)->ts_dirs + (size_t) (i) * SB_PATH_MAX)

/* restore_fs.c: local file system helpers */
extern SbStatus sb_restore_join_path(char *out, const char *dir, const char *rel,
									 SbError *err);
extern SbStatus sb_restore_mkdir_p(const char *path, mode_t mode, SbError *err);
extern SbStatus sb_restore_fsync_path(const char *path, bool is_dir, SbError *err);
extern SbStatus sb_restore_fsync_parent(const char *path, SbError *err);
extern SbStatus sb_restore_check_empty_dir(const char *dir, const char *what,
										   bool check_pid, bool *exists,
										   SbError *err);
extern SbStatus sb_restore_write_local_file(const char *path, const char *data,
											size_t len, bool append,
											SbError *err);

/* restore_write.c: progress, tablespaces, directories and files */
extern void sb_restore_report_progress(Restore *r, bool force);
extern bool sb_restore_file_skipped(const Restore *r, const char *path);
extern SbStatus sb_restore_check_tablespaces(Restore *r, SbError *err);
extern SbStatus sb_restore_create_tablespaces(Restore *r, SbError *err);
extern SbStatus sb_restore_create_dirs(Restore *r, SbError *err);
extern SbStatus sb_restore_one_file(Restore *r, SbStorage *st,
									const SbManifestFile *f, SbError *err);
extern SbStatus sb_restore_write_tablespace_map(Restore *r, SbError *err);
extern SbStatus sb_restore_set_dir_modes(Restore *r, SbError *err);
/* a file's new local file (its parent created if need be), and its end */
extern SbStatus sb_restore_create_file(const char *full, int *fd, SbError *err);
/*
 * Give the file written into fd (status rc so far) its mode and mtime and
 * close it; a file left half written or half patched is removed.
 */
extern SbStatus sb_restore_finish_file(const SbManifestFile *f, int fd,
									   const char *full, SbStatus rc,
									   SbError *err);
/*
 * The sink writing len bytes into fd from its offset: direct for a large
 * file, else behind a writer thread; NULL when out of memory
 */
extern SbFilter *sb_restore_writer_new(int fd, uint64_t len);
/*
 * The progress filter in front of check (by_blocks) or of sink, the chain
 * a file's content goes through: it counts the bytes for the progress
 * report, refuses more than expected, stops when another job failed, and
 * tells a failed local write (sb_restore_progress_write_failed) from a
 * repository error.  Where sink, check (when by_blocks) or it could not be
 * made, NULL with err set, the filters freed, fd closed and the file full
 * removed (unless full is NULL).
 */
extern SbFilter *sb_restore_front_new(Restore *r, uint64_t expected,
									  SbFilter *sink, bool by_blocks,
									  SbFilter *check, int fd,
									  const char *full, SbError *err);
extern bool sb_restore_progress_write_failed(const SbFilter *f);

/* restore_parallel.c: every file of the manifest, by o->jobs threads */
extern SbStatus sb_restore_files(Restore *r, SbError *err);
/*
 * restore_parts.c: the jobs' list (r->order), large files cut into parts
 * when jobs > 1; a part restored; at the end, files whose parts were not
 * all written removed (after a failure) and the per-file counts freed.
 */
extern SbStatus sb_restore_plan(Restore *r, int jobs, SbError *err);
extern SbStatus sb_restore_one_part(Restore *r, SbStorage *st,
									const RestoreItem *it, bool *file_done,
									SbError *err);
extern void sb_restore_plan_end(Restore *r);
/*
 * restore_prefetch.c: start or stop the thread that asks the repository
 * for the files the jobs take next (under r->lock, next_file and
 * file_taken).  Start returns false when the storage has no prefetch, for
 * a delta restore, or when no thread could start.
 */
extern bool sb_restore_prefetch_start(Restore *r);
extern void sb_restore_prefetch_stop(Restore *r);

/* Has a thread failed (so the others should stop)? */
extern bool sb_restore_failed(Restore *r);
/* A second session on the restore's repository (sharing the key), and its end. */
extern SbStatus sb_restore_open_session(Restore *r, SbStorage **out,
										SbError *err);
extern void sb_restore_close_session(SbStorage *st);

/* restore_wal_source.c: WAL segments for the delta restore, fetched ahead */
typedef struct RestoreWalSource RestoreWalSource;
extern SbStatus sb_restore_wal_source_new(Restore *r, uint64_t segsize,
										  uint64_t end_lsn,
										  RestoreWalSource **out,
										  SbError *err);
/* an SbWalSegmentReader and its SbWalReadEnd (wal_changes.h) */
extern SbStatus sb_restore_wal_source_read(void *arg, const char *name,
										   size_t need,
										   const unsigned char **seg,
										   size_t *avail, SbError *err);
extern SbStatus sb_restore_wal_source_end(void *arg, SbError *err);
/* Free it; returns how many of the segments read came from the repository. */
extern uint64_t sb_restore_wal_source_free(RestoreWalSource *src);

/* restore_delta.c: delta restore */
extern SbStatus sb_restore_delta_check_target(Restore *r, bool *delta,
											  SbError *err);
extern SbStatus sb_restore_delta_check_cluster(Restore *r, SbError *err);
extern SbStatus sb_restore_delta_clean(Restore *r, SbError *err);
extern void sb_restore_delta_read_ahead(Restore *r);
typedef enum SbDeltaAction
{
	SB_DELTA_CREATE,			/* no usable local file: write it whole */
	SB_DELTA_KEEP,				/* the local file matches the backup */
	SB_DELTA_PATCH,				/* write the blocks that differ */
	SB_DELTA_PATCH_BLOCKS		/* compare only plan->blocks, write those
								 * that differ (restore_delta_blocks.c) */
} SbDeltaAction;

/* What sb_restore_delta_examine decided for one file. */
typedef struct SbDeltaPlan
{
	SbDeltaAction action;
	int			fd;				/* PATCH*: the local file, open read-write */
	uint64_t	local_size;		/* PATCH*: its size */
	uint32_t   *blocks;			/* PATCH_BLOCKS: SB_BLOCK_SIZE blocks, */
	uint32_t	nblocks;		/* ascending (malloc'd, the caller frees) */
	uint8_t    *differs;		/* per block: 1 when it surely differs */
} SbDeltaPlan;
extern void sb_restore_delta_plan_free(SbDeltaPlan *plan);
extern SbStatus sb_restore_delta_examine(Restore *r, SbStorage *st,
										 const SbManifestFile *f,
										 const char *full, SbDeltaPlan *plan,
										 SbError *err);

/* restore_delta_wal.c: the blocks the WAL touched since the backup */
extern SbStatus sb_restore_delta_wal(Restore *r, SbError *err);

/* restore_delta_blocks.c: compare and write only some blocks */
extern SbStatus sb_restore_patch_blocks(Restore *r, SbStorage *st,
										const SbManifestFile *f,
										const SbDeltaPlan *plan,
										const char *full,
										uint64_t *written, SbError *err);

/* restore_blocks.c: delta restore at block level */
extern SbFilter *sb_restore_patch_sink_new(int fd, const char *path,
										   uint64_t local_size);
extern uint64_t sb_restore_patch_sink_written(SbFilter *f);
/*
 * Verify a file's stream against its block sums (when it has them); the
 * constructor returns NULL with err set when it cannot read them.
 */
extern bool sb_restore_can_check_blocks(const Restore *r,
										const SbManifestFile *f);
extern SbFilter *sb_restore_block_check_new(const Restore *r,
											const SbManifestFile *f,
											const char *repo_path,
											SbFilter *next, SbError *err);
/* the same for count blocks of f from block first on */
extern SbFilter *sb_restore_block_check_range_new(const Restore *r,
												  const SbManifestFile *f,
												  const char *repo_path,
												  uint64_t first,
												  uint64_t count,
												  SbFilter *next,
												  SbError *err);
extern SbStatus sb_restore_blocks_match(const Restore *r, int fd,
										const char *path,
										const SbManifestFile *f, bool *match,
										SbError *err);

/* restore_layers.c: a block-incremental file, rebuilt from its layers */
extern SbStatus sb_restore_layers(Restore *r, SbStorage *st,
								  const SbManifestFile *f, int fd,
								  const char *full, SbError *err);
/* restore_write.c: reword an error of fetching f (written: a local write failed) */
extern void sb_restore_file_error(Restore *r, const SbManifestFile *f,
								  const char *full, bool write_failed,
								  SbError *err);

/* restore_recovery.c: postgresql.auto.conf */
extern SbStatus sb_restore_write_recovery_conf(Restore *r, SbError *err);

#endif							/* SB_RESTORE_INTERNAL_H */
