/*-------------------------------------------------------------------------
 *
 * aio_ring.c
 *		Direct reads and writes of one file in flight at once, through
 *		io_uring (liburing) or, where that is refused, Linux native AIO
 *		(aio_ring.h says why).
 *
 * io_uring first: releasing a native AIO context waits for the kernel's
 * RCU grace periods, 32 ms on the project machine (io_destroy, or the
 * exit of a process that still has one), once per large file a backup
 * reads or a restore writes, and the last one right before the copy or
 * the restore ends.  An io_uring is released at once; the kernel tears
 * it down later.  Container runtimes commonly forbid io_uring (seccomp,
 * kernel.io_uring_disabled): then native AIO, which needs no library.
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
sb_aio_ring_init_native(SbAioRing *r, int fd, int depth)
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
sb_aio_ring_init(SbAioRing *r, int fd, int depth)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->depth = depth < 1 ? 1 : depth > SB_AIO_MAX_DEPTH ? SB_AIO_MAX_DEPTH : depth;
	if (io_uring_queue_init((unsigned int) r->depth, &r->uring, 0) == 0)
	{
		r->use_uring = true;
		return 0;
	}
	return sb_aio_ring_init_native(r, fd, depth);
}

/* io_uring: queue the request and hand it to the kernel. */
static int
submit_uring(SbAioRing *r, SbAioOp *op, bool write)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
	int			n;

	/* the ring has room for depth requests, and count < depth */
	if (sqe == NULL)
		return EAGAIN;
	if (write)
		io_uring_prep_write(sqe, r->fd, op->buf, (unsigned int) op->len,
							op->offset);
	else
		io_uring_prep_read(sqe, r->fd, op->buf, (unsigned int) op->len,
						   op->offset);
	io_uring_sqe_set_data(sqe, op);
	while ((n = io_uring_submit(&r->uring)) == -EINTR)
		;
	return n == 1 ? 0 : n < 0 ? -n : EIO;
}

/* Native AIO: one io_submit. */
static int
submit_native(SbAioRing *r, SbAioOp *op, bool write)
{
	struct iocb *cb = &op->cb;

	cb->aio_data = (uint64_t) (uintptr_t) op;
	cb->aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
	cb->aio_fildes = (uint32_t) r->fd;
	cb->aio_buf = (uint64_t) (uintptr_t) op->buf;
	cb->aio_nbytes = op->len;
	cb->aio_offset = (int64_t) op->offset;
	for (;;)
	{
		long		n = syscall(SYS_io_submit, r->ctx, 1L, &cb);

		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? errno : EIO;
	}
}

int
sb_aio_ring_submit(SbAioRing *r, bool write, uint8_t *buf, size_t len,
				   uint64_t offset)
{
	SbAioOp    *op = &r->ops[(r->first + r->count) % r->depth];
	int			e;

	if (r->count == r->depth)
		return EAGAIN;
	memset(op, 0, sizeof(*op));
	op->buf = buf;
	op->len = len;
	op->offset = offset;
	e = r->use_uring ? submit_uring(r, op, write) : submit_native(r, op, write);
	if (e != 0)
		return e;
	r->count++;
	return 0;
}

/* Wait for at least one request to finish and mark what finished. */
static int
reap_uring(SbAioRing *r)
{
	struct io_uring_cqe *cqe;
	int			e;

	while ((e = io_uring_wait_cqe(&r->uring, &cqe)) == -EINTR)
		;
	if (e < 0)
		return -e;
	do
	{
		SbAioOp    *op = io_uring_cqe_get_data(cqe);

		op->finished = true;
		op->result = cqe->res;
		io_uring_cqe_seen(&r->uring, cqe);
	} while (io_uring_peek_cqe(&r->uring, &cqe) == 0);
	return 0;
}

static int
reap_native(SbAioRing *r)
{
	struct io_event ev[SB_AIO_MAX_DEPTH];
	long		n;

	while ((n = syscall(SYS_io_getevents, r->ctx, 1L, (long) SB_AIO_MAX_DEPTH,
						ev, NULL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return errno;
	for (long i = 0; i < n; i++)
	{
		SbAioOp    *op = (SbAioOp *) (uintptr_t) ev[i].data;

		op->finished = true;
		op->result = ev[i].res;
	}
	return 0;
}

SbAioOp *
sb_aio_ring_wait_first(SbAioRing *r, int *e)
{
	SbAioOp    *first = &r->ops[r->first];

	while (!first->finished)
	{
		int			rc = r->use_uring ? reap_uring(r) : reap_native(r);

		if (rc != 0)
		{
			*e = rc;
			return NULL;
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
	if (r->use_uring)
	{
		/*
		 * The kernel may still read from (or write into) the buffers of the
		 * requests in flight, which the caller frees next: wait for them.
		 */
		while (r->count > 0)
		{
			int			e;

			if (sb_aio_ring_wait_first(r, &e) == NULL)
				break;
			sb_aio_ring_pop(r);
		}
		io_uring_queue_exit(&r->uring);
		r->use_uring = false;
	}
	/* io_destroy waits for the requests still in flight */
	else if (r->ctx != 0)
		(void) syscall(SYS_io_destroy, r->ctx);
	r->ctx = 0;
	r->count = 0;
}
