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

/* "host:port" (or "[v6]:port") into buf, the host alone into addr */
static void
format_peer(const struct sockaddr_storage *ss, char *buf, size_t size,
			char *addr, size_t addrlen)
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
	snprintf(addr, addrlen, "%s", host);
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

/* Accept one connection; false when there was none left to accept. */
static bool
accept_one(int lfd, SrvConfig *cfg, SSL_CTX *ctx, int *lfds, int nlfds)
{
	struct sockaddr_storage ss;
	socklen_t	slen = sizeof(ss);
	char		peer[INET6_ADDRSTRLEN + 16];
	char		addr[SRV_ADDR_MAX];
	int			fd;
	int			ctl[2];
	pid_t		pid;
	int			one = 1;

	fd = accept4(lfd, (struct sockaddr *) &ss, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
	{
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			errno != ECONNABORTED)
			srv_log(SRV_LOG_WARNING, "could not accept connection: %s", strerror(errno));
		return false;
	}
	format_peer(&ss, peer, sizeof(peer), addr, sizeof(addr));
	if (!srv_pool_admit(cfg, addr, peer))
	{
		close(fd);
		return true;
	}
	(void) setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */ , &one, sizeof(one));
	(void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0)
	{
		srv_log(SRV_LOG_ERROR, "could not create socket pair for client %s: %s",
				peer, strerror(errno));
		close(fd);
		return true;
	}

	pid = fork();
	if (pid < 0)
	{
		srv_log(SRV_LOG_ERROR, "could not fork for client %s: %s", peer, strerror(errno));
		close(fd);
		close(ctl[0]);
		close(ctl[1]);
		return true;
	}
	if (pid == 0)
	{
		for (int i = 0; i < nlfds; i++)
			close(lfds[i]);
		close(wake_pipe[0]);
		close(wake_pipe[1]);
		wake_pipe[0] = wake_pipe[1] = -1;
		close(ctl[0]);
		srv_pool_close_in_child();
		(void) prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		srv_conn_run(cfg, ctx, fd, ctl[1], peer);
	}
	close(fd);
	close(ctl[1]);
	srv_pool_add(pid, ctl[0], addr);
	srv_log(SRV_LOG_DEBUG, "connection from %s served by process %ld", peer, (long) pid);
	return true;
}

/* The main loop, until SIGTERM (all connections done) or SIGINT. */
static int
serve(SrvConfig **cfg, SSL_CTX **ctx, int *lfds, int nlfds)
{
	bool		stopping = false;

	for (;;)
	{
		struct pollfd pfds[1 + SRV_MAX_LISTEN_FDS + SRV_MAX_CHILDREN];
		int			n = 0;
		int			nctl;

		srv_pool_reap();
		if (got_int)
		{
			time_t		deadline = time(NULL) + 5;

			srv_notify_stopping();
			srv_log(SRV_LOG_INFO, "interrupted (SIGINT): cutting %d connection%s",
					srv_pool_count(), srv_pool_count() == 1 ? "" : "s");
			srv_pool_signal(SIGINT);
			while (srv_pool_count() > 0 && time(NULL) < deadline)
			{
				usleep(20000);
				srv_pool_reap();
			}
			srv_pool_signal(SIGKILL);
			while (srv_pool_count() > 0 && waitpid(-1, NULL, 0) > 0)
				srv_pool_reap();
			return SRV_EXIT_INTERRUPTED;
		}
		if (got_term && !stopping)
		{
			stopping = true;
			srv_notify_stopping();
			for (int i = 0; i < nlfds; i++)
				close(lfds[i]);
			nlfds = 0;
			srv_log(SRV_LOG_INFO, "stopping (SIGTERM): waiting for %d connection%s to finish",
					srv_pool_count(), srv_pool_count() == 1 ? "" : "s");
			srv_pool_signal(SIGTERM);
		}
		if (stopping && srv_pool_count() == 0)
		{
			srv_log(SRV_LOG_INFO, "stopped");
			return SRV_EXIT_OK;
		}
		if (got_hup)
		{
			got_hup = 0;
			if (!stopping)
			{
				srv_notify_reloading();
				reload(cfg, ctx);
				srv_notify_reloaded();
			}
		}
		srv_pool_expire(*cfg);
		if (!stopping)
			srv_retention_tick(*cfg);

		pfds[n].fd = wake_pipe[0];
		pfds[n].events = POLLIN;
		n++;
		for (int i = 0; i < nlfds; i++)
		{
			pfds[n].fd = lfds[i];
			pfds[n].events = POLLIN;
			n++;
		}
		nctl = srv_pool_pollfds(pfds + n, SRV_MAX_CHILDREN);
		if (poll(pfds, (nfds_t) (n + nctl), 1000) <= 0)
			continue;
		if (pfds[0].revents)
		{
			char		buf[64];

			while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		/* grants first: accepting may drop a handshaking child */
		for (int i = n; i < n + nctl; i++)
			if (pfds[i].revents != 0)
				srv_pool_ctl(*cfg, pfds[i].fd);
		/* a burst of connections is taken in one go, not one per wake-up */
		for (int i = 1; i < n; i++)
			if (pfds[i].revents & POLLIN)
				for (int k = 0; k < 32; k++)
					if (!accept_one(pfds[i].fd, *cfg, *ctx, lfds, nlfds))
						break;
	}
}

int
srv_run(const char *config_file)
{
	SrvConfig  *cfg = malloc(sizeof(SrvConfig));
	SSL_CTX    *ctx = NULL;
	char		errbuf[1024];
	int			lfds[SRV_MAX_LISTEN_FDS];
	int			nlfds = 0;
	struct sigaction sa;
	int			rc = SRV_EXIT_ERROR;

	if (cfg == NULL)
	{
		fprintf(stderr, "pg_safebackup server: error: out of memory\n");
		return SRV_EXIT_ERROR;
	}
	if (!srv_config_load(config_file, cfg, errbuf, sizeof(errbuf)) ||
		!srv_log_open(cfg, errbuf, sizeof(errbuf)))
	{
		fprintf(stderr, "pg_safebackup server: error: %s\n", errbuf);
		goto done;
	}
	ctx = srv_tls_ctx_new(cfg, errbuf, sizeof(errbuf));
	if (ctx == NULL)
	{
		srv_log(SRV_LOG_ERROR, "%s", errbuf);
		goto done;
	}
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
	{
		srv_log(SRV_LOG_ERROR, "could not create pipe: %s", strerror(errno));
		goto done;
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

	nlfds = srv_listen(cfg, lfds, SRV_MAX_LISTEN_FDS, errbuf, sizeof(errbuf));
	if (nlfds < 0)
	{
		nlfds = 0;
		srv_log(SRV_LOG_ERROR, "%s", errbuf);
		goto done;
	}
	srv_log(SRV_LOG_INFO, "pg_safebackup %s repository server listening on port %d (%d socket%s), repository \"%s\"",
			SB_VERSION_STR, cfg->port, nlfds, nlfds == 1 ? "" : "s", cfg->repo_path);
	srv_notify_ready(cfg, nlfds);

	rc = serve(&cfg, &ctx, lfds, nlfds);
	nlfds = 0;					/* serve() closed them, or they close at exit */

done:
	/* everything is freed, so that leak checkers see a clean exit */
	for (int i = 0; i < nlfds; i++)
		close(lfds[i]);
	for (int i = 0; i < 2; i++)
		if (wake_pipe[i] >= 0)
			close(wake_pipe[i]);
	wake_pipe[0] = wake_pipe[1] = -1;
	SSL_CTX_free(ctx);
	free(cfg);
	srv_log_close();
	return rc;
}
