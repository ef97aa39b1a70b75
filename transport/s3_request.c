/*-------------------------------------------------------------------------
 *
 * s3_request.c
 *		What the files of the S3 driver share: the key of a repository path,
 *		the HEAD of an object, one page of a listing, MD5 headers, and the
 *		directories known to exist.
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

S3Storage *
s3_state(SbStorage *st)
{
	return (S3Storage *) st->priv;
}

/* The object key of a repository path, with suffix ("" or "/"). */
void
s3_object_key(SbStorage *st, const char *path, const char *suffix, char *key)
{
	snprintf(key, 2 * SB_PATH_MAX, "%s%s%s", s3_state(st)->prefix, path, suffix);
}

void
s3_md5_of(const void *data, size_t len, unsigned char *md5)
{
	unsigned int n = 16;

	EVP_Digest(data, len, md5, &n, EVP_md5(), NULL);
}

void
s3_md5_hex(const unsigned char *md5, char *hex)
{
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", md5[i]);
}

/* "Content-MD5: <base64>" for a body */
void
s3_content_md5_header(const void *data, size_t len, char *hdr, size_t hdrsz)
{
	unsigned char md5[16];
	unsigned char b64[32];

	s3_md5_of(data, len, md5);
	EVP_EncodeBlock(b64, md5, 16);
	snprintf(hdr, hdrsz, "Content-MD5: %s", (char *) b64);
}

void
s3_request_init(S3Request *req, const char *method, const char *key)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->key = key;
}

/* HEAD of a key: SB_OK (found, req filled), SB_ERR_NOT_FOUND, or an error. */
SbStatus
s3_head_object(SbStorage *st, const char *key, const char *path, S3Request *req,
			SbError *err)
{
	SbStatus	rc;

	s3_request_init(req, "HEAD", key);
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
SbStatus
s3_list_page(SbStorage *st, const char *prefix, bool delimit, int max_keys,
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
	s3_request_init(&req, "GET", NULL);
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
SbStatus
s3_prefix_used(SbStorage *st, const char *prefix, const char *path, bool *used,
			SbError *err)
{
	S3Buf		out;
	size_t		a;
	size_t		b;
	size_t		c;
	SbStatus	rc;

	s3_buf_init(&out, S3_MAX_XML);
	rc = s3_list_page(st, prefix, false, 1, NULL, NULL, &out, path, err);
	if (rc == SB_OK)
		*used = out.data != NULL &&
			s3_xml_span(out.data, out.len, 0, "Contents", &a, &b, &c);
	s3_buf_free(&out);
	return rc;
}

SbStatus
s3_not_open(SbError *err)
{
	return sb_error_set(err, SB_ERR_INTERNAL, "repository storage is not open");
}

bool
s3_dir_cached(S3Storage *s, const char *path)
{
	for (int i = 0; i < S3_DIR_CACHE; i++)
		if (strcmp(s->dirs.path[i], path) == 0)
			return true;
	return false;
}

void
s3_dir_remember(S3Storage *s, const char *path)
{
	snprintf(s->dirs.path[s->dirs.next], SB_PATH_MAX, "%s", path);
	s->dirs.next = (s->dirs.next + 1) % S3_DIR_CACHE;
}

void
s3_dir_forget_below(S3Storage *s, const char *path)
{
	size_t		len = strlen(path);

	for (int i = 0; i < S3_DIR_CACHE; i++)
		if (strncmp(s->dirs.path[i], path, len) == 0 &&
			(s->dirs.path[i][len] == '\0' || s->dirs.path[i][len] == '/'))
			s->dirs.path[i][0] = '\0';
}
