/*-------------------------------------------------------------------------
 *
 * restore_wal_source.c
 *		WAL segments for the delta restore's change list
 *		(restore_delta_wal.c): from the target's pg_wal when a whole segment
 *		is there, else from the repository (verified by its digest, as
 *		archive-get does), read by threads while the decoder works.
 *
 * Each segment is read into one of NSLOTS buffers by a thread of its own,
 * each thread over its own repository session (a network session serves
 * one thread at a time): the segment the decoder asks for and the next
 * ones of its timeline, up to the one holding the end LSN (no further).
 * The decoder gets a segment's bytes as they come in (from the repository
 * in the codec's chunks, from pg_wal by the megabyte), so decoding a
 * segment overlaps reading it, and a segment holding little WAL (one that
 * a backup's start or stop switched away from: a few records, then zeros)
 * is left as soon as its switch record is read, and its reading stopped.
 * A segment from the repository is checked against its digest only once
 * all of it has been read, so one the decoder read to its end must have
 * passed before the list is used (sb_restore_wal_source_end()).  One it
 * left before its end is not checked: the records read from it were,
 * each by its CRC-32C, and the rest of it is not used (recovery then gets
 * it through archive-get, which checks it whole).  Reading a segment
 * nobody wants any more is stopped.  When no thread can start (no second
 * session), the decoder's thread reads the segment itself with the
 * restore's session.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "sb_large_alloc.h"
#include "sb_thread.h"
#include "wal.h"
#include "wal_timeline.h"

#define NSLOTS				3
/*
 * Of the local segment holding the end LSN (the last checkpoint record),
 * only this much past the end is read: the record is short, and the
 * decoder reads no further.
 */
#define END_SLACK			((uint64_t) 64 * 1024)
/* larger segments get one buffer, and none is read ahead: more would cost too much */
#define PREFETCH_MAX_SEGSIZE	((uint64_t) 64 * 1024 * 1024)
/* a local segment is read, and handed on, by this much */
#define LOCAL_CHUNK			((size_t) 1024 * 1024)
/* the decoder is handed a segment in this many parts at most */
#define HANDOVER_PARTS		16

typedef struct Slot
{
	struct RestoreWalSource *src;
	SbStorage  *st;				/* its own session, opened when first used */
	pthread_t	thread;
	bool		running;		/* a thread was started and not joined yet */
	char		name[SB_WAL_SEG_NAME_LEN + 1];	/* what it holds; "" nothing */
	unsigned char *buf;
	bool		used;			/* given to the decoder and read to its end, or
								 * being read: its outcome counts */
	size_t		handed;			/* the most bytes handed to the decoder */
	/* shared with the slot's thread, under src->lock */
	size_t		filled;			/* bytes of buf read so far */
	bool		done;			/* the reading ended, rc says how */
	bool		stop;			/* nobody wants the rest */
	bool		from_repo;		/* not in pg_wal: from the repository */
	SbStatus	rc;
	SbError		err;
} Slot;

struct RestoreWalSource
{
	Restore    *r;
	uint64_t	segsize;
	uint64_t	end_lsn;
	uint64_t	from_repo;		/* segments used that came from the repository */
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* a slot got more bytes, or ended */
	int			nslots;
	Slot	   *current;		/* the one the decoder reads */
	SbStatus	failed;			/* of the first segment used that failed */
	SbError		fail_err;
	Slot		slots[NSLOTS];
};

/* The reading of s got len bytes in; false: stop it. */
static bool
published(void *arg, size_t len)
{
	Slot	   *s = arg;
	bool		stop;

	pthread_mutex_lock(&s->src->lock);
	s->filled = len;
	stop = s->stop;
	pthread_cond_broadcast(&s->src->changed);
	pthread_mutex_unlock(&s->src->lock);
	return !stop;
}

/*
 * Read the first len bytes of the local segment path (segsize bytes long)
 * into s->buf, handing them on as they come; *got says how many were.
 */
static SbStatus
read_local(Slot *s, const char *path, uint64_t len, uint64_t *got,
		   SbError *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	SbStatus	rc = SB_OK;

	*got = 0;
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open file \"%s\"", path);
	if (fstat(fd, &sb) != 0 || (uint64_t) sb.st_size != s->src->segsize)
	{
		close(fd);
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"file \"%s\" is not a whole WAL segment", path);
	}
	while (*got < len && rc == SB_OK)
	{
		size_t		want = len - *got < LOCAL_CHUNK ? (size_t) (len - *got) : LOCAL_CHUNK;
		ssize_t		n = read(fd, s->buf + *got, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = sb_error_errno(err, n < 0 ? errno : EIO,
								"could not read file \"%s\"", path);
		else
		{
			*got += (uint64_t) n;
			if (!published(s, (size_t) *got))
				rc = sb_error_set(err, SB_ERR_IO, "reading of \"%s\" stopped", path);
		}
	}
	close(fd);
	return rc;
}

/*
 * Read the segment s->name into s->buf: from pg_wal first (recent segments
 * are there), else from the repository through st.
 */
static SbStatus
load(Slot *s, SbStorage *st, SbError *err)
{
	RestoreWalSource *src = s->src;
	char		path[RESTORE_PATH_LEN];
	SbWalEntry	entry;
	SbFilter   *sink;
	SbStatus	rc;
	unsigned int tli;
	uint64_t	segno;
	uint64_t	want = src->segsize;
	uint64_t	got;

	/* of the segment holding the end, what the decoder may look at */
	if (sb_wal_parse_segment(s->name, src->segsize, &tli, &segno) &&
		segno == src->end_lsn / src->segsize)
		want = (src->end_lsn % src->segsize + END_SLACK + 8191) / 8192 * 8192;
	if (want > src->segsize)
		want = src->segsize;
	snprintf(path, sizeof(path), "%s/pg_wal/%s", src->r->target, s->name);
	rc = read_local(s, path, want, &got, err);
	if (rc == SB_OK || got > 0)
		return rc;				/* bytes handed on are not read again */
	sb_error_clear(err);

	rc = sb_wal_find(st, src->r->o->stanza, s->name, &entry, err);
	if (rc != SB_OK)
		return rc;
	sink = sb_filter_fixed_sink_new(s->buf, (size_t) src->segsize);
	if (sink == NULL)
		return sb_error_oom(err);
	sb_filter_fixed_sink_watch(sink, published, s);
	pthread_mutex_lock(&src->lock);
	s->from_repo = true;
	pthread_mutex_unlock(&src->lock);
	rc = sb_codec_fetch(st, entry.name, entry.compress_type, sink,
						entry.digest, src->segsize, NULL, err);
	sb_filter_free_chain(sink);
	return rc;
}

/* The reading of s is over. */
static void
ended(Slot *s, SbStatus rc, const SbError *err)
{
	pthread_mutex_lock(&s->src->lock);
	s->rc = rc;
	s->err = *err;
	s->done = true;
	pthread_cond_broadcast(&s->src->changed);
	pthread_mutex_unlock(&s->src->lock);
}

static void *
slot_thread(void *arg)
{
	Slot	   *s = arg;
	SbError		err;
	SbStatus	rc;

	sb_error_clear(&err);
	rc = load(s, s->st, &err);
	ended(s, rc, &err);
	return NULL;
}

/* An idle slot about to read name. */
static void
slot_reset(Slot *s, const char *name)
{
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->used = false;
	s->handed = 0;
	s->filled = 0;
	s->done = false;
	s->stop = false;
	s->from_repo = false;
	s->rc = SB_OK;
	sb_error_clear(&s->err);
}

/* Read name into the idle slot s by a thread; false when none could start. */
static bool
slot_start(RestoreWalSource *src, Slot *s, const char *name)
{
	SbError		ignore;

	if (s->st == NULL && sb_restore_open_session(src->r, &s->st, &ignore) != SB_OK)
		return false;
	slot_reset(s, name);
	s->running = sb_thread_start(&s->thread, slot_thread, s);
	if (!s->running)
		s->name[0] = '\0';
	return s->running;
}

/*
 * Make s idle: wait for its thread (stopping it first when stop), and keep
 * the failure of one whose outcome counts for sb_restore_wal_source_end().
 */
static void
slot_release(RestoreWalSource *src, Slot *s, bool stop)
{
	if (s->running)
	{
		if (stop)
		{
			pthread_mutex_lock(&src->lock);
			s->stop = true;
			pthread_mutex_unlock(&src->lock);
		}
		pthread_join(s->thread, NULL);
		s->running = false;
	}
	if (s->used && s->done && s->rc != SB_OK && src->failed == SB_OK)
	{
		src->failed = s->rc;
		sb_error_set(&src->fail_err, s->rc, "could not read WAL segment %s: %s",
					 s->name, s->err.msg);
	}
	s->used = false;
	s->name[0] = '\0';
	if (src->current == s)
		src->current = NULL;
}

/*
 * A slot to read another segment into, made idle, other than the one the
 * decoder reads: an idle one, else one whose reading ended or is being
 * stopped; with wait, else one read ahead for nothing (stopped), else one
 * the decoder read to its end (waited for).  NULL without wait when none
 * is free.
 */
static Slot *
free_slot(RestoreWalSource *src, bool wait)
{
	Slot	   *best = NULL;
	int			best_rank = 4;

	for (int i = 0; i < src->nslots; i++)
	{
		Slot	   *s = &src->slots[i];
		int			rank;
		bool		done;

		if (s == src->current)
			continue;
		pthread_mutex_lock(&src->lock);
		done = s->done || s->stop;
		pthread_mutex_unlock(&src->lock);
		if (!s->running)
			rank = 0;
		else if (done)
			rank = 1;
		else if (!wait)
			continue;
		else
			rank = s->used ? 3 : 2;
		if (rank < best_rank)
		{
			best = s;
			best_rank = rank;
		}
	}
	if (best != NULL)
		slot_release(src, best, !best->used);
	return best;
}

/* Read ahead the segments after name on its timeline, up to the one holding the end. */
static void
prefetch_next(RestoreWalSource *src, const char *name)
{
	unsigned int tli;
	uint64_t	segno;

	if (!sb_wal_parse_segment(name, src->segsize, &tli, &segno))
		return;
	for (int k = 1; k < src->nslots; k++)
	{
		char		next[SB_WAL_SEG_NAME_LEN + 1];
		bool		held = false;
		Slot	   *s;

		if ((segno + k) * src->segsize > src->end_lsn)
			break;
		sb_wal_segment_name(tli, segno + k, src->segsize, next);
		for (int i = 0; i < src->nslots; i++)
			held |= strcmp(src->slots[i].name, next) == 0;
		if (held)
			continue;
		if ((s = free_slot(src, false)) == NULL || !slot_start(src, s, next))
			break;
	}
}

/*
 * The decoder is done with its segment: count it, and unless it read it
 * to its end, stop reading it and do not check it (header comment).
 */
static void
leave(RestoreWalSource *src)
{
	Slot	   *s = src->current;

	if (s == NULL)
		return;
	pthread_mutex_lock(&src->lock);
	if (s->from_repo)
		src->from_repo++;
	if (s->handed < src->segsize)
		s->stop = true;
	pthread_mutex_unlock(&src->lock);
	s->used = s->handed == src->segsize;
	src->current = NULL;
}

/* Make the slot holding name (reading it now if none does) the decoder's. */
static Slot *
take(RestoreWalSource *src, const char *name)
{
	Slot	   *s = NULL;

	leave(src);
	for (int i = 0; i < src->nslots; i++)
		if (strcmp(src->slots[i].name, name) == 0)
			s = &src->slots[i];
	if (s == NULL)
	{
		s = free_slot(src, true);
		if (!slot_start(src, s, name))
		{
			/* no thread: read it here, with the restore's session */
			SbError		err;
			SbStatus	rc;

			slot_reset(s, name);
			sb_error_clear(&err);
			rc = load(s, src->r->st, &err);
			ended(s, rc, &err);
		}
	}
	s->used = true;
	src->current = s;
	prefetch_next(src, name);
	return s;
}

SbStatus
sb_restore_wal_source_new(Restore *r, uint64_t segsize, uint64_t end_lsn,
						  RestoreWalSource **out, SbError *err)
{
	RestoreWalSource *src = calloc(1, sizeof(RestoreWalSource));
	int			want = segsize <= PREFETCH_MAX_SEGSIZE ? NSLOTS : 1;

	if (src == NULL)
		return sb_error_oom(err);
	src->r = r;
	src->segsize = segsize;
	src->end_lsn = end_lsn;
	pthread_mutex_init(&src->lock, NULL);
	pthread_cond_init(&src->changed, NULL);
	for (int i = 0; i < want; i++)
	{
		src->slots[i].src = src;
		src->slots[i].buf = sb_large_alloc((size_t) segsize);
		if (src->slots[i].buf == NULL)
			break;				/* fewer slots: only slower */
		src->nslots++;
	}
	if (src->nslots == 0)
	{
		sb_restore_wal_source_free(src);
		return sb_error_oom(err);
	}
	*out = src;
	return SB_OK;
}

SbStatus
sb_restore_wal_source_read(void *arg, const char *name, size_t need,
						   const unsigned char **seg, size_t *avail,
						   SbError *err)
{
	RestoreWalSource *src = arg;
	Slot	   *s = src->current;
	size_t		filled;
	size_t		part;
	SbStatus	rc;

	if (need == 0 || need > src->segsize)
		return sb_error_set(err, SB_ERR_INTERNAL, "%zu bytes asked of a WAL segment of %llu",
							need, (unsigned long long) src->segsize);
	if (s == NULL || strcmp(s->name, name) != 0)
		s = take(src, name);

	pthread_mutex_lock(&src->lock);
	while (s->filled < need && !s->done)
		pthread_cond_wait(&src->changed, &src->lock);
	filled = s->filled;
	rc = s->rc;
	if (filled < need && rc != SB_OK)
		*err = s->err;
	pthread_mutex_unlock(&src->lock);
	if (filled < need)
	{
		if (rc != SB_OK)
			return rc;
		/* a local segment read to a little past the end: zeros after that */
		memset(s->buf + filled, 0, need - filled);
		pthread_mutex_lock(&src->lock);
		s->filled = filled = need;
		pthread_mutex_unlock(&src->lock);
	}
	/*
	 * Up to the end of the part (a HANDOVER_PARTS-th of the segment) that
	 * holds the last byte asked for, not further: the decoder asks again
	 * for each part, so a segment handed over to its end is one the
	 * decoder got to the last part of.
	 */
	part = (size_t) (src->segsize / HANDOVER_PARTS);
	if (filled > (need + part - 1) / part * part)
		filled = (need + part - 1) / part * part;
	if (filled > s->handed)
		s->handed = filled;
	*seg = s->buf;
	*avail = filled;
	return SB_OK;
}

SbStatus
sb_restore_wal_source_end(void *arg, SbError *err)
{
	RestoreWalSource *src = arg;

	leave(src);
	for (int i = 0; i < src->nslots; i++)
		if (src->slots[i].used)
			slot_release(src, &src->slots[i], false);
	if (src->failed != SB_OK)
	{
		*err = src->fail_err;
		return src->failed;
	}
	return SB_OK;
}

uint64_t
sb_restore_wal_source_free(RestoreWalSource *src)
{
	uint64_t	from_repo;

	for (int i = 0; i < NSLOTS; i++)
	{
		Slot	   *s = &src->slots[i];

		if (s->src == NULL)
			continue;
		slot_release(src, s, true);
		free(s->buf);
		if (s->st != NULL)
			sb_restore_close_session(s->st);
	}
	from_repo = src->from_repo;
	pthread_cond_destroy(&src->changed);
	pthread_mutex_destroy(&src->lock);
	free(src);
	return from_repo;
}
