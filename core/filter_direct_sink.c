/*-------------------------------------------------------------------------
 *
 * filter_direct_sink.c
 *		A sink that writes a new file with O_DIRECT: the bytes go from one
 *		aligned buffer to the disk without passing through the page cache.
 *
 * A restore writes every byte of a backup once and reads none of it back.
 * Through the page cache, each 4 kB page is first allocated and copied
 * into, then written back; in a virtual machine that hands free memory back
 * to its host (free page reporting), each such page is also faulted in by
 * the host.  Measured on the project machine, 771 MB written in 1 MiB
 * writes: with O_DIRECT 0.52 s (0.08 s of system time), buffered and
 * flushed 1.23 s (0.91 s).  Restores of a pgbench scale-50 backup, seven
 * alternating pairs: 0.50-0.65 s with its two large files written direct,
 * 0.75-1.22 s buffered (system time 0.18-0.24 s against 0.64-1.19 s).
 *
 * Only files of at least SB_DIRECT_MIN_SIZE are written direct: a direct
 * write returns when the disk has the data, so for the many small files
 * of a data directory it would make the restore wait for the disk file by
 * file, while a buffered write returns at once.  Smaller files, and files
 * where direct I/O cannot start, get the plain descriptor sink.
 *
 * O_DIRECT wants the buffer, the file offset and the length aligned to the
 * device's logical block size (SB_DIRECT_ALIGN covers 512 and 4096).  Whole
 * buffers are written direct; at finish, so is the aligned part of what is
 * left, and the last partial block is written after O_DIRECT is switched
 * off again.  Where the file system refuses O_DIRECT (tmpfs, some network
 * file systems), or a direct write fails with EINVAL, the sink writes
 * buffered from there on.  Durability is the caller's: a restore ends with
 * syncfs(), which flushes the device's cache and the files' metadata.
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

/* alignment of buffer, offsets and lengths of direct writes */
#define SB_DIRECT_ALIGN		4096
/* bytes gathered before one direct write */
#define SB_DIRECT_BUFSIZE	(1024 * 1024)

typedef struct DirectSink
{
	SbFilter	base;
	int			fd;
	bool		direct;			/* O_DIRECT is on for fd */
	uint8_t    *buf;			/* SB_DIRECT_BUFSIZE bytes, aligned */
	size_t		len;			/* bytes gathered in buf */
} DirectSink;

/* Switch O_DIRECT on or off for the sink's descriptor. */
static bool
set_direct(DirectSink *s, bool on)
{
#ifdef O_DIRECT
	int			flags = fcntl(s->fd, F_GETFL);

	if (flags < 0 ||
		fcntl(s->fd, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT)) != 0)
		return false;
	s->direct = on;
	return true;
#else
	(void) s;
	return !on;
#endif
}

/* Write len bytes; a direct write refused as misaligned is done buffered. */
static SbStatus
put(DirectSink *s, const uint8_t *buf, size_t len, SbError *err)
{
	size_t		done;
	SbStatus	rc = sb_fd_write_all(s->fd, buf, len, &done, err);

	if (rc != SB_OK && err->sys_errno == EINVAL && s->direct && set_direct(s, false))
		rc = sb_fd_write_all(s->fd, buf + done, len - done, &done, err);
	return rc;
}

static SbStatus
direct_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	DirectSink *s = (DirectSink *) f;

	if (!s->direct)
		return put(s, buf, len, err);
	while (len > 0)
	{
		size_t		n = SB_DIRECT_BUFSIZE - s->len;

		if (n > len)
			n = len;
		memcpy(s->buf + s->len, buf, n);
		s->len += n;
		buf += n;
		len -= n;
		if (s->len == SB_DIRECT_BUFSIZE)
		{
			SbStatus	rc = put(s, s->buf, s->len, err);

			s->len = 0;
			if (rc != SB_OK)
				return rc;
			/* refused: the rest of the file goes through the page cache */
			if (!s->direct)
				return put(s, buf, len, err);
		}
	}
	return SB_OK;
}

/* The aligned part of what is left direct, the last partial block not. */
static SbStatus
direct_sink_finish(SbFilter *f, SbError *err)
{
	DirectSink *s = (DirectSink *) f;
	size_t		aligned = s->len - s->len % SB_DIRECT_ALIGN;
	SbStatus	rc = SB_OK;

	if (s->len > 0 && s->direct)
		rc = put(s, s->buf, aligned, err);
	if (rc == SB_OK && s->direct && !set_direct(s, false))
		rc = sb_error_errno(err, errno,
							"could not turn off O_DIRECT for file descriptor %d", s->fd);
	if (rc == SB_OK && s->len > aligned)
		rc = put(s, s->buf + aligned, s->len - aligned, err);
	s->len = 0;
	return rc;
}

static void
direct_sink_free(SbFilter *f)
{
	DirectSink *s = (DirectSink *) f;

	free(s->buf);
	free(s);
}

SbFilter *
sb_filter_direct_sink_new(int fd, uint64_t size)
{
	DirectSink *s;

	if (size < SB_DIRECT_MIN_SIZE || lseek(fd, 0, SEEK_CUR) % SB_DIRECT_ALIGN != 0)
		return sb_filter_fd_sink_new(fd);
	s = calloc(1, sizeof(DirectSink));
	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->base.write = direct_sink_write;
	s->base.finish = direct_sink_finish;
	s->base.free = direct_sink_free;
	s->base.next = NULL;
	if (posix_memalign((void **) &s->buf, SB_DIRECT_ALIGN, SB_DIRECT_BUFSIZE) != 0)
	{
		free(s);
		return NULL;
	}
	/* where the file system refuses O_DIRECT, the plain sink */
	if (!set_direct(s, true))
	{
		direct_sink_free(&s->base);
		return sb_filter_fd_sink_new(fd);
	}
	return &s->base;
}

bool
sb_filter_direct_sink_is_direct(const SbFilter *f)
{
	return f->write == direct_sink_write && ((const DirectSink *) f)->direct;
}
