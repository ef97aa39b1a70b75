/*-------------------------------------------------------------------------
 *
 * aio_ring.c
 *		Direct reads and writes of one file in flight at once, through
 *		Linux native AIO (aio_ring.h says why).
 *
 * Native AIO, not io_uring: it needs no library, and container runtimes
 * commonly forbid io_uring.  glibc has no wrappers for its system calls.
 * Requests finish in any order; the ring hands them back in the order
 * they were asked for, which is the order of the file.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "aio_ring.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
sb_aio_ring_init(SbAioRing *r, int fd, int depth)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->depth = depth < 1 ? 1 : depth > SB_AIO_MAX_DEPTH ? SB_AIO_MAX_DEPTH : depth;
	if (syscall(SYS_io_setup, (unsigned int) r->depth, &r->ctx) != 0)
	{
		r->ctx = 0;
		return errno;
	}
	return 0;
}

int
sb_aio_ring_submit(SbAioRing *r, bool write, uint8_t *buf, size_t len,
				   uint64_t offset)
{
	SbAioOp    *op = &r->ops[(r->first + r->count) % r->depth];
	struct iocb *cb = &op->cb;

	if (r->count == r->depth)
		return EAGAIN;
	memset(op, 0, sizeof(*op));
	op->buf = buf;
	op->len = len;
	op->offset = offset;
	cb->aio_data = (uint64_t) (uintptr_t) op;
	cb->aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
	cb->aio_fildes = (uint32_t) r->fd;
	cb->aio_buf = (uint64_t) (uintptr_t) buf;
	cb->aio_nbytes = len;
	cb->aio_offset = (int64_t) offset;
	for (;;)
	{
		long		n = syscall(SYS_io_submit, r->ctx, 1L, &cb);

		if (n == 1)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? errno : EIO;
	}
	r->count++;
	return 0;
}

SbAioOp *
sb_aio_ring_wait_first(SbAioRing *r, int *e)
{
	SbAioOp    *first = &r->ops[r->first];

	while (!first->finished)
	{
		struct io_event ev[SB_AIO_MAX_DEPTH];
		long		n = syscall(SYS_io_getevents, r->ctx, 1L,
								(long) SB_AIO_MAX_DEPTH, ev, NULL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			*e = errno;
			return NULL;
		}
		for (long i = 0; i < n; i++)
		{
			SbAioOp    *op = (SbAioOp *) (uintptr_t) ev[i].data;

			op->finished = true;
			op->result = ev[i].res;
		}
	}
	return first;
}

void
sb_aio_ring_pop(SbAioRing *r)
{
	r->first = (r->first + 1) % r->depth;
	r->count--;
}

void
sb_aio_ring_destroy(SbAioRing *r)
{
	/* waits for the requests still in flight */
	if (r->ctx != 0)
		(void) syscall(SYS_io_destroy, r->ctx);
	r->ctx = 0;
	r->count = 0;
}
