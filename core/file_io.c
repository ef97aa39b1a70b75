/*-------------------------------------------------------------------------
 *
 * file_io.c
 *		Whole reads and writes at an offset of a local file (file_io.h).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "file_io.h"

#include <errno.h>
#include <unistd.h>

SbStatus
sb_read_at(int fd, const char *path, void *buf, size_t len, uint64_t off,
		   size_t *got, SbError *err)
{
	uint8_t    *p = buf;

	*got = 0;
	while (*got < len)
	{
		ssize_t		n = pread(fd, p + *got, len - *got, (off_t) (off + *got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sb_error_errno(err, errno, "could not read file \"%s\"", path);
		if (n == 0)
			break;
		*got += (size_t) n;
	}
	return SB_OK;
}

SbStatus
sb_write_at(int fd, const char *path, const void *buf, size_t len,
			uint64_t off, SbError *err)
{
	const uint8_t *p = buf;

	while (len > 0)
	{
		ssize_t		n = pwrite(fd, p, len, (off_t) off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return sb_error_errno(err, n < 0 ? errno : ENOSPC,
								  "could not write file \"%s\"", path);
		p += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return SB_OK;
}
