/*-------------------------------------------------------------------------
 *
 * listen.c
 *		Open the repository server's listening sockets.
 *
 * Each "listen" entry is a numeric address or host name (every address it
 * resolves to is bound), or "*": all interfaces, as one IPv6 socket that
 * also accepts IPv4 when the system allows it, else 0.0.0.0.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

static int
bind_one(const struct addrinfo *ai, bool dual, char *errbuf, size_t errlen,
		 const char *what, int port)
{
	int			fd;
	int			one = 1;
	int			zero = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);
	if (fd < 0)
	{
		snprintf(errbuf, errlen, "could not create socket for \"%s\": %s",
				 what, strerror(errno));
		return -1;
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one,
						  sizeof(int));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0)
	{
		snprintf(errbuf, errlen, "could not listen on \"%s\" port %d: %s",
				 what, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
srv_listen(const SrvConfig *cfg, int *fds, int maxfds, char *errbuf,
		   size_t errlen)
{
	int			n = 0;
	char		portstr[16];

	snprintf(portstr, sizeof(portstr), "%d", cfg->port);
	for (int i = 0; i < cfg->nlisten; i++)
	{
		struct addrinfo hints;
		struct addrinfo *res = NULL;
		const char *host = cfg->listen[i];
		bool		any = strcmp(host, "*") == 0;
		int			gai;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		hints.ai_family = any ? AF_INET6 : AF_UNSPEC;
		gai = getaddrinfo(any ? NULL : host, portstr, &hints, &res);
		if (gai != 0 && any)
		{
			hints.ai_family = AF_INET;
			gai = getaddrinfo(NULL, portstr, &hints, &res);
		}
		if (gai != 0)
		{
			snprintf(errbuf, errlen, "could not resolve listen address \"%s\": %s",
					 host, gai_strerror(gai));
			goto fail;
		}
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
		{
			int			fd;

			if (n == maxfds)
			{
				snprintf(errbuf, errlen, "too many listen addresses");
				freeaddrinfo(res);
				goto fail;
			}
			fd = bind_one(ai, any, errbuf, errlen, host, cfg->port);
			if (fd < 0 && any && ai->ai_family == AF_INET6)
			{
				/* no IPv6 here: fall back to IPv4 only */
				struct addrinfo *res4 = NULL;

				hints.ai_family = AF_INET;
				if (getaddrinfo(NULL, portstr, &hints, &res4) == 0)
				{
					fd = bind_one(res4, false, errbuf, errlen, host, cfg->port);
					freeaddrinfo(res4);
				}
			}
			if (fd < 0)
			{
				freeaddrinfo(res);
				goto fail;
			}
			fds[n++] = fd;
			if (any)
				break;
		}
		freeaddrinfo(res);
	}
	return n;

fail:
	while (n > 0)
		close(fds[--n]);
	return -1;
}
