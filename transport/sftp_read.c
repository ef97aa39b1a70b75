/*-------------------------------------------------------------------------
 *
 * sftp_read.c
 *		Streaming reads of the SFTP driver.  Opening a file is retried once
 *		after reconnecting; reading is not.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static SbStatus
sftp_read_open_once(SbStorage *st, SbReader *r, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	SbStatus	rc;
	int			lrc;

	rc = sb_sftp_open_handle(st, r->path, LIBSSH2_FXF_READ, 0,
							 LIBSSH2_SFTP_OPENFILE, &r->h, err, &lrc);
	if (rc != SB_OK)
	{
		if (lrc == 0)
			return rc;
		return sb_sftp_error(st, lrc, err, "could not open file \"%s\"", r->path);
	}

	/* the server opens a directory for reading; refuse it here */
	while ((lrc = libssh2_sftp_fstat_ex(r->h, &attrs, 0)) == LIBSSH2_ERROR_EAGAIN)
	{
		rc = sb_sftp_wait(st, err);
		if (rc != SB_OK)
			return rc;
	}
	if (lrc != 0)
	{
		rc = sb_sftp_error(st, lrc, err, "could not stat file \"%s\"", r->path);
		if (!ss->broken)
			(void) sb_sftp_close_handle(st, &r->h, err);
		r->h = NULL;
		return rc;
	}
	if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
	{
		(void) sb_sftp_close_handle(st, &r->h, err);
		r->h = NULL;
		return sb_error_errno(err, EISDIR, "could not open file \"%s\"",
							  r->path);
	}
	r->generation = ss->generation;
	return SB_OK;
}

SbStatus
sb_sftp_read_open(SbStorage *st, const char *path, SbReader **rp, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;

	*rp = NULL;
	rc = sb_sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;

	r = malloc(sizeof(SbReader));
	if (r == NULL)
		return sb_error_oom(err);
	memset(r, 0, sizeof(SbReader));
	r->st = st;
	rc = sb_sftp_full_path(st, path, r->path, err);
	if (rc == SB_OK)
	{
		rc = sftp_read_open_once(st, r, err);
		if (sb_sftp_retry_after(st, rc))
			rc = sftp_read_open_once(st, r, err);
	}
	if (rc != SB_OK)
	{
		SbError		cerr;

		(void) sb_sftp_close_handle(st, &r->h, &cerr);
		free(r);
		return rc;
	}
	*rp = r;
	return SB_OK;
}

/*
 * libssh2 reads ahead with pipelined requests from the handle's offset on;
 * seeking before the first read has none to drop (libssh2_sftp_seek64
 * would drop any), so the requests start at offset.
 */
SbStatus
sb_sftp_read_open_at(SbStorage *st, const char *path, uint64_t offset,
					 uint64_t len, SbReader **rp, SbError *err)
{
	SbStatus	rc;

	(void) len;
	rc = sb_sftp_read_open(st, path, rp, err);
	if (rc != SB_OK)
		return rc;
	libssh2_sftp_seek64((*rp)->h, offset);
	return SB_OK;
}

SbStatus
sb_sftp_read(SbReader *r, void *buf, size_t len, size_t *nread, SbError *err)
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
			SbStatus	rc = sb_sftp_wait(st, err);

			if (rc != SB_OK)
				return rc;
			continue;
		}
		if (n < 0)
			return sb_sftp_error(st, (int) n, err, "could not read file \"%s\"",
								 r->path);
		*nread = (size_t) n;
		return SB_OK;
	}
}

void
sb_sftp_read_close(SbReader *r)
{
	SbStorage  *st = r->st;
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		ierr;

	(void) ss;
	if (r->h != NULL)
		(void) sb_sftp_close_handle(st, &r->h, &ierr);
	free(r);
}
