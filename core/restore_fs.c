/*-------------------------------------------------------------------------
 *
 * restore_fs.c
 *		Local file system helpers of the restore: joining paths, creating
 *		directories, fsync, checking a directory is empty, writing a file.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ----------------------------------------------------------------
 *		Local file system helpers
 * ----------------------------------------------------------------
 */

SbStatus
sb_restore_join_path(char *out, const char *dir, const char *rel, SbError *err)
{
	int			n = snprintf(out, RESTORE_PATH_LEN, "%s/%s", dir, rel);

	if (n < 0 || n >= RESTORE_PATH_LEN)
		return sb_error_errno(err, ENAMETOOLONG, "could not create \"%s/%s\"",
							  dir, rel);
	return SB_OK;
}

/* Create path and its missing parents with mode; existing dirs are fine. */
SbStatus
sb_restore_mkdir_p(const char *path, mode_t mode, SbError *err)
{
	char		buf[RESTORE_PATH_LEN];
	char	   *p;
	struct stat sb;

	if (strlen(path) >= sizeof(buf))
		return sb_error_errno(err, ENAMETOOLONG,
							  "could not create directory \"%s\"", path);
	strcpy(buf, path);
	for (p = buf + 1;; p++)
	{
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/')
		{
			char		save = *p;

			*p = '\0';
			if (stat(buf, &sb) == 0)
			{
				if (!S_ISDIR(sb.st_mode))
					return sb_error_errno(err, ENOTDIR,
										  "could not create directory \"%s\"", buf);
			}
			else if (errno != ENOENT)
				return sb_error_errno(err, errno,
									  "could not access directory \"%s\"", buf);
			else if (mkdir(buf, mode) != 0 && errno != EEXIST)
				return sb_error_errno(err, errno,
									  "could not create directory \"%s\"", buf);
			*p = save;
		}
		if (*p == '\0')
			break;
	}
	return SB_OK;
}

SbStatus
sb_restore_fsync_path(const char *path, bool is_dir, SbError *err)
{
	int			fd;

	fd = open(path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open \"%s\"", path);
	/* as in PostgreSQL, some file systems cannot fsync a directory */
	if (fsync(fd) != 0 && !(is_dir && (errno == EBADF || errno == EINVAL)))
	{
		int			save = errno;

		close(fd);
		return sb_error_errno(err, save, "could not fsync \"%s\"", path);
	}
	close(fd);
	return SB_OK;
}

SbStatus
sb_restore_fsync_parent(const char *path, SbError *err)
{
	char		buf[RESTORE_PATH_LEN];
	char	   *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return sb_restore_fsync_path(".", true, err);
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	return sb_restore_fsync_path(buf, true, err);
}

/*
 * Check that dir is missing or an empty directory (*exists tells which).
 * what names it in messages ("target directory", "tablespace directory").
 */
SbStatus
sb_restore_check_empty_dir(const char *dir, const char *what, bool check_pid,
						   bool *exists, SbError *err)
{
	struct stat sb;
	DIR		   *d;
	struct dirent *de;
	bool		has_entries = false;
	bool		has_pid = false;

	*exists = false;
	if (stat(dir, &sb) != 0)
	{
		if (errno == ENOENT)
			return SB_OK;
		return sb_error_errno(err, errno, "could not access %s \"%s\"", what, dir);
	}
	if (!S_ISDIR(sb.st_mode))
	{
		sb_error_set(err, SB_ERR_EXISTS, "%s \"%s\" exists and is not a directory",
					 what, dir);
		sb_error_hint(err, "Restore into a new or empty directory.");
		return SB_ERR_EXISTS;
	}
	*exists = true;
	d = opendir(dir);
	if (d == NULL)
		return sb_error_errno(err, errno, "could not open %s \"%s\"", what, dir);
	for (;;)
	{
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		has_entries = true;
		if (strcmp(de->d_name, "postmaster.pid") == 0)
			has_pid = true;
	}
	if (errno != 0)
	{
		int			save = errno;

		closedir(d);
		return sb_error_errno(err, save, "could not read %s \"%s\"", what, dir);
	}
	closedir(d);

	if (check_pid && has_pid)
	{
		sb_error_set(err, SB_ERR_EXISTS,
					 "a server seems to be running in %s \"%s\"", what, dir);
		sb_error_detail(err, "The directory contains a postmaster.pid file.");
		sb_error_hint(err, "Stop that server, and restore into a new or empty directory.");
		return SB_ERR_EXISTS;
	}
	if (has_entries)
	{
		sb_error_set(err, SB_ERR_EXISTS, "%s \"%s\" exists and is not empty",
					 what, dir);
		sb_error_hint(err, "Restore into a new or empty directory, or empty this one first.");
		return SB_ERR_EXISTS;
	}
	return SB_OK;
}

/*
 * Write data to path: create (or truncate) it, or append when append is
 * true, making sure the appended text starts on a new line.  fsync'd.
 * A symbolic link at path is refused, never followed.
 */
SbStatus
sb_restore_write_local_file(const char *path, const char *data, size_t len,
							bool append, SbError *err)
{
	int			fd;
	int			flags = O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_RDWR | O_APPEND : O_WRONLY | O_TRUNC);
	struct stat sb;
	char		last;
	SbStatus	rc = SB_OK;

	fd = open(path, flags, 0600);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open file \"%s\"", path);

	if (append)
	{
		errno = 0;
		if (fstat(fd, &sb) != 0)
			rc = sb_error_errno(err, errno, "could not stat file \"%s\"", path);
		else if (sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) != 1)
			rc = sb_error_errno(err, errno ? errno : EIO,
								"could not read file \"%s\"", path);
		else if (sb.st_size > 0 && last != '\n' && write(fd, "\n", 1) != 1)
			rc = sb_error_errno(err, errno ? errno : ENOSPC,
								"could not write file \"%s\"", path);
	}
	while (rc == SB_OK && len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			rc = sb_error_errno(err, n < 0 ? errno : ENOSPC,
								"could not write file \"%s\"", path);
			break;
		}
		data += n;
		len -= (size_t) n;
	}
	if (rc == SB_OK && fsync(fd) != 0)
		rc = sb_error_errno(err, errno, "could not fsync file \"%s\"", path);
	if (close(fd) != 0 && rc == SB_OK)
		rc = sb_error_errno(err, errno, "could not close file \"%s\"", path);
	return rc;
}
