/*-------------------------------------------------------------------------
 *
 * aio_ring.h
 *		Several direct reads or writes of one file in flight at once
 *		(io_uring, else Linux native AIO), finished in the order they were
 *		asked for.
 *
 * The disk of a virtual machine serves one 1 MiB request at a time at
 * about half the rate it serves three or more: a file read or written with
 * O_DIRECT, one request after the other, leaves it idle between them.
 * Used by read_direct.c (a backup reads its large files) and
 * filter_direct_sink.c (a restore writes them).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_AIO_RING_H
#define SB_AIO_RING_H

#include <linux/aio_abi.h>
#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_AIO_MAX_DEPTH	8

/* One request */
typedef struct SbAioOp
{
	struct iocb cb;				/* native AIO only */
	uint8_t    *buf;
	size_t		len;			/* bytes asked for */
	uint64_t	offset;
	bool		finished;
	long long	result;			/* bytes moved, or -errno */
} SbAioOp;

typedef struct SbAioRing
{
	int			fd;
	int			depth;			/* requests in flight at most */
	bool		use_uring;		/* io_uring; else native AIO (ctx) */
	struct io_uring uring;
	aio_context_t ctx;
	SbAioOp		ops[SB_AIO_MAX_DEPTH];	/* a ring, in the order asked */
	int			first;			/* the oldest in flight */
	int			count;			/* in flight */
} SbAioRing;

/* Set up a ring of depth requests for fd; 0 or an errno (neither kind here). */
extern int	sb_aio_ring_init(SbAioRing *r, int fd, int depth);
/* The same with native AIO only (where io_uring is refused; the tests) */
extern int	sb_aio_ring_init_native(SbAioRing *r, int fd, int depth);
/* Ask to read (or write) len bytes at offset into (from) buf; 0 or an errno. */
extern int	sb_aio_ring_submit(SbAioRing *r, bool write, uint8_t *buf,
							   size_t len, uint64_t offset);
/*
 * Wait until the oldest request in flight (count > 0) has finished and
 * return it (its result set), or NULL with *e the errno of the wait.  It
 * stays in the ring until sb_aio_ring_pop.
 */
extern SbAioOp *sb_aio_ring_wait_first(SbAioRing *r, int *e);
extern void sb_aio_ring_pop(SbAioRing *r);
/* Release the ring, after waiting for whatever is still in flight. */
extern void sb_aio_ring_destroy(SbAioRing *r);

#endif							/* SB_AIO_RING_H */
