/*-------------------------------------------------------------------------
 *
 * read_direct.c
 *		Read a large file past the page cache (O_DIRECT), several parts
 *		at once (io_uring or native AIO), straight into the buffers of the
 *		codec's writer thread, for the copy of a base backup.
 *
 * Read through the page cache, every 4 kB of a data directory costs the
 * kernel a page to allocate, charge and map into the cache, and a copy
 * out of it: perf over a backup of a pgbench scale-200 cluster put the
 * reading at a third of the machine's CPU samples, and on a virtual
 * machine whose free memory is handed back to the host the same read took
 * from 0.4 to 1.7 s of system time per GiB, run to run.  Read direct, the
 * disk writes into our buffers and the kernel only maps them.  The
 * database's own cached pages also stay where they are.
 *
 * Direct reads are synchronous for the disk: one at a time, a part is
 * only asked for when the previous one is checked and hashed.  So up to
 * SB_DIRECT_DEPTH reads are in flight, each into the space the async
 * filter will be handed next (sb_filter_async_space_at): its buffers are
 * aligned, and the bytes are written into the chain where they already
 * are, so nothing is copied (aio_ring.c).
 *
 * Where the filesystem refuses O_DIRECT (tmpfs on older kernels, some
 * network filesystems) or the kernel gives no ring (aio_ring.c), the caller
 * reads the file the usual way.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "read_direct.h"
#include "aio_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

SbStatus
sb_read_direct(int fd, const char *path, SbFilter *async,
			   SbDirectConsume consume, void *arg, uint64_t *offset, bool *done,
			   SbError *err)
{
	SbAioRing	r;
	struct stat st;
	int			flags = fcntl(fd, F_GETFL);
	uint64_t	next = 0;		/* where the next read starts */
	SbStatus	rc = SB_OK;

	*offset = 0;
	*done = false;
	/* O_DIRECT means something else for a pipe (packets) */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return SB_OK;
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT) != 0)
		return SB_OK;
	(void) sb_filter_async_reserve(async);
	if (sb_aio_ring_init(&r, fd, SB_DIRECT_DEPTH) != 0)
	{
		(void) fcntl(fd, F_SETFL, flags);
		return SB_OK;
	}

	while (rc == SB_OK && !*done)
	{
		SbAioOp    *p;
		int			e = 0;

		/* each read fills the offered space to the end of its buffer */
		while (r.count < SB_DIRECT_DEPTH)
		{
			size_t		room;
			uint8_t    *buf = sb_filter_async_space_at(async, next - *offset,
													   &room);

			if (buf == NULL)
				break;
			if ((e = sb_aio_ring_submit(&r, false, buf, room, next)) != 0)
			{
				rc = sb_error_errno(err, e,
									"could not read data to store as \"%s\"",
									path);
				break;
			}
			next += room;
		}
		if (rc != SB_OK)
			break;
		/* the space being filled is always offered, unless out of memory */
		if (r.count == 0)
		{
			rc = sb_error_oom(err);
			break;
		}
		if ((p = sb_aio_ring_wait_first(&r, &e)) == NULL)
		{
			rc = sb_error_errno(err, e,
								"could not read data to store as \"%s\"", path);
			break;
		}
		if (p->result == -EINVAL)
			break;				/* refused after all: the rest the usual way */
		if (p->result < 0)
		{
			rc = sb_error_errno(err, (int) -p->result,
								"could not read data to store as \"%s\"", path);
			break;
		}
		for (size_t pos = 0; pos < (size_t) p->result && rc == SB_OK;)
		{
			size_t		n = (size_t) p->result - pos;

			if (n > SB_CODEC_BUFSIZE)
				n = SB_CODEC_BUFSIZE;
			rc = consume(arg, p->buf + pos, n, p->offset + pos, err);
			pos += n;
			*offset += n;
		}
		/* a short read is the end of the file (later reads are dropped) */
		if ((size_t) p->result < p->len)
			*done = true;
		sb_aio_ring_pop(&r);
	}
	sb_aio_ring_destroy(&r);
	(void) fcntl(fd, F_SETFL, flags);
	return rc;
}
