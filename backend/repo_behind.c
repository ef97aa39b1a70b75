/*-------------------------------------------------------------------------
 *
 * repo_behind.c
 *		Repositories that fell behind: their records of missed WAL files in
 *		DataDir/pg_safebackup and their shared state (see repo_behind.h).
 *
 * Every function takes the one lock of this state exclusively, for a short
 * time (an append and an fsync at most, or reading one line), and never
 * raises an ERROR while holding it: the archive callback catches errors
 * without releasing LWLocks, so file errors are returned with errno and
 * reported by the caller after the lock is released.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/fd.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "repo_behind.h"

#define BEHIND_TRANCHE_NAME "pg_safebackup behind"

int			sb_archive_repo_hold = 0;

typedef struct BehindRepo
{
	int64		size;			/* bytes of repoN.missed; 0: not behind */
	int64		done;			/* bytes of it copied already */
	int64		missed;			/* lines after done */
	char		oldest[SB_WALNAME_LEN];
	char		newest[SB_WALNAME_LEN];
	TimestampTz failing_since;
	int64		caught_up;
	char		last_error[SB_BEHIND_ERROR_LEN];
	TimestampTz last_error_time;
} BehindRepo;

typedef struct BehindShared
{
	LWLock	   *lock;
	bool		loaded;			/* the records were read since the start */
	BehindRepo	repo[SB_REPO_MAX];
} BehindShared;

static BehindShared *behind = NULL;

void
sb_behind_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(BehindShared)));
	RequestNamedLWLockTranche(BEHIND_TRANCHE_NAME, 1);
}

void
sb_behind_shmem_init(void)
{
	bool		found;

	/* the caller holds AddinShmemInitLock */
	behind = ShmemInitStruct("pg_safebackup behind", sizeof(BehindShared), &found);
	if (!found)
	{
		memset(behind, 0, sizeof(BehindShared));
		behind->lock = &(GetNamedLWLockTranche(BEHIND_TRANCHE_NAME))->lock;
	}
}

static void
missed_path(int repo, char *path)
{
	snprintf(path, MAXPGPATH, "%s/repo%d.missed", SB_BEHIND_DIR, repo);
}

static void
done_path(int repo, char *path)
{
	snprintf(path, MAXPGPATH, "%s/repo%d.done", SB_BEHIND_DIR, repo);
}

/* fsync a file or directory by name; false with errno set */
static bool
sync_path(const char *path, bool isdir)
{
	int			fd = BasicOpenFile(path, isdir ? O_RDONLY : O_RDWR);
	int			save;

	if (fd < 0)
		return false;
	if (pg_fsync(fd) != 0)
	{
		save = errno;
		close(fd);
		errno = save;
		return false;
	}
	return close(fd) == 0;
}

/*
 * The line that starts at offset "off" of repository r's record into name
 * (without its newline); the offset after it, or -1 when there is no whole
 * line there.
 */
static int64
read_line(int repo, int64 off, char *name)
{
	char		path[MAXPGPATH];
	char		buf[SB_WALNAME_LEN + 1];
	ssize_t		n;
	char	   *nl;
	int			fd;

	name[0] = '\0';
	missed_path(repo, path);
	fd = BasicOpenFile(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pg_pread(fd, buf, sizeof(buf) - 1, (off_t) off);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (nl == NULL)
		return -1;
	*nl = '\0';
	strlcpy(name, buf, SB_WALNAME_LEN);
	return off + (nl - buf) + 1;
}

static int64
read_done(int repo)
{
	char		path[MAXPGPATH];
	char		buf[32];
	ssize_t		n;
	int			fd;

	done_path(repo, path);
	fd = BasicOpenFile(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoi64(buf, NULL, 10);
}

/* Remove repository r's record; the caller holds the lock. */
static bool
remove_record(int repo, BehindRepo *b)
{
	char		path[MAXPGPATH];

	/* the list first: a "done" file alone means nothing */
	missed_path(repo, path);
	if (unlink(path) != 0 && errno != ENOENT)
		return false;
	done_path(repo, path);
	if (unlink(path) != 0 && errno != ENOENT)
		return false;
	if (!sync_path(SB_BEHIND_DIR, true))
		return false;
	b->size = b->done = b->missed = 0;
	b->oldest[0] = b->newest[0] = '\0';
	return true;
}

/*
 * Read repository r's record into b: a torn last line (a crash during an
 * append, before the file was reported archived) is cut off; a "done"
 * offset that is not the start of a line counts from the beginning again
 * (copying a file twice is harmless).
 */
static void
load_one(int repo, BehindRepo *b)
{
	char		path[MAXPGPATH];
	struct stat st;
	char	   *data;
	int64		end;
	int			fd;

	missed_path(repo, path);
	if (stat(path, &st) != 0 || st.st_size == 0)
	{
		(void) remove_record(repo, b);
		return;
	}
	fd = BasicOpenFile(path, O_RDWR);
	if (fd < 0)
		return;
	/* malloc, not palloc: no ERROR while the lock is held */
	data = malloc(st.st_size + 1);
	if (data == NULL || pg_pread(fd, data, st.st_size, 0) != st.st_size)
	{
		/* behind, with the count unknown: copied from the "done" offset */
		close(fd);
		free(data);
		b->size = st.st_size;
		b->done = Max(read_done(repo), 0);
		b->missed = 1;
		b->oldest[0] = b->newest[0] = '\0';
		return;
	}
	for (end = st.st_size; end > 0 && data[end - 1] != '\n'; end--)
		;
	if (end < st.st_size)
	{
		if (ftruncate(fd, (off_t) end) != 0 || pg_fsync(fd) != 0)
			end = st.st_size;	/* left as it is: read_line() ignores it */
	}
	close(fd);

	b->size = end;
	b->done = read_done(repo);
	if (b->done < 0 || b->done > end || (b->done > 0 && data[b->done - 1] != '\n'))
		b->done = 0;
	b->missed = 0;
	for (int64 p = b->done; p < end;)
	{
		char	   *nl = memchr(data + p, '\n', end - p);
		int64		len = nl - (data + p);

		if (b->missed++ == 0)
			strlcpy(b->oldest, data + p, Min(len + 1, SB_WALNAME_LEN));
		strlcpy(b->newest, data + p, Min(len + 1, SB_WALNAME_LEN));
		p += len + 1;
	}
	free(data);
	if (b->missed == 0)
		(void) remove_record(repo, b);
}

/* Take the lock; read the records on first use.  */
static void
lock_loaded(void)
{
	LWLockAcquire(behind->lock, LW_EXCLUSIVE);
	if (behind->loaded)
		return;
	for (int r = 1; r <= SB_REPO_MAX; r++)
		load_one(r, &behind->repo[r - 1]);
	behind->loaded = true;
}

int
sb_behind_mask(void)
{
	int			mask = 0;

	if (behind == NULL)
		return 0;
	lock_loaded();
	for (int r = 1; r <= SB_REPO_MAX; r++)
		if (behind->repo[r - 1].size > 0)
			mask |= 1 << (r - 1);
	LWLockRelease(behind->lock);
	return mask;
}

void
sb_behind_note_push(int repo, bool ok)
{
	BehindRepo *b;

	if (behind == NULL)
		return;
	LWLockAcquire(behind->lock, LW_EXCLUSIVE);
	b = &behind->repo[repo - 1];
	if (ok)
		b->failing_since = 0;
	else if (b->failing_since == 0)
		b->failing_since = GetCurrentTimestamp();
	LWLockRelease(behind->lock);
}

bool
sb_behind_hold_expired(int repo, long *seconds)
{
	TimestampTz since;

	*seconds = 0;
	if (behind == NULL || sb_archive_repo_hold <= 0)
		return false;
	LWLockAcquire(behind->lock, LW_EXCLUSIVE);
	since = behind->repo[repo - 1].failing_since;
	LWLockRelease(behind->lock);
	if (since == 0)
		return false;
	*seconds = TimestampDifferenceMilliseconds(since, GetCurrentTimestamp()) / 1000;
	return TimestampDifferenceExceeds(since, GetCurrentTimestamp(),
									  sb_archive_repo_hold * 1000);
}

/* Append "file\n" to repository r's list and make it durable. */
static bool
append_line(int repo, BehindRepo *b, const char *file, const char **what)
{
	char		path[MAXPGPATH];
	char		line[SB_WALNAME_LEN + 1];
	struct stat st;
	bool		new_dir = false;
	bool		new_file = (b->size == 0);
	int			len = snprintf(line, sizeof(line), "%s\n", file);
	int			fd;
	int			save;

	*what = SB_BEHIND_DIR;
	if (stat(SB_BEHIND_DIR, &st) != 0)
	{
		if (errno != ENOENT || MakePGDirectory(SB_BEHIND_DIR) != 0)
			return false;
		new_dir = true;
	}
	missed_path(repo, path);
	*what = path;
	fd = BasicOpenFile(path, O_WRONLY | O_CREAT | (new_file ? O_TRUNC : 0));
	if (fd < 0)
		return false;
	errno = 0;
	if (pg_pwrite(fd, line, len, (off_t) b->size) != len || pg_fsync(fd) != 0)
	{
		save = errno ? errno : ENOSPC;
		/* never leave half a line for the next append to follow */
		if (ftruncate(fd, (off_t) b->size) != 0)
			b->size = -1;		/* unknown: reloaded below */
		close(fd);
		errno = save;
		if (b->size < 0)
		{
			b->size = 0;
			behind->loaded = false;
		}
		return false;
	}
	if (close(fd) != 0)
		return false;
	*what = SB_BEHIND_DIR;
	if (new_file && !sync_path(SB_BEHIND_DIR, true))
		return false;
	*what = ".";
	if (new_dir && !sync_path(".", true))
		return false;

	b->size += len;
	if (b->missed++ == 0)
		strlcpy(b->oldest, file, SB_WALNAME_LEN);
	strlcpy(b->newest, file, SB_WALNAME_LEN);
	return true;
}

bool
sb_behind_record(int repo, const char *file, bool expect_behind,
				 bool *caught_up, const char **what)
{
	BehindRepo *b;
	bool		ok;

	*caught_up = false;
	lock_loaded();
	b = &behind->repo[repo - 1];
	if (expect_behind && b->size == 0)
	{
		LWLockRelease(behind->lock);
		*caught_up = true;
		return true;
	}
	ok = append_line(repo, b, file, what);
	LWLockRelease(behind->lock);
	return ok;
}

bool
sb_behind_next(int repo, char *name, int64 *next_offset)
{
	BehindRepo *b;

	lock_loaded();
	b = &behind->repo[repo - 1];
	*next_offset = b->done < b->size ? read_line(repo, b->done, name) : -1;
	LWLockRelease(behind->lock);
	return *next_offset > 0;
}

/* Write the "done" offset durably (temporary file, fsync, rename). */
static bool
write_done(int repo, int64 offset, const char **what)
{
	static char path[MAXPGPATH];
	char		tmp[MAXPGPATH];
	char		buf[32];
	int			len = snprintf(buf, sizeof(buf), INT64_FORMAT "\n", offset);
	int			fd;

	done_path(repo, path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	*what = path;
	fd = BasicOpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC);
	if (fd < 0)
		return false;
	errno = 0;
	if (write(fd, buf, len) != len || pg_fsync(fd) != 0)
	{
		int			save = errno ? errno : ENOSPC;

		close(fd);
		unlink(tmp);
		errno = save;
		return false;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0)
		return false;
	return sync_path(SB_BEHIND_DIR, true);
}

bool
sb_behind_copied(int repo, int64 next_offset, bool *current, const char **what)
{
	BehindRepo *b;
	bool		ok = true;

	*current = false;
	lock_loaded();
	b = &behind->repo[repo - 1];
	b->caught_up++;
	b->failing_since = 0;
	b->last_error[0] = '\0';
	if (next_offset >= b->size)
	{
		*what = SB_BEHIND_DIR;
		ok = remove_record(repo, b);
		*current = ok;
	}
	else if ((ok = write_done(repo, next_offset, what)))
	{
		b->done = next_offset;
		b->missed--;
		if (read_line(repo, next_offset, b->oldest) < 0)
			b->oldest[0] = '\0';
	}
	LWLockRelease(behind->lock);
	return ok;
}

void
sb_behind_note_error(int repo, const char *message)
{
	BehindRepo *b;

	LWLockAcquire(behind->lock, LW_EXCLUSIVE);
	b = &behind->repo[repo - 1];
	strlcpy(b->last_error, message, SB_BEHIND_ERROR_LEN);
	b->last_error_time = GetCurrentTimestamp();
	LWLockRelease(behind->lock);
}

void
sb_behind_info(int repo, SbRepoBehindInfo *info)
{
	BehindRepo *b;

	memset(info, 0, sizeof(*info));
	if (behind == NULL)
		return;
	lock_loaded();
	b = &behind->repo[repo - 1];
	info->behind = b->size > 0;
	info->missed = b->missed;
	strlcpy(info->oldest, b->oldest, SB_WALNAME_LEN);
	strlcpy(info->newest, b->newest, SB_WALNAME_LEN);
	info->failing_since = b->failing_since;
	info->caught_up = b->caught_up;
	strlcpy(info->last_error, b->last_error, SB_BEHIND_ERROR_LEN);
	info->last_error_time = b->last_error_time;
	LWLockRelease(behind->lock);
}
