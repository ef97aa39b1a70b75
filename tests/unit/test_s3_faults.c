/*-------------------------------------------------------------------------
 *
 * test_s3_faults.c
 *		The S3 driver against a tiny HTTPS server of its own that answers
 *		with faults: 5xx answers a few times then success, 5xx every time,
 *		connections closed without an answer, no answer (the I/O timeout),
 *		and a server that never accepts (every attempt times out).  Checks the number of attempts (S3_ATTEMPTS), the error's
 *		message and hint, and that nothing is reported stored (nor stored)
 *		after a failure.  No gateway needed: the server is a thread on
 *		127.0.0.1 with a certificate of tests/tls/make-certs.sh (the driver
 *		speaks HTTPS only, with the certificate verified).
 *
 * The server understands just what the driver sends for these paths: the
 * bucket listing of sb_storage_open(), HEAD and PUT of an object, and GET
 * of an object (its bytes made up from their offsets), whole or one Range,
 * answered right or, as range_mode says, as a server that ignores the
 * range or names another one.  Every
 * answer closes its connection, so one connection is served at a time.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sb_config.h"
#include "sb_error.h"
#include "sb_test.h"
#include "storage.h"
#include "../../transport/s3_settings.h"

SB_TEST_DEFINE_COUNTERS;

/* S3_ATTEMPTS of transport/s3_internal.h: what the README promises */
#define ATTEMPTS 6

#define CHECK_RC(rc, expected, err) \
	SB_CHECK_MSG((rc) == (expected), "got \"%s\" (%s), expected \"%s\"", \
				 sb_status_name(rc), (rc) != SB_OK ? (err).msg : "no error", \
				 sb_status_name(expected))

typedef enum
{
	FAULT_NONE,
	FAULT_STATUS,				/* answer fault_status */
	FAULT_CLOSE,				/* close the connection without an answer */
	FAULT_SILENT				/* read the request, never answer */
} FaultKind;

#define MAX_OBJECTS 16
#define MAX_PARKED 16

/* The server's state; the lock guards everything below it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FaultKind fault = FAULT_NONE;

/* how GET answers a Range */
typedef enum
{
	RANGE_RIGHT,				/* 206 with the range asked for */
	RANGE_IGNORED,				/* 200 with the whole object */
	RANGE_OTHER					/* 206 naming (and sending) another start */
} RangeMode;
static RangeMode range_mode = RANGE_RIGHT;
static char fault_method[8];	/* the requests the fault applies to */
static int	fault_status;
static int	fault_left;			/* faults still to make; -1: every time */
static int	requests[4];		/* GET, HEAD, PUT, other */
static char objects[MAX_OBJECTS][128];	/* keys stored */
static size_t object_size[MAX_OBJECTS];
static int	nobjects;

static volatile bool stopping = false;
static int	listen_fd = -1;
static int	port;
static SSL_CTX *server_ctx;
static SSL *parked[MAX_PARKED];	/* FAULT_SILENT: held open, never answered */
static int	nparked;

static char workdir[64];
static char ca_file[128];
static char cred_file[128];

static int
method_slot(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return 0;
	if (strcmp(m, "HEAD") == 0)
		return 1;
	if (strcmp(m, "PUT") == 0)
		return 2;
	return 3;
}

static void
set_fault(FaultKind kind, const char *method, int status, int count)
{
	pthread_mutex_lock(&lock);
	fault = kind;
	snprintf(fault_method, sizeof(fault_method), "%s", method);
	fault_status = status;
	fault_left = count;
	memset(requests, 0, sizeof(requests));
	pthread_mutex_unlock(&lock);
}

static int
count_of(const char *method)
{
	int			n;

	pthread_mutex_lock(&lock);
	n = requests[method_slot(method)];
	pthread_mutex_unlock(&lock);
	return n;
}

static int
find_object(const char *key)
{
	for (int i = 0; i < nobjects; i++)
		if (strcmp(objects[i], key) == 0)
			return i;
	return -1;
}

static bool
stored(const char *key)
{
	bool		found;

	pthread_mutex_lock(&lock);
	found = find_object(key) >= 0;
	pthread_mutex_unlock(&lock);
	return found;
}

/* the byte at offset i of every object GET serves */
static unsigned char
object_byte(uint64_t i)
{
	return (unsigned char) (i * 131 + i / 251 + 7);
}

/* --- the server --- */

static bool
write_all(SSL *ssl, const char *s, size_t len)
{
	while (len > 0)
	{
		int			n = SSL_write(ssl, s, (int) len);

		if (n <= 0)
			return false;
		s += n;
		len -= (size_t) n;
	}
	return true;
}

static void
answer(SSL *ssl, int status, const char *reason, const char *extra,
	   const char *body)
{
	char		head[1024];
	int			n;

	n = snprintf(head, sizeof(head),
				 "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
				 status, reason, extra, strlen(body));
	if (write_all(ssl, head, (size_t) n))
		(void) write_all(ssl, body, strlen(body));
}

static const char *
header(const char *req, const char *name, char *out, size_t outsz)
{
	const char *p = req;
	size_t		nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL)
	{
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
		{
			const char *v = p + nl + 1;
			size_t		len;

			while (*v == ' ')
				v++;
			len = strcspn(v, "\r\n");
			if (len >= outsz)
				len = outsz - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			return out;
		}
	}
	return NULL;
}

/* Read one request; false when the client went away. */
static bool
read_request(SSL *ssl, char *req, size_t reqsz, size_t *body_len)
{
	size_t		used = 0;
	char	   *end = NULL;
	char		value[64];
	size_t		have;

	while (end == NULL)
	{
		int			n;

		if (used + 1 >= reqsz)
			return false;
		n = SSL_read(ssl, req + used, (int) (reqsz - 1 - used));
		if (n <= 0)
			return false;
		used += (size_t) n;
		req[used] = '\0';
		end = strstr(req, "\r\n\r\n");
	}
	*body_len = header(req, "Content-Length", value, sizeof(value)) ?
		strtoul(value, NULL, 10) : 0;
	if (header(req, "Expect", value, sizeof(value)) &&
		strcasecmp(value, "100-continue") == 0)
		(void) write_all(ssl, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	/* the body: counted, not kept */
	have = used - (size_t) (end + 4 - req);
	while (have < *body_len)
	{
		char		buf[4096];
		int			n = SSL_read(ssl, buf, sizeof(buf));

		if (n <= 0)
			return false;
		have += (size_t) n;
	}
	return true;
}

/* GET of an object of size bytes: whole, or the one range asked for. */
static void
serve_object(SSL *ssl, const char *req, uint64_t size)
{
	char		value[128];
	char		head[512];
	unsigned long long first = 0;
	unsigned long long last = size - 1;
	unsigned long long start;
	bool		ranged = false;
	int			n;

	if (header(req, "Range", value, sizeof(value)) != NULL &&
		range_mode != RANGE_IGNORED)
	{
		int			k = sscanf(value, "bytes=%llu-%llu", &first, &last);

		if (k < 1)
		{
			answer(ssl, 400, "Bad Request", "", "");
			return;
		}
		if (k < 2 || last >= size)
			last = size - 1;
		if (first >= size)
		{
			answer(ssl, 416, "Range Not Satisfiable", "Content-Type: application/xml\r\n",
				   "<Error><Code>InvalidRange</Code></Error>");
			return;
		}
		ranged = true;
	}
	else
		first = 0;
	start = range_mode == RANGE_OTHER && ranged ? first + 1 : first;
	if (ranged)
		n = snprintf(head, sizeof(head),
					 "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %llu-%llu/%llu\r\nContent-Length: %llu\r\nConnection: close\r\n\r\n",
					 start, last + (start - first), (unsigned long long) size,
					 last - first + 1);
	else
		n = snprintf(head, sizeof(head),
					 "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\nConnection: close\r\n\r\n",
					 (unsigned long long) size);
	if (!write_all(ssl, head, (size_t) n))
		return;
	/* last - first + 1 bytes, from start on */
	for (uint64_t off = start; off <= last + (start - first) && size > 0;)
	{
		char		buf[4096];
		size_t		len = 0;

		while (len < sizeof(buf) && off <= last + (start - first))
			buf[len++] = (char) object_byte(off++);
		if (!write_all(ssl, buf, len))
			return;
	}
}

/* Serve one connection: one request, one answer (or a fault). */
static void
serve(SSL *ssl)
{
	char		req[16384];
	char		method[8] = "";
	char		target[1024] = "";
	char		key[128] = "";
	char		extra[256];
	size_t		body_len;
	FaultKind	kind = FAULT_NONE;
	int			status = 0;
	int			found;

	if (!read_request(ssl, req, sizeof(req), &body_len) ||
		sscanf(req, "%7s %1023s", method, target) != 2)
		return;
	/* path style: /bucket/key?query */
	if (strncmp(target, "/bucket/", 8) == 0)
		snprintf(key, sizeof(key), "%.*s", (int) strcspn(target + 8, "?"), target + 8);

	pthread_mutex_lock(&lock);
	requests[method_slot(method)]++;
	if (fault != FAULT_NONE && strcmp(method, fault_method) == 0 && fault_left != 0)
	{
		kind = fault;
		status = fault_status;
		if (fault_left > 0)
			fault_left--;
	}
	found = find_object(key);
	if (kind == FAULT_NONE && strcmp(method, "PUT") == 0 && found < 0 &&
		nobjects < MAX_OBJECTS)
	{
		snprintf(objects[nobjects], sizeof(objects[0]), "%s", key);
		object_size[nobjects++] = body_len;
	}
	pthread_mutex_unlock(&lock);

	if (kind == FAULT_CLOSE)
		return;
	if (kind == FAULT_SILENT)
	{
		if (nparked < MAX_PARKED)
		{
			parked[nparked++] = ssl;
			return;
		}
		return;
	}
	if (kind == FAULT_STATUS)
	{
		answer(ssl, status, status == 503 ? "Service Unavailable" : "Internal Server Error",
			   "Content-Type: application/xml\r\n",
			   strcmp(method, "HEAD") == 0 ? "" :	/* no body to a HEAD */
			   status == 503 ?
			   "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>" :
			   "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>");
		return;
	}
	if (strcmp(method, "GET") == 0 && key[0] == '\0')
		answer(ssl, 200, "OK", "Content-Type: application/xml\r\n",
			   "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>bucket</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>");
	else if (strcmp(method, "HEAD") == 0 && found < 0)
		answer(ssl, 404, "Not Found", "", "");
	else if (strcmp(method, "HEAD") == 0)
	{
		/* HEAD: the length of the object, no body */
		char		head[512];
		int			n = snprintf(head, sizeof(head),
								 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nETag: \"x\"\r\nLast-Modified: Sun, 06 Dec 2026 03:00:00 GMT\r\nConnection: close\r\n\r\n",
								 object_size[found]);

		(void) write_all(ssl, head, (size_t) n);
	}
	else if (strcmp(method, "GET") == 0 && found >= 0)
		serve_object(ssl, req, object_size[found]);
	else if (strcmp(method, "PUT") == 0 && found >= 0)
		answer(ssl, 412, "Precondition Failed", "Content-Type: application/xml\r\n",
			   "<Error><Code>PreconditionFailed</Code></Error>");
	else if (strcmp(method, "PUT") == 0)
	{
		snprintf(extra, sizeof(extra), "ETag: \"stored\"\r\n");
		answer(ssl, 200, "OK", extra, "");
	}
	else
		answer(ssl, 501, "Not Implemented", "", "");
}

static void *
server_main(void *arg)
{
	while (!stopping)
	{
		struct pollfd pfd = {listen_fd, POLLIN, 0};
		int			fd;
		SSL		   *ssl;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		ssl = SSL_new(server_ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1)
		{
			int			before = nparked;

			serve(ssl);
			if (nparked > before)
				continue;		/* held open, unanswered */
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
	return NULL;
}

static bool
start_server(pthread_t *thread)
{
	char		cmd[256];
	char		path[160];
	struct sockaddr_in addr;
	socklen_t	len = sizeof(addr);
	int			one = 1;
	FILE	   *f;

	snprintf(cmd, sizeof(cmd), "tests/tls/make-certs.sh '%s/pki' >/dev/null", workdir);
	if (system(cmd) != 0)
		return false;
	snprintf(ca_file, sizeof(ca_file), "%s/pki/ca.crt", workdir);

	snprintf(cred_file, sizeof(cred_file), "%s/s3.cred", workdir);
	f = fopen(cred_file, "w");
	if (f == NULL)
		return false;
	fprintf(f, "access_key_id = TESTKEY\nsecret_access_key = testsecret\n");
	fclose(f);
	chmod(cred_file, 0600);

	server_ctx = SSL_CTX_new(TLS_server_method());
	snprintf(path, sizeof(path), "%s/pki/server.crt", workdir);
	if (server_ctx == NULL || SSL_CTX_use_certificate_chain_file(server_ctx, path) != 1)
		return false;
	snprintf(path, sizeof(path), "%s/pki/server.key", workdir);
	if (SSL_CTX_use_PrivateKey_file(server_ctx, path, SSL_FILETYPE_PEM) != 1)
		return false;

	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listen_fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
		listen(listen_fd, 16) != 0 ||
		getsockname(listen_fd, (struct sockaddr *) &addr, &len) != 0)
		return false;
	port = ntohs(addr.sin_port);
	return pthread_create(thread, NULL, server_main, NULL) == 0;
}

/* --- the tests --- */

static void
config(SbRepoConfig *cfg, int to_port, int io_timeout_ms)
{
	sb_config_init(cfg);
	cfg->repo_type = sb_test_repo_type("s3");
	cfg->io_timeout_ms = io_timeout_ms;
	strcpy(cfg->repo_path, "/");
	snprintf(SB_S3(cfg)->s3_endpoint, sizeof(SB_S3(cfg)->s3_endpoint), "127.0.0.1:%d", to_port);
	snprintf(SB_S3(cfg)->s3_bucket, sizeof(SB_S3(cfg)->s3_bucket), "bucket");
	snprintf(SB_S3(cfg)->s3_region, sizeof(SB_S3(cfg)->s3_region), "us-east-1");
	SB_S3(cfg)->s3_uri_style = SB_S3_URI_PATH;
	snprintf(SB_S3(cfg)->s3_credentials_file, sizeof(SB_S3(cfg)->s3_credentials_file), "%s", cred_file);
	snprintf(SB_S3(cfg)->s3_ca_file, sizeof(SB_S3(cfg)->s3_ca_file), "%s", ca_file);
}

static SbStatus
open_storage(int to_port, int io_timeout_ms, SbStorage **st, SbError *err)
{
	SbRepoConfig cfg;
	SbStatus	rc;

	config(&cfg, to_port, io_timeout_ms);
	rc = sb_storage_create(&cfg, st, err);
	if (rc == SB_OK)
		rc = sb_storage_open(*st, err);
	return rc;
}

/* Write a small file "name" whole: the status of the commit. */
static SbStatus
write_small(SbStorage *st, const char *name, SbError *err)
{
	SbWriter   *w;
	SbStatus	rc;

	rc = sb_storage_write_open(st, name, 0, &w, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_storage_write(st, w, "some WAL bytes", 14, err);
	if (rc != SB_OK)
	{
		sb_storage_write_abort(st, w);
		return rc;
	}
	return sb_storage_write_commit(st, w, err);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double) (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Read want bytes of path from offset (sb_storage_read_open_at with the
 * hint len): SB_OK and *good when they are the object's bytes there.
 */
static SbStatus
read_range(SbStorage *st, const char *path, uint64_t offset, uint64_t len,
		   size_t want, size_t *got, bool *good, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;
	unsigned char buf[8192];

	*got = 0;
	*good = true;
	rc = sb_storage_read_open_at(st, path, offset, len, &r, err);
	while (rc == SB_OK && *got < want)
	{
		size_t		nread = 0;
		size_t		n = want - *got < sizeof(buf) ? want - *got : sizeof(buf);

		rc = sb_storage_read(st, r, buf, n, &nread, err);
		if (rc != SB_OK || nread == 0)
			break;
		for (size_t i = 0; i < nread; i++)
			if (buf[i] != object_byte(offset + *got + i))
				*good = false;
		*got += nread;
	}
	if (r != NULL)
		sb_storage_read_close(st, r);
	return rc;
}

/*
 * Ranged reads: one GET with a Range header, from an offset to an end or
 * to the object's end; an offset past the end reads nothing (416); a
 * server that ignores the range is read from the offset all the same, and
 * one that answers another range is refused.
 */
static void
test_ranged_reads(SbStorage *st)
{
	const uint64_t size = 300007;
	SbError		err;
	SbStatus	rc;
	size_t		got;
	bool		good;

	pthread_mutex_lock(&lock);
	snprintf(objects[nobjects], sizeof(objects[0]), "ranged");
	object_size[nobjects++] = size;
	pthread_mutex_unlock(&lock);
	set_fault(FAULT_NONE, "", 0, 0);

	rc = read_range(st, "ranged", 0, UINT64_MAX, SIZE_MAX, &got, &good, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(got == size && good, "whole: %zu bytes%s", got, good ? "" : ", wrong ones");
	rc = read_range(st, "ranged", 1000, 5000, 5000, &got, &good, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(got == 5000 && good, "range: %zu bytes%s", got, good ? "" : ", wrong ones");
	rc = read_range(st, "ranged", size - 9, UINT64_MAX, SIZE_MAX, &got, &good, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(got == 9 && good, "to the end: %zu bytes%s", got, good ? "" : ", wrong ones");
	/* the hint reaches past the end: the server cuts it */
	rc = read_range(st, "ranged", size - 9, 100, SIZE_MAX, &got, &good, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(got == 9 && good, "past the end: %zu bytes%s", got, good ? "" : ", wrong ones");
	rc = read_range(st, "ranged", size, 10, SIZE_MAX, &got, &good, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(got == 0, "at the end: %zu bytes", got);
	rc = read_range(st, "ranged", size + 5000, UINT64_MAX, SIZE_MAX, &got, &good, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(got == 0, "past the end: %zu bytes", got);
	SB_CHECK_MSG(count_of("GET") == 6, "%d GET requests, expected 6", count_of("GET"));

	/* a server that ignores ranges: the reader drops the start itself */
	range_mode = RANGE_IGNORED;
	rc = read_range(st, "ranged", 200001, 777, 777, &got, &good, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(got == 777 && good, "range ignored: %zu bytes%s", got, good ? "" : ", wrong ones");

	/* one that answers another range than asked */
	range_mode = RANGE_OTHER;
	rc = read_range(st, "ranged", 4096, 100, 100, &got, &good, &err);
	CHECK_RC(rc, SB_ERR_IO, err);
	SB_CHECK(rc == SB_OK || strstr(err.msg, "another range") != NULL);
	range_mode = RANGE_RIGHT;
}

/* 503 twice, then the PUT goes through: retried, stored once */
static void
test_5xx_then_success(SbStorage *st)
{
	SbError		err;
	SbStat		sst;
	SbStatus	rc;

	sb_error_clear(&err);
	set_fault(FAULT_STATUS, "PUT", 503, 2);
	rc = write_small(st, "f1", &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(count_of("PUT") == 3, "%d PUT requests, expected 3 (two 503 answers, then 200)",
				 count_of("PUT"));
	SB_CHECK(stored("f1"));
	set_fault(FAULT_NONE, "", 0, 0);
	rc = sb_storage_stat(st, "f1", &sst, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK(rc != SB_OK || sst.size == 14);
}

/* 500 every time: ATTEMPTS tries, a clear error, nothing stored */
static void
test_5xx_always(SbStorage *st)
{
	SbError		err;
	SbStat		sst;
	SbStatus	rc;
	char		expected[256];

	sb_error_clear(&err);
	set_fault(FAULT_STATUS, "PUT", 500, -1);
	rc = write_small(st, "f2", &err);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	SB_CHECK_MSG(count_of("PUT") == ATTEMPTS, "%d PUT requests, expected %d",
				 count_of("PUT"), ATTEMPTS);
	snprintf(expected, sizeof(expected),
			 "S3 endpoint \"127.0.0.1:%d\" failed to write \"f2\": HTTP status 500 (InternalError)",
			 port);
	SB_CHECK_MSG(strcmp(err.msg, expected) == 0, "message \"%s\"", err.msg);
	SB_CHECK_MSG(strcmp(err.hint, "The server answered with an error 6 times in a row; the operation is retried later.") == 0,
				 "hint \"%s\"", err.hint);
	SB_CHECK(!stored("f2"));

	/* and the repository says so too */
	set_fault(FAULT_NONE, "", 0, 0);
	sb_error_clear(&err);
	rc = sb_storage_stat(st, "f2", &sst, &err);
	CHECK_RC(rc, SB_ERR_NOT_FOUND, err);

	/* a 503 on the existence check before the PUT: no PUT at all */
	set_fault(FAULT_STATUS, "HEAD", 503, -1);
	sb_error_clear(&err);
	rc = write_small(st, "f3", &err);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	SB_CHECK_MSG(strstr(err.msg, "failed to look up \"f3\": HTTP status 503") != NULL,
				 "message \"%s\"", err.msg);
	SB_CHECK_MSG(count_of("HEAD") == ATTEMPTS && count_of("PUT") == 0,
				 "%d HEAD and %d PUT requests, expected %d and 0",
				 count_of("HEAD"), count_of("PUT"), ATTEMPTS);
	SB_CHECK(!stored("f3"));
}

/* connections closed without an answer, then an answer: retried */
static void
test_closed(SbStorage *st)
{
	SbError		err;
	SbStatus	rc;

	sb_error_clear(&err);
	set_fault(FAULT_CLOSE, "PUT", 0, 3);
	rc = write_small(st, "f4", &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(count_of("PUT") == 4, "%d PUT requests, expected 4", count_of("PUT"));
	SB_CHECK(stored("f4"));

	set_fault(FAULT_CLOSE, "PUT", 0, -1);
	sb_error_clear(&err);
	rc = write_small(st, "f5", &err);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	SB_CHECK_MSG(count_of("PUT") == ATTEMPTS, "%d PUT requests, expected %d",
				 count_of("PUT"), ATTEMPTS);
	SB_CHECK_MSG(strstr(err.msg, "could not reach S3 endpoint") != NULL, "message \"%s\"", err.msg);
	SB_CHECK_MSG(strstr(err.hint, "tried 6 times") != NULL, "hint \"%s\"", err.hint);
	SB_CHECK(!stored("f5"));
}

/* no answer once: that attempt ends after the I/O timeout, the next works */
static void
test_timeout(void)
{
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	struct timespec t0;
	double		took;

	sb_error_clear(&err);
	set_fault(FAULT_NONE, "", 0, 0);
	rc = open_storage(port, 1000, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc != SB_OK)
		goto done;
	set_fault(FAULT_SILENT, "PUT", 0, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = write_small(st, "f6", &err);
	took = seconds_since(&t0);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(count_of("PUT") == 2, "%d PUT requests, expected 2", count_of("PUT"));
	SB_CHECK_MSG(took >= 1.0, "took %.1f s: the I/O timeout is 1 s", took);
	SB_CHECK(stored("f6"));
done:
	if (st != NULL)
		sb_storage_free(st);
}

/*
 * A server that never accepts (its queue full, so the kernel drops the
 * connection attempts): every attempt times out, then a clear error.
 */
static void
test_connect_timeout(void)
{
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	struct sockaddr_in addr;
	socklen_t	len = sizeof(addr);
	int			lfd = socket(AF_INET, SOCK_STREAM, 0);
	int			fill[3];
	struct timespec t0;
	double		took;
	char		expected[256];

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) != 0 || listen(lfd, 0) != 0 ||
		getsockname(lfd, (struct sockaddr *) &addr, &len) != 0)
	{
		SB_CHECK_MSG(false, "could not listen: %s", strerror(errno));
		close(lfd);
		return;
	}
	for (int i = 0; i < 3; i++)
	{
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void) connect(fill[i], (struct sockaddr *) &addr, sizeof(addr));
	}

	sb_error_clear(&err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = open_storage(ntohs(addr.sin_port), 1000, &st, &err);
	took = seconds_since(&t0);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	/* six connection attempts of 1 s, and the back-off between them */
	SB_CHECK_MSG(took >= ATTEMPTS * 1.0 && took < 60.0, "took %.1f s", took);
	snprintf(expected, sizeof(expected), "S3 endpoint \"127.0.0.1:%d\" did not answer in time: ",
			 ntohs(addr.sin_port));
	SB_CHECK_MSG(strncmp(err.msg, expected, strlen(expected)) == 0, "message \"%s\"", err.msg);
	SB_CHECK_MSG(strcmp(err.hint, "Check that the S3 server is running and reachable; safebackup.io_timeout (1000 ms) limits each wait, and the request was tried 6 times.") == 0,
				 "hint \"%s\"", err.hint);
	if (st != NULL)
		sb_storage_free(st);
	for (int i = 0; i < 3; i++)
		close(fill[i]);
	close(lfd);
}

int
main(int argc, char **argv)
{
	pthread_t	thread;
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	char		cmd[128];

	if (access("tests/tls/make-certs.sh", X_OK) != 0 ||
		system("openssl version >/dev/null 2>&1") != 0)
	{
		printf("test_s3_faults: run from the source tree, with the openssl command installed\n");
		return 1;
	}
	strcpy(workdir, "/tmp/sb-s3f-XXXXXX");
	if (mkdtemp(workdir) == NULL || !start_server(&thread))
	{
		printf("test_s3_faults: could not start the test server\n");
		ERR_print_errors_fp(stdout);
		return 1;
	}

	sb_error_clear(&err);
	rc = open_storage(port, 10000, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		test_5xx_then_success(st);
		test_5xx_always(st);
		test_closed(st);
		test_ranged_reads(st);
	}
	if (st != NULL)
		sb_storage_free(st);
	test_timeout();
	test_connect_timeout();

	stopping = true;
	pthread_join(thread, NULL);
	for (int i = 0; i < nparked; i++)
		SSL_free(parked[i]);
	SSL_CTX_free(server_ctx);
	close(listen_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", workdir);

	printf("test_s3_faults: %d passed, %d failed\n", sb_test_passed, sb_test_failed);
	return sb_test_failed == 0 ? 0 : 1;
}
