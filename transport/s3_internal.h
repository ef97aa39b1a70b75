/*-------------------------------------------------------------------------
 *
 * s3_internal.h
 *		What the files of the S3 storage driver share: the driver's state,
 *		one signed HTTP request (s3_http.c), the few XML elements S3 answers
 *		with (s3_xml.c) and the credentials (s3_config.c).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_S3_INTERNAL_H
#define SB_S3_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3_settings.h"
#include "storage.h"

/*
 * Objects up to this size go in one PUT; larger ones in parts of this size
 * (S3 wants at least 5 MiB but the last).  A WAL segment of 16 MiB that
 * does not compress (or is encrypted) still goes in one PUT.
 */
#define S3_PART_SIZE		(16 * 1024 * 1024 + 256 * 1024)
/* a reader holds at most this much of the object at a time */
#define S3_READ_CHUNK		(1024 * 1024)
/* longest XML answer we keep (a listing of 1000 keys is ~300 kB) */
#define S3_MAX_XML			(4 * 1024 * 1024)
/* attempts of one request when the server answers 5xx or the network fails */
#define S3_ATTEMPTS			6
/* directories recently made by mkdir(), not made again */
#define S3_DIR_CACHE		32

typedef struct S3Dirs
{
	char		path[S3_DIR_CACHE][SB_PATH_MAX];
	int			next;
} S3Dirs;

/*
 * One libcurl transfer at a time: an easy handle on a multi handle of its
 * own (so that waits go through st->wait), with the sockets and the timer
 * libcurl asked us to watch.  A paused transfer (a reader that has enough
 * for now) keeps its connection.
 */
#define S3_MAX_SOCKETS	4
typedef struct S3Xfer
{
	void	   *easy;			/* CURL * */
	void	   *multi;			/* CURLM * */
	int			fd[S3_MAX_SOCKETS];
	int			what[S3_MAX_SOCKETS];
	int			nsock;
	long		timer_ms;		/* -1: none */
	bool		added;			/* on the multi handle */
	bool		paused;			/* the body callback paused it */
	bool		done;
	int			result;			/* CURLcode once done */
	void	   *headers;		/* struct curl_slist * of the request */
	char		errbuf[256];	/* CURL_ERROR_SIZE */
} S3Xfer;

typedef struct S3Storage
{
	void	   *share;			/* CURLSH *: connections, TLS sessions, DNS */
	S3Xfer		xfer;			/* requests other than reads */
	bool		opened;
	char		prefix[SB_PATH_MAX];	/* repo_path without outer '/', + '/' */
	char		base_url[600];	/* "https://host[:port]" (virtual host: bucket.) */
	char		bucket_path[80];	/* "/bucket" for path style, else "" */
	char		userpwd[512];	/* "key:secret" */
	char		token[2048];	/* session token or "" */
	char		sigv4[128];		/* "aws:amz:REGION:s3" */
	bool		instance;		/* credentials from the instance metadata */
	int64_t		creds_refresh_ms;	/* then: fetch them again from this time */
	S3Dirs		dirs;
} S3Storage;

/* A growing buffer with a limit. */
typedef struct S3Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		limit;
	bool		overflow;
} S3Buf;

/* One request and what came back. */
typedef struct S3Request
{
	/* in */
	const char *method;			/* GET, PUT, HEAD, DELETE, POST */
	const char *key;			/* full object key, or NULL for the bucket */
	const char *url;			/* or a whole plain-HTTP URL, sent unsigned
								 * (the instance metadata service) */
	const char *query;			/* sorted, encoded query string, or NULL */
	const void *body;			/* PUT/POST body (may be NULL with len 0) */
	size_t		body_len;
	const char *headers[6];		/* extra "Name: value" lines, NULL-ended */
	S3Buf	   *out;			/* where the answer's body goes (NULL: dropped) */
	S3Xfer	   *stream;			/* a streamed read: pause when out is full */
	bool		retried;		/* out: an earlier attempt was made */

	/* out */
	long		status;			/* HTTP status */
	char		etag[80];		/* without quotes */
	uint64_t	content_length;
	int64_t		last_modified;	/* seconds since the epoch, or 0 */
	uint64_t	range_total;	/* total of a Content-Range answer, or 0 */
	uint64_t	range_start;	/* first byte of a Content-Range answer */
	char		request_id[80];
	/* the start of the body when out is NULL: an error answer's XML */
	char		error_body[512];
	size_t		error_len;
} S3Request;

/* s3_instance.c */
/*
 * Fetch the instance role's credentials from the instance metadata service
 * into s->userpwd and s->token, and set s->creds_refresh_ms.
 */
extern SbStatus s3_instance_credentials(SbStorage *st, SbError *err);

/* s3_http.c */
/*
 * The storage's share (connection cache, TLS sessions, DNS) that every
 * transfer of it uses, so that a reader takes an idle connection instead
 * of making one; and one transfer.
 */
extern SbStatus s3_share_init(S3Storage *s, SbError *err);
extern void s3_share_free(S3Storage *s);
extern SbStatus s3_xfer_init(S3Xfer *x, SbError *err);
extern void s3_xfer_free(S3Xfer *x);
/*
 * Send req, repeating it after a network failure or a 5xx/429 answer (with
 * backoff).  SB_OK once any HTTP answer came (req->status says which), or
 * the error that made it give up.
 */
extern SbStatus s3_http_do(SbStorage *st, S3Request *req, SbError *err);

/*
 * A streamed GET on its own transfer x: start sends req (repeated like
 * s3_http_do while no byte came) and returns once the first req->out full
 * of the body (or all of it) is there; more empties req->out and fetches
 * the next.  x->done with req->out empty is the end.
 */
extern SbStatus s3_stream_start(SbStorage *st, S3Xfer *x, S3Request *req,
								SbError *err);
extern SbStatus s3_stream_more(SbStorage *st, S3Xfer *x, S3Request *req,
							   SbError *err);
/*
 * The error of an unexpected answer: status from the HTTP status and the
 * S3 error code in body, message naming what was done to which object.
 */
extern SbStatus s3_http_error(SbStorage *st, const S3Request *req,
							  const char *what, const char *path,
							  SbError *err);
extern void s3_buf_init(S3Buf *b, size_t limit);
extern void s3_buf_free(S3Buf *b);
extern bool s3_buf_append(S3Buf *b, const void *data, size_t len);
/* Percent-encode s into out (size outsz), keeping '/' when keep_slash. */
extern bool s3_uri_encode(const char *s, bool keep_slash, char *out,
						  size_t outsz);

/*
 * s3_xml.c: the first <tag>...</tag> at or after offset from: its text is
 * xml[*start, *stop), *after is past the closing tag.
 */
extern bool s3_xml_span(const char *xml, size_t len, size_t from,
						const char *tag, size_t *start, size_t *stop,
						size_t *after);
/* The decoded text of the first <tag> in xml[0, len); false if none or too long. */
extern bool s3_xml_text(const char *xml, size_t len, const char *tag,
						char *out, size_t outsz);
/* ISO 8601 "2024-01-02T03:04:05.000Z" to seconds since the epoch, or 0 */
extern int64_t s3_xml_time(const char *s);

/* s3_request.c: what the driver's files share */
extern S3Storage *s3_state(SbStorage *st);
/* The object key of a repository path, with suffix ("" or "/"). */
extern void s3_object_key(SbStorage *st, const char *path, const char *suffix,
						  char *key);
extern void s3_md5_of(const void *data, size_t len, unsigned char *md5);
extern void s3_md5_hex(const unsigned char *md5, char *hex);
/* "Content-MD5: <base64>" for a body */
extern void s3_content_md5_header(const void *data, size_t len, char *hdr,
								  size_t hdrsz);
extern void s3_request_init(S3Request *req, const char *method, const char *key);
/* HEAD of a key: SB_OK (found, req filled), SB_ERR_NOT_FOUND, or an error. */
extern SbStatus s3_head_object(SbStorage *st, const char *key, const char *path,
							   S3Request *req, SbError *err);
/* One page of a listing (ListObjectsV2): the XML in out. */
extern SbStatus s3_list_page(SbStorage *st, const char *prefix, bool delimit,
							 int max_keys, const char *token,
							 const char *start_after, S3Buf *out,
							 const char *path, SbError *err);
/* Is there any object with this key prefix? */
extern SbStatus s3_prefix_used(SbStorage *st, const char *prefix,
							   const char *path, bool *used, SbError *err);
extern SbStatus s3_not_open(SbError *err);
/* Directories recently made or seen (S3Dirs) */
extern bool s3_dir_cached(S3Storage *s, const char *path);
extern void s3_dir_remember(S3Storage *s, const char *path);
extern void s3_dir_forget_below(S3Storage *s, const char *path);

/* The storage operations (s3_write.c, s3_read.c, s3_names.c) */
extern SbStatus s3_write_open(SbStorage *st, const char *path, int flags,
							  SbWriter **w, SbError *err);
extern SbStatus s3_write(SbWriter *w, const void *buf, size_t len, SbError *err);
extern SbStatus s3_write_commit(SbWriter *w, SbError *err);
extern SbStatus s3_write_rename(SbStorage *st, SbWriter *w, const char *path,
								SbError *err);
extern void s3_write_abort(SbWriter *w);
extern SbStatus s3_read_open_at(SbStorage *st, const char *path,
							   uint64_t offset, uint64_t len, SbReader **r,
							   SbError *err);
extern SbStatus s3_read_open(SbStorage *st, const char *path, SbReader **r,
							 SbError *err);
extern SbStatus s3_read(SbReader *r, void *buf, size_t len, size_t *nread,
						SbError *err);
extern void s3_read_close(SbReader *r);
extern SbStatus s3_stat(SbStorage *st, const char *path, SbStat *out,
						SbError *err);
extern SbStatus s3_list(SbStorage *st, const char *path, int flags,
						SbListFn fn, void *arg, SbError *err);
extern SbStatus s3_list_prefix(SbStorage *st, const char *path,
							   const char *name_prefix, SbListFn fn, void *arg,
							   SbError *err);
extern SbStatus s3_remove(SbStorage *st, const char *path, bool recursive,
						  SbError *err);
extern SbStatus s3_mkdir(SbStorage *st, const char *path, SbError *err);

/* s3_config.c: "key:secret" and the session token, from the file or the environment */
extern SbStatus s3_load_credentials(const SbRepoConfig *cfg, S3Storage *s,
									SbError *err);
/* Check the settings and fill base_url, bucket_path, sigv4 and prefix. */
extern SbStatus s3_check_settings(const SbRepoConfig *cfg, S3Storage *s,
								  SbError *err);

#endif							/* SB_S3_INTERNAL_H */
