/*-------------------------------------------------------------------------
 *
 * s3_http.c
 *		One signed HTTPS request of the S3 driver, with libcurl: signing is
 *		libcurl's AWS SigV4 (CURLOPT_AWS_SIGV4), TLS is libcurl's OpenSSL
 *		with the peer and host name always verified.
 *
 * The transfer runs on a curl multi handle so that every wait goes through
 * st->wait when the caller set one (the server module's sleeps in
 * WaitLatchOrSocket(), so shutdown is never stuck behind a dead gateway),
 * else poll().  libcurl enforces the I/O timeout itself: connecting within
 * cfg.io_timeout_ms and a transfer that moves no byte for as long fails.
 *
 * A request that fails in the network (refused, reset, timed out) or gets
 * a 5xx or 429 answer is sent again, S3_ATTEMPTS times in all, after
 * 100 ms, 200 ms, 400 ms ... (at most 3.2 s); the backoff sleeps are waits
 * too.  Certificate and credential failures are never repeated.  One
 * connection is kept open across requests (libcurl's connection cache).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3_curl.h"

/* The body being uploaded. */
typedef struct S3Upload
{
	const char *data;
	size_t		len;
	size_t		pos;
} S3Upload;

void
s3_buf_init(S3Buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void
s3_buf_free(S3Buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

bool
s3_buf_append(S3Buf *b, const void *data, size_t len)
{
	if (b->len + len > b->limit)
	{
		b->overflow = true;
		return false;
	}
	if (b->len + len + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 8192;
		char	   *n;

		while (cap < b->len + len + 1)
			cap *= 2;
		n = realloc(b->data, cap);
		if (n == NULL)
			return false;
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

bool
s3_uri_encode(const char *s, bool keep_slash, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		o = 0;

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		bool		plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
			*p == '~' || (keep_slash && *p == '/');

		if (o + (plain ? 1 : 3) >= outsz)
			return false;
		if (plain)
			out[o++] = (char) *p;
		else
		{
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return true;
}

/* ---------------------------------------------------------------------
 * libcurl callbacks
 * ---------------------------------------------------------------------
 */

static size_t
body_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	S3Request  *req = arg;

	if (req->out == NULL)
	{
		/* kept for s3_http_error(): the Code and Message of an error */
		size_t		room = sizeof(req->error_body) - 1 - req->error_len;
		size_t		n = size * nmemb < room ? size * nmemb : room;

		memcpy(req->error_body + req->error_len, ptr, n);
		req->error_len += n;
		req->error_body[req->error_len] = '\0';
		return size * nmemb;
	}
	if (req->stream != NULL && req->out->len + size * nmemb > req->out->limit &&
		req->out->len > 0)
	{
		/* the reader has enough for now: libcurl keeps this for later */
		req->stream->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (!s3_buf_append(req->out, ptr, size * nmemb))
		return 0;				/* too long or out of memory: abort */
	return size * nmemb;
}

/* "Name: value" of a header line, or NULL */
static const char *
header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t		nl = strlen(name);
	const char *v;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	v = line + nl + 1;
	while (v < line + len && (*v == ' ' || *v == '\t'))
		v++;
	*vlen = (size_t) (line + len - v);
	while (*vlen > 0 && (v[*vlen - 1] == '\r' || v[*vlen - 1] == '\n' ||
						 v[*vlen - 1] == ' '))
		(*vlen)--;
	return v;
}

static void
copy_header(char *dst, size_t dstsz, const char *v, size_t vlen)
{
	if (vlen >= dstsz)
		vlen = dstsz - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	S3Request  *req = arg;
	size_t		len = size * nmemb;
	const char *v;
	size_t		vlen;
	char		tmp[128];

	if ((v = header_value(line, len, "ETag", &vlen)) != NULL)
	{
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
		{
			v++;
			vlen -= 2;
		}
		copy_header(req->etag, sizeof(req->etag), v, vlen);
	}
	else if ((v = header_value(line, len, "Content-Length", &vlen)) != NULL)
	{
		copy_header(tmp, sizeof(tmp), v, vlen);
		req->content_length = strtoull(tmp, NULL, 10);
	}
	else if ((v = header_value(line, len, "Last-Modified", &vlen)) != NULL)
	{
		time_t		t;

		copy_header(tmp, sizeof(tmp), v, vlen);
		t = curl_getdate(tmp, NULL);
		req->last_modified = t > 0 ? (int64_t) t : 0;
	}
	else if ((v = header_value(line, len, "Content-Range", &vlen)) != NULL)
	{
		const char *slash;

		copy_header(tmp, sizeof(tmp), v, vlen);
		slash = strchr(tmp, '/');
		if (slash != NULL && slash[1] != '*')
			req->range_total = strtoull(slash + 1, NULL, 10);
		/* "bytes FIRST-LAST/TOTAL" */
		if (strncmp(tmp, "bytes ", 6) == 0)
			req->range_start = strtoull(tmp + 6, NULL, 10);
	}
	else if ((v = header_value(line, len, "x-amz-request-id", &vlen)) != NULL)
		copy_header(req->request_id, sizeof(req->request_id), v, vlen);
	return len;
}

static size_t
read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	S3Upload   *u = arg;
	size_t		n = size * nmemb;

	if (n > u->len - u->pos)
		n = u->len - u->pos;
	if (n > 0)
		memcpy(buf, u->data + u->pos, n);
	u->pos += n;
	return n;
}

static int
seek_cb(void *arg, curl_off_t offset, int origin)
{
	S3Upload   *u = arg;

	if (origin != SEEK_SET || offset < 0 || (size_t) offset > u->len)
		return CURL_SEEKFUNC_CANTSEEK;
	u->pos = (size_t) offset;
	return CURL_SEEKFUNC_OK;
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	S3Xfer	   *w = userp;
	int			i;

	for (i = 0; i < w->nsock; i++)
		if (w->fd[i] == fd)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < w->nsock)
		{
			w->nsock--;
			w->fd[i] = w->fd[w->nsock];
			w->what[i] = w->what[w->nsock];
		}
		return 0;
	}
	if (i == w->nsock)
	{
		if (w->nsock == S3_MAX_SOCKETS)
			return 0;			/* waits fall back to short sleeps */
		w->nsock++;
	}
	w->fd[i] = fd;
	w->what[i] = what;
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	((S3Xfer *) userp)->timer_ms = timeout_ms;
	return 0;
}

/* ---------------------------------------------------------------------
 * Waiting
 * ---------------------------------------------------------------------
 */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef enum
{
	WAIT_READY,
	WAIT_TIMEOUT,
	WAIT_STOPPED
} WaitResult;

/*
 * Wait up to ms for fd (or, with fd < 0, just sleep).  st->wait fails both
 * when its time is up and when the process was asked to stop: it is a stop
 * when it returned before the time was up.
 */
static WaitResult
wait_for(SbStorage *st, int fd, bool rd, bool wr, long ms, SbError *err)
{
	int64_t		start = now_ms();

	if (ms < 1)
		ms = 1;
	if (st->wait != NULL)
	{
		SbError		werr;

		sb_error_clear(&werr);
		if (st->wait(fd, rd, wr, (int) ms, st->wait_arg, &werr) == SB_OK)
			return fd >= 0 ? WAIT_READY : WAIT_TIMEOUT;
		if (now_ms() - start >= ms - 1)
			return WAIT_TIMEOUT;
		*err = werr;
		return WAIT_STOPPED;
	}
	if (fd < 0)
	{
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		return WAIT_TIMEOUT;
	}
	else
	{
		struct pollfd pfd = {fd, (short) ((rd ? POLLIN : 0) | (wr ? POLLOUT : 0)), 0};
		int			n;

		do
			n = poll(&pfd, 1, (int) ms);
		while (n < 0 && errno == EINTR);
		return n > 0 ? WAIT_READY : WAIT_TIMEOUT;
	}
}

/*
 * Run transfer x until it is done or paused.  Returns 0, or -1 with err
 * set when a wait was interrupted (the transfer is then taken off).
 */
static int
xfer_run(SbStorage *st, S3Xfer *x, SbError *err)
{
	CURLM	   *multi = x->multi;
	int			running = 1;
	long		io_ms = st->cfg.io_timeout_ms > 0 ? st->cfg.io_timeout_ms : 60000;
	CURLMsg    *msg;
	int			left;

	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	while (running && !x->paused)
	{
		long		ms = x->timer_ms >= 0 && x->timer_ms < io_ms ? x->timer_ms : io_ms;
		struct pollfd pfd[S3_MAX_SOCKETS];
		int			n = 0;
		int			ready = 0;
		WaitResult	wr = WAIT_TIMEOUT;

		/*
		 * Every socket libcurl watches (the connection, and with newer
		 * libcurl the threaded resolver's wake-up pipe), looked at all at
		 * once without blocking.
		 */
		for (int i = 0; i < x->nsock; i++)
		{
			if (x->what[i] == CURL_POLL_NONE)
				continue;
			pfd[n].fd = x->fd[i];
			pfd[n].events = (short) (((x->what[i] & CURL_POLL_IN) ? POLLIN : 0) |
									 ((x->what[i] & CURL_POLL_OUT) ? POLLOUT : 0));
			pfd[n].revents = 0;
			n++;
		}
		if (n > 0)
			ready = poll(pfd, n, st->wait != NULL ? 0 : (int) (ms < 1 ? 1 : ms));
		if (ready <= 0)
		{
			/*
			 * Nothing yet: sleep until a socket is ready or the timer is due,
			 * through st->wait (latch-aware in the server).  It watches one
			 * socket: the last one libcurl added (the connection), in short
			 * turns when there are others.
			 */
			if (st->wait == NULL && n > 0)
				wr = WAIT_TIMEOUT;	/* poll() above waited already */
			else if (n == 0)
				wr = wait_for(st, -1, false, false, x->timer_ms >= 0 ? ms : 10, err);
			else
				wr = wait_for(st, pfd[n - 1].fd, (pfd[n - 1].events & POLLIN) != 0,
							  (pfd[n - 1].events & POLLOUT) != 0,
							  n > 1 && ms > 50 ? 50 : ms, err);
			if (wr == WAIT_STOPPED)
			{
				curl_multi_remove_handle(multi, x->easy);
				x->added = false;
				x->done = true;
				x->result = CURLE_ABORTED_BY_CALLBACK;
				return -1;
			}
			if (wr == WAIT_READY)
			{
				pfd[n - 1].revents = pfd[n - 1].events;
				ready = 1;
			}
		}
		if (ready > 0)
		{
			for (int i = 0; i < n; i++)
			{
				int			mask = 0;

				if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
					mask |= CURL_CSELECT_IN;
				if (pfd[i].revents & (POLLOUT | POLLERR))
					mask |= CURL_CSELECT_OUT;
				if (pfd[i].revents & POLLERR)
					mask |= CURL_CSELECT_ERR;
				if (mask != 0)
					curl_multi_socket_action(multi, pfd[i].fd, mask, &running);
			}
		}
		else
			curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		if (msg->msg == CURLMSG_DONE)
		{
			x->result = (int) msg->data.result;
			x->done = true;
		}
	}
	if (!running && !x->done)
	{
		x->result = CURLE_OK;
		x->done = true;
	}
	if (x->done)
	{
		curl_multi_remove_handle(multi, x->easy);
		x->added = false;
	}
	return 0;
}

/* Start the prepared easy handle of x. */
static bool
xfer_start(S3Xfer *x)
{
	if (x->added)
	{
		curl_multi_remove_handle(x->multi, x->easy);
		x->added = false;
	}
	x->paused = false;
	x->done = false;
	x->result = CURLE_OK;
	if (curl_multi_add_handle(x->multi, x->easy) != CURLM_OK)
		return false;
	x->added = true;
	return true;
}

/* ---------------------------------------------------------------------
 * Requests
 * ---------------------------------------------------------------------
 */

/* libcurl is loaded by the first request of the process (s3_curl.c) */
static SbStatus
global_init(SbError *err)
{
	return s3_curl_load(err);
}

SbStatus
s3_share_init(S3Storage *s, SbError *err)
{
	CURLSH	   *sh;

	if (s->share != NULL)
		return SB_OK;
	if (global_init(err) != SB_OK)
		return err->status;
	if ((sh = curl_share_init()) == NULL)
		return sb_error_oom(err);
	/* one process, one thread per storage: no locks needed */
	curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	s->share = sh;
	return SB_OK;
}

void
s3_share_free(S3Storage *s)
{
	/* in use: a reader still open (a caller's leak); keep it then */
	if (s->share != NULL && curl_share_cleanup(s->share) == CURLSHE_OK)
		s->share = NULL;
}

SbStatus
s3_xfer_init(S3Xfer *x, SbError *err)
{
	if (global_init(err) != SB_OK)
		return err->status;
	if (x->easy == NULL)
	{
		memset(x, 0, sizeof(*x));
		x->timer_ms = -1;
		if ((x->easy = curl_easy_init()) == NULL)
			return sb_error_oom(err);
	}
	if (x->multi == NULL)
	{
		if ((x->multi = curl_multi_init()) == NULL)
			return sb_error_oom(err);
		curl_multi_setopt(x->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
		curl_multi_setopt(x->multi, CURLMOPT_SOCKETDATA, x);
		curl_multi_setopt(x->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
		curl_multi_setopt(x->multi, CURLMOPT_TIMERDATA, x);
	}
	return SB_OK;
}

void
s3_xfer_free(S3Xfer *x)
{
	if (x->added)
		curl_multi_remove_handle(x->multi, x->easy);
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	if (x->multi != NULL)
		curl_multi_cleanup(x->multi);
	/* (libcurl may not be loaded: nothing was sent) */
	if (x->headers != NULL)
		curl_slist_free_all(x->headers);
	memset(x, 0, sizeof(*x));
	x->timer_ms = -1;
}

/* The URL of req: base, bucket, encoded key, query. */
static bool
build_url(S3Storage *s, const S3Request *req, char *url, size_t urlsz)
{
	char		enc[3 * SB_PATH_MAX + 16];
	int			n;

	if (!s3_uri_encode(req->key ? req->key : "", true, enc, sizeof(enc)))
		return false;
	n = snprintf(url, urlsz, "%s%s/%s%s%s", s->base_url, s->bucket_path, enc,
				 req->query ? "?" : "", req->query ? req->query : "");
	return n > 0 && (size_t) n < urlsz;
}

/* Is this transfer failure worth another attempt? */
static bool
curl_transient(int code)
{
	switch (code)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_AGAIN:
			/* a reused connection the server left bytes on: a fresh one */
		case CURLE_WEIRD_SERVER_REPLY:
		case CURLE_UNSUPPORTED_PROTOCOL:
			return true;
		default:
			return false;
	}
}

static const char *
endpoint_name(const SbStorage *st)
{
	return SB_S3(&st->cfg)->s3_endpoint[0] ? SB_S3(&st->cfg)->s3_endpoint : "(default AWS endpoint)";
}

static SbStatus
curl_error(SbStorage *st, int code, const char *errbuf, SbError *err)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror((CURLcode) code);

	switch (code)
	{
		case CURLE_PEER_FAILED_VERIFICATION:
			sb_error_set(err, SB_ERR_AUTH,
						 "could not verify the certificate of S3 endpoint \"%s\": %s",
						 endpoint_name(st), why);
			sb_error_hint(err, "Set safebackup.s3_ca_file to the CA certificate that signed the endpoint's certificate, and check that the endpoint's name is in that certificate.");
			return SB_ERR_AUTH;
		case CURLE_SSL_CACERT_BADFILE:
			sb_error_set(err, SB_ERR_CONFIG,
						 "could not load S3 CA file \"%s\": %s",
						 SB_S3(&st->cfg)->s3_ca_file, why);
			sb_error_hint(err, "Set safebackup.s3_ca_file to a readable file of PEM certificates.");
			return SB_ERR_CONFIG;
		case CURLE_OPERATION_TIMEDOUT:
			sb_error_set(err, SB_ERR_NETWORK,
						 "S3 endpoint \"%s\" did not answer in time: %s",
						 endpoint_name(st), why);
			sb_error_hint(err, "Check that the S3 server is running and reachable; safebackup.io_timeout (%d ms) limits each wait, and the request was tried %d times.",
						  st->cfg.io_timeout_ms, S3_ATTEMPTS);
			return SB_ERR_NETWORK;
		default:
			sb_error_set(err, SB_ERR_NETWORK,
						 "could not reach S3 endpoint \"%s\": %s",
						 endpoint_name(st), why);
			sb_error_hint(err, "Check safebackup.s3_endpoint and that the S3 server is running and reachable; the request was tried %d times.",
						  S3_ATTEMPTS);
			return SB_ERR_NETWORK;
	}
}

/* Set the options of one attempt of req on the easy handle. */
static bool
prepare(SbStorage *st, S3Xfer *x, S3Request *req, S3Upload *up)
{
	S3Storage  *s = st->priv;
	CURL	   *c = x->easy;
	char		url[4 * SB_PATH_MAX];
	char		tok[2200];
	long		io_ms = st->cfg.io_timeout_ms > 0 ? st->cfg.io_timeout_ms : 60000;
	struct curl_slist *h = NULL;

	if (req->url != NULL)
	{
		if (strlen(req->url) >= sizeof(url))
			return false;
		strcpy(url, req->url);
	}
	else if (!build_url(s, req, url, sizeof(url)))
		return false;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (s->share != NULL)
		curl_easy_setopt(c, CURLOPT_SHARE, s->share);
	/* only the instance metadata service is plain HTTP (a link-local address) */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, req->url != NULL ? "http" : "https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
	if (SB_S3(&st->cfg)->s3_ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, SB_S3(&st->cfg)->s3_ca_file);
	if (req->url == NULL)
	{
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, io_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (io_ms + 999) / 1000);
	x->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, req);

	/* the payload is not hashed: TLS and Content-MD5 protect it */
	if (req->url == NULL)
		h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (req->url == NULL && s->token[0] != '\0')
	{
		snprintf(tok, sizeof(tok), "x-amz-security-token: %s", s->token);
		h = curl_slist_append(h, tok);
	}
	for (int i = 0; i < 6 && req->headers[i] != NULL; i++)
		h = curl_slist_append(h, req->headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_slist_free_all(x->headers);
	x->headers = h;

	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "PUT") == 0)
	{
		up->data = req->body;
		up->len = req->body_len;
		up->pos = 0;
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, up);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) req->body_len);
	}
	else if (strcmp(req->method, "POST") == 0)
	{
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *) req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
	}
	else if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	return true;
}

/* Reset what an attempt of req brings back. */
static void
reset_answer(S3Request *req)
{
	req->status = 0;
	req->etag[0] = '\0';
	req->content_length = 0;
	req->last_modified = 0;
	req->range_total = 0;
	req->range_start = 0;
	req->request_id[0] = '\0';
	req->error_body[0] = '\0';
	req->error_len = 0;
	if (req->out != NULL)
	{
		req->out->len = 0;
		req->out->overflow = false;
	}
}

/*
 * Send req on x and run it (to its end, or until a stream pauses), with the
 * attempts and backoff described at the top.
 */
static SbStatus
run_request(SbStorage *st, S3Xfer *x, S3Request *req, SbError *err)
{
	S3Storage  *s = st->priv;
	long		backoff = 100;

	/* temporary credentials are fetched again before they expire */
	if (req->url == NULL && s->instance && now_ms() >= s->creds_refresh_ms)
	{
		SbStatus	rc = s3_instance_credentials(st, err);

		if (rc != SB_OK)
			return rc;
	}
	req->retried = false;
	for (int attempt = 1;; attempt++)
	{
		S3Upload	up;
		int			code;

		reset_answer(req);
		if (!prepare(st, x, req, &up))
			return sb_error_set(err, SB_ERR_CONFIG, "S3 object name \"%s\" is too long",
								req->key ? req->key : "");
		if (!xfer_start(x))
			return sb_error_oom(err);
		if (xfer_run(st, x, err) == -1)
			return err->status; /* asked to stop */
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &req->status);
		if (x->paused)
			return SB_OK;		/* a stream's first buffer is full */
		code = x->result;
		if (code == CURLE_WRITE_ERROR && req->out != NULL && req->out->overflow)
			return sb_error_set(err, SB_ERR_IO,
								"S3 answer to %s of \"%s\" is longer than expected",
								req->method, req->key ? req->key : "/");

		if (code == CURLE_OK && req->status < 500 && req->status != 429)
			return SB_OK;
		if (attempt == S3_ATTEMPTS ||
			(code != CURLE_OK && !curl_transient(code)))
		{
			if (code != CURLE_OK && req->url != NULL)
				return sb_error_set(err, SB_ERR_NETWORK, "%s",
									x->errbuf[0] ? x->errbuf :
									curl_easy_strerror((CURLcode) code));
			if (code != CURLE_OK)
				return curl_error(st, code, x->errbuf, err);
			return SB_OK;		/* the caller reports the 5xx */
		}
		if (wait_for(st, -1, false, false, backoff, err) == WAIT_STOPPED)
			return err->status;
		if (backoff < 3200)
			backoff *= 2;
		req->retried = true;
	}
}

SbStatus
s3_http_do(SbStorage *st, S3Request *req, SbError *err)
{
	S3Storage  *s = st->priv;

	req->stream = NULL;
	return run_request(st, &s->xfer, req, err);
}

SbStatus
s3_stream_start(SbStorage *st, S3Xfer *x, S3Request *req, SbError *err)
{
	req->stream = x;
	return run_request(st, x, req, err);
}

SbStatus
s3_stream_more(SbStorage *st, S3Xfer *x, S3Request *req, SbError *err)
{
	req->out->len = 0;
	if (x->done)
		return SB_OK;
	x->paused = false;
	curl_easy_pause(x->easy, CURLPAUSE_CONT);
	if (xfer_run(st, x, err) == -1)
		return err->status;
	if (x->done && x->result != CURLE_OK)
		return curl_error(st, x->result, x->errbuf, err);
	return SB_OK;
}

SbStatus
s3_http_error(SbStorage *st, const S3Request *req, const char *what,
			  const char *path, SbError *err)
{
	char		code[128] = "";
	char		message[256] = "";
	const char *shown;

	if (req->out != NULL && req->out->data != NULL)
	{
		s3_xml_text(req->out->data, req->out->len, "Code", code, sizeof(code));
		s3_xml_text(req->out->data, req->out->len, "Message", message, sizeof(message));
	}
	else if (req->out == NULL && req->error_len > 0)
	{
		s3_xml_text(req->error_body, req->error_len, "Code", code, sizeof(code));
		s3_xml_text(req->error_body, req->error_len, "Message", message, sizeof(message));
	}
	shown = code[0] ? code : "no error code";

	if (req->status == 403 &&
		(strcmp(code, "InvalidAccessKeyId") == 0 ||
		 strcmp(code, "SignatureDoesNotMatch") == 0 ||
		 strcmp(code, "ExpiredToken") == 0 ||
		 strcmp(code, "InvalidToken") == 0))
	{
		sb_error_set(err, SB_ERR_AUTH,
					 "S3 endpoint \"%s\" refused the credentials (%s) to %s \"%s\"",
					 endpoint_name(st), code, what, path);
		sb_error_hint(err, "Check the access key and secret in safebackup.s3_credentials_file (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), and safebackup.s3_region.");
		return SB_ERR_AUTH;
	}
	if (req->status == 403 && strcmp(code, "RequestTimeTooSkewed") == 0)
	{
		sb_error_set(err, SB_ERR_AUTH,
					 "S3 endpoint \"%s\" refused the request to %s \"%s\": the clocks differ too much",
					 endpoint_name(st), what, path);
		sb_error_hint(err, "Synchronize this host's clock (NTP).");
		return SB_ERR_AUTH;
	}
	if (req->status == 403)
	{
		sb_error_set(err, SB_ERR_PERMISSION,
					 "S3 endpoint \"%s\" denied the request to %s \"%s\" (%s)",
					 endpoint_name(st), what, path, shown);
		sb_error_hint(err, "Check the bucket policy and the rights of the access key.");
		return SB_ERR_PERMISSION;
	}
	if (req->status == 404 && strcmp(code, "NoSuchBucket") == 0)
	{
		sb_error_set(err, SB_ERR_NOT_FOUND, "S3 bucket \"%s\" does not exist",
					 SB_S3(&st->cfg)->s3_bucket);
		sb_error_hint(err, "Create the bucket, or correct safebackup.s3_bucket (and safebackup.s3_endpoint).");
		return SB_ERR_NOT_FOUND;
	}
	if (req->status == 404)
		return sb_error_set(err, SB_ERR_NOT_FOUND, "file \"%s\" does not exist", path);
	if (req->status == 412)
		return sb_error_set(err, SB_ERR_EXISTS, "file \"%s\" already exists", path);
	if (req->status >= 500 || req->status == 429)
	{
		sb_error_set(err, SB_ERR_NETWORK,
					 "S3 endpoint \"%s\" failed to %s \"%s\": HTTP status %ld (%s)",
					 endpoint_name(st), what, path, req->status, shown);
		sb_error_hint(err, "The server answered with an error %d times in a row; the operation is retried later.",
					  S3_ATTEMPTS);
		return SB_ERR_NETWORK;
	}
	sb_error_set(err, SB_ERR_IO,
				 "S3 endpoint \"%s\" refused to %s \"%s\": HTTP status %ld (%s)",
				 endpoint_name(st), what, path, req->status, shown);
	if (message[0] != '\0')
		sb_error_detail(err, "%s", message);
	return SB_ERR_IO;
}
