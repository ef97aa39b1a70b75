/*-------------------------------------------------------------------------
 *
 * filter_sink.c
 *		The sinks that end a filter chain: into a storage writer, into a
 *		file descriptor, or into a growing memory buffer.
 *
 * Only the buffer sink grows, bounded by the max_len its creator chose.
 *
 * The file descriptor sink asks the kernel to start writing back each
 * SB_SINK_WRITEBACK bytes as soon as they are written (Linux
 * sync_file_range, SYNC_FILE_RANGE_WRITE: it does not wait for them to be
 * on disk).  A restore flushes everything it wrote at its end (syncfs);
 * without this the disk stayed idle while files were decompressed and
 * written into the page cache, and then took the whole flush at once.
 * (A restore now writes files of SB_DIRECT_MIN_SIZE and more with
 * O_DIRECT, filter_direct_sink.c: it reaches this sink with large files
 * only where the file system refuses O_DIRECT.)
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ----------------------------------------------------------------
 *		Sinks
 * ----------------------------------------------------------------
 */

typedef struct StorageSink
{
	SbFilter	base;
	SbStorage  *st;
	SbWriter   *w;
} StorageSink;

static SbStatus
storage_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	StorageSink *s = (StorageSink *) f;

	return sb_storage_write(s->st, s->w, buf, len, err);
}

/* The caller commits or aborts the writer; nothing to do here. */
static SbStatus
sink_finish_noop(SbFilter *f, SbError *err)
{
	(void) f;
	(void) err;
	return SB_OK;
}

static void
sink_free_plain(SbFilter *f)
{
	free(f);
}

SbFilter *
sb_filter_storage_sink_new(SbStorage *st, SbWriter *w)
{
	StorageSink *s;

	s = calloc(1, sizeof(StorageSink));
	if (s == NULL)
		return NULL;
	s->st = st;
	s->w = w;
	s->base.write = storage_sink_write;
	s->base.finish = sink_finish_noop;
	s->base.free = sink_free_plain;
	s->base.next = NULL;
	return &s->base;
}

/* writeback is started for each this many bytes written to a descriptor */
#define SB_SINK_WRITEBACK	((off_t) 8 * 1024 * 1024)

typedef struct FdSink
{
	SbFilter	base;
	int			fd;
	off_t		offset;			/* where the next write goes (-1: unknown) */
	off_t		writeback_from; /* first byte not yet handed to writeback */
} FdSink;

/* Start writeback of what was written since the last call, if it is enough. */
static void
fd_sink_start_writeback(FdSink *s)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (s->offset < 0 || s->offset - s->writeback_from < SB_SINK_WRITEBACK)
		return;
	/* a hint: a failure here shows in the final flush, which checks */
	(void) sync_file_range(s->fd, s->writeback_from,
						   s->offset - s->writeback_from,
						   SYNC_FILE_RANGE_WRITE);
	s->writeback_from = s->offset;
#else
	(void) s;
#endif
}

SbStatus
sb_fd_write_all(int fd, const uint8_t *buf, size_t len, size_t *done,
				SbError *err)
{
	*done = 0;
	while (len > 0)
	{
		size_t		chunk = len < (size_t) SSIZE_MAX ? len : (size_t) SSIZE_MAX;
		ssize_t		n;

		errno = 0;
		n = write(fd, buf, chunk);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return sb_error_errno(err, errno,
								  "could not write to file descriptor %d", fd);
		}
		if (n == 0)
		{
			/* a write that makes no progress and sets no errno: disk full */
			return sb_error_errno(err, errno ? errno : ENOSPC,
								  "could not write to file descriptor %d", fd);
		}
		buf += n;
		len -= (size_t) n;
		*done += (size_t) n;
	}
	return SB_OK;
}

static SbStatus
fd_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	FdSink	   *s = (FdSink *) f;
	size_t		done;
	SbStatus	rc;

	rc = sb_fd_write_all(s->fd, buf, len, &done, err);
	if (s->offset >= 0)
		s->offset += (off_t) done;
	if (rc != SB_OK)
		return rc;
	fd_sink_start_writeback(s);
	return SB_OK;
}

SbFilter *
sb_filter_fd_sink_new(int fd)
{
	FdSink	   *s;

	s = calloc(1, sizeof(FdSink));
	if (s == NULL)
		return NULL;
	s->fd = fd;
	/* -1 for a pipe or socket: no writeback to start */
	s->offset = lseek(fd, 0, SEEK_CUR);
	s->writeback_from = s->offset;
	s->base.write = fd_sink_write;
	s->base.finish = sink_finish_noop;
	s->base.free = sink_free_plain;
	s->base.next = NULL;
	return &s->base;
}

typedef struct BufferSink
{
	SbFilter	base;
	size_t		max_len;
	char	   *data;			/* NUL-terminated, not counted in len (but
								 * for a fixed buffer) */
	size_t		len;
	size_t		cap;			/* allocated bytes, including the NUL */
	bool		fixed;			/* data is the caller's max_len bytes */
	SbSinkProgress progress;	/* fixed: told of each write, or NULL */
	void	   *progress_arg;
} BufferSink;

static SbStatus
buffer_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	BufferSink *s = (BufferSink *) f;

	if (len > s->max_len - s->len)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"file is larger than %zu bytes", s->max_len);
	if (s->fixed)
	{
		memcpy(s->data + s->len, buf, len);
		s->len += len;
		if (s->progress != NULL && !s->progress(s->progress_arg, s->len))
			return sb_error_set(err, SB_ERR_IO,
								"reading stopped after %zu bytes: no longer needed",
								s->len);
		return SB_OK;
	}
	if (s->len + len == SIZE_MAX)	/* no room for the NUL (max_len SIZE_MAX) */
		return sb_error_oom(err);

	if (s->len + len + 1 > s->cap)
	{
		size_t		want = s->len + len + 1;
		size_t		newcap = s->cap ? s->cap : 8192;
		char	   *p;

		while (newcap < want)
		{
			if (newcap > SIZE_MAX / 2)
			{
				newcap = want;
				break;
			}
			newcap *= 2;
		}
		/* never allocate beyond what max_len allows */
		if (s->max_len < SIZE_MAX && newcap > s->max_len + 1)
			newcap = s->max_len + 1;
		if (newcap < want)
			newcap = want;
		p = realloc(s->data, newcap);
		if (p == NULL)
			return sb_error_oom(err);
		s->data = p;
		s->cap = newcap;
	}
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	s->data[s->len] = '\0';
	return SB_OK;
}

static void
buffer_sink_free(SbFilter *f)
{
	BufferSink *s = (BufferSink *) f;

	if (s == NULL)
		return;
	if (!s->fixed)
		free(s->data);
	free(s);
}

SbFilter *
sb_filter_buffer_sink_new(size_t max_len)
{
	BufferSink *s;

	s = calloc(1, sizeof(BufferSink));
	if (s == NULL)
		return NULL;
	s->max_len = max_len;
	s->base.write = buffer_sink_write;
	s->base.finish = sink_finish_noop;
	s->base.free = buffer_sink_free;
	s->base.next = NULL;
	return &s->base;
}

SbFilter *
sb_filter_fixed_sink_new(void *buf, size_t cap)
{
	BufferSink *s = (BufferSink *) sb_filter_buffer_sink_new(cap);

	if (s == NULL)
		return NULL;
	s->data = buf;
	s->cap = cap;
	s->fixed = true;
	return &s->base;
}

void
sb_filter_fixed_sink_watch(SbFilter *f, SbSinkProgress progress, void *arg)
{
	BufferSink *s = (BufferSink *) f;

	if (f->write == buffer_sink_write && s->fixed)
	{
		s->progress = progress;
		s->progress_arg = arg;
	}
}

const char *
sb_filter_buffer_data(SbFilter *f, size_t *len)
{
	BufferSink *s = (BufferSink *) f;

	if (f == NULL || f->write != buffer_sink_write)
	{
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = s->len;
	return s->data != NULL ? s->data : "";
}
