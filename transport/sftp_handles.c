/*-------------------------------------------------------------------------
 *
 * sftp_handles.c
 *		Remote paths and open handles of the SFTP driver, and the
 *		single-request primitives (stat, unlink, rmdir, rename) that wait
 *		while libssh2 would block.
 *
 * Every open handle is tracked, so that dropping the connection can free
 * it and clear the field that held it.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static SbStatus sftp_track(SbStorage *st, LIBSSH2_SFTP_HANDLE **slot,
						   SbError *err);

SbStatus
sb_sftp_full_path(SbStorage *st, const char *relpath, char *buf, SbError *err)
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
SbStatus
sb_sftp_open_handle(SbStorage *st, const char *path, unsigned long flags,
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
		rc = sb_sftp_wait(st, err);
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
			return sb_error_oom(err);
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
int
sb_sftp_close_handle(SbStorage *st, LIBSSH2_SFTP_HANDLE **slot, SbError *err)
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
			if (sb_sftp_wait(st, err) != SB_OK)
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
void
sb_sftp_drop_handles(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		ierr;

	while (ss->nhandles > 0)
		(void) sb_sftp_close_handle(st, ss->handles[ss->nhandles - 1], &ierr);
}

int
sb_sftp_do_stat(SbStorage *st, const char *path, int stat_type,
				LIBSSH2_SFTP_ATTRIBUTES *attrs, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_stat_ex(ss->sftp, path,
									   (unsigned int) strlen(path), stat_type,
									   attrs)) == LIBSSH2_ERROR_EAGAIN)
	{
		if (sb_sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

int
sb_sftp_do_unlink(SbStorage *st, const char *path, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_unlink_ex(ss->sftp, path,
										 (unsigned int) strlen(path))) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		if (sb_sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

int
sb_sftp_do_rmdir(SbStorage *st, const char *path, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_rmdir_ex(ss->sftp, path,
										(unsigned int) strlen(path))) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		if (sb_sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

int
sb_sftp_do_rename(SbStorage *st, const char *from, const char *to, long flags,
				  SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			lrc;

	while ((lrc = libssh2_sftp_rename_ex(ss->sftp, from,
										 (unsigned int) strlen(from), to,
										 (unsigned int) strlen(to), flags)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		if (sb_sftp_wait(st, err) != SB_OK)
			return SFTP_WAIT_FAILED;
	}
	return lrc;
}

void
sb_sftp_fill_stat(const LIBSSH2_SFTP_ATTRIBUTES *attrs, SbStat *out)
{
	out->is_dir = (attrs->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		LIBSSH2_SFTP_S_ISDIR(attrs->permissions);
	out->size = (!out->is_dir && (attrs->flags & LIBSSH2_SFTP_ATTR_SIZE)) ?
		(uint64_t) attrs->filesize : 0;
	out->mtime = (attrs->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ?
		(int64_t) attrs->mtime : 0;
}
