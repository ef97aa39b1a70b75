/*-------------------------------------------------------------------------
 *
 * backup_sums.c
 *		The shared temporary file of a base backup's block sums; see
 *		backup_sums.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"
#include "backend/compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"

#include "file_io.h"
#include "sb_error.h"
#include "backend/report.h"
#include "worker/backup_sums.h"

/* this process's descriptor of the file, opened on first use */
static int	sums_fd = -1;
static char sums_fd_path[MAXPGPATH];

/* the leader's file, removed when it detaches from the queue */
static char created_path[MAXPGPATH];

static void
remove_sums_file(dsm_segment *seg, Datum arg)
{
	if (sums_fd >= 0 && strcmp(sums_fd_path, created_path) == 0)
	{
		close(sums_fd);
		sums_fd = -1;
	}
	if (created_path[0] != '\0' && unlink(created_path) != 0 && errno != ENOENT)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", created_path)));
	created_path[0] = '\0';
}

void
sb_backup_sums_create(dsm_segment *seg, char *path)
{
	int			fd;

	/* the default tablespace's temporary directory, made on first use */
	(void) MakePGDirectory("base/" PG_TEMP_FILES_DIR);
	snprintf(path, MAXPGPATH, "base/%s/%ssafebackup_sums.%d",
			 PG_TEMP_FILES_DIR, PG_TEMP_FILE_PREFIX, MyProcPid);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | PG_BINARY, 0600);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	if (sums_fd >= 0)
		close(sums_fd);
	sums_fd = fd;
	strlcpy(sums_fd_path, path, sizeof(sums_fd_path));
	strlcpy(created_path, path, sizeof(created_path));
	on_dsm_detach(seg, remove_sums_file, (Datum) 0);
}

static int
sums_file(const char *path)
{
	if (sums_fd >= 0 && strcmp(sums_fd_path, path) == 0)
		return sums_fd;
	if (sums_fd >= 0)
		close(sums_fd);
	sums_fd = open(path, O_RDWR | O_CLOEXEC | PG_BINARY, 0);
	if (sums_fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	strlcpy(sums_fd_path, path, sizeof(sums_fd_path));
	return sums_fd;
}

void
sb_backup_sums_write(const char *path, uint64 off, const void *buf, Size len)
{
	SbError		err;

	if (len > 0 &&
		sb_write_at(sums_file(path), path, buf, len, off, &err) != SB_OK)
		sb_report(ERROR, &err, NULL, NULL);
}

void
sb_backup_sums_read(const char *path, uint64 off, void *buf, Size len)
{
	SbError		err;
	size_t		got;

	if (len == 0)
		return;
	if (sb_read_at(sums_file(path), path, buf, len, off, &got, &err) != SB_OK)
		sb_report(ERROR, &err, NULL, NULL);
	/* never written: the sparse file's zeros */
	if (got < len)
		memset((char *) buf + got, 0, len - got);
}
