/*-------------------------------------------------------------------------
 *
 * filter_async.c
 *		A pass-through filter that hands what it receives to a thread of
 *		its own, which pushes it into the next filter: the stages before
 *		it (reading, decrypting, decompressing, checking) and those after
 *		it (writing the local file) run on two cores at once.
 *
 * A restore spends about as long decompressing a file as writing it into
 * the page cache; with one thread per file the largest file bounds the
 * restore at the sum of both.  Data is copied into one of a few fixed
 * buffers (SB_ASYNC_BUFFERS of SB_ASYNC_BUFSIZE bytes: memory stays
 * bounded), or read straight into it by a caller that asked for the space
 * (sb_filter_async_space: copying took 6% of a backup's CPU samples); the
 * writer thread takes them in order.  An error of the
 * thread is returned by the next write or by finish; freeing the filter
 * without finishing it stops the thread and drops what was queued.
 *
 * A caller reading with O_DIRECT may read several parts ahead, each into
 * the space a buffer will take next (sb_filter_async_space_at), and have
 * all buffers allocated at once in huge pages (sb_filter_async_reserve):
 * see read_direct.c.
 *
 * The thread starts when the first buffer is full, and buffers are
 * allocated as they are first needed: a stream that fits in one buffer
 * (most files of a data directory) overlaps nothing, so finish writes it
 * on the caller's thread, without starting a thread or allocating more
 * than that one buffer.  A restore of a pgbench scale-50 cluster (977 of
 * its 979 files under 1 MiB) started and joined a thread per file before.
 *
 * In a backend (a backup's copy worker, SB_WRITE_OVERLAP) the thread runs
 * only the codec and write(2), never PostgreSQL code, and like every
 * thread of the core it starts with all signals blocked (sb_thread.c).
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "sb_large_alloc.h"
#include "sb_thread.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SB_ASYNC_BUFFERS	4

typedef struct AsyncFilter
{
	SbFilter	base;
	pthread_t	thread;
	bool		started;		/* the thread runs (from the first full buffer) */
	bool		synchronous;	/* no thread could start: written by the caller */
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* a buffer was queued or taken, or a state changed */
	uint8_t    *buf[SB_ASYNC_BUFFERS];
	uint8_t    *region;			/* all of them at once (reserve), or NULL */
	size_t		len[SB_ASYNC_BUFFERS];
	int			head;			/* next buffer the thread takes */
	int			count;			/* buffers queued */
	int			filling;		/* buffer the caller fills (not queued) */
	bool		done;			/* the caller queued its last buffer */
	bool		stop;			/* drop everything, exit */
	SbStatus	rc;				/* the thread's first error */
	SbError		err;
} AsyncFilter;

/*
 * Allocate buffer i if it is not yet (aligned: a caller may read into it
 * with O_DIRECT, see read_direct.c).  Only for a buffer the thread does
 * not hold.
 */
static bool
allocate(AsyncFilter *a, int i)
{
	void	   *p;

	if (a->buf[i] != NULL)
		return true;
	if (posix_memalign(&p, SB_ASYNC_ALIGN, SB_ASYNC_BUFSIZE) != 0)
		return false;
	a->buf[i] = p;
	return true;
}

static void *
async_main(void *arg)
{
	AsyncFilter *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;)
	{
		int			i;
		SbStatus	rc;

		while (a->count == 0 && !a->done && !a->stop)
			pthread_cond_wait(&a->changed, &a->lock);
		if (a->stop || a->count == 0)
			break;
		i = a->head;
		pthread_mutex_unlock(&a->lock);

		/* after an error, buffers are only dropped */
		rc = a->rc == SB_OK ? sb_filter_write(a->base.next, a->buf[i], a->len[i], &a->err) : a->rc;

		pthread_mutex_lock(&a->lock);
		a->rc = rc;
		a->head = (a->head + 1) % SB_ASYNC_BUFFERS;
		a->count--;
		pthread_cond_broadcast(&a->changed);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Start the writer thread (with every signal blocked in it). */
static bool
start_thread(AsyncFilter *a)
{
	a->started = sb_thread_start(&a->thread, async_main, a);
	return a->started;
}

/*
 * Hand the full buffer being filled to the thread (starting it the first
 * time) and wait for a free one to fill next.  Where no thread can be
 * started the buffer is written here, as the thread would have.
 */
static SbStatus
queue_filling(AsyncFilter *a, SbError *err)
{
	SbStatus	rc;

	if (!a->started && (a->synchronous || !start_thread(a)))
	{
		a->synchronous = true;
		rc = sb_filter_write(a->base.next, a->buf[a->filling],
							 a->len[a->filling], err);
		a->len[a->filling] = 0;
		return rc;
	}
	pthread_mutex_lock(&a->lock);
	a->count++;
	pthread_cond_broadcast(&a->changed);
	/* the thread holds count buffers; one more is needed to fill */
	while (a->count == SB_ASYNC_BUFFERS && a->rc == SB_OK)
		pthread_cond_wait(&a->changed, &a->lock);
	a->filling = (a->head + a->count) % SB_ASYNC_BUFFERS;
	a->len[a->filling] = 0;
	rc = a->rc;
	pthread_mutex_unlock(&a->lock);
	if (rc != SB_OK)
		*err = a->err;
	return rc;
}

static SbStatus
async_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	AsyncFilter *a = (AsyncFilter *) f;

	while (len > 0)
	{
		size_t		room = SB_ASYNC_BUFSIZE - a->len[a->filling];
		size_t		n = len < room ? len : room;
		uint8_t    *dst;

		/* not queued, so the thread never touches it: allocated here */
		if (!allocate(a, a->filling))
			return sb_error_oom(err);
		dst = a->buf[a->filling] + a->len[a->filling];
		/* read into sb_filter_async_space() by the caller: already there */
		if (buf != dst)
			memcpy(dst, buf, n);
		a->len[a->filling] += n;
		buf += n;
		len -= n;
		if (a->len[a->filling] == SB_ASYNC_BUFSIZE)
		{
			SbStatus	rc = queue_filling(a, err);

			if (rc != SB_OK)
				return rc;
		}
	}
	return SB_OK;
}

/*
 * A full buffer is queued at once, so the one being filled has room.  The
 * buffers are taken in ring order: the one filled after buffer i is i + 1
 * (queue_filling), so the k-th after the one being filled may be read into
 * ahead of time while the thread holds fewer than SB_ASYNC_BUFFERS - k
 * (it only ever gives buffers back meanwhile).
 */
uint8_t *
sb_filter_async_space_at(SbFilter *f, size_t ahead, size_t *room)
{
	AsyncFilter *a = (AsyncFilter *) f;
	size_t		pos;
	int			k;
	int			i;

	if (f->write != async_write)
		return NULL;			/* not an async filter: no space to offer */
	pos = a->len[a->filling] + ahead;
	k = (int) (pos / SB_ASYNC_BUFSIZE);
	if (k >= SB_ASYNC_BUFFERS)
		return NULL;
	if (k > 0)
	{
		bool		free_now;

		/* written by this thread alone: the same buffer is filled again */
		if (a->synchronous)
			return NULL;
		pthread_mutex_lock(&a->lock);
		free_now = a->count + k < SB_ASYNC_BUFFERS;
		pthread_mutex_unlock(&a->lock);
		if (!free_now)
			return NULL;
	}
	i = (a->filling + k) % SB_ASYNC_BUFFERS;
	if (!allocate(a, i))
		return NULL;
	*room = SB_ASYNC_BUFSIZE - pos % SB_ASYNC_BUFSIZE;
	return a->buf[i] + pos % SB_ASYNC_BUFSIZE;
}

/*
 * For direct reads (read_direct.c): every buffer at once, in one region
 * that the kernel is asked to back with 2 MiB pages.  A virtual disk gets
 * a direct read as a list of the buffer's physical pages: 256 of 4 kB for
 * 1 MiB (split in two requests: virtio-blk takes 254 at most), or one or
 * two large ones.  A 1 GiB table segment read direct, three reads in
 * flight, on the project machine: 1.1-1.6 GB/s into buffers of 4 kB pages,
 * 3.1-3.3 GB/s into these.  No more memory than four buffers.
 */
bool
sb_filter_async_reserve(SbFilter *f)
{
	AsyncFilter *a = (AsyncFilter *) f;
	size_t		size = (size_t) SB_ASYNC_BUFFERS * SB_ASYNC_BUFSIZE;
	void	   *p;

	if (f->write != async_write)
		return false;
	for (int i = 0; i < SB_ASYNC_BUFFERS; i++)
		if (a->buf[i] != NULL)
			return a->region != NULL;	/* too late, or done already */
	if ((p = sb_large_alloc(size)) == NULL)
		return false;
	a->region = p;
	for (int i = 0; i < SB_ASYNC_BUFFERS; i++)
		a->buf[i] = a->region + (size_t) i * SB_ASYNC_BUFSIZE;
	return true;
}

uint8_t *
sb_filter_async_space(SbFilter *f, size_t *room)
{
	return sb_filter_async_space_at(f, 0, room);
}

static SbStatus
async_finish(SbFilter *f, SbError *err)
{
	AsyncFilter *a = (AsyncFilter *) f;
	SbStatus	rc;

	if (!a->started)
	{
		/* all of it fitted in one buffer (or no thread could start) */
		if (a->len[a->filling] > 0)
		{
			rc = sb_filter_write(f->next, a->buf[a->filling],
								 a->len[a->filling], err);
			a->len[a->filling] = 0;
			if (rc != SB_OK)
				return rc;
		}
		return sb_filter_finish(f->next, err);
	}
	pthread_mutex_lock(&a->lock);
	if (a->len[a->filling] > 0)
		a->count++;
	a->done = true;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->started = false;
	rc = a->rc;
	if (rc != SB_OK)
	{
		*err = a->err;
		return rc;
	}
	return sb_filter_finish(f->next, err);
}

static void
async_free(SbFilter *f)
{
	AsyncFilter *a = (AsyncFilter *) f;

	if (a->started)
	{
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_broadcast(&a->changed);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->changed);
	if (a->region != NULL)
		free(a->region);
	else
		for (int i = 0; i < SB_ASYNC_BUFFERS; i++)
			free(a->buf[i]);
	free(a);
}

SbFilter *
sb_filter_async_new(SbFilter *next)
{
	AsyncFilter *a = calloc(1, sizeof(AsyncFilter));

	if (a == NULL)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->changed, NULL);
	a->base.write = async_write;
	a->base.space = sb_filter_async_space;
	a->base.finish = async_finish;
	a->base.free = async_free;
	a->base.next = next;
	return &a->base;
}
