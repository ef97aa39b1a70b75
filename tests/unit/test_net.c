/*-------------------------------------------------------------------------
 *
 * test_net.c
 *		Unit tests of the helpers the network drivers share: the secret
 *		file check (core/secret_file.h) and TCP connect and wait
 *		(transport/net.h), on loopback, with their messages.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "net.h"
#include "sb_test.h"
#include "secret_file.h"
#include "test_files.h"

SB_TEST_DEFINE_COUNTERS;

static char workdir[256];

/* ---------------------------------------------------------------- */

static void
test_secret_file(void)
{
	char		path[300];
	char		other[300];
	char		expect[700];
	SbError		err;
	int			fd;

	snprintf(path, sizeof(path), "%s/key", workdir);
	sb_test_write_file(path, "secret\n", 7);

	SB_REQUIRE(chmod(path, 0600) == 0);
	SB_CHECK(sb_secret_file_check(path, -1, "test file", SB_ERR_CONFIG, &err) == SB_OK);
	SB_REQUIRE(chmod(path, 0400) == 0);
	SB_CHECK(sb_secret_file_check(path, -1, "test file", SB_ERR_CONFIG, &err) == SB_OK);

	/* group or world access: the caller's status, the mode in the detail */
	SB_REQUIRE(chmod(path, 0640) == 0);
	SB_CHECK(sb_secret_file_check(path, -1, "test file", SB_ERR_PERMISSION, &err) == SB_ERR_PERMISSION);
	SB_CHECK(err.status == SB_ERR_PERMISSION);
	snprintf(expect, sizeof(expect), "test file \"%s\" has group or world access", path);
	SB_CHECK_MSG(strcmp(err.msg, expect) == 0, "%s", err.msg);
	SB_CHECK_MSG(strcmp(err.detail, "Its permissions are 0640.") == 0, "%s", err.detail);
	SB_CHECK_MSG(strstr(err.hint, "chmod 600") != NULL, "%s", err.hint);
	SB_REQUIRE(chmod(path, 0604) == 0);
	SB_CHECK(sb_secret_file_check(path, -1, "test file", SB_ERR_CONFIG, &err) == SB_ERR_CONFIG);
	SB_CHECK(strstr(err.msg, "has group or world access") != NULL);

	/* a directory */
	SB_CHECK(sb_secret_file_check(workdir, -1, "test file", SB_ERR_PERMISSION, &err) == SB_ERR_CONFIG);
	snprintf(expect, sizeof(expect), "test file \"%s\" is not a regular file", workdir);
	SB_CHECK_MSG(strcmp(err.msg, expect) == 0, "%s", err.msg);

	/* a missing file */
	snprintf(other, sizeof(other), "%s/no-such-key", workdir);
	SB_CHECK(sb_secret_file_check(other, -1, "test file", SB_ERR_PERMISSION, &err) == SB_ERR_CONFIG);
	snprintf(expect, sizeof(expect), "could not access test file \"%s\": %s", other, strerror(ENOENT));
	SB_CHECK_MSG(strcmp(err.msg, expect) == 0, "%s", err.msg);
	SB_CHECK(err.sys_errno == ENOENT);

	/* with an fd, the open file is checked, not what the name became */
	SB_REQUIRE(chmod(path, 0600) == 0);
	fd = open(path, O_RDONLY);
	SB_REQUIRE(fd >= 0);
	snprintf(other, sizeof(other), "%s/loose", workdir);
	sb_test_write_file(other, "x", 1);
	SB_REQUIRE(chmod(other, 0644) == 0);
	SB_REQUIRE(rename(other, path) == 0);
	SB_CHECK(sb_secret_file_check(path, fd, "test file", SB_ERR_CONFIG, &err) == SB_OK);
	SB_CHECK(sb_secret_file_check(path, -1, "test file", SB_ERR_CONFIG, &err) == SB_ERR_CONFIG);
	close(fd);

	/* someone else's file (only checkable as root) */
	if (geteuid() == 0)
	{
		SB_REQUIRE(chmod(path, 0600) == 0);
		SB_REQUIRE(chown(path, 1, 1) == 0);
		SB_CHECK(sb_secret_file_check(path, -1, "test file", SB_ERR_PERMISSION, &err) == SB_ERR_PERMISSION);
		snprintf(expect, sizeof(expect), "test file \"%s\" is not owned by the current user", path);
		SB_CHECK_MSG(strcmp(err.msg, expect) == 0, "%s", err.msg);
		SB_CHECK_MSG(strcmp(err.detail, "The file is owned by user ID 1, this process runs as user ID 0.") == 0,
					 "%s", err.detail);
		SB_CHECK(err.hint[0] != '\0');
	}
	else
		printf("note: not running as root, skipping the file owner case\n");
}

/* ---------------------------------------------------------------- */

static bool broken;

static void
init_peer(SbNetPeer *peer, int port)
{
	memset(peer, 0, sizeof(*peer));
	peer->kind = "test server";
	peer->host = "127.0.0.1";
	peer->port = port;
	peer->host_setting = "test.host";
	peer->port_setting = "test.port";
	peer->service = "the test daemon";
	peer->broken = &broken;
}

static void
init_storage(SbStorage *st, int io_timeout_ms)
{
	memset(st, 0, sizeof(*st));
	st->cfg.io_timeout_ms = io_timeout_ms;
}

/* A loopback listener on a free port; returns the socket, sets *port. */
static int
listen_loopback(int *port)
{
	struct sockaddr_in addr;
	socklen_t	len = sizeof(addr);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
		listen(fd, 4) != 0 ||
		getsockname(fd, (struct sockaddr *) &addr, &len) != 0)
	{
		perror("listen_loopback");
		exit(2);
	}
	*port = ntohs(addr.sin_port);
	return fd;
}

static long
ms_since(const struct timeval *t0)
{
	struct timeval t1;

	gettimeofday(&t1, NULL);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_usec - t0->tv_usec) / 1000L;
}

/* A caller's wait function that refuses, and what it was asked. */
static int	fake_calls;
static int	fake_fd;
static bool fake_rd;
static bool fake_wr;
static int	fake_timeout;

static SbStatus
fake_wait(int fd, bool for_read, bool for_write, int timeout_ms, void *arg,
		  SbError *err)
{
	fake_calls++;
	fake_fd = fd;
	fake_rd = for_read;
	fake_wr = for_write;
	fake_timeout = timeout_ms;
	return sb_error_set(err, *(SbStatus *) arg, "canceled by the test");
}

static void
test_connect_and_wait(void)
{
	SbStorage	st;
	SbNetPeer	peer;
	SbError		err;
	SbStatus	fake_status = SB_ERR_INTERNAL;
	struct timeval t0;
	char		expect[300];
	int			port;
	int			lsock = listen_loopback(&port);
	int			sock = -1;
	int			conn;
	int			opt = 0;
	socklen_t	optlen = sizeof(opt);
	long		ms;

	init_storage(&st, 200);
	init_peer(&peer, port);

	/* connect: a non-blocking, close-on-exec socket with TCP_NODELAY */
	broken = false;
	SB_REQUIRE(sb_net_connect(&st, &peer, &sock, &err) == SB_OK);
	SB_REQUIRE(sock >= 0);
	SB_CHECK((fcntl(sock, F_GETFL) & O_NONBLOCK) != 0);
	SB_CHECK((fcntl(sock, F_GETFD) & FD_CLOEXEC) != 0);
	SB_CHECK(getsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &opt, &optlen) == 0 && opt != 0);
	optlen = sizeof(opt);
	SB_CHECK(getsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &opt, &optlen) == 0 && opt != 0);
	conn = accept(lsock, NULL, NULL);
	SB_REQUIRE(conn >= 0);

	/* writable at once; not readable before the peer sends */
	SB_CHECK(sb_net_wait(&st, &peer, sock, false, true, &err) == SB_OK);
	SB_CHECK(!broken);
	gettimeofday(&t0, NULL);
	SB_CHECK(sb_net_wait(&st, &peer, sock, true, false, &err) == SB_ERR_NETWORK);
	ms = ms_since(&t0);
	SB_CHECK_MSG(ms >= 150 && ms < 5000, "waited %ld ms", ms);
	SB_CHECK(err.status == SB_ERR_NETWORK);
	SB_CHECK_MSG(strcmp(err.msg, "timed out after 200 ms waiting for test server \"127.0.0.1\"") == 0,
				 "%s", err.msg);
	SB_CHECK(strstr(err.hint, "I/O timeout") != NULL);
	SB_CHECK(broken);

	/* readable once it did */
	broken = false;
	SB_REQUIRE(write(conn, "x", 1) == 1);
	SB_CHECK(sb_net_wait(&st, &peer, sock, true, false, &err) == SB_OK);
	SB_CHECK(!broken);

	/* the caller's wait function is used, with the timeout; its error stays */
	st.wait = fake_wait;
	st.wait_arg = &fake_status;
	SB_CHECK(sb_net_wait(&st, &peer, sock, true, true, &err) == SB_ERR_INTERNAL);
	SB_CHECK(fake_calls == 1 && fake_fd == sock && fake_rd && fake_wr && fake_timeout == 200);
	SB_CHECK(strcmp(err.msg, "canceled by the test") == 0 && err.status == SB_ERR_INTERNAL);
	SB_CHECK(broken);

	/* no timeout set: 60 s */
	init_storage(&st, 0);
	st.wait = fake_wait;
	st.wait_arg = &fake_status;
	(void) sb_net_wait(&st, &peer, sock, true, false, &err);
	SB_CHECK(fake_timeout == 60000 && fake_rd && !fake_wr);

	/*
	 * A failed wait while connecting ends the attempt with its reason
	 * (only when connect() did not complete at once).
	 */
	fake_status = SB_ERR_NETWORK;
	fake_calls = 0;
	sock = -1;
	if (sb_net_connect(&st, &peer, &sock, &err) == SB_OK)
	{
		SB_CHECK(fake_calls == 0);
		close(sock);
	}
	else
	{
		snprintf(expect, sizeof(expect),
				 "could not connect to test server \"127.0.0.1\" port %d: canceled by the test", port);
		SB_CHECK(fake_calls == 1 && !fake_rd && fake_wr);
		SB_CHECK_MSG(strcmp(err.msg, expect) == 0, "%s", err.msg);
		SB_CHECK(err.status == SB_ERR_NETWORK && sock == -1);
	}
	close(conn);
	close(sock);

	/* nothing listening any more: refused, with the settings to check */
	close(lsock);
	init_storage(&st, 1000);
	sock = 12345;
	SB_CHECK(sb_net_connect(&st, &peer, &sock, &err) == SB_ERR_NETWORK);
	SB_CHECK(sock == -1);
	snprintf(expect, sizeof(expect), "could not connect to test server \"127.0.0.1\" port %d: %s",
			 port, strerror(ECONNREFUSED));
	SB_CHECK_MSG(strcmp(err.msg, expect) == 0, "%s", err.msg);
	SB_CHECK(err.sys_errno == ECONNREFUSED);
	SB_CHECK_MSG(strcmp(err.hint, "Check test.host and test.port, and that the test daemon is running and reachable from this machine.") == 0,
				 "%s", err.hint);

}

int
main(void)
{
	snprintf(workdir, sizeof(workdir), "/tmp/sb_test_net.XXXXXX");
	if (mkdtemp(workdir) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	test_secret_file();
	test_connect_and_wait();
	sb_test_rm_tree(workdir);
	return sb_test_summary("test_net");
}
