/*-------------------------------------------------------------------------
 *
 * test_storage.c
 *		Unit tests for the repository settings helpers and the posix
 *		storage driver.
 *
 * The posix driver is run through the shared driver suite (storage_suite.c)
 * in a fresh temporary directory, followed by a few checks that only make
 * sense for posix: the root path rules and the temporary files on disk.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sb_config.h"
#include "sb_error.h"
#include "sb_test.h"
#include "storage.h"
#include "storage_suite.h"

SB_TEST_DEFINE_COUNTERS;

static void test_config(void);
static void test_path_valid(void);
static void test_create(void);
static void test_posix_specific(const char *tmpdir);
static bool count_entries(const char *name, const SbStat *st, void *arg);
static int	local_find_prefix(const char *dirpath, const char *prefix,
							  char *found);
static int	remove_local_tree(const char *path);

static void
test_config(void)
{
	SbRepoConfig cfg;
	SbRepoType	rt;
	SbCompressType ct;
	char		name[80];

	memset(&cfg, 0x7f, sizeof(cfg));
	sb_config_init(&cfg);
	SB_CHECK(cfg.repo_type == SB_REPO_POSIX);
	SB_CHECK(cfg.repo_path[0] == '\0');
	SB_CHECK(strcmp(cfg.stanza, "main") == 0);
	SB_CHECK(cfg.compress_type == SB_COMPRESS_ZSTD);
	SB_CHECK(cfg.compress_level == 1);
	SB_CHECK(cfg.io_timeout_ms == 60000);

	SB_CHECK(sb_repo_type_parse("posix", &rt) && rt == SB_REPO_POSIX);
	SB_CHECK(sb_repo_type_parse("sftp", &rt) && rt == sb_test_repo_type("sftp"));
	SB_CHECK(sb_repo_type_parse("tls", &rt) && rt == sb_test_repo_type("tls"));
	SB_CHECK(sb_repo_type_parse("SFTP", &rt) && rt == sb_test_repo_type("sftp"));
	rt = sb_test_repo_type("tls");
	SB_CHECK(sb_repo_type_parse("S3", &rt) && rt == sb_test_repo_type("s3"));
	SB_CHECK(strcmp(sb_repo_type_name(rt), "s3") == 0);
	rt = sb_test_repo_type("tls");
	SB_CHECK(!sb_repo_type_parse("gcs", &rt) && rt == sb_test_repo_type("tls"));
	SB_CHECK(!sb_repo_type_parse("", &rt));
	SB_CHECK(!sb_repo_type_parse(NULL, &rt));
	SB_CHECK(strcmp(sb_repo_type_name(SB_REPO_POSIX), "posix") == 0);
	SB_CHECK(strcmp(sb_repo_type_name(sb_test_repo_type("sftp")), "sftp") == 0);
	SB_CHECK(strcmp(sb_repo_type_name(sb_test_repo_type("tls")), "tls") == 0);
	SB_CHECK(sb_repo_type_name((SbRepoType) 42) != NULL);

	SB_CHECK(sb_compress_type_parse("none", &ct) && ct == SB_COMPRESS_NONE);
	SB_CHECK(sb_compress_type_parse("zlib", &ct) && ct == SB_COMPRESS_ZLIB);
	SB_CHECK(!sb_compress_type_parse("gzip", &ct));
	SB_CHECK(!sb_compress_type_parse(NULL, &ct));
	SB_CHECK(strcmp(sb_compress_type_name(SB_COMPRESS_NONE), "none") == 0);
	SB_CHECK(strcmp(sb_compress_type_name(SB_COMPRESS_ZLIB), "zlib") == 0);
	SB_CHECK(sb_compress_type_name((SbCompressType) 42) != NULL);
	SB_CHECK(sb_compress_type_parse("lz4", &ct) && ct == SB_COMPRESS_LZ4);
	SB_CHECK(sb_compress_type_parse("ZSTD", &ct) && ct == SB_COMPRESS_ZSTD);
	SB_CHECK(strcmp(sb_compress_type_name(SB_COMPRESS_LZ4), "lz4") == 0);
	SB_CHECK(strcmp(sb_compress_type_name(SB_COMPRESS_ZSTD), "zstd") == 0);

	/* one table of suffixes and level ranges */
	{
		static const struct
		{
			SbCompressType type;
			const char *suffix;
			int			min;
			int			max;
		}			t[] = {
			{SB_COMPRESS_NONE, "", 0, 0},
			{SB_COMPRESS_ZLIB, ".gz", 0, 9},
			{SB_COMPRESS_LZ4, ".lz4", 1, 12},
			{SB_COMPRESS_ZSTD, ".zst", 1, 19},
		};

		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		{
			int			min = -5;
			int			max = -5;

			SB_CHECK(strcmp(sb_compress_suffix(t[i].type), t[i].suffix) == 0);
			SB_CHECK(sb_compress_type_from_suffix(t[i].suffix, &ct) && ct == t[i].type);
			SB_CHECK(sb_compress_level_range(t[i].type, &min, &max) &&
					 min == t[i].min && max == t[i].max);
			SB_CHECK(max <= SB_COMPRESS_LEVEL_MAX);
		}
		SB_CHECK(!sb_compress_type_from_suffix(".bz2", &ct));
		SB_CHECK(!sb_compress_type_from_suffix(".gzx", &ct));
		SB_CHECK(!sb_compress_level_range((SbCompressType) 42, &(int){0}, &(int){0}));
	}

	SB_CHECK(sb_stanza_name_valid("main"));
	SB_CHECK(sb_stanza_name_valid("db-1_prod.eu"));
	SB_CHECK(sb_stanza_name_valid("a"));
	SB_CHECK(sb_stanza_name_valid("a."));
	SB_CHECK(!sb_stanza_name_valid(""));
	SB_CHECK(!sb_stanza_name_valid(NULL));
	SB_CHECK(!sb_stanza_name_valid(".hidden"));
	SB_CHECK(!sb_stanza_name_valid("a/b"));
	SB_CHECK(!sb_stanza_name_valid("a b"));
	SB_CHECK(!sb_stanza_name_valid("caf\xc3\xa9"));
	memset(name, 'x', sizeof(name));
	name[63] = '\0';
	SB_CHECK(sb_stanza_name_valid(name));
	name[63] = 'x';
	name[64] = '\0';
	SB_CHECK(!sb_stanza_name_valid(name));
}

static void
test_path_valid(void)
{
	char		longpath[SB_PATH_MAX + 1];

	SB_CHECK(sb_path_valid("a"));
	SB_CHECK(sb_path_valid("main/backup/20240101-000000F/backup.manifest"));
	SB_CHECK(sb_path_valid(".hidden"));
	SB_CHECK(sb_path_valid("a/.b/c..d/..."));
	SB_CHECK(sb_path_valid("a.tmp.1.2"));

	SB_CHECK(!sb_path_valid(NULL));
	SB_CHECK(!sb_path_valid(""));
	SB_CHECK(!sb_path_valid("/"));
	SB_CHECK(!sb_path_valid("/abs"));
	SB_CHECK(!sb_path_valid("a//b"));
	SB_CHECK(!sb_path_valid("a/"));
	SB_CHECK(!sb_path_valid("."));
	SB_CHECK(!sb_path_valid(".."));
	SB_CHECK(!sb_path_valid("./a"));
	SB_CHECK(!sb_path_valid("a/."));
	SB_CHECK(!sb_path_valid("a/./b"));
	SB_CHECK(!sb_path_valid("a/../b"));
	SB_CHECK(!sb_path_valid("../a"));
	SB_CHECK(!sb_path_valid("a/.."));

	memset(longpath, 'p', SB_PATH_MAX - 1);
	longpath[SB_PATH_MAX - 1] = '\0';
	SB_CHECK(sb_path_valid(longpath));
	longpath[SB_PATH_MAX - 1] = 'p';
	longpath[SB_PATH_MAX] = '\0';
	SB_CHECK(!sb_path_valid(longpath));
}

static void
test_create(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;

	sb_config_init(&cfg);
	strcpy(cfg.repo_path, "/nonexistent");

	rc = sb_storage_create(&cfg, &st, &err);
	SB_CHECK(rc == SB_OK && st != NULL);
	if (rc == SB_OK)
	{
		SB_CHECK(st->ops == &sb_posix_ops);
		SB_CHECK(strcmp(st->cfg.repo_path, "/nonexistent") == 0);
		SB_CHECK(st->priv == NULL && st->wait == NULL);
		sb_storage_free(st);
	}

	cfg.repo_type = sb_test_repo_type("sftp");
	rc = sb_storage_create(&cfg, &st, &err);
	SB_CHECK(rc == SB_OK && st != NULL && st->ops == &sb_sftp_ops);
	if (rc == SB_OK)
		sb_storage_free(st);

	cfg.repo_type = sb_test_repo_type("tls");
	rc = sb_storage_create(&cfg, &st, &err);
	SB_CHECK(rc == SB_OK && st != NULL && st->ops == &sb_tls_ops);
	if (rc == SB_OK)
		sb_storage_free(st);

	st = (SbStorage *) &cfg;	/* not NULL, to see it reset */

	cfg.repo_type = (SbRepoType) 42;
	rc = sb_storage_create(&cfg, &st, &err);
	SB_CHECK(rc == SB_ERR_CONFIG && st == NULL);

	sb_storage_free(NULL);
}

/*
 * Checks that depend on how the posix driver works, in tmpdir.
 */
static void
test_posix_specific(const char *tmpdir)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbWriter   *w;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	char		local[PATH_MAX];
	FILE	   *f;

	sb_config_init(&cfg);

	/* the root must be set, absolute, existing and a directory */
	rc = sb_storage_create(&cfg, &st, &err);
	SB_REQUIRE(rc == SB_OK);
	rc = sb_storage_open(st, &err);
	SB_CHECK(rc == SB_ERR_CONFIG);
	SB_CHECK(err.hint[0] != '\0');
	sb_storage_free(st);

	strcpy(cfg.repo_path, "relative/repo");
	rc = sb_storage_create(&cfg, &st, &err);
	SB_REQUIRE(rc == SB_OK);
	rc = sb_storage_open(st, &err);
	SB_CHECK(rc == SB_ERR_CONFIG);
	SB_CHECK(strstr(err.msg, "\"relative/repo\"") != NULL);
	sb_storage_free(st);

	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/missing", tmpdir);
	rc = sb_storage_create(&cfg, &st, &err);
	SB_REQUIRE(rc == SB_OK);
	rc = sb_storage_open(st, &err);
	SB_CHECK(rc == SB_ERR_NOT_FOUND);
	SB_CHECK(strcmp(err.hint, "Create the directory, or set safebackup.repo_path to an existing directory.") == 0);
	SB_CHECK(strstr(err.msg, "No such file or directory") != NULL);
	sb_storage_free(st);

	snprintf(local, sizeof(local), "%s/plainfile", tmpdir);
	f = fopen(local, "w");
	SB_REQUIRE(f != NULL);
	fclose(f);
	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/plainfile", tmpdir);
	rc = sb_storage_create(&cfg, &st, &err);
	SB_REQUIRE(rc == SB_OK);
	rc = sb_storage_open(st, &err);
	SB_CHECK(rc == SB_ERR_NOT_FOUND);
	SB_CHECK(err.hint[0] != '\0');
	sb_storage_free(st);
	unlink(local);

	/* a root given with a trailing slash works the same */
	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/", tmpdir);
	rc = sb_storage_create(&cfg, &st, &err);
	SB_REQUIRE(rc == SB_OK);

	/* nothing works before open */
	rc = sb_storage_stat(st, "x", &sst, &err);
	SB_CHECK(rc != SB_OK);

	rc = sb_storage_open(st, &err);
	SB_CHECK(rc == SB_OK);

	/* write_open does not create parent directories */
	rc = sb_storage_write_open(st, "nodir/file", 0, &w, &err);
	SB_CHECK(rc == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "nodir/file.tmp.") != NULL);

	/* the temporary file sits beside the final name until commit */
	rc = sb_storage_write_open(st, "pending", 0, &w, &err);
	SB_CHECK(rc == SB_OK);
	if (rc == SB_OK)
	{
		char		prefix[64];
		char		tmpname[NAME_MAX + 1];

		snprintf(prefix, sizeof(prefix), "pending.tmp.%ld.", (long) getpid());
		SB_CHECK(local_find_prefix(tmpdir, prefix, tmpname) == 1);
		rc = sb_storage_write(st, w, "abc", 3, &err);
		SB_CHECK(rc == SB_OK);
		rc = sb_storage_write_commit(st, w, &err);
		SB_CHECK(rc == SB_OK);
		SB_CHECK(local_find_prefix(tmpdir, prefix, tmpname) == 0);
	}
	snprintf(local, sizeof(local), "%s/pending", tmpdir);
	{
		struct stat sb;

		/* published by link(), and the temporary name is gone */
		SB_CHECK(stat(local, &sb) == 0 && (sb.st_mode & 0777) == 0640 &&
				 sb.st_size == 3 && sb.st_nlink == 1);
	}

	/* a leftover temporary file from a crash is not listed */
	rc = sb_storage_mkdir(st, "crash", &err);
	SB_CHECK(rc == SB_OK);
	rc = sb_storage_put(st, "crash/real", 0, "r", 1, &err);
	SB_CHECK(rc == SB_OK);
	rc = sb_storage_put(st, "crash/file.tmp.notours", 0, "n", 1, &err);
	SB_CHECK(rc == SB_OK);
	snprintf(local, sizeof(local), "%s/crash/real.tmp.99999.7", tmpdir);
	f = fopen(local, "w");
	SB_CHECK(f != NULL);
	if (f)
		fclose(f);
	{
		int			count = 0;

		rc = sb_storage_list(st, "crash", count_entries, &count, &err);
		SB_CHECK(rc == SB_OK && count == 2);
	}
	rc = sb_storage_remove(st, "crash", true, &err);
	SB_CHECK(rc == SB_OK);

	rc = sb_storage_remove(st, "pending", false, &err);
	SB_CHECK(rc == SB_OK);

	/* new directories get mode 0750 */
	rc = sb_storage_mkdir(st, "modes/sub", &err);
	SB_CHECK(rc == SB_OK);
	snprintf(local, sizeof(local), "%s/modes/sub", tmpdir);
	{
		struct stat sb;

		SB_CHECK(stat(local, &sb) == 0 && (sb.st_mode & 0777) == 0750);
	}
	rc = sb_storage_remove(st, "modes", true, &err);
	SB_CHECK(rc == SB_OK);

	sb_storage_close(st);
	sb_storage_free(st);
}

static bool
count_entries(const char *name, const SbStat *st, void *arg)
{
	(void) name;
	(void) st;
	(*(int *) arg)++;
	return true;
}

/*
 * Count the entries of a local directory (not "." or "..") whose names start
 * with prefix; the last one is copied to found (NAME_MAX + 1 bytes).  Returns
 * -1 if the directory cannot be read.
 */
static int
local_find_prefix(const char *dirpath, const char *prefix, char *found)
{
	DIR		   *dir;
	struct dirent *de;
	int			n = 0;

	dir = opendir(dirpath);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
		{
			snprintf(found, NAME_MAX + 1, "%s", de->d_name);
			n++;
		}
	}
	closedir(dir);
	return n;
}

/*
 * Remove a local directory tree, making directories writable first in case
 * a failed check left one read-only (test cleanup only).
 */
static int
remove_local_tree(const char *path)
{
	struct stat sb;
	DIR		   *dir;
	struct dirent *de;
	int			rc = 0;

	if (lstat(path, &sb) != 0)
		return -1;
	if (!S_ISDIR(sb.st_mode))
		return unlink(path);

	(void) chmod(path, 0700);
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
	{
		char		child[PATH_MAX];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		if (remove_local_tree(child) != 0)
			rc = -1;
	}
	closedir(dir);
	if (rmdir(path) != 0)
		rc = -1;
	return rc;
}

int
main(void)
{
	const char *tmpbase = getenv("TMPDIR");
	char		tmpdir[256];
	SbRepoConfig cfg;

	if (tmpbase == NULL || tmpbase[0] == '\0')
		tmpbase = "/tmp";
	if (strlen(tmpbase) > 200)
	{
		fprintf(stderr, "TMPDIR is too long: \"%s\"\n", tmpbase);
		return 2;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/sb_test_storage.XXXXXX", tmpbase);
	if (mkdtemp(tmpdir) == NULL)
	{
		fprintf(stderr, "could not create temporary directory \"%s\": %s\n",
				tmpdir, strerror(errno));
		return 2;
	}

	test_config();
	test_path_valid();
	test_create();

	sb_config_init(&cfg);
	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s", tmpdir);
	sb_storage_suite_run(&cfg, tmpdir);

	test_posix_specific(tmpdir);

	/* the suite and the checks above must have cleaned up after themselves */
	{
		char		found[NAME_MAX + 1];
		int			left = local_find_prefix(tmpdir, "", found);

		SB_CHECK_MSG(left == 0, "%d entries left in \"%s\", one is \"%s\"",
					 left, tmpdir, left > 0 ? found : "");
	}

	if (remove_local_tree(tmpdir) != 0)
		fprintf(stderr, "could not remove \"%s\"\n", tmpdir);

	return sb_test_summary("storage");
}
