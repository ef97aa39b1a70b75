/*-------------------------------------------------------------------------
 *
 * s3_read.c
 *		Reading an object of the S3 driver: one GET, streamed (see s3.c).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct SbReader
{
	SbStorage  *st;
	char		path[SB_PATH_MAX];
	char		key[2 * SB_PATH_MAX];
	S3Xfer		xfer;			/* its own connection, paused between reads */
	S3Request	req;
	S3Buf		buf;
	size_t		pos;
	uint64_t	total;			/* bytes handed out */
	char		range[64];		/* "Range: bytes=..." of a ranged read */
	uint64_t	skip;			/* bytes to drop first (the range was ignored) */
};

/* ---------------------------------------------------------------------
 * Reading: one GET per object, streamed.  A reader has a connection of its
 * own, and the transfer is paused whenever S3_READ_CHUNK bytes wait for
 * the caller.  (Whole objects are read in one GET, not in ranges: the RADOS
 * Gateway's dbstore backend answers ranges past the first with the wrong
 * bytes.)  A read from an offset (s3_read_open_at) asks for one range, and
 * the answer must say it starts there.
 * ---------------------------------------------------------------------
 */

SbStatus
s3_read_open(SbStorage *st, const char *path, SbReader **rp, SbError *err)
{
	return s3_read_open_at(st, path, 0, UINT64_MAX, rp, err);
}

SbStatus
s3_read_open_at(SbStorage *st, const char *path, uint64_t offset,
				uint64_t len, SbReader **rp, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;

	*rp = NULL;
	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return s3_not_open(err);
	r = calloc(1, sizeof(SbReader));
	if (r == NULL)
		return sb_error_oom(err);
	r->st = st;
	r->xfer.timer_ms = -1;
	snprintf(r->path, sizeof(r->path), "%s", path);
	s3_object_key(st, path, "", r->key);
	s3_buf_init(&r->buf, S3_READ_CHUNK);
	s3_request_init(&r->req, "GET", r->key);
	r->req.out = &r->buf;
	if (offset > 0 || len != UINT64_MAX)
	{
		if (len == UINT64_MAX || len == 0 || offset + len < offset)
			snprintf(r->range, sizeof(r->range), "Range: bytes=%llu-",
					 (unsigned long long) offset);
		else
			snprintf(r->range, sizeof(r->range), "Range: bytes=%llu-%llu",
					 (unsigned long long) offset,
					 (unsigned long long) (offset + len - 1));
		r->req.headers[0] = r->range;
	}
	rc = s3_xfer_init(&r->xfer, err);
	if (rc == SB_OK)
		rc = s3_stream_start(st, &r->xfer, &r->req, err);
	if (rc == SB_OK && r->range[0] != '\0' && r->req.status == 416)
	{
		/* the offset is at or past the end: nothing to read */
		s3_xfer_free(&r->xfer);
		r->xfer.done = true;
		r->buf.len = 0;
		r->req.content_length = 0;
		*rp = r;
		return SB_OK;
	}
	if (rc == SB_OK && r->req.status == 206 &&
		(r->range[0] == '\0' || r->req.range_start != offset))
		rc = sb_error_set(err, SB_ERR_IO,
						  "could not read file \"%s\" from offset %llu: the server answered another range",
						  path, (unsigned long long) offset);
	else if (rc == SB_OK && r->req.status == 200)
		r->skip = offset;		/* the whole object came: drop its start */
	else if (rc == SB_OK && r->req.status != 200 && r->req.status != 206)
	{
		/* an error answer is short and complete */
		if (!r->xfer.done)
			rc = s3_stream_more(st, &r->xfer, &r->req, err);
		rc = s3_http_error(st, &r->req, "read", path, err);
	}
	if (rc != SB_OK)
	{
		s3_read_close(r);
		return rc;
	}
	*rp = r;
	return SB_OK;
}

SbStatus
s3_read(SbReader *r, void *buf, size_t len, size_t *nread, SbError *err)
{
	size_t		n;

	*nread = 0;
again:
	while (r->pos == r->buf.len)
	{
		SbStatus	rc;

		if (r->xfer.done)
		{
			/* all of it, as long as the server said */
			if (r->req.content_length != 0 && r->total != r->req.content_length)
				return sb_error_set(err, SB_ERR_IO,
									"file \"%s\" ended after %llu of %llu bytes",
									r->path, (unsigned long long) r->total,
									(unsigned long long) r->req.content_length);
			return SB_OK;		/* end of file */
		}
		r->pos = 0;
		rc = s3_stream_more(r->st, &r->xfer, &r->req, err);
		if (rc != SB_OK)
			return rc;
	}
	n = r->buf.len - r->pos;
	if (r->skip > 0)
	{
		if (n > r->skip)
			n = (size_t) r->skip;
		r->pos += n;
		r->total += n;
		r->skip -= n;
		goto again;
	}
	if (n > len)
		n = len;
	memcpy(buf, r->buf.data + r->pos, n);
	r->pos += n;
	r->total += n;
	*nread = n;
	return SB_OK;
}

void
s3_read_close(SbReader *r)
{
	if (r == NULL)
		return;
	s3_xfer_free(&r->xfer);
	s3_buf_free(&r->buf);
	free(r);
}
