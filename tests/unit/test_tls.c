/*-------------------------------------------------------------------------
 *
 * test_tls.c
 *		Tests of the TLS storage driver against the real repository server.
 *
 * Makes a throwaway PKI with tests/tls/make-certs.sh (the openssl command),
 * starts "cli/pg_safebackup server" on 127.0.0.1 and a free port with a
 * scratch repository, then runs the shared storage suite through the TLS
 * driver, and checks of its own: refused certificates (other CA, expired,
 * CN not in the map, stanza not allowed), server name verification, key
 * file permissions, an intermediate CA chain, symbolic links escaping a
 * stanza, crafted frames (../ and absolute paths, NUL bytes, oversized
 * frames) from a raw TLS client, the caller's wait function, reconnection
 * after a server restart, SIGHUP reloading the authorization map, and
 * SIGTERM / SIGINT exit codes.
 *
 * Run from the top of the source tree (make check-unit does): it needs
 * cli/pg_safebackup (or the program named by SB_TEST_CLI: make check-asan
 * runs its sanitizer build) and tests/tls/make-certs.sh.  The server must
 * exit cleanly, which under LeakSanitizer means without leaks.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "expire.h"
#include "sb_config.h"
#include "sb_error.h"
#include "sb_test.h"
#include "storage.h"
#include "storage_suite.h"
#include "tls_settings.h"
#include "../../transport/tls_policy.h"
#include "../../transport/tls_proto.h"

SB_TEST_DEFINE_COUNTERS;

static char workdir[256];
static char pki[300];
static char repo[300];
static char conf[300];
static char logfile[300];
static int	port;
static int	idle_timeout = 30;
static int	handshake_timeout = 2;
static int	max_connections = 100;
static int	max_handshakes_per_host = 8;
static const char *server_cert = "server";
static pid_t server_pid = -1;
static const char *cli = "cli/pg_safebackup";

#define CHECK_RC(rc, expected, err) \
	SB_CHECK_MSG((rc) == (expected), "got \"%s\" (%s), expected \"%s\"", \
				 sb_status_name(rc), (rc) != SB_OK ? (err).msg : "no error", \
				 sb_status_name(expected))


/* ---------------------------------------------------------------------
 * Server management
 * ---------------------------------------------------------------------
 */

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t	len = sizeof(a);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	int			p;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0 ||
		getsockname(fd, (struct sockaddr *) &a, &len) != 0)
	{
		perror("free port");
		exit(1);
	}
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static void
write_config(const char *auth)
{
	FILE	   *f = fopen(conf, "w");

	if (f == NULL)
	{
		perror(conf);
		exit(1);
	}
	fprintf(f, "listen = 127.0.0.1\nport = %d\nrepo_path = %s\n"
			"cert_file = %s/%s.crt\nkey_file = %s/%s.key\nca_file = %s/ca.crt\n"
			"log_level = debug\nlog_file = %s\nidle_timeout = %d\nio_timeout = 10\n"
			"handshake_timeout = %d\nmax_connections = %d\nmax_handshakes = 64\n"
			"max_handshakes_per_host = %d\n"
			"[auth]\n%s",
			port, repo, pki, server_cert, pki, server_cert, pki, logfile,
			idle_timeout, handshake_timeout, max_connections,
			max_handshakes_per_host, auth);
	fclose(f);
}

static bool
port_open(void)
{
	struct sockaddr_in a;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	bool		ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t) port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static bool
start_server(void)
{
	pid_t		pid = fork();

	if (pid == 0)
	{
		execl(cli, "pg_safebackup", "server", "--config", conf, (char *) NULL);
		perror(cli);
		_exit(127);
	}
	server_pid = pid;
	for (int i = 0; i < 200; i++)
	{
		int			status;

		if (waitpid(pid, &status, WNOHANG) == pid)
		{
			server_pid = -1;
			return false;
		}
		if (port_open())
			return true;
		usleep(20000);
	}
	return false;
}

/* Send sig to the server and return its exit status (-1: still running). */
static int
stop_server(int sig)
{
	int			status;

	if (server_pid < 0)
		return -1;
	kill(server_pid, sig);
	for (int i = 0; i < 500; i++)
	{
		if (waitpid(server_pid, &status, WNOHANG) == server_pid)
		{
			server_pid = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(20000);
	}
	kill(server_pid, SIGKILL);
	waitpid(server_pid, &status, 0);
	server_pid = -1;
	return -1;
}

static bool
log_contains(const char *needle)
{
	FILE	   *f = fopen(logfile, "r");
	char		line[4096];
	bool		found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static int
log_count(const char *needle)
{
	FILE	   *f = fopen(logfile, "r");
	char		line[4096];
	int			n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Wait (at most 20 s) until the log has more than n lines holding needle. */
static bool
log_wait(const char *needle, int n)
{
	for (int i = 0; i < 1000; i++)
	{
		if (log_count(needle) > n)
			return true;
		usleep(20000);
	}
	return false;
}

/* Rewrite the configuration and SIGHUP the server; true once reloaded. */
static bool
reload_server(const char *auth)
{
	int			before = log_count("configuration reloaded");

	write_config(auth);
	kill(server_pid, SIGHUP);
	return log_wait("configuration reloaded", before);
}

static void
client_config(SbRepoConfig *cfg, const char *who)
{
	sb_config_init(cfg);
	cfg->repo_type = sb_test_repo_type("tls");
	cfg->io_timeout_ms = 10000;
	strcpy(cfg->repo_path, "/");
	strcpy(SB_TLS(cfg)->tls_host, "127.0.0.1");
	SB_TLS(cfg)->tls_port = port;
	snprintf(SB_TLS(cfg)->tls_cert_file, sizeof(SB_TLS(cfg)->tls_cert_file), "%s/%s.crt", pki, who);
	snprintf(SB_TLS(cfg)->tls_key_file, sizeof(SB_TLS(cfg)->tls_key_file), "%s/%s.key", pki, who);
	snprintf(SB_TLS(cfg)->tls_ca_file, sizeof(SB_TLS(cfg)->tls_ca_file), "%s/ca.crt", pki);
}

static SbStatus
try_open(const SbRepoConfig *cfg, SbStorage **st, SbError *err)
{
	sb_error_clear(err);
	*st = NULL;
	if (sb_storage_create(cfg, st, err) != SB_OK)
		return err->status;
	return sb_storage_open(*st, err);
}

static int
count_entries(const char *dir)
{
	char		cmd[600];
	FILE	   *p;
	int			n = -1;

	snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 | wc -l", dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}


/* ---------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------
 */

static void
test_suite(void)
{
	SbRepoConfig cfg;

	client_config(&cfg, "pg2");
	SB_CHECK(sb_storage_suite_run(&cfg, repo) == 0);

	/* the same through a certificate signed by an intermediate CA */
	client_config(&cfg, "chain");
	{
		SbStorage  *st;
		SbError		err;
		SbStatus	rc = try_open(&cfg, &st, &err);

		CHECK_RC(rc, SB_OK, err);
		if (rc == SB_OK)
		{
			rc = sb_storage_mkdir(st, "main", &err);
			CHECK_RC(rc, SB_OK, err);
			rc = sb_storage_put(st, "main/chain-test", 0, "x", 1, &err);
			CHECK_RC(rc, SB_OK, err);
			rc = sb_storage_remove(st, "main", true, &err);
			CHECK_RC(rc, SB_OK, err);
		}
		sb_storage_free(st);
	}
}

/* Each refused client: the error, and nothing written in the repository. */
static void
test_refused(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	int			before = count_entries(repo);

	client_config(&cfg, "intruder");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strcmp(err.msg, "access denied to stanza main for CN intruder") == 0,
				 "message \"%s\"", err.msg);
	sb_storage_free(st);
	SB_CHECK(log_contains("common name not in the authorization map"));

	client_config(&cfg, "otherca");
	rc = try_open(&cfg, &st, &err);
	SB_CHECK_MSG(rc == SB_ERR_AUTH || rc == SB_ERR_NETWORK, "got %s: %s",
				 sb_status_name(rc), err.msg);
	sb_storage_free(st);

	client_config(&cfg, "expired");
	rc = try_open(&cfg, &st, &err);
	SB_CHECK_MSG(rc == SB_ERR_AUTH || rc == SB_ERR_NETWORK, "got %s: %s",
				 sb_status_name(rc), err.msg);
	sb_storage_free(st);
	usleep(200000);
	SB_CHECK(log_contains("certificate has expired"));
	SB_CHECK(log_contains("unable to get local issuer certificate"));

	/* pg1 may use "main" only */
	client_config(&cfg, "pg1");
	strcpy(cfg.stanza, "reports");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strcmp(err.msg, "access denied to stanza reports for CN pg1") == 0,
				 "message \"%s\"", err.msg);
	sb_storage_free(st);

	strcpy(cfg.stanza, "main");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_put(st, "reports/x", 0, "x", 1, &err);
		CHECK_RC(rc, SB_ERR_AUTH, err);
		SB_CHECK(strstr(err.msg, "access denied to stanza reports for CN pg1") != NULL);
		rc = sb_storage_mkdir(st, "reports", &err);
		CHECK_RC(rc, SB_ERR_AUTH, err);
		/* the connection is still usable */
		rc = sb_storage_mkdir(st, "main", &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_remove(st, "main", true, &err);
		CHECK_RC(rc, SB_OK, err);
	}
	sb_storage_free(st);
	SB_CHECK_MSG(count_entries(repo) == before, "%d entries, %d before",
				 count_entries(repo), before);

	/* the server's name must match: verify-full */
	client_config(&cfg, "pg1");
	strcpy(SB_TLS(&cfg)->tls_server_name, "elsewhere.invalid");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK(strstr(err.msg, "could not verify the certificate") != NULL);
	sb_storage_free(st);
	client_config(&cfg, "pg1");
	strcpy(SB_TLS(&cfg)->tls_host, "localhost");	/* DNS name in the SAN */
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	sb_storage_free(st);

	/* a CA that did not sign the server */
	client_config(&cfg, "pg1");
	snprintf(SB_TLS(&cfg)->tls_ca_file, sizeof(SB_TLS(&cfg)->tls_ca_file), "%s/otherca-root.crt", pki);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	sb_storage_free(st);

	/* key file permissions */
	{
		char		key[400];

		client_config(&cfg, "pg1");
		snprintf(key, sizeof(key), "%s/pg1.key", pki);
		SB_REQUIRE(chmod(key, 0640) == 0);
		rc = try_open(&cfg, &st, &err);
		CHECK_RC(rc, SB_ERR_CONFIG, err);
		SB_CHECK(strstr(err.msg, "group or world access") != NULL);
		sb_storage_free(st);
		SB_CHECK(chmod(key, 0600) == 0);
	}

	/* nothing listening */
	client_config(&cfg, "pg1");
	SB_TLS(&cfg)->tls_port = free_port();
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	sb_storage_free(st);
}

static void
test_symlink(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	char		path[600];
	char		outside[600];
	SbStat		sst;

	snprintf(outside, sizeof(outside), "%s/outside", workdir);
	mkdir(outside, 0700);
	snprintf(path, sizeof(path), "%s/main", repo);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/main/escape", repo);
	SB_REQUIRE(symlink(outside, path) == 0);

	client_config(&cfg, "pg1");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_put(st, "main/escape/file", 0, "x", 1, &err);
		CHECK_RC(rc, SB_ERR_PERMISSION, err);
		rc = sb_storage_stat(st, "main/escape", &sst, &err);
		CHECK_RC(rc, SB_ERR_PERMISSION, err);
		rc = sb_storage_mkdir(st, "main/escape/sub", &err);
		CHECK_RC(rc, SB_ERR_PERMISSION, err);
		/* server paths are not shown to clients */
		rc = sb_storage_stat(st, "main/nothing", &sst, &err);
		CHECK_RC(rc, SB_ERR_NOT_FOUND, err);
		SB_CHECK_MSG(strstr(err.msg, repo) == NULL, "message \"%s\"", err.msg);
	}
	sb_storage_free(st);
	SB_CHECK(count_entries(outside) == 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/main", repo);
	rmdir(path);
}

/* A raw TLS client that sends frames of our choosing. */
typedef struct Raw
{
	SSL_CTX    *ctx;
	SSL		   *ssl;
	int			fd;
} Raw;

/*
 * Connect as who; with tls12_ciphers, offer TLS 1.2 and only those ciphers
 * (OpenSSL's cipher list syntax), as an old or careless client would.
 */
static bool
raw_connect_with(Raw *r, const char *who, const char *tls12_ciphers)
{
	struct sockaddr_in a;
	char		path[400];
	struct timeval tv = {10, 0};

	memset(r, 0, sizeof(*r));
	r->ctx = SSL_CTX_new(TLS_client_method());
	if (tls12_ciphers != NULL)
	{
		SSL_CTX_set_max_proto_version(r->ctx, TLS1_2_VERSION);
		SB_CHECK(SSL_CTX_set_cipher_list(r->ctx, tls12_ciphers) == 1);
	}
	snprintf(path, sizeof(path), "%s/ca.crt", pki);
	SSL_CTX_load_verify_locations(r->ctx, path, NULL);
	snprintf(path, sizeof(path), "%s/%s.crt", pki, who);
	SSL_CTX_use_certificate_chain_file(r->ctx, path);
	snprintf(path, sizeof(path), "%s/%s.key", pki, who);
	SSL_CTX_use_PrivateKey_file(r->ctx, path, SSL_FILETYPE_PEM);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t) port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(r->fd, (struct sockaddr *) &a, sizeof(a)) != 0)
		return false;
	r->ssl = SSL_new(r->ctx);
	SSL_set_fd(r->ssl, r->fd);
	return SSL_connect(r->ssl) == 1;
}

static bool
raw_connect(Raw *r, const char *who)
{
	return raw_connect_with(r, who, NULL);
}

static void
raw_close(Raw *r)
{
	if (r->ssl)
		SSL_free(r->ssl);
	if (r->fd >= 0)
		close(r->fd);
	SSL_CTX_free(r->ctx);
}

static bool
raw_send(Raw *r, const uint8_t *p, size_t len)
{
	return SSL_write(r->ssl, p, (int) len) == (int) len;
}

/* Read one reply frame; its type, or -1 when the connection is closed. */
static int
raw_reply(Raw *r, uint8_t *payload, size_t cap, uint32_t *plen)
{
	uint8_t		hdr[SB_TLS_HEADER_LEN];
	size_t		got = 0;
	uint8_t		type;
	SbError		err;

	while (got < sizeof(hdr))
	{
		int			n = SSL_read(r->ssl, hdr + got, (int) (sizeof(hdr) - got));

		if (n <= 0)
			return -1;
		got += (size_t) n;
	}
	if (sb_tls_parse_header(hdr, &type, plen, &err) != SB_OK || *plen > cap)
		return -1;
	got = 0;
	while (got < *plen)
	{
		int			n = SSL_read(r->ssl, payload + got, (int) (*plen - got));

		if (n <= 0)
			return -1;
		got += (size_t) n;
	}
	return type;
}

static bool
raw_hello(Raw *r)
{
	uint8_t		buf[256];
	uint8_t		reply[1024];
	uint32_t	plen;
	SbTlsBuf	b;

	sb_tls_frame_begin(&b, buf, sizeof(buf), SB_TLS_HELLO);
	sb_tls_put_u16(&b, SB_TLS_PROTO_VERSION);
	sb_tls_put_str(&b, "");
	sb_tls_frame_end(&b);
	return raw_send(r, buf, b.len) &&
		raw_reply(r, reply, sizeof(reply), &plen) == SB_TLS_HELLO_OK;
}

/* Send a STAT for a raw path (len bytes, may hold NUL); the reply type. */
static int
raw_stat(Raw *r, const char *path, size_t len, SbError *err)
{
	uint8_t		buf[4096];
	uint8_t		reply[4096];
	uint32_t	plen;
	SbTlsBuf	b;
	int			type;

	sb_tls_frame_begin(&b, buf, sizeof(buf), SB_TLS_STAT);
	sb_tls_put_u16(&b, (uint16_t) len);
	sb_tls_put_bytes(&b, path, len);
	sb_tls_frame_end(&b);
	if (!raw_send(r, buf, b.len))
		return -1;
	type = raw_reply(r, reply, sizeof(reply), &plen);
	if (type == SB_TLS_ERROR)
		sb_tls_parse_error(reply, plen, err);
	return type;
}

static void
test_crafted(void)
{
	Raw			r;
	SbError		err;
	int			type;
	char		outside[600];
	uint8_t		hdr[SB_TLS_HEADER_LEN] = {0x7f, 0xff, 0xff, 0xff, SB_TLS_STAT, 0, 0, 0};
	uint8_t		reply[4096];
	uint32_t	plen;

	SB_REQUIRE(raw_connect(&r, "pg2"));
	SB_REQUIRE(raw_hello(&r));

	type = raw_stat(&r, "../etc", 6, &err);
	SB_CHECK(type == SB_TLS_ERROR && err.status == SB_ERR_PERMISSION);
	type = raw_stat(&r, "main/../../etc/passwd", 21, &err);
	SB_CHECK(type == SB_TLS_ERROR && err.status == SB_ERR_PERMISSION);
	type = raw_stat(&r, "/etc/passwd", 11, &err);
	SB_CHECK(type == SB_TLS_ERROR && err.status == SB_ERR_PERMISSION);
	type = raw_stat(&r, "..", 2, &err);
	SB_CHECK(type == SB_TLS_ERROR && err.status == SB_ERR_PERMISSION);
	/* the connection survives refused paths */
	type = raw_stat(&r, "main", 4, &err);
	SB_CHECK(type == SB_TLS_ERROR && err.status == SB_ERR_NOT_FOUND);
	/* a NUL byte makes the frame malformed: an error, then the server hangs up */
	type = raw_stat(&r, "main/a\0b", 8, &err);
	SB_CHECK(type == SB_TLS_ERROR);
	SB_CHECK(raw_reply(&r, reply, sizeof(reply), &plen) == -1);
	raw_close(&r);

	/* an oversized frame: an error, then the server hangs up */
	SB_REQUIRE(raw_connect(&r, "pg2"));
	SB_REQUIRE(raw_hello(&r));
	SB_CHECK(raw_send(&r, hdr, sizeof(hdr)));
	type = raw_reply(&r, reply, sizeof(reply), &plen);
	SB_CHECK(type == SB_TLS_ERROR);
	SB_CHECK(raw_reply(&r, reply, sizeof(reply), &plen) == -1);
	raw_close(&r);

	/* a request before HELLO */
	SB_REQUIRE(raw_connect(&r, "pg2"));
	type = raw_stat(&r, "main", 4, &err);
	SB_CHECK(type == SB_TLS_ERROR);
	raw_close(&r);

	/* the server still serves others */
	SB_REQUIRE(raw_connect(&r, "pg2"));
	SB_CHECK(raw_hello(&r));
	raw_close(&r);
	snprintf(outside, sizeof(outside), "%s/etc", workdir);
	SB_CHECK(access(outside, F_OK) != 0);
	SB_CHECK(log_contains("exceeds the limit"));
}

static int	wait_calls = 0;

static SbStatus
counting_wait(int fd, bool for_read, bool for_write, int timeout_ms,
			  void *arg, SbError *err)
{
	struct timeval tv;
	fd_set		rs,
				ws;
	int			n;

	wait_calls++;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	if (for_read)
		FD_SET(fd, &rs);
	if (for_write)
		FD_SET(fd, &ws);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	n = select(fd + 1, &rs, &ws, NULL, &tv);
	if (n <= 0)
		return sb_error_set(err, SB_ERR_NETWORK, "wait failed");
	return SB_OK;
}

/* The caller's wait function, reconnection, SIGHUP and signals. */
static void
test_lifecycle(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	SbWriter   *w;
	int			code;

	client_config(&cfg, "pg1");
	sb_error_clear(&err);
	rc = sb_storage_create(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc != SB_OK)
		return;
	st->wait = counting_wait;
	rc = sb_storage_open(st, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK(wait_calls > 0);
	rc = sb_storage_mkdir(st, "main", &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_put(st, "main/one", 0, "1", 1, &err);
	CHECK_RC(rc, SB_OK, err);

	/* SIGTERM: the idle connection is let go, the server exits 0 */
	code = stop_server(SIGTERM);
	SB_CHECK_MSG(code == 0, "exit code %d", code);
	SB_REQUIRE(start_server());

	/* stat and mkdir reconnect transparently */
	rc = sb_storage_stat(st, "main/one", &sst, &err);
	CHECK_RC(rc, SB_OK, err);

	/* SIGHUP with pg1 removed: new connections are refused */
	write_config("pg2 = *:admin\n");
	kill(server_pid, SIGHUP);
	usleep(300000);
	SB_CHECK(log_contains("configuration reloaded"));
	{
		SbStorage  *st2;

		rc = try_open(&cfg, &st2, &err);
		CHECK_RC(rc, SB_ERR_AUTH, err);
		sb_storage_free(st2);
	}
	/* ... while the established one keeps working */
	rc = sb_storage_stat(st, "main/one", &sst, &err);
	CHECK_RC(rc, SB_OK, err);

	/* a bad configuration is refused and the old one stays */
	write_config("pg2 = not a stanza!\n");
	kill(server_pid, SIGHUP);
	usleep(300000);
	SB_CHECK(log_contains("reload failed"));
	{
		SbRepoConfig cfg2;
		SbStorage  *st2;

		client_config(&cfg2, "pg2");
		rc = try_open(&cfg2, &st2, &err);
		CHECK_RC(rc, SB_OK, err);
		sb_storage_free(st2);
	}
	/*
	 * SIGHUP re-reads certificates too: a server certificate signed by an
	 * intermediate CA (sent along) still verifies against the root alone.
	 */
	server_cert = "server-chain";
	write_config("pg1 = main:admin\npg2 = *:admin\n");
	kill(server_pid, SIGHUP);
	usleep(300000);
	{
		SbRepoConfig cfg2;
		SbStorage  *st2;

		client_config(&cfg2, "pg2");
		rc = try_open(&cfg2, &st2, &err);
		CHECK_RC(rc, SB_OK, err);
		if (rc == SB_OK)
		{
			rc = sb_storage_stat(st2, "main/one", &sst, &err);
			CHECK_RC(rc, SB_OK, err);
		}
		sb_storage_free(st2);
	}
	{
		Raw			r;

		if (raw_connect(&r, "pg2"))
		{
			STACK_OF(X509) *chain = SSL_get_peer_cert_chain(r.ssl);

			SB_CHECK_MSG(chain != NULL && sk_X509_num(chain) == 2,
						 "server sent %d certificates", chain ? sk_X509_num(chain) : -1);
		}
		else
			SB_CHECK(!"raw connection after reload");
		raw_close(&r);
	}
	server_cert = "server";
	write_config("pg1 = main:admin\npg2 = *:admin\n");
	kill(server_pid, SIGHUP);
	usleep(300000);

	/* SIGINT while a file is being written: exit 4, nothing published */
	rc = sb_storage_write_open(st, "main/cut", 0, &w, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_write(st, w, "partial", 7, &err);
		CHECK_RC(rc, SB_OK, err);
		code = stop_server(SIGINT);
		SB_CHECK_MSG(code == 4, "exit code %d", code);
		SB_REQUIRE(start_server());
		rc = sb_storage_write_commit(st, w, &err);
		SB_CHECK(rc == SB_ERR_NETWORK);
		rc = sb_storage_stat(st, "main/cut", &sst, &err);
		CHECK_RC(rc, SB_ERR_NOT_FOUND, err);
	}
	rc = sb_storage_remove(st, "main", true, &err);
	CHECK_RC(rc, SB_OK, err);
	sb_storage_free(st);
}

/* Run the server with a configuration file holding text; its exit status. */
static int
server_with(const char *text, char *out, size_t outlen)
{
	char		path[400];
	char		cmd[1200];
	FILE	   *f;
	FILE	   *p;
	size_t		n;
	int			status;

	snprintf(path, sizeof(path), "%s/bad.conf", workdir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "timeout 10 '%s' server --config '%s' 2>&1", cli, path);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Bad server configurations: refused at start with a clear message. */
static void
test_server_config(void)
{
	char		text[4096];
	char		out[4096];
	char		key[400];
	int			code;

	code = server_with("port = 1\n[auth]\npg1 = main\n", out, sizeof(out));
	SB_CHECK_MSG(code == 1 && strstr(out, "repo_path is not set") != NULL,
				 "exit %d: %s", code, out);

	snprintf(text, sizeof(text),
			 "repo_path = %s\ncert_file = %s/server.crt\nkey_file = %s/server.key\n"
			 "ca_file = %s/ca.crt\nlisten = 127.0.0.1\nport = %d\nbogus = 1\n",
			 repo, pki, pki, pki, free_port());
	code = server_with(text, out, sizeof(out));
	SB_CHECK_MSG(code == 1 && strstr(out, "unrecognized setting \"bogus\"") != NULL,
				 "exit %d: %s", code, out);

	snprintf(text, sizeof(text),
			 "repo_path = %s\ncert_file = %s/server.crt\nkey_file = %s/server.key\n"
			 "ca_file = %s/ca.crt\nlisten = 127.0.0.1\nport = %d\n[auth]\npg1 = ../x\n",
			 repo, pki, pki, pki, free_port());
	code = server_with(text, out, sizeof(out));
	SB_CHECK_MSG(code == 1 && strstr(out, "invalid stanza name \"../x\"") != NULL,
				 "exit %d: %s", code, out);

	/* the server's key must not be readable by others */
	snprintf(key, sizeof(key), "%s/server.key", pki);
	SB_REQUIRE(chmod(key, 0644) == 0);
	snprintf(text, sizeof(text),
			 "repo_path = %s\ncert_file = %s/server.crt\nkey_file = %s/server.key\n"
			 "ca_file = %s/ca.crt\nlisten = 127.0.0.1\nport = %d\n",
			 repo, pki, pki, pki, free_port());
	code = server_with(text, out, sizeof(out));
	SB_CHECK_MSG(code == 1 && strstr(out, "group or world access") != NULL,
				 "exit %d: %s", code, out);
	SB_CHECK(chmod(key, 0600) == 0);

	/* the port is taken: by our running server */
	snprintf(text, sizeof(text),
			 "repo_path = %s\ncert_file = %s/server.crt\nkey_file = %s/server.key\n"
			 "ca_file = %s/ca.crt\nlisten = 127.0.0.1\nport = %d\n",
			 repo, pki, pki, pki, port);
	code = server_with(text, out, sizeof(out));
	SB_CHECK_MSG(code == 1 && strstr(out, "could not listen") != NULL,
				 "exit %d: %s", code, out);

	snprintf(text, sizeof(text), "'%s' server >/dev/null 2>&1", cli);
	code = system(text);
	SB_CHECK(WIFEXITED(code) && WEXITSTATUS(code) == 2);
}

/*
 * Many clients at once, each streaming a file larger than a frame in
 * interleaved pieces; every file arrives whole.
 */
#define NCLIENTS	8
static void
test_many(void)
{
	SbRepoConfig cfg;
	SbStorage  *st[NCLIENTS];
	SbWriter   *w[NCLIENTS];
	SbError		err;
	SbStatus	rc;
	char	   *piece = malloc(100000);
	int			i,
				round;

	SB_REQUIRE(piece != NULL);
	client_config(&cfg, "pg2");
	for (i = 0; i < NCLIENTS; i++)
	{
		st[i] = NULL;
		w[i] = NULL;
		rc = try_open(&cfg, &st[i], &err);
		CHECK_RC(rc, SB_OK, err);
	}
	if (st[0] != NULL)
	{
		rc = sb_storage_mkdir(st[0], "many", &err);
		CHECK_RC(rc, SB_OK, err);
	}
	for (i = 0; i < NCLIENTS; i++)
	{
		char		p[64];

		snprintf(p, sizeof(p), "many/file%d", i);
		rc = sb_storage_write_open(st[i], p, 0, &w[i], &err);
		CHECK_RC(rc, SB_OK, err);
	}
	for (round = 0; round < 10; round++)
		for (i = 0; i < NCLIENTS; i++)
		{
			if (w[i] == NULL)
				continue;
			memset(piece, 'a' + i, 100000);
			rc = sb_storage_write(st[i], w[i], piece, 100000, &err);
			CHECK_RC(rc, SB_OK, err);
		}
	for (i = 0; i < NCLIENTS; i++)
	{
		char		p[64];
		char	   *buf = NULL;
		size_t		len = 0;
		bool		same = true;

		if (w[i] == NULL)
			continue;
		rc = sb_storage_write_commit(st[i], w[i], &err);
		CHECK_RC(rc, SB_OK, err);
		snprintf(p, sizeof(p), "many/file%d", i);
		rc = sb_storage_get(st[(i + 1) % NCLIENTS], p, 2000000, &buf, &len, &err);
		CHECK_RC(rc, SB_OK, err);
		for (size_t k = 0; k < len && same; k++)
			same = buf[k] == 'a' + i;
		SB_CHECK_MSG(len == 1000000 && same, "file%d: %zu bytes", i, len);
		free(buf);
	}
	if (st[0] != NULL)
	{
		rc = sb_storage_remove(st[0], "many", true, &err);
		CHECK_RC(rc, SB_OK, err);
	}
	for (i = 0; i < NCLIENTS; i++)
		sb_storage_free(st[i]);
	free(piece);
}

/* The server closing an idle connection is invisible to the client. */
static void
test_idle(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;

	idle_timeout = 1;
	write_config("pg1 = main:admin\npg2 = *:admin\n");
	kill(server_pid, SIGHUP);
	usleep(300000);

	client_config(&cfg, "pg1");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_mkdir(st, "main", &err);
		CHECK_RC(rc, SB_OK, err);
		sleep(2);
		rc = sb_storage_put(st, "main/after-idle", 0, "x", 1, &err);
		CHECK_RC(rc, SB_OK, err);
		sleep(2);
		rc = sb_storage_stat(st, "main/after-idle", &sst, &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_remove(st, "main", true, &err);
		CHECK_RC(rc, SB_OK, err);
	}
	sb_storage_free(st);
	SB_CHECK(log_contains("s idle"));
	idle_timeout = 30;
	write_config("pg1 = main:admin\npg2 = *:admin\n");
	kill(server_pid, SIGHUP);
	usleep(300000);
}

/*
 * Write a client certificate for CN bytes cn[0..cnlen) signed by the test
 * CA, to pki/<name>.crt and .key (the openssl command cannot put a NUL
 * byte in a subject).
 */
static bool
make_client_cert(const char *name, const char *cn, int cnlen)
{
	char		path[400];
	FILE	   *f;
	X509	   *ca = NULL;
	EVP_PKEY   *cakey = NULL;
	EVP_PKEY   *key = EVP_EC_gen("P-256");
	X509	   *x = X509_new();
	X509_NAME  *subj = X509_NAME_new();
	X509V3_CTX	v3;
	X509_EXTENSION *ext;
	bool		ok = false;
	int			fd;

	snprintf(path, sizeof(path), "%s/ca.crt", pki);
	if ((f = fopen(path, "r")) != NULL)
	{
		ca = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/ca.key", pki);
	if ((f = fopen(path, "r")) != NULL)
	{
		cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (ca == NULL || cakey == NULL || key == NULL || x == NULL || subj == NULL)
		goto done;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
							   (const unsigned char *) cn, cnlen, -1, 0);
	X509_set_subject_name(x, subj);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage, "clientAuth");
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		goto done;
	X509_EXTENSION_free(ext);
	if (X509_sign(x, cakey, EVP_sha256()) == 0)
		goto done;
	snprintf(path, sizeof(path), "%s/%s.crt", pki, name);
	if ((f = fopen(path, "w")) == NULL)
		goto done;
	ok = PEM_write_X509(f, x) == 1;
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", pki, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		ok = false;
	else
	{
		ok = ok && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
		fclose(f);
	}
done:
	X509_NAME_free(subj);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return ok;
}

/* Common names the authorization map could be fooled by are refused. */
static void
test_common_name(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;

	/* "pg1\0x" would read as "pg1", which may use stanza "main" */
	SB_REQUIRE(make_client_cert("nulcn", "pg1\0x", 5));
	client_config(&cfg, "nulcn");
	strcpy(cfg.stanza, "main");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strstr(err.msg, "common name contains a NUL byte") != NULL,
				 "message \"%s\"", err.msg);
	sb_storage_free(st);
	SB_CHECK(log_contains("certificate common name contains a NUL byte"));

	/* CN=pg1 then CN=intruder: which one names the client is unclear */
	client_config(&cfg, "twocn");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strstr(err.msg, "more than one common name") != NULL,
				 "message \"%s\"", err.msg);
	sb_storage_free(st);
	SB_CHECK(log_contains("certificate has more than one common name"));

	/* the same CA, a plain "pg1": accepted */
	SB_REQUIRE(make_client_cert("plaincn", "pg1", 3));
	client_config(&cfg, "plaincn");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	sb_storage_free(st);
}

/* Start "openssl s_server" on a free port with extra arguments; its pid. */
static pid_t
start_s_server(int sport, const char *cipher)
{
	pid_t		pid = fork();
	char		portstr[16],
				cert[400],
				key[400],
				ca[400];

	snprintf(portstr, sizeof(portstr), "%d", sport);
	snprintf(cert, sizeof(cert), "%s/server.crt", pki);
	snprintf(key, sizeof(key), "%s/server.key", pki);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	if (pid == 0)
	{
		int			null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("openssl", "openssl", "s_server", "-quiet", "-accept", portstr,
			   "-4", "-tls1_2", "-cipher", cipher, "-cert", cert, "-key", key,
			   "-CAfile", ca, "-Verify", "1", (char *) NULL);
		_exit(127);
	}
	return pid;
}

/* Only AEAD ciphers with forward secrecy, at both ends. */
static void
test_ciphers(void)
{
	Raw			r;
	SSL_CTX    *ctx = SSL_CTX_new(TLS_client_method());
	STACK_OF(SSL_CIPHER) *list;
	int			bad = 0;

	/* the shared policy itself: every cipher it leaves is AEAD and ECDHE/1.3 */
	SB_REQUIRE(ctx != NULL && sb_tls_apply_policy(ctx));
	list = SSL_CTX_get_ciphers(ctx);
	SB_CHECK(list != NULL && sk_SSL_CIPHER_num(list) >= 6);
	for (int i = 0; list != NULL && i < sk_SSL_CIPHER_num(list); i++)
		if (!sb_tls_cipher_allowed(sk_SSL_CIPHER_value(list, i)))
		{
			printf("  cipher %s not allowed\n",
				   SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i)));
			bad++;
		}
	SB_CHECK(bad == 0);
	SSL_CTX_free(ctx);

	/* the server refuses CBC and SHA-1 suites over TLS 1.2 */
	SB_CHECK(!raw_connect_with(&r, "pg2", "ECDHE-ECDSA-AES128-SHA"));
	raw_close(&r);
	SB_CHECK(!raw_connect_with(&r, "pg2", "ECDHE-ECDSA-AES256-SHA384"));
	raw_close(&r);
	/* ... and takes AEAD ones */
	SB_CHECK(raw_connect_with(&r, "pg2", "ECDHE-ECDSA-AES128-GCM-SHA256") && raw_hello(&r));
	SB_CHECK(SSL_version(r.ssl) == TLS1_2_VERSION);
	raw_close(&r);
	SB_CHECK(raw_connect_with(&r, "pg2", "ECDHE-ECDSA-CHACHA20-POLY1305") && raw_hello(&r));
	raw_close(&r);
	/* by default, TLS 1.3 */
	SB_CHECK(raw_connect(&r, "pg2") && raw_hello(&r));
	SB_CHECK(SSL_version(r.ssl) == TLS1_3_VERSION);
	raw_close(&r);

	/* the client driver refuses a server that offers only a CBC suite */
	{
		SbRepoConfig cfg;
		SbStorage  *st;
		SbError		err;
		SbStatus	rc;
		int			sport = free_port();
		pid_t		pid = start_s_server(sport, "ECDHE-ECDSA-AES128-SHA");
		int			status;
		int			save = port;
		bool		up = false;

		port = sport;
		for (int i = 0; i < 250 && !up; i++)
		{
			up = port_open();
			if (!up)
				usleep(20000);
		}
		SB_CHECK(up);
		client_config(&cfg, "pg1");
		rc = try_open(&cfg, &st, &err);
		SB_CHECK_MSG(rc == SB_ERR_NETWORK || rc == SB_ERR_AUTH, "got %s: %s",
					 sb_status_name(rc), err.msg);
		SB_CHECK_MSG(strstr(err.msg, "no shared cipher") != NULL ||
					 strstr(err.msg, "handshake failure") != NULL,
					 "message \"%s\"", err.msg);
		sb_storage_free(st);
		port = save;
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
}

/*
 * A TCP connection to the server from a loopback source address of our
 * choosing (all of 127/8 is loopback), non-blocking; -1 on failure.
 */
static int
tcp_from(const char *source)
{
	struct sockaddr_in a;
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, source, &a.sin_addr);
	if (bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0)
	{
		close(fd);
		return -1;
	}
	a.sin_port = htons((uint16_t) port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0 && errno != EINPROGRESS)
	{
		close(fd);
		return -1;
	}
	return fd;
}

/* Has the server closed fd (EOF or reset)?  Waits up to ms. */
static bool
peer_closed(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	fd_set		rs;
	char		c;
	ssize_t		n;

	FD_ZERO(&rs);
	FD_SET(fd, &rs);
	if (select(fd + 1, &rs, NULL, NULL, &tv) <= 0)
		return false;
	n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static double
elapsed_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One complete client session: write a file, read it back, remove it. */
static void
check_client_works(const char *who, const char *file)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	char	   *buf = NULL;
	size_t		len = 0;

	client_config(&cfg, who);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_put(st, file, 0, "payload", 7, &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_get(st, file, 100, &buf, &len, &err);
		CHECK_RC(rc, SB_OK, err);
		SB_CHECK(len == 7 && buf != NULL && memcmp(buf, "payload", 7) == 0);
		free(buf);
		rc = sb_storage_remove(st, file, false, &err);
		CHECK_RC(rc, SB_OK, err);
	}
	sb_storage_free(st);
}

/*
 * Hundreds of connections that never start TLS, from 100 addresses: the
 * handshake pool stays bounded (the oldest are dropped to make room), an
 * established client keeps working, and a new one still gets in.
 */
#define NFLOOD		300
static void
test_flood(void)
{
	static int	fds[NFLOOD];
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	int			served;
	int			dropped;

	/* long enough that the flood is not simply timed out */
	handshake_timeout = 30;
	SB_REQUIRE(reload_server("pg1 = main:admin\npg2 = *:admin\n"));

	client_config(&cfg, "pg1");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_mkdir(st, "main", &err);
		CHECK_RC(rc, SB_OK, err);
	}

	served = log_count("served by process");
	dropped = log_count("to make room");
	/*
	 * In batches that fit the listen queue (an overflowing queue would make
	 * the kernel retry the later ones seconds later): every one of them is
	 * accepted and given a process, in turn, the oldest being dropped.
	 */
	for (int i = 0; i < NFLOOD; i++)
	{
		char		source[32];

		snprintf(source, sizeof(source), "127.0.1.%d", 1 + i / 3);
		fds[i] = tcp_from(source);
		SB_CHECK(fds[i] >= 0);
		if (i % 50 == 49)
			SB_CHECK(log_wait("served by process", served + i));
	}
	SB_CHECK(log_count("to make room") > dropped);

	/* the established client goes on ... */
	if (rc == SB_OK)
	{
		rc = sb_storage_put(st, "main/during-flood", 0, "x", 1, &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_stat(st, "main/during-flood", &sst, &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_remove(st, "main", true, &err);
		CHECK_RC(rc, SB_OK, err);
	}
	sb_storage_free(st);
	/* ... and a new one connects, writes and reads */
	check_client_works("pg2", "flood-test");

	for (int i = 0; i < NFLOOD; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	handshake_timeout = 2;
	SB_CHECK(reload_server("pg1 = main:admin\npg2 = *:admin\n"));
}

/* One address may hold only max_handshakes_per_host unauthenticated. */
static void
test_per_host(void)
{
	int			fds[12];
	int			closed = 0;

	/* the ones let in must not time out while we look */
	handshake_timeout = 30;
	SB_REQUIRE(reload_server("pg1 = main:admin\npg2 = *:admin\n"));
	for (int i = 0; i < 12; i++)
		fds[i] = tcp_from("127.0.0.2");
	SB_CHECK(log_wait("too many unauthenticated connections from 127.0.0.2", 0));
	/* the four over the limit are closed at once, the others wait */
	for (int i = 0; i < 12; i++)
		if (fds[i] >= 0 && peer_closed(fds[i], 200))
			closed++;
	SB_CHECK_MSG(closed == 12 - max_handshakes_per_host, "%d closed", closed);
	/* another address is not affected */
	check_client_works("pg2", "per-host-test");
	for (int i = 0; i < 12; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	handshake_timeout = 2;
	SB_CHECK(reload_server("pg1 = main:admin\npg2 = *:admin\n"));
}

/* Slow handshakes are cut at handshake_timeout, however they trickle. */
static void
test_slow_handshake(void)
{
	struct timespec t0;
	int			fd;
	bool		closed = false;
	double		took;
	uint8_t		hello[4096];
	int			hello_len;
	Raw			r;
	char		c;

	/* a real ClientHello, made in memory, sent one byte every 250 ms */
	{
		SSL_CTX    *ctx = SSL_CTX_new(TLS_client_method());
		SSL		   *ssl = SSL_new(ctx);
		BIO		   *in = BIO_new(BIO_s_mem());
		BIO		   *out = BIO_new(BIO_s_mem());

		SSL_set_bio(ssl, in, out);
		SB_CHECK(SSL_connect(ssl) <= 0);
		hello_len = BIO_read(out, hello, sizeof(hello));
		SSL_free(ssl);
		SSL_CTX_free(ctx);
		SB_REQUIRE(hello_len > 100);
	}
	fd = tcp_from("127.0.0.3");
	SB_REQUIRE(fd >= 0);
	{
		struct pollfd pfd = {fd, POLLOUT, 0};

		SB_REQUIRE(poll(&pfd, 1, 5000) == 1);	/* connected */
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 40 && !closed; i++)
	{
		uint8_t		b = hello[i];

		if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
			closed = true;
		else
			closed = peer_closed(fd, 250);
	}
	took = elapsed_since(&t0);
	close(fd);
	SB_CHECK_MSG(closed && took >= handshake_timeout - 0.5 && took < handshake_timeout + 2.5,
				 "closed %d after %.1f s", closed, took);
	SB_CHECK(log_contains("TLS handshake not finished within handshake_timeout (2 s)"));

	/* TLS done, but no HELLO */
	SB_REQUIRE(raw_connect(&r, "pg2"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	SB_CHECK(SSL_read(r.ssl, &c, 1) <= 0);
	took = elapsed_since(&t0);
	SB_CHECK_MSG(took >= handshake_timeout - 1.5 && took < handshake_timeout + 2.5,
				 "closed after %.1f s", took);
	raw_close(&r);
	SB_CHECK(log_contains("no HELLO within handshake_timeout (2 s)"));
}

/* Authenticated connections are limited by max_connections alone. */
static void
test_max_connections(void)
{
	SbRepoConfig cfg;
	SbStorage  *st[3];
	SbError		err;
	SbStatus	rc;

	max_connections = 2;
	SB_REQUIRE(reload_server("pg1 = main:admin\npg2 = *:admin\n"));
	client_config(&cfg, "pg2");
	for (int i = 0; i < 2; i++)
	{
		rc = try_open(&cfg, &st[i], &err);
		CHECK_RC(rc, SB_OK, err);
	}
	rc = try_open(&cfg, &st[2], &err);
	SB_CHECK_MSG(rc != SB_OK && strstr(err.msg, "too many connections") != NULL,
				 "got %s: %s", sb_status_name(rc), err.msg);
	sb_storage_free(st[2]);
	SB_CHECK(log_contains("too many connections (max_connections = 2)"));
	/* a slot freed is a slot taken again */
	sb_storage_free(st[0]);
	for (int i = 0; i < 50; i++)
	{
		rc = try_open(&cfg, &st[2], &err);
		if (rc == SB_OK)
			break;
		sb_storage_free(st[2]);
		st[2] = NULL;
		usleep(100000);
	}
	CHECK_RC(rc, SB_OK, err);
	sb_storage_free(st[1]);
	sb_storage_free(st[2]);
	max_connections = 100;
	SB_CHECK(reload_server("pg1 = main:admin\npg2 = *:admin\n"));
}


/*
 * HELLO_OK's optional right byte: absent (a server from before rights,
 * which gave every right) is admin, 1 append, 2 admin, anything else
 * unknown; a truncated string is unknown.
 */
static void
test_hello_mode(void)
{
	uint8_t		buf[256];
	SbTlsBuf	b;
	SbTlsCursor c;
	const int	rights[] = {-1, SB_TLS_RIGHT_APPEND, SB_TLS_RIGHT_ADMIN, 7};
	const SbRepoMode expect[] = {SB_REPO_MODE_ADMIN, SB_REPO_MODE_APPEND,
	SB_REPO_MODE_ADMIN, SB_REPO_MODE_UNKNOWN};

	for (int i = 0; i < 4; i++)
	{
		sb_tls_frame_begin(&b, buf, sizeof(buf), SB_TLS_HELLO_OK);
		sb_tls_put_u16(&b, SB_TLS_PROTO_VERSION);
		sb_tls_put_str(&b, "pg_safebackup test");
		sb_tls_put_str(&b, "pg1");
		if (rights[i] >= 0)
			sb_tls_put_u8(&b, (uint8_t) rights[i]);
		sb_tls_cursor_init(&c, buf + SB_TLS_HEADER_LEN, b.len - SB_TLS_HEADER_LEN);
		(void) sb_tls_get_u16(&c);
		SB_CHECK_MSG(sb_tls_hello_mode(&c) == expect[i], "case %d", i);
	}
	/* cut in the middle of the CN */
	sb_tls_cursor_init(&c, buf + SB_TLS_HEADER_LEN, 2 + 2 + 18 + 2 + 1);
	(void) sb_tls_get_u16(&c);
	SB_CHECK(sb_tls_hello_mode(&c) == SB_REPO_MODE_UNKNOWN);

	/*
	 * The features byte after the right: absent (an older server) is none,
	 * so the client reads from the start and drops what is before an offset
	 */
	for (int i = 0; i < 3; i++)
	{
		sb_tls_frame_begin(&b, buf, sizeof(buf), SB_TLS_HELLO_OK);
		sb_tls_put_u16(&b, SB_TLS_PROTO_VERSION);
		sb_tls_put_str(&b, "pg_safebackup test");
		sb_tls_put_str(&b, "pg1");
		if (i > 0)
			sb_tls_put_u8(&b, SB_TLS_RIGHT_ADMIN);
		if (i > 1)
			sb_tls_put_u8(&b, SB_TLS_FEATURE_READ_AT);
		sb_tls_cursor_init(&c, buf + SB_TLS_HEADER_LEN, b.len - SB_TLS_HEADER_LEN);
		(void) sb_tls_get_u16(&c);
		(void) sb_tls_hello_mode(&c);
		SB_CHECK_MSG(sb_tls_hello_features(&c) == (i > 1 ? SB_TLS_FEATURE_READ_AT : 0),
					 "features case %d", i);
	}
}

/*
 * READ_OPEN: a path, optionally followed by the u64 offset to read from;
 * anything else after the path is malformed.
 */
static void
test_read_open_offset(void)
{
	uint8_t		buf[256];
	SbTlsBuf	b;
	SbTlsRequest req;
	SbError		err;

	for (int i = 0; i < 3; i++)
	{
		SbStatus	rc;

		sb_tls_frame_begin(&b, buf, sizeof(buf), SB_TLS_READ_OPEN);
		sb_tls_put_str(&b, "main/backup/x");
		if (i == 1)
			sb_tls_put_u64(&b, UINT64_C(5000000000));
		if (i == 2)
			sb_tls_put_u8(&b, 1);	/* not a whole offset */
		rc = sb_tls_parse_request(SB_TLS_READ_OPEN, buf + SB_TLS_HEADER_LEN,
								  b.len - SB_TLS_HEADER_LEN, &req, &err);
		if (i < 2)
			SB_CHECK_MSG(rc == SB_OK && strcmp(req.path, "main/backup/x") == 0 &&
						 req.offset == (i == 1 ? UINT64_C(5000000000) : 0),
						 "READ_OPEN case %d: %s", i, rc == SB_OK ? "" : err.msg);
		else
			SB_CHECK_MSG(rc == SB_ERR_CORRUPT, "READ_OPEN with a stray byte: %s",
						 sb_status_name(rc));
	}
}

/* Read a whole repository file into buf (NUL-terminated); its length or -1. */
static long
repo_file(const char *rel, char *buf, size_t size)
{
	char		path[700];
	FILE	   *f;
	size_t		n;

	snprintf(path, sizeof(path), "%s/%s", repo, rel);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (long) n;
}

/*
 * Rights: pg1 has the append right on "main", pg2 the admin right on every
 * stanza.  pg1 creates, reads and lists, and discards its own unfinished
 * write; replacing a file, removing one and removing the stanza are each
 * refused with status "permission" naming the right, logged with CN, stanza
 * and path, and change nothing; expire through pg1 says the repository is
 * append-only.  The right travels in HELLO_OK (sb_storage_mode()).
 */
static void
test_rights(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbStorage  *adm = NULL;
	SbError		err;
	SbStatus	rc;
	SbWriter   *w;
	char		buf[64];
	int			before;

	SB_REQUIRE(reload_server("pg1 = main\npg2 = *:admin\n"));
	client_config(&cfg, "pg2");
	rc = try_open(&cfg, &adm, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK(sb_storage_mode(adm) == SB_REPO_MODE_ADMIN);
	(void) sb_storage_remove(adm, "main", true, &err);

	client_config(&cfg, "pg1");
	snprintf(cfg.stanza, sizeof(cfg.stanza), "main");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc != SB_OK)
		goto done;
	SB_CHECK_MSG(sb_storage_mode(st) == SB_REPO_MODE_APPEND, "mode %s",
				 sb_repo_mode_name(sb_storage_mode(st)));
	SB_CHECK(strcmp(sb_repo_mode_name(sb_storage_mode(st)), "append-only") == 0);

	/* creating new files (stanza.info included) and reading them: allowed */
	rc = sb_storage_mkdir(st, "main/wal", &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_put(st, "main/stanza.info", 0, "first", 5, &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_put(st, "main/wal/seg", 0, "committed", 9, &err);
	CHECK_RC(rc, SB_OK, err);
	/* without replace, an existing name stays "exists", as for anyone */
	rc = sb_storage_put(st, "main/wal/seg", 0, "other", 5, &err);
	CHECK_RC(rc, SB_ERR_EXISTS, err);
	before = count_entries(repo);

	/* replace: refused at WRITE_OPEN, naming the right */
	rc = sb_storage_put(st, "main/stanza.info", SB_WRITE_REPLACE, "evil", 4, &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	SB_CHECK_MSG(strstr(err.msg, "permission denied to replace \"main/stanza.info\"") != NULL &&
				 strstr(err.msg, "append right") != NULL, "message: %s", err.msg);
	SB_CHECK(log_contains("refused WRITE_OPEN (replace) \"main/stanza.info\""));
	SB_CHECK(log_contains("CN \"pg1\" has the append right on stanza \"main\""));

	/* remove of a file, and of the whole stanza: refused */
	rc = sb_storage_remove(st, "main/wal/seg", false, &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	SB_CHECK_MSG(strstr(err.msg, "permission denied to remove \"main/wal/seg\"") != NULL,
				 "message: %s", err.msg);
	SB_CHECK(log_contains("refused REMOVE \"main/wal/seg\""));
	rc = sb_storage_remove(st, "main", true, &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	SB_CHECK(log_contains("refused recursive REMOVE \"main\""));

	/* its own unfinished write: discarded, nothing left behind */
	rc = sb_storage_write_open(st, "main/wal/unfinished", 0, &w, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_write(st, w, "x", 1, &err);
		CHECK_RC(rc, SB_OK, err);
		sb_storage_write_abort(st, w);
	}
	/* the connection still serves (a refusal does not end it) */
	{
		char	   *data = NULL;
		size_t		dlen = 0;

		rc = sb_storage_get(st, "main/stanza.info", 100, &data, &dlen, &err);
		CHECK_RC(rc, SB_OK, err);
		SB_CHECK(rc == SB_OK && dlen == 5);
		free(data);
	}

	/* nothing changed: same entries, same contents */
	SB_CHECK_MSG(count_entries(repo) == before, "entries %d, before %d",
				 count_entries(repo), before);
	SB_CHECK(repo_file("main/stanza.info", buf, sizeof(buf)) == 5 &&
			 strcmp(buf, "first") == 0);
	SB_CHECK(repo_file("main/wal/seg", buf, sizeof(buf)) == 9 &&
			 strcmp(buf, "committed") == 0);

	/* expire needs the admin right: refused before anything is looked at */
	{
		SbExpireOptions o;
		SbExpireResult res;

		memset(&o, 0, sizeof(o));
		o.stanza = "main";
		o.retention_full = 1;
		rc = sb_expire(st, &o, &res, &err);
		CHECK_RC(rc, SB_ERR_PERMISSION, err);
		SB_CHECK_MSG(strstr(err.msg, "append-only") != NULL, "message: %s", err.msg);
		sb_expire_result_free(&res);
	}

	/* the admin identity may replace and remove */
	rc = sb_storage_put(adm, "main/stanza.info", SB_WRITE_REPLACE, "second", 6, &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_remove(adm, "main", true, &err);
	CHECK_RC(rc, SB_OK, err);

	/* a right the server does not know is a configuration error */
	{
		int			failed = log_count("reload failed");

		write_config("pg1 = main:owner\n");
		kill(server_pid, SIGHUP);
		SB_CHECK(log_wait("reload failed", failed));
		SB_CHECK(log_contains("invalid right \"owner\" for \"pg1\""));

		/* so is a retention that is not a count of full backups */
		failed = log_count("reload failed");
		write_config("pg1 = main\n[retention]\nmain = four\n");
		kill(server_pid, SIGHUP);
		SB_CHECK(log_wait("reload failed", failed));
		SB_CHECK(log_contains("invalid retention_full \"four\" for stanza \"main\""));
	}
	/* a stanza named in the rule takes its right over "*" */
	SB_CHECK(reload_server("pg1 = *:admin, main\n"));
	sb_storage_free(st);
	st = NULL;
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && sb_storage_mode(st) == SB_REPO_MODE_APPEND);

done:
	if (st)
		sb_storage_free(st);
	if (adm)
		sb_storage_free(adm);
	SB_CHECK(reload_server("pg1 = main:admin\npg2 = *:admin\n"));
}

int
main(int argc, char **argv)
{
	char		cmd[600];

	if (getenv("SB_TEST_CLI") != NULL)
		cli = getenv("SB_TEST_CLI");
	if (access(cli, X_OK) != 0 ||
		access("tests/tls/make-certs.sh", X_OK) != 0)
	{
		printf("test_tls: run from the source tree after building cli/pg_safebackup\n");
		return 1;
	}
	if (system("openssl version >/dev/null 2>&1") != 0)
	{
		printf("test_tls: the openssl command is missing\n");
		return 1;
	}
	strcpy(workdir, "/tmp/sb-tls-XXXXXX");
	if (mkdtemp(workdir) == NULL)
	{
		perror("mkdtemp");
		return 1;
	}
	snprintf(pki, sizeof(pki), "%s/pki", workdir);
	snprintf(repo, sizeof(repo), "%s/repo", workdir);
	snprintf(conf, sizeof(conf), "%s/server.conf", workdir);
	snprintf(logfile, sizeof(logfile), "%s/server.log", workdir);
	mkdir(repo, 0750);
	snprintf(cmd, sizeof(cmd), "tests/tls/make-certs.sh '%s'", pki);
	if (system(cmd) != 0)
	{
		printf("test_tls: could not make certificates\n");
		return 1;
	}
	port = free_port();
	write_config("pg1 = main:admin\npg2 = *:admin\n");
	if (!start_server())
	{
		printf("test_tls: could not start the server; log:\n");
		snprintf(cmd, sizeof(cmd), "cat '%s'", logfile);
		if (system(cmd) != 0)
			fprintf(stderr, "command failed: %s\n", cmd);
		return 1;
	}

	test_suite();
	test_many();
	test_refused();
	test_common_name();
	test_ciphers();
	test_flood();
	test_per_host();
	test_slow_handshake();
	test_max_connections();
	test_symlink();
	test_crafted();
	test_lifecycle();
	test_idle();
	test_server_config();
	test_hello_mode();
	test_read_open_offset();
	test_rights();

	/* a clean exit: 0, and under LeakSanitizer no leak (exit code 23) */
	{
		int			code = stop_server(SIGTERM);

		SB_CHECK_MSG(code == 0, "server exit code %d", code);
	}
	if (sb_test_failed > 0)
	{
		snprintf(cmd, sizeof(cmd), "tail -n 40 '%s'", logfile);
		if (system(cmd) != 0)
			fprintf(stderr, "command failed: %s\n", cmd);
	}
	if (getenv("SB_TLS_KEEP") == NULL)
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	else
		snprintf(cmd, sizeof(cmd), "true");
	if (system(cmd) != 0)
			fprintf(stderr, "command failed: %s\n", cmd);
	(void) argc;
	(void) argv;
	return sb_test_summary("test_tls");
}
