/*-------------------------------------------------------------------------
 *
 * sum_store.c
 *		A manifest's block sums: in memory up to a limit, then in an
 *		unnamed temporary file (sum_store.h).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sum_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_io.h"

uint64_t	sb_sum_store_mem_limit = UINT64_C(1) << 17;

#define SUM_BYTES	((uint64_t) sizeof(uint64_t))
#define SPILL_NAME	"(unnamed temporary file of block sums)"

const char *sb_sum_store_tmpdir = NULL;

const char *
sb_sum_store_dir(void)
{
	const char *dir = getenv("TMPDIR");

	if (sb_sum_store_tmpdir != NULL)
		return sb_sum_store_tmpdir;
	return dir != NULL && dir[0] != '\0' ? dir : "/var/tmp";
}

void
sb_sum_store_init(SbSumStore *s)
{
	memset(s, 0, sizeof(*s));
	s->mem_limit = sb_sum_store_mem_limit;
	s->fd = -1;
}

void
sb_sum_store_free(SbSumStore *s)
{
	free(s->mem);
	if (s->fd >= 0)
		close(s->fd);
	sb_sum_store_init(s);
}

/*
 * An unnamed file in the temporary directory: O_TMPFILE where the file
 * system has it, else a new name unlinked at once.
 */
static SbStatus
open_spill_file(SbSumStore *s, SbError *err)
{
	const char *dir = sb_sum_store_dir();
	char		path[PATH_MAX];
	int			fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	/*
	 * a directory of the caller's choice is made on first use (or by
	 * another process in the meantime: the server makes it too)
	 */
	if (fd < 0 && errno == ENOENT && sb_sum_store_tmpdir != NULL &&
		(mkdir(dir, 0700) == 0 || errno == EEXIST))
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
	{
		if (snprintf(path, sizeof(path), "%s/pg_safebackup-sums.XXXXXX", dir) >=
			(int) sizeof(path))
			return sb_error_set(err, SB_ERR_CONFIG,
								"temporary directory path \"%s\" is too long", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			(void) unlink(path);
	}
	if (fd < 0)
	{
		sb_error_errno(err, errno,
					   "could not create a temporary file for block sums in \"%s\"",
					   dir);
		if (sb_sum_store_tmpdir != NULL)
			sb_error_hint(err, "The directory needs room for 64 MB per TB of backed-up data.");
		else
			sb_error_hint(err, "Set TMPDIR to a writable directory with room for 64 MB per TB of backed-up data.");
		return err->status;
	}
	s->fd = fd;
	return SB_OK;
}

SbStatus
sb_sum_store_append(SbSumStore *s, const uint64_t *sums, uint64_t n,
					uint64_t *at, SbError *err)
{
	uint64_t	in_mem = 0;

	*at = s->count;
	if (s->count < s->mem_limit)
	{
		in_mem = s->mem_limit - s->count < n ? s->mem_limit - s->count : n;
		if (s->count + in_mem > s->mem_cap)
		{
			uint64_t	cap = s->mem_cap > 0 ? s->mem_cap : 1024;
			uint64_t   *p;

			while (cap < s->count + in_mem)
				cap *= 2;
			if (cap > s->mem_limit)
				cap = s->mem_limit;
			if (cap > SIZE_MAX / SUM_BYTES)
				return sb_error_oom(err);
			p = realloc(s->mem, (size_t) (cap * SUM_BYTES));
			if (p == NULL)
				return sb_error_oom(err);
			s->mem = p;
			s->mem_cap = cap;
		}
		memcpy(s->mem + s->count, sums, (size_t) (in_mem * SUM_BYTES));
	}
	if (in_mem < n)
	{
		SbStatus	rc;
		uint64_t	first = s->count + in_mem;

		if (s->fd < 0 && open_spill_file(s, err) != SB_OK)
			return err->status;
		if ((n - in_mem) > SIZE_MAX / SUM_BYTES)
			return sb_error_oom(err);
		rc = sb_write_at(s->fd, SPILL_NAME, sums + in_mem,
						 (size_t) ((n - in_mem) * SUM_BYTES),
						 (first - s->mem_limit) * SUM_BYTES, err);
		if (rc != SB_OK)
			return rc;
	}
	s->count += n;
	return SB_OK;
}

SbStatus
sb_sum_store_read(const SbSumStore *s, uint64_t at, uint64_t n, uint64_t *out,
				  SbError *err)
{
	uint64_t	in_mem = 0;

	if (at > s->count || n > s->count - at)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"block sums %" PRIu64 " to %" PRIu64 " asked of %" PRIu64,
							at, at + n, s->count);
	if (at < s->mem_limit)
	{
		in_mem = s->mem_limit - at < n ? s->mem_limit - at : n;
		memcpy(out, s->mem + at, (size_t) (in_mem * SUM_BYTES));
	}
	if (in_mem < n)
	{
		size_t		want = (size_t) ((n - in_mem) * SUM_BYTES);
		size_t		got;
		SbStatus	rc;

		rc = sb_read_at(s->fd, SPILL_NAME, out + in_mem, want,
						(at + in_mem - s->mem_limit) * SUM_BYTES, &got, err);
		if (rc != SB_OK)
			return rc;
		if (got != want)
			return sb_error_set(err, SB_ERR_IO,
								"temporary file of block sums is shorter than written");
	}
	return SB_OK;
}
