/*-------------------------------------------------------------------------
 *
 * temp_file.c
 *		Create a new temporary file safely; see temp_file.h.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "temp_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_FILE_FLAGS	(O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)

static SbStatus refuse_existing(const char *path, const struct stat *st,
								SbError *err);

SbStatus
sb_temp_file_create(const char *path, mode_t mode, bool replace_stale,
					int *fd, SbError *err)
{
	struct stat st;

	*fd = open(path, TEMP_FILE_FLAGS, mode);
	if (*fd >= 0)
		return SB_OK;
	if (errno != EEXIST)
		return sb_error_errno(err, errno, "could not create file \"%s\"", path);
	if (!replace_stale)
		return sb_error_set(err, SB_ERR_EXISTS, "file \"%s\" already exists",
							path);

	/* lstat: a link is looked at, never what it points to */
	if (lstat(path, &st) != 0)
		return sb_error_errno(err, errno, "could not create file \"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return refuse_existing(path, &st, err);

	/*
	 * A leftover of ours.  If someone swaps it for a link between lstat()
	 * and unlink(), unlink() removes the link itself, and the O_EXCL open
	 * below fails if a new one appears: nothing is ever written through.
	 */
	if (unlink(path) != 0 && errno != ENOENT)
		return sb_error_errno(err, errno, "could not remove stale file \"%s\"",
							  path);
	*fd = open(path, TEMP_FILE_FLAGS, mode);
	if (*fd >= 0)
		return SB_OK;
	if (errno == EEXIST && lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return refuse_existing(path, &st, err);
	return sb_error_errno(err, errno, "could not create file \"%s\"", path);
}

static SbStatus
refuse_existing(const char *path, const struct stat *st, SbError *err)
{
	if (S_ISLNK(st->st_mode))
		sb_error_set(err, SB_ERR_EXISTS,
					 "could not create temporary file \"%s\": a symbolic link is in its place",
					 path);
	else if (S_ISDIR(st->st_mode))
		sb_error_set(err, SB_ERR_EXISTS,
					 "could not create temporary file \"%s\": a directory is in its place",
					 path);
	else
		sb_error_set(err, SB_ERR_EXISTS,
					 "could not create temporary file \"%s\": a special file is in its place",
					 path);
	sb_error_detail(err, "Temporary files are always created new, so that nothing is written through a link or into a file someone else placed there.");
	sb_error_hint(err, "Find out who created \"%s\" and remove it.", path);
	return SB_ERR_EXISTS;
}
