/*-------------------------------------------------------------------------
 *
 * s3_names.c
 *		The names of the S3 driver: stat, list, mkdir and remove over key
 *		prefixes and directory marker objects (see s3.c).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------
 * Names: stat, list, mkdir, remove
 * ---------------------------------------------------------------------
 */

SbStatus
s3_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	char		key[2 * SB_PATH_MAX];
	S3Request	req;
	SbStatus	rc;
	bool		used = false;

	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return s3_not_open(err);
	memset(out, 0, sizeof(*out));
	s3_object_key(st, path, "", key);
	rc = s3_head_object(st, key, path, &req, err);
	if (rc == SB_OK)
	{
		out->size = req.content_length;
		out->mtime = req.last_modified;
		return SB_OK;
	}
	if (rc != SB_ERR_NOT_FOUND)
		return rc;
	s3_object_key(st, path, "/", key);
	rc = s3_prefix_used(st, key, path, &used, err);
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
		return s3_not_open(err);
	s3_object_key(st, path, "/", prefix);
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

		rc = s3_list_page(st, prefix, true, 0, have_token ? token : NULL,
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

SbStatus
s3_list_prefix(SbStorage *st, const char *path, const char *name_prefix,
			   SbListFn fn, void *arg, SbError *err)
{
	int			count = 0;
	bool		marker;
	SbStatus	rc;

	rc = list_below(st, path, name_prefix, fn, arg, &count, &marker, err);
	/* no match: the directory may be missing too, which only costs more */
	if (rc == SB_OK && count == 0)
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"no file \"%s*\" in directory \"%s\"", name_prefix, path);
	return rc;
}

SbStatus
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

		s3_object_key(st, path, "", key);
		if (s3_head_object(st, key, path, &req, err) == SB_OK)
			return sb_error_set(err, SB_ERR_IO, "\"%s\" is not a directory", path);
		return sb_error_set(err, SB_ERR_NOT_FOUND, "directory \"%s\" does not exist", path);
	}
	return rc;
}


/* mkdir of one level: refused over a file, else its marker object */
static SbStatus
make_dir(SbStorage *st, const char *path, SbError *err)
{
	char		key[2 * SB_PATH_MAX];
	S3Request	req;
	SbStatus	rc;

	s3_object_key(st, path, "", key);
	rc = s3_head_object(st, key, path, &req, err);
	if (rc == SB_OK)
		return sb_error_set(err, SB_ERR_EXISTS,
							"could not create directory \"%s\": a file of that name exists",
							path);
	if (rc != SB_ERR_NOT_FOUND)
		return rc;
	strcat(key, "/");
	s3_request_init(&req, "PUT", key);
	req.headers[0] = "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==";	/* of "" */
	rc = s3_http_do(st, &req, err);
	if (rc == SB_OK && req.status != 200)
		rc = s3_http_error(st, &req, "create directory", path, err);
	return rc;
}

SbStatus
s3_mkdir(SbStorage *st, const char *path, SbError *err)
{
	S3Storage  *s = s3_state(st);
	char		part[SB_PATH_MAX];
	const char *p = path;

	if (s == NULL || !s->opened)
		return s3_not_open(err);
	if (s3_dir_cached(s, path))
		return SB_OK;
	for (;;)
	{
		const char *slash = strchr(p, '/');
		size_t		len = slash ? (size_t) (slash - path) : strlen(path);

		memcpy(part, path, len);
		part[len] = '\0';
		if (!s3_dir_cached(s, part))
		{
			SbStatus	rc = make_dir(st, part, err);

			if (rc != SB_OK)
				return rc;
			s3_dir_remember(s, part);
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
	s3_content_md5_header(body.data, body.len, md5hdr, sizeof(md5hdr));
	s3_buf_init(&out, S3_MAX_XML);
	s3_request_init(&req, "POST", NULL);
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

	s3_request_init(&req, "DELETE", key);
	rc = s3_http_do(st, &req, err);
	if (rc == SB_OK && req.status != 204 && req.status != 200 && req.status != 404)
		rc = s3_http_error(st, &req, "remove", path, err);
	return rc;
}

SbStatus
s3_remove(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	char		key[2 * SB_PATH_MAX];
	char		prefix[2 * SB_PATH_MAX];
	S3Request	req;
	S3Buf		page;
	SbStatus	rc;
	bool		found = false;

	if (s3_state(st) == NULL || !s3_state(st)->opened)
		return s3_not_open(err);
	s3_object_key(st, path, "", key);
	rc = s3_head_object(st, key, path, &req, err);
	if (rc == SB_OK)
		return delete_one(st, key, path, err);
	if (rc != SB_ERR_NOT_FOUND)
		return rc;

	/* a directory: its marker and, when recursive, everything below */
	s3_object_key(st, path, "/", prefix);
	s3_dir_forget_below(s3_state(st), path);
	s3_buf_init(&page, S3_MAX_XML);
	for (;;)
	{
		size_t		a;
		size_t		b;
		size_t		c;
		int			n;

		rc = s3_list_page(st, prefix, false, recursive ? 1000 : 2, NULL, NULL,
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
