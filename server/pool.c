/*-------------------------------------------------------------------------
 *
 * pool.c
 *		The main process's table of connection processes, in two pools:
 *
 *	handshaking		accepted, TLS handshake and HELLO not yet done.  At most
 *					max_handshakes, at most max_handshakes_per_host from one
 *					client address; each has handshake_timeout seconds.
 *	authenticated	HELLO accepted: at most max_connections.
 *
 * A connection joins the second pool only when the main process grants it
 * a slot, so whoever can reach the port but holds no certificate can never
 * take an authenticated client's slot.  When the handshake pool is full, the
 * oldest handshaking connection is dropped to make room for the new one
 * (it is the nearest to its timeout, and a real client's handshake takes
 * milliseconds); a client address over its own limit is refused instead.
 *
 * The grant travels over a socket pair per handshaking child: the child
 * sends SRV_CTL_ASK once it has authorized the client, the main process
 * answers SRV_CTL_GRANT or SRV_CTL_FULL and closes its end.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

typedef struct Child
{
	pid_t		pid;
	int			ctl;			/* main's end of the socket pair; -1: none */
	bool		authenticated;
	bool		dropped;		/* killed by us to make room or at timeout */
	double		started;		/* monotonic seconds */
	char		addr[SRV_ADDR_MAX];
} Child;

static Child children[SRV_MAX_CHILDREN];
static int	nchildren = 0;

/* a warning a flood could repeat: at most one line a second of each */
typedef struct FloodLimit
{
	double		last;
	int			suppressed;
} FloodLimit;

static FloodLimit limit_processes = {-1, 0};
static FloodLimit limit_per_host = {-1, 0};
static FloodLimit limit_full = {-1, 0};
static FloodLimit limit_expired = {-1, 0};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void flood_warning(FloodLimit *limit, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
static void
flood_warning(FloodLimit *limit, const char *fmt,...)
{
	char		msg[512];
	va_list		ap;
	double		t = now_s();

	if (limit->last >= 0 && t - limit->last < 1.0)
	{
		limit->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (limit->suppressed > 0)
		srv_log(SRV_LOG_WARNING, "%s (%d similar message%s suppressed)", msg,
				limit->suppressed, limit->suppressed == 1 ? "" : "s");
	else
		srv_log(SRV_LOG_WARNING, "%s", msg);
	limit->suppressed = 0;
	limit->last = t;
}

static int
count_handshaking(const char *addr)
{
	int			n = 0;

	for (int i = 0; i < nchildren; i++)
		if (!children[i].authenticated && !children[i].dropped &&
			(addr == NULL || strcmp(children[i].addr, addr) == 0))
			n++;
	return n;
}

static int
count_authenticated(void)
{
	int			n = 0;

	for (int i = 0; i < nchildren; i++)
		if (children[i].authenticated)
			n++;
	return n;
}

static void
drop(Child *ch)
{
	(void) kill(ch->pid, SIGKILL);
	ch->dropped = true;
	if (ch->ctl >= 0)
		close(ch->ctl);
	ch->ctl = -1;
}

bool
srv_pool_admit(const SrvConfig *cfg, const char *addr, const char *peer)
{
	if (nchildren >= SRV_MAX_CHILDREN)
	{
		flood_warning(&limit_processes, "rejected client %s: too many connection processes (%d)",
					  peer, SRV_MAX_CHILDREN);
		return false;
	}
	if (count_handshaking(addr) >= cfg->max_handshakes_per_host)
	{
		flood_warning(&limit_per_host, "rejected client %s: too many unauthenticated connections from %s (max_handshakes_per_host = %d)",
					  peer, addr, cfg->max_handshakes_per_host);
		return false;
	}
	if (count_handshaking(NULL) >= cfg->max_handshakes)
	{
		Child	   *oldest = NULL;

		for (int i = 0; i < nchildren; i++)
		{
			Child	   *ch = &children[i];

			if (!ch->authenticated && !ch->dropped &&
				(oldest == NULL || ch->started < oldest->started))
				oldest = ch;
		}
		if (oldest == NULL)
			return false;
		flood_warning(&limit_full, "dropped unauthenticated connection from %s after %.1f s to make room for %s (max_handshakes = %d)",
					  oldest->addr, now_s() - oldest->started, peer,
					  cfg->max_handshakes);
		drop(oldest);
	}
	return true;
}

void
srv_pool_add(pid_t pid, int ctl, const char *addr)
{
	Child	   *ch = &children[nchildren++];

	memset(ch, 0, sizeof(*ch));
	ch->pid = pid;
	ch->ctl = ctl;
	ch->started = now_s();
	snprintf(ch->addr, sizeof(ch->addr), "%s", addr);
}

void
srv_pool_reap(void)
{
	pid_t		pid;
	int			status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
	{
		for (int i = 0; i < nchildren; i++)
		{
			Child	   *ch = &children[i];

			if (ch->pid != pid)
				continue;
			if (WIFSIGNALED(status) && !ch->dropped)
				srv_log(SRV_LOG_WARNING, "connection process %ld was terminated by signal %d",
						(long) pid, WTERMSIG(status));
			if (ch->ctl >= 0)
				close(ch->ctl);
			*ch = children[--nchildren];
			break;
		}
	}
}

/*
 * The handshake deadline, enforced by the children themselves; this is the
 * backstop for one that is stuck (a little later, so that the child's own
 * message is the one logged).
 */
void
srv_pool_expire(const SrvConfig *cfg)
{
	double		t = now_s();

	for (int i = 0; i < nchildren; i++)
	{
		Child	   *ch = &children[i];

		if (!ch->authenticated && !ch->dropped &&
			t - ch->started > cfg->handshake_timeout + 5)
		{
			flood_warning(&limit_expired, "dropped unauthenticated connection from %s: no handshake after %.0f s",
						  ch->addr, t - ch->started);
			drop(ch);
		}
	}
}

int
srv_pool_pollfds(struct pollfd *pfds, int max)
{
	int			n = 0;

	for (int i = 0; i < nchildren && n < max; i++)
		if (children[i].ctl >= 0)
		{
			pfds[n].fd = children[i].ctl;
			pfds[n].events = POLLIN;
			pfds[n].revents = 0;
			n++;
		}
	return n;
}

/* A child asks for an authenticated slot (or its end closed). */
void
srv_pool_ctl(const SrvConfig *cfg, int fd)
{
	for (int i = 0; i < nchildren; i++)
	{
		Child	   *ch = &children[i];
		char		req = 0;
		char		reply;
		ssize_t		n;

		if (ch->ctl != fd)
			continue;
		n = recv(fd, &req, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 1 && req == SRV_CTL_ASK)
		{
			if (count_authenticated() < cfg->max_connections)
			{
				ch->authenticated = true;
				reply = SRV_CTL_GRANT;
			}
			else
				reply = SRV_CTL_FULL;
			if (send(fd, &reply, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1 &&
				ch->authenticated)
				ch->authenticated = false;	/* the child is gone: reaped soon */
		}
		close(fd);
		ch->ctl = -1;
		return;
	}
}

void
srv_pool_signal(int sig)
{
	for (int i = 0; i < nchildren; i++)
		(void) kill(children[i].pid, sig);
}

int
srv_pool_count(void)
{
	return nchildren;
}

/* In a new child: the other children's control sockets are not its own. */
void
srv_pool_close_in_child(void)
{
	for (int i = 0; i < nchildren; i++)
		if (children[i].ctl >= 0)
			close(children[i].ctl);
}
