/*-------------------------------------------------------------------------
 *
 * sftp_write.c
 *		Atomic, durable writes of the SFTP driver.
 *
 * Writes go to "<final>.tmp.<pid>.<counter>" (hidden by list(), like the
 * posix driver), opened with CREAT|EXCL, mode 0440: the handle we opened
 * may write, but nobody can open the file for writing again, so that an
 * append-only account (README "Append-only repositories": setstat denied,
 * so no chmod back) can never truncate or overwrite a committed file.
 * Removing and renaming need only the directory's write permission, so
 * expire and replace work as before.  Data is buffered and
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
 * Normal archiving and backups need no remove, setstat or posix-rename
 * request: an account that is denied them (internal-sftp -P) works; the
 * temporary file of a failed write then stays behind, for the sweep of
 * temporary files by expire on the admin path.
 *
 * SFTP has no way to flush a directory, so the durability of the rename
 * itself is up to the server's file system.  Writes are never retried after
 * a lost connection; the temporary file is removed once connected again.
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
#include <sys/types.h>
#include <unistd.h>

#define SFTP_FILE_MODE		0440

/* Data buffered by a writer before it is sent; large enough to pipeline. */
#define SFTP_WRITE_BUF		(2 * 1024 * 1024)

/* Tries before giving up on finding an unused temporary name. */
#define SFTP_TMP_TRIES		10

static unsigned long sftp_tmp_counter = 0;

SbStatus
sb_sftp_write_open(SbStorage *st, const char *path, int flags, SbWriter **wp,
				   SbError *err)
{
	SbWriter   *w;
	SbStatus	rc;
	pid_t		pid = getpid();
	int			tries;

	*wp = NULL;
	rc = sb_sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;

	w = malloc(sizeof(SbWriter));
	if (w == NULL)
		return sb_error_oom(err);
	memset(w, 0, sizeof(SbWriter));
	w->st = st;
	w->flags = flags;
	snprintf(w->relpath, sizeof(w->relpath), "%s", path);

	rc = sb_sftp_full_path(st, path, w->final_path, err);
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

		rc = sb_sftp_open_handle(st, w->tmp_path,
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
			(sb_sftp_is_status(st, lrc, LIBSSH2_FX_FILE_ALREADY_EXISTS) ||
			 sb_sftp_is_status(st, lrc, LIBSSH2_FX_FAILURE)) &&
			sb_sftp_do_stat(st, w->tmp_path, LIBSSH2_SFTP_LSTAT, &attrs,
							&serr) == 0)
			continue;

		rc = sb_sftp_error(st, lrc, err, "could not create file \"%s\"",
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
			SbStatus	rc = sb_sftp_wait(st, err);

			if (rc != SB_OK)
				return rc;
			continue;
		}
		if (n < 0)
			return sb_sftp_error(st, (int) n, err, "could not write to file \"%s\"",
								 w->tmp_path);
		if (n == 0)
			return sb_error_errno(err, ENOSPC, "could not write to file \"%s\"",
								  w->tmp_path);
		p += n;
		len -= (size_t) n;
	}
	return SB_OK;
}

SbStatus
sb_sftp_write(SbWriter *w, const void *buf, size_t len, SbError *err)
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
				return sb_error_oom(err);
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
		(void) sb_sftp_close_handle(st, &w->h, &ierr);
	if (ss != NULL && ss->connected && !ss->broken &&
		ss->generation == w->generation)
	{
		if (ss->connected && !ss->broken)
			(void) sb_sftp_do_unlink(st, w->tmp_path, &ierr);
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

SbStatus
sb_sftp_write_commit(SbWriter *w, SbError *err)
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
			rc = sb_sftp_wait(st, err);
			if (rc != SB_OK)
				goto fail;
		}
		if (lrc != 0)
		{
			if (sb_sftp_is_status(st, lrc, LIBSSH2_FX_OP_UNSUPPORTED))
				ss->no_fsync = true;
			else
			{
				rc = sb_sftp_error(st, lrc, err, "could not fsync file \"%s\"",
								   w->tmp_path);
				goto fail;
			}
		}
	}

	lrc = sb_sftp_close_handle(st, &w->h, err);
	w->h = NULL;
	if (lrc != 0)
	{
		if (ss->broken)
			rc = err->status != SB_OK ? err->status : SB_ERR_NETWORK;
		else
			rc = sb_sftp_error(st, lrc, err, "could not close file \"%s\"",
							   w->tmp_path);
		goto fail;
	}

	if (w->flags & SB_WRITE_REPLACE)
	{
		/*
		 * Not atomic: libssh2 1.10 cannot ask for posix-rename@openssh.com,
		 * and a plain SFTP rename onto an existing name fails.
		 */
		lrc = sb_sftp_do_unlink(st, w->final_path, err);
		if (lrc != 0 && !sb_sftp_is_status(st, lrc, LIBSSH2_FX_NO_SUCH_FILE))
		{
			rc = sb_sftp_error(st, lrc, err, "could not remove file \"%s\"",
							   w->final_path);
			goto fail;
		}
	}

	lrc = sb_sftp_do_rename(st, w->tmp_path, w->final_path,
							LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
							LIBSSH2_SFTP_RENAME_NATIVE, err);
	if (lrc != 0)
	{
		LIBSSH2_SFTP_ATTRIBUTES attrs;
		SbError		serr;

		rc = sb_sftp_error(st, lrc, err, "could not rename file \"%s\" to \"%s\"",
						   w->tmp_path, w->final_path);
		/* OpenSSH links, then unlinks: an existing target is a failure */
		if (rc != SB_ERR_NETWORK && !(w->flags & SB_WRITE_REPLACE) &&
			sb_sftp_do_stat(st, w->final_path, LIBSSH2_SFTP_LSTAT, &attrs,
							&serr) == 0)
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

void
sb_sftp_write_abort(SbWriter *w)
{
	sftp_writer_discard(w);
}

/* The temporary file keeps its name; only the name commit renames to changes. */
SbStatus
sb_sftp_write_rename(SbStorage *st, SbWriter *w, const char *path,
					 SbError *err)
{
	char		final_path[SFTP_PATH_LEN];
	SbStatus	rc;

	rc = sb_storage_check_same_dir(w->relpath, path, err);
	if (rc == SB_OK)
		rc = sb_sftp_full_path(st, path, final_path, err);
	if (rc != SB_OK)
		return rc;
	memcpy(w->final_path, final_path, sizeof(final_path));
	snprintf(w->relpath, sizeof(w->relpath), "%s", path);
	return SB_OK;
}
