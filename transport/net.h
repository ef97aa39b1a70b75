/*-------------------------------------------------------------------------
 *
 * net.h
 *		TCP helpers shared by the network storage drivers (SFTP, TLS):
 *		connecting with a timeout, and waiting on a socket.
 *
 * Sockets are non-blocking.  Every wait goes through st->wait when the
 * caller set one (the server module's is built on WaitLatchOrSocket(), so
 * a dead server never blocks shutdown), else poll(), with
 * st->cfg.io_timeout_ms (default 60 s) as the limit of each wait.
 * Messages name the peer as the driver describes it in an SbNetPeer.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_NET_H
#define SB_NET_H

#include "storage.h"

/*
 * The server a driver talks to, as its messages name it, and the driver's
 * flag of a broken connection.  A driver keeps one in its private state.
 */
typedef struct SbNetPeer
{
	const char *kind;			/* "SFTP server", "repository server" */
	const char *host;
	int			port;
	const char *host_setting;	/* "safebackup.sftp_host" */
	const char *port_setting;	/* "safebackup.sftp_port" */
	const char *service;		/* what must run there: "the SSH server" */
	bool	   *broken;			/* set when a wait fails; may be NULL */
} SbNetPeer;

/*
 * Wait until fd is ready in the given directions.  On failure err says
 * why (SB_ERR_NETWORK for a timeout or a failed poll(), else st->wait's)
 * and *peer->broken is set.
 */
extern SbStatus sb_net_wait(SbStorage *st, const SbNetPeer *peer, int fd,
							bool for_read, bool for_write, SbError *err);

/*
 * Open a non-blocking TCP connection (TCP_NODELAY, SO_KEEPALIVE,
 * close-on-exec) to peer->host port peer->port, trying every address the
 * name resolves to, each within the I/O timeout.  Returns SB_OK and *sock,
 * or SB_ERR_NETWORK with err set.
 */
extern SbStatus sb_net_connect(SbStorage *st, const SbNetPeer *peer,
							   int *sock, SbError *err);

#endif							/* SB_NET_H */
