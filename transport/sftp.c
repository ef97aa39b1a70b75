/*-------------------------------------------------------------------------
 *
 * sftp.c
 *		Storage driver for a repository on an SFTP server, over libssh2; see
 *		core/storage.h for the contract.
 *
 * The driver is meant for a dedicated account confined by the server to
 * "ForceCommand internal-sftp", usually in a chroot: it uses only the SFTP
 * subsystem (no exec, no shell, no forwarding), authenticates with a public
 * key only, and verifies the server's host key (sftp_hostkey.c) before
 * authenticating, without trust on first use.  cfg.repo_path is the
 * repository root as the account sees it (for example /upload).
 *
 * The socket and the libssh2 session are non-blocking.  Every wait goes
 * through st->wait when the caller set one (the server module's is built on
 * WaitLatchOrSocket(), so a dead server never blocks shutdown), else
 * poll(), with cfg.io_timeout_ms as the limit of each wait.
 *
 * Writes go to "<final>.tmp.<pid>.<counter>" (hidden by list(), like the
 * posix driver), opened with CREAT|EXCL, mode 0640.  Data is buffered and
 * handed to libssh2_sftp_write() in large pieces, which keeps several write
 * requests in flight.  Commit flushes the file with fsync@openssh.com when
 * the server offers it, closes it and publishes it:
 *
 *	- without SB_WRITE_REPLACE, with a plain SFTP rename: OpenSSH's server
 *	  implements it with link() + unlink(), so it fails when the final name
 *	  exists, and we report SB_ERR_EXISTS after checking that it does;
 *	- with SB_WRITE_REPLACE, libssh2 1.10 cannot send posix-rename@openssh.com
 *	  (the rename flags are sent only to SFTP version 5 servers, OpenSSH
 *	  speaks version 3), so the existing file is removed and the temporary
 *	  file renamed.  This is NOT atomic: a crash between the two steps leaves
 *	  the final name absent (the new content is complete under its temporary
 *	  name).  Callers replace only metadata they can rewrite.
 *
 * SFTP has no way to flush a directory, so the durability of the rename
 * itself is up to the server's file system.
 *
 * A transport failure (timeout, connection lost) marks the connection
 * broken: the next operation (or open()) reconnects.  stat(), mkdir() and
 * read_open() are retried once after reconnecting; writes never are.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "sftp_hostkey.h"

/* Room for root + "/" + relative path + temporary suffix. */
#define SFTP_PATH_LEN		(2 * SB_PATH_MAX + 64)

#define SFTP_FILE_MODE		0640
#define SFTP_DIR_MODE		0750

/* Data buffered by a writer before it is sent; large enough to pipeline. */
#define SFTP_WRITE_BUF		(2 * 1024 * 1024)

/* Returned by the helpers below when waiting failed (err is set). */
#define SFTP_WAIT_FAILED	(-10000)

/* Tries before giving up on finding an unused temporary name. */
#define SFTP_TMP_TRIES		10

/* Seconds between keepalive messages on an idle connection. */
#define SFTP_KEEPALIVE_SECS	30

/* Temporary files left by a lost connection, removed after reconnecting. */
#define SFTP_MAX_ORPHANS	16

/* Largest passphrase file we read. */
#define SFTP_PASSPHRASE_MAX	1024

#define SFTP_HOSTKEY_PREF \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"rsa-sha2-512,rsa-sha2-256"
#define SFTP_HOSTKEY_PREF_OLD \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521"

typedef struct SftpStorage
{
	int			sock;
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;
	bool		opened;			/* open() succeeded, close() not called */
	bool		connected;		/* session and SFTP channel up */
	bool		broken;			/* transport failed: reconnect before use */
	bool		no_fsync;		/* server refused fsync@openssh.com */
	unsigned long generation;	/* bumped at every (re)connection */
	int			norphans;
	char	   *orphans[SFTP_MAX_ORPHANS];	/* temporary files to remove */
	int			nhandles;
	int			maxhandles;
	LIBSSH2_SFTP_HANDLE ***handles; /* owners' handle fields, to drop them */
	char		root[SB_PATH_MAX];	/* repo_path without trailing '/' */
} SftpStorage;

struct SbWriter
{
	SbStorage  *st;
	LIBSSH2_SFTP_HANDLE *h;
	unsigned long generation;
	int			flags;
	char	   *buf;
	size_t		used;
	char		relpath[SB_PATH_MAX];
	char		final_path[SFTP_PATH_LEN];
	char		tmp_path[SFTP_PATH_LEN];
};

struct SbReader
{
	SbStorage  *st;
	LIBSSH2_SFTP_HANDLE *h;
	unsigned long generation;
	char		path[SFTP_PATH_LEN];
};

static unsigned long sftp_tmp_counter = 0;
static bool sftp_lib_initialized = false;

static SbStatus sftp_open(SbStorage *st, SbError *err);
static void sftp_close(SbStorage *st);
static SbStatus sftp_write_open(SbStorage *st, const char *path, int flags,
								SbWriter **w, SbError *err);
static SbStatus sftp_write(SbWriter *w, const void *buf, size_t len,
						   SbError *err);
static SbStatus sftp_write_commit(SbWriter *w, SbError *err);
static void sftp_write_abort(SbWriter *w);
static SbStatus sftp_read_open(SbStorage *st, const char *path,
							   SbReader **r, SbError *err);
static SbStatus sftp_read(SbReader *r, void *buf, size_t len, size_t *nread,
						  SbError *err);
static void sftp_read_close(SbReader *r);
static SbStatus sftp_stat(SbStorage *st, const char *path, SbStat *out,
						  SbError *err);
static SbStatus sftp_list(SbStorage *st, const char *path, SbListFn fn,
						  void *arg, SbError *err);
static SbStatus sftp_remove(SbStorage *st, const char *path, bool recursive,
							SbError *err);
static SbStatus sftp_mkdir(SbStorage *st, const char *path, SbError *err);
static void sftp_destroy(SbStorage *st);

static int	sftp_do_unlink(SbStorage *st, const char *path, SbError *err);
static void sftp_drop_handles(SbStorage *st);
static SbStatus sftp_track(SbStorage *st, LIBSSH2_SFTP_HANDLE **slot,
						   SbError *err);
static SbStatus sftp_error(SbStorage *st, int rc, SbError *err,
						   const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

const SbStorageOps sb_sftp_ops = {
	.name = "sftp",
	.open = sftp_open,
	.close = sftp_close,
	.write_open = sftp_write_open,
	.write = sftp_write,
	.write_commit = sftp_write_commit,
	.write_abort = sftp_write_abort,
	.read_open = sftp_read_open,
	.read = sftp_read,
	.read_close = sftp_read_close,
	.stat = sftp_stat,
	.list = sftp_list,
	.remove = sftp_remove,
	.mkdir = sftp_mkdir,
	.destroy = sftp_destroy
};


/* ---------------------------------------------------------------------
 * Waiting and errors
 * ---------------------------------------------------------------------
 */

static int
sftp_timeout_ms(SbStorage *st)
{
	return st->cfg.io_timeout_ms > 0 ? st->cfg.io_timeout_ms : 60000;
}

/*
 * Wait until fd is ready in the given directions, through st->wait when
 * set, else poll().  On failure the connection is marked broken.
 */
static SbStatus
sftp_wait_fd(SbStorage *st, int fd, bool for_read, bool for_write,
			 SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			timeout = sftp_timeout_ms(st);
	struct pollfd pfd;
	int			n;

	if (st->wait != NULL)
	{
		SbStatus	rc;

		rc = st->wait(fd, for_read, for_write, timeout, st->wait_arg, err);
		if (rc != SB_OK)
			ss->broken = true;
		return rc;
	}

	pfd.fd = fd;
	pfd.events = (short) ((for_read ? POLLIN : 0) | (for_write ? POLLOUT : 0));
	pfd.revents = 0;
	do
	{
		n = poll(&pfd, 1, timeout);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
	{
		ss->broken = true;
		sb_error_errno(err, errno, "could not wait for SFTP server \"%s\"",
					   st->cfg.sftp_host);
		err->status = SB_ERR_NETWORK;
		return SB_ERR_NETWORK;
	}
	if (n == 0)
	{
		ss->broken = true;
		sb_error_set(err, SB_ERR_NETWORK,
					 "timed out after %d ms waiting for SFTP server \"%s\"",
					 timeout, st->cfg.sftp_host);
		sb_error_hint(err, "Check that the server is reachable, or raise the I/O timeout.");
		return SB_ERR_NETWORK;
	}
	return SB_OK;
}

/* Wait for the directions libssh2 is blocked on. */
static SbStatus
sftp_wait(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			dir = libssh2_session_block_directions(ss->session);
	bool		rd = (dir & LIBSSH2_SESSION_BLOCK_INBOUND) != 0;
	bool		wr = (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;

	if (!rd && !wr)
		rd = true;
	return sftp_wait_fd(st, ss->sock, rd, wr, err);
}

/* English text of an SFTP status code, and the storage status it maps to. */
static SbStatus
sftp_status_map(unsigned long code, const char **text, int *errnum)
{
	*errnum = 0;
	switch (code)
	{
		case LIBSSH2_FX_NO_SUCH_FILE:
		case LIBSSH2_FX_NO_SUCH_PATH:
			*text = "No such file or directory";
			*errnum = ENOENT;
			return SB_ERR_NOT_FOUND;
		case LIBSSH2_FX_PERMISSION_DENIED:
		case LIBSSH2_FX_WRITE_PROTECT:
			*text = "Permission denied";
			*errnum = EACCES;
			return SB_ERR_PERMISSION;
		case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
		case LIBSSH2_FX_QUOTA_EXCEEDED:
			*text = "No space left on device";
			*errnum = ENOSPC;
			return SB_ERR_NO_SPACE;
		case LIBSSH2_FX_FILE_ALREADY_EXISTS:
			*text = "File exists";
			*errnum = EEXIST;
			return SB_ERR_EXISTS;
		case LIBSSH2_FX_NOT_A_DIRECTORY:
			*text = "Not a directory";
			*errnum = ENOTDIR;
			return SB_ERR_IO;
		case LIBSSH2_FX_DIR_NOT_EMPTY:
			*text = "Directory not empty";
			*errnum = ENOTEMPTY;
			return SB_ERR_IO;
		case LIBSSH2_FX_OP_UNSUPPORTED:
			*text = "Operation not supported by the server";
			return SB_ERR_IO;
		case LIBSSH2_FX_NO_CONNECTION:
		case LIBSSH2_FX_CONNECTION_LOST:
			*text = "Connection lost";
			return SB_ERR_NETWORK;
		case LIBSSH2_FX_EOF:
			*text = "Unexpected end of file";
			return SB_ERR_IO;
		default:
			/* OpenSSH reports most other errno values as plain "Failure" */
			*text = "Failure reported by the SFTP server";
			return SB_ERR_IO;
	}
}

/*
 * Set err for a failed libssh2 call that returned rc: "<prefix>: <reason>".
 * SFTP status codes are mapped to storage statuses; anything else is a
 * transport failure, which marks the connection broken.
 */
static SbStatus
sftp_error(SbStorage *st, int rc, SbError *err, const char *fmt,...)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	char		prefix[SB_ERROR_MSG_LEN];
	va_list		ap;
	SbStatus	status;
	int			errnum = 0;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);

	if (rc == SFTP_WAIT_FAILED)
	{
		char		why[SB_ERROR_MSG_LEN];

		/* the wait already explained itself */
		snprintf(why, sizeof(why), "%s", err->msg);
		ss->broken = true;
		status = err->status != SB_OK ? err->status : SB_ERR_NETWORK;
		sb_error_set(err, status, "%s: %s", prefix, why);
		return status;
	}
	else if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && ss->sftp != NULL)
	{
		const char *text;
		unsigned long code = libssh2_sftp_last_error(ss->sftp);

		status = sftp_status_map(code, &text, &errnum);
		if (status == SB_ERR_NETWORK)
			ss->broken = true;
		sb_error_set(err, status, "%s: %s", prefix, text);
	}
	else
	{
		char	   *msg = NULL;

		if (ss->session != NULL)
			libssh2_session_last_error(ss->session, &msg, NULL, 0);
		ss->broken = true;
		status = SB_ERR_NETWORK;
		sb_error_set(err, status, "%s: %s", prefix,
					 (msg != NULL && msg[0] != '\0') ? msg : "connection to the SFTP server failed");
		sb_error_hint(err, "The connection to SFTP server \"%s\" failed; it is reopened on the next attempt.",
					  st->cfg.sftp_host);
	}
	err->sys_errno = errnum;
	return status;
}

/* Is rc an SFTP status with this code? */
static bool
sftp_is_status(SbStorage *st, int rc, unsigned long code)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	return rc == LIBSSH2_ERROR_SFTP_PROTOCOL && ss->sftp != NULL &&
		libssh2_sftp_last_error(ss->sftp) == code;
}


/* ---------------------------------------------------------------------
 * Connection
 * ---------------------------------------------------------------------
 */

/*
 * Check that a key or passphrase file is a regular file owned by the
 * current user that neither group nor others can access, as ssh does.
 */
static SbStatus
sftp_check_secret_file(const char *path, const char *what, SbError *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
	{
		(void) sb_error_errno(err, errno, "could not access %s \"%s\"", what,
							  path);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	if (!S_ISREG(sb.st_mode))
		return sb_error_set(err, SB_ERR_CONFIG, "%s \"%s\" is not a regular file",
							what, path);
	if (sb.st_uid != geteuid())
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "%s \"%s\" is not owned by the current user", what, path);
		sb_error_hint(err, "The file must be owned by the operating system user running pg_safebackup.");
		return SB_ERR_CONFIG;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		sb_error_set(err, SB_ERR_CONFIG, "%s \"%s\" has group or world access",
					 what, path);
		sb_error_detail(err, "Its permissions are %04o.",
						(unsigned int) (sb.st_mode & 07777));
		sb_error_hint(err, "Remove them with \"chmod 600 %s\".", path);
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

/* Read the passphrase file into buf, without its trailing newline. */
static SbStatus
sftp_read_passphrase(const char *path, char *buf, size_t bufsize,
					 SbError *err)
{
	SbStatus	rc;
	FILE	   *f;
	size_t		n;

	rc = sftp_check_secret_file(path, "passphrase file", err);
	if (rc != SB_OK)
		return rc;
	f = fopen(path, "r");
	if (f == NULL)
	{
		sb_error_errno(err, errno, "could not open passphrase file \"%s\"",
					   path);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	n = fread(buf, 1, bufsize - 1, f);
	if (ferror(f))
	{
		sb_error_errno(err, errno, "could not read passphrase file \"%s\"",
					   path);
		fclose(f);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return SB_OK;
}

/* Check the settings a connection needs. */
static SbStatus
sftp_check_config(SbStorage *st, SbError *err)
{
	const SbRepoConfig *cfg = &st->cfg;

	if (cfg->repo_path[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "repository path is not set");
		sb_error_hint(err, "Set safebackup.repo_path to the repository directory as the SFTP account sees it.");
		return SB_ERR_CONFIG;
	}
	if (cfg->repo_path[0] != '/')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "repository path \"%s\" is not an absolute path",
					 cfg->repo_path);
		sb_error_hint(err, "Set safebackup.repo_path to an absolute path as the SFTP account sees it, for example /upload.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_host[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP host is not set");
		sb_error_hint(err, "Set safebackup.sftp_host.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_port < 0 || cfg->sftp_port > 65535)
		return sb_error_set(err, SB_ERR_CONFIG, "invalid SFTP port %d",
							cfg->sftp_port);
	if (cfg->sftp_user[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP user is not set");
		sb_error_hint(err, "Set safebackup.sftp_user.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_private_key_file[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP private key file is not set");
		sb_error_hint(err, "Set safebackup.sftp_private_key_file; only public key authentication is supported.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_host_key_fingerprint[0] == '\0' &&
		cfg->sftp_known_hosts_file[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "no way to verify the host key of SFTP server \"%s\"",
					 cfg->sftp_host);
		sb_error_hint(err, "Set safebackup.sftp_known_hosts_file or safebackup.sftp_host_key_fingerprint.");
		return SB_ERR_CONFIG;
	}
	return sftp_check_secret_file(cfg->sftp_private_key_file,
								  "private key file", err);
}

/* Open a non-blocking TCP connection to the server, with a timeout. */
static SbStatus
sftp_tcp_connect(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	const SbRepoConfig *cfg = &st->cfg;
	int			port = cfg->sftp_port > 0 ? cfg->sftp_port : 22;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char		portstr[16];
	int			gai;
	int			last_errno = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);

	gai = getaddrinfo(cfg->sftp_host, portstr, &hints, &res);
	if (gai != 0)
	{
		sb_error_set(err, SB_ERR_NETWORK,
					 "could not resolve host name \"%s\": %s",
					 cfg->sftp_host, gai_strerror(gai));
		sb_error_hint(err, "Check safebackup.sftp_host.");
		return SB_ERR_NETWORK;
	}

	for (ai = res; ai != NULL; ai = ai->ai_next)
	{
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

		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		{
			if (errno == EINPROGRESS)
			{
				SbError		werr;
				int			soerr = 0;
				socklen_t	slen = sizeof(soerr);

				ss->sock = fd;
				if (sftp_wait_fd(st, fd, false, true, &werr) != SB_OK)
				{
					close(fd);
					ss->sock = -1;
					freeaddrinfo(res);
					sb_error_set(err, SB_ERR_NETWORK,
								 "could not connect to SFTP server \"%s\" port %d: %s",
								 cfg->sftp_host, port, werr.msg);
					sb_error_hint(err, "Check safebackup.sftp_host and safebackup.sftp_port, and that the SSH server is running and reachable from this machine.");
					return SB_ERR_NETWORK;
				}
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
					soerr = errno;
				if (soerr == 0)
				{
					ss->broken = false;
					break;
				}
				last_errno = soerr;
			}
			else
				last_errno = errno;
			close(fd);
			ss->sock = -1;
			continue;
		}
		ss->sock = fd;
		break;
	}
	freeaddrinfo(res);

	if (ss->sock < 0)
	{
		sb_error_set(err, SB_ERR_NETWORK,
					 "could not connect to SFTP server \"%s\" port %d: %s",
					 cfg->sftp_host, port, strerror(last_errno));
		err->sys_errno = last_errno;
		sb_error_hint(err, "Check safebackup.sftp_host and safebackup.sftp_port, and that the SSH server is running and reachable from this machine.");
		return SB_ERR_NETWORK;
	}
	return SB_OK;
}

/*
 * Drop the connection.  A broken one is not shut down politely: the socket
 * is closed first, so that freeing the session cannot wait on it.
 */
static void
sftp_disconnect(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		werr;

	if (ss == NULL)
		return;

	if (ss->session != NULL)
		sftp_drop_handles(st);

	if (ss->session != NULL && !ss->broken && ss->sock >= 0)
	{
		int			rc;

		if (ss->sftp != NULL)
		{
			while ((rc = libssh2_sftp_shutdown(ss->sftp)) == LIBSSH2_ERROR_EAGAIN)
			{
				if (sftp_wait(st, &werr) != SB_OK)
					break;
			}
			if (rc != LIBSSH2_ERROR_EAGAIN)
				ss->sftp = NULL;
		}
		while (!ss->broken &&
			   (rc = libssh2_session_disconnect(ss->session, "closing")) == LIBSSH2_ERROR_EAGAIN)
		{
			if (sftp_wait(st, &werr) != SB_OK)
				break;
		}
	}

	if (ss->sock >= 0)
	{
		close(ss->sock);
		ss->sock = -1;
	}
	if (ss->session != NULL)
	{
		/*
		 * With the socket gone nothing can block; blocking mode makes
		 * libssh2 finish freeing in one call.
		 */
		libssh2_session_set_blocking(ss->session, 1);
		if (ss->sftp != NULL)
			(void) libssh2_sftp_shutdown(ss->sftp);
		(void) libssh2_session_free(ss->session);
	}
	ss->sftp = NULL;
	ss->session = NULL;
	ss->connected = false;
	ss->broken = false;
}

/* Connect, verify the host key, authenticate, start SFTP, check the root. */
static SbStatus
sftp_connect(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	const SbRepoConfig *cfg = &st->cfg;
	char		passphrase[SFTP_PASSPHRASE_MAX];
	const char *pubkey;
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	SbStatus	rc;
	int			lrc;
	size_t		len;

	passphrase[0] = '\0';
	rc = sftp_check_config(st, err);
	if (rc != SB_OK)
		return rc;
	if (cfg->sftp_private_key_passphrase_file[0] != '\0')
	{
		rc = sftp_read_passphrase(cfg->sftp_private_key_passphrase_file,
								  passphrase, sizeof(passphrase), err);
		if (rc != SB_OK)
			return rc;
	}

	if (!sftp_lib_initialized)
	{
		if (libssh2_init(0) != 0)
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not initialize libssh2");
		sftp_lib_initialized = true;
	}

	/* keep the root without trailing slashes; "/" becomes "" */
	len = strlen(cfg->repo_path);
	while (len > 0 && cfg->repo_path[len - 1] == '/')
		len--;
	memcpy(ss->root, cfg->repo_path, len);
	ss->root[len] = '\0';

	rc = sftp_tcp_connect(st, err);
	if (rc != SB_OK)
		goto fail;

	ss->session = libssh2_session_init();
	if (ss->session == NULL)
	{
		rc = sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
		goto fail;
	}
	libssh2_session_set_blocking(ss->session, 0);
	if (libssh2_session_method_pref(ss->session, LIBSSH2_METHOD_HOSTKEY,
									SFTP_HOSTKEY_PREF) != 0 &&
		libssh2_session_method_pref(ss->session, LIBSSH2_METHOD_HOSTKEY,
									SFTP_HOSTKEY_PREF_OLD) != 0)
	{
		rc = sb_error_set(err, SB_ERR_INTERNAL,
						  "could not set the host key algorithms of the SSH session");
		goto fail;
	}

	while ((lrc = libssh2_session_handshake(ss->session, ss->sock)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		rc = sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}
	if (lrc != 0)
	{
		rc = sftp_error(st, lrc, err,
						"could not establish an SSH session with \"%s\"",
						cfg->sftp_host);
		goto fail;
	}

	/* the host key, before anything is sent on the authenticated session */
	rc = sb_sftp_verify_host_key(ss->session, cfg, err);
	if (rc != SB_OK)
		goto fail;

	pubkey = cfg->sftp_public_key_file[0] != '\0' ? cfg->sftp_public_key_file : NULL;
	while ((lrc = libssh2_userauth_publickey_fromfile_ex(ss->session,
														 cfg->sftp_user,
														 (unsigned int) strlen(cfg->sftp_user),
														 pubkey,
														 cfg->sftp_private_key_file,
														 passphrase)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		rc = sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}
	memset(passphrase, 0, sizeof(passphrase));
	if (lrc != 0)
	{
		if (lrc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
			lrc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
			lrc == LIBSSH2_ERROR_PUBLICKEY_UNRECOGNIZED)
		{
			rc = sb_error_set(err, SB_ERR_AUTH,
							  "SFTP server \"%s\" refused public key authentication for user \"%s\"",
							  cfg->sftp_host, cfg->sftp_user);
			sb_error_hint(err, "Check that the public key of \"%s\" is authorized for that account on the server.",
						  cfg->sftp_private_key_file);
		}
		else if (lrc == LIBSSH2_ERROR_FILE)
		{
			char	   *msg = NULL;

			libssh2_session_last_error(ss->session, &msg, NULL, 0);
			rc = sb_error_set(err, SB_ERR_CONFIG,
							  "could not load private key file \"%s\": %s",
							  cfg->sftp_private_key_file,
							  msg ? msg : "unknown error");
			sb_error_hint(err, "Check the key file and, for an encrypted key, safebackup.sftp_private_key_passphrase_file.");
		}
		else
			rc = sftp_error(st, lrc, err,
							"could not authenticate to SFTP server \"%s\"",
							cfg->sftp_host);
		goto fail;
	}

	/* the SFTP subsystem only: no exec, no shell, no forwarding */
	for (;;)
	{
		ss->sftp = libssh2_sftp_init(ss->session);
		if (ss->sftp != NULL)
			break;
		lrc = libssh2_session_last_errno(ss->session);
		if (lrc != LIBSSH2_ERROR_EAGAIN)
		{
			rc = sftp_error(st, lrc, err,
							"could not start the SFTP subsystem on \"%s\"",
							cfg->sftp_host);
			sb_error_hint(err, "The account must allow the SFTP subsystem (for example \"ForceCommand internal-sftp\").");
			goto fail;
		}
		rc = sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}

	libssh2_keepalive_config(ss->session, 1, SFTP_KEEPALIVE_SECS);

	ss->connected = true;
	ss->broken = false;
	ss->generation++;

	/* the repository root must exist and be a directory */
	while ((lrc = libssh2_sftp_stat_ex(ss->sftp, ss->root[0] ? ss->root : "/",
									   (unsigned int) strlen(ss->root[0] ? ss->root : "/"),
									   LIBSSH2_SFTP_STAT, &attrs)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		rc = sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}
	if (lrc != 0)
	{
		rc = sftp_error(st, lrc, err,
						"could not access repository directory \"%s\" on SFTP server \"%s\"",
						cfg->repo_path, cfg->sftp_host);
		if (rc == SB_ERR_NOT_FOUND)
			sb_error_hint(err, "Create the directory on the server, or set safebackup.repo_path to an existing directory as the SFTP account sees it (in a chroot, for example /upload).");
		goto fail;
	}
	if (!(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
		!LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
	{
		rc = sb_error_set(err, SB_ERR_NOT_FOUND,
						  "repository path \"%s\" on SFTP server \"%s\" is not a directory",
						  cfg->repo_path, cfg->sftp_host);
		sb_error_hint(err, "Create the directory on the server, or set safebackup.repo_path to an existing directory as the SFTP account sees it (in a chroot, for example /upload).");
		goto fail;
	}

	/* temporary files of writes cut off by a lost connection */
	while (ss->norphans > 0 && !ss->broken)
	{
		SbError		uerr;
		char	   *orphan = ss->orphans[--ss->norphans];

		(void) sftp_do_unlink(st, orphan, &uerr);
		free(orphan);
	}
	return SB_OK;

fail:
	memset(passphrase, 0, sizeof(passphrase));
	/* a half-made connection is never kept: drop it without ceremony */
	ss->broken = true;
	sftp_disconnect(st);
	return rc;
}

/*
 * Make sure the connection is usable: reconnect when it broke.  Also sends
 * a keepalive when one is due.
 */
static SbStatus
sftp_ensure(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			next;

	if (ss == NULL || !ss->opened)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"repository storage is not open");
	if (ss->broken || !ss->connected)
	{
		sftp_disconnect(st);
		return sftp_connect(st, err);
	}
	(void) libssh2_keepalive_send(ss->session, &next);
	return SB_OK;
}

/* After a transport failure, reconnect; true when that worked. */
static bool
sftp_retry_after(SbStorage *st, SbStatus rc)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		rerr;

	if (rc != SB_ERR_NETWORK || !ss->broken)
		return false;
	sftp_disconnect(st);
	return sftp_connect(st, &rerr) == SB_OK;
}

static SbStatus
sftp_open(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	if (ss == NULL)
	{
		ss = malloc(sizeof(SftpStorage));
		if (ss == NULL)
			return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
		memset(ss, 0, sizeof(SftpStorage));
		ss->sock = -1;
		st->priv = ss;
	}
	if (ss->opened && ss->connected && !ss->broken)
		return SB_OK;
	sftp_disconnect(st);
	if (sftp_connect(st, err) != SB_OK)
		return err->status;
	ss->opened = true;
	return SB_OK;
}

static void
sftp_close(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	sftp_disconnect(st);
	if (ss != NULL)
		ss->opened = false;
}

static void
sftp_destroy(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	sftp_disconnect(st);
	while (ss != NULL && ss->norphans > 0)
		free(ss->orphans[--ss->norphans]);
	if (ss != NULL)
		free(ss->handles);
	free(st->priv);
	st->priv = NULL;
}


/* ---------------------------------------------------------------------
 * Helpers for paths and handles
 * ---------------------------------------------------------------------
 */

static SbStatus
sftp_full_path(SbStorage *st, const char *relpath, char *buf, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			n;

	n = snprintf(buf, SFTP_PATH_LEN, "%s/%s", ss->root, relpath);
	if (n < 0 || n >= SFTP_PATH_LEN)
		return sb_error_errno(err, ENAMETOOLONG, "could not access \"%s/%s\"",
							  ss->root, relpath);
	return SB_OK;
}

/* Open a remote file or directory; *h is NULL on failure. */
static SbStatus
sftp_open_handle(SbStorage *st, const char *path, unsigned long flags,
				 long mode, int type, LIBSSH2_SFTP_HANDLE **h, SbError *err,
				 int *lrc)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbStatus	rc;

	*lrc = 0;
	for (;;)
	{
		*h = libssh2_sftp_open_ex(ss->sftp, path, (unsigned int) strlen(path),
								  flags, mode, type);
		if (*h != NULL)
		{
			rc = sftp_track(st, h, err);
			if (rc != SB_OK)
			{
				LIBSSH2_SFTP_HANDLE *tmp = *h;

				*h = NULL;
				/* not tracked: close it directly */
				libssh2_session_set_blocking(ss->session, 1);
				(void) libssh2_sftp_close_handle(tmp);
				libssh2_session_set_blocking(ss->session, 0);
			}
			return rc;
		}
		*lrc = libssh2_session_last_errno(ss->session);
		if (*lrc != LIBSSH2_ERROR_EAGAIN)
			return SB_ERR_IO;	/* the caller builds the message */
		rc = sftp_wait(st, err);
		if (rc != SB_OK)
			return rc;
	}
}

/*
 * Remember where an open handle is kept, so that dropping the connection
 * can free it and clear that field.
 */
static SbStatus
sftp_track(SbStorage *st, LIBSSH2_SFTP_HANDLE **slot, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	if (ss->nhandles == ss->maxhandles)
	{
		int			newmax = ss->maxhandles ? ss->maxhandles * 2 : 8;
		LIBSSH2_SFTP_HANDLE ***n;

		n = realloc(ss->handles, newmax * sizeof(LIBSSH2_SFTP_HANDLE **));
		if (n == NULL)
			return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
		ss->handles = n;
		ss->maxhandles = newmax;
	}
	ss->handles[ss->nhandles++] = slot;
	return SB_OK;
}

static void
sftp_untrack(SbStorage *st, LIBSSH2_SFTP_HANDLE **slot)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			i;

	for (i = 0; i < ss->nhandles; i++)
	{
		if (ss->handles[i] == slot)
		{
			ss->handles[i] = ss->handles[--ss->nhandles];
			return;
		}
	}
}

/*
 * Close the handle in *slot and clear it.  libssh2 frees a handle even when
 * closing it fails, but it has to get that far: on a broken connection the
 * socket is shut down first so that every call fails at once.
 */
static int
sftp_close_handle(SbStorage *st, LIBSSH2_SFTP_HANDLE **slot, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	LIBSSH2_SFTP_HANDLE *h = *slot;
	int			lrc = LIBSSH2_ERROR_SOCKET_DISCONNECT;

	if (h == NULL)
		return 0;
	sftp_untrack(st, slot);
	*slot = NULL;

	if (!ss->broken)
	{
		while ((lrc = libssh2_sftp_close_handle(h)) == LIBSSH2_ERROR_EAGAIN)
		{
			if (sftp_wait(st, err) != SB_OK)
			{
				lrc = SFTP_WAIT_FAILED;
				break;
			}
		}
		if (lrc != SFTP_WAIT_FAILED)
			return lrc;
	}

	/* broken: make the close fail fast, which frees the handle */
	ss->broken = true;
	if (ss->sock >= 0)
		(void) shutdown(ss->sock, SHUT_RDWR);
	libssh2_session_set_blocking(ss->session, 1);
	(void) libssh2_sftp_close_handle(h);
	libssh2_session_set_blocking(ss->session, 0);
	return lrc;
}

/* Free every handle still open, before the session goes. */
static void
sftp_drop_handles(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		ierr;

	while (ss->nhandles > 0)
		(void) sftp_close_handle(st, ss->handles[ss->nhandles - 1], &ierr);
}

static int
sftp_do_stat(SbStorage *st, const char *path, int stat_type,
			 LIBSSH2_SFTP_ATTRIBUTES *attrs, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_stat_ex(ss->sftp, path,
									   (unsigned int) strlen(path), stat_type,
									   attrs)) == LIBSSH2_ERROR_EAGAIN)
	{
		if (sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

static int
sftp_do_unlink(SbStorage *st, const char *path, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_unlink_ex(ss->sftp, path,
										 (unsigned int) strlen(path))) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		if (sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

static int
sftp_do_rmdir(SbStorage *st, const char *path, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_rmdir_ex(ss->sftp, path,
										(unsigned int) strlen(path))) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		if (sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

static int
sftp_do_rename(SbStorage *st, const char *from, const char *to, long flags,
			   SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_rename_ex(ss->sftp, from,
										 (unsigned int) strlen(from), to,
										 (unsigned int) strlen(to), flags)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		if (sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

static void
sftp_fill_stat(const LIBSSH2_SFTP_ATTRIBUTES *attrs, SbStat *out)
{
	out->is_dir = (attrs->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		LIBSSH2_SFTP_S_ISDIR(attrs->permissions);
	out->size = (!out->is_dir && (attrs->flags & LIBSSH2_SFTP_ATTR_SIZE)) ?
		(uint64_t) attrs->filesize : 0;
	out->mtime = (attrs->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ?
		(int64_t) attrs->mtime : 0;
}


/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

static SbStatus
sftp_write_open(SbStorage *st, const char *path, int flags, SbWriter **wp,
				SbError *err)
{
	SbWriter   *w;
	SbStatus	rc;
	pid_t		pid = getpid();
	int			tries;

	*wp = NULL;
	rc = sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;

	w = malloc(sizeof(SbWriter));
	if (w == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
	memset(w, 0, sizeof(SbWriter));
	w->st = st;
	w->flags = flags;
	snprintf(w->relpath, sizeof(w->relpath), "%s", path);

	rc = sftp_full_path(st, path, w->final_path, err);
	if (rc != SB_OK)
	{
		free(w);
		return rc;
	}

	for (tries = 0;; tries++)
	{
		int			n;
		int			lrc;
		LIBSSH2_SFTP_ATTRIBUTES attrs;
		SbError		serr;

		n = snprintf(w->tmp_path, sizeof(w->tmp_path), "%s.tmp.%ld.%lu",
					 w->final_path, (long) pid, ++sftp_tmp_counter);
		if (n < 0 || n >= (int) sizeof(w->tmp_path))
		{
			sb_error_errno(err, ENAMETOOLONG, "could not create file \"%s\"",
						   w->final_path);
			free(w);
			return err->status;
		}

		rc = sftp_open_handle(st, w->tmp_path,
							  LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
							  SFTP_FILE_MODE, LIBSSH2_SFTP_OPENFILE, &w->h, err,
							  &lrc);
		if (rc == SB_OK)
			break;
		if (lrc == 0)
		{
			/* the wait failed */
			free(w);
			return rc;
		}

		/*
		 * OpenSSH reports EEXIST as a generic failure: a stale file of an
		 * earlier process with our pid.  Try the next name.
		 */
		if (tries < SFTP_TMP_TRIES &&
			(sftp_is_status(st, lrc, LIBSSH2_FX_FILE_ALREADY_EXISTS) ||
			 sftp_is_status(st, lrc, LIBSSH2_FX_FAILURE)) &&
			sftp_do_stat(st, w->tmp_path, LIBSSH2_SFTP_LSTAT, &attrs, &serr) == 0)
			continue;

		rc = sftp_error(st, lrc, err, "could not create file \"%s\"",
						w->tmp_path);
		free(w);
		return rc;
	}

	w->generation = ((SftpStorage *) st->priv)->generation;
	*wp = w;
	return SB_OK;
}

/* Send len bytes at p, letting libssh2 keep several requests in flight. */
static SbStatus
sftp_send(SbWriter *w, const char *p, size_t len, SbError *err)
{
	SbStorage  *st = w->st;
	SftpStorage *ss = (SftpStorage *) st->priv;

	if (w->h == NULL || ss->generation != w->generation || ss->broken ||
		!ss->connected)
	{
		sb_error_set(err, SB_ERR_NETWORK,
					 "could not write to file \"%s\": the connection to the SFTP server was lost",
					 w->tmp_path);
		return SB_ERR_NETWORK;
	}

	while (len > 0)
	{
		ssize_t		n;

		n = libssh2_sftp_write(w->h, p, len);
		if (n == LIBSSH2_ERROR_EAGAIN)
		{
			SbStatus	rc = sftp_wait(st, err);

			if (rc != SB_OK)
				return rc;
			continue;
		}
		if (n < 0)
			return sftp_error(st, (int) n, err, "could not write to file \"%s\"",
							  w->tmp_path);
		if (n == 0)
			return sb_error_errno(err, ENOSPC, "could not write to file \"%s\"",
								  w->tmp_path);
		p += n;
		len -= (size_t) n;
	}
	return SB_OK;
}

static SbStatus
sftp_write(SbWriter *w, const void *buf, size_t len, SbError *err)
{
	const char *p = buf;
	SbStatus	rc;

	while (len > 0)
	{
		size_t		n;

		/* large writes go out directly when nothing is buffered */
		if (w->used == 0 && len >= SFTP_WRITE_BUF)
			return sftp_send(w, p, len, err);

		if (w->buf == NULL)
		{
			w->buf = malloc(SFTP_WRITE_BUF);
			if (w->buf == NULL)
				return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
		}
		n = SFTP_WRITE_BUF - w->used;
		if (n > len)
			n = len;
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		p += n;
		len -= n;

		if (w->used == SFTP_WRITE_BUF)
		{
			rc = sftp_send(w, w->buf, w->used, err);
			w->used = 0;
			if (rc != SB_OK)
				return rc;
		}
	}
	return SB_OK;
}

/* Free the writer; remove its temporary file if the connection allows. */
static void
sftp_writer_discard(SbWriter *w)
{
	SbStorage  *st = w->st;
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		ierr;
	bool		keep_orphan = false;

	if (w->h != NULL)
		(void) sftp_close_handle(st, &w->h, &ierr);
	if (ss != NULL && ss->connected && !ss->broken &&
		ss->generation == w->generation)
	{
		if (ss->connected && !ss->broken)
			(void) sftp_do_unlink(st, w->tmp_path, &ierr);
		else
			keep_orphan = true;
	}
	else
		keep_orphan = (ss != NULL);

	/* remove the temporary file once connected again */
	if (keep_orphan && ss->norphans < SFTP_MAX_ORPHANS)
	{
		ss->orphans[ss->norphans] = strdup(w->tmp_path);
		if (ss->orphans[ss->norphans] != NULL)
			ss->norphans++;
	}
	free(w->buf);
	free(w);
}

static SbStatus
sftp_write_commit(SbWriter *w, SbError *err)
{
	SbStorage  *st = w->st;
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbStatus	rc;
	int			lrc;

	if (w->used > 0)
	{
		rc = sftp_send(w, w->buf, w->used, err);
		w->used = 0;
		if (rc != SB_OK)
			goto fail;
	}
	if (w->h == NULL || ss->generation != w->generation || ss->broken ||
		!ss->connected)
	{
		rc = sb_error_set(err, SB_ERR_NETWORK,
						  "could not write to file \"%s\": the connection to the SFTP server was lost",
						  w->tmp_path);
		goto fail;
	}

	if (!ss->no_fsync)
	{
		while ((lrc = libssh2_sftp_fsync(w->h)) == LIBSSH2_ERROR_EAGAIN)
		{
			rc = sftp_wait(st, err);
			if (rc != SB_OK)
				goto fail;
		}
		if (lrc != 0)
		{
			if (sftp_is_status(st, lrc, LIBSSH2_FX_OP_UNSUPPORTED))
				ss->no_fsync = true;
			else
			{
				rc = sftp_error(st, lrc, err, "could not fsync file \"%s\"",
								w->tmp_path);
				goto fail;
			}
		}
	}

	lrc = sftp_close_handle(st, &w->h, err);
	w->h = NULL;
	if (lrc != 0)
	{
		if (ss->broken)
			rc = err->status != SB_OK ? err->status : SB_ERR_NETWORK;
		else
			rc = sftp_error(st, lrc, err, "could not close file \"%s\"",
							w->tmp_path);
		goto fail;
	}

	if (w->flags & SB_WRITE_REPLACE)
	{
		/*
		 * Not atomic: libssh2 1.10 cannot ask for posix-rename@openssh.com,
		 * and a plain SFTP rename onto an existing name fails.
		 */
		lrc = sftp_do_unlink(st, w->final_path, err);
		if (lrc != 0 && !sftp_is_status(st, lrc, LIBSSH2_FX_NO_SUCH_FILE))
		{
			rc = sftp_error(st, lrc, err, "could not remove file \"%s\"",
							w->final_path);
			goto fail;
		}
	}

	lrc = sftp_do_rename(st, w->tmp_path, w->final_path,
						 LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
						 LIBSSH2_SFTP_RENAME_NATIVE, err);
	if (lrc != 0)
	{
		LIBSSH2_SFTP_ATTRIBUTES attrs;
		SbError		serr;

		rc = sftp_error(st, lrc, err, "could not rename file \"%s\" to \"%s\"",
						w->tmp_path, w->final_path);
		/* OpenSSH links, then unlinks: an existing target is a failure */
		if (rc != SB_ERR_NETWORK && !(w->flags & SB_WRITE_REPLACE) &&
			sftp_do_stat(st, w->final_path, LIBSSH2_SFTP_LSTAT, &attrs, &serr) == 0)
		{
			rc = sb_error_set(err, SB_ERR_EXISTS,
							  "file \"%s\" already exists in the repository",
							  w->relpath);
		}
		goto fail;
	}

	free(w->buf);
	free(w);
	return SB_OK;

fail:
	sftp_writer_discard(w);
	return rc;
}

static void
sftp_write_abort(SbWriter *w)
{
	sftp_writer_discard(w);
}


/* ---------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------
 */

static SbStatus
sftp_read_open_once(SbStorage *st, SbReader *r, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	SbStatus	rc;
	int			lrc;

	rc = sftp_open_handle(st, r->path, LIBSSH2_FXF_READ, 0,
						  LIBSSH2_SFTP_OPENFILE, &r->h, err, &lrc);
	if (rc != SB_OK)
	{
		if (lrc == 0)
			return rc;
		return sftp_error(st, lrc, err, "could not open file \"%s\"", r->path);
	}

	/* the server opens a directory for reading; refuse it here */
	while ((lrc = libssh2_sftp_fstat_ex(r->h, &attrs, 0)) == LIBSSH2_ERROR_EAGAIN)
	{
		rc = sftp_wait(st, err);
		if (rc != SB_OK)
			return rc;
	}
	if (lrc != 0)
	{
		rc = sftp_error(st, lrc, err, "could not stat file \"%s\"", r->path);
		if (!ss->broken)
			(void) sftp_close_handle(st, &r->h, err);
		r->h = NULL;
		return rc;
	}
	if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
	{
		(void) sftp_close_handle(st, &r->h, err);
		r->h = NULL;
		return sb_error_errno(err, EISDIR, "could not open file \"%s\"",
							  r->path);
	}
	r->generation = ss->generation;
	return SB_OK;
}

static SbStatus
sftp_read_open(SbStorage *st, const char *path, SbReader **rp, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;

	*rp = NULL;
	rc = sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;

	r = malloc(sizeof(SbReader));
	if (r == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
	memset(r, 0, sizeof(SbReader));
	r->st = st;
	rc = sftp_full_path(st, path, r->path, err);
	if (rc == SB_OK)
	{
		rc = sftp_read_open_once(st, r, err);
		if (sftp_retry_after(st, rc))
			rc = sftp_read_open_once(st, r, err);
	}
	if (rc != SB_OK)
	{
		SbError		cerr;

		(void) sftp_close_handle(st, &r->h, &cerr);
		free(r);
		return rc;
	}
	*rp = r;
	return SB_OK;
}

static SbStatus
sftp_read(SbReader *r, void *buf, size_t len, size_t *nread, SbError *err)
{
	SbStorage  *st = r->st;
	SftpStorage *ss = (SftpStorage *) st->priv;

	*nread = 0;
	if (len == 0)
		return SB_OK;
	if (r->h == NULL || ss->generation != r->generation || ss->broken ||
		!ss->connected)
		return sb_error_set(err, SB_ERR_NETWORK,
							"could not read file \"%s\": the connection to the SFTP server was lost",
							r->path);

	for (;;)
	{
		ssize_t		n = libssh2_sftp_read(r->h, buf, len);

		if (n == LIBSSH2_ERROR_EAGAIN)
		{
			SbStatus	rc = sftp_wait(st, err);

			if (rc != SB_OK)
				return rc;
			continue;
		}
		if (n < 0)
			return sftp_error(st, (int) n, err, "could not read file \"%s\"",
							  r->path);
		*nread = (size_t) n;
		return SB_OK;
	}
}

static void
sftp_read_close(SbReader *r)
{
	SbStorage  *st = r->st;
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		ierr;

	(void) ss;
	if (r->h != NULL)
		(void) sftp_close_handle(st, &r->h, &ierr);
	free(r);
}


/* ---------------------------------------------------------------------
 * Metadata: stat, list, remove, mkdir
 * ---------------------------------------------------------------------
 */

static SbStatus
sftp_stat_once(SbStorage *st, const char *full, SbStat *out, SbError *err)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	int			lrc;

	lrc = sftp_do_stat(st, full, LIBSSH2_SFTP_STAT, &attrs, err);
	if (lrc != 0)
		return sftp_error(st, lrc, err, "could not stat file \"%s\"", full);
	sftp_fill_stat(&attrs, out);
	return SB_OK;
}

static SbStatus
sftp_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	char		full[SFTP_PATH_LEN];
	SbStatus	rc;

	rc = sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_stat_once(st, full, out, err);
	if (sftp_retry_after(st, rc))
		rc = sftp_stat_once(st, full, out, err);
	return rc;
}

/*
 * Read the entries of directory full; calls fn for each (not "." or "..";
 * temporary files only when with_temp).  *called counts the calls.
 */
static SbStatus
sftp_list_full(SbStorage *st, const char *full, bool with_temp, SbListFn fn,
			   void *arg, int *called, SbError *err)
{
	LIBSSH2_SFTP_HANDLE *dh;
	SbStatus	rc;
	int			lrc;
	char		name[4096];

	rc = sftp_open_handle(st, full, 0, 0, LIBSSH2_SFTP_OPENDIR, &dh, err, &lrc);
	if (rc != SB_OK)
	{
		if (lrc == 0)
			return rc;
		return sftp_error(st, lrc, err, "could not open directory \"%s\"",
						  full);
	}

	rc = SB_OK;
	for (;;)
	{
		LIBSSH2_SFTP_ATTRIBUTES attrs;
		SbStat		entry;
		int			n;

		n = libssh2_sftp_readdir_ex(dh, name, sizeof(name), NULL, 0, &attrs);
		if (n == LIBSSH2_ERROR_EAGAIN)
		{
			rc = sftp_wait(st, err);
			if (rc != SB_OK)
				break;
			continue;
		}
		if (n < 0)
		{
			rc = sftp_error(st, n, err, "could not read directory \"%s\"",
							full);
			break;
		}
		if (n == 0)
			break;
		name[n < (int) sizeof(name) ? n : (int) sizeof(name) - 1] = '\0';

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (!with_temp && sb_storage_is_temp_name(name))
			continue;

		sftp_fill_stat(&attrs, &entry);
		(*called)++;
		if (!fn(name, &entry, arg))
			break;
	}

	{
		SbError		cerr;
		bool		was_broken = ((SftpStorage *) st->priv)->broken;

		lrc = sftp_close_handle(st, &dh, &cerr);
		if (lrc != 0 && rc == SB_OK && !was_broken)
			rc = sftp_error(st, lrc, err, "could not close directory \"%s\"",
							full);
	}
	return rc;
}

static SbStatus
sftp_list(SbStorage *st, const char *path, SbListFn fn, void *arg,
		  SbError *err)
{
	char		full[SFTP_PATH_LEN];
	SbStatus	rc;
	int			called = 0;

	rc = sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_list_full(st, full, false, fn, arg, &called, err);
	/* retried only if the caller has seen nothing yet */
	if (called == 0 && sftp_retry_after(st, rc))
		rc = sftp_list_full(st, full, false, fn, arg, &called, err);
	return rc;
}

/* Names collected from a directory, for the recursive remove. */
typedef struct SftpNames
{
	char	  **names;
	bool	   *is_dir;
	size_t		n;
	size_t		max;
	bool		oom;
} SftpNames;

static bool
sftp_collect_name(const char *name, const SbStat *st, void *arg)
{
	SftpNames  *nl = arg;

	if (nl->n == nl->max)
	{
		size_t		newmax = nl->max ? nl->max * 2 : 16;
		char	  **newnames = realloc(nl->names, newmax * sizeof(char *));
		bool	   *newdirs;

		if (newnames == NULL)
		{
			nl->oom = true;
			return false;
		}
		nl->names = newnames;
		newdirs = realloc(nl->is_dir, newmax * sizeof(bool));
		if (newdirs == NULL)
		{
			nl->oom = true;
			return false;
		}
		nl->is_dir = newdirs;
		nl->max = newmax;
	}
	nl->names[nl->n] = strdup(name);
	if (nl->names[nl->n] == NULL)
	{
		nl->oom = true;
		return false;
	}
	nl->is_dir[nl->n] = st->is_dir;
	nl->n++;
	return true;
}

/*
 * Remove the directory in buf (bufsize bytes) and all it holds.  readdir
 * reports lstat() attributes, so symbolic links are removed, not followed.
 */
static SbStatus
sftp_remove_tree(SbStorage *st, char *buf, size_t bufsize, SbError *err)
{
	SftpNames	nl;
	SbStatus	rc;
	size_t		baselen = strlen(buf);
	size_t		i;
	int			called = 0;
	int			lrc;

	memset(&nl, 0, sizeof(nl));
	rc = sftp_list_full(st, buf, true, sftp_collect_name, &nl, &called, err);
	if (rc == SB_OK && nl.oom)
		rc = sb_error_set(err, SB_ERR_INTERNAL, "out of memory");

	for (i = 0; i < nl.n && rc == SB_OK; i++)
	{
		size_t		namelen = strlen(nl.names[i]);

		if (baselen + 1 + namelen >= bufsize)
		{
			rc = sb_error_errno(err, ENAMETOOLONG,
								"could not remove file \"%s/%s\"", buf,
								nl.names[i]);
			break;
		}
		buf[baselen] = '/';
		memcpy(buf + baselen + 1, nl.names[i], namelen + 1);

		if (nl.is_dir[i])
			rc = sftp_remove_tree(st, buf, bufsize, err);
		else
		{
			lrc = sftp_do_unlink(st, buf, err);
			if (lrc != 0 && !sftp_is_status(st, lrc, LIBSSH2_FX_NO_SUCH_FILE))
				rc = sftp_error(st, lrc, err, "could not remove file \"%s\"",
								buf);
		}
		buf[baselen] = '\0';
	}

	for (i = 0; i < nl.n; i++)
		free(nl.names[i]);
	free(nl.names);
	free(nl.is_dir);
	if (rc != SB_OK)
		return rc;

	lrc = sftp_do_rmdir(st, buf, err);
	if (lrc != 0 && !sftp_is_status(st, lrc, LIBSSH2_FX_NO_SUCH_FILE))
		return sftp_error(st, lrc, err, "could not remove directory \"%s\"",
						  buf);
	return SB_OK;
}

static SbStatus
sftp_remove(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	char		full[SFTP_PATH_LEN];
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	SbStatus	rc;
	int			lrc;

	rc = sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;

	lrc = sftp_do_stat(st, full, LIBSSH2_SFTP_LSTAT, &attrs, err);
	if (lrc != 0)
		return sftp_error(st, lrc, err, "could not stat file \"%s\"", full);

	if (!((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		  LIBSSH2_SFTP_S_ISDIR(attrs.permissions)))
	{
		lrc = sftp_do_unlink(st, full, err);
		if (lrc != 0)
			return sftp_error(st, lrc, err, "could not remove file \"%s\"",
							  full);
	}
	else if (recursive)
	{
		char	   *buf = malloc(SFTP_PATH_LEN * 4);

		if (buf == NULL)
			return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
		strcpy(buf, full);
		rc = sftp_remove_tree(st, buf, SFTP_PATH_LEN * 4, err);
		free(buf);
		return rc;
	}
	else
	{
		lrc = sftp_do_rmdir(st, full, err);
		if (lrc != 0)
			return sftp_error(st, lrc, err,
							  "could not remove directory \"%s\"", full);
	}
	return SB_OK;
}

static SbStatus
sftp_mkdir_once(SbStorage *st, char *full, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	char	   *p;

	/* walk the relative part, one component at a time */
	p = full + strlen(ss->root) + 1;
	for (;;)
	{
		char	   *slash = strchr(p, '/');
		bool		last = (slash == NULL);
		int			lrc;

		if (!last)
			*slash = '\0';

		while ((lrc = libssh2_sftp_mkdir_ex(ss->sftp, full,
											(unsigned int) strlen(full),
											SFTP_DIR_MODE)) == LIBSSH2_ERROR_EAGAIN)
		{
			SbStatus	rc = sftp_wait(st, err);

			if (rc != SB_OK)
			{
				if (!last)
					*slash = '/';
				return rc;
			}
		}
		if (lrc != 0)
		{
			LIBSSH2_SFTP_ATTRIBUTES attrs;
			SbError		serr;
			SbStatus	rc;

			rc = sftp_error(st, lrc, err, "could not create directory \"%s\"",
							full);
			if (rc == SB_ERR_NETWORK)
			{
				if (!last)
					*slash = '/';
				return rc;
			}
			/* an existing directory is fine, whatever mkdir said */
			if (sftp_do_stat(st, full, LIBSSH2_SFTP_STAT, &attrs, &serr) != 0 ||
				!(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
				!LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
			{
				if (!last)
					*slash = '/';
				return rc;
			}
			sb_error_clear(err);
		}

		if (last)
			break;
		*slash = '/';
		p = slash + 1;
	}
	return SB_OK;
}

static SbStatus
sftp_mkdir(SbStorage *st, const char *path, SbError *err)
{
	char		full[SFTP_PATH_LEN];
	SbStatus	rc;

	rc = sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_mkdir_once(st, full, err);
	if (sftp_retry_after(st, rc))
		rc = sftp_mkdir_once(st, full, err);
	return rc;
}
