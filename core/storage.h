/*-------------------------------------------------------------------------
 *
 * storage.h
 *		The one storage interface every repository driver implements.
 *
 * Paths given to a driver are relative to the repository root, use '/'
 * separators, and never contain "..", empty components or NUL; the entry
 * points in transport/storage.c check that before calling a driver, so
 * drivers may trust them.
 *
 * Writes are atomic and durable: data goes to a temporary name, is flushed
 * to stable storage, and only then appears under its final name (rename or
 * link, then the directory is flushed).  Unless SB_WRITE_REPLACE is given,
 * committing fails with SB_ERR_EXISTS when the final name already exists and
 * the existing file is left untouched.
 *
 * Every function returns SB_OK or an error status with err filled in.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_STORAGE_H
#define SB_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_config.h"
#include "sb_error.h"
#include "settings.h"

typedef struct SbStorage SbStorage;
typedef struct SbWriter SbWriter;
typedef struct SbReader SbReader;

typedef struct SbStat
{
	bool		is_dir;
	uint64_t	size;
	int64_t		mtime;			/* seconds since the epoch */
} SbStat;

/* Write flags */
#define SB_WRITE_REPLACE	0x01	/* an existing final file may be replaced */
/*
 * The file may be published before it is flushed: the caller makes every
 * such file durable at once with sb_storage_sync() before anything that
 * depends on them (a backup's manifest).  Drivers that cannot defer flush
 * each file as usual.
 */
#define SB_WRITE_DEFER_SYNC	0x02
/*
 * For the codec only (never passed to a driver): compress and write on a
 * thread of its own while the caller reads and digests the next part, when
 * the driver's writes may run on another thread (SB_CAP_WRITE_ANY_THREAD).  See sb_codec_store_fd_inspect.
 */
#define SB_WRITE_OVERLAP	0x04
/*
 * The final name says what the content is (it carries its digest): a file
 * already there under it holds the same data.  A driver that would have
 * to look for one before publishing (S3) may skip looking; the commit
 * then fails with SB_ERR_EXISTS or replaces the file with equal content.
 */
#define SB_WRITE_NAMED_BY_CONTENT	0x08
/*
 * No other writer uses this name: it is in a directory the caller made for
 * its own files (a new backup's label), so a driver that would look for
 * an existing file first (S3) may skip looking.
 */
#define SB_WRITE_UNIQUE_NAME	0x10
/*
 * For the codec only (never passed to a driver): digest the content with
 * XXH3-128 instead of SHA-256 (SbDigestKind; an encrypted stanza uses
 * HMAC-SHA256 whatever this says).
 */
#define SB_WRITE_DIGEST_XXH128	0x20
/*
 * For the codec only (never passed to a driver): store the file seekable,
 * lz4 and zstd ending their frame every SB_SEEK_FRAME_SIZE plain bytes
 * and appending a seek table (codec.h, sb_codec_fetch_range).  Ignored
 * where it cannot be: zlib, an encrypted stanza, a file stored by ranges.
 */
#define SB_WRITE_SEEKABLE	0x40
/*
 * For the codec only (never passed to a driver): read the source file past
 * the page cache, several parts at once (core/read_direct.c), when the
 * pipe has a writer thread (SB_WRITE_OVERLAP) and the file system allows;
 * else through the page cache.  For large files read once (a backup's),
 * not for files just written (WAL), which are in the cache.
 */
#define SB_WRITE_SOURCE_DIRECT	0x80
/*
 * For the codec only (never passed to a driver): lz4 and zstd frames
 * without the checksum of their content, for a file whose reader checks
 * its content otherwise (a backup's files: the digest and block sums its
 * manifest records).  That checksum (XXH64, computed again by every
 * decoder) took 6% of a backup's CPU time and 11% of a restore's.
 */
#define SB_WRITE_NO_FRAME_CHECKSUM	0x100

/* List flags */
#define SB_LIST_TEMP		0x01	/* also list temporary files (see below) */

/*
 * Callback for list(): called once per entry (not "." or ".."), in no
 * particular order.  Return true to continue, false to stop early.
 */
typedef bool (*SbListFn) (const char *name, const SbStat *st, void *arg);

/*
 * What this client may do to committed files (README "Append-only
 * repositories").  APPEND: create new files, read and list, but never replace
 * or remove a committed file; ADMIN: also replace and remove; UNKNOWN: the
 * driver cannot tell without trying (SFTP: the server's request filter is
 * invisible to the client).
 */
typedef enum SbRepoMode
{
	SB_REPO_MODE_UNKNOWN = 0,
	SB_REPO_MODE_ADMIN,
	SB_REPO_MODE_APPEND
} SbRepoMode;

/*
 * Wait for a socket to become ready, used by network drivers.  The server
 * module supplies one built on WaitLatchOrSocket() so that shutdown and
 * reload requests are never stuck behind a dead connection; the CLI uses
 * poll().  Returns SB_OK when ready, SB_ERR_NETWORK with err set on timeout
 * or when the process was asked to stop.
 */
typedef SbStatus (*SbWaitFn) (int fd, bool for_read, bool for_write,
							  int timeout_ms, void *arg, SbError *err);

/*
 * Capabilities: what a driver's storage does, so that callers ask for a
 * capability instead of comparing driver names (sb_storage_has).
 */
/* a commit publishes the file by renaming it (temporary name, then final) */
#define SB_CAP_ATOMIC_RENAME	0x0001
/* directories exist of their own (an empty one can be listed) */
#define SB_CAP_DIRECTORIES		0x0002
/*
 * a server enforces this client's right (append-only or admin) and tells
 * it when the session opens: sb_storage_mode() is known only once opened
 */
#define SB_CAP_SERVER_MODE		0x0004
/* a published file is durable only once its directory is flushed too */
#define SB_CAP_DIR_FSYNC		0x0008
/* the files are on a filesystem of this host */
#define SB_CAP_LOCAL			0x0010
/*
 * write() may be called from a thread other than the one that opened the
 * writer: it never waits through the backend's SbWaitFn (which uses the
 * latch) or touches anything per process (posix: plain write(2); network
 * drivers wait, so not them)
 */
#define SB_CAP_WRITE_ANY_THREAD	0x0020

typedef struct SbStorageOps
{
	const char *name;
	unsigned	caps;			/* SB_CAP_* */

	/* Connect or check the repository root.  Idempotent. */
	SbStatus	(*open) (SbStorage *st, SbError *err);
	/* Drop the connection; the storage may be opened again. */
	void		(*close) (SbStorage *st);

	SbStatus	(*write_open) (SbStorage *st, const char *path, int flags,
							   SbWriter **w, SbError *err);
	SbStatus	(*write) (SbWriter *w, const void *buf, size_t len, SbError *err);
	/* Make durable and publish under the final name; frees w in any case. */
	SbStatus	(*write_commit) (SbWriter *w, SbError *err);
	/* Discard the temporary file; frees w. */
	void		(*write_abort) (SbWriter *w);

	/*
	 * Optional, NULL when the driver cannot: make commit publish w under
	 * path instead of the name given to write_open (path is in the same
	 * directory).  So a file whose name depends on its content (a digest)
	 * is written in one pass: opened under a provisional name, named once
	 * its last byte is known.  On failure w is still open, to commit or
	 * abort as before.
	 */
	SbStatus	(*write_rename) (SbStorage *st, SbWriter *w, const char *path,
								 SbError *err);
	/*
	 * 0, or the most bytes a writer may have been given and still be
	 * renamed (a driver that sends a large file in parts as it goes).
	 */
	uint64_t	write_rename_limit;

	SbStatus	(*read_open) (SbStorage *st, const char *path, SbReader **r,
							  SbError *err);
	/* Read up to len bytes; *nread == 0 means end of file. */
	SbStatus	(*read) (SbReader *r, void *buf, size_t len, size_t *nread,
						 SbError *err);
	void		(*read_close) (SbReader *r);
	/*
	 * Optional: open path for reading from byte offset on (an offset at or
	 * past the end reads nothing).  The caller will read at most len bytes
	 * (UINT64_MAX: to the end), so a driver may ask its server for only
	 * those; reads may still go on past them.  NULL:
	 * sb_storage_read_open_at reads and discards up to offset.
	 */
	SbStatus	(*read_open_at) (SbStorage *st, const char *path,
								 uint64_t offset, uint64_t len, SbReader **r,
								 SbError *err);

	/*
	 * Optional: path will be read soon; start bringing it closer without
	 * waiting for it (posix: the page cache reads it ahead).  Failures
	 * are ignored: the read reports them.  Called from another thread
	 * than the one using the session, concurrently with it, so a driver
	 * implements it only where that is safe.  NULL: nothing to do.
	 */
	void		(*prefetch) (SbStorage *st, const char *path);

	/* SB_ERR_NOT_FOUND when the path does not exist. */
	SbStatus	(*stat) (SbStorage *st, const char *path, SbStat *out,
						 SbError *err);
	/*
	 * SB_ERR_NOT_FOUND when the directory does not exist.  Temporary files
	 * of writes in progress (or of writers that died) are left out unless
	 * flags has SB_LIST_TEMP.
	 */
	SbStatus	(*list) (SbStorage *st, const char *path, int flags, SbListFn fn,
						 void *arg, SbError *err);
	/*
	 * Optional: the entries of directory path whose names start with
	 * name_prefix (non-empty, no '/'), in one cheap request where listing
	 * the whole directory is not (an object store: S3's prefix query).
	 * SB_ERR_NOT_FOUND when nothing matched and the directory may be
	 * missing (a driver that cannot tell says so whenever nothing matched).
	 * NULL: list() filtered by sb_storage_list_prefix().
	 */
	SbStatus	(*list_prefix) (SbStorage *st, const char *path,
								const char *name_prefix, SbListFn fn,
								void *arg, SbError *err);
	/* Remove a file, or a directory and all it holds when recursive. */
	SbStatus	(*remove) (SbStorage *st, const char *path, bool recursive,
						   SbError *err);
	/* Create a directory and its missing parents; existing is fine. */
	SbStatus	(*mkdir) (SbStorage *st, const char *path, SbError *err);

	/*
	 * Optional: make durable every file this storage's filesystem holds
	 * that was committed with SB_WRITE_DEFER_SYNC (by any process).  NULL
	 * when the driver never defers.
	 */
	SbStatus	(*sync) (SbStorage *st, SbError *err);

	/* Free the driver's private state (after close). */
	void		(*destroy) (SbStorage *st);

	/*
	 * This client's right on the repository, once opened; NULL: the driver
	 * always has every right (posix).
	 */
	SbRepoMode	(*mode) (SbStorage *st);
} SbStorageOps;

struct SbStorage
{
	const SbStorageOps *ops;
	SbRepoConfig cfg;			/* copy of the settings it was created with */
	SbWaitFn	wait;			/* socket wait for network drivers */
	void	   *wait_arg;
	void	   *priv;			/* driver state */
	/* the stanza's unwrapped key when encrypted (see codec.h); wiped when freed */
	struct SbCipherKey *cipher;
	/* the stanza last loaded through it, and its format_version */
	char		stanza_loaded[SB_NAME_MAX];
	int			stanza_format;
};

/*
 * Create a storage for cfg->repo_type (not yet opened).  Returns SB_OK and
 * *out, or an error (unknown type, out of memory).
 */
extern SbStatus sb_storage_create(const SbRepoConfig *cfg, SbStorage **out,
								  SbError *err);
extern void sb_storage_free(SbStorage *st);

/* Checked entry points: validate the path, then call the driver. */
extern bool sb_path_valid(const char *path);
/* Temporary names drivers write to: "<final>.tmp.<pid>.<n>"; list() hides them. */
extern bool sb_storage_is_temp_name(const char *name);
extern SbStatus sb_storage_open(SbStorage *st, SbError *err);
extern void sb_storage_close(SbStorage *st);
extern SbStatus sb_storage_write_open(SbStorage *st, const char *path,
									  int flags, SbWriter **w, SbError *err);
extern SbStatus sb_storage_write(SbStorage *st, SbWriter *w, const void *buf,
								 size_t len, SbError *err);
extern SbStatus sb_storage_write_commit(SbStorage *st, SbWriter *w,
										SbError *err);
extern void sb_storage_write_abort(SbStorage *st, SbWriter *w);
/*
 * For drivers' write_rename: SB_OK when new_path is in the directory of
 * old_path (both repository paths), else SB_ERR_PERMISSION.
 */
extern SbStatus sb_storage_check_same_dir(const char *old_path,
										  const char *new_path, SbError *err);
/*
 * Can this storage's writers be renamed before commit (write_rename), after
 * at most size bytes were written to them?  (SB_SIZE_UNKNOWN: whatever the size.)
 */
#define SB_SIZE_UNKNOWN	UINT64_MAX
extern bool sb_storage_can_rename_writer(SbStorage *st, uint64_t size);
/* SB_ERR_INTERNAL when the driver cannot (check sb_storage_can_rename_writer). */
extern SbStatus sb_storage_write_rename(SbStorage *st, SbWriter *w,
										const char *path, SbError *err);
extern SbStatus sb_storage_read_open(SbStorage *st, const char *path,
									 SbReader **r, SbError *err);
extern SbStatus sb_storage_read(SbStorage *st, SbReader *r, void *buf,
								size_t len, size_t *nread, SbError *err);
/*
 * Open path for reading from byte offset on, where the caller reads at
 * most len bytes (UINT64_MAX: to the end; reads may give more): the
 * driver's ranged read, or reading and discarding up to offset where it
 * has none.  An offset at or past the end reads nothing.
 */
extern SbStatus sb_storage_read_open_at(SbStorage *st, const char *path,
										uint64_t offset, uint64_t len,
										SbReader **r, SbError *err);
/*
 * Read and drop up to offset bytes of r (fewer at the end of the file):
 * what sb_storage_read_open_at does for a driver without read_open_at,
 * for drivers that can seek only sometimes.
 */
extern SbStatus sb_storage_read_skip(SbStorage *st, SbReader *r,
									 uint64_t offset, SbError *err);
extern void sb_storage_read_close(SbStorage *st, SbReader *r);
/* The driver's prefetch (any thread), or nothing. */
extern void sb_storage_prefetch(SbStorage *st, const char *path);
extern bool sb_storage_can_prefetch(SbStorage *st);
extern SbStatus sb_storage_stat(SbStorage *st, const char *path, SbStat *out,
								SbError *err);
extern SbStatus sb_storage_list(SbStorage *st, const char *path, SbListFn fn,
								void *arg, SbError *err);
/* The same, with temporary files too (flags: SB_LIST_TEMP). */
extern SbStatus sb_storage_list_flags(SbStorage *st, const char *path, int flags,
									  SbListFn fn, void *arg, SbError *err);
/*
 * The entries of directory path whose names start with name_prefix.
 * SB_ERR_NOT_FOUND when the directory is missing, or, for drivers that
 * cannot tell that cheaply, when nothing matched.  For lookups on hot
 * paths (the stored copy of one WAL file), which must not cost a directory
 * listing on storages where that is a long answer.
 */
extern SbStatus sb_storage_list_prefix(SbStorage *st, const char *path,
									   const char *name_prefix, SbListFn fn,
									   void *arg, SbError *err);
extern SbStatus sb_storage_remove(SbStorage *st, const char *path,
								  bool recursive, SbError *err);
extern SbStatus sb_storage_mkdir(SbStorage *st, const char *path, SbError *err);
/* Flush what SB_WRITE_DEFER_SYNC left unflushed (SB_OK when nothing was). */
extern SbStatus sb_storage_sync(SbStorage *st, SbError *err);

/* This client's right on the (opened) repository, and its name for users. */
extern SbRepoMode sb_storage_mode(SbStorage *st);
extern const char *sb_repo_mode_name(SbRepoMode mode);

/* Convenience: write a whole small buffer / read a whole small file. */
extern SbStatus sb_storage_put(SbStorage *st, const char *path, int flags,
							   const void *buf, size_t len, SbError *err);
/* *buf is malloc'd and NUL-terminated (not counted in *len); max_len bounds it. */
extern SbStatus sb_storage_get(SbStorage *st, const char *path, size_t max_len,
							   char **buf, size_t *len, SbError *err);

/* Does this storage's driver have capability cap (SB_CAP_*)? */
extern bool sb_storage_has(SbStorage *st, unsigned cap);

/*
 * A storage driver: its operations and capabilities, and its settings
 * (core/settings.h says how a driver declares them).  The list of drivers
 * is transport/drivers.c; a driver's index in it is its SbRepoType.
 */
typedef struct SbDriver
{
	const char *name;			/* the value of repo_type */
	const SbStorageOps *ops;
	const char *title;			/* help heading of its settings */
	const SbSetting *settings;	/* its table, nsettings rows */
	int			nsettings;
	size_t		settings_size;	/* of its settings struct (its area) */
	const char *default_repo_path;	/* repo_path when empty; NULL: none */
	/* where a repository is, as a DBA writes it down; NULL: repo_path */
	void		(*location) (const SbRepoConfig *cfg, char *buf, size_t len);
} SbDriver;

extern int	sb_driver_count(void);
extern const SbDriver *sb_driver_at(int i);
/* The driver of cfg->repo_type (NULL: no such driver). */
extern const SbDriver *sb_driver_of(const SbRepoConfig *cfg);
/* Where cfg's repository is ("sftp://user@host:22/path"; a path). */
extern void sb_driver_location(const SbRepoConfig *cfg, char *buf, size_t len);
/* The driver's settings in cfg (its area): cast to its settings struct. */
extern void *sb_driver_settings(const SbRepoConfig *cfg, const SbDriver *d);
/*
 * This client's right on a repository of driver d before any session is
 * opened: true and *mode when the driver knows it without asking (posix:
 * admin; sftp: unknown for good), false when a server tells it on opening.
 */
extern bool sb_driver_mode_before_open(const SbDriver *d, SbRepoMode *mode);

/* Drivers (the list is transport/drivers.c) */
extern const SbDriver sb_posix_driver;
extern const SbDriver sb_sftp_driver;
extern const SbDriver sb_tls_driver;
extern const SbDriver sb_s3_driver;
extern const SbStorageOps sb_posix_ops;
extern const SbStorageOps sb_sftp_ops;
extern const SbStorageOps sb_tls_ops;
extern const SbStorageOps sb_s3_ops;

#endif							/* SB_STORAGE_H */
