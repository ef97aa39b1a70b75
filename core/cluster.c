/*-------------------------------------------------------------------------
 *
 * cluster.c
 *		Read a data directory's identity without a running server.
 *
 * The system identifier is the first field of pg_control, stored in the
 * machine's byte order, in every supported version.
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static SbStatus
read_small_file(const char *path, char *buf, size_t size, size_t *len,
				SbError *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t		n;

	if (fd < 0)
	{
		sb_error_errno(err, errno, "could not open file \"%s\"", path);
		if (errno == ENOENT)
			sb_error_hint(err, "Check that --pgdata names a PostgreSQL data directory.");
		return err->status;
	}
	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
	{
		int			save = errno;

		close(fd);
		return sb_error_errno(err, save, "could not read file \"%s\"", path);
	}
	close(fd);
	*len = (size_t) n;
	return SB_OK;
}

SbStatus
sb_cluster_read_info(const char *pgdata, SbStanzaInfo *info, SbError *err)
{
	char		path[SB_PATH_MAX];
	char		buf[64];
	size_t		len;
	char	   *end;
	long		v;
	SbStatus	rc;

	memset(info, 0, sizeof(*info));
	info->format_version = SB_REPO_FORMAT_VERSION;

	snprintf(path, sizeof(path), "%s/PG_VERSION", pgdata);
	rc = read_small_file(path, buf, sizeof(buf) - 1, &len, err);
	if (rc != SB_OK)
		return rc;
	buf[len] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || v < 10 || v > 1000)
		return sb_error_set(err, SB_ERR_CORRUPT, "invalid version in file \"%s\"", path);
	info->pg_version = (int) v;

	snprintf(path, sizeof(path), "%s/global/pg_control", pgdata);
	rc = read_small_file(path, buf, sizeof(uint64_t), &len, err);
	if (rc != SB_OK)
		return rc;
	if (len != sizeof(uint64_t))
		return sb_error_set(err, SB_ERR_CORRUPT, "file \"%s\" is too short", path);
	memcpy(&info->system_identifier, buf, sizeof(uint64_t));
	return SB_OK;
}
