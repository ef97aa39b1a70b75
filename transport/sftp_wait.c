/*-------------------------------------------------------------------------
 *
 * sftp_wait.c
 *		Waiting on the SFTP driver's socket, and turning failed libssh2 calls
 *		into storage errors.
 *
 * The socket and the libssh2 session are non-blocking; waits go through
 * sb_net_wait() (st->wait or poll(), see net.h).  A failed wait or a
 * transport failure marks the connection broken.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

/* Wait for the directions libssh2 is blocked on. */
SbStatus
sb_sftp_wait(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			dir = libssh2_session_block_directions(ss->session);
	bool		rd = (dir & LIBSSH2_SESSION_BLOCK_INBOUND) != 0;
	bool		wr = (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;

	if (!rd && !wr)
		rd = true;
	return sb_net_wait(st, &ss->peer, ss->sock, rd, wr, err);
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
SbStatus
sb_sftp_error(SbStorage *st, int rc, SbError *err, const char *fmt,...)
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
					  SB_SFTP(&st->cfg)->sftp_host);
	}
	err->sys_errno = errnum;
	return status;
}

/* Is rc an SFTP status with this code? */
bool
sb_sftp_is_status(SbStorage *st, int rc, unsigned long code)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	return rc == LIBSSH2_ERROR_SFTP_PROTOCOL && ss->sftp != NULL &&
		libssh2_sftp_last_error(ss->sftp) == code;
}
