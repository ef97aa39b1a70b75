/*-------------------------------------------------------------------------
 *
 * conn.c
 *		Serve one client connection of the repository server, in its own
 *		(forked) process: TLS handshake, the client's common name, HELLO,
 *		then requests until the client leaves, the idle timeout passes or
 *		the server stops.
 *
 * Every path request is confined: the parser (transport/tls_proto.c)
 * refuses absolute paths, "..", ".", empty components and NUL bytes; the
 * first component is the stanza, which the client's CN must be allowed to
 * use; and no component under the repository root may be a symbolic link
 * (checked with lstat() before the request is carried out).  A malformed
 * or oversized frame ends the connection; a refused path gets an error
 * reply and the connection goes on.
 *
 * Until the client is authenticated, the whole of the TLS handshake and
 * HELLO must fit in handshake_timeout seconds (however slowly the bytes
 * trickle in), and the connection holds no max_connections slot: it asks
 * the main process for one (pool.c) only once the client is authorized.
 *
 * Signals: SIGTERM lets the current request and any open file finish, then
 * the process exits; SIGINT makes it exit at once, discarding files being
 * written.  Both are checked between frames (waits wake up every 200 ms).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sb_version.h"
#include "server.h"
#include "storage.h"
#include "../transport/tls_proto.h"

#define CONN_TICK_MS	200
#define FRAME_BUF		(SB_TLS_HEADER_LEN + SB_TLS_MAX_PAYLOAD)

typedef struct Handle
{
	uint32_t	id;				/* 0: free */
	SbWriter   *w;
	SbReader   *r;
	SbError		failed;			/* writer: first WRITE_DATA error */
	char		path[SB_PATH_MAX];	/* writer: the name it was opened with */
} Handle;

typedef struct Conn
{
	const SrvConfig *cfg;
	SSL		   *ssl;
	int			fd;
	int			ctl;			/* control socket to the main process; -1 */
	struct timespec hs_deadline;	/* end of the handshake; 0: authenticated */
	const char *peer;
	char		cn[SRV_CN_MAX];
	const SrvAuthRule *rule;
	SbStorage  *st;
	uint8_t    *in;
	uint8_t    *out;
	uint8_t		in_type;
	uint32_t	in_len;
	uint32_t	next_id;
	Handle		handles[SB_TLS_MAX_HANDLES];
	SbTlsBuf	list_buf;		/* ENTRIES frame being filled by do_list */
	char		root[SB_PATH_MAX];
} Conn;

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t abort_requested = 0;

static void
on_term(int sig)
{
	stop_requested = 1;
}

static void
on_int(int sig)
{
	abort_requested = 1;
}

static int
open_handles(Conn *c)
{
	int			n = 0;

	for (int i = 0; i < SB_TLS_MAX_HANDLES; i++)
		if (c->handles[i].id != 0)
			n++;
	return n;
}

/* Discard open files and leave. */
static void
conn_exit(Conn *c, int code) __attribute__((noreturn));
static void
conn_exit(Conn *c, int code)
{
	for (int i = 0; i < SB_TLS_MAX_HANDLES; i++)
	{
		Handle	   *h = &c->handles[i];

		if (h->w)
			sb_storage_write_abort(c->st, h->w);
		if (h->r)
			sb_storage_read_close(c->st, h->r);
		h->w = NULL;
		h->r = NULL;
		h->id = 0;
	}
	if (c->ssl)
	{
		if (code == 0)
			(void) SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	if (c->ctl >= 0)
		close(c->ctl);
	if (c->st)
		sb_storage_free(c->st);
	srv_log(SRV_LOG_DEBUG, "connection from %s closed", c->peer);
	_exit(code);
}

/*
 * Wait for the socket.  Returns 1 when ready, 0 on timeout, -1 when a stop
 * was requested and stop_ok says we may stop now.  SIGINT exits here.
 */
static int
conn_wait(Conn *c, bool for_read, bool for_write, int timeout_s, bool stop_ok)
{
	struct timespec start,
				now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;)
	{
		struct pollfd pfd;
		int			n;

		if (abort_requested)
		{
			srv_log(SRV_LOG_INFO, "connection from %s (CN \"%s\") cut: server interrupted",
					c->peer, c->cn);
			conn_exit(c, SRV_EXIT_INTERRUPTED);
		}
		if (stop_requested && stop_ok)
			return -1;
		/* checked before waiting: a trickle of bytes must not extend it */
		if (c->hs_deadline.tv_sec != 0)
		{
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > c->hs_deadline.tv_sec ||
				(now.tv_sec == c->hs_deadline.tv_sec &&
				 now.tv_nsec >= c->hs_deadline.tv_nsec))
				return 0;
		}
		pfd.fd = c->fd;
		pfd.events = (short) ((for_read ? POLLIN : 0) | (for_write ? POLLOUT : 0));
		pfd.revents = 0;
		n = poll(&pfd, 1, CONN_TICK_MS);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 1;			/* let the I/O call report the error */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout_s)
			return 0;
	}
}

/* SSL I/O of exactly len bytes; false when the connection is gone. */
static bool
conn_io(Conn *c, uint8_t *p, size_t len, bool reading, bool stop_ok,
		int timeout_s, bool *stopped)
{
	if (stopped)
		*stopped = false;
	while (len > 0)
	{
		int			n;
		int			code;
		int			w;

		ERR_clear_error();
		n = reading ? SSL_read(c->ssl, p, (int) len)
			: SSL_write(c->ssl, p, (int) len);
		if (n > 0)
		{
			p += n;
			len -= (size_t) n;
			stop_ok = false;	/* a frame has begun: finish it */
			continue;
		}
		code = SSL_get_error(c->ssl, n);
		if (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE)
		{
			if (code != SSL_ERROR_ZERO_RETURN && !(code == SSL_ERROR_SYSCALL && n == 0))
			{
				char		reason[256];

				srv_tls_errstr(reason, sizeof(reason));
				srv_log(SRV_LOG_DEBUG, "connection from %s: %s", c->peer, reason);
			}
			return false;
		}
		w = conn_wait(c, code == SSL_ERROR_WANT_READ, code == SSL_ERROR_WANT_WRITE,
					  timeout_s, stop_ok);
		if (w < 0)
		{
			if (stopped)
				*stopped = true;
			return false;
		}
		if (w == 0 && c->hs_deadline.tv_sec != 0)
		{
			srv_log(SRV_LOG_WARNING, "rejected client %s (CN \"%s\"): no HELLO within handshake_timeout (%d s)",
					c->peer, c->cn, c->cfg->handshake_timeout);
			return false;
		}
		if (w == 0)
		{
			if (timeout_s == c->cfg->idle_timeout && stop_ok)
				srv_log(SRV_LOG_INFO, "connection from %s (CN \"%s\") closed after %d s idle",
						c->peer, c->cn, timeout_s);
			else
				srv_log(SRV_LOG_WARNING, "connection from %s (CN \"%s\") timed out",
						c->peer, c->cn);
			return false;
		}
	}
	return true;
}

static void
conn_send(Conn *c, SbTlsBuf *b)
{
	if (!sb_tls_frame_end(b))
	{
		srv_log(SRV_LOG_ERROR, "reply too large for %s", c->peer);
		conn_exit(c, 1);
	}
	if (!conn_io(c, b->data, b->len, false, false, c->cfg->io_timeout, NULL))
		conn_exit(c, 0);
}

/* Make error messages relative to the repository root: no server paths. */
static void
scrub(char *s, const char *root)
{
	size_t		rl = strlen(root);
	char	   *p;

	/* a root of "/" is no secret, and removing every '/' would garble */
	if (rl <= 1)
		return;
	while ((p = strstr(s, root)) != NULL)
	{
		size_t		skip = rl + (p[rl] == '/' ? 1 : 0);

		memmove(p, p + skip, strlen(p + skip) + 1);
	}
}

static void
conn_error(Conn *c, SbError *err)
{
	SbTlsBuf	b;

	scrub(err->msg, c->root);
	scrub(err->detail, c->root);
	scrub(err->hint, c->root);
	sb_tls_frame_begin(&b, c->out, FRAME_BUF, SB_TLS_ERROR);
	sb_tls_put_error(&b, err);
	conn_send(c, &b);
}

static void
conn_ok(Conn *c)
{
	SbTlsBuf	b;

	sb_tls_frame_begin(&b, c->out, FRAME_BUF, SB_TLS_OK);
	conn_send(c, &b);
}

/*
 * Receive one frame, waiting up to timeout_s for it to begin.  false: the
 * client left, or a stop/idle limit hit.
 */
static bool
conn_recv(Conn *c, int timeout_s)
{
	uint8_t		hdr[SB_TLS_HEADER_LEN];
	SbError		err;
	bool		stopped;
	bool		idle_ok = open_handles(c) == 0;

	/* an idle connection may be stopped by SIGTERM; one with files open not */
	if (!conn_io(c, hdr, sizeof(hdr), true, idle_ok, timeout_s, &stopped))
		return false;
	sb_error_clear(&err);
	if (sb_tls_parse_header(hdr, &c->in_type, &c->in_len, &err) != SB_OK)
	{
		srv_log(SRV_LOG_WARNING, "refused frame from %s (CN \"%s\"): %s",
				c->peer, c->cn, err.msg);
		conn_error(c, &err);
		conn_exit(c, 0);
	}
	return conn_io(c, c->in, c->in_len, true, false, c->cfg->io_timeout, NULL);
}

static Handle *
find_handle(Conn *c, uint32_t id)
{
	if (id == 0)
		return NULL;
	for (int i = 0; i < SB_TLS_MAX_HANDLES; i++)
		if (c->handles[i].id == id)
			return &c->handles[i];
	return NULL;
}

static Handle *
new_handle(Conn *c, SbError *err)
{
	for (int i = 0; i < SB_TLS_MAX_HANDLES; i++)
	{
		Handle	   *h = &c->handles[i];

		if (h->id == 0)
		{
			memset(h, 0, sizeof(*h));
			if (++c->next_id == 0)
				c->next_id = 1;
			h->id = c->next_id;
			return h;
		}
	}
	sb_error_set(err, SB_ERR_INTERNAL,
				 "too many open files on one connection (at most %d)",
				 SB_TLS_MAX_HANDLES);
	return NULL;
}

/* No component of path under the root may be a symbolic link. */
static bool
path_has_symlink(Conn *c, const char *path, SbError *err)
{
	char		full[2 * SB_PATH_MAX + 2];
	size_t		base;
	const char *p = path;

	base = (size_t) snprintf(full, sizeof(full), "%s/", c->root);
	for (;;)
	{
		const char *slash = strchr(p, '/');
		size_t		end = slash ? (size_t) (slash - path) : strlen(path);
		struct stat sb;

		memcpy(full + base, path, end);
		full[base + end] = '\0';
		if (lstat(full, &sb) != 0)
			return false;		/* missing: nothing further exists */
		if (S_ISLNK(sb.st_mode))
		{
			sb_error_set(err, SB_ERR_PERMISSION,
						 "path \"%s\" crosses a symbolic link, which the repository server refuses",
						 path);
			return true;
		}
		if (slash == NULL)
			return false;
		p = slash + 1;
	}
}

static bool
list_cb(const char *name, const SbStat *st, void *arg)
{
	Conn	   *c = arg;
	SbTlsBuf   *b = &c->list_buf;
	size_t		need = 2 + strlen(name) + 1 + 8 + 8;

	if (b->len + need > FRAME_BUF - 64)
	{
		conn_send(c, b);
		sb_tls_frame_begin(b, c->out, FRAME_BUF, SB_TLS_ENTRIES);
	}
	sb_tls_put_str(b, name);
	sb_tls_put_u8(b, st->is_dir ? 1 : 0);
	sb_tls_put_u64(b, st->size);
	sb_tls_put_u64(b, (uint64_t) st->mtime);
	return true;
}

/*
 * WRITE_COMMIT with a name: the file is published under path instead of
 * the name it was opened with, which must be in the same directory (a WAL
 * file named after its digest, known once its last byte was sent).
 */
static SbStatus
commit_name(Conn *c, Handle *h, const char *path, SbError *err)
{
	if (sb_storage_check_same_dir(h->path, path, err) != SB_OK)
		return err->status;
	return sb_storage_write_rename(c->st, h->w, path, err);
}

static void
do_list(Conn *c, const char *path, uint8_t flags)
{
	SbTlsBuf   *b = &c->list_buf;
	SbError		err;
	SbStatus	rc;

	sb_error_clear(&err);
	sb_tls_frame_begin(b, c->out, FRAME_BUF, SB_TLS_ENTRIES);
	rc = sb_storage_list_flags(c->st, path,
							   (flags & SB_TLS_LFLAG_TEMP) ? SB_LIST_TEMP : 0,
							   list_cb, c, &err);
	if (b->len > SB_TLS_HEADER_LEN)
		conn_send(c, b);
	if (rc != SB_OK)
	{
		conn_error(c, &err);
		return;
	}
	sb_tls_frame_begin(b, c->out, FRAME_BUF, SB_TLS_END);
	conn_send(c, b);
}

/* Protocol violation on a request without reply: log and hang up. */
static void conn_violation(Conn *c, const char *what) __attribute__((noreturn));
static void
conn_violation(Conn *c, const char *what)
{
	srv_log(SRV_LOG_WARNING, "protocol violation from %s (CN \"%s\"): %s",
			c->peer, c->cn, what);
	conn_exit(c, 0);
}

static void
handle_request(Conn *c)
{
	SbTlsRequest req;
	SbError		err;
	SbTlsBuf	b;
	Handle	   *h;
	SbStatus	rc;

	sb_error_clear(&err);
	if (sb_tls_parse_request(c->in_type, c->in, c->in_len, &req, &err) != SB_OK)
	{
		bool		replies = c->in_type != SB_TLS_WRITE_DATA &&
			c->in_type != SB_TLS_WRITE_ABORT && c->in_type != SB_TLS_READ_CLOSE;

		srv_log(SRV_LOG_WARNING, "refused %s request from %s (CN \"%s\"): %s",
				sb_tls_type_name(c->in_type), c->peer, c->cn, err.msg);
		if (!replies)
			conn_violation(c, err.msg);
		conn_error(c, &err);
		/* a bad path is refused; a malformed frame ends the connection */
		if (err.status != SB_ERR_PERMISSION)
			conn_exit(c, 0);
		return;
	}

	if (req.type == SB_TLS_HELLO)
	{
		sb_error_set(&err, SB_ERR_CORRUPT, "unexpected HELLO");
		conn_error(c, &err);
		conn_exit(c, 0);
	}

	if (req.path[0] != '\0')
	{
		if (!srv_auth_allows(c->rule, req.stanza))
		{
			srv_log(SRV_LOG_WARNING, "refused %s \"%s\" from %s: CN \"%s\" may not use stanza \"%s\"",
					sb_tls_type_name(req.type), req.path, c->peer, c->cn, req.stanza);
			sb_error_set(&err, SB_ERR_AUTH, "access denied to stanza %s for CN %s",
						 req.stanza, c->cn);
			conn_error(c, &err);
			return;
		}
		if (!srv_auth_request_allowed(srv_auth_right(c->rule, req.stanza),
									  req.type, req.flags, req.path, &err))
		{
			srv_log(SRV_LOG_WARNING, "refused %s \"%s\" from %s: CN \"%s\" has the append right on stanza \"%s\"",
					req.type == SB_TLS_REMOVE && req.recursive ? "recursive REMOVE" :
					req.type == SB_TLS_REMOVE ? "REMOVE" : "WRITE_OPEN (replace)",
					req.path, c->peer, c->cn, req.stanza);
			conn_error(c, &err);
			return;
		}
		if (path_has_symlink(c, req.path, &err))
		{
			srv_log(SRV_LOG_WARNING, "refused %s \"%s\" from %s (CN \"%s\"): symbolic link in path",
					sb_tls_type_name(req.type), req.path, c->peer, c->cn);
			conn_error(c, &err);
			return;
		}
		srv_log(SRV_LOG_DEBUG, "%s %s \"%s\"", c->cn, sb_tls_type_name(req.type), req.path);
	}

	switch (req.type)
	{
		case SB_TLS_STAT:
			{
				SbStat		sst;

				if (sb_storage_stat(c->st, req.path, &sst, &err) != SB_OK)
				{
					conn_error(c, &err);
					return;
				}
				sb_tls_frame_begin(&b, c->out, FRAME_BUF, SB_TLS_STAT_OK);
				sb_tls_put_u8(&b, sst.is_dir ? 1 : 0);
				sb_tls_put_u64(&b, sst.size);
				sb_tls_put_u64(&b, (uint64_t) sst.mtime);
				conn_send(c, &b);
				return;
			}
		case SB_TLS_LIST:
			do_list(c, req.path, req.flags);
			return;
		case SB_TLS_MKDIR:
			if (sb_storage_mkdir(c->st, req.path, &err) != SB_OK)
				conn_error(c, &err);
			else
				conn_ok(c);
			return;
		case SB_TLS_REMOVE:
			if (sb_storage_remove(c->st, req.path, req.recursive, &err) != SB_OK)
				conn_error(c, &err);
			else
				conn_ok(c);
			return;
		case SB_TLS_WRITE_OPEN:
		case SB_TLS_READ_OPEN:
			h = new_handle(c, &err);
			if (h == NULL)
			{
				conn_error(c, &err);
				return;
			}
			if (req.type == SB_TLS_WRITE_OPEN)
				snprintf(h->path, sizeof(h->path), "%s", req.path);
			if (req.type == SB_TLS_WRITE_OPEN)
				rc = sb_storage_write_open(c->st, req.path,
										   (req.flags & SB_TLS_WFLAG_REPLACE) ? SB_WRITE_REPLACE : 0,
										   &h->w, &err);
			else
				rc = sb_storage_read_open_at(c->st, req.path, req.offset,
											 UINT64_MAX, &h->r, &err);
			if (rc != SB_OK)
			{
				h->id = 0;
				conn_error(c, &err);
				return;
			}
			sb_tls_frame_begin(&b, c->out, FRAME_BUF, SB_TLS_OK);
			sb_tls_put_u32(&b, h->id);
			conn_send(c, &b);
			return;
		case SB_TLS_WRITE_DATA:
			h = find_handle(c, req.handle);
			if (h == NULL || h->w == NULL)
				conn_violation(c, "WRITE_DATA for an unknown handle");
			if (h->failed.status == SB_OK && req.datalen > 0)
				(void) sb_storage_write(c->st, h->w, req.data, req.datalen,
										&h->failed);
			return;
		case SB_TLS_WRITE_COMMIT:
			h = find_handle(c, req.handle);
			if (h == NULL || h->w == NULL)
			{
				sb_error_set(&err, SB_ERR_INTERNAL, "unknown file handle %lu",
							 (unsigned long) req.handle);
				conn_error(c, &err);
				return;
			}
			rc = h->failed.status;
			if (rc != SB_OK)
				err = h->failed;
			else if (req.path[0] != '\0')
				rc = commit_name(c, h, req.path, &err);
			if (rc != SB_OK)
				sb_storage_write_abort(c->st, h->w);
			else
				rc = sb_storage_write_commit(c->st, h->w, &err);
			h->w = NULL;
			h->id = 0;
			if (rc != SB_OK)
			{
				conn_error(c, &err);
				return;
			}
			conn_ok(c);
			/* a backup is complete: the server applies its retention */
			{
				char		stanza[SB_NAME_MAX];

				if (srv_retention_is_backup_commit(req.path[0] != '\0' ? req.path : h->path,
												   stanza, sizeof(stanza)))
					srv_retention_spawn(c->cfg, stanza, "after a backup");
			}
			return;
		case SB_TLS_WRITE_ABORT:
			h = find_handle(c, req.handle);
			if (h != NULL && h->w != NULL)
			{
				sb_storage_write_abort(c->st, h->w);
				h->w = NULL;
				h->id = 0;
			}
			return;
		case SB_TLS_READ:
			{
				size_t		nread = 0;

				h = find_handle(c, req.handle);
				if (h == NULL || h->r == NULL)
				{
					sb_error_set(&err, SB_ERR_INTERNAL, "unknown file handle %lu",
								 (unsigned long) req.handle);
					conn_error(c, &err);
					return;
				}
				sb_tls_frame_begin(&b, c->out, FRAME_BUF, SB_TLS_DATA);
				if (sb_storage_read(c->st, h->r, c->out + SB_TLS_HEADER_LEN,
									req.maxlen, &nread, &err) != SB_OK)
				{
					conn_error(c, &err);
					return;
				}
				b.len += nread;
				conn_send(c, &b);
				return;
			}
		case SB_TLS_READ_CLOSE:
			h = find_handle(c, req.handle);
			if (h != NULL && h->r != NULL)
			{
				sb_storage_read_close(c->st, h->r);
				h->r = NULL;
				h->id = 0;
			}
			return;
	}
}

/*
 * The client is authorized: ask the main process for one of the
 * max_connections slots; exits with an error to the client if none is free.
 */
static void
conn_take_slot(Conn *c)
{
	char		msg = SRV_CTL_ASK;
	char		reply = 0;
	SbError		err;

	if (send(c->ctl, &msg, 1, MSG_NOSIGNAL) == 1)
	{
		for (int waited = 0; waited < c->cfg->io_timeout * 1000; waited += CONN_TICK_MS)
		{
			struct pollfd pfd = {c->ctl, POLLIN, 0};

			if (abort_requested || stop_requested)
				conn_exit(c, 0);
			if (poll(&pfd, 1, CONN_TICK_MS) > 0)
			{
				if (recv(c->ctl, &reply, 1, 0) != 1)
					reply = 0;
				break;
			}
		}
	}
	close(c->ctl);
	c->ctl = -1;
	if (reply == SRV_CTL_GRANT)
	{
		c->hs_deadline.tv_sec = 0;
		return;
	}
	srv_log(SRV_LOG_WARNING, "rejected client %s (CN \"%s\"): too many connections (max_connections = %d)",
			c->peer, c->cn, c->cfg->max_connections);
	sb_error_clear(&err);
	sb_error_set(&err, SB_ERR_NETWORK, "too many connections to the repository server");
	sb_error_hint(&err, "Raise max_connections in the repository server's configuration, or try again later.");
	conn_error(c, &err);
	conn_exit(c, 0);
}

/* Handshake, CN, HELLO; exits on refusal. */
static void
conn_start(Conn *c, SSL_CTX *ctx)
{
	X509	   *cert;
	SbTlsRequest req;
	SbError		err;
	SbTlsBuf	b;
	char		subject[512] = "";
	char		why[128];

	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
	{
		srv_log(SRV_LOG_ERROR, "could not create TLS session for %s", c->peer);
		conn_exit(c, 1);
	}
	for (;;)
	{
		int			ret;
		int			code;
		int			w;

		ERR_clear_error();
		ret = SSL_accept(c->ssl);
		if (ret == 1)
			break;
		code = SSL_get_error(c->ssl, ret);
		if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
		{
			w = conn_wait(c, code == SSL_ERROR_WANT_READ,
						  code == SSL_ERROR_WANT_WRITE,
						  c->cfg->handshake_timeout, true);
			if (w > 0)
				continue;
			if (w == 0)
				srv_log(SRV_LOG_WARNING, "rejected client %s: TLS handshake not finished within handshake_timeout (%d s)",
						c->peer, c->cfg->handshake_timeout);
			else
				srv_log(SRV_LOG_INFO, "rejected client %s: server stopping during the TLS handshake",
						c->peer);
			conn_exit(c, 0);
		}
		if (srv_tls_verify_failure()[0] != '\0')
			srv_log(SRV_LOG_WARNING, "rejected client %s: certificate verification failed: %s (subject \"%s\")",
					c->peer, srv_tls_verify_failure(), srv_tls_verify_subject());
		else
		{
			char		reason[256];

			srv_tls_errstr(reason, sizeof(reason));
			srv_log(SRV_LOG_WARNING, "rejected client %s: TLS handshake failed: %s",
					c->peer, reason);
		}
		conn_exit(c, 0);
	}

	cert = SSL_get1_peer_certificate(c->ssl);
	if (cert == NULL)
	{
		srv_log(SRV_LOG_WARNING, "rejected client %s: no client certificate", c->peer);
		conn_exit(c, 0);
	}
	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	if (!srv_peer_cn(cert, c->cn, sizeof(c->cn), why, sizeof(why)))
	{
		X509_free(cert);
		srv_log(SRV_LOG_WARNING, "rejected client %s: %s (subject \"%s\")",
				c->peer, why, subject);
		sb_error_set(&err, SB_ERR_AUTH, "client certificate refused: %s", why);
		sb_error_hint(&err, "The client certificate's subject must hold exactly one common name, of plain text.");
		conn_error(c, &err);
		conn_exit(c, 0);
	}
	X509_free(cert);

	/* HELLO, within the same deadline: no idling unauthenticated */
	if (!conn_recv(c, c->cfg->handshake_timeout))
		conn_exit(c, 0);
	sb_error_clear(&err);
	if (c->in_type != SB_TLS_HELLO ||
		sb_tls_parse_request(c->in_type, c->in, c->in_len, &req, &err) != SB_OK)
	{
		if (err.status == SB_OK)
			sb_error_set(&err, SB_ERR_CORRUPT, "expected HELLO");
		srv_log(SRV_LOG_WARNING, "rejected client %s (CN \"%s\"): %s", c->peer, c->cn, err.msg);
		conn_error(c, &err);
		conn_exit(c, 0);
	}
	if (req.version != SB_TLS_PROTO_VERSION)
	{
		sb_error_set(&err, SB_ERR_CONFIG, "unsupported protocol version %u",
					 (unsigned int) req.version);
		sb_error_detail(&err, "This server speaks version %d.", SB_TLS_PROTO_VERSION);
		srv_log(SRV_LOG_WARNING, "rejected client %s (CN \"%s\"): %s", c->peer, c->cn, err.msg);
		conn_error(c, &err);
		conn_exit(c, 0);
	}
	c->rule = srv_auth_find(c->cfg, c->cn);
	if (c->rule == NULL || (req.stanza[0] != '\0' && !srv_auth_allows(c->rule, req.stanza)))
	{
		srv_log(SRV_LOG_WARNING, "rejected client %s (subject \"%s\"): %s",
				c->peer, subject,
				c->rule == NULL ? "common name not in the authorization map"
				: "stanza not allowed for this common name");
		if (req.stanza[0] != '\0')
			sb_error_set(&err, SB_ERR_AUTH, "access denied to stanza %s for CN %s",
						 req.stanza, c->cn);
		else
			sb_error_set(&err, SB_ERR_AUTH, "access denied for CN %s", c->cn);
		sb_error_hint(&err, "The repository server's authorization map ([auth] in its configuration file) must allow this stanza for this certificate's common name.");
		conn_error(c, &err);
		conn_exit(c, 0);
	}
	conn_take_slot(c);
	sb_tls_frame_begin(&b, c->out, FRAME_BUF, SB_TLS_HELLO_OK);
	sb_tls_put_u16(&b, SB_TLS_PROTO_VERSION);
	sb_tls_put_str(&b, "pg_safebackup " SB_VERSION_STR);
	sb_tls_put_str(&b, c->cn);
	sb_tls_put_u8(&b, srv_auth_right(c->rule, req.stanza) == SRV_RIGHT_ADMIN ?
				  SB_TLS_RIGHT_ADMIN : SB_TLS_RIGHT_APPEND);
	sb_tls_put_u8(&b, SB_TLS_FEATURE_READ_AT);
	conn_send(c, &b);
	srv_log(SRV_LOG_INFO, "connection from %s authenticated as CN \"%s\"%s%s, right %s",
			c->peer, c->cn, req.stanza[0] ? ", stanza " : "", req.stanza,
			srv_right_name(srv_auth_right(c->rule, req.stanza)));
}

void
srv_conn_run(const SrvConfig *cfg, SSL_CTX *ctx, int fd, int ctl,
			 const char *peer)
{
	static Conn conn;
	Conn	   *c = &conn;
	SbRepoConfig rcfg;
	SbError		err;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_int;
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->fd = fd;
	c->ctl = ctl;
	c->peer = peer;
	clock_gettime(CLOCK_MONOTONIC, &c->hs_deadline);
	c->hs_deadline.tv_sec += cfg->handshake_timeout;
	strcpy(c->cn, "");
	snprintf(c->root, sizeof(c->root), "%s", cfg->repo_path);
	while (strlen(c->root) > 1 && c->root[strlen(c->root) - 1] == '/')
		c->root[strlen(c->root) - 1] = '\0';
	c->in = malloc(SB_TLS_MAX_PAYLOAD);
	c->out = malloc(FRAME_BUF);
	if (c->in == NULL || c->out == NULL)
	{
		srv_log(SRV_LOG_ERROR, "out of memory");
		conn_exit(c, 1);
	}

	sb_config_init(&rcfg);
	rcfg.repo_type = SB_REPO_POSIX;
	snprintf(rcfg.repo_path, sizeof(rcfg.repo_path), "%s", cfg->repo_path);
	sb_error_clear(&err);
	if (sb_storage_create(&rcfg, &c->st, &err) != SB_OK ||
		sb_storage_open(c->st, &err) != SB_OK)
	{
		srv_log(SRV_LOG_ERROR, "could not open repository \"%s\": %s",
				cfg->repo_path, err.msg);
		conn_exit(c, 1);
	}

	conn_start(c, ctx);

	while (conn_recv(c, c->cfg->idle_timeout))
	{
		handle_request(c);
		if (stop_requested && open_handles(c) == 0)
			break;
	}
	if (open_handles(c) > 0)
		srv_log(SRV_LOG_WARNING, "connection from %s (CN \"%s\") lost with %d open files; files being written were discarded",
				c->peer, c->cn, open_handles(c));
	conn_exit(c, 0);
}
