/*-------------------------------------------------------------------------
 *
 * server.h
 *		The pg_safebackup repository server ("pg_safebackup server"): its
 *		configuration, authorization map, logging, TLS context, listeners and
 *		per-connection request handling.
 *
 * One process listens; each accepted connection is served by a forked
 * child, so a connection's memory is bounded (two frame buffers and its
 * open files) and a crash in one cannot affect the others.  File operations
 * go through the posix storage driver rooted at the repository root, which
 * provides the durability rules (temporary name, fsync, link/rename,
 * directory fsync).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SERVER_H
#define SB_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "sb_config.h"

/* Exit codes of "pg_safebackup server" (documented in README.md) */
#define SRV_EXIT_OK			0	/* stopped by SIGTERM after finishing requests */
#define SRV_EXIT_ERROR		1	/* could not start (bad configuration, bind) */
#define SRV_EXIT_USAGE		2	/* bad command line */
#define SRV_EXIT_INTERRUPTED 4	/* stopped by SIGINT: transfers were cut */

#define SRV_MAX_LISTEN		16
#define SRV_MAX_LISTEN_FDS	64	/* sockets: an address may resolve to several */
#define SRV_MAX_AUTH		256
#define SRV_MAX_STANZAS		32
#define SRV_MAX_CONNECTIONS	1024
#define SRV_MAX_CHILDREN	2048	/* both pools, and dropped ones not yet reaped */
#define SRV_CN_MAX			256
#define SRV_ADDR_MAX		64	/* a client address, without the port */
#define SRV_MAX_HANDSHAKES	512

/* control messages between a handshaking child and the main process */
#define SRV_CTL_ASK			'A'	/* child: client authorized, may I serve it? */
#define SRV_CTL_GRANT		'G'	/* main: yes, you hold a max_connections slot */
#define SRV_CTL_FULL		'F'	/* main: no, max_connections are in use */

typedef enum SrvLogLevel
{
	SRV_LOG_ERROR = 0,
	SRV_LOG_WARNING,
	SRV_LOG_INFO,
	SRV_LOG_DEBUG
} SrvLogLevel;

typedef struct SrvAuthRule
{
	char		cn[SRV_CN_MAX];
	bool		all;			/* "*": every stanza */
	int			nstanzas;
	char		stanzas[SRV_MAX_STANZAS][SB_NAME_MAX];
} SrvAuthRule;

typedef struct SrvConfig
{
	char		file[SB_PATH_MAX];	/* the configuration file */
	int			nlisten;
	char		listen[SRV_MAX_LISTEN][256];	/* addresses, or "*" */
	int			port;
	char		repo_path[SB_PATH_MAX];
	char		cert_file[SB_PATH_MAX];
	char		key_file[SB_PATH_MAX];
	char		ca_file[SB_PATH_MAX];
	SrvLogLevel log_level;
	char		log_file[SB_PATH_MAX];	/* "" or "stderr": standard error */
	int			idle_timeout;	/* seconds without a request */
	int			io_timeout;		/* seconds for one frame */
	int			handshake_timeout;	/* seconds for the TLS handshake + HELLO */
	int			max_connections;	/* authenticated connections */
	int			max_handshakes;	/* connections not yet authenticated */
	int			max_handshakes_per_host;	/* ... from one client address */
	int			nauth;
	SrvAuthRule auth[SRV_MAX_AUTH];
} SrvConfig;

/* config.c: read and check FILE; false with errbuf set on any error. */
extern bool srv_config_load(const char *file, SrvConfig *cfg, char *errbuf,
							size_t errlen);

/* auth.c */
extern const SrvAuthRule *srv_auth_find(const SrvConfig *cfg, const char *cn);
extern bool srv_auth_allows(const SrvAuthRule *rule, const char *stanza);

/* log.c */
extern bool srv_log_open(const SrvConfig *cfg, char *errbuf, size_t errlen);
extern void srv_log_close(void);
extern void srv_log(SrvLogLevel level, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* tls_ctx.c */
extern SSL_CTX *srv_tls_ctx_new(const SrvConfig *cfg, char *errbuf,
								size_t errlen);
/* Why the last handshake's certificate check failed, and whose ("" if not). */
extern const char *srv_tls_verify_failure(void);
extern const char *srv_tls_verify_subject(void);
extern void srv_tls_errstr(char *buf, size_t size);

/* peer_cn.c: the client's common name; false with why set if unusable. */
extern bool srv_peer_cn(X509 *cert, char *cn, size_t size, char *why,
						size_t whylen);

/* listen.c: bind every address; returns the count, or -1 with errbuf set. */
extern int	srv_listen(const SrvConfig *cfg, int *fds, int maxfds,
					   char *errbuf, size_t errlen);

/*
 * conn.c: serve one accepted connection in a child process; ctl is its end
 * of the control socket pair (pool.c).  Never returns.
 */
extern void srv_conn_run(const SrvConfig *cfg, SSL_CTX *ctx, int fd, int ctl,
						 const char *peer) __attribute__((noreturn));

/* pool.c: the main process's table of connection processes */
extern bool srv_pool_admit(const SrvConfig *cfg, const char *addr,
						   const char *peer);
extern void srv_pool_add(pid_t pid, int ctl, const char *addr);
extern void srv_pool_reap(void);
extern void srv_pool_expire(const SrvConfig *cfg);
extern int	srv_pool_pollfds(struct pollfd *pfds, int max);
extern void srv_pool_ctl(const SrvConfig *cfg, int fd);
extern void srv_pool_signal(int sig);
extern int	srv_pool_count(void);
extern void srv_pool_close_in_child(void);

/* server.c: run the server with the given configuration file. */
extern int	srv_run(const char *config_file);

#endif							/* SB_SERVER_H */
