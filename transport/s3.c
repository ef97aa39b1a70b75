/*-------------------------------------------------------------------------
 *
 * s3.c
 *		Storage driver for an S3-compatible object store (AWS S3, Ceph RADOS
 *		Gateway, MinIO, ...); see core/storage.h for the contract.  Requests
 *		are made by s3_http.c (libcurl, SigV4, verified TLS).
 *
 * S3 has no rename and no directories, so the contract is kept this way:
 *
 * - A writer keeps its data in memory until it is committed, in one buffer
 *   of at most S3_PART_SIZE: an object that fits goes in one PUT at
 *   commit, a larger one as a multipart upload whose parts are sent as the
 *   buffer fills and which CompleteMultipartUpload publishes at commit.
 *   Nothing is visible under the name before that: an object is there
 *   whole or not at all.  Abort sends nothing, or aborts the upload.
 * - Without SB_WRITE_REPLACE an existing object is never replaced: commit
 *   looks (HEAD) and refuses with SB_ERR_EXISTS, and sends If-None-Match: *
 *   as well, which gateways that support it enforce atomically.  When a
 *   commit was sent again after a lost answer and the object is then
 *   there, its ETag (the MD5 of what we sent, or of the parts' MD5s) tells
 *   whether it is ours.  Each PUT carries Content-MD5, checked by the server.
 * - A directory is a key prefix, made visible by an empty marker object
 *   "dir/" that mkdir() writes (and list() hides), so that an empty
 *   directory exists as on a file system.  Objects below a prefix without
 *   a marker make it a directory too.
 * - Writes are durable when the server acknowledges them: sync is not
 *   needed and SB_WRITE_DEFER_SYNC changes nothing.  There are no
 *   temporary files to list; incomplete multipart uploads of writers that
 *   died stay in the bucket until a lifecycle rule aborts them (README).
 * - The writer cannot be renamed once a part was sent, so write_rename is
 *   not offered; WAL files are digested first and stored under their final
 *   name (core/wal.c).
 * - What we may do is set by the bucket policy, invisible to the client:
 *   the mode is unknown.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

static SbStatus s3_open(SbStorage *st, SbError *err);
static void s3_close(SbStorage *st);
static SbStatus s3_write_open(SbStorage *st, const char *path, int flags,
							  SbWriter **w, SbError *err);
static SbStatus s3_write(SbWriter *w, const void *buf, size_t len,
						 SbError *err);
static SbStatus s3_write_commit(SbWriter *w, SbError *err);
static void s3_write_abort(SbWriter *w);
static SbStatus s3_read_open(SbStorage *st, const char *path, SbReader **r,
							 SbError *err);
static SbStatus s3_read(SbReader *r, void *buf, size_t len, size_t *nread,
						SbError *err);
static void s3_read_close(SbReader *r);
static SbStatus s3_stat(SbStorage *st, const char *path, SbStat *out,
						SbError *err);
static SbStatus s3_list(SbStorage *st, const char *path, int flags,
						SbListFn fn, void *arg, SbError *err);
static SbStatus s3_list_prefix(SbStorage *st, const char *path,
							   const char *name_prefix, SbListFn fn, void *arg,
							   SbError *err);
static SbStatus s3_remove(SbStorage *st, const char *path, bool recursive,
						  SbError *err);
static SbStatus s3_mkdir(SbStorage *st, const char *path, SbError *err);
static void s3_destroy(SbStorage *st);
static SbRepoMode s3_mode(SbStorage *st);

const SbStorageOps sb_s3_ops = {
	.name = "s3",
	/* directories: marker objects (above); no rename, no server mode */
	.caps = SB_CAP_DIRECTORIES,
	.open = s3_open,
	.close = s3_close,
	.write_open = s3_write_open,
	.write = s3_write,
	.write_commit = s3_write_commit,
	.write_abort = s3_write_abort,
	.write_rename = NULL,
	.read_open = s3_read_open,
	.read = s3_read,
	.read_close = s3_read_close,
	.stat = s3_stat,
	.list = s3_list,
	.list_prefix = s3_list_prefix,
	.remove = s3_remove,
	.mkdir = s3_mkdir,
	.sync = NULL,
	.destroy = s3_destroy,
	.mode = s3_mode,
};

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static S3Storage *
s3_state(SbStorage *st)
{
	return (S3Storage *) st->priv;
}

/* The object key of a repository path, with suffix ("" or "/"). */
static void
object_key(SbStorage *st, const char *path, const char *suffix, char *key)
{
	snprintf(key, 2 * SB_PATH_MAX, "%s%s%s", s3_state(st)->prefix, path, suffix);
}

static void
md5_of(const void *data, size_t len, unsigned char *md5)
{
	unsigned int n = 16;

	EVP_Digest(data, len, md5, &n, EVP_md5(), NULL);
}

static void
md5_hex(const unsigned char *md5, char *hex)
{
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", md5[i]);
}

/* "Content-MD5: <base64>" for a body */
static void
content_md5_header(const void *data, size_t len, char *hdr, size_t hdrsz)
{
	unsigned char md5[16];
	unsigned char b64[32];

	md5_of(data, len, md5);
	EVP_EncodeBlock(b64, md5, 16);
	snprintf(hdr, hdrsz, "Content-MD5: %s", (char *) b64);
}

static void
request_init(S3Request *req, const char *method, const char *key)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->key = key;
}

/* HEAD of a key: SB_OK (found, req filled), SB_ERR_NOT_FOUND, or an error. */
static SbStatus
head_object(SbStorage *st, const char *key, const char *path, S3Request *req,
			SbError *err)
{
	SbStatus	rc;

	request_init(req, "HEAD", key);
	rc = s3_http_do(st, req, err);
	if (rc != SB_OK)
		return rc;
	if (req->status == 200)
		return SB_OK;
	if (req->status == 404)
		return sb_error_set(err, SB_ERR_NOT_FOUND, "file \"%s\" does not exist", path);
	return s3_http_error(st, req, "look up", path, err);
}

/* One page of a listing: the XML in out. */
static SbStatus
list_page(SbStorage *st, const char *prefix, bool delimit, int max_keys,
		  const char *token, const char *start_after, S3Buf *out,
		  const char *path, SbError *err)
{
	S3Request	req;
	char		query[9 * SB_PATH_MAX + 4096];
	char		enc_prefix[6 * SB_PATH_MAX];
	char		enc_after[6 * SB_PATH_MAX];
	char		enc_token[3 * 1024 + 1];
	char		maxk[32] = "";
	SbStatus	rc;

	if (!s3_uri_encode(prefix, false, enc_prefix, sizeof(enc_prefix)) ||
		!s3_uri_encode(start_after ? start_after : "", false, enc_after, sizeof(enc_after)) ||
		!s3_uri_encode(token ? token : "", false, enc_token, sizeof(enc_token)))
		return sb_error_set(err, SB_ERR_CONFIG, "path \"%s\" is too long", path);
	if (max_keys > 0)
		snprintf(maxk, sizeof(maxk), "&max-keys=%d", max_keys);
	/* parameters in the order SigV4 sorts them */
	snprintf(query, sizeof(query), "%s%s%s%slist-type=2%s&prefix=%s%s%s",
			 token ? "continuation-token=" : "", token ? enc_token : "",
			 token ? "&" : "", delimit ? "delimiter=%2F&" : "", maxk,
			 enc_prefix, start_after ? "&start-after=" : "",
			 start_after ? enc_after : "");
	request_init(&req, "GET", NULL);
	req.query = query;
	req.out = out;
	rc = s3_http_do(st, &req, err);
	if (rc != SB_OK)
		return rc;
	if (req.status != 200)
		return s3_http_error(st, &req, "list", path, err);
	return SB_OK;
}

/* Is there any object with this key prefix? */
static SbStatus
prefix_used(SbStorage *st, const char *prefix, const char *path, bool *used,
			SbError *err)
{
	S3Buf		out;
	size_t		a;
	size_t		b;
	size_t		c;
	SbStatus	rc;

	s3_buf_init(&out, S3_MAX_XML);
	rc = list_page(st, prefix, false, 1, NULL, NULL, &out, path, err);
	if (rc == SB_OK)
		*used = out.data != NULL &&
			s3_xml_span(out.data, out.len, 0, "Contents", &a, &b, &c);
	s3_buf_free(&out);
	return rc;
}

/* ---------------------------------------------------------------------
 * Open and close
 * ---------------------------------------------------------------------
 */

static SbStatus
s3_open(SbStorage *st, SbError *err)
{
	S3Storage  *s = s3_state(st);
	SbStatus	rc;
	bool		used = false;

	if (s != NULL && s->opened)
		return SB_OK;
	if (s == NULL)
	{
		s = calloc(1, sizeof(S3Storage));
		if (s == NULL)
			return sb_error_oom(err);
		st->priv = s;
	}
	if ((rc = s3_check_settings(&st->cfg, s, err)) != SB_OK ||
		(rc = s3_load_credentials(&st->cfg, s, err)) != SB_OK ||
		(rc = s3_share_init(s, err)) != SB_OK ||
		(rc = s3_xfer_init(&s->xfer, err)) != SB_OK)
		return rc;

	/*
	 * The bucket must answer to our credentials, and a repository below a
	 * prefix must exist like a directory (a typo never starts a new one).
	 */
	rc = prefix_used(st, s->prefix, s->prefix[0] ? s->prefix : "/", &used, err);
	if (rc != SB_OK)
		return rc;
	if (s->prefix[0] != '\0' && !used)
	{
		sb_error_set(err, SB_ERR_NOT_FOUND,
					 "repository path \"%s\" does not exist in S3 bucket \"%s\"",
					 st->cfg.repo_path, SB_S3(&st->cfg)->s3_bucket);
		sb_error_hint(err, "Create it as an empty object named \"%s\" (for example with \"aws s3api put-object --bucket %s --key %s\"), or set safebackup.repo_path to \"/\" to use the whole bucket.",
					  s->prefix, SB_S3(&st->cfg)->s3_bucket, s->prefix);
		return SB_ERR_NOT_FOUND;
	}
	memset(&s->dirs, 0, sizeof(s->dirs));
	s->opened = true;
	return SB_OK;
}

static void
s3_close(SbStorage *st)
{
	S3Storage  *s = s3_state(st);

	if (s == NULL)
		return;
	s3_xfer_free(&s->xfer);
	s3_share_free(s);
	memset(s->userpwd, 0, sizeof(s->userpwd));
	memset(s->token, 0, sizeof(s->token));
	s->opened = false;
}

static void
s3_destroy(SbStorage *st)
{
	S3Storage  *s = s3_state(st);

	if (s == NULL)
		return;
	s3_close(st);
	free(s);
	st->priv = NULL;
}

static SbRepoMode
s3_mode(SbStorage *st)
{
	return SB_REPO_MODE_UNKNOWN;
}

static bool dir_cached(S3Storage *s, const char *path);
static void dir_remember(S3Storage *s, const char *path);

static SbStatus
not_open(SbError *err)
{
	return sb_error_set(err, SB_ERR_INTERNAL, "repository storage is not open");
}

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
	if (dir_cached(s, parent))
		return SB_OK;
	object_key(st, parent, "/", key);
	rc = head_object(st, key, parent, &req, err);
	if (rc == SB_ERR_NOT_FOUND)
		rc = prefix_used(st, key, parent, &used, err);
	else
		used = true;
	if (rc != SB_OK)
		return rc;
	if (!used)
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"could not create file \"%s\": directory \"%s\" does not exist",
							path, parent);
	dir_remember(s, parent);
	return SB_OK;
}

static SbStatus
s3_write_open(SbStorage *st, const char *path, int flags, SbWriter **wp,
			  SbError *err)
{
	SbWriter   *w;
	SbStatus	rc;

	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return not_open(err);
	if ((rc = check_parent(st, path, err)) != SB_OK)
		return rc;
	w = calloc(1, sizeof(SbWriter));
	if (w == NULL)
		return sb_error_oom(err);
	w->st = st;
	w->flags = flags;
	snprintf(w->path, sizeof(w->path), "%s", path);
	object_key(st, path, "", w->key);
	*wp = w;
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
	request_init(&req, "POST", w->key);
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
	md5_of(w->buf, w->used, w->part_md5[w->nparts]);
	content_md5_header(w->buf, w->used, md5hdr, sizeof(md5hdr));
	request_init(&req, "PUT", w->key);
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

static SbStatus
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
		md5_of(w->buf ? w->buf : "", w->used, md5);
		md5_hex(md5, etag);
	}
	else
	{
		md5_of(w->part_md5, (size_t) w->nparts * 16, md5);
		md5_hex(md5, etag);
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
	if (head_object(w->st, w->key, w->path, &head, &herr) == SB_OK &&
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

	content_md5_header(w->buf ? w->buf : "", w->used, md5hdr, sizeof(md5hdr));
	request_init(&req, "PUT", w->key);
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

		md5_hex(w->part_md5[i], hex);
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
	request_init(&req, "POST", w->key);
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
	request_init(&req, "DELETE", w->key);
	req.query = query;
	(void) s3_http_do(w->st, &req, &ignore);
}

static SbStatus
s3_write_commit(SbWriter *w, SbError *err)
{
	SbStatus	rc = SB_OK;

	/* the last part (a multipart upload ends with a non-empty one) */
	if (w->upload_id[0] != '\0' && w->used > 0)
		rc = send_part(w, err);

	/* an existing object is refused even where If-None-Match is ignored */
	if (rc == SB_OK && (w->flags & SB_WRITE_REPLACE) == 0)
	{
		S3Request	head;
		SbError		herr;
		SbStatus	hrc = head_object(w->st, w->key, w->path, &head, &herr);

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

static void
s3_write_abort(SbWriter *w)
{
	abort_upload(w);
	writer_free(w);
}

/* ---------------------------------------------------------------------
 * Reading: one GET per object, streamed.  A reader has a connection of its
 * own, and the transfer is paused whenever S3_READ_CHUNK bytes wait for
 * the caller.  (Not byte ranges: the RADOS Gateway's dbstore backend
 * answers ranges past the first with the wrong bytes.)
 * ---------------------------------------------------------------------
 */

static SbStatus
s3_read_open(SbStorage *st, const char *path, SbReader **rp, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;

	*rp = NULL;
	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return not_open(err);
	r = calloc(1, sizeof(SbReader));
	if (r == NULL)
		return sb_error_oom(err);
	r->st = st;
	r->xfer.timer_ms = -1;
	snprintf(r->path, sizeof(r->path), "%s", path);
	object_key(st, path, "", r->key);
	s3_buf_init(&r->buf, S3_READ_CHUNK);
	request_init(&r->req, "GET", r->key);
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

static SbStatus
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

static void
s3_read_close(SbReader *r)
{
	if (r == NULL)
		return;
	s3_xfer_free(&r->xfer);
	s3_buf_free(&r->buf);
	free(r);
}

/* ---------------------------------------------------------------------
 * Names: stat, list, mkdir, remove
 * ---------------------------------------------------------------------
 */

static SbStatus
s3_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	char		key[2 * SB_PATH_MAX];
	S3Request	req;
	SbStatus	rc;
	bool		used = false;

	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return not_open(err);
	memset(out, 0, sizeof(*out));
	object_key(st, path, "", key);
	rc = head_object(st, key, path, &req, err);
	if (rc == SB_OK)
	{
		out->size = req.content_length;
		out->mtime = req.last_modified;
		return SB_OK;
	}
	if (rc != SB_ERR_NOT_FOUND)
		return rc;
	object_key(st, path, "/", key);
	rc = prefix_used(st, key, path, &used, err);
	if (rc != SB_OK)
		return rc;
	if (!used)
		return sb_error_set(err, SB_ERR_NOT_FOUND, "file \"%s\" does not exist", path);
	out->is_dir = true;
	return SB_OK;
}

/* Call fn for the entries of one page; false when fn asked to stop. */
static bool
list_entries(const S3Buf *page, size_t plen, SbListFn fn, void *arg,
			 int *count, bool *marker, char *last, char *max_seen,
			 int *nprefixes)
{
	const char *xml = page->data;
	size_t		from = 0;
	size_t		a;
	size_t		b;
	size_t		c;
	char		key[2 * SB_PATH_MAX];
	char		num[64];

	while (s3_xml_span(xml, page->len, from, "Contents", &a, &b, &c))
	{
		SbStat		sst;

		from = c;
		if (!s3_xml_text(xml + a, b - a, "Key", key, sizeof(key)) ||
			strlen(key) < plen)
			continue;
		if (key[plen] == '\0')
		{
			*marker = true;		/* the directory's own marker */
			continue;
		}
		/* keys come sorted: a key twice is a gateway's stale entry */
		if (strcmp(key, last) == 0)
			continue;
		strcpy(last, key);
		if (strcmp(key, max_seen) > 0)
			strcpy(max_seen, key);
		memset(&sst, 0, sizeof(sst));
		if (s3_xml_text(xml + a, b - a, "Size", num, sizeof(num)))
			sst.size = strtoull(num, NULL, 10);
		if (s3_xml_text(xml + a, b - a, "LastModified", num, sizeof(num)))
			sst.mtime = s3_xml_time(num);
		(*count)++;
		if (!fn(key + plen, &sst, arg))
			return false;
	}
	from = 0;
	while (s3_xml_span(xml, page->len, from, "CommonPrefixes", &a, &b, &c))
	{
		SbStat		sst;
		size_t		klen;

		from = c;
		if (!s3_xml_text(xml + a, b - a, "Prefix", key, sizeof(key)))
			continue;
		klen = strlen(key);
		if (klen <= plen + 1 || key[klen - 1] != '/')
			continue;
		(*nprefixes)++;
		/* past everything below it: the prefix and U+10FFFF */
		if (strcmp(key, max_seen) > 0 && klen + 5 < 2 * SB_PATH_MAX)
		{
			strcpy(max_seen, key);
			strcat(max_seen, "\xf4\x8f\xbf\xbf");
		}
		key[klen - 1] = '\0';
		memset(&sst, 0, sizeof(sst));
		sst.is_dir = true;
		(*count)++;
		if (!fn(key + plen, &sst, arg))
			return false;
	}
	return true;
}

/*
 * The entries below directory path whose names start with name_prefix
 * (or all): *count of them, *marker when the directory's marker was seen.
 */
static SbStatus
list_below(SbStorage *st, const char *path, const char *name_prefix,
		   SbListFn fn, void *arg, int *countp, bool *markerp, SbError *err)
{
	char		prefix[2 * SB_PATH_MAX];
	char		token[1024];
	char		last[2 * SB_PATH_MAX] = "";
	char		max_seen[2 * SB_PATH_MAX] = "";
	char		after[2 * SB_PATH_MAX];
	bool		have_after = false;
	bool		have_token = false;
	bool		marker = false;
	int			count = 0;
	size_t		dirlen;
	S3Buf		page;
	SbStatus	rc = SB_OK;

	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return not_open(err);
	object_key(st, path, "/", prefix);
	dirlen = strlen(prefix);
	if (strlen(prefix) + strlen(name_prefix) >= sizeof(prefix))
		return sb_error_set(err, SB_ERR_CONFIG, "path \"%s\" is too long", path);
	strcat(prefix, name_prefix);
	s3_buf_init(&page, S3_MAX_XML);
	for (;;)
	{
		char		trunc[16] = "";

		int			before = count;
		int			nprefixes = 0;

		rc = list_page(st, prefix, true, 0, have_token ? token : NULL,
					   have_after ? after : NULL, &page, path, err);
		if (rc != SB_OK || page.data == NULL)
			break;
		if (!list_entries(&page, dirlen, fn, arg, &count, &marker, last,
						  max_seen, &nprefixes))
			break;
		s3_xml_text(page.data, page.len, "IsTruncated", trunc, sizeof(trunc));
		if (strcmp(trunc, "true") == 0 &&
			s3_xml_text(page.data, page.len, "NextContinuationToken", token, sizeof(token)))
		{
			have_token = true;
			continue;
		}

		/*
		 * Done, unless sub-directories were rolled up: the RADOS Gateway's
		 * dbstore (Ceph 20) then ends a listing after max-keys keys below
		 * them without saying it is truncated.  Ask again after the last
		 * entry seen until nothing new comes (one more request for such a
		 * listing; never on the WAL path, which has no sub-directories).
		 */
		if (nprefixes == 0 || count == before)
			break;
		strcpy(after, max_seen);
		have_after = true;
		have_token = false;
	}
	s3_buf_free(&page);
	*countp = count;
	*markerp = marker;
	return rc;
}

static SbStatus
s3_list_prefix(SbStorage *st, const char *path, const char *name_prefix,
			   SbListFn fn, void *arg, SbError *err)
{
	int			count;
	bool		marker;

	return list_below(st, path, name_prefix, fn, arg, &count, &marker, err);
}

static SbStatus
s3_list(SbStorage *st, const char *path, int flags, SbListFn fn, void *arg,
		SbError *err)
{
	int			count = 0;
	bool		marker = false;
	SbStatus	rc;

	rc = list_below(st, path, "", fn, arg, &count, &marker, err);
	if (rc == SB_OK && count == 0 && !marker)
	{
		char		key[2 * SB_PATH_MAX];
		S3Request	req;

		object_key(st, path, "", key);
		if (head_object(st, key, path, &req, err) == SB_OK)
			return sb_error_set(err, SB_ERR_IO, "\"%s\" is not a directory", path);
		return sb_error_set(err, SB_ERR_NOT_FOUND, "directory \"%s\" does not exist", path);
	}
	return rc;
}

static bool
dir_cached(S3Storage *s, const char *path)
{
	for (int i = 0; i < S3_DIR_CACHE; i++)
		if (strcmp(s->dirs.path[i], path) == 0)
			return true;
	return false;
}

static void
dir_remember(S3Storage *s, const char *path)
{
	snprintf(s->dirs.path[s->dirs.next], SB_PATH_MAX, "%s", path);
	s->dirs.next = (s->dirs.next + 1) % S3_DIR_CACHE;
}

static void
dir_forget_below(S3Storage *s, const char *path)
{
	size_t		len = strlen(path);

	for (int i = 0; i < S3_DIR_CACHE; i++)
		if (strncmp(s->dirs.path[i], path, len) == 0 &&
			(s->dirs.path[i][len] == '\0' || s->dirs.path[i][len] == '/'))
			s->dirs.path[i][0] = '\0';
}

/* mkdir of one level: refused over a file, else its marker object */
static SbStatus
make_dir(SbStorage *st, const char *path, SbError *err)
{
	char		key[2 * SB_PATH_MAX];
	S3Request	req;
	SbStatus	rc;

	object_key(st, path, "", key);
	rc = head_object(st, key, path, &req, err);
	if (rc == SB_OK)
		return sb_error_set(err, SB_ERR_EXISTS,
							"could not create directory \"%s\": a file of that name exists",
							path);
	if (rc != SB_ERR_NOT_FOUND)
		return rc;
	strcat(key, "/");
	request_init(&req, "PUT", key);
	req.headers[0] = "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==";	/* of "" */
	rc = s3_http_do(st, &req, err);
	if (rc == SB_OK && req.status != 200)
		rc = s3_http_error(st, &req, "create directory", path, err);
	return rc;
}

static SbStatus
s3_mkdir(SbStorage *st, const char *path, SbError *err)
{
	S3Storage  *s = s3_state(st);
	char		part[SB_PATH_MAX];
	const char *p = path;

	if (s == NULL || !s->opened)
		return not_open(err);
	if (dir_cached(s, path))
		return SB_OK;
	for (;;)
	{
		const char *slash = strchr(p, '/');
		size_t		len = slash ? (size_t) (slash - path) : strlen(path);

		memcpy(part, path, len);
		part[len] = '\0';
		if (!dir_cached(s, part))
		{
			SbStatus	rc = make_dir(st, part, err);

			if (rc != SB_OK)
				return rc;
			dir_remember(s, part);
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return SB_OK;
}

/* Delete the keys of one listing page at once (DeleteObjects). */
static SbStatus
delete_keys(SbStorage *st, const S3Buf *page, const char *path, int *n,
			SbError *err)
{
	S3Buf		body;
	S3Buf		out;
	S3Request	req;
	size_t		from = 0;
	size_t		a;
	size_t		b;
	size_t		c;
	char		md5hdr[64];
	SbStatus	rc = SB_OK;

	*n = 0;
	s3_buf_init(&body, S3_MAX_XML);
	s3_buf_append(&body, "<Delete><Quiet>true</Quiet>", 27);
	while (rc == SB_OK &&
		   s3_xml_span(page->data, page->len, from, "Contents", &a, &b, &c))
	{
		size_t		ka;
		size_t		kb;
		size_t		kc;

		from = c;
		/* the key as the listing escaped it, which is how XML wants it */
		if (!s3_xml_span(page->data, b, a, "Key", &ka, &kb, &kc))
			continue;
		if (!s3_buf_append(&body, "<Object><Key>", 13) ||
			!s3_buf_append(&body, page->data + ka, kb - ka) ||
			!s3_buf_append(&body, "</Key></Object>", 15))
			rc = sb_error_oom(err);
		(*n)++;
	}
	if (rc == SB_OK && !s3_buf_append(&body, "</Delete>", 9))
		rc = sb_error_oom(err);
	if (rc != SB_OK || *n == 0)
	{
		s3_buf_free(&body);
		return rc;
	}
	content_md5_header(body.data, body.len, md5hdr, sizeof(md5hdr));
	s3_buf_init(&out, S3_MAX_XML);
	request_init(&req, "POST", NULL);
	req.query = "delete=";
	req.body = body.data;
	req.body_len = body.len;
	req.headers[0] = md5hdr;
	req.headers[1] = "Content-Type: application/xml";
	req.out = &out;
	rc = s3_http_do(st, &req, err);
	if (rc == SB_OK)
	{
		if (req.status != 200)
			rc = s3_http_error(st, &req, "remove", path, err);
		else if (out.data != NULL && s3_xml_span(out.data, out.len, 0, "Error", &a, &b, &c))
		{
			char		key[2 * SB_PATH_MAX] = "";
			char		code[128] = "";

			s3_xml_text(out.data + a, b - a, "Key", key, sizeof(key));
			s3_xml_text(out.data + a, b - a, "Code", code, sizeof(code));
			rc = sb_error_set(err, code[0] && strcmp(code, "AccessDenied") == 0 ?
							  SB_ERR_PERMISSION : SB_ERR_IO,
							  "could not remove \"%s\" below \"%s\": %s", key, path,
							  code[0] ? code : "unknown error");
		}
	}
	s3_buf_free(&out);
	s3_buf_free(&body);
	return rc;
}

static SbStatus
delete_one(SbStorage *st, const char *key, const char *path, SbError *err)
{
	S3Request	req;
	SbStatus	rc;

	request_init(&req, "DELETE", key);
	rc = s3_http_do(st, &req, err);
	if (rc == SB_OK && req.status != 204 && req.status != 200 && req.status != 404)
		rc = s3_http_error(st, &req, "remove", path, err);
	return rc;
}

static SbStatus
s3_remove(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	char		key[2 * SB_PATH_MAX];
	char		prefix[2 * SB_PATH_MAX];
	S3Request	req;
	S3Buf		page;
	SbStatus	rc;
	bool		found = false;

	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return not_open(err);
	object_key(st, path, "", key);
	rc = head_object(st, key, path, &req, err);
	if (rc == SB_OK)
		return delete_one(st, key, path, err);
	if (rc != SB_ERR_NOT_FOUND)
		return rc;

	/* a directory: its marker and, when recursive, everything below */
	object_key(st, path, "/", prefix);
	dir_forget_below(s3_state(st), path);
	s3_buf_init(&page, S3_MAX_XML);
	for (;;)
	{
		size_t		a;
		size_t		b;
		size_t		c;
		int			n;

		rc = list_page(st, prefix, false, recursive ? 1000 : 2, NULL, NULL,
					   &page, path, err);
		if (rc != SB_OK)
			break;
		if (page.data == NULL ||
			!s3_xml_span(page.data, page.len, 0, "Contents", &a, &b, &c))
		{
			if (!found)
				rc = sb_error_set(err, SB_ERR_NOT_FOUND,
								  "file \"%s\" does not exist", path);
			break;
		}
		found = true;
		if (!recursive)
		{
			char		first[2 * SB_PATH_MAX];

			/* only the marker may be there */
			if (!s3_xml_text(page.data + a, b - a, "Key", first, sizeof(first)) ||
				strcmp(first, prefix) != 0 ||
				s3_xml_span(page.data, page.len, c, "Contents", &a, &b, &c))
			{
				rc = sb_error_set(err, SB_ERR_EXISTS,
								  "could not remove directory \"%s\": it is not empty",
								  path);
				break;
			}
			rc = delete_one(st, prefix, path, err);
			break;
		}
		rc = delete_keys(st, &page, path, &n, err);
		if (rc != SB_OK)
			break;
	}
	s3_buf_free(&page);
	return rc;
}
