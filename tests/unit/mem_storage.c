/*-------------------------------------------------------------------------
 *
 * mem_storage.c
 *		A test-only, in-memory implementation of SbStorageOps; see
 *		mem_storage.h.
 *
 * Files live in a flat array keyed by their full relative path.  A directory
 * exists when it was created by mkdir() or when some file lies below it.
 * Writers collect data privately and publish it at commit, so an aborted
 * or failed write never shows under its final name.
 *
 *-------------------------------------------------------------------------
 */
#include "mem_storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct MemFile
{
	char	   *path;
	uint8_t    *data;
	size_t		len;
	int64_t		mtime;
} MemFile;

typedef struct MemState
{
	MemFile    *files;
	int			nfiles;
	int			maxfiles;
	char	  **dirs;			/* explicit directories */
	int			ndirs;
	int			maxdirs;
	bool		opened;
	int64_t		fail_write_after;
	int64_t		fail_read_after;
	size_t		read_chunk;
	uint64_t	bytes_read;		/* handed out by every reader */
	int			open_handles;
	size_t		max_write;
	uint64_t	write_calls;
} MemState;

struct SbWriter
{
	SbStorage  *st;
	char	   *path;
	int			flags;
	uint8_t    *data;
	size_t		len;
	size_t		cap;
};

struct SbReader
{
	SbStorage  *st;
	uint8_t    *data;			/* snapshot taken at open */
	size_t		len;
	size_t		pos;
};

static MemState *
mem_state(SbStorage *st)
{
	return (MemState *) st->priv;
}

static int
find_file(MemState *ms, const char *path)
{
	int			i;

	for (i = 0; i < ms->nfiles; i++)
	{
		if (strcmp(ms->files[i].path, path) == 0)
			return i;
	}
	return -1;
}

static bool
is_root(const char *path)
{
	return path[0] == '\0' || strcmp(path, ".") == 0;
}

/* Is child strictly below dir? */
static bool
is_below(const char *child, const char *dir)
{
	size_t		dlen;

	if (is_root(dir))
		return !is_root(child);
	dlen = strlen(dir);
	return strncmp(child, dir, dlen) == 0 && child[dlen] == '/';
}

static bool
dir_exists(MemState *ms, const char *path)
{
	int			i;

	if (is_root(path))
		return true;
	for (i = 0; i < ms->ndirs; i++)
	{
		if (strcmp(ms->dirs[i], path) == 0 || is_below(ms->dirs[i], path))
			return true;
	}
	for (i = 0; i < ms->nfiles; i++)
	{
		if (is_below(ms->files[i].path, path))
			return true;
	}
	return false;
}

/* Store data (taking ownership) under path, replacing any old content. */
static bool
put_file(MemState *ms, const char *path, uint8_t *data, size_t len)
{
	int			i = find_file(ms, path);

	if (i < 0)
	{
		char	   *copy;

		if (ms->nfiles == ms->maxfiles)
		{
			int			newmax = ms->maxfiles ? ms->maxfiles * 2 : 16;
			MemFile    *p = realloc(ms->files, newmax * sizeof(MemFile));

			if (p == NULL)
				return false;
			ms->files = p;
			ms->maxfiles = newmax;
		}
		copy = strdup(path);
		if (copy == NULL)
			return false;
		i = ms->nfiles++;
		ms->files[i].path = copy;
		ms->files[i].data = NULL;
	}
	free(ms->files[i].data);
	ms->files[i].data = data;
	ms->files[i].len = len;
	ms->files[i].mtime = (int64_t) time(NULL);
	return true;
}

static void
drop_file(MemState *ms, int i)
{
	free(ms->files[i].path);
	free(ms->files[i].data);
	ms->files[i] = ms->files[--ms->nfiles];
}

static SbStatus
mem_open(SbStorage *st, SbError *err)
{
	(void) err;
	mem_state(st)->opened = true;
	return SB_OK;
}

static void
mem_close(SbStorage *st)
{
	mem_state(st)->opened = false;
}

static SbStatus
mem_write_open(SbStorage *st, const char *path, int flags, SbWriter **w,
			   SbError *err)
{
	SbWriter   *nw;

	nw = calloc(1, sizeof(SbWriter));
	if (nw == NULL || (nw->path = strdup(path)) == NULL)
	{
		free(nw);
		return sb_error_oom(err);
	}
	nw->st = st;
	nw->flags = flags;
	mem_state(st)->open_handles++;
	*w = nw;
	return SB_OK;
}

static SbStatus
mem_write(SbWriter *w, const void *buf, size_t len, SbError *err)
{
	MemState   *ms = mem_state(w->st);

	ms->write_calls++;
	if (len > ms->max_write)
		ms->max_write = len;

	if (ms->fail_write_after >= 0 &&
		(uint64_t) w->len + len > (uint64_t) ms->fail_write_after)
		return sb_error_errno(err, ENOSPC, "could not write to file \"%s\"",
							  w->path);

	if (w->len + len > w->cap)
	{
		size_t		newcap = w->cap ? w->cap : 4096;
		uint8_t    *p;

		while (newcap < w->len + len)
			newcap *= 2;
		p = realloc(w->data, newcap);
		if (p == NULL)
			return sb_error_oom(err);
		w->data = p;
		w->cap = newcap;
	}
	if (len > 0)
		memcpy(w->data + w->len, buf, len);
	w->len += len;
	return SB_OK;
}

static void
writer_free(SbWriter *w)
{
	mem_state(w->st)->open_handles--;
	free(w->path);
	free(w->data);
	free(w);
}

static SbStatus
mem_write_commit(SbWriter *w, SbError *err)
{
	MemState   *ms = mem_state(w->st);
	SbStatus	rc = SB_OK;

	if (!(w->flags & SB_WRITE_REPLACE) && find_file(ms, w->path) >= 0)
		rc = sb_error_set(err, SB_ERR_EXISTS, "file \"%s\" already exists",
						  w->path);
	else if (put_file(ms, w->path, w->data, w->len))
		w->data = NULL;			/* now owned by the file */
	else
		rc = sb_error_oom(err);
	writer_free(w);
	return rc;
}

static void
mem_write_abort(SbWriter *w)
{
	writer_free(w);
}

static SbStatus
mem_write_rename(SbStorage *st, SbWriter *w, const char *path, SbError *err)
{
	char	   *p;

	if (sb_storage_check_same_dir(w->path, path, err) != SB_OK)
		return err->status;
	p = strdup(path);
	if (p == NULL)
		return sb_error_oom(err);
	free(w->path);
	w->path = p;
	return SB_OK;
}

static SbStatus
mem_read_open(SbStorage *st, const char *path, SbReader **r, SbError *err)
{
	MemState   *ms = mem_state(st);
	int			i = find_file(ms, path);
	SbReader   *nr;

	if (i < 0)
		return sb_error_errno(err, ENOENT, "could not open file \"%s\"", path);
	nr = calloc(1, sizeof(SbReader));
	if (nr == NULL)
		return sb_error_oom(err);
	nr->st = st;
	nr->len = ms->files[i].len;
	nr->data = malloc(nr->len ? nr->len : 1);
	if (nr->data == NULL)
	{
		free(nr);
		return sb_error_oom(err);
	}
	if (nr->len > 0)
		memcpy(nr->data, ms->files[i].data, nr->len);
	ms->open_handles++;
	*r = nr;
	return SB_OK;
}

static SbStatus
mem_read(SbReader *r, void *buf, size_t len, size_t *nread, SbError *err)
{
	MemState   *ms = mem_state(r->st);
	size_t		n = r->len - r->pos;

	if (n > len)
		n = len;
	if (ms->read_chunk > 0 && n > ms->read_chunk)
		n = ms->read_chunk;
	if (ms->fail_read_after >= 0 && n > 0 &&
		(uint64_t) r->pos + n > (uint64_t) ms->fail_read_after)
	{
		*nread = 0;
		return sb_error_errno(err, EIO, "could not read from repository file");
	}
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	ms->bytes_read += n;
	*nread = n;
	return SB_OK;
}

/* A reader from offset on, where ranged reads are on (else the entry point's fallback). */
static SbStatus
mem_read_open_at(SbStorage *st, const char *path, uint64_t offset,
				 uint64_t len, SbReader **r, SbError *err)
{
	SbStatus	rc;

	(void) len;
	rc = mem_read_open(st, path, r, err);
	if (rc == SB_OK)
		(*r)->pos = offset < (*r)->len ? (size_t) offset : (*r)->len;
	return rc;
}

static void
mem_read_close(SbReader *r)
{
	mem_state(r->st)->open_handles--;
	free(r->data);
	free(r);
}

static SbStatus
mem_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	MemState   *ms = mem_state(st);
	int			i = find_file(ms, path);

	memset(out, 0, sizeof(SbStat));
	if (i >= 0)
	{
		out->size = ms->files[i].len;
		out->mtime = ms->files[i].mtime;
		return SB_OK;
	}
	if (dir_exists(ms, path))
	{
		out->is_dir = true;
		return SB_OK;
	}
	return sb_error_errno(err, ENOENT, "could not stat file \"%s\"", path);
}

/* Name of the entry directly below dir that leads to child. */
static void
first_component(const char *child, const char *dir, char *name, size_t size)
{
	const char *rest = is_root(dir) ? child : child + strlen(dir) + 1;
	size_t		n = strcspn(rest, "/");

	if (n >= size)
		n = size - 1;
	memcpy(name, rest, n);
	name[n] = '\0';
}

static SbStatus
mem_list(SbStorage *st, const char *path, int flags, SbListFn fn, void *arg,
		 SbError *err)
{
	MemState   *ms = mem_state(st);
	char	  **seen;
	int			nseen = 0;
	int			total = ms->nfiles + ms->ndirs;
	int			pass;
	SbStatus	rc = SB_OK;

	if (!dir_exists(ms, path) || find_file(ms, path) >= 0)
		return sb_error_errno(err, ENOENT, "could not open directory \"%s\"",
							  path);

	seen = calloc(total ? total : 1, sizeof(char *));
	if (seen == NULL)
		return sb_error_oom(err);

	/* pass 0 walks files, pass 1 explicit directories */
	for (pass = 0; pass < 2; pass++)
	{
		int			n = pass == 0 ? ms->nfiles : ms->ndirs;
		int			i;

		for (i = 0; i < n; i++)
		{
			const char *p = pass == 0 ? ms->files[i].path : ms->dirs[i];
			char		name[SB_PATH_MAX];
			char		full[SB_PATH_MAX * 2];
			SbStat		sst;
			SbError		dummy;
			int			j;
			bool		dup = false;

			if (!is_below(p, path))
				continue;
			first_component(p, path, name, sizeof(name));
			for (j = 0; j < nseen; j++)
			{
				if (strcmp(seen[j], name) == 0)
					dup = true;
			}
			if (dup)
				continue;
			seen[nseen] = strdup(name);
			if (seen[nseen] == NULL)
			{
				rc = sb_error_oom(err);
				goto done;
			}
			nseen++;
			if (is_root(path))
				snprintf(full, sizeof(full), "%s", name);
			else
				snprintf(full, sizeof(full), "%s/%s", path, name);
			if (mem_stat(st, full, &sst, &dummy) != SB_OK)
				continue;
			if (!fn(name, &sst, arg))
				goto done;
		}
	}

done:
	while (nseen > 0)
		free(seen[--nseen]);
	free(seen);
	return rc;
}

static SbStatus
mem_remove(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	MemState   *ms = mem_state(st);
	int			i = find_file(ms, path);

	if (i >= 0)
	{
		drop_file(ms, i);
		return SB_OK;
	}
	if (!dir_exists(ms, path))
		return sb_error_errno(err, ENOENT, "could not remove \"%s\"", path);

	if (!recursive)
	{
		for (i = 0; i < ms->nfiles; i++)
		{
			if (is_below(ms->files[i].path, path))
				return sb_error_errno(err, ENOTEMPTY,
									  "could not remove directory \"%s\"",
									  path);
		}
		for (i = 0; i < ms->ndirs; i++)
		{
			if (is_below(ms->dirs[i], path))
				return sb_error_errno(err, ENOTEMPTY,
									  "could not remove directory \"%s\"",
									  path);
		}
	}
	for (i = ms->nfiles - 1; i >= 0; i--)
	{
		if (is_below(ms->files[i].path, path))
			drop_file(ms, i);
	}
	for (i = ms->ndirs - 1; i >= 0; i--)
	{
		if (strcmp(ms->dirs[i], path) == 0 || is_below(ms->dirs[i], path))
		{
			free(ms->dirs[i]);
			ms->dirs[i] = ms->dirs[--ms->ndirs];
		}
	}
	return SB_OK;
}

static SbStatus
mem_mkdir(SbStorage *st, const char *path, SbError *err)
{
	MemState   *ms = mem_state(st);
	int			i;
	char	   *copy;

	if (find_file(ms, path) >= 0)
		return sb_error_errno(err, EEXIST, "could not create directory \"%s\"",
							  path);
	if (is_root(path))
		return SB_OK;
	for (i = 0; i < ms->ndirs; i++)
	{
		if (strcmp(ms->dirs[i], path) == 0)
			return SB_OK;
	}
	if (ms->ndirs == ms->maxdirs)
	{
		int			newmax = ms->maxdirs ? ms->maxdirs * 2 : 16;
		char	  **p = realloc(ms->dirs, newmax * sizeof(char *));

		if (p == NULL)
			return sb_error_oom(err);
		ms->dirs = p;
		ms->maxdirs = newmax;
	}
	/* parents are implied by is_below(), so one entry is enough */
	copy = strdup(path);
	if (copy == NULL)
		return sb_error_oom(err);
	ms->dirs[ms->ndirs++] = copy;
	return SB_OK;
}

static void
mem_destroy(SbStorage *st)
{
	MemState   *ms = mem_state(st);
	int			i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->nfiles; i++)
	{
		free(ms->files[i].path);
		free(ms->files[i].data);
	}
	for (i = 0; i < ms->ndirs; i++)
		free(ms->dirs[i]);
	free(ms->files);
	free(ms->dirs);
	free(ms);
	st->priv = NULL;
}

const SbStorageOps sb_mem_ops = {
	.name = "memory",
	/* one thread writes a writer at a time */
	.caps = SB_CAP_WRITE_ANY_THREAD,
	.open = mem_open,
	.close = mem_close,
	.write_open = mem_write_open,
	.write = mem_write,
	.write_commit = mem_write_commit,
	.write_abort = mem_write_abort,
	.write_rename = mem_write_rename,
	.read_open = mem_read_open,
	.read = mem_read,
	.read_close = mem_read_close,
	.stat = mem_stat,
	.list = mem_list,
	.remove = mem_remove,
	.mkdir = mem_mkdir,
	.destroy = mem_destroy,
	.read_open_at = mem_read_open_at,
};

/* the same without read_open_at (sb_mem_storage_set_ranged) */
static SbStorageOps mem_ops_unranged;

SbStorage *
sb_mem_storage_new(void)
{
	SbStorage  *st;
	MemState   *ms;

	st = calloc(1, sizeof(SbStorage));
	ms = calloc(1, sizeof(MemState));
	if (st == NULL || ms == NULL)
	{
		free(st);
		free(ms);
		return NULL;
	}
	ms->fail_write_after = -1;
	ms->fail_read_after = -1;
	st->ops = &sb_mem_ops;
	st->priv = ms;
	snprintf(st->cfg.stanza, sizeof(st->cfg.stanza), "%s", "main");
	st->cfg.compress_type = SB_COMPRESS_ZLIB;
	st->cfg.compress_level = 6;
	return st;
}

void
sb_mem_storage_free(SbStorage *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	st->ops->destroy(st);
	free(st);
}

void
sb_mem_storage_fail_writes_after(SbStorage *st, int64_t limit)
{
	mem_state(st)->fail_write_after = limit;
}

void
sb_mem_storage_fail_reads_after(SbStorage *st, int64_t limit)
{
	mem_state(st)->fail_read_after = limit;
}

void
sb_mem_storage_set_ranged(SbStorage *st, bool on)
{
	mem_ops_unranged = sb_mem_ops;
	mem_ops_unranged.read_open_at = NULL;
	st->ops = on ? &sb_mem_ops : &mem_ops_unranged;
}

uint64_t
sb_mem_storage_bytes_read(SbStorage *st)
{
	return mem_state(st)->bytes_read;
}

void
sb_mem_storage_set_read_chunk(SbStorage *st, size_t n)
{
	mem_state(st)->read_chunk = n;
}

const uint8_t *
sb_mem_storage_file(SbStorage *st, const char *path, size_t *len)
{
	MemState   *ms = mem_state(st);
	int			i = find_file(ms, path);

	if (i < 0)
	{
		*len = 0;
		return NULL;
	}
	*len = ms->files[i].len;
	return ms->files[i].data != NULL ? ms->files[i].data : (const uint8_t *) "";
}

bool
sb_mem_storage_set_file(SbStorage *st, const char *path, const void *data,
						size_t len)
{
	uint8_t    *copy = malloc(len ? len : 1);

	if (copy == NULL)
		return false;
	if (len > 0)
		memcpy(copy, data, len);
	if (!put_file(mem_state(st), path, copy, len))
	{
		free(copy);
		return false;
	}
	return true;
}

int
sb_mem_storage_open_handles(SbStorage *st)
{
	return mem_state(st)->open_handles;
}

size_t
sb_mem_storage_max_write(SbStorage *st)
{
	return mem_state(st)->max_write;
}

uint64_t
sb_mem_storage_write_calls(SbStorage *st)
{
	return mem_state(st)->write_calls;
}
