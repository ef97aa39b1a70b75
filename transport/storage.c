/*-------------------------------------------------------------------------
 *
 * storage.c
 *		Creating a repository storage, the checked entry points that every
 *		caller goes through, and the whole-file put/get helpers; see
 *		core/storage.h.
 *
 * The entry points validate relative paths before handing them to the
 * driver, so drivers never see "..", empty components or absolute paths.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

#include "cipher.h"

/* First buffer size used by sb_storage_get(); it grows as needed. */
#define SB_GET_INITIAL_SIZE		8192

static SbStatus invalid_path(const char *path, SbError *err);

SbStatus
sb_storage_create(const SbRepoConfig *cfg, SbStorage **out, SbError *err)
{
	const SbDriver *driver;
	const SbStorageOps *ops;
	SbStorage  *st;

	*out = NULL;

	driver = sb_driver_of(cfg);
	if (driver == NULL)
		return sb_error_set(err, SB_ERR_CONFIG,
							"unknown repository type %d",
							(int) cfg->repo_type);
	ops = driver->ops;

	st = malloc(sizeof(SbStorage));
	if (st == NULL)
		return sb_error_oom(err);

	memset(st, 0, sizeof(SbStorage));
	st->ops = ops;
	st->cfg = *cfg;
	st->wait = NULL;
	st->wait_arg = NULL;
	st->priv = NULL;

	*out = st;
	return SB_OK;
}

bool
sb_storage_has(SbStorage *st, unsigned cap)
{
	return (st->ops->caps & cap) == cap;
}

void
sb_storage_free(SbStorage *st)
{
	if (st == NULL)
		return;
	if (st->ops != NULL)
	{
		st->ops->close(st);
		st->ops->destroy(st);
	}
	sb_cipher_key_free(st->cipher);
	free(st);
}

/*
 * A valid repository path is relative, non-empty, shorter than SB_PATH_MAX,
 * and made of non-empty components separated by single '/' characters, none
 * of which is "." or "..".  A leading or trailing '/' is therefore rejected.
 */
bool
sb_path_valid(const char *path)
{
	const char *p;
	size_t		len;

	if (path == NULL)
		return false;
	len = strlen(path);
	if (len == 0 || len >= SB_PATH_MAX)
		return false;

	p = path;
	for (;;)
	{
		const char *slash = strchr(p, '/');
		size_t		complen = slash ? (size_t) (slash - p) : strlen(p);

		/* catches a leading '/', "a//b" and a trailing '/' */
		if (complen == 0)
			return false;
		if (complen == 1 && p[0] == '.')
			return false;
		if (complen == 2 && p[0] == '.' && p[1] == '.')
			return false;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return true;
}

static SbStatus
invalid_path(const char *path, SbError *err)
{
	return sb_error_set(err, SB_ERR_CONFIG, "invalid repository path \"%s\"",
						path != NULL ? path : "(null)");
}

SbStatus
sb_storage_open(SbStorage *st, SbError *err)
{
	return st->ops->open(st, err);
}

void
sb_storage_close(SbStorage *st)
{
	st->ops->close(st);
}

SbStatus
sb_storage_write_open(SbStorage *st, const char *path, int flags,
					  SbWriter **w, SbError *err)
{
	*w = NULL;
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	return st->ops->write_open(st, path, flags, w, err);
}

SbStatus
sb_storage_write(SbStorage *st, SbWriter *w, const void *buf, size_t len,
				 SbError *err)
{
	return st->ops->write(w, buf, len, err);
}

SbStatus
sb_storage_check_same_dir(const char *old_path, const char *new_path,
						  SbError *err)
{
	const char *a = strrchr(old_path, '/');
	const char *b = strrchr(new_path, '/');
	size_t		alen = a ? (size_t) (a - old_path) : 0;
	size_t		blen = b ? (size_t) (b - new_path) : 0;

	if (alen != blen || strncmp(old_path, new_path, alen) != 0)
		return sb_error_set(err, SB_ERR_PERMISSION,
							"file \"%s\" can only be committed under a name in its own directory, not as \"%s\"",
							old_path, new_path);
	return SB_OK;
}

bool
sb_storage_can_rename_writer(SbStorage *st, uint64_t size)
{
	return st->ops->write_rename != NULL &&
		(st->ops->write_rename_limit == 0 || size <= st->ops->write_rename_limit);
}

SbStatus
sb_storage_write_rename(SbStorage *st, SbWriter *w, const char *path,
						SbError *err)
{
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	if (st->ops->write_rename == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"the %s repository driver cannot rename a file being written",
							st->ops->name);
	return st->ops->write_rename(st, w, path, err);
}

SbStatus
sb_storage_write_commit(SbStorage *st, SbWriter *w, SbError *err)
{
	return st->ops->write_commit(w, err);
}

void
sb_storage_write_abort(SbStorage *st, SbWriter *w)
{
	if (w != NULL)
		st->ops->write_abort(w);
}

SbStatus
sb_storage_read_open(SbStorage *st, const char *path, SbReader **r,
					 SbError *err)
{
	*r = NULL;
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	return st->ops->read_open(st, path, r, err);
}

SbStatus
sb_storage_read(SbStorage *st, SbReader *r, void *buf, size_t len,
				size_t *nread, SbError *err)
{
	return st->ops->read(r, buf, len, nread, err);
}

/* For drivers without read_open_at: read and throw away offset bytes. */
SbStatus
sb_storage_read_skip(SbStorage *st, SbReader *r, uint64_t offset, SbError *err)
{
	uint8_t    *buf;
	SbStatus	rc = SB_OK;

	if (offset == 0)
		return SB_OK;
	buf = malloc(64 * 1024);
	if (buf == NULL)
		return sb_error_oom(err);
	while (offset > 0)
	{
		size_t		want = offset < 64 * 1024 ? (size_t) offset : 64 * 1024;
		size_t		nread = 0;

		rc = st->ops->read(r, buf, want, &nread, err);
		if (rc != SB_OK || nread == 0)
			break;				/* an error, or the end: nothing left to read */
		offset -= nread;
	}
	free(buf);
	return rc;
}

SbStatus
sb_storage_read_open_at(SbStorage *st, const char *path, uint64_t offset,
						uint64_t len, SbReader **r, SbError *err)
{
	SbStatus	rc;

	*r = NULL;
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	if (st->ops->read_open_at != NULL)
		return st->ops->read_open_at(st, path, offset, len, r, err);
	rc = st->ops->read_open(st, path, r, err);
	if (rc != SB_OK)
	{
		*r = NULL;
		return rc;
	}
	rc = sb_storage_read_skip(st, *r, offset, err);
	if (rc != SB_OK)
	{
		st->ops->read_close(*r);
		*r = NULL;
	}
	return rc;
}

void
sb_storage_read_close(SbStorage *st, SbReader *r)
{
	if (r != NULL)
		st->ops->read_close(r);
}

bool
sb_storage_can_prefetch(SbStorage *st)
{
	return st->ops->prefetch != NULL;
}

void
sb_storage_prefetch(SbStorage *st, const char *path)
{
	if (st->ops->prefetch != NULL && sb_path_valid(path))
		st->ops->prefetch(st, path);
}

SbStatus
sb_storage_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	return st->ops->stat(st, path, out, err);
}

SbStatus
sb_storage_list(SbStorage *st, const char *path, SbListFn fn, void *arg,
				SbError *err)
{
	return sb_storage_list_flags(st, path, 0, fn, arg, err);
}

SbStatus
sb_storage_list_flags(SbStorage *st, const char *path, int flags, SbListFn fn,
					  void *arg, SbError *err)
{
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	return st->ops->list(st, path, flags, fn, arg, err);
}

/* list() filtered by a name prefix, for drivers without list_prefix */
typedef struct PrefixFilter
{
	const char *prefix;
	size_t		len;
	SbListFn	fn;
	void	   *arg;
} PrefixFilter;

static bool
prefix_filter(const char *name, const SbStat *st, void *arg)
{
	PrefixFilter *f = arg;

	if (strncmp(name, f->prefix, f->len) != 0)
		return true;
	return f->fn(name, st, f->arg);
}

SbStatus
sb_storage_list_prefix(SbStorage *st, const char *path,
					   const char *name_prefix, SbListFn fn, void *arg,
					   SbError *err)
{
	PrefixFilter f;

	if (!sb_path_valid(path))
		return invalid_path(path, err);
	if (name_prefix[0] == '\0' || strchr(name_prefix, '/') != NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "invalid name prefix \"%s\"",
							name_prefix);
	if (st->ops->list_prefix != NULL)
		return st->ops->list_prefix(st, path, name_prefix, fn, arg, err);
	f.prefix = name_prefix;
	f.len = strlen(name_prefix);
	f.fn = fn;
	f.arg = arg;
	return st->ops->list(st, path, 0, prefix_filter, &f, err);
}

SbStatus
sb_storage_remove(SbStorage *st, const char *path, bool recursive,
				  SbError *err)
{
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	return st->ops->remove(st, path, recursive, err);
}

SbStatus
sb_storage_sync(SbStorage *st, SbError *err)
{
	if (st->ops->sync == NULL)
		return SB_OK;
	return st->ops->sync(st, err);
}

SbStatus
sb_storage_mkdir(SbStorage *st, const char *path, SbError *err)
{
	if (!sb_path_valid(path))
		return invalid_path(path, err);
	return st->ops->mkdir(st, path, err);
}

SbRepoMode
sb_storage_mode(SbStorage *st)
{
	if (st->ops->mode == NULL)
		return SB_REPO_MODE_ADMIN;
	return st->ops->mode(st);
}

const char *
sb_repo_mode_name(SbRepoMode mode)
{
	switch (mode)
	{
		case SB_REPO_MODE_ADMIN:
			return "admin";
		case SB_REPO_MODE_APPEND:
			return "append-only";
		case SB_REPO_MODE_UNKNOWN:
			break;
	}
	return "unknown";
}

/*
 * Write a whole buffer to path atomically.  On error nothing appears under
 * path (the temporary file is discarded).
 */
SbStatus
sb_storage_put(SbStorage *st, const char *path, int flags, const void *buf,
			   size_t len, SbError *err)
{
	SbWriter   *w;
	SbStatus	rc;

	rc = sb_storage_write_open(st, path, flags, &w, err);
	if (rc != SB_OK)
		return rc;

	if (len > 0)
	{
		rc = sb_storage_write(st, w, buf, len, err);
		if (rc != SB_OK)
		{
			sb_storage_write_abort(st, w);
			return rc;
		}
	}

	/* commit frees the writer whether or not it succeeds */
	return sb_storage_write_commit(st, w, err);
}

/*
 * Read the whole of path into a malloc'd buffer, NUL-terminated.  A file
 * longer than max_len bytes is refused with SB_ERR_CORRUPT: callers use this
 * only for small metadata files, so an oversized one is not what they expect.
 * On failure *buf is NULL and *len is 0.
 */
SbStatus
sb_storage_get(SbStorage *st, const char *path, size_t max_len, char **buf,
			   size_t *len, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;
	char	   *data = NULL;
	size_t		cap;
	size_t		used = 0;
	size_t		limit;

	*buf = NULL;
	*len = 0;

	/*
	 * Read at most max_len + 1 bytes: getting that extra byte is how an
	 * oversized file is detected.  Keep one more byte for the terminator.
	 */
	limit = (max_len < SIZE_MAX - 2) ? max_len + 1 : SIZE_MAX - 2;

	rc = sb_storage_read_open(st, path, &r, err);
	if (rc != SB_OK)
		return rc;

	cap = (limit < SB_GET_INITIAL_SIZE) ? limit : SB_GET_INITIAL_SIZE;
	data = malloc(cap + 1);
	if (data == NULL)
	{
		sb_storage_read_close(st, r);
		return sb_error_oom(err);
	}

	for (;;)
	{
		size_t		nread;

		if (used == cap)
		{
			size_t		newcap;
			char	   *newdata;

			if (cap >= limit)
			{
				sb_storage_read_close(st, r);
				free(data);
				return sb_error_set(err, SB_ERR_CORRUPT,
									"file \"%s\" in the repository is larger than %zu bytes",
									path, max_len);
			}
			newcap = (cap > limit / 2) ? limit : cap * 2;
			newdata = realloc(data, newcap + 1);
			if (newdata == NULL)
			{
				sb_storage_read_close(st, r);
				free(data);
				return sb_error_oom(err);
			}
			data = newdata;
			cap = newcap;
		}

		rc = sb_storage_read(st, r, data + used, cap - used, &nread, err);
		if (rc != SB_OK)
		{
			sb_storage_read_close(st, r);
			free(data);
			return rc;
		}
		if (nread == 0)
			break;
		used += nread;
	}
	sb_storage_read_close(st, r);

	/* we read one byte too many to learn that the file is too long */
	if (used > max_len)
	{
		free(data);
		return sb_error_set(err, SB_ERR_CORRUPT,
							"file \"%s\" in the repository is larger than %zu bytes",
							path, max_len);
	}

	data[used] = '\0';
	*buf = data;
	*len = used;
	return SB_OK;
}

/*
 * Is name one of the drivers' in-progress temporary files,
 * "<final name>.tmp.<pid>.<n>"?  list() hides them.
 */
bool
sb_storage_is_temp_name(const char *name)
{
	const char *p = strstr(name, ".tmp.");

	while (p != NULL)
	{
		const char *q = p + 5;
		const char *digits = q;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q > digits && *q == '.')
		{
			q++;
			digits = q;
			while (*q >= '0' && *q <= '9')
				q++;
			if (q > digits && *q == '\0')
				return true;
		}
		p = strstr(p + 1, ".tmp.");
	}
	return false;
}
