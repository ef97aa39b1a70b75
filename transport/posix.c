/*-------------------------------------------------------------------------
 *
 * posix.c
 *		Storage driver for a repository in a local (or locally mounted)
 *		directory; see core/storage.h for the contract.
 *
 * The repository root is cfg.repo_path, an absolute directory path.  Paths
 * handed to the driver have already been checked by transport/storage.c and
 * are joined to the root as root + "/" + path.
 *
 * A file is written under a temporary name, "<final>.tmp.<pid>.<counter>",
 * in the same directory as its final name, created by core/temp_file.c
 * (never through a link planted there).  Commit flushes it, publishes it
 * with link() (which fails rather than replace an existing file) or, with
 * SB_WRITE_REPLACE, with rename(), and then flushes the directory.  list()
 * hides temporary files, so a half-written file is never visible.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "storage.h"
#include "fs_sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "temp_file.h"

/*
 * Room for a joined path: the root and the relative path are each shorter
 * than SB_PATH_MAX, plus the separator and the temporary-name suffix.
 */
#define POSIX_PATH_LEN		(2 * SB_PATH_MAX + 64)

#define POSIX_FILE_MODE		0640
#define POSIX_DIR_MODE		0750

/* Tries before giving up on finding an unused temporary name. */
#define POSIX_TMP_TRIES		100

typedef struct PosixStorage
{
	bool		opened;
	char		root[SB_PATH_MAX];	/* repo_path without trailing '/' */
} PosixStorage;

struct SbWriter
{
	int			fd;
	int			flags;
	uint64_t	written;		/* bytes written so far */
	uint64_t	flushing;		/* bytes whose writeback was started */
	char		relpath[SB_PATH_MAX];	/* for messages */
	char		final_path[POSIX_PATH_LEN];
	char		tmp_path[POSIX_PATH_LEN];
};

struct SbReader
{
	int			fd;
	char		path[POSIX_PATH_LEN];
};

/* Counter making temporary names unique within this process. */
static unsigned long posix_tmp_counter = 0;

static SbStatus posix_open(SbStorage *st, SbError *err);
static void posix_close(SbStorage *st);
static SbStatus posix_write_open(SbStorage *st, const char *path, int flags,
								 SbWriter **w, SbError *err);
static SbStatus posix_write(SbWriter *w, const void *buf, size_t len,
							SbError *err);
static SbStatus posix_write_commit(SbWriter *w, SbError *err);
static void posix_write_abort(SbWriter *w);
static SbStatus posix_write_rename(SbStorage *st, SbWriter *w,
								   const char *path, SbError *err);
static SbStatus posix_read_open(SbStorage *st, const char *path,
								SbReader **r, SbError *err);
static SbStatus posix_read(SbReader *r, void *buf, size_t len, size_t *nread,
						   SbError *err);
static void posix_read_close(SbReader *r);
static void posix_prefetch(SbStorage *st, const char *path);
static SbStatus posix_read_open_at(SbStorage *st, const char *path,
								   uint64_t offset, uint64_t len,
								   SbReader **r, SbError *err);
static SbStatus posix_stat(SbStorage *st, const char *path, SbStat *out,
						   SbError *err);
static SbStatus posix_list(SbStorage *st, const char *path, int flags,
						   SbListFn fn,
						   void *arg, SbError *err);
static SbStatus posix_remove(SbStorage *st, const char *path, bool recursive,
							 SbError *err);
static SbStatus posix_mkdir(SbStorage *st, const char *path, SbError *err);
static SbStatus posix_sync(SbStorage *st, SbError *err);
static void posix_destroy(SbStorage *st);

const SbStorageOps sb_posix_ops = {
	.name = "posix",
	.caps = SB_CAP_ATOMIC_RENAME | SB_CAP_DIRECTORIES | SB_CAP_DIR_FSYNC |
	SB_CAP_LOCAL | SB_CAP_WRITE_ANY_THREAD,
	.open = posix_open,
	.close = posix_close,
	.write_open = posix_write_open,
	.write = posix_write,
	.write_commit = posix_write_commit,
	.write_abort = posix_write_abort,
	.write_rename = posix_write_rename,
	.read_open = posix_read_open,
	.read = posix_read,
	.read_close = posix_read_close,
	.read_open_at = posix_read_open_at,
	.prefetch = posix_prefetch,
	.stat = posix_stat,
	.list = posix_list,
	.remove = posix_remove,
	.mkdir = posix_mkdir,
	.sync = posix_sync,
	.destroy = posix_destroy
};

/* A local or mounted directory: repo_path is all it needs. */
const SbDriver sb_posix_driver = {
	.name = "posix",
	.ops = &sb_posix_ops,
	.title = "Posix repository (--repo-type=posix)",
	.settings = NULL,
	.nsettings = 0,
	.settings_size = 0,
	.default_repo_path = NULL
};


/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/*
 * Check that the storage was opened, and build root + "/" + relpath into
 * buf (POSIX_PATH_LEN bytes).
 */
static SbStatus
posix_full_path(SbStorage *st, const char *relpath, char *buf, SbError *err)
{
	PosixStorage *ps = (PosixStorage *) st->priv;
	int			n;

	if (ps == NULL || !ps->opened)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"repository storage is not open");

	n = snprintf(buf, POSIX_PATH_LEN, "%s/%s", ps->root, relpath);
	if (n < 0 || n >= POSIX_PATH_LEN)
		return sb_error_errno(err, ENAMETOOLONG,
							  "could not access \"%s/%s\"", ps->root, relpath);
	return SB_OK;
}

/*
 * Copy the directory part of path into dir (POSIX_PATH_LEN bytes).  Our
 * paths always contain a '/', since the root is absolute.
 */
static void
posix_parent_dir(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else
	{
		size_t		len = (size_t) (slash - path);

		memcpy(dir, path, len);
		dir[len] = '\0';
	}
}

/*
 * Flush a directory so that entries created, renamed or removed in it are
 * durable.  As in PostgreSQL, EBADF and EINVAL from fsync() on a directory
 * are ignored: some file systems do not support it.
 */
static SbStatus
posix_fsync_dir(const char *dir, SbError *err)
{
	int			fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open directory \"%s\"",
							  dir);
	if (fsync(fd) != 0 && errno != EBADF && errno != EINVAL)
	{
		int			save_errno = errno;

		close(fd);
		return sb_error_errno(err, save_errno,
							  "could not fsync directory \"%s\"", dir);
	}
	if (close(fd) != 0)
		return sb_error_errno(err, errno, "could not close directory \"%s\"",
							  dir);
	return SB_OK;
}

static SbStatus
posix_fsync_parent(const char *path, SbError *err)
{
	char		dir[POSIX_PATH_LEN];

	posix_parent_dir(path, dir);
	return posix_fsync_dir(dir, err);
}


/* ---------------------------------------------------------------------
 * Open and close
 * ---------------------------------------------------------------------
 */

static SbStatus
posix_open(SbStorage *st, SbError *err)
{
	PosixStorage *ps = (PosixStorage *) st->priv;
	const char *repo_path = st->cfg.repo_path;
	struct stat sb;
	size_t		len;

	if (repo_path[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "repository path is not set");
		sb_error_hint(err, "Set safebackup.repo_path to an existing directory.");
		return SB_ERR_CONFIG;
	}
	if (repo_path[0] != '/')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "repository path \"%s\" is not an absolute path",
					 repo_path);
		sb_error_hint(err, "Set safebackup.repo_path to an absolute path.");
		return SB_ERR_CONFIG;
	}

	if (stat(repo_path, &sb) != 0)
	{
		SbStatus	rc;

		rc = sb_error_errno(err, errno,
							"could not access repository directory \"%s\"",
							repo_path);
		if (rc == SB_ERR_NOT_FOUND)
			sb_error_hint(err, "Create the directory, or set safebackup.repo_path to an existing directory.");
		return rc;
	}
	if (!S_ISDIR(sb.st_mode))
	{
		sb_error_set(err, SB_ERR_NOT_FOUND,
					 "repository path \"%s\" is not a directory", repo_path);
		sb_error_hint(err, "Create the directory, or set safebackup.repo_path to an existing directory.");
		return SB_ERR_NOT_FOUND;
	}

	if (ps == NULL)
	{
		ps = malloc(sizeof(PosixStorage));
		if (ps == NULL)
			return sb_error_oom(err);
		st->priv = ps;
	}

	/* keep the root without trailing slashes; "/" becomes "" */
	len = strlen(repo_path);
	while (len > 0 && repo_path[len - 1] == '/')
		len--;
	memcpy(ps->root, repo_path, len);
	ps->root[len] = '\0';
	ps->opened = true;

	return SB_OK;
}

static void
posix_close(SbStorage *st)
{
	PosixStorage *ps = (PosixStorage *) st->priv;

	if (ps != NULL)
		ps->opened = false;
}

/*
 * Flush the whole file system the repository is on: every file committed
 * with SB_WRITE_DEFER_SYNC, by this process or any other, with its
 * directory entry.
 */
static SbStatus
posix_sync(SbStorage *st, SbError *err)
{
	PosixStorage *ps = (PosixStorage *) st->priv;

	if (ps == NULL || !ps->opened)
		return sb_error_set(err, SB_ERR_INTERNAL, "repository storage is not open");
	return sb_sync_file_system(ps->root, err);
}

static void
posix_destroy(SbStorage *st)
{
	free(st->priv);
	st->priv = NULL;
}


/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

static SbStatus
posix_write_open(SbStorage *st, const char *path, int flags, SbWriter **wp,
				 SbError *err)
{
	SbWriter   *w;
	SbStatus	rc;
	pid_t		pid = getpid();
	int			tries;

	*wp = NULL;

	w = malloc(sizeof(SbWriter));
	if (w == NULL)
		return sb_error_oom(err);
	w->fd = -1;
	w->written = 0;
	w->flushing = 0;
	w->flags = flags;
	snprintf(w->relpath, sizeof(w->relpath), "%s", path);

	rc = posix_full_path(st, path, w->final_path, err);
	if (rc != SB_OK)
	{
		free(w);
		return rc;
	}

	for (tries = 0;; tries++)
	{
		int			n;

		n = snprintf(w->tmp_path, sizeof(w->tmp_path), "%s.tmp.%ld.%lu",
					 w->final_path, (long) pid, ++posix_tmp_counter);
		if (n < 0 || n >= (int) sizeof(w->tmp_path))
		{
			sb_error_errno(err, ENAMETOOLONG,
						   "could not create file \"%s\"", w->final_path);
			free(w);
			return err->status;
		}

		rc = sb_temp_file_create(w->tmp_path, POSIX_FILE_MODE, false,
								 &w->fd, err);
		if (rc == SB_OK)
			break;

		/* a stale file left by an earlier process with our pid: try again */
		if (rc == SB_ERR_EXISTS && tries < POSIX_TMP_TRIES)
			continue;

		free(w);
		return rc;
	}

	*wp = w;
	return SB_OK;
}

/*
 * A file whose flush is deferred (SB_WRITE_DEFER_SYNC) has its writeback
 * started every POSIX_FLUSH_AFTER bytes and when it is committed, without
 * waiting for it (sync_file_range(SYNC_FILE_RANGE_WRITE), as PostgreSQL's
 * *_flush_after settings do): the disk writes while the backup goes on, and
 * the one flush at the end (sb_storage_sync) finds little left to write.
 * Without it that syncfs() wrote a scale-200 backup's 139 MB after the copy
 * (62-79 ms of a 2.5 s backup), and on a larger backup it would wait for all
 * the kernel had not yet chosen to write back (up to dirty_background_ratio
 * of memory).  Only a hint: errors surface at the flush.
 */
#define POSIX_FLUSH_AFTER	(8 * 1024 * 1024)

static void
start_writeback(SbWriter *w, bool to_end)
{
	if (!(w->flags & SB_WRITE_DEFER_SYNC) || w->written == w->flushing)
		return;
	(void) sync_file_range(w->fd, (off_t) w->flushing,
						   to_end ? 0 : (off_t) (w->written - w->flushing),
						   SYNC_FILE_RANGE_WRITE);
	w->flushing = w->written;
}

static SbStatus
posix_write(SbWriter *w, const void *buf, size_t len, SbError *err)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n;

		n = write(w->fd, p, len);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return sb_error_errno(err, errno, "could not write to file \"%s\"",
								  w->tmp_path);
		}
		if (n == 0)
		{
			/* no progress and no errno: assume the disk is full */
			return sb_error_errno(err, ENOSPC,
								  "could not write to file \"%s\"",
								  w->tmp_path);
		}
		p += n;
		len -= (size_t) n;
		w->written += (uint64_t) n;
	}
	if (w->written - w->flushing >= POSIX_FLUSH_AFTER)
		start_writeback(w, false);
	return SB_OK;
}

/*
 * Flush, close and publish the temporary file.  The writer is freed in
 * every case, and on failure the temporary file is removed.
 */
static SbStatus
posix_write_commit(SbWriter *w, SbError *err)
{
	SbStatus	rc;
	int			fd = w->fd;

	start_writeback(w, true);
	w->fd = -1;

	if (!(w->flags & SB_WRITE_DEFER_SYNC) && fsync(fd) != 0)
	{
		sb_error_errno(err, errno, "could not fsync file \"%s\"", w->tmp_path);
		close(fd);
		goto fail;
	}
	if (close(fd) != 0)
	{
		sb_error_errno(err, errno, "could not close file \"%s\"", w->tmp_path);
		goto fail;
	}

	if (w->flags & SB_WRITE_REPLACE)
	{
		if (rename(w->tmp_path, w->final_path) != 0)
		{
			sb_error_errno(err, errno,
						   "could not rename file \"%s\" to \"%s\"",
						   w->tmp_path, w->final_path);
			goto fail;
		}
	}
	else
	{
		/* link() never replaces an existing name, unlike rename() */
		if (link(w->tmp_path, w->final_path) != 0)
		{
			if (errno == EEXIST)
				sb_error_set(err, SB_ERR_EXISTS,
							 "file \"%s\" already exists in the repository",
							 w->relpath);
			else
				sb_error_errno(err, errno,
							   "could not link file \"%s\" to \"%s\"",
							   w->tmp_path, w->final_path);
			goto fail;
		}
		if (unlink(w->tmp_path) != 0)
		{
			/* undo the publication, so that failure means nothing appeared */
			sb_error_errno(err, errno, "could not remove file \"%s\"",
						   w->tmp_path);
			(void) unlink(w->final_path);
			goto fail;
		}
	}

	/*
	 * The file is visible under its final name now; make that durable.  If
	 * this fails the file stays: it is complete, only its durability is in
	 * doubt, and the caller gets the error.
	 */
	rc = (w->flags & SB_WRITE_DEFER_SYNC) ? SB_OK :
		posix_fsync_parent(w->final_path, err);
	free(w);
	return rc;

fail:
	(void) unlink(w->tmp_path);
	free(w);
	return err->status;
}

/* The temporary file keeps its name; only the name commit links to changes. */
static SbStatus
posix_write_rename(SbStorage *st, SbWriter *w, const char *path, SbError *err)
{
	char		final_path[POSIX_PATH_LEN];
	SbStatus	rc;

	rc = sb_storage_check_same_dir(w->relpath, path, err);
	if (rc == SB_OK)
		rc = posix_full_path(st, path, final_path, err);
	if (rc != SB_OK)
		return rc;
	memcpy(w->final_path, final_path, sizeof(final_path));
	snprintf(w->relpath, sizeof(w->relpath), "%s", path);
	return SB_OK;
}

static void
posix_write_abort(SbWriter *w)
{
	if (w->fd >= 0)
		(void) close(w->fd);
	(void) unlink(w->tmp_path);
	free(w);
}


/* ---------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------
 */

static SbStatus
posix_read_open(SbStorage *st, const char *path, SbReader **rp, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;
	struct stat sb;

	*rp = NULL;

	r = malloc(sizeof(SbReader));
	if (r == NULL)
		return sb_error_oom(err);

	rc = posix_full_path(st, path, r->path, err);
	if (rc != SB_OK)
	{
		free(r);
		return rc;
	}

	r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
	{
		sb_error_errno(err, errno, "could not open file \"%s\"", r->path);
		free(r);
		return err->status;
	}

	/* opening a directory read-only succeeds; refuse it here */
	if (fstat(r->fd, &sb) != 0)
	{
		sb_error_errno(err, errno, "could not stat file \"%s\"", r->path);
		close(r->fd);
		free(r);
		return err->status;
	}
	if (S_ISDIR(sb.st_mode))
	{
		sb_error_errno(err, EISDIR, "could not open file \"%s\"", r->path);
		close(r->fd);
		free(r);
		return err->status;
	}

	*rp = r;
	return SB_OK;
}

static SbStatus
posix_read(SbReader *r, void *buf, size_t len, size_t *nread, SbError *err)
{
	ssize_t		n;

	*nread = 0;
	if (len == 0)
		return SB_OK;

	do
	{
		n = read(r->fd, buf, len);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
		return sb_error_errno(err, errno, "could not read file \"%s\"",
							  r->path);
	*nread = (size_t) n;
	return SB_OK;
}

/*
 * Ask the kernel to read the whole file into the page cache, without
 * waiting: posix_fadvise(WILLNEED) only starts the reads.  (Opening the
 * file may wait for its inode; that is the calling thread's wait.)  Only
 * reads the storage's settings: safe from any thread.
 */
static void
posix_prefetch(SbStorage *st, const char *path)
{
	char		full[POSIX_PATH_LEN];
	SbError		err;
	int			fd;

	if (posix_full_path(st, path, full, &err) != SB_OK)
		return;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
	close(fd);
}

/* The reader of posix_read_open, moved to offset (lseek: no read-ahead to drop). */
static SbStatus
posix_read_open_at(SbStorage *st, const char *path, uint64_t offset,
				   uint64_t len, SbReader **rp, SbError *err)
{
	SbStatus	rc;

	(void) len;
	rc = posix_read_open(st, path, rp, err);
	if (rc != SB_OK)
		return rc;
	if (offset > (uint64_t) INT64_MAX ||
		lseek((*rp)->fd, (off_t) offset, SEEK_SET) < 0)
	{
		sb_error_errno(err, offset > (uint64_t) INT64_MAX ? EINVAL : errno,
					   "could not seek to offset %llu in file \"%s\"",
					   (unsigned long long) offset, (*rp)->path);
		posix_read_close(*rp);
		*rp = NULL;
		return err->status;
	}
	return SB_OK;
}

static void
posix_read_close(SbReader *r)
{
	(void) close(r->fd);
	free(r);
}


/* ---------------------------------------------------------------------
 * Metadata: stat, list, remove, mkdir
 * ---------------------------------------------------------------------
 */

static void
posix_fill_stat(const struct stat *sb, SbStat *out)
{
	out->is_dir = S_ISDIR(sb->st_mode);
	/* a directory's size means nothing portable; report 0 like other drivers */
	out->size = out->is_dir ? 0 : (uint64_t) sb->st_size;
	out->mtime = (int64_t) sb->st_mtime;
}

static SbStatus
posix_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	char		full[POSIX_PATH_LEN];
	struct stat sb;
	SbStatus	rc;

	rc = posix_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;

	if (stat(full, &sb) != 0)
		return sb_error_errno(err, errno, "could not stat file \"%s\"", full);

	posix_fill_stat(&sb, out);
	return SB_OK;
}

static SbStatus
posix_list(SbStorage *st, const char *path, int flags, SbListFn fn, void *arg,
		   SbError *err)
{
	char		full[POSIX_PATH_LEN];
	DIR		   *dir;
	struct dirent *de;
	SbStatus	rc;

	rc = posix_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;

	dir = opendir(full);
	if (dir == NULL)
		return sb_error_errno(err, errno, "could not open directory \"%s\"",
							  full);

	for (;;)
	{
		struct stat sb;
		SbStat		entry;

		errno = 0;
		de = readdir(dir);
		if (de == NULL)
		{
			if (errno != 0)
			{
				sb_error_errno(err, errno, "could not read directory \"%s\"",
							   full);
				closedir(dir);
				return err->status;
			}
			break;
		}

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!(flags & SB_LIST_TEMP) && sb_storage_is_temp_name(de->d_name))
			continue;

		if (fstatat(dirfd(dir), de->d_name, &sb, 0) != 0)
		{
			/* removed since readdir() saw it: not an entry any more */
			if (errno == ENOENT)
				continue;
			sb_error_errno(err, errno, "could not stat file \"%s/%s\"",
						   full, de->d_name);
			closedir(dir);
			return err->status;
		}

		posix_fill_stat(&sb, &entry);
		if (!fn(de->d_name, &entry, arg))
			break;
	}

	if (closedir(dir) != 0)
		return sb_error_errno(err, errno, "could not close directory \"%s\"",
							  full);
	return SB_OK;
}

/*
 * Remove the directory in buf (a buffer of bufsize bytes) and everything in
 * it.  Symbolic links are removed, never followed.  Names are collected
 * before anything is removed, so no directory stays open while recursing.
 */
static SbStatus
posix_remove_tree(char *buf, size_t bufsize, SbError *err)
{
	DIR		   *dir;
	struct dirent *de;
	char	  **names = NULL;
	size_t		nnames = 0;
	size_t		maxnames = 0;
	size_t		baselen = strlen(buf);
	size_t		i;
	SbStatus	rc = SB_OK;

	dir = opendir(buf);
	if (dir == NULL)
	{
		if (errno == ENOENT)
			return SB_OK;		/* removed meanwhile */
		return sb_error_errno(err, errno, "could not open directory \"%s\"",
							  buf);
	}

	for (;;)
	{
		errno = 0;
		de = readdir(dir);
		if (de == NULL)
		{
			if (errno != 0)
				rc = sb_error_errno(err, errno,
									"could not read directory \"%s\"", buf);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;

		if (nnames == maxnames)
		{
			size_t		newmax = maxnames ? maxnames * 2 : 16;
			char	  **newnames = realloc(names, newmax * sizeof(char *));

			if (newnames == NULL)
			{
				rc = sb_error_oom(err);
				break;
			}
			names = newnames;
			maxnames = newmax;
		}
		names[nnames] = strdup(de->d_name);
		if (names[nnames] == NULL)
		{
			rc = sb_error_oom(err);
			break;
		}
		nnames++;
	}
	closedir(dir);

	for (i = 0; i < nnames && rc == SB_OK; i++)
	{
		size_t		namelen = strlen(names[i]);
		struct stat sb;

		if (baselen + 1 + namelen >= bufsize)
		{
			rc = sb_error_errno(err, ENAMETOOLONG,
								"could not remove file \"%s/%s\"",
								buf, names[i]);
			break;
		}
		buf[baselen] = '/';
		memcpy(buf + baselen + 1, names[i], namelen + 1);

		if (lstat(buf, &sb) != 0)
		{
			if (errno != ENOENT)
				rc = sb_error_errno(err, errno, "could not stat file \"%s\"",
									buf);
		}
		else if (S_ISDIR(sb.st_mode))
			rc = posix_remove_tree(buf, bufsize, err);
		else if (unlink(buf) != 0 && errno != ENOENT)
			rc = sb_error_errno(err, errno, "could not remove file \"%s\"",
								buf);

		buf[baselen] = '\0';
	}

	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);

	if (rc != SB_OK)
		return rc;

	if (rmdir(buf) != 0 && errno != ENOENT)
		return sb_error_errno(err, errno, "could not remove directory \"%s\"",
							  buf);
	return SB_OK;
}

static SbStatus
posix_remove(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	char		full[POSIX_PATH_LEN];
	struct stat sb;
	SbStatus	rc;

	rc = posix_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;

	if (lstat(full, &sb) != 0)
		return sb_error_errno(err, errno, "could not stat file \"%s\"", full);

	if (!S_ISDIR(sb.st_mode))
	{
		if (unlink(full) != 0)
			return sb_error_errno(err, errno, "could not remove file \"%s\"",
								  full);
	}
	else if (recursive)
	{
		char	   *buf;

		/* one buffer, extended and cut back as the walk descends */
		buf = malloc(PATH_MAX);
		if (buf == NULL)
			return sb_error_oom(err);
		if (strlen(full) >= PATH_MAX)
		{
			free(buf);
			return sb_error_errno(err, ENAMETOOLONG,
								  "could not remove directory \"%s\"", full);
		}
		strcpy(buf, full);
		rc = posix_remove_tree(buf, PATH_MAX, err);
		free(buf);
		if (rc != SB_OK)
			return rc;
	}
	else
	{
		/* not recursive: only an empty directory can go */
		if (rmdir(full) != 0)
			return sb_error_errno(err, errno,
								  "could not remove directory \"%s\"", full);
	}

	return posix_fsync_parent(full, err);
}

/*
 * Create path and any missing parents, flushing each directory that got a
 * new entry.  Components that already exist as directories are fine.
 */
static SbStatus
posix_mkdir(SbStorage *st, const char *path, SbError *err)
{
	char		full[POSIX_PATH_LEN];
	PosixStorage *ps;
	SbStatus	rc;
	char	   *p;

	rc = posix_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;
	ps = (PosixStorage *) st->priv;

	/* walk the relative part, one component at a time */
	p = full + strlen(ps->root) + 1;
	for (;;)
	{
		char	   *slash = strchr(p, '/');
		bool		last = (slash == NULL);

		if (!last)
			*slash = '\0';

		if (mkdir(full, POSIX_DIR_MODE) == 0)
		{
			rc = posix_fsync_parent(full, err);
			if (rc != SB_OK)
				return rc;
		}
		else
		{
			int			save_errno = errno;
			struct stat sb;

			/*
			 * An existing directory is fine, whatever mkdir() said: some
			 * systems report EACCES or EROFS before EEXIST.
			 */
			if (stat(full, &sb) != 0 || !S_ISDIR(sb.st_mode))
				return sb_error_errno(err, save_errno,
									  "could not create directory \"%s\"",
									  full);
		}

		if (last)
			break;
		*slash = '/';
		p = slash + 1;
	}
	return SB_OK;
}
