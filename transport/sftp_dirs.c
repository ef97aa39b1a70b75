/*-------------------------------------------------------------------------
 *
 * sftp_dirs.c
 *		Metadata operations of the SFTP driver: stat, list, remove (with the
 *		recursive remove of a directory tree) and mkdir.  stat() and mkdir()
 *		are retried once after reconnecting, list() only when it has not
 *		reported an entry yet; remove() is not.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SFTP_DIR_MODE		0750

static SbStatus
sftp_stat_once(SbStorage *st, const char *full, SbStat *out, SbError *err)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	int			lrc;

	lrc = sb_sftp_do_stat(st, full, LIBSSH2_SFTP_STAT, &attrs, err);
	if (lrc != 0)
		return sb_sftp_error(st, lrc, err, "could not stat file \"%s\"", full);
	sb_sftp_fill_stat(&attrs, out);
	return SB_OK;
}

SbStatus
sb_sftp_stat(SbStorage *st, const char *path, SbStat *out, SbError *err)
{
	char		full[SFTP_PATH_LEN];
	SbStatus	rc;

	rc = sb_sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_stat_once(st, full, out, err);
	if (sb_sftp_retry_after(st, rc))
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

	rc = sb_sftp_open_handle(st, full, 0, 0, LIBSSH2_SFTP_OPENDIR, &dh, err,
							 &lrc);
	if (rc != SB_OK)
	{
		if (lrc == 0)
			return rc;
		return sb_sftp_error(st, lrc, err, "could not open directory \"%s\"",
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
			rc = sb_sftp_wait(st, err);
			if (rc != SB_OK)
				break;
			continue;
		}
		if (n < 0)
		{
			rc = sb_sftp_error(st, n, err, "could not read directory \"%s\"",
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

		sb_sftp_fill_stat(&attrs, &entry);
		(*called)++;
		if (!fn(name, &entry, arg))
			break;
	}

	{
		SbError		cerr;
		bool		was_broken = ((SftpStorage *) st->priv)->broken;

		lrc = sb_sftp_close_handle(st, &dh, &cerr);
		if (lrc != 0 && rc == SB_OK && !was_broken)
			rc = sb_sftp_error(st, lrc, err, "could not close directory \"%s\"",
							   full);
	}
	return rc;
}

SbStatus
sb_sftp_list(SbStorage *st, const char *path, int flags, SbListFn fn, void *arg,
			 SbError *err)
{
	char		full[SFTP_PATH_LEN];
	SbStatus	rc;
	int			called = 0;

	rc = sb_sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_list_full(st, full, (flags & SB_LIST_TEMP) != 0, fn, arg, &called, err);
	/* retried only if the caller has seen nothing yet */
	if (called == 0 && sb_sftp_retry_after(st, rc))
		rc = sftp_list_full(st, full, (flags & SB_LIST_TEMP) != 0, fn, arg, &called, err);
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
		rc = sb_error_oom(err);

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
			lrc = sb_sftp_do_unlink(st, buf, err);
			if (lrc != 0 &&
				!sb_sftp_is_status(st, lrc, LIBSSH2_FX_NO_SUCH_FILE))
				rc = sb_sftp_error(st, lrc, err, "could not remove file \"%s\"",
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

	lrc = sb_sftp_do_rmdir(st, buf, err);
	if (lrc != 0 && !sb_sftp_is_status(st, lrc, LIBSSH2_FX_NO_SUCH_FILE))
		return sb_sftp_error(st, lrc, err, "could not remove directory \"%s\"",
							 buf);
	return SB_OK;
}

SbStatus
sb_sftp_remove(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	char		full[SFTP_PATH_LEN];
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	SbStatus	rc;
	int			lrc;

	rc = sb_sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;

	lrc = sb_sftp_do_stat(st, full, LIBSSH2_SFTP_LSTAT, &attrs, err);
	if (lrc != 0)
		return sb_sftp_error(st, lrc, err, "could not stat file \"%s\"", full);

	if (!((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		  LIBSSH2_SFTP_S_ISDIR(attrs.permissions)))
	{
		lrc = sb_sftp_do_unlink(st, full, err);
		if (lrc != 0)
			return sb_sftp_error(st, lrc, err, "could not remove file \"%s\"",
								 full);
	}
	else if (recursive)
	{
		char	   *buf = malloc(SFTP_PATH_LEN * 4);

		if (buf == NULL)
			return sb_error_oom(err);
		strcpy(buf, full);
		rc = sftp_remove_tree(st, buf, SFTP_PATH_LEN * 4, err);
		free(buf);
		return rc;
	}
	else
	{
		lrc = sb_sftp_do_rmdir(st, full, err);
		if (lrc != 0)
			return sb_sftp_error(st, lrc, err,
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
			SbStatus	rc = sb_sftp_wait(st, err);

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

			rc = sb_sftp_error(st, lrc, err, "could not create directory \"%s\"",
							   full);
			if (rc == SB_ERR_NETWORK)
			{
				if (!last)
					*slash = '/';
				return rc;
			}
			/* an existing directory is fine, whatever mkdir said */
			if (sb_sftp_do_stat(st, full, LIBSSH2_SFTP_STAT, &attrs,
								&serr) != 0 ||
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

SbStatus
sb_sftp_mkdir(SbStorage *st, const char *path, SbError *err)
{
	char		full[SFTP_PATH_LEN];
	SbStatus	rc;

	rc = sb_sftp_ensure(st, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_sftp_full_path(st, path, full, err);
	if (rc != SB_OK)
		return rc;
	rc = sftp_mkdir_once(st, full, err);
	if (sb_sftp_retry_after(st, rc))
		rc = sftp_mkdir_once(st, full, err);
	return rc;
}
