/*-------------------------------------------------------------------------
 *
 * net.c
 *		TCP helpers shared by the network storage drivers; see net.h.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static SbStatus
net_wait(SbStorage *st, const SbNetPeer *peer, int fd, bool for_read,
		 bool for_write, SbError *err)
{
	int			timeout = st->cfg.io_timeout_ms > 0 ? st->cfg.io_timeout_ms : 60000;
	struct pollfd pfd;
	int			n;

	if (st->wait != NULL)
		return st->wait(fd, for_read, for_write, timeout, st->wait_arg, err);

	pfd.fd = fd;
	pfd.events = (short) ((for_read ? POLLIN : 0) | (for_write ? POLLOUT : 0));
	pfd.revents = 0;
	do
	{
		n = poll(&pfd, 1, timeout);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
	{
		sb_error_errno(err, errno, "could not wait for %s \"%s\"",
					   peer->kind, peer->host);
		err->status = SB_ERR_NETWORK;
		return SB_ERR_NETWORK;
	}
	if (n == 0)
	{
		sb_error_set(err, SB_ERR_NETWORK,
					 "timed out after %d ms waiting for %s \"%s\"",
					 timeout, peer->kind, peer->host);
		sb_error_hint(err, "Check that the server is reachable, or raise the I/O timeout.");
		return SB_ERR_NETWORK;
	}
	return SB_OK;
}

SbStatus
sb_net_wait(SbStorage *st, const SbNetPeer *peer, int fd, bool for_read,
			bool for_write, SbError *err)
{
	SbStatus	rc = net_wait(st, peer, fd, for_read, for_write, err);

	if (rc != SB_OK && peer->broken != NULL)
		*peer->broken = true;
	return rc;
}

/* "could not connect to <peer>: <why>", with the hint to check settings. */
static SbStatus
net_connect_error(const SbNetPeer *peer, const char *why, SbError *err)
{
	sb_error_set(err, SB_ERR_NETWORK, "could not connect to %s \"%s\" port %d: %s",
				 peer->kind, peer->host, peer->port, why);
	sb_error_hint(err, "Check %s and %s, and that %s is running and reachable from this machine.",
				  peer->host_setting, peer->port_setting, peer->service);
	return SB_ERR_NETWORK;
}

/* Connect fd to addr, waiting up to the I/O timeout; 0 or an errno value. */
static int
net_connect_one(SbStorage *st, const SbNetPeer *peer, int fd,
				const struct addrinfo *ai, SbError *werr, bool *wait_failed)
{
	int			soerr = 0;
	socklen_t	slen = sizeof(soerr);

	*wait_failed = false;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	if (sb_net_wait(st, peer, fd, false, true, werr) != SB_OK)
	{
		*wait_failed = true;
		return ETIMEDOUT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
		soerr = errno;
	return soerr;
}

SbStatus
sb_net_connect(SbStorage *st, const SbNetPeer *peer, int *sock, SbError *err)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char		portstr[16];
	int			gai;
	int			last_errno = ECONNREFUSED;

	*sock = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", peer->port);

	gai = getaddrinfo(peer->host, portstr, &hints, &res);
	if (gai != 0)
	{
		sb_error_set(err, SB_ERR_NETWORK,
					 "could not resolve host name \"%s\": %s",
					 peer->host, gai_strerror(gai));
		sb_error_hint(err, "Check %s.", peer->host_setting);
		return SB_ERR_NETWORK;
	}

	for (ai = res; ai != NULL; ai = ai->ai_next)
	{
		SbError		werr;
		bool		wait_failed;
		int			fd;
		int			one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
					ai->ai_protocol);
		if (fd < 0)
		{
			last_errno = errno;
			continue;
		}
		(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));

		last_errno = net_connect_one(st, peer, fd, ai, &werr, &wait_failed);
		if (last_errno == 0)
		{
			*sock = fd;
			break;
		}
		close(fd);
		if (wait_failed)
		{
			/* a timeout or an interrupt ends the attempt */
			freeaddrinfo(res);
			return net_connect_error(peer, werr.msg, err);
		}
	}
	freeaddrinfo(res);

	if (*sock < 0)
	{
		net_connect_error(peer, strerror(last_errno), err);
		err->sys_errno = last_errno;
		return SB_ERR_NETWORK;
	}
	return SB_OK;
}
