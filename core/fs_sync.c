/*-------------------------------------------------------------------------
 *
 * fs_sync.c
 *		One syncfs() instead of two flushes per file; see fs_sync.h.
 *
 * Flushing a thousand small files one by one (file and directory) costs
 * more than writing them.  syncfs() flushes everything the file system
 * holds, whichever process wrote it, and reports writeback errors since
 * Linux 5.8.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "fs_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

SbStatus
sb_sync_file_system(const char *dir, SbError *err)
{
	int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return sb_error_errno(err, errno, "could not open directory \"%s\"", dir);
	if (syncfs(fd) != 0)
	{
		int			save = errno;

		close(fd);
		return sb_error_errno(err, save, "could not flush the file system of \"%s\"", dir);
	}
	close(fd);
	return SB_OK;
}
