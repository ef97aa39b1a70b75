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
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "sb_config.h"
#include "sb_error.h"
#include "tls_settings.h"

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

/*
 * What a CN may do in a stanza (README "Append-only repositories"):
 * APPEND creates new files, reads and lists, and discards the temporary
 * files of its own unfinished writes; ADMIN may also replace and remove
 * committed files (expire, rekey).
 */
typedef enum SrvRight
{
	SRV_RIGHT_NONE = 0,
	SRV_RIGHT_APPEND,
	SRV_RIGHT_ADMIN
} SrvRight;

typedef struct SrvAuthRule
{
	char		cn[SRV_CN_MAX];
	SrvRight	all;			/* "*": right on every stanza not listed */
	int			nstanzas;
	char		stanzas[SRV_MAX_STANZAS][SB_NAME_MAX];
	SrvRight	rights[SRV_MAX_STANZAS];
} SrvAuthRule;

/* Server-side retention of one stanza ("*": every stanza not listed) */
typedef struct SrvRetention
{
	char		stanza[SB_NAME_MAX];
	int			retention_full;
} SrvRetention;

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
	int			retention_interval; /* seconds between timed expires; 0: none */
	int			retention_min_days; /* never expire backups younger than this */
	int			nretention;
	SrvRetention retention[SRV_MAX_STANZAS];
} SrvConfig;

/* config.c: read and check FILE; false with errbuf set on any error. */
extern bool srv_config_load(const char *file, SrvConfig *cfg, char *errbuf,
							size_t errlen);

/* auth.c */
extern const SrvAuthRule *srv_auth_find(const SrvConfig *cfg, const char *cn);
extern bool srv_auth_allows(const SrvAuthRule *rule, const char *stanza);
/* The right of rule on stanza; "" asks for the weakest right it holds. */
extern SrvRight srv_auth_right(const SrvAuthRule *rule, const char *stanza);
extern const char *srv_right_name(SrvRight right);
/* "append" or "admin" (case-sensitive); false for anything else. */
extern bool srv_right_parse(const char *word, SrvRight *right);
/*
 * May a client with this right carry out this request?  false with err set
 * (status permission, the message naming the right) when it may not.
 */
extern bool srv_auth_request_allowed(SrvRight right, uint8_t type,
									 uint8_t flags, const char *path,
									 SbError *err);

/* retention.c: server-side expire (retention_full per stanza) */
extern int	srv_retention_for(const SrvConfig *cfg, const char *stanza);
/* Is path the manifest of a backup, i.e. the commit that completes one? */
extern bool srv_retention_is_backup_commit(const char *path, char *stanza,
										   size_t size);
/* Run expire for stanza in a detached process (if it has a retention). */
extern void srv_retention_spawn(const SrvConfig *cfg, const char *stanza,
								const char *why);
/* Timer: spawn every configured stanza's expire when the interval passed. */
extern void srv_retention_tick(const SrvConfig *cfg);

/* log.c */
extern bool srv_log_open(const SrvConfig *cfg, char *errbuf, size_t errlen);
extern void srv_log_close(void);
extern int	srv_log_fd(void);
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

/* notify.c: systemd readiness notification (nothing without NOTIFY_SOCKET) */
extern void srv_notify_ready(const SrvConfig *cfg, int nsockets);
extern void srv_notify_reloading(void);
extern void srv_notify_reloaded(void);
extern void srv_notify_stopping(void);

#endif							/* SB_SERVER_H */
