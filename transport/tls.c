/*-------------------------------------------------------------------------
 *
 * tls.c
 *		Storage driver for a repository behind the pg_safebackup repository
 *		server, over mutual TLS (OpenSSL); see core/storage.h for the
 *		contract and docs/protocol.md for the wire protocol.
 *
 * The server certificate is always verified: its chain against
 * cfg.tls_ca_file, and its name against cfg.tls_server_name (default
 * cfg.tls_host), as a DNS name or an IP address.  There is no way to turn
 * that off.  We present cfg.tls_cert_file (which may hold intermediate
 * certificates after ours) with the key in cfg.tls_key_file, which must be
 * a regular file owned by us without group or world access.  TLS 1.2 is the
 * minimum.
 *
 * cfg.repo_path is a directory under the server's repository root ("/" or
 * empty for the root itself); every path we send is joined to it.  The
 * server confines each request to the stanzas our certificate's CN may use,
 * and writes files durably (temporary name, fsync, rename, directory fsync)
 * before it acknowledges WRITE_COMMIT.
 *
 * The socket is non-blocking; connecting and every wait go through
 * transport/net.h (st->wait or poll(), with cfg.io_timeout_ms as the limit
 * of each wait).  One connection stays open across calls.  A transport
 * failure marks it broken: the next operation reconnects, and stat(),
 * list(), mkdir(), read_open() and write_open() are retried once after
 * reconnecting (the server discards the open files of a connection that
 * ends, so repeating an open is safe); remove() is not, nor is anything on
 * an open writer or reader, which fails with SB_ERR_NETWORK once its
 * connection is lost.
 *
 * File data is streamed: a writer sends WRITE_DATA frames of up to
 * SB_TLS_CHUNK bytes without waiting for replies; a reader asks for one
 * chunk at a time.  Memory is bounded by one frame buffer per direction
 * plus one chunk per open reader or writer.
 *
 * If SIGPIPE has its default action, open() ignores it, so that a server
 * that goes away makes a write fail instead of killing the process.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "storage.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net.h"
#include "secret_file.h"
#include "tls_policy.h"
#include "tls_proto.h"
#include "tls_settings.h"

#define TLS_FRAME_BUF	(SB_TLS_HEADER_LEN + SB_TLS_MAX_PAYLOAD)

typedef struct TlsStorage
{
	SbNetPeer	peer;			/* the server, for waits and messages */
	SSL_CTX    *ctx;
	SSL		   *ssl;
	int			sock;
	bool		opened;
	bool		connected;
	bool		broken;
	unsigned long generation;
	char		prefix[SB_PATH_MAX];	/* repo_path without outer '/' */
	uint8_t    *out;			/* frame being sent */
	uint8_t    *in;				/* payload of the last frame received */
	uint8_t		in_type;
	uint32_t	in_len;
	SbRepoMode	mode;			/* our right, from HELLO_OK */
	uint8_t		features;		/* SB_TLS_FEATURE_*, from HELLO_OK */
} TlsStorage;

struct SbWriter
{
	SbStorage  *st;
	uint32_t	handle;
	unsigned long generation;
	uint8_t    *buf;
	size_t		used;
	char		relpath[SB_PATH_MAX];
	char		commit_as[SB_PATH_MAX];	/* "" or the server path to publish under */
};

struct SbReader
{
	SbStorage  *st;
	uint32_t	handle;
	unsigned long generation;
	uint8_t    *buf;
	size_t		pos;
	size_t		len;
	bool		eof;
	char		relpath[SB_PATH_MAX];
};

static SbStatus tls_open(SbStorage *st, SbError *err);
static SbRepoMode tls_mode(SbStorage *st);
static void tls_close(SbStorage *st);
static SbStatus tls_write_open(SbStorage *st, const char *path, int flags,
							   SbWriter **w, SbError *err);
static SbStatus tls_write(SbWriter *w, const void *buf, size_t len,
						  SbError *err);
static SbStatus tls_write_commit(SbWriter *w, SbError *err);
static void tls_write_abort(SbWriter *w);
static SbStatus tls_write_rename(SbStorage *st, SbWriter *w, const char *path,
								 SbError *err);
static SbStatus tls_read_open(SbStorage *st, const char *path, SbReader **r,
							  SbError *err);
static SbStatus tls_read(SbReader *r, void *buf, size_t len, size_t *nread,
						 SbError *err);
static void tls_read_close(SbReader *r);
static SbStatus tls_read_open_at(SbStorage *st, const char *path,
								 uint64_t offset, uint64_t len, SbReader **r,
								 SbError *err);
static SbStatus tls_stat(SbStorage *st, const char *path, SbStat *out,
						 SbError *err);
static SbStatus tls_list(SbStorage *st, const char *path, int flags, SbListFn fn,
						 void *arg, SbError *err);
static SbStatus tls_remove(SbStorage *st, const char *path, bool recursive,
						   SbError *err);
static SbStatus tls_mkdir(SbStorage *st, const char *path, SbError *err);
static void tls_destroy(SbStorage *st);

const SbStorageOps sb_tls_ops = {
	.name = "tls",
	/* the server writes through its posix driver and enforces the rights */
	.caps = SB_CAP_ATOMIC_RENAME | SB_CAP_DIRECTORIES | SB_CAP_SERVER_MODE,
	.open = tls_open,
	.close = tls_close,
	.write_open = tls_write_open,
	.write = tls_write,
	.write_commit = tls_write_commit,
	.write_abort = tls_write_abort,
	.write_rename = tls_write_rename,
	.read_open = tls_read_open,
	.read = tls_read,
	.read_close = tls_read_close,
	.read_open_at = tls_read_open_at,
	.stat = tls_stat,
	.list = tls_list,
	.remove = tls_remove,
	.mkdir = tls_mkdir,
	.destroy = tls_destroy,
	.mode = tls_mode
};


/* ---------------------------------------------------------------------
 * Waiting, errors and raw I/O
 * ---------------------------------------------------------------------
 */

static int
tls_port(SbStorage *st)
{
	return SB_TLS(&st->cfg)->tls_port > 0 ? SB_TLS(&st->cfg)->tls_port : SB_TLS_DEFAULT_PORT;
}

/* Text of the first queued OpenSSL error (the queue is cleared). */
static void
tls_ssl_errstr(char *buf, size_t size, int sys_errno)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
	{
		const char *reason = ERR_reason_error_string(e);

		if (reason != NULL)
			snprintf(buf, size, "%s", reason);
		else
			ERR_error_string_n(e, buf, size);
	}
	else if (sys_errno != 0)
		snprintf(buf, size, "%s", strerror(sys_errno));
	else
		snprintf(buf, size, "connection closed by the server");
	ERR_clear_error();
}

/*
 * Handle a failed SSL call: wait and return SB_OK when it should be
 * retried, else fill err (the connection is broken).
 */
static SbStatus
tls_ssl_retry(SbStorage *st, int ret, const char *what, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	int			code = SSL_get_error(ts->ssl, ret);
	int			save_errno = errno;
	char		reason[256];

	if (code == SSL_ERROR_WANT_READ)
		return sb_net_wait(st, &ts->peer, ts->sock, true, false, err);
	if (code == SSL_ERROR_WANT_WRITE)
		return sb_net_wait(st, &ts->peer, ts->sock, false, true, err);

	ts->broken = true;
	if (code == SSL_ERROR_ZERO_RETURN)
		snprintf(reason, sizeof(reason), "connection closed by the server");
	else
		tls_ssl_errstr(reason, sizeof(reason),
					   code == SSL_ERROR_SYSCALL ? save_errno : 0);
	sb_error_set(err, SB_ERR_NETWORK,
				 "could not %s repository server \"%s\" port %d: %s",
				 what, SB_TLS(&st->cfg)->tls_host, tls_port(st), reason);
	return SB_ERR_NETWORK;
}

static SbStatus
tls_send_all(SbStorage *st, const uint8_t *p, size_t len, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	while (len > 0)
	{
		int			chunk = len > (1 << 30) ? (1 << 30) : (int) len;
		int			n;

		ERR_clear_error();
		n = SSL_write(ts->ssl, p, chunk);
		if (n > 0)
		{
			p += n;
			len -= (size_t) n;
			continue;
		}
		if (tls_ssl_retry(st, n, "send to", err) != SB_OK)
			return err->status;
	}
	return SB_OK;
}

static SbStatus
tls_recv_all(SbStorage *st, uint8_t *p, size_t len, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	while (len > 0)
	{
		int			chunk = len > (1 << 30) ? (1 << 30) : (int) len;
		int			n;

		ERR_clear_error();
		n = SSL_read(ts->ssl, p, chunk);
		if (n > 0)
		{
			p += n;
			len -= (size_t) n;
			continue;
		}
		if (tls_ssl_retry(st, n, "receive from", err) != SB_OK)
			return err->status;
	}
	return SB_OK;
}

/* Receive one frame into ts->in / in_type / in_len. */
static SbStatus
tls_recv_frame(SbStorage *st, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	uint8_t		hdr[SB_TLS_HEADER_LEN];

	if (tls_recv_all(st, hdr, sizeof(hdr), err) != SB_OK)
		return err->status;
	if (sb_tls_parse_header(hdr, &ts->in_type, &ts->in_len, err) != SB_OK)
	{
		ts->broken = true;
		err->status = SB_ERR_NETWORK;
		return SB_ERR_NETWORK;
	}
	return tls_recv_all(st, ts->in, ts->in_len, err);
}

static SbStatus
tls_protocol_error(SbStorage *st, const char *what, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	ts->broken = true;
	sb_error_set(err, SB_ERR_NETWORK,
				 "protocol error from repository server \"%s\": unexpected %s reply to %s",
				 SB_TLS(&st->cfg)->tls_host, sb_tls_type_name(ts->in_type), what);
	return SB_ERR_NETWORK;
}

/* Send the frame in b, without waiting for a reply. */
static SbStatus
tls_send_frame(SbStorage *st, SbTlsBuf *b, SbError *err)
{
	if (!sb_tls_frame_end(b))
		return sb_error_set(err, SB_ERR_INTERNAL, "request too large");
	return tls_send_all(st, b->data, b->len, err);
}

/*
 * Send the frame in b and receive the reply.  An ERROR reply becomes the
 * returned error; any other type than expected is a protocol error.
 */
static SbStatus
tls_call(SbStorage *st, SbTlsBuf *b, uint8_t expected, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	uint8_t		req_type = b->data[4];

	if (tls_send_frame(st, b, err) != SB_OK)
		return err->status;
	if (tls_recv_frame(st, err) != SB_OK)
		return err->status;
	if (ts->in_type == SB_TLS_ERROR)
		return sb_tls_parse_error(ts->in, ts->in_len, err);
	if (ts->in_type != expected)
		return tls_protocol_error(st, sb_tls_type_name(req_type), err);
	return SB_OK;
}


/* ---------------------------------------------------------------------
 * Connecting
 * ---------------------------------------------------------------------
 */

static SbStatus
tls_check_config(SbStorage *st, SbError *err)
{
	const SbRepoConfig *cfg = &st->cfg;

	if (SB_TLS(cfg)->tls_host[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "TLS repository server host is not set");
		sb_error_hint(err, "Set safebackup.tls_host (--tls-host) to the host name or address of the repository server.");
		return SB_ERR_CONFIG;
	}
	if (SB_TLS(cfg)->tls_cert_file[0] == '\0' || SB_TLS(cfg)->tls_key_file[0] == '\0' ||
		SB_TLS(cfg)->tls_ca_file[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "TLS repository needs a client certificate, its key and a CA file");
		sb_error_hint(err, "Set safebackup.tls_cert_file, safebackup.tls_key_file and safebackup.tls_ca_file.");
		return SB_ERR_CONFIG;
	}
	if (cfg->repo_path[0] != '\0' && cfg->repo_path[0] != '/')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "repository path \"%s\" is not an absolute path",
					 cfg->repo_path);
		return SB_ERR_CONFIG;
	}
	/* a regular file owned by us without group or world access */
	return sb_secret_file_check(SB_TLS(cfg)->tls_key_file, -1, "TLS key file",
								SB_ERR_CONFIG, err);
}

static SbStatus
tls_config_error(SbError *err, const char *what, const char *path)
{
	char		reason[256];

	tls_ssl_errstr(reason, sizeof(reason), 0);
	sb_error_set(err, SB_ERR_CONFIG, "could not load %s \"%s\": %s",
				 what, path, reason);
	return SB_ERR_CONFIG;
}

/* Build the SSL_CTX from the files (read again at every connection). */
static SbStatus
tls_make_ctx(SbStorage *st, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	const SbRepoConfig *cfg = &st->cfg;
	SSL_CTX    *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "could not create TLS context");
	if (!sb_tls_apply_policy(ctx))
	{
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not set the TLS cipher policy");
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	if (SSL_CTX_load_verify_locations(ctx, SB_TLS(cfg)->tls_ca_file, NULL) != 1)
	{
		SSL_CTX_free(ctx);
		return tls_config_error(err, "TLS CA file", SB_TLS(cfg)->tls_ca_file);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, SB_TLS(cfg)->tls_cert_file) != 1)
	{
		SSL_CTX_free(ctx);
		return tls_config_error(err, "TLS certificate file", SB_TLS(cfg)->tls_cert_file);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, SB_TLS(cfg)->tls_key_file, SSL_FILETYPE_PEM) != 1)
	{
		SSL_CTX_free(ctx);
		return tls_config_error(err, "TLS key file", SB_TLS(cfg)->tls_key_file);
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
	{
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return sb_error_set(err, SB_ERR_CONFIG,
							"TLS key file \"%s\" does not match certificate \"%s\"",
							SB_TLS(cfg)->tls_key_file, SB_TLS(cfg)->tls_cert_file);
	}
	if (ts->ctx)
		SSL_CTX_free(ts->ctx);
	ts->ctx = ctx;
	return SB_OK;
}

static void
tls_disconnect(SbStorage *st)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	if (ts == NULL)
		return;
	if (ts->ssl != NULL)
	{
		/* a polite close_notify only on a healthy connection, never waiting */
		if (!ts->broken && ts->connected)
			(void) SSL_shutdown(ts->ssl);
		SSL_free(ts->ssl);
		ts->ssl = NULL;
	}
	if (ts->sock >= 0)
		close(ts->sock);
	ts->sock = -1;
	ts->connected = false;
	ts->broken = false;
	ERR_clear_error();
}

/* Run the handshake, verifying the server's chain and name. */
static SbStatus
tls_handshake(SbStorage *st, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	const SbRepoConfig *cfg = &st->cfg;
	const char *name = SB_TLS(cfg)->tls_server_name[0] ? SB_TLS(cfg)->tls_server_name : SB_TLS(cfg)->tls_host;
	X509_VERIFY_PARAM *param;
	unsigned char addr[16];
	bool		is_ip;

	ts->ssl = SSL_new(ts->ctx);
	if (ts->ssl == NULL || SSL_set_fd(ts->ssl, ts->sock) != 1)
		return sb_error_set(err, SB_ERR_INTERNAL, "could not create TLS session");

	is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
	param = SSL_get0_param(ts->ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1
		: X509_VERIFY_PARAM_set1_host(param, name, 0) != 1)
		return sb_error_set(err, SB_ERR_CONFIG,
							"invalid TLS server name \"%s\"", name);
	if (!is_ip)
		(void) SSL_set_tlsext_host_name(ts->ssl, name);

	for (;;)
	{
		int			ret;
		int			code;
		long		vr;

		ERR_clear_error();
		ret = SSL_connect(ts->ssl);
		if (ret == 1)
			break;
		code = SSL_get_error(ts->ssl, ret);
		if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
		{
			if (sb_net_wait(st, &ts->peer, ts->sock, code == SSL_ERROR_WANT_READ,
							code == SSL_ERROR_WANT_WRITE, err) != SB_OK)
				return err->status;
			continue;
		}
		vr = SSL_get_verify_result(ts->ssl);
		ts->broken = true;
		if (vr != X509_V_OK)
		{
			ERR_clear_error();
			sb_error_set(err, SB_ERR_AUTH,
						 "could not verify the certificate of repository server \"%s\": %s",
						 name, X509_verify_cert_error_string(vr));
			sb_error_hint(err, "The server certificate must be signed by the CA in safebackup.tls_ca_file and name \"%s\" (safebackup.tls_server_name).",
						  name);
			return SB_ERR_AUTH;
		}
		return tls_ssl_retry(st, ret, "establish a TLS connection to", err);
	}
	return SB_OK;
}

/* Say hello: protocol version and stanza; the server checks our CN. */
static SbStatus
tls_hello(SbStorage *st, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	SbTlsBuf	b;
	SbTlsCursor c;
	uint16_t	version;
	SbStatus	rc;

	sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_HELLO);
	sb_tls_put_u16(&b, SB_TLS_PROTO_VERSION);
	sb_tls_put_str(&b, st->cfg.stanza);
	rc = tls_call(st, &b, SB_TLS_HELLO_OK, err);
	if (rc != SB_OK)
	{
		/*
		 * With TLS 1.3 the server checks our certificate after our side of
		 * the handshake is done: a refusal shows up here, as an alert or as
		 * the connection being reset.
		 */
		if (rc == SB_ERR_NETWORK)
		{
			char		reason[SB_ERROR_MSG_LEN];

			snprintf(reason, sizeof(reason), "%s", err->msg);
			sb_error_set(err, SB_ERR_AUTH,
						 "repository server \"%s\" refused this client: %s",
						 SB_TLS(&st->cfg)->tls_host, reason);
			sb_error_hint(err, "The server refuses client certificates not signed by its CA, expired ones, and ones without a common name; check safebackup.tls_cert_file, and the server's log for the reason.");
			return SB_ERR_AUTH;
		}
		/* the server closes the connection after refusing a hello */
		ts->broken = true;
		return rc;
	}
	sb_tls_cursor_init(&c, ts->in, ts->in_len);
	version = sb_tls_get_u16(&c);
	if (!c.ok || version != SB_TLS_PROTO_VERSION)
	{
		ts->broken = true;
		return sb_error_set(err, SB_ERR_NETWORK,
							"repository server \"%s\" speaks an unsupported protocol version",
							SB_TLS(&st->cfg)->tls_host);
	}
	ts->mode = sb_tls_hello_mode(&c);
	ts->features = sb_tls_hello_features(&c);
	return SB_OK;
}

/* Our right as the server announced it when we connected. */
static SbRepoMode
tls_mode(SbStorage *st)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	if (ts == NULL || !ts->connected)
		return SB_REPO_MODE_UNKNOWN;
	return ts->mode;
}

static SbStatus
tls_connect(SbStorage *st, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	if (tls_check_config(st, err) != SB_OK)
		return err->status;
	if (tls_make_ctx(st, err) != SB_OK)
		return err->status;
	if (sb_net_connect(st, &ts->peer, &ts->sock, err) != SB_OK ||
		tls_handshake(st, err) != SB_OK)
	{
		SbStatus	rc = err->status;

		ts->broken = true;
		tls_disconnect(st);
		return rc;
	}
	ts->connected = true;
	ts->broken = false;
	ts->generation++;
	if (tls_hello(st, err) != SB_OK)
	{
		SbStatus	rc = err->status;

		ts->broken = true;
		tls_disconnect(st);
		return rc;
	}
	return SB_OK;
}

/* Reconnect when the connection broke. */
static SbStatus
tls_ensure(SbStorage *st, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	if (ts == NULL || !ts->opened)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"repository storage is not open");
	if (ts->broken || !ts->connected)
	{
		tls_disconnect(st);
		return tls_connect(st, err);
	}
	return SB_OK;
}

/* After a transport failure, reconnect; true when that worked. */
static bool
tls_retry_after(SbStorage *st, SbStatus rc)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	SbError		rerr;

	if (rc != SB_ERR_NETWORK || !ts->broken)
		return false;
	tls_disconnect(st);
	return tls_connect(st, &rerr) == SB_OK;
}

/* prefix + "/" + path into buf (SB_PATH_MAX). */
static SbStatus
tls_full_path(SbStorage *st, const char *path, char *buf, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	int			n;

	if (ts->prefix[0] == '\0')
		n = snprintf(buf, SB_PATH_MAX, "%s", path);
	else
		n = snprintf(buf, SB_PATH_MAX, "%s/%s", ts->prefix, path);
	if (n < 0 || n >= SB_PATH_MAX)
		return sb_error_errno(err, ENAMETOOLONG, "could not access \"%s\"", path);
	return SB_OK;
}

/* One path request; STAT_OK / OK / ... expected. */
static SbStatus
tls_path_call(SbStorage *st, uint8_t type, const char *path, int flag,
			  uint8_t expected, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	char		full[SB_PATH_MAX];
	SbTlsBuf	b;

	if (tls_full_path(st, path, full, err) != SB_OK)
		return err->status;
	sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, type);
	if (flag >= 0)
		sb_tls_put_u8(&b, (uint8_t) flag);
	sb_tls_put_str(&b, full);
	return tls_call(st, &b, expected, err);
}

static SbStatus
tls_open(SbStorage *st, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	struct sigaction old;
	const char *p;
	size_t		len;
	SbStatus	rc;

	if (ts == NULL)
	{
		ts = malloc(sizeof(TlsStorage));
		if (ts == NULL)
			return sb_error_oom(err);
		memset(ts, 0, sizeof(TlsStorage));
		ts->peer = (SbNetPeer) {
			.kind = "repository server",
			.host = SB_TLS(&st->cfg)->tls_host,
			.port = tls_port(st),
			.host_setting = "safebackup.tls_host",
			.port_setting = "safebackup.tls_port",
			.service = "\"pg_safebackup server\"",
			.broken = &ts->broken
		};
		ts->sock = -1;
		ts->out = malloc(TLS_FRAME_BUF);
		ts->in = malloc(SB_TLS_MAX_PAYLOAD);
		st->priv = ts;
		if (ts->out == NULL || ts->in == NULL)
			return sb_error_oom(err);
	}
	if (ts->opened && ts->connected && !ts->broken)
		return SB_OK;

	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);

	/* the prefix: repo_path without leading and trailing slashes */
	p = st->cfg.repo_path;
	while (*p == '/')
		p++;
	len = strlen(p);
	while (len > 0 && p[len - 1] == '/')
		len--;
	memcpy(ts->prefix, p, len);
	ts->prefix[len] = '\0';
	if (ts->prefix[0] != '\0' && !sb_path_valid(ts->prefix))
		return sb_error_set(err, SB_ERR_CONFIG,
							"invalid repository path \"%s\"", st->cfg.repo_path);

	tls_disconnect(st);
	if (tls_connect(st, err) != SB_OK)
		return err->status;

	/* a sub-directory as root must exist */
	if (ts->prefix[0] != '\0')
	{
		SbTlsBuf	b;

		sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_STAT);
		sb_tls_put_str(&b, ts->prefix);
		rc = tls_call(st, &b, SB_TLS_STAT_OK, err);
		if (rc == SB_OK && (ts->in_len < 1 || ts->in[0] == 0))
			rc = sb_error_set(err, SB_ERR_NOT_FOUND,
							  "repository path \"%s\" is not a directory on the server",
							  st->cfg.repo_path);
		if (rc != SB_OK)
		{
			if (rc == SB_ERR_NOT_FOUND)
				sb_error_hint(err, "Create the directory under the server's repository root, or set safebackup.repo_path to \"/\" (the root).");
			tls_disconnect(st);
			return rc;
		}
	}
	ts->opened = true;
	return SB_OK;
}

static void
tls_close(SbStorage *st)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	tls_disconnect(st);
	if (ts != NULL)
		ts->opened = false;
}

static void
tls_destroy(SbStorage *st)
{
	TlsStorage *ts = (TlsStorage *) st->priv;

	tls_disconnect(st);
	if (ts != NULL)
	{
		if (ts->ctx)
			SSL_CTX_free(ts->ctx);
		free(ts->out);
		free(ts->in);
	}
	free(st->priv);
	st->priv = NULL;
}


/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

static SbStatus
tls_writer_alive(SbWriter *w, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) w->st->priv;

	if (ts->generation != w->generation || ts->broken || !ts->connected)
		return sb_error_set(err, SB_ERR_NETWORK,
							"connection to repository server \"%s\" was lost while writing \"%s\"",
							SB_TLS(&w->st->cfg)->tls_host, w->relpath);
	return SB_OK;
}

static SbStatus
tls_write_open(SbStorage *st, const char *path, int flags, SbWriter **wp,
			   SbError *err)
{
	TlsStorage *ts;
	SbWriter   *w;
	SbTlsCursor c;
	SbStatus	rc;

	*wp = NULL;
	if (tls_ensure(st, err) != SB_OK)
		return err->status;
	ts = (TlsStorage *) st->priv;

	rc = tls_path_call(st, SB_TLS_WRITE_OPEN, path,
					   (flags & SB_WRITE_REPLACE) ? SB_TLS_WFLAG_REPLACE : 0,
					   SB_TLS_OK, err);

	/*
	 * Safe to repeat on a new connection: the server discards the files of
	 * a connection that ends, so a temporary file created by a request whose
	 * reply we lost is gone.  This is what makes a server-side idle timeout
	 * invisible to the archiver.
	 */
	if (tls_retry_after(st, rc))
		rc = tls_path_call(st, SB_TLS_WRITE_OPEN, path,
						   (flags & SB_WRITE_REPLACE) ? SB_TLS_WFLAG_REPLACE : 0,
						   SB_TLS_OK, err);
	if (rc != SB_OK)
		return rc;
	sb_tls_cursor_init(&c, ts->in, ts->in_len);

	w = malloc(sizeof(SbWriter));
	if (w == NULL)
		return sb_error_oom(err);
	w->st = st;
	w->handle = sb_tls_get_u32(&c);
	w->generation = ts->generation;
	w->used = 0;
	w->buf = malloc(SB_TLS_CHUNK);
	snprintf(w->relpath, sizeof(w->relpath), "%s", path);
	w->commit_as[0] = '\0';
	if (!c.ok || c.left != 0 || w->buf == NULL)
	{
		free(w->buf);
		free(w);
		if (!c.ok || c.left != 0)
			return tls_protocol_error(st, "WRITE_OPEN", err);
		return sb_error_oom(err);
	}
	*wp = w;
	return SB_OK;
}

static SbStatus
tls_writer_flush(SbWriter *w, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) w->st->priv;
	SbTlsBuf	b;

	if (w->used == 0)
		return SB_OK;
	if (tls_writer_alive(w, err) != SB_OK)
		return err->status;
	sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_WRITE_DATA);
	sb_tls_put_u32(&b, w->handle);
	sb_tls_put_bytes(&b, w->buf, w->used);
	w->used = 0;
	return tls_send_frame(w->st, &b, err);
}

static SbStatus
tls_write(SbWriter *w, const void *buf, size_t len, SbError *err)
{
	const uint8_t *p = buf;

	if (tls_writer_alive(w, err) != SB_OK)
		return err->status;
	while (len > 0)
	{
		size_t		n = SB_TLS_CHUNK - w->used;

		if (n > len)
			n = len;
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		p += n;
		len -= n;
		if (w->used == SB_TLS_CHUNK && tls_writer_flush(w, err) != SB_OK)
			return err->status;
	}
	return SB_OK;
}

static void
tls_writer_free(SbWriter *w)
{
	free(w->buf);
	free(w);
}

static SbStatus
tls_write_commit(SbWriter *w, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) w->st->priv;
	SbTlsBuf	b;
	SbStatus	rc;

	rc = tls_writer_flush(w, err);
	if (rc == SB_OK)
	{
		sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_WRITE_COMMIT);
		sb_tls_put_u32(&b, w->handle);
		if (w->commit_as[0] != '\0')
			sb_tls_put_str(&b, w->commit_as);
		rc = tls_call(w->st, &b, SB_TLS_OK, err);
	}
	tls_writer_free(w);
	return rc;
}

/*
 * Publish w under path when it is committed: the name goes with the
 * WRITE_COMMIT request, so renaming costs no round trip.
 */
static SbStatus
tls_write_rename(SbStorage *st, SbWriter *w, const char *path, SbError *err)
{
	char		full[SB_PATH_MAX];

	if (tls_full_path(st, path, full, err) != SB_OK)
		return err->status;
	snprintf(w->commit_as, sizeof(w->commit_as), "%s", full);
	return SB_OK;
}

static void
tls_write_abort(SbWriter *w)
{
	TlsStorage *ts = (TlsStorage *) w->st->priv;
	SbError		err;
	SbTlsBuf	b;

	/* on a lost connection the server discarded the file already */
	if (tls_writer_alive(w, &err) == SB_OK)
	{
		sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_WRITE_ABORT);
		sb_tls_put_u32(&b, w->handle);
		(void) tls_send_frame(w->st, &b, &err);
	}
	tls_writer_free(w);
}


/* ---------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------
 */

/* READ_OPEN of path, from offset on when not 0 (SB_TLS_FEATURE_READ_AT). */
static SbStatus
tls_read_open_call(SbStorage *st, const char *path, uint64_t offset,
				   SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	char		full[SB_PATH_MAX];
	SbTlsBuf	b;

	if (tls_full_path(st, path, full, err) != SB_OK)
		return err->status;
	sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_READ_OPEN);
	sb_tls_put_str(&b, full);
	if (offset > 0)
		sb_tls_put_u64(&b, offset);
	return tls_call(st, &b, SB_TLS_OK, err);
}

static SbStatus
tls_read_open(SbStorage *st, const char *path, SbReader **rp, SbError *err)
{
	return tls_read_open_at(st, path, 0, UINT64_MAX, rp, err);
}

/*
 * Open path from offset on: the server seeks where it says it can
 * (SB_TLS_FEATURE_READ_AT); from an older server the file is read from its
 * start and the bytes before offset dropped here.
 */
static SbStatus
tls_read_open_at(SbStorage *st, const char *path, uint64_t offset,
				 uint64_t len, SbReader **rp, SbError *err)
{
	TlsStorage *ts;
	SbReader   *r;
	SbTlsCursor c;
	SbStatus	rc;
	uint64_t	ask;

	(void) len;
	*rp = NULL;
	if (tls_ensure(st, err) != SB_OK)
		return err->status;
	ts = (TlsStorage *) st->priv;

	ask = (ts->features & SB_TLS_FEATURE_READ_AT) ? offset : 0;
	rc = tls_read_open_call(st, path, ask, err);
	if (tls_retry_after(st, rc))
	{
		/* reconnected: perhaps to another server */
		ask = (ts->features & SB_TLS_FEATURE_READ_AT) ? offset : 0;
		rc = tls_read_open_call(st, path, ask, err);
	}
	if (rc != SB_OK)
		return rc;
	sb_tls_cursor_init(&c, ts->in, ts->in_len);

	r = malloc(sizeof(SbReader));
	if (r == NULL)
		return sb_error_oom(err);
	r->st = st;
	r->handle = sb_tls_get_u32(&c);
	r->generation = ts->generation;
	r->pos = r->len = 0;
	r->eof = false;
	r->buf = malloc(SB_TLS_CHUNK);
	snprintf(r->relpath, sizeof(r->relpath), "%s", path);
	if (!c.ok || c.left != 0 || r->buf == NULL)
	{
		free(r->buf);
		free(r);
		if (!c.ok || c.left != 0)
			return tls_protocol_error(st, "READ_OPEN", err);
		return sb_error_oom(err);
	}
	if (ask < offset)
	{
		rc = sb_storage_read_skip(st, r, offset - ask, err);
		if (rc != SB_OK)
		{
			tls_read_close(r);
			return rc;
		}
	}
	*rp = r;
	return SB_OK;
}

static SbStatus
tls_read(SbReader *r, void *buf, size_t len, size_t *nread, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) r->st->priv;
	SbTlsBuf	b;
	size_t		n;

	*nread = 0;
	if (len == 0)
		return SB_OK;
	if (r->pos == r->len && !r->eof)
	{
		if (ts->generation != r->generation || ts->broken || !ts->connected)
			return sb_error_set(err, SB_ERR_NETWORK,
								"connection to repository server \"%s\" was lost while reading \"%s\"",
								SB_TLS(&r->st->cfg)->tls_host, r->relpath);
		sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_READ);
		sb_tls_put_u32(&b, r->handle);
		sb_tls_put_u32(&b, SB_TLS_CHUNK);
		if (tls_call(r->st, &b, SB_TLS_DATA, err) != SB_OK)
			return err->status;
		if (ts->in_len > SB_TLS_CHUNK)
			return tls_protocol_error(r->st, "READ", err);
		memcpy(r->buf, ts->in, ts->in_len);
		r->pos = 0;
		r->len = ts->in_len;
		if (r->len == 0)
			r->eof = true;
	}
	n = r->len - r->pos;
	if (n > len)
		n = len;
	memcpy(buf, r->buf + r->pos, n);
	r->pos += n;
	*nread = n;
	return SB_OK;
}

static void
tls_read_close(SbReader *r)
{
	TlsStorage *ts = (TlsStorage *) r->st->priv;
	SbError		err;
	SbTlsBuf	b;

	if (ts->generation == r->generation && !ts->broken && ts->connected)
	{
		sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_READ_CLOSE);
		sb_tls_put_u32(&b, r->handle);
		(void) tls_send_frame(r->st, &b, &err);
	}
	free(r->buf);
	free(r);
}


/* ---------------------------------------------------------------------
 * Metadata: stat, list, remove, mkdir
 * ---------------------------------------------------------------------
 */

static SbStatus
tls_stat_once(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	SbTlsCursor c;
	SbStatus	rc;

	rc = tls_path_call(st, SB_TLS_STAT, path, -1, SB_TLS_STAT_OK, err);
	if (rc != SB_OK)
		return rc;
	sb_tls_cursor_init(&c, ts->in, ts->in_len);
	out->is_dir = sb_tls_get_u8(&c) != 0;
	out->size = sb_tls_get_u64(&c);
	out->mtime = (int64_t) sb_tls_get_u64(&c);
	if (!c.ok || c.left != 0)
		return tls_protocol_error(st, "STAT", err);
	return SB_OK;
}

static SbStatus
tls_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	SbStatus	rc;

	if (tls_ensure(st, err) != SB_OK)
		return err->status;
	rc = tls_stat_once(st, path, out, err);
	if (tls_retry_after(st, rc))
		rc = tls_stat_once(st, path, out, err);
	return rc;
}

typedef struct TlsEntry
{
	char	   *name;
	SbStat		st;
} TlsEntry;

/*
 * Receive the whole listing first, then call fn: the callback may use the
 * storage itself, and the connection carries one exchange at a time.
 */
static SbStatus
tls_list_once(SbStorage *st, const char *path, int flags, TlsEntry **entries,
			  size_t *nentries, SbError *err)
{
	TlsStorage *ts = (TlsStorage *) st->priv;
	char		full[SB_PATH_MAX];
	SbTlsBuf	b;
	size_t		cap = 0;

	*entries = NULL;
	*nentries = 0;
	if (tls_full_path(st, path, full, err) != SB_OK)
		return err->status;
	sb_tls_frame_begin(&b, ts->out, TLS_FRAME_BUF, SB_TLS_LIST);
	sb_tls_put_str(&b, full);
	/* the flags byte is optional: sent only when needed */
	if (flags & SB_LIST_TEMP)
		sb_tls_put_u8(&b, SB_TLS_LFLAG_TEMP);
	if (tls_send_frame(st, &b, err) != SB_OK)
		return err->status;

	for (;;)
	{
		SbTlsCursor c;

		if (tls_recv_frame(st, err) != SB_OK)
			return err->status;
		if (ts->in_type == SB_TLS_END && ts->in_len == 0)
			return SB_OK;
		if (ts->in_type == SB_TLS_ERROR)
			return sb_tls_parse_error(ts->in, ts->in_len, err);
		if (ts->in_type != SB_TLS_ENTRIES)
			return tls_protocol_error(st, "LIST", err);

		sb_tls_cursor_init(&c, ts->in, ts->in_len);
		while (c.ok && c.left > 0)
		{
			char		name[SB_PATH_MAX];
			TlsEntry   *e;

			sb_tls_get_str(&c, name, sizeof(name));
			if (*nentries == cap)
			{
				size_t		ncap = cap ? cap * 2 : 64;
				TlsEntry   *ne = realloc(*entries, ncap * sizeof(TlsEntry));

				if (ne == NULL)
				{
					ts->broken = true;	/* the rest of the listing is unread */
					return sb_error_oom(err);
				}
				*entries = ne;
				cap = ncap;
			}
			e = &(*entries)[*nentries];
			e->st.is_dir = sb_tls_get_u8(&c) != 0;
			e->st.size = sb_tls_get_u64(&c);
			e->st.mtime = (int64_t) sb_tls_get_u64(&c);
			if (!c.ok)
				break;
			e->name = strdup(name);
			if (e->name == NULL)
			{
				ts->broken = true;
				return sb_error_oom(err);
			}
			(*nentries)++;
		}
		if (!c.ok)
			return tls_protocol_error(st, "LIST", err);
	}
}

static void
tls_free_entries(TlsEntry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
}

static SbStatus
tls_list(SbStorage *st, const char *path, int flags, SbListFn fn, void *arg,
		 SbError *err)
{
	TlsEntry   *entries;
	size_t		n;
	SbStatus	rc;

	if (tls_ensure(st, err) != SB_OK)
		return err->status;
	rc = tls_list_once(st, path, flags, &entries, &n, err);
	if (rc != SB_OK)
	{
		tls_free_entries(entries, n);
		if (!tls_retry_after(st, rc))
			return rc;
		rc = tls_list_once(st, path, flags, &entries, &n, err);
		if (rc != SB_OK)
		{
			tls_free_entries(entries, n);
			return rc;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!fn(entries[i].name, &entries[i].st, arg))
			break;
	tls_free_entries(entries, n);
	return SB_OK;
}

static SbStatus
tls_remove(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	if (tls_ensure(st, err) != SB_OK)
		return err->status;
	return tls_path_call(st, SB_TLS_REMOVE, path, recursive ? 1 : 0,
						 SB_TLS_OK, err);
}

static SbStatus
tls_mkdir(SbStorage *st, const char *path, SbError *err)
{
	SbStatus	rc;

	if (tls_ensure(st, err) != SB_OK)
		return err->status;
	rc = tls_path_call(st, SB_TLS_MKDIR, path, -1, SB_TLS_OK, err);
	if (tls_retry_after(st, rc))
		rc = tls_path_call(st, SB_TLS_MKDIR, path, -1, SB_TLS_OK, err);
	return rc;
}
