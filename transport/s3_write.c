/*-------------------------------------------------------------------------
 *
 * s3_write.c
 *		Writing an object of the S3 driver: kept in memory and sent in one PUT
 *		at commit, or as a multipart upload completed at commit (see s3.c).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct SbWriter
{
	SbStorage  *st;
	int			flags;
	char		path[SB_PATH_MAX];
	char		key[2 * SB_PATH_MAX];
	char	   *buf;
	size_t		used;
	size_t		cap;
	char		upload_id[512];	/* "" until a part was sent */
	unsigned char (*part_md5)[16];	/* MD5 of each part sent */
	int			nparts;
	int			maxparts;
};

/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

/*
 * A file goes into an existing directory, as on a file system: the parent
 * must have been made (its marker) or hold objects.  Known directories are
 * not asked again.
 */
static SbStatus
check_parent(SbStorage *st, const char *path, SbError *err)
{
	S3Storage  *s = s3_state(st);
	const char *slash = strrchr(path, '/');
	char		parent[SB_PATH_MAX];
	char		key[2 * SB_PATH_MAX];
	S3Request	req;
	SbStatus	rc;
	bool		used = false;

	if (slash == NULL)
		return SB_OK;			/* the repository root */
	memcpy(parent, path, (size_t) (slash - path));
	parent[slash - path] = '\0';
	if (s3_dir_cached(s, parent))
		return SB_OK;
	s3_object_key(st, parent, "/", key);
	rc = s3_head_object(st, key, parent, &req, err);
	if (rc == SB_ERR_NOT_FOUND)
		rc = s3_prefix_used(st, key, parent, &used, err);
	else
		used = true;
	if (rc != SB_OK)
		return rc;
	if (!used)
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"could not create file \"%s\": directory \"%s\" does not exist",
							path, parent);
	s3_dir_remember(s, parent);
	return SB_OK;
}

SbStatus
s3_write_open(SbStorage *st, const char *path, int flags, SbWriter **wp,
			  SbError *err)
{
	SbWriter   *w;
	SbStatus	rc;

	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return s3_not_open(err);
	if ((rc = check_parent(st, path, err)) != SB_OK)
		return rc;
	w = calloc(1, sizeof(SbWriter));
	if (w == NULL)
		return sb_error_oom(err);
	w->st = st;
	w->flags = flags;
	snprintf(w->path, sizeof(w->path), "%s", path);
	s3_object_key(st, path, "", w->key);
	*wp = w;
	return SB_OK;
}

/*
 * Publish w under path (in the same directory) at commit: possible while
 * the data is all in w's buffer, before a part of it was sent.
 */
SbStatus
s3_write_rename(SbStorage *st, SbWriter *w, const char *path, SbError *err)
{
	SbStatus	rc = sb_storage_check_same_dir(w->path, path, err);

	if (rc != SB_OK)
		return rc;
	if (w->upload_id[0] != '\0')
		return sb_error_set(err, SB_ERR_INTERNAL,
							"file \"%s\" cannot be renamed: its first part was sent",
							w->path);
	snprintf(w->path, sizeof(w->path), "%s", path);
	s3_object_key(st, path, "", w->key);
	return SB_OK;
}

static void
writer_free(SbWriter *w)
{
	free(w->buf);
	free(w->part_md5);
	free(w);
}

static SbStatus
start_upload(SbWriter *w, SbError *err)
{
	S3Request	req;
	S3Buf		out;
	SbStatus	rc;

	s3_buf_init(&out, S3_MAX_XML);
	s3_request_init(&req, "POST", w->key);
	req.query = "uploads=";
	req.headers[0] = "Content-Type: application/octet-stream";
	req.out = &out;
	rc = s3_http_do(w->st, &req, err);
	if (rc == SB_OK && req.status != 200)
		rc = s3_http_error(w->st, &req, "start the upload of", w->path, err);
	if (rc == SB_OK &&
		(out.data == NULL ||
		 !s3_xml_text(out.data, out.len, "UploadId", w->upload_id, sizeof(w->upload_id)) ||
		 w->upload_id[0] == '\0'))
		rc = sb_error_set(err, SB_ERR_IO,
						  "S3 endpoint gave no upload ID for \"%s\"", w->path);
	s3_buf_free(&out);
	return rc;
}

/* The query "partNumber=N&uploadId=ID" (or "uploadId=ID" when n is 0). */
static bool
upload_query(const SbWriter *w, int n, char *q, size_t qsz)
{
	char		enc[3 * sizeof(w->upload_id)];

	if (!s3_uri_encode(w->upload_id, false, enc, sizeof(enc)))
		return false;
	if (n > 0)
		snprintf(q, qsz, "partNumber=%d&uploadId=%s", n, enc);
	else
		snprintf(q, qsz, "uploadId=%s", enc);
	return true;
}

/* Send the buffer as the next part. */
static SbStatus
send_part(SbWriter *w, SbError *err)
{
	S3Request	req;
	char		query[2048];
	char		md5hdr[64];
	SbStatus	rc;

	if (w->upload_id[0] == '\0' && (rc = start_upload(w, err)) != SB_OK)
		return rc;
	if (w->nparts == w->maxparts)
	{
		int			n = w->maxparts ? w->maxparts * 2 : 16;
		void	   *p = realloc(w->part_md5, n * sizeof(*w->part_md5));

		if (p == NULL)
			return sb_error_oom(err);
		w->part_md5 = p;
		w->maxparts = n;
	}
	if (w->nparts >= 10000)
		return sb_error_set(err, SB_ERR_NO_SPACE,
							"file \"%s\" is too large for an S3 object", w->path);
	if (!upload_query(w, w->nparts + 1, query, sizeof(query)))
		return sb_error_set(err, SB_ERR_INTERNAL, "S3 upload ID is too long");
	s3_md5_of(w->buf, w->used, w->part_md5[w->nparts]);
	s3_content_md5_header(w->buf, w->used, md5hdr, sizeof(md5hdr));
	s3_request_init(&req, "PUT", w->key);
	req.query = query;
	req.body = w->buf;
	req.body_len = w->used;
	req.headers[0] = md5hdr;
	rc = s3_http_do(w->st, &req, err);
	if (rc == SB_OK && req.status != 200)
		rc = s3_http_error(w->st, &req, "write", w->path, err);
	if (rc != SB_OK)
		return rc;
	w->nparts++;
	w->used = 0;
	return SB_OK;
}

SbStatus
s3_write(SbWriter *w, const void *buf, size_t len, SbError *err)
{
	const char *p = buf;

	while (len > 0)
	{
		size_t		n;

		/* a full buffer with more to come is a part */
		if (w->used == S3_PART_SIZE)
		{
			SbStatus	rc = send_part(w, err);

			if (rc != SB_OK)
				return rc;
		}
		n = S3_PART_SIZE - w->used;
		if (n > len)
			n = len;
		if (w->used + n > w->cap)
		{
			size_t		cap = w->cap ? w->cap : 65536;
			char	   *nb;

			while (cap < w->used + n)
				cap *= 2;
			if (cap > S3_PART_SIZE)
				cap = S3_PART_SIZE;
			nb = realloc(w->buf, cap);
			if (nb == NULL)
				return sb_error_oom(err);
			w->buf = nb;
			w->cap = cap;
		}
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		p += n;
		len -= n;
	}
	return SB_OK;
}

/* The ETag our object has when the server stored what we sent. */
static void
expected_etag(const SbWriter *w, char *etag)
{
	unsigned char md5[16];

	if (w->upload_id[0] == '\0')
	{
		s3_md5_of(w->buf ? w->buf : "", w->used, md5);
		s3_md5_hex(md5, etag);
	}
	else
	{
		s3_md5_of(w->part_md5, (size_t) w->nparts * 16, md5);
		s3_md5_hex(md5, etag);
		sprintf(etag + 32, "-%d", w->nparts);
	}
}

static SbStatus
exists_error(SbWriter *w, SbError *err)
{
	return sb_error_set(err, SB_ERR_EXISTS, "file \"%s\" already exists", w->path);
}

/*
 * The commit got "already exists" or "no such upload": when it was sent
 * more than once, the object may be ours from an earlier attempt whose
 * answer was lost.
 */
static SbStatus
check_own(SbWriter *w, SbStatus rc, SbError *err)
{
	S3Request	head;
	char		etag[48];
	SbError		herr;

	expected_etag(w, etag);
	if (s3_head_object(w->st, w->key, w->path, &head, &herr) == SB_OK &&
		strcmp(head.etag, etag) == 0)
		return SB_OK;
	return rc == SB_ERR_EXISTS ? exists_error(w, err) : rc;
}

static SbStatus
put_whole(SbWriter *w, SbError *err)
{
	S3Request	req;
	char		md5hdr[64];
	SbStatus	rc;
	bool		replace = (w->flags & SB_WRITE_REPLACE) != 0;

	s3_content_md5_header(w->buf ? w->buf : "", w->used, md5hdr, sizeof(md5hdr));
	s3_request_init(&req, "PUT", w->key);
	req.body = w->buf;
	req.body_len = w->used;
	req.headers[0] = md5hdr;
	if (!replace)
		req.headers[1] = "If-None-Match: *";
	rc = s3_http_do(w->st, &req, err);
	if (rc != SB_OK)
		return rc;
	if (req.status == 200)
		return SB_OK;
	rc = s3_http_error(w->st, &req, "write", w->path, err);
	if (rc == SB_ERR_EXISTS && req.retried)
		return check_own(w, rc, err);
	return rc;
}

static SbStatus
complete_upload(SbWriter *w, SbError *err)
{
	S3Request	req;
	S3Buf		body;
	S3Buf		out;
	char		query[2048];
	char		line[160];
	SbStatus	rc = SB_OK;
	bool		replace = (w->flags & SB_WRITE_REPLACE) != 0;

	if (!upload_query(w, 0, query, sizeof(query)))
		return sb_error_set(err, SB_ERR_INTERNAL, "S3 upload ID is too long");
	s3_buf_init(&body, (size_t) 100 * (w->nparts + 2));
	s3_buf_append(&body, "<CompleteMultipartUpload>", 25);
	for (int i = 0; i < w->nparts; i++)
	{
		char		hex[33];
		int			n;

		s3_md5_hex(w->part_md5[i], hex);
		n = snprintf(line, sizeof(line),
					 "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
					 i + 1, hex);
		if (!s3_buf_append(&body, line, (size_t) n))
			rc = sb_error_oom(err);
	}
	if (rc == SB_OK && !s3_buf_append(&body, "</CompleteMultipartUpload>", 26))
		rc = sb_error_oom(err);
	if (rc != SB_OK)
	{
		s3_buf_free(&body);
		return rc;
	}
	s3_buf_init(&out, S3_MAX_XML);
	s3_request_init(&req, "POST", w->key);
	req.query = query;
	req.body = body.data;
	req.body_len = body.len;
	req.out = &out;
	req.headers[0] = "Content-Type: application/xml";
	if (!replace)
		req.headers[1] = "If-None-Match: *";
	rc = s3_http_do(w->st, &req, err);
	if (rc == SB_OK)
	{
		/* S3 may answer 200 and report the failure in the body */
		size_t		a;
		size_t		b;
		size_t		c;

		if (req.status != 200 ||
			(out.data != NULL && s3_xml_span(out.data, out.len, 0, "Error", &a, &b, &c)))
		{
			if (req.status == 200)
				req.status = 500;
			rc = s3_http_error(w->st, &req, "complete the upload of", w->path, err);
			if ((rc == SB_ERR_EXISTS || rc == SB_ERR_NOT_FOUND) && req.retried)
				rc = check_own(w, rc, err);
		}
	}
	s3_buf_free(&out);
	s3_buf_free(&body);
	return rc;
}

static void
abort_upload(SbWriter *w)
{
	S3Request	req;
	char		query[2048];
	SbError		ignore;

	if (w->upload_id[0] == '\0' || !upload_query(w, 0, query, sizeof(query)))
		return;
	s3_request_init(&req, "DELETE", w->key);
	req.query = query;
	(void) s3_http_do(w->st, &req, &ignore);
}

SbStatus
s3_write_commit(SbWriter *w, SbError *err)
{
	SbStatus	rc = SB_OK;

	/* the last part (a multipart upload ends with a non-empty one) */
	if (w->upload_id[0] != '\0' && w->used > 0)
		rc = send_part(w, err);

	/*
	 * An existing object is refused even where If-None-Match is ignored;
	 * no need to look for one named by its content (the same can be
	 * replaced by the same) or in a directory of the caller's own.
	 */
	if (rc == SB_OK &&
		(w->flags & (SB_WRITE_REPLACE | SB_WRITE_NAMED_BY_CONTENT |
					 SB_WRITE_UNIQUE_NAME)) == 0)
	{
		S3Request	head;
		SbError		herr;
		SbStatus	hrc = s3_head_object(w->st, w->key, w->path, &head, &herr);

		if (hrc == SB_OK)
			rc = exists_error(w, err);
		else if (hrc != SB_ERR_NOT_FOUND)
		{
			*err = herr;
			rc = hrc;
		}
	}
	if (rc == SB_OK)
		rc = w->upload_id[0] != '\0' ? complete_upload(w, err) : put_whole(w, err);
	if (rc != SB_OK)
		abort_upload(w);
	writer_free(w);
	return rc;
}

void
s3_write_abort(SbWriter *w)
{
	abort_upload(w);
	writer_free(w);
}
