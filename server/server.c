/*-------------------------------------------------------------------------
 *
 * server.c
 *		The repository server's main process: listeners, accepting and
 *		forking one child per connection, and signals.
 *
 *	SIGHUP	re-read the configuration file, certificates and authorization
 *			map; new connections use them, open ones keep theirs.  A bad
 *			file is logged and the running configuration stays.  Listen
 *			addresses and port changes need a restart (logged).
 *	SIGTERM	stop accepting, let every connection finish its request and its
 *			open files, then exit 0.
 *	SIGINT	stop at once: connections are cut, files being written are
 *			discarded (never published); exit SRV_EXIT_INTERRUPTED (4).
 *
 * Children get SIGTERM if the main process dies (PR_SET_PDEATHSIG), so a
 * crashed server leaves no connection serving with a stale configuration.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_version.h"
#include "server.h"

static volatile sig_atomic_t got_hup = 0;
static volatile sig_atomic_t got_term = 0;
static volatile sig_atomic_t got_int = 0;
static int	wake_pipe[2] = {-1, -1};

static pid_t children[SRV_MAX_CHILDREN];
static int	nchildren = 0;

static void
on_signal(int sig)
{
	int			save_errno = errno;
	char		c = 0;

	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGTERM)
		got_term = 1;
	else if (sig == SIGINT)
		got_int = 1;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], &c, 1) < 0)
		c = 1;					/* pipe full: the main loop wakes up anyway */
	errno = save_errno;
}

static void
reap_children(void)
{
	pid_t		pid;
	int			status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
	{
		for (int i = 0; i < nchildren; i++)
			if (children[i] == pid)
			{
				children[i] = children[--nchildren];
				break;
			}
		if (WIFSIGNALED(status))
			srv_log(SRV_LOG_WARNING, "connection process %ld was terminated by signal %d",
					(long) pid, WTERMSIG(status));
	}
}

static void
signal_children(int sig)
{
	for (int i = 0; i < nchildren; i++)
		(void) kill(children[i], sig);
}

static void
format_peer(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char		host[INET6_ADDRSTRLEN] = "?";
	int			port = 0;

	if (ss->ss_family == AF_INET)
	{
		const struct sockaddr_in *a = (const struct sockaddr_in *) ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(buf, size, "%s:%d", host, port);
	}
	else if (ss->ss_family == AF_INET6)
	{
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) ss;

		port = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
		{
			/* an IPv4 client of a dual-stack "*" listener */
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, size, "%s:%d", host, port);
		}
		else
		{
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			snprintf(buf, size, "[%s]:%d", host, port);
		}
	}
	else
		snprintf(buf, size, "unknown");
}

/* Load a new configuration and TLS context; keep the old ones on error. */
static void
reload(SrvConfig **cfg, SSL_CTX **ctx)
{
	SrvConfig  *ncfg = malloc(sizeof(SrvConfig));
	SSL_CTX    *nctx;
	char		errbuf[1024];

	if (ncfg == NULL)
	{
		srv_log(SRV_LOG_ERROR, "reload failed: out of memory; keeping the current configuration");
		return;
	}
	if (!srv_config_load((*cfg)->file, ncfg, errbuf, sizeof(errbuf)) ||
		(nctx = srv_tls_ctx_new(ncfg, errbuf, sizeof(errbuf))) == NULL)
	{
		srv_log(SRV_LOG_ERROR, "reload failed: %s; keeping the current configuration", errbuf);
		free(ncfg);
		return;
	}
	if (!srv_log_open(ncfg, errbuf, sizeof(errbuf)))
	{
		srv_log(SRV_LOG_ERROR, "reload failed: %s; keeping the current configuration", errbuf);
		SSL_CTX_free(nctx);
		free(ncfg);
		return;
	}
	if (ncfg->port != (*cfg)->port || ncfg->nlisten != (*cfg)->nlisten ||
		memcmp(ncfg->listen, (*cfg)->listen, sizeof(ncfg->listen)) != 0)
		srv_log(SRV_LOG_WARNING, "listen addresses and port are not changed by a reload; restart the server to apply them");
	if (ncfg->port != (*cfg)->port)
		ncfg->port = (*cfg)->port;
	SSL_CTX_free(*ctx);
	free(*cfg);
	*cfg = ncfg;
	*ctx = nctx;
	srv_log(SRV_LOG_INFO, "configuration reloaded from \"%s\" (%d authorization rules)",
			ncfg->file, ncfg->nauth);
}

static void
accept_one(int lfd, SrvConfig *cfg, SSL_CTX *ctx, int *lfds, int nlfds)
{
	struct sockaddr_storage ss;
	socklen_t	slen = sizeof(ss);
	char		peer[INET6_ADDRSTRLEN + 16];
	int			fd;
	pid_t		pid;

	fd = accept4(lfd, (struct sockaddr *) &ss, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
	{
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			errno != ECONNABORTED)
			srv_log(SRV_LOG_WARNING, "could not accept connection: %s", strerror(errno));
		return;
	}
	format_peer(&ss, peer, sizeof(peer));
	if (nchildren >= cfg->max_connections || nchildren >= SRV_MAX_CHILDREN)
	{
		srv_log(SRV_LOG_WARNING, "rejected client %s: too many connections (max_connections = %d)",
				peer, cfg->max_connections);
		close(fd);
		return;
	}
	{
		int			one = 1;

		(void) setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */ , &one, sizeof(one));
		(void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}

	pid = fork();
	if (pid < 0)
	{
		srv_log(SRV_LOG_ERROR, "could not fork for client %s: %s", peer, strerror(errno));
		close(fd);
		return;
	}
	if (pid == 0)
	{
		for (int i = 0; i < nlfds; i++)
			close(lfds[i]);
		close(wake_pipe[0]);
		close(wake_pipe[1]);
		wake_pipe[0] = wake_pipe[1] = -1;
		(void) prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		srv_conn_run(cfg, ctx, fd, peer);
	}
	close(fd);
	children[nchildren++] = pid;
	srv_log(SRV_LOG_DEBUG, "connection from %s served by process %ld", peer, (long) pid);
}

int
srv_run(const char *config_file)
{
	SrvConfig  *cfg = malloc(sizeof(SrvConfig));
	SSL_CTX    *ctx;
	char		errbuf[1024];
	int			lfds[64];
	int			nlfds;
	struct sigaction sa;
	bool		stopping = false;

	if (cfg == NULL)
		return SRV_EXIT_ERROR;
	if (!srv_config_load(config_file, cfg, errbuf, sizeof(errbuf)))
	{
		fprintf(stderr, "pg_safebackup server: error: %s\n", errbuf);
		return SRV_EXIT_ERROR;
	}
	if (!srv_log_open(cfg, errbuf, sizeof(errbuf)))
	{
		fprintf(stderr, "pg_safebackup server: error: %s\n", errbuf);
		return SRV_EXIT_ERROR;
	}
	ctx = srv_tls_ctx_new(cfg, errbuf, sizeof(errbuf));
	if (ctx == NULL)
	{
		srv_log(SRV_LOG_ERROR, "%s", errbuf);
		return SRV_EXIT_ERROR;
	}
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
	{
		srv_log(SRV_LOG_ERROR, "could not create pipe: %s", strerror(errno));
		return SRV_EXIT_ERROR;
	}

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	nlfds = srv_listen(cfg, lfds, 64, errbuf, sizeof(errbuf));
	if (nlfds < 0)
	{
		srv_log(SRV_LOG_ERROR, "%s", errbuf);
		return SRV_EXIT_ERROR;
	}
	srv_log(SRV_LOG_INFO, "pg_safebackup %s repository server listening on port %d (%d socket%s), repository \"%s\"",
			SB_VERSION_STR, cfg->port, nlfds, nlfds == 1 ? "" : "s", cfg->repo_path);

	for (;;)
	{
		struct pollfd pfds[65];
		int			n = 0;

		reap_children();
		if (got_int)
		{
			time_t		deadline = time(NULL) + 5;

			srv_log(SRV_LOG_INFO, "interrupted (SIGINT): cutting %d connection%s",
					nchildren, nchildren == 1 ? "" : "s");
			signal_children(SIGINT);
			while (nchildren > 0 && time(NULL) < deadline)
			{
				usleep(20000);
				reap_children();
			}
			signal_children(SIGKILL);
			return SRV_EXIT_INTERRUPTED;
		}
		if (got_term && !stopping)
		{
			stopping = true;
			for (int i = 0; i < nlfds; i++)
				close(lfds[i]);
			nlfds = 0;
			srv_log(SRV_LOG_INFO, "stopping (SIGTERM): waiting for %d connection%s to finish",
					nchildren, nchildren == 1 ? "" : "s");
			signal_children(SIGTERM);
		}
		if (stopping && nchildren == 0)
		{
			srv_log(SRV_LOG_INFO, "stopped");
			return SRV_EXIT_OK;
		}
		if (got_hup)
		{
			got_hup = 0;
			if (!stopping)
				reload(&cfg, &ctx);
		}

		pfds[n].fd = wake_pipe[0];
		pfds[n].events = POLLIN;
		n++;
		for (int i = 0; i < nlfds; i++)
		{
			pfds[n].fd = lfds[i];
			pfds[n].events = POLLIN;
			n++;
		}
		if (poll(pfds, (nfds_t) n, 1000) <= 0)
			continue;
		if (pfds[0].revents)
		{
			char		buf[64];

			while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		for (int i = 1; i < n; i++)
			if (pfds[i].revents & POLLIN)
				accept_one(pfds[i].fd, cfg, ctx, lfds, nlfds);
	}
}
