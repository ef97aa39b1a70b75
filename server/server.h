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

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "sb_config.h"

/* Exit codes of "pg_safebackup server" (documented in README.md) */
#define SRV_EXIT_OK			0	/* stopped by SIGTERM after finishing requests */
#define SRV_EXIT_ERROR		1	/* could not start (bad configuration, bind) */
#define SRV_EXIT_USAGE		2	/* bad command line */
#define SRV_EXIT_INTERRUPTED 4	/* stopped by SIGINT: transfers were cut */

#define SRV_MAX_LISTEN		16
#define SRV_MAX_AUTH		256
#define SRV_MAX_STANZAS		32
#define SRV_MAX_CHILDREN	1024
#define SRV_CN_MAX			256

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
	int			io_timeout;		/* seconds for one frame, the handshake */
	int			max_connections;
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

/* conn.c: serve one accepted connection in a child process; never returns. */
extern void srv_conn_run(const SrvConfig *cfg, SSL_CTX *ctx, int fd,
						 const char *peer) __attribute__((noreturn));

/* server.c: run the server with the given configuration file. */
extern int	srv_run(const char *config_file);

#endif							/* SB_SERVER_H */
