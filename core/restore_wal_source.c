/*-------------------------------------------------------------------------
 *
 * restore_wal_source.c
 *		WAL segments for the delta restore's change list
 *		(restore_delta_wal.c): from the target's pg_wal when a whole segment
 *		is there, else from the repository (verified by its digest, as
 *		archive-get does), fetched ahead.
 *
 * Decompressing a segment from the repository costs several times what
 * decoding it does, so while the decoder works on one segment, the next
 * PREFETCH_SLOTS segments of the same timeline are fetched by threads of
 * their own, each over its own repository session (a network session
 * serves one thread at a time); so are those after the first segment
 * while it is read.  A request for a segment no thread holds
 * (a timeline switch, or no session could be opened) waits for those
 * threads, drops what they fetched, and reads the segment itself.  No
 * segment past the one holding the end LSN is fetched.
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

#define PREFETCH_SLOTS		2
/*
 * Of the local segment holding the end LSN (the last checkpoint record),
 * only this much past the end is read: the record is short, and the
 * decoder reads no further.
 */
#define END_SLACK			((uint64_t) 64 * 1024)
/* larger segments are read one at a time: two more buffers would cost too much */
#define PREFETCH_MAX_SEGSIZE	((uint64_t) 64 * 1024 * 1024)

typedef struct Slot
{
	struct RestoreWalSource *src;
	SbStorage  *st;				/* its own session, opened when first used */
	pthread_t	thread;
	bool		running;		/* started and not joined yet */
	char		name[SB_WAL_SEG_NAME_LEN + 1];
	unsigned char *buf;
	bool		from_repo;
	SbStatus	rc;
	SbError		err;
} Slot;

struct RestoreWalSource
{
	Restore    *r;
	uint64_t	segsize;
	uint64_t	end_lsn;
	uint64_t	from_repo;		/* segments used that came from the repository */
	int			nslots;			/* 0: no prefetching */
	Slot		slots[PREFETCH_SLOTS];
};

/*
 * Read the first len bytes of the local segment path (segsize bytes long)
 * into buf, and zeros after them.
 */
static SbStatus
read_local(const char *path, unsigned char *buf, uint64_t len,
		   uint64_t segsize, SbError *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t	got = 0;
	struct stat sb;

	if (fd < 0)
		return sb_error_errno(err, errno, "could not open file \"%s\"", path);
	memset(buf + len, 0, (size_t) (segsize - len));
	if (fstat(fd, &sb) != 0 || (uint64_t) sb.st_size != segsize)
	{
		close(fd);
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"file \"%s\" is not a whole WAL segment", path);
	}
	while (got < len)
	{
		ssize_t		n = read(fd, buf + got, (size_t) (len - got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			e = n < 0 ? errno : EIO;

			close(fd);
			return sb_error_errno(err, e, "could not read file \"%s\"", path);
		}
		got += (uint64_t) n;
	}
	close(fd);
	return SB_OK;
}

/*
 * Segment name into buf: pg_wal first (recent segments are there), then
 * the repository through st.
 */
static SbStatus
load(RestoreWalSource *src, SbStorage *st, const char *name,
	 unsigned char *buf, bool *from_repo, SbError *err)
{
	char		path[RESTORE_PATH_LEN];
	SbWalEntry	entry;
	SbFilter   *sink;
	SbStatus	rc;
	unsigned int tli;
	uint64_t	segno;
	uint64_t	want = src->segsize;

	*from_repo = false;
	/* of the segment holding the end, what the decoder may look at */
	if (sb_wal_parse_segment(name, src->segsize, &tli, &segno) &&
		segno == src->end_lsn / src->segsize)
		want = (src->end_lsn % src->segsize + END_SLACK + 8191) / 8192 * 8192;
	if (want > src->segsize)
		want = src->segsize;
	snprintf(path, sizeof(path), "%s/pg_wal/%s", src->r->target, name);
	if (read_local(path, buf, want, src->segsize, err) == SB_OK)
		return SB_OK;
	sb_error_clear(err);

	rc = sb_wal_find(st, src->r->o->stanza, name, &entry, err);
	if (rc != SB_OK)
		return rc;
	sink = sb_filter_fixed_sink_new(buf, (size_t) src->segsize);
	if (sink == NULL)
		return sb_error_oom(err);
	rc = sb_codec_fetch(st, entry.name, entry.compress_type, sink,
						entry.digest, src->segsize, NULL, err);
	sb_filter_free_chain(sink);
	*from_repo = (rc == SB_OK);
	return rc;
}

static void *
slot_thread(void *arg)
{
	Slot	   *s = arg;

	sb_error_clear(&s->err);
	s->rc = load(s->src, s->st, s->name, s->buf, &s->from_repo, &s->err);
	return NULL;
}

static void
slot_join(Slot *s)
{
	if (s->running)
		pthread_join(s->thread, NULL);
	s->running = false;
}

/* Start fetching name in a free slot (quietly nothing when it cannot). */
static void
prefetch(RestoreWalSource *src, const char *name)
{
	Slot	   *s = NULL;
	SbError		ignore;

	for (int i = 0; i < src->nslots; i++)
	{
		if (src->slots[i].running && strcmp(src->slots[i].name, name) == 0)
			return;				/* on its way already */
		if (!src->slots[i].running && s == NULL)
			s = &src->slots[i];
	}
	if (s == NULL)
		return;
	if (s->st == NULL && sb_restore_open_session(src->r, &s->st, &ignore) != SB_OK)
		return;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->src = src;
	s->running = sb_thread_start(&s->thread, slot_thread, s);
}

/* Fetch the segments after name on its timeline, up to the one holding the end. */
static void
prefetch_next(RestoreWalSource *src, const char *name)
{
	unsigned int tli;
	uint64_t	segno;

	if (!sb_wal_parse_segment(name, src->segsize, &tli, &segno))
		return;
	for (int k = 1; k <= src->nslots; k++)
	{
		char		next[SB_WAL_SEG_NAME_LEN + 1];

		if ((segno + k) * src->segsize > src->end_lsn)
			break;
		sb_wal_segment_name(tli, segno + k, src->segsize, next);
		prefetch(src, next);
	}
}

SbStatus
sb_restore_wal_source_new(Restore *r, uint64_t segsize, uint64_t end_lsn,
						  RestoreWalSource **out, SbError *err)
{
	RestoreWalSource *src = calloc(1, sizeof(RestoreWalSource));

	if (src == NULL)
		return sb_error_oom(err);
	src->r = r;
	src->segsize = segsize;
	src->end_lsn = end_lsn;
	if (segsize <= PREFETCH_MAX_SEGSIZE)
	{
		for (int i = 0; i < PREFETCH_SLOTS; i++)
		{
			src->slots[i].buf = sb_large_alloc((size_t) segsize);
			if (src->slots[i].buf == NULL)
				break;			/* fewer slots: only slower */
			src->nslots++;
		}
	}
	*out = src;
	return SB_OK;
}

SbStatus
sb_restore_wal_source_read(void *arg, const char *name, unsigned char **buf,
						   size_t len, SbError *err)
{
	RestoreWalSource *src = arg;
	Slot	   *hit = NULL;
	SbStatus	rc;
	bool		from_repo = false;

	if (len != src->segsize)
		return sb_error_set(err, SB_ERR_INTERNAL, "WAL segment size %zu is not %llu",
							len, (unsigned long long) src->segsize);
	for (int i = 0; i < src->nslots; i++)
		if (src->slots[i].running && strcmp(src->slots[i].name, name) == 0)
			hit = &src->slots[i];
	if (hit != NULL)
	{
		slot_join(hit);
		rc = hit->rc;
		from_repo = hit->from_repo;
		if (rc == SB_OK)
		{
			/* the decoder takes the slot's buffer, the slot the decoder's */
			unsigned char *filled = hit->buf;

			hit->buf = *buf;
			*buf = filled;
		}
		else
			*err = hit->err;
	}
	else
	{
		/*
		 * Not guessed: the others are of no use, and the session is free.
		 * The next segments are on their way while this one is read.
		 */
		for (int i = 0; i < src->nslots; i++)
			slot_join(&src->slots[i]);
		prefetch_next(src, name);
		rc = load(src, src->r->st, name, *buf, &from_repo, err);
	}
	if (rc != SB_OK)
		return rc;
	if (from_repo)
		src->from_repo++;
	if (hit != NULL)
		prefetch_next(src, name);
	return SB_OK;
}

uint64_t
sb_restore_wal_source_free(RestoreWalSource *src)
{
	uint64_t	from_repo = src->from_repo;

	for (int i = 0; i < src->nslots; i++)
	{
		Slot	   *s = &src->slots[i];

		slot_join(s);
		free(s->buf);
		if (s->st != NULL)
			sb_restore_close_session(s->st);
	}
	free(src);
	return from_repo;
}
