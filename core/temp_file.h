/*-------------------------------------------------------------------------
 *
 * temp_file.h
 *		Create a new temporary file safely: the one place the project opens
 *		a file it is about to fill and rename into place.
 *
 * A temporary name next to a destination (archive-get's "<dest>.sbtmp",
 * the posix driver's "<final>.tmp.<pid>.<n>") is predictable, so anyone who
 * can write to that directory can plant a symbolic link there and have
 * the file written wherever the link points.  The file is therefore always
 * created with O_CREAT | O_EXCL | O_NOFOLLOW: an existing name is never
 * opened, and a link is never followed.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TEMP_FILE_H
#define SB_TEMP_FILE_H

#include <stdbool.h>
#include <sys/types.h>

#include "sb_error.h"

/*
 * Create path as a new file open for writing with the given mode, and
 * store its descriptor in *fd.
 *
 * If the name exists and replace_stale is true, a regular file there is
 * taken for a leftover of an earlier run (the caller's own naming) and
 * removed, then creation is tried once more; anything else there (a
 * symbolic link, a directory, a device) is refused with SB_ERR_EXISTS and
 * left alone.  If replace_stale is false, any existing name gives
 * SB_ERR_EXISTS (callers that pick a fresh name then try the next one).
 */
extern SbStatus sb_temp_file_create(const char *path, mode_t mode,
									bool replace_stale, int *fd,
									SbError *err);

#endif							/* SB_TEMP_FILE_H */
