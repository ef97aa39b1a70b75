/*-------------------------------------------------------------------------
 *
 * storage_suite.c
 *		The reusable storage driver test suite; see storage_suite.h.
 *
 * Only the interface in core/storage.h is used to drive the storage, so the
 * same checks apply to every driver.  When a backing directory is given,
 * plain system calls are used beside it to look at the files on disk and to
 * change permissions for the fault-injection cases.
 *
 *-------------------------------------------------------------------------
 */
#include "storage_suite.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "sb_test.h"
#include "storage.h"

/* Room for a path in the local backing directory. */
#define SUITE_LOCAL_LEN		(2 * SB_PATH_MAX + 64)

/* Size of the multi-megabyte file; deliberately not a round number. */
#define SUITE_BIG_SIZE		(5 * 1024 * 1024 + 77)

/* Most entries a list() check collects. */
#define SUITE_LIST_MAX		16

typedef struct SuiteCtx
{
	SbStorage  *st;
	const SbRepoConfig *cfg;
	const char *backing;		/* NULL: no fault injection, no disk checks */
	char		base[128];		/* this run's subdirectory, relative */
} SuiteCtx;

/* What a list() callback saw. */
typedef struct ListResult
{
	int			calls;
	int			stop_after;		/* stop after this many calls; 0 = never */
	int			temp_names;		/* names that look like temporary files */
	char		names[SUITE_LIST_MAX][64];
	SbStat		stats[SUITE_LIST_MAX];
} ListResult;

/* Check a status, printing the error message when it is not as expected. */
#define CHECK_STATUS(rc, expected, err) \
	SB_CHECK_MSG((rc) == (expected), "got \"%s\" (%s), expected \"%s\"", \
				 sb_status_name(rc), (rc) != SB_OK ? (err).msg : "no error", \
				 sb_status_name(expected))

static unsigned int suite_run_counter = 0;

/* A pointer that is not NULL, to see failures reset out-parameters. */
static char not_null_target;
#define NOT_NULL	((void *) &not_null_target)


/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* Build "<base>/<suffix>" into buf (SB_PATH_MAX bytes). */
static const char *
rel_path(const SuiteCtx *c, char *buf, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static const char *
rel_path(const SuiteCtx *c, char *buf, const char *fmt,...)
{
	va_list		ap;
	int			n;

	n = snprintf(buf, SB_PATH_MAX, "%s/", c->base);
	va_start(ap, fmt);
	vsnprintf(buf + n, SB_PATH_MAX - n, fmt, ap);
	va_end(ap);
	return buf;
}

/* Build "<backing>/<relpath>" into buf (SUITE_LOCAL_LEN bytes). */
static const char *
local_path(const SuiteCtx *c, char *buf, const char *relpath)
{
	snprintf(buf, SUITE_LOCAL_LEN, "%s/%s", c->backing, relpath);
	return buf;
}

/* Fill buf with a reproducible pseudo-random byte pattern. */
static void
fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t	x = seed ? seed : 0x9e3779b9;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char) (x >> 11);
	}
}

/*
 * Write len bytes to path in chunks whose sizes cycle through chunks[] (or
 * in one call when nchunks is 0), then commit.  Returns the first failure.
 */
static SbStatus
write_chunked(SbStorage *st, const char *path, int flags, const void *data,
			  size_t len, const size_t *chunks, int nchunks, SbError *err)
{
	const unsigned char *p = data;
	SbWriter   *w;
	SbStatus	rc;
	size_t		off = 0;
	int			i = 0;

	rc = sb_storage_write_open(st, path, flags, &w, err);
	if (rc != SB_OK)
		return rc;

	while (off < len)
	{
		size_t		n = (nchunks > 0) ? chunks[i++ % nchunks] : len;

		if (n > len - off)
			n = len - off;
		rc = sb_storage_write(st, w, p + off, n, err);
		if (rc != SB_OK)
		{
			sb_storage_write_abort(st, w);
			return rc;
		}
		off += n;
	}
	return sb_storage_write_commit(st, w, err);
}

/*
 * Read the whole of path with read() calls of readsize bytes into a malloc'd
 * buffer.  Files longer than limit fail the read with SB_ERR_CORRUPT.
 */
static SbStatus
read_all(SbStorage *st, const char *path, size_t readsize, size_t limit,
		 unsigned char **out, size_t *outlen, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;
	unsigned char *buf;
	size_t		len = 0;

	*out = NULL;
	*outlen = 0;

	buf = malloc(limit + readsize);
	if (buf == NULL)
		return sb_error_oom(err);

	rc = sb_storage_read_open(st, path, &r, err);
	if (rc != SB_OK)
	{
		free(buf);
		return rc;
	}

	for (;;)
	{
		size_t		nread = 0;

		rc = sb_storage_read(st, r, buf + len, readsize, &nread, err);
		if (rc != SB_OK)
			break;
		if (nread == 0)
			break;
		if (nread > readsize)
		{
			rc = sb_error_set(err, SB_ERR_INTERNAL,
							  "read returned %zu bytes for a %zu-byte buffer",
							  nread, readsize);
			break;
		}
		len += nread;
		if (len > limit)
		{
			rc = sb_error_set(err, SB_ERR_CORRUPT, "file longer than expected");
			break;
		}
	}
	sb_storage_read_close(st, r);

	if (rc != SB_OK)
	{
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = len;
	return SB_OK;
}

/* Does path hold exactly data?  Reports its own failure details. */
static bool
content_is(SbStorage *st, const char *path, const void *data, size_t len,
		   size_t readsize)
{
	unsigned char *buf;
	size_t		buflen;
	SbError		err;
	SbStatus	rc;
	bool		same;

	sb_error_clear(&err);
	rc = read_all(st, path, readsize, len + 1, &buf, &buflen, &err);
	if (rc != SB_OK)
	{
		fprintf(stderr, "reading \"%s\": %s\n", path, err.msg);
		return false;
	}
	same = (buflen == len && (len == 0 || memcmp(buf, data, len) == 0));
	if (!same)
		fprintf(stderr, "\"%s\": %zu bytes read, %zu expected, content %s\n",
				path, buflen, len,
				buflen == len ? "differs" : "not compared");
	free(buf);
	return same;
}

/* Does a name look like an in-progress temporary file of any driver? */
static bool
looks_temporary(const char *name)
{
	return strstr(name, ".tmp") != NULL;
}

static bool
list_collect(const char *name, const SbStat *st, void *arg)
{
	ListResult *res = arg;

	if (res->calls < SUITE_LIST_MAX)
	{
		snprintf(res->names[res->calls], sizeof(res->names[0]), "%s", name);
		res->stats[res->calls] = *st;
	}
	if (looks_temporary(name))
		res->temp_names++;
	res->calls++;
	if (res->stop_after > 0 && res->calls >= res->stop_after)
		return false;
	return true;
}

/* Index of name in a list result, or -1. */
static int
list_find(const ListResult *res, const char *name)
{
	int			i;

	for (i = 0; i < res->calls && i < SUITE_LIST_MAX; i++)
		if (strcmp(res->names[i], name) == 0)
			return i;
	return -1;
}

static SbStatus
list_dir(SbStorage *st, const char *path, ListResult *res, SbError *err)
{
	memset(res, 0, sizeof(*res));
	return sb_storage_list(st, path, list_collect, res, err);
}

/* Entries of a local directory (not "." or ".."), or -1 if unreadable. */
static int
local_count_entries(const char *dirpath)
{
	DIR		   *dir;
	struct dirent *de;
	int			n = 0;

	dir = opendir(dirpath);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
	{
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(dir);
	return n;
}

/* Does the local file hold exactly data? */
static bool
local_content_is(const char *path, const void *data, size_t len)
{
	FILE	   *f;
	unsigned char *buf;
	size_t		n;
	bool		same;

	f = fopen(path, "rb");
	if (f == NULL)
	{
		fprintf(stderr, "could not open \"%s\": %s\n", path, strerror(errno));
		return false;
	}
	buf = malloc(len + 1);
	if (buf == NULL)
	{
		fclose(f);
		return false;
	}
	n = fread(buf, 1, len + 1, f);
	fclose(f);
	same = (n == len && (len == 0 || memcmp(buf, data, len) == 0));
	free(buf);
	return same;
}

static SbStatus
mkdir_rel(SuiteCtx *c, const char *suffix, SbError *err)
{
	char		p[SB_PATH_MAX];

	return sb_storage_mkdir(c->st, rel_path(c, p, "%s", suffix), err);
}

static SbStatus
put_rel(SuiteCtx *c, const char *suffix, int flags, const char *text,
		SbError *err)
{
	char		p[SB_PATH_MAX];

	return sb_storage_put(c->st, rel_path(c, p, "%s", suffix), flags, text,
						  strlen(text), err);
}


/* ---------------------------------------------------------------------
 * Cases
 * ---------------------------------------------------------------------
 */

static void
test_open(SuiteCtx *c)
{
	SbRepoConfig missing;
	SbStorage  *st2;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	char		p[SB_PATH_MAX];
	int			n;

	/* open is idempotent */
	rc = sb_storage_open(c->st, &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* close, then open again */
	sb_storage_close(c->st);
	rc = sb_storage_open(c->st, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(c->st, c->base, &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* a root that does not exist */
	missing = *c->cfg;
	n = snprintf(missing.repo_path, sizeof(missing.repo_path),
				 "%s/%s-missing", c->cfg->repo_path, c->base);
	if (n < 0 || n >= (int) sizeof(missing.repo_path))
		return;
	rc = sb_storage_create(&missing, &st2, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc != SB_OK)
		return;
	rc = sb_storage_open(st2, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(err.msg[0] != '\0');
	sb_storage_free(st2);

	/* nothing of that name appeared in the real repository */
	rc = sb_storage_stat(c->st, rel_path(c, p, "missing"), &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
}

static void
test_mkdir(SuiteCtx *c)
{
	const char *const dirs[] = {"mk", "mk/a", "mk/a/b", "mk/a/b/c"};
	char		p[SB_PATH_MAX];
	char		local[SUITE_LOCAL_LEN];
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	size_t		i;

	/* nested: every missing parent is created */
	rc = mkdir_rel(c, "mk/a/b/c", &err);
	CHECK_STATUS(rc, SB_OK, err);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
	{
		rc = sb_storage_stat(c->st, rel_path(c, p, "%s", dirs[i]), &sst, &err);
		CHECK_STATUS(rc, SB_OK, err);
		SB_CHECK_MSG(rc == SB_OK && sst.is_dir, "\"%s\" is not a directory",
					 p);
	}

	/* existing directories are fine, at any level */
	rc = mkdir_rel(c, "mk/a/b/c", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = mkdir_rel(c, "mk/a", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = mkdir_rel(c, "mk/a/b/c2", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(c->st, rel_path(c, p, "mk/a/b/c2"), &sst, &err);
	SB_CHECK(rc == SB_OK && sst.is_dir);

	/* a file in the way is an error, as last or as middle component */
	rc = put_rel(c, "mk/file", 0, "x", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = mkdir_rel(c, "mk/file", &err);
	SB_CHECK_MSG(rc != SB_OK, "mkdir over a file succeeded");
	rc = mkdir_rel(c, "mk/file/sub", &err);
	SB_CHECK_MSG(rc != SB_OK, "mkdir below a file succeeded");
	rc = sb_storage_stat(c->st, rel_path(c, p, "mk/file"), &sst, &err);
	SB_CHECK(rc == SB_OK && !sst.is_dir && sst.size == 1);

	if (c->backing)
	{
		struct stat sb;

		local_path(c, local, rel_path(c, p, "mk/a/b/c"));
		SB_CHECK_MSG(stat(local, &sb) == 0 && S_ISDIR(sb.st_mode),
					 "\"%s\" is not a directory on disk", local);
	}
}

static void
test_write_read(SuiteCtx *c)
{
	static const size_t odd_chunks[] = {
		1, 7, 4093, 65537, 3, 1000003, 131071, 2
	};
	static const char small[] = "hello, repository\n";
	unsigned char *big;
	char		p[SB_PATH_MAX];
	char		local[SUITE_LOCAL_LEN];
	SbWriter   *w;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;

	rc = mkdir_rel(c, "rw", &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* empty file: no write() call at all */
	rc = write_chunked(c->st, rel_path(c, p, "rw/empty"), 0, "", 0, NULL, 0,
					   &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && !sst.is_dir && sst.size == 0);
	SB_CHECK(content_is(c->st, p, "", 0, 4096));

	/* empty file written with a zero-length write() */
	rc = sb_storage_write_open(c->st, rel_path(c, p, "rw/empty2"), 0, &w,
							   &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_write(c->st, w, "", 0, &err);
		CHECK_STATUS(rc, SB_OK, err);
		rc = sb_storage_write_commit(c->st, w, &err);
		CHECK_STATUS(rc, SB_OK, err);
		SB_CHECK(content_is(c->st, p, "", 0, 1));
	}

	/* small file, read back with a tiny and with a large buffer */
	rc = write_chunked(c->st, rel_path(c, p, "rw/small"), 0, small,
					   strlen(small), NULL, 0, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(content_is(c->st, p, small, strlen(small), 1));
	SB_CHECK(content_is(c->st, p, small, strlen(small), 3));
	SB_CHECK(content_is(c->st, p, small, strlen(small), 1 << 20));
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && !sst.is_dir && sst.size == strlen(small));
	SB_CHECK(rc == SB_OK && sst.mtime > 0);

	/* multi-megabyte file, written in odd-sized chunks */
	big = malloc(SUITE_BIG_SIZE);
	SB_REQUIRE(big != NULL);
	fill_pattern(big, SUITE_BIG_SIZE, 12345);
	rc = write_chunked(c->st, rel_path(c, p, "rw/big.bin"), 0, big,
					   SUITE_BIG_SIZE, odd_chunks,
					   (int) (sizeof(odd_chunks) / sizeof(odd_chunks[0])),
					   &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(rc == SB_OK && sst.size == SUITE_BIG_SIZE,
				 "size %llu", (unsigned long long) sst.size);
	SB_CHECK(content_is(c->st, p, big, SUITE_BIG_SIZE, 8191));
	SB_CHECK(content_is(c->st, p, big, SUITE_BIG_SIZE, 256 * 1024));

	/* and in one single write */
	rc = write_chunked(c->st, rel_path(c, p, "rw/big1.bin"), 0, big,
					   SUITE_BIG_SIZE, NULL, 0, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(content_is(c->st, p, big, SUITE_BIG_SIZE, 1000003));

	if (c->backing)
	{
		local_path(c, local, rel_path(c, p, "rw/big.bin"));
		SB_CHECK_MSG(local_content_is(local, big, SUITE_BIG_SIZE),
					 "\"%s\" on disk differs", local);
		local_path(c, local, rel_path(c, p, "rw/small"));
		SB_CHECK_MSG(local_content_is(local, small, strlen(small)),
					 "\"%s\" on disk differs", local);
		/* exactly the committed files, no temporary files left behind */
		local_path(c, local, rel_path(c, p, "rw"));
		SB_CHECK_MSG(local_count_entries(local) == 5,
					 "%d entries in \"%s\"", local_count_entries(local), local);
	}
	free(big);
}

/*
 * Read want bytes (or to the end, want == SIZE_MAX) of path from offset,
 * with len as the ranged read's hint, in read() calls of readsize bytes.
 */
static SbStatus
read_from(SbStorage *st, const char *path, uint64_t offset, uint64_t len,
		  size_t want, size_t readsize, unsigned char *buf, size_t cap,
		  size_t *got, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;

	*got = 0;
	rc = sb_storage_read_open_at(st, path, offset, len, &r, err);
	if (rc != SB_OK)
		return rc;
	while (*got < want)
	{
		size_t		nread = 0;
		size_t		n = readsize;

		if (n > want - *got)
			n = want - *got;
		if (n > cap - *got)
			n = cap - *got;
		if (n == 0)
		{
			rc = sb_error_set(err, SB_ERR_CORRUPT, "file longer than expected");
			break;
		}
		rc = sb_storage_read(st, r, buf + *got, n, &nread, err);
		if (rc != SB_OK || nread == 0)
			break;
		*got += nread;
	}
	sb_storage_read_close(st, r);
	return rc;
}

/* Ranged reads (sb_storage_read_open_at): the driver's, or the fallback. */
static void
test_read_at(SuiteCtx *c)
{
	const uint64_t size = SUITE_BIG_SIZE;
	const struct
	{
		uint64_t	offset;
		uint64_t	len;		/* the hint */
		size_t		want;		/* SIZE_MAX: to the end */
		size_t		readsize;
	}			cases[] = {
		{0, UINT64_MAX, SIZE_MAX, 1 << 20},
		{0, 10, 10, 3},
		{1, 1, 1, 1},
		{4095, 8192, 8192, 8192},
		{1024 * 1024 - 1, 2, 2, 1},
		{4 * 1024 * 1024 + 3, 300000, 300000, 65536},
		{4 * 1024 * 1024 + 3, UINT64_MAX, SIZE_MAX, 65537},
		{size - 9, 9, 9, 9},
		{size - 9, UINT64_MAX, SIZE_MAX, 4096},
		{size - 1, 1, 1, 1},
		{size, UINT64_MAX, SIZE_MAX, 100},
		{size + 1000, 10, SIZE_MAX, 100},
	};
	unsigned char *big = malloc(size);
	unsigned char *buf = malloc(size + 1);
	char		p[SB_PATH_MAX];
	SbError		err;
	SbStatus	rc;
	SbReader   *r;
	/* the test gateway's dbstore backend answers a range with wrong bytes */
	bool		broken = c->cfg->repo_type == sb_test_repo_type("s3") &&
		getenv("S3_RANGES_BROKEN") != NULL &&
		strcmp(getenv("S3_RANGES_BROKEN"), "1") == 0;

	SB_REQUIRE(big != NULL && buf != NULL);
	if (broken)
		printf("note: this gateway answers byte ranges with wrong bytes (S3_RANGES_BROKEN=1): ranged reads are checked for their lengths only (test_s3_faults checks the driver's ranges)\n");
	fill_pattern(big, size, 777);
	rc = mkdir_rel(c, "at", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = write_chunked(c->st, rel_path(c, p, "at/big.bin"), 0, big, size,
					   NULL, 0, &err);
	CHECK_STATUS(rc, SB_OK, err);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		uint64_t	off = cases[i].offset;
		size_t		expect = off >= size ? 0 : (size_t) (size - off);
		size_t		got = 0;

		if (cases[i].want != SIZE_MAX && cases[i].want < expect)
			expect = cases[i].want;
		rc = read_from(c->st, p, off, cases[i].len, cases[i].want,
					   cases[i].readsize, buf, size + 1, &got, &err);
		CHECK_STATUS(rc, SB_OK, err);
		SB_CHECK_MSG(rc != SB_OK ||
					 (got == expect &&
					  (got == 0 || broken || memcmp(buf, big + off, got) == 0)),
					 "read at %llu (hint %llu): %zu bytes, expected %zu%s",
					 (unsigned long long) off, (unsigned long long) cases[i].len,
					 got, expect, got == expect ? ", content differs" : "");
	}

	/* a missing file, and a bad path, as for read_open */
	rc = sb_storage_read_open_at(c->st, rel_path(c, p, "at/missing"), 10, 10,
								 &r, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(r == NULL);
	rc = sb_storage_read_open_at(c->st, "../outside", 10, 10, &r, &err);
	SB_CHECK(rc != SB_OK && r == NULL);

	free(big);
	free(buf);
}

static void
test_exists_replace(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	char		local[SUITE_LOCAL_LEN];
	SbWriter   *w1;
	SbWriter   *w2;
	SbError		err;
	SbStatus	rc;
	ListResult	lr;

	rc = mkdir_rel(c, "ex", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "ex/f", 0, "version 1", &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* without SB_WRITE_REPLACE: refused, the old file unchanged */
	rc = write_chunked(c->st, rel_path(c, p, "ex/f"), 0, "version 2 longer",
					   16, NULL, 0, &err);
	CHECK_STATUS(rc, SB_ERR_EXISTS, err);
	SB_CHECK(rc != SB_ERR_EXISTS || err.msg[0] != '\0');
	SB_CHECK(content_is(c->st, p, "version 1", 9, 4096));

	/* same for an empty replacement */
	rc = write_chunked(c->st, p, 0, "", 0, NULL, 0, &err);
	CHECK_STATUS(rc, SB_ERR_EXISTS, err);
	SB_CHECK(content_is(c->st, p, "version 1", 9, 4096));

	/* with SB_WRITE_REPLACE: replaced */
	rc = write_chunked(c->st, p, SB_WRITE_REPLACE, "version 3", 9, NULL, 0,
					   &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(content_is(c->st, p, "version 3", 9, 4096));

	/* SB_WRITE_REPLACE on a new name simply creates it */
	rc = write_chunked(c->st, rel_path(c, p, "ex/g"), SB_WRITE_REPLACE, "g", 1,
					   NULL, 0, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(content_is(c->st, p, "g", 1, 4096));

	/* two writers racing for one new name: the first commit wins */
	rc = sb_storage_write_open(c->st, rel_path(c, p, "ex/race"), 0, &w1, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_write_open(c->st, p, 0, &w2, &err);
		CHECK_STATUS(rc, SB_OK, err);
		if (rc != SB_OK)
			sb_storage_write_abort(c->st, w1);
		else
		{
			rc = sb_storage_write(c->st, w1, "first", 5, &err);
			CHECK_STATUS(rc, SB_OK, err);
			rc = sb_storage_write(c->st, w2, "second", 6, &err);
			CHECK_STATUS(rc, SB_OK, err);
			rc = sb_storage_write_commit(c->st, w1, &err);
			CHECK_STATUS(rc, SB_OK, err);
			rc = sb_storage_write_commit(c->st, w2, &err);
			CHECK_STATUS(rc, SB_ERR_EXISTS, err);
			SB_CHECK(content_is(c->st, p, "first", 5, 4096));
		}
	}

	/* no temporary file is visible, and none was left on disk */
	rc = list_dir(c->st, rel_path(c, p, "ex"), &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(lr.calls == 3, "%d entries listed", lr.calls);
	SB_CHECK(lr.temp_names == 0);
	if (c->backing)
	{
		local_path(c, local, p);
		SB_CHECK_MSG(local_count_entries(local) == 3,
					 "%d entries in \"%s\"", local_count_entries(local), local);
	}
}

/*
 * A writer renamed before commit is published under the new name only; a
 * taken new name is refused like any other, and nothing is left behind.
 * Drivers without write_rename are skipped.
 */
static void
test_rename_writer(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	char		q[SB_PATH_MAX];
	char		local[SUITE_LOCAL_LEN];
	SbWriter   *w;
	SbError		err;
	SbStatus	rc;
	ListResult	lr;

	if (!sb_storage_can_rename_writer(c->st, 10))
		return;
	rc = mkdir_rel(c, "rn", &err);
	CHECK_STATUS(rc, SB_OK, err);

	rc = sb_storage_write_open(c->st, rel_path(c, p, "rn/provisional"), 0, &w,
							   &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc != SB_OK)
		return;
	rc = sb_storage_write(c->st, w, "named late", 10, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_write_rename(c->st, w, rel_path(c, q, "rn/final"), &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_write_commit(c->st, w, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(content_is(c->st, q, "named late", 10, 4096));
	rc = sb_storage_stat(c->st, p, &(SbStat) {0}, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);

	/* renamed onto an existing name: refused, the existing file kept */
	rc = sb_storage_write_open(c->st, p, 0, &w, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc != SB_OK)
		return;
	rc = sb_storage_write(c->st, w, "other", 5, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_write_rename(c->st, w, q, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_write_commit(c->st, w, &err);
	CHECK_STATUS(rc, SB_ERR_EXISTS, err);
	SB_CHECK(content_is(c->st, q, "named late", 10, 4096));

	/* an invalid new name is refused; the writer can still be aborted */
	rc = sb_storage_write_open(c->st, p, 0, &w, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc != SB_OK)
		return;
	rc = sb_storage_write_rename(c->st, w, "../escape", &err);
	SB_CHECK(rc != SB_OK);
	sb_storage_write_abort(c->st, w);

	/* a name in another directory: refused at rename or at commit */
	rc = mkdir_rel(c, "rn-other", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_write_open(c->st, p, 0, &w, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc != SB_OK)
		return;
	rc = sb_storage_write_rename(c->st, w, rel_path(c, q, "rn-other/moved"), &err);
	if (rc == SB_OK)
		rc = sb_storage_write_commit(c->st, w, &err);
	else
		sb_storage_write_abort(c->st, w);
	SB_CHECK_MSG(rc != SB_OK, "a writer was published in another directory");
	rc = sb_storage_stat(c->st, q, &(SbStat) {0}, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	rel_path(c, p, "rn/provisional");

	/* only the final file, no temporary one, listed or on disk */
	rc = list_dir(c->st, rel_path(c, p, "rn"), &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(lr.calls == 1 && lr.temp_names == 0, "%d entries listed",
				 lr.calls);
	if (c->backing)
	{
		local_path(c, local, p);
		SB_CHECK_MSG(local_count_entries(local) == 1,
					 "%d entries in \"%s\"", local_count_entries(local), local);
	}
}

/*
 * Files committed with SB_WRITE_DEFER_SYNC are published at once, keep
 * the no-overwrite rule, and sb_storage_sync() makes them durable (drivers
 * that cannot defer flush each file and have nothing left to do).
 */
static void
test_deferred_sync(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	SbError		err;
	SbStatus	rc;

	rc = mkdir_rel(c, "ds", &err);
	CHECK_STATUS(rc, SB_OK, err);
	for (int i = 0; i < 20; i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "ds/f%d", i);
		rc = sb_storage_put(c->st, rel_path(c, p, "%s", name), SB_WRITE_DEFER_SYNC,
							name, strlen(name), &err);
		CHECK_STATUS(rc, SB_OK, err);
		SB_CHECK(content_is(c->st, p, name, strlen(name), 4096));
	}
	rc = sb_storage_put(c->st, rel_path(c, p, "ds/f3"), SB_WRITE_DEFER_SYNC,
						"other", 5, &err);
	CHECK_STATUS(rc, SB_ERR_EXISTS, err);
	SB_CHECK(content_is(c->st, p, "ds/f3", 5, 4096));
	rc = sb_storage_sync(c->st, &err);
	CHECK_STATUS(rc, SB_OK, err);
}

static void
test_abort(SuiteCtx *c)
{
	unsigned char *data;
	char		p[SB_PATH_MAX];
	char		dirp[SB_PATH_MAX];
	char		local[SUITE_LOCAL_LEN];
	SbWriter   *w;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	ListResult	lr;
	size_t		len;

	rc = mkdir_rel(c, "ab", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rel_path(c, dirp, "ab");

	data = malloc(100000);
	SB_REQUIRE(data != NULL);
	fill_pattern(data, 100000, 777);

	rc = sb_storage_write_open(c->st, rel_path(c, p, "ab/f"), 0, &w, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_write(c->st, w, data, 100000, &err);
		CHECK_STATUS(rc, SB_OK, err);

		/* while the write is in progress, nothing is visible */
		rc = sb_storage_stat(c->st, p, &sst, &err);
		CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
		rc = list_dir(c->st, dirp, &lr, &err);
		CHECK_STATUS(rc, SB_OK, err);
		SB_CHECK_MSG(lr.calls == 0, "%d entries listed during a write, first \"%s\"",
					 lr.calls, lr.names[0]);

		sb_storage_write_abort(c->st, w);
	}
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);

	/* abort right after open */
	rc = sb_storage_write_open(c->st, rel_path(c, p, "ab/g"), 0, &w, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
		sb_storage_write_abort(c->st, w);
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);

	free(data);

	/* a reader of the aborted name finds nothing */
	rc = read_all(c->st, rel_path(c, p, "ab/f"), 4096, 200000, &data, &len,
				  &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(data == NULL);
	free(data);

	rc = list_dir(c->st, dirp, &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(lr.calls == 0, "%d entries listed after abort", lr.calls);

	if (c->backing)
	{
		local_path(c, local, dirp);
		SB_CHECK_MSG(local_count_entries(local) == 0,
					 "%d entries in \"%s\"", local_count_entries(local), local);
	}
}

static void
test_read_missing(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	SbReader   *r = NOT_NULL;
	SbError		err;
	SbStatus	rc;

	rc = sb_storage_read_open(c->st, rel_path(c, p, "no-such-file"), &r, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(r == NULL);
	SB_CHECK(err.msg[0] != '\0');

	rc = sb_storage_read_open(c->st, rel_path(c, p, "no-such-dir/file"), &r,
							  &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	if (rc == SB_OK)
		sb_storage_read_close(c->st, r);
}

static void
test_stat(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	time_t		now = time(NULL);

	rc = mkdir_rel(c, "st/dir", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "st/file", 0, "0123456789", &err);
	CHECK_STATUS(rc, SB_OK, err);

	memset(&sst, 0xff, sizeof(sst));
	rc = sb_storage_stat(c->st, rel_path(c, p, "st/file"), &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && !sst.is_dir);
	SB_CHECK(rc == SB_OK && sst.size == 10);
	/* a day of slack for a remote repository's clock */
	SB_CHECK_MSG(rc == SB_OK && sst.mtime > (int64_t) now - 86400 &&
				 sst.mtime < (int64_t) now + 86400,
				 "mtime %lld, now %lld",
				 (long long) sst.mtime, (long long) now);

	memset(&sst, 0, sizeof(sst));
	rc = sb_storage_stat(c->st, rel_path(c, p, "st/dir"), &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && sst.is_dir);

	rc = sb_storage_stat(c->st, rel_path(c, p, "st/missing"), &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	rc = sb_storage_stat(c->st, rel_path(c, p, "st/missing/deeper"), &sst,
						 &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
}

static void
test_list(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	SbError		err;
	SbStatus	rc;
	ListResult	lr;
	int			i;

	rc = mkdir_rel(c, "ls/sub", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = mkdir_rel(c, "ls/empty", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "ls/a", 0, "abc", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "ls/b", 0, "", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "ls/c.data", 0, "0123456789012345678901234567890123456789",
				 &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "ls/sub/hidden", 0, "not listed at the top", &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* every entry once, not recursing */
	rc = list_dir(c->st, rel_path(c, p, "ls"), &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(lr.calls == 5, "%d entries listed", lr.calls);
	SB_CHECK(list_find(&lr, "hidden") < 0);
	SB_CHECK(list_find(&lr, ".") < 0 && list_find(&lr, "..") < 0);

	i = list_find(&lr, "a");
	SB_CHECK(i >= 0 && !lr.stats[i].is_dir && lr.stats[i].size == 3);
	i = list_find(&lr, "b");
	SB_CHECK(i >= 0 && !lr.stats[i].is_dir && lr.stats[i].size == 0);
	i = list_find(&lr, "c.data");
	SB_CHECK(i >= 0 && !lr.stats[i].is_dir && lr.stats[i].size == 40);
	i = list_find(&lr, "sub");
	SB_CHECK(i >= 0 && lr.stats[i].is_dir);
	i = list_find(&lr, "empty");
	SB_CHECK(i >= 0 && lr.stats[i].is_dir);

	/* the callback stops the listing */
	memset(&lr, 0, sizeof(lr));
	lr.stop_after = 1;
	rc = sb_storage_list(c->st, p, list_collect, &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(lr.calls == 1, "%d calls after asking to stop", lr.calls);

	memset(&lr, 0, sizeof(lr));
	lr.stop_after = 3;
	rc = sb_storage_list(c->st, p, list_collect, &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(lr.calls == 3, "%d calls after asking to stop", lr.calls);

	/* an empty directory */
	rc = list_dir(c->st, rel_path(c, p, "ls/empty"), &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(lr.calls == 0);

	/* a missing directory */
	rc = list_dir(c->st, rel_path(c, p, "ls/missing"), &lr, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(lr.calls == 0);

	/* a file is not a directory */
	rc = list_dir(c->st, rel_path(c, p, "ls/a"), &lr, &err);
	SB_CHECK_MSG(rc != SB_OK, "listing a file succeeded");
}

static void
test_remove(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	char		local[SUITE_LOCAL_LEN];
	SbError		err;
	SbStatus	rc;
	SbStat		sst;

	rc = mkdir_rel(c, "rm/tree/y/z", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = mkdir_rel(c, "rm/tree/emptydir", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "rm/tree/x", 0, "x", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "rm/tree/y/z/w", 0, "w", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "rm/tree/y/v", 0, "", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "rm/file", 0, "to be removed", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "rm/file2", 0, "removed recursively", &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* a file */
	rc = sb_storage_remove(c->st, rel_path(c, p, "rm/file"), false, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);

	/* again: it is gone */
	rc = sb_storage_remove(c->st, p, false, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	rc = sb_storage_remove(c->st, p, true, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	rc = sb_storage_remove(c->st, rel_path(c, p, "rm/missing/deeper"), true,
						   &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);

	/* recursive on a plain file removes just the file */
	rc = sb_storage_remove(c->st, rel_path(c, p, "rm/file2"), true, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);

	/* not recursive: a non-empty directory stays */
	rc = sb_storage_remove(c->st, rel_path(c, p, "rm/tree"), false, &err);
	SB_CHECK_MSG(rc != SB_OK, "non-recursive remove of a full directory succeeded");
	rc = sb_storage_stat(c->st, rel_path(c, p, "rm/tree/y/z/w"), &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* recursive: the whole tree goes, its parent stays */
	rc = sb_storage_remove(c->st, rel_path(c, p, "rm/tree"), true, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(c->st, p, &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	rc = sb_storage_stat(c->st, rel_path(c, p, "rm"), &sst, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && sst.is_dir);

	if (c->backing)
	{
		local_path(c, local, p);
		SB_CHECK_MSG(local_count_entries(local) == 0,
					 "%d entries in \"%s\"", local_count_entries(local), local);
	}
}

static void
test_invalid_paths(SuiteCtx *c)
{
	char		bad[16][SB_PATH_MAX + 8];
	char		p[SB_PATH_MAX];
	int			nbad = 0;
	int			i;
	SbError		err;
	SbStatus	rc;
	ListResult	lr;

	rc = mkdir_rel(c, "inv", &err);
	CHECK_STATUS(rc, SB_OK, err);

	strcpy(bad[nbad++], "/abs");
	strcpy(bad[nbad++], "a/../b");
	strcpy(bad[nbad++], "");
	strcpy(bad[nbad++], "a//b");
	strcpy(bad[nbad++], "a/");
	strcpy(bad[nbad++], ".");
	strcpy(bad[nbad++], "..");
	strcpy(bad[nbad++], "../a");
	snprintf(bad[nbad++], sizeof(bad[0]), "%s/inv/../inv/x", c->base);
	snprintf(bad[nbad++], sizeof(bad[0]), "%s/inv/./x", c->base);
	snprintf(bad[nbad++], sizeof(bad[0]), "%s/inv//x", c->base);
	snprintf(bad[nbad++], sizeof(bad[0]), "%s/inv/x/", c->base);
	snprintf(bad[nbad++], sizeof(bad[0]), "%s/inv/x/.", c->base);
	snprintf(bad[nbad++], sizeof(bad[0]), "%s/inv/", c->base);
	/* too long: SB_PATH_MAX characters */
	snprintf(bad[nbad], sizeof(bad[0]), "%s/inv/", c->base);
	i = (int) strlen(bad[nbad]);
	memset(bad[nbad] + i, 'x', SB_PATH_MAX - i);
	bad[nbad][SB_PATH_MAX] = '\0';
	nbad++;

	for (i = 0; i < nbad; i++)
	{
		const char *path = bad[i];
		SbWriter   *w = NOT_NULL;
		SbReader   *r = NOT_NULL;
		SbStat		sst;
		char	   *buf = NOT_NULL;
		size_t		len;

		rc = sb_storage_write_open(c->st, path, 0, &w, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "write_open(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));
		SB_CHECK(w == NULL);
		if (rc == SB_OK)
			sb_storage_write_abort(c->st, w);

		rc = sb_storage_write_open(c->st, path, SB_WRITE_REPLACE, &w, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "write_open(\"%.40s\", REPLACE) gave \"%s\"",
					 path, sb_status_name(rc));
		if (rc == SB_OK)
			sb_storage_write_abort(c->st, w);

		rc = sb_storage_read_open(c->st, path, &r, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "read_open(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));
		SB_CHECK(r == NULL);
		if (rc == SB_OK)
			sb_storage_read_close(c->st, r);

		rc = sb_storage_stat(c->st, path, &sst, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "stat(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));

		memset(&lr, 0, sizeof(lr));
		rc = sb_storage_list(c->st, path, list_collect, &lr, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "list(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));
		SB_CHECK(lr.calls == 0);

		rc = sb_storage_remove(c->st, path, false, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "remove(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));
		rc = sb_storage_remove(c->st, path, true, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "remove(\"%.40s\", recursive) gave \"%s\"",
					 path, sb_status_name(rc));

		rc = sb_storage_mkdir(c->st, path, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "mkdir(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));

		rc = sb_storage_put(c->st, path, 0, "x", 1, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "put(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));

		rc = sb_storage_get(c->st, path, 1024, &buf, &len, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG, "get(\"%.40s\") gave \"%s\"",
					 path, sb_status_name(rc));
		SB_CHECK(buf == NULL);
		if (rc == SB_OK)
			free(buf);

		/* the message names the path */
		SB_CHECK(err.msg[0] != '\0');
	}

	/* nothing was created in the directory the bad paths pointed into */
	rc = list_dir(c->st, rel_path(c, p, "inv"), &lr, &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK_MSG(lr.calls == 0, "%d entries listed, first \"%s\"", lr.calls,
				 lr.names[0]);

	/* names that merely contain dots are fine */
	rc = put_rel(c, "inv/.hidden", 0, "h", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "inv/a..b", 0, "ab", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = mkdir_rel(c, "inv/...", &err);
	CHECK_STATUS(rc, SB_OK, err);
}

static void
test_put_get(SuiteCtx *c)
{
	static const char text[] = "{\"format\": 1, \"stanza\": \"main\"}\n";
	size_t		tlen = strlen(text);
	unsigned char *big;
	char		p[SB_PATH_MAX];
	char	   *buf;
	size_t		len;
	SbError		err;
	SbStatus	rc;

	rc = mkdir_rel(c, "pg", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "pg/meta.json", 0, text, &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* whole file, NUL-terminated */
	rc = sb_storage_get(c->st, rel_path(c, p, "pg/meta.json"), 4096, &buf,
						&len, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		SB_CHECK(len == tlen && memcmp(buf, text, tlen) == 0);
		SB_CHECK(buf[len] == '\0');
		free(buf);
	}

	/* max_len exactly the size is enough */
	rc = sb_storage_get(c->st, p, tlen, &buf, &len, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		SB_CHECK(len == tlen && strcmp(buf, text) == 0);
		free(buf);
	}

	/* one byte less is not */
	buf = NOT_NULL;
	rc = sb_storage_get(c->st, p, tlen - 1, &buf, &len, &err);
	CHECK_STATUS(rc, SB_ERR_CORRUPT, err);
	SB_CHECK(buf == NULL && len == 0);
	if (rc == SB_OK)
		free(buf);
	rc = sb_storage_get(c->st, p, 0, &buf, &len, &err);
	CHECK_STATUS(rc, SB_ERR_CORRUPT, err);

	/* put onto an existing name */
	rc = put_rel(c, "pg/meta.json", 0, "other", &err);
	CHECK_STATUS(rc, SB_ERR_EXISTS, err);
	SB_CHECK(content_is(c->st, p, text, tlen, 4096));
	rc = put_rel(c, "pg/meta.json", SB_WRITE_REPLACE, "other", &err);
	CHECK_STATUS(rc, SB_OK, err);
	SB_CHECK(content_is(c->st, p, "other", 5, 4096));

	/* empty file */
	rc = put_rel(c, "pg/empty", 0, "", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_get(c->st, rel_path(c, p, "pg/empty"), 0, &buf, &len,
						&err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		SB_CHECK(len == 0 && buf != NULL && buf[0] == '\0');
		free(buf);
	}

	/* a larger file: the buffer grows, the limit still applies */
	big = malloc(300000);
	SB_REQUIRE(big != NULL);
	fill_pattern(big, 300000, 4242);
	rc = sb_storage_put(c->st, rel_path(c, p, "pg/big"), 0, big, 300000, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_get(c->st, p, 1 << 20, &buf, &len, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		SB_CHECK(len == 300000 && memcmp(buf, big, len) == 0);
		SB_CHECK(buf[len] == '\0');
		free(buf);
	}
	rc = sb_storage_get(c->st, p, 300000, &buf, &len, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
		free(buf);
	rc = sb_storage_get(c->st, p, 299999, &buf, &len, &err);
	CHECK_STATUS(rc, SB_ERR_CORRUPT, err);
	SB_CHECK(buf == NULL);
	rc = sb_storage_get(c->st, p, 100000, &buf, &len, &err);
	CHECK_STATUS(rc, SB_ERR_CORRUPT, err);
	free(big);

	/* missing file */
	rc = sb_storage_get(c->st, rel_path(c, p, "pg/missing"), 4096, &buf, &len,
						&err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(buf == NULL);

	/* put into a missing directory: the caller has to mkdir first */
	rc = put_rel(c, "pg/nodir/file", 0, "x", &err);
	SB_CHECK_MSG(rc != SB_OK, "put into a missing directory succeeded");
}

/*
 * Fault injection through the backing directory: a read-only directory and
 * an unreadable file.  Root ignores permissions, so these are skipped then.
 */
static void
test_permissions(SuiteCtx *c)
{
	char		p[SB_PATH_MAX];
	char		rodir[SUITE_LOCAL_LEN];
	char		secret[SUITE_LOCAL_LEN];
	struct stat sb;
	mode_t		dir_mode;
	mode_t		file_mode;
	SbWriter   *w;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	char	   *buf;
	size_t		len;

	if (c->backing == NULL)
		return;
	if (geteuid() == 0)
	{
		printf("note: running as root, skipping the permission cases of the storage suite\n");
		return;
	}

	/* a read-only directory: nothing can be created in it */
	rc = mkdir_rel(c, "perm/ro", &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = put_rel(c, "perm/ro/keep", 0, "kept", &err);
	CHECK_STATUS(rc, SB_OK, err);
	local_path(c, rodir, rel_path(c, p, "perm/ro"));
	SB_REQUIRE(stat(rodir, &sb) == 0);
	dir_mode = sb.st_mode & 07777;
	SB_REQUIRE(chmod(rodir, 0500) == 0);

	rc = sb_storage_write_open(c->st, rel_path(c, p, "perm/ro/new"), 0, &w,
							   &err);
	if (rc == SB_OK)
	{
		/* a driver may fail only when it publishes the file */
		rc = sb_storage_write(c->st, w, "data", 4, &err);
		if (rc == SB_OK)
			rc = sb_storage_write_commit(c->st, w, &err);
		else
			sb_storage_write_abort(c->st, w);
	}
	CHECK_STATUS(rc, SB_ERR_PERMISSION, err);
	rc = sb_storage_put(c->st, p, SB_WRITE_REPLACE, "data", 4, &err);
	CHECK_STATUS(rc, SB_ERR_PERMISSION, err);
	rc = sb_storage_put(c->st, rel_path(c, p, "perm/ro/keep"),
						SB_WRITE_REPLACE, "new", 3, &err);
	CHECK_STATUS(rc, SB_ERR_PERMISSION, err);
	rc = mkdir_rel(c, "perm/ro/sub", &err);
	CHECK_STATUS(rc, SB_ERR_PERMISSION, err);
	rc = sb_storage_remove(c->st, rel_path(c, p, "perm/ro/keep"), false, &err);
	CHECK_STATUS(rc, SB_ERR_PERMISSION, err);

	/* nothing left behind, the existing file untouched */
	SB_CHECK_MSG(local_count_entries(rodir) == 1, "%d entries in \"%s\"",
				 local_count_entries(rodir), rodir);
	rc = sb_storage_stat(c->st, rel_path(c, p, "perm/ro/new"), &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(content_is(c->st, rel_path(c, p, "perm/ro/keep"), "kept", 4, 64));

	SB_CHECK(chmod(rodir, dir_mode) == 0);

	/* writable again */
	rc = put_rel(c, "perm/ro/new", 0, "data", &err);
	CHECK_STATUS(rc, SB_OK, err);

	/* an unreadable file */
	rc = put_rel(c, "perm/secret", 0, "secret", &err);
	CHECK_STATUS(rc, SB_OK, err);
	local_path(c, secret, rel_path(c, p, "perm/secret"));
	SB_REQUIRE(stat(secret, &sb) == 0);
	file_mode = sb.st_mode & 07777;
	SB_REQUIRE(chmod(secret, 0) == 0);

	{
		SbReader   *r;

		rc = sb_storage_read_open(c->st, p, &r, &err);
		CHECK_STATUS(rc, SB_ERR_PERMISSION, err);
		if (rc == SB_OK)
			sb_storage_read_close(c->st, r);
	}
	rc = sb_storage_get(c->st, p, 1024, &buf, &len, &err);
	CHECK_STATUS(rc, SB_ERR_PERMISSION, err);
	if (rc == SB_OK)
		free(buf);

	SB_CHECK(chmod(secret, file_mode) == 0);
	SB_CHECK(content_is(c->st, p, "secret", 6, 64));
}


/* ---------------------------------------------------------------------
 * Entry point
 * ---------------------------------------------------------------------
 */

int
sb_storage_suite_run(const SbRepoConfig *cfg, const char *backing_dir)
{
	int			failed_before = sb_test_failed;
	SuiteCtx	ctx;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.backing = backing_dir;
	snprintf(ctx.base, sizeof(ctx.base), "sb-suite-%ld-%ld-%u",
			 (long) getpid(), (long) time(NULL), ++suite_run_counter);

	sb_error_clear(&err);
	rc = sb_storage_create(cfg, &ctx.st, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc != SB_OK)
		return sb_test_failed - failed_before;

	rc = sb_storage_open(ctx.st, &err);
	CHECK_STATUS(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_mkdir(ctx.st, ctx.base, &err);
		CHECK_STATUS(rc, SB_OK, err);
	}
	if (rc != SB_OK)
	{
		sb_storage_free(ctx.st);
		return sb_test_failed - failed_before;
	}

	test_open(&ctx);
	test_mkdir(&ctx);
	test_write_read(&ctx);
	test_read_at(&ctx);
	test_exists_replace(&ctx);
	test_rename_writer(&ctx);
	test_deferred_sync(&ctx);
	test_abort(&ctx);
	test_read_missing(&ctx);
	test_stat(&ctx);
	test_list(&ctx);
	test_remove(&ctx);
	test_invalid_paths(&ctx);
	test_put_get(&ctx);
	test_permissions(&ctx);

	/* clean up, which also exercises a recursive remove of a large tree */
	rc = sb_storage_remove(ctx.st, ctx.base, true, &err);
	CHECK_STATUS(rc, SB_OK, err);
	rc = sb_storage_stat(ctx.st, ctx.base, &sst, &err);
	CHECK_STATUS(rc, SB_ERR_NOT_FOUND, err);
	if (backing_dir)
	{
		char		local[SUITE_LOCAL_LEN];
		struct stat sb;

		local_path(&ctx, local, ctx.base);
		SB_CHECK_MSG(stat(local, &sb) != 0 && errno == ENOENT,
					 "\"%s\" still exists", local);
	}

	sb_storage_close(ctx.st);
	sb_storage_free(ctx.st);

	return sb_test_failed - failed_before;
}
