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
};

/* ---------------------------------------------------------------------
 * Reading: one GET per object, streamed.  A reader has a connection of its
 * own, and the transfer is paused whenever S3_READ_CHUNK bytes wait for
 * the caller.  (Not byte ranges: the RADOS Gateway's dbstore backend
 * answers ranges past the first with the wrong bytes.)
 * ---------------------------------------------------------------------
 */

SbStatus
s3_read_open(SbStorage *st, const char *path, SbReader **rp, SbError *err)
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
	rc = s3_xfer_init(&r->xfer, err);
	if (rc == SB_OK)
		rc = s3_stream_start(st, &r->xfer, &r->req, err);
	if (rc == SB_OK && r->req.status != 200)
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
