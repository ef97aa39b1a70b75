/*-------------------------------------------------------------------------
 *
 * test_restore.c
 *		Unit tests of sb_restore(): a fake repository is built with the
 *		posix driver in a temporary directory (stanza, data files stored
 *		through the codec under their backup paths, manifest), then
 *		restored and checked file by file: content, modes, mtimes,
 *		directories, the tablespace link and tablespace_map, and the
 *		recovery configuration; plus every refusal (non-empty target,
 *		running server, damaged file, incomplete backup, other cluster,
 *		a tablespace location outside the target that was not asked for) and
 *		the choice of a backup by recovery target.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block_sum.h"
#include "codec.h"
#include "manifest.h"
#include "restore.h"
#include "sb_test.h"
#include "seek_table.h"
#include "test_files.h"
#include "stanza.h"
#include "storage.h"

/*
 * The backup's postgresql.auto.conf: a cluster that was itself restored,
 * with the settings of that restore (removed by the next one).
 */
#define AUTO_CONF \
	"# Do not edit\nwork_mem = '4MB'\n" \
	"# added by pg_safebackup restore of backup 20201231-000000F\n" \
	"restore_command = 'old'\n" \
	"recovery_target_time = '2020-01-01 00:00:00+00'\n" \
	"  Recovery_Target_Inclusive=off\n" \
	"recovery_min_apply_delay = 0"

SB_TEST_DEFINE_COUNTERS;

#define SYSID		7300000000000000001ULL
#define TS_OID		16385
#define BIG_SIZE	(3 * SB_CODEC_BUFSIZE + 12345)

static char root[256];
static SbRepoConfig cfg;
static SbStorage *st;

/* ----------------------------------------------------------------
 *		Helpers
 * ----------------------------------------------------------------
 */

static bool
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static char *
path_in(const char *dir, const char *rel)
{
	static char buf[4][PATH_MAX];
	static int	next = 0;
	char	   *p = buf[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, rel);
	return p;
}

/* Deterministic content of n bytes. */
static char *
make_content(size_t n, unsigned int seed)
{
	char	   *buf = malloc(n + 1);
	size_t		i;

	for (i = 0; i < n; i++)
	{
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char) (seed >> 16);
	}
	buf[n] = '\0';
	return buf;
}

/* One file of a fake backup. */
typedef struct FakeFile
{
	const char *path;
	char	   *data;
	size_t		len;
	unsigned int mode;
	int64_t		mtime;
} FakeFile;

typedef struct FakeBackup
{
	const char *stanza;
	char		label[SB_LABEL_LEN];
	SbCompressType ct;
	int			nfiles;
	FakeFile	files[16];
	char		ts_orig[PATH_MAX];	/* original tablespace location */
} FakeBackup;

/* the tablespace location the next make_backup() records, if not NULL */
static const char *next_ts_location;

static void
fake_add(FakeBackup *b, const char *path, char *data, size_t len,
		 unsigned int mode)
{
	FakeFile   *f = &b->files[b->nfiles];

	f->path = path;
	f->data = data;
	f->len = len;
	f->mode = mode;
	f->mtime = 1700000000 + b->nfiles * 100;
	b->nfiles++;
}

static void
fake_free(FakeBackup *b)
{
	int			i;

	for (i = 0; i < b->nfiles; i++)
		free(b->files[i].data);
	b->nfiles = 0;
}

/*
 * Block size of the block sums the fake backups record for files larger
 * than one block (0: none, as older writers): restores check those files
 * block by block instead of by SHA-256.
 */
static uint32_t fake_block_size = 0;

/*
 * Size of a large file the next make_backup() adds as LARGE_PATH (0:
 * none); files are then stored seekable, in frames (codec.h).
 */
#define LARGE_PATH	"base/1/16400"
static size_t fake_large_size = 0;

/* Store one file under its backup path and add it to m. */
static void
store_file(const FakeBackup *b, const FakeFile *f, SbManifest *m)
{
	SbRepoConfig c = cfg;
	SbManifestFile mf;
	SbStoreResult res;
	SbError		err;
	uint64_t   *sums = NULL;
	char		path[SB_PATH_MAX];
	char	   *slash;

	c.compress_type = b->ct;
	snprintf(c.stanza, sizeof(c.stanza), "%s", b->stanza);
	sb_backup_file_path(b->stanza, b->label, f->path, b->ct, path);
	slash = strrchr(path, '/');
	*slash = '\0';
	SB_CHECK(sb_storage_mkdir(st, path, &err) == SB_OK);
	*slash = '/';
	SB_CHECK_MSG(sb_codec_store_buffer(st, &c, f->data, f->len, path,
									   fake_large_size > 0 ? SB_WRITE_SEEKABLE : 0,
									   &res, &err) == SB_OK,
				 "%s", err.msg);

	memset(&mf, 0, sizeof(mf));
	mf.path = (char *) f->path;
	mf.size = f->len;
	mf.mtime = f->mtime;
	mf.mode = f->mode;
	memcpy(mf.digest, res.digest, sizeof(mf.digest));
	mf.stored_size = res.stored_size;
	if (fake_block_size > 0 && f->len > fake_block_size)
	{
		mf.nblocks = sb_block_count(f->len, fake_block_size);
		sums = calloc(mf.nblocks, sizeof(uint64_t));
		SB_REQUIRE(sums != NULL);
		SB_CHECK(sb_block_sums_update(sums, mf.nblocks, fake_block_size,
									  f->data, f->len, 0));
		mf.block_sums = sums;
		m->block_size = fake_block_size;
	}
	SB_CHECK(sb_manifest_add_file(m, &mf));
	free(sums);
	m->database_size += f->len;
	m->stored_size += res.stored_size;
}

/*
 * A backup like the server writes: files in the top directory, nested
 * directories, an empty directory, a tablespace, backup_label, a
 * postgresql.auto.conf without final newline, and server state files that
 * a restore must skip.
 */
static void
make_backup(FakeBackup *b, const char *stanza, const char *label,
			SbCompressType ct, int64_t stop_time, const char *stop_lsn,
			bool with_manifest, uint64_t sysid)
{
	SbRepoConfig c = cfg;
	SbManifest	m;
	SbError		err;
	int			i;

	memset(b, 0, sizeof(*b));
	b->stanza = stanza;
	snprintf(b->label, sizeof(b->label), "%s", label);
	b->ct = ct;
	if (next_ts_location != NULL)
		snprintf(b->ts_orig, sizeof(b->ts_orig), "%s", next_ts_location);
	else
		snprintf(b->ts_orig, sizeof(b->ts_orig), "%s/orig_ts_%s", root, stanza);
	next_ts_location = NULL;

	fake_add(b, "PG_VERSION", strdup("15\n"), 3, 0600);
	fake_add(b, "global/pg_control", make_content(8192, 1), 8192, 0600);
	fake_add(b, "base/1/1259", make_content(BIG_SIZE, 2), BIG_SIZE, 0600);
	fake_add(b, "base/1/nested/deep/file", make_content(1000, 3), 1000, 0640);
	fake_add(b, "empty_file", strdup(""), 0, 0400);
	fake_add(b, "backup_label", strdup("START WAL LOCATION: 0/2000028\n"), 30, 0600);
	fake_add(b, "postgresql.auto.conf", strdup(AUTO_CONF), strlen(AUTO_CONF), 0600);
	fake_add(b, "pg_tblspc/16385/PG_15_202209061/5/16390", make_content(70000, 4), 70000, 0600);
	fake_add(b, "tablespace_map", strdup("16385 /somewhere/else\n"), 22, 0600);
	fake_add(b, "postmaster.opts", strdup("/usr/lib/postgresql/15/bin/postgres\n"), 36, 0600);
	if (fake_large_size > 0)
		fake_add(b, LARGE_PATH, make_content(fake_large_size, 5), fake_large_size, 0640);

	sb_manifest_init(&m);
	snprintf(m.label, sizeof(m.label), "%s", label);
	strcpy(m.start_lsn, "0/2000028");
	snprintf(m.stop_lsn, sizeof(m.stop_lsn), "%s", stop_lsn);
	strcpy(m.start_wal, "000000010000000000000002");
	strcpy(m.stop_wal, "000000010000000000000002");
	m.timeline = 1;
	m.start_time = stop_time - 60;
	m.stop_time = stop_time;
	m.system_identifier = sysid;
	m.pg_version = 15;
	m.compress_type = ct;

	SB_CHECK(sb_manifest_add_dir(&m, "global", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "base", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "base/1", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "base/1/nested", 0750));
	/* base/1/nested/deep is left out: restore creates missing parents */
	SB_CHECK(sb_manifest_add_dir(&m, "pg_wal", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "pg_wal/archive_status", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "pg_tblspc", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "pg_tblspc/16385", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "pg_tblspc/16385/PG_15_202209061", 0700));
	SB_CHECK(sb_manifest_add_dir(&m, "pg_tblspc/16385/PG_15_202209061/5", 0700));
	SB_CHECK(sb_manifest_add_tablespace(&m, TS_OID, b->ts_orig));

	for (i = 0; i < b->nfiles; i++)
		store_file(b, &b->files[i], &m);

	c.compress_type = SB_COMPRESS_ZLIB;
	snprintf(c.stanza, sizeof(c.stanza), "%s", stanza);
	if (with_manifest)
		SB_CHECK_MSG(sb_manifest_save(st, &c, &m, &err) == SB_OK, "%s", err.msg);
	sb_manifest_free(&m);
}

static void
make_stanza(const char *stanza)
{
	SbStanzaInfo info = {SB_REPO_FORMAT_VERSION, SYSID, 15};
	SbError		err;

	SB_CHECK_MSG(sb_stanza_ensure(st, stanza, &info, &err) == SB_OK, "%s", err.msg);
}

typedef struct ProgressLog
{
	int			calls;
	uint64_t	last_done;
	uint64_t	last_total;
	int			last_files;
	int			last_files_total;
	bool		monotonic;
} ProgressLog;

static void
log_progress(uint64_t done, uint64_t total, int files, int files_total,
			 void *arg)
{
	ProgressLog *p = arg;

	if (p->calls > 0 && (done < p->last_done || files < p->last_files))
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
	p->last_files = files;
	p->last_files_total = files_total;
}

/* restore threads of the tests (the suite runs with 1, then with 3) */
static int	test_jobs = 1;

static void
init_options(SbRestoreOptions *o, const char *stanza, const char *target)
{
	memset(o, 0, sizeof(*o));
	o->jobs = test_jobs;
	o->stanza = stanza;
	o->target_dir = target;
	o->restore_command = "/usr/bin/pg_safebackup archive-get %f \"%p\" --repo-path='/r'";
}

static bool
file_is(const char *path, const void *data, size_t len)
{
	size_t		n;
	char	   *buf = sb_test_read_file(path, &n);
	bool		same = buf != NULL && n == len && memcmp(buf, data, len) == 0;

	free(buf);
	return same;
}

static unsigned int
mode_of(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return 0xffff;
	return sb.st_mode & 07777;
}

/* ----------------------------------------------------------------
 *		Tests
 * ----------------------------------------------------------------
 */

static void
test_restore_full(SbCompressType ct, const char *stanza)
{
	FakeBackup	b;
	SbRestoreOptions o;
	SbRestoreResult result;
	SbTablespaceMap map;
	ProgressLog plog;
	SbError		err;
	char		target[PATH_MAX];
	char		mapped[PATH_MAX];
	char		expect[PATH_MAX * 2];
	char		linkbuf[PATH_MAX];
	char	   *text;
	size_t		len;
	ssize_t		n;
	struct stat sb;
	int			i;
	int			restored = 0;
	uint64_t	bytes = 0;

	make_stanza(stanza);
	make_backup(&b, stanza, "20261123-112437F", ct, 1795000000, "0/3000100", true, SYSID);

	snprintf(target, sizeof(target), "%s/restore_%s/data", root, stanza);
	snprintf(mapped, sizeof(mapped), "%s/mapped_%s", root, stanza);
	init_options(&o, stanza, target);
	map.oid = TS_OID;
	snprintf(map.dir, sizeof(map.dir), "%s", mapped);
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	o.target_kind = SB_TARGET_TIME;
	o.target_value = "2026-11-23 12:00:00.25+01:00";
	o.target_action = SB_ACTION_PROMOTE;
	o.restore_command = "pg_safebackup archive-get %f \"%p\" --config='/etc/it''s.conf' C:\\x";
	o.result = &result;
	memset(&plog, 0, sizeof(plog));
	plog.monotonic = true;

	SB_REQUIRE(sb_restore(st, &o, log_progress, &plog, &err) == SB_OK ||
			   (fprintf(stderr, "restore: %s / %s / %s\n", err.msg, err.detail, err.hint), false));

	/* every file byte-identical, with its mode and mtime; state files skipped */
	for (i = 0; i < b.nfiles; i++)
	{
		const FakeFile *f = &b.files[i];
		const char *p = path_in(target, f->path);

		if (strcmp(f->path, "postmaster.opts") == 0)
		{
			SB_CHECK(!exists(p));
			continue;
		}
		if (strcmp(f->path, "tablespace_map") == 0 ||
			strcmp(f->path, "postgresql.auto.conf") == 0)
			continue;
		SB_CHECK_MSG(file_is(p, f->data, f->len), "content of %s", f->path);
		SB_CHECK_MSG(mode_of(p) == f->mode, "mode of %s: %o", f->path, mode_of(p));
		SB_CHECK(stat(p, &sb) == 0 && sb.st_mtime == f->mtime);
		restored++;
		bytes += f->len;
	}
	bytes += strlen(AUTO_CONF);
	restored++;
	SB_CHECK(result.files == restored + 0 && result.bytes == bytes);
	SB_CHECK(strcmp(result.label, "20261123-112437F") == 0);

	/* directories, the empty one too, with their modes */
	SB_CHECK(mode_of(target) == 0700);
	SB_CHECK(mode_of(path_in(target, "base/1/nested")) == 0750);
	SB_CHECK(mode_of(path_in(target, "base/1/nested/deep")) == 0700);
	SB_CHECK(stat(path_in(target, "pg_wal/archive_status"), &sb) == 0 && S_ISDIR(sb.st_mode));

	/* the tablespace: a link to the mapped directory, which holds its files */
	n = readlink(path_in(target, "pg_tblspc/16385"), linkbuf, sizeof(linkbuf) - 1);
	SB_CHECK(n > 0 && (size_t) n == strlen(mapped) && memcmp(linkbuf, mapped, n) == 0);
	SB_CHECK(file_is(path_in(mapped, "PG_15_202209061/5/16390"), b.files[7].data, b.files[7].len));
	SB_CHECK(!exists(b.ts_orig));
	snprintf(expect, sizeof(expect), "%u %s\n", TS_OID, mapped);
	SB_CHECK(file_is(path_in(target, "tablespace_map"), expect, strlen(expect)));

	/*
	 * recovery configuration: the earlier restore's settings removed (and
	 * reported), the other lines kept, ours appended on a new line
	 */
	text = sb_test_read_file(path_in(target, "postgresql.auto.conf"), &len);
	SB_REQUIRE(text != NULL);
	SB_CHECK_MSG(strcmp(text,
						"# Do not edit\nwork_mem = '4MB'\n"
						"recovery_min_apply_delay = 0\n"
						"# recovery settings written by pg_safebackup restore of backup 20261123-112437F\n"
						"restore_command = 'pg_safebackup archive-get %f \"%p\" --config=''/etc/it''''s.conf'' C:\\\\x'\n"
						"recovery_target = ''\n"
						"recovery_target_lsn = ''\n"
						"recovery_target_name = ''\n"
						"recovery_target_xid = ''\n"
						"recovery_target_time = '2026-11-23 11:00:00.250000+00'\n"
						"recovery_target_action = 'promote'\n"
						"recovery_target_timeline = 'latest'\n") == 0,
				 "postgresql.auto.conf is:\n%s", text);
	free(text);
	SB_CHECK(result.nremoved == 4);
	SB_CHECK_MSG(strcmp(result.removed,
						"# added by pg_safebackup restore of backup 20201231-000000F\n"
						"restore_command = 'old'\n"
						"recovery_target_time = '2020-01-01 00:00:00+00'\n"
						"  Recovery_Target_Inclusive=off\n") == 0,
				 "removed: %s", result.removed);
	SB_CHECK(stat(path_in(target, "recovery.signal"), &sb) == 0 && sb.st_size == 0);

	/* progress: from the start to the end, never backwards */
	SB_CHECK(plog.calls >= 2 && plog.monotonic);
	SB_CHECK(plog.last_done == plog.last_total && plog.last_total == bytes);
	SB_CHECK(plog.last_files == plog.last_files_total && plog.last_files == restored);

	/* restoring again into the same directory is refused */
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_EXISTS);

	/*
	 * without a mapping the tablespace goes back where it was, outside the
	 * target: only when the recorded locations are accepted
	 */
	snprintf(target, sizeof(target), "%s/restore_%s/data2", root, stanza);
	o.target_dir = target;
	o.ntablespace_map = 0;
	o.target_kind = SB_TARGET_NONE;
	o.restore_command = "cmd";
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	SB_CHECK(!exists(target) && !exists(b.ts_orig));
	o.accept_tablespace_locations = true;
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	n = readlink(path_in(target, "pg_tblspc/16385"), linkbuf, sizeof(linkbuf) - 1);
	SB_CHECK(n > 0 && (size_t) n == strlen(b.ts_orig) && memcmp(linkbuf, b.ts_orig, n) == 0);
	SB_CHECK(file_is(path_in(b.ts_orig, "PG_15_202209061/5/16390"), b.files[7].data, b.files[7].len));
	text = sb_test_read_file(path_in(target, "postgresql.auto.conf"), &len);
	SB_CHECK(text != NULL && strstr(text, "restore_command = 'cmd'\n") != NULL &&
			 strstr(text, "recovery_target_action") == NULL &&
			 strstr(text, "recovery_target_time = ''\n") != NULL &&
			 strstr(text, "restore_command = 'old'") == NULL);
	free(text);

	/* now the original tablespace directory is not empty: refused */
	snprintf(target, sizeof(target), "%s/restore_%s/data3", root, stanza);
	o.target_dir = target;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_EXISTS);
	SB_CHECK(strstr(err.msg, "tablespace") != NULL && strstr(err.hint, "16385") != NULL);
	SB_CHECK(!exists(target));

	/* a mapping of a tablespace the backup does not have */
	map.oid = 99;
	o.ntablespace_map = 1;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	SB_CHECK(!exists(target));

	fake_free(&b);
}

/*
 * The repository files of the next files are asked of the storage ahead of
 * the jobs (restore_prefetch.c): each at most once, every one a repository
 * file.  So that the count does not depend on how fast the job is, its
 * read of a backup file through st waits (at most 10 s) until something
 * was prefetched.
 */
#define MAX_PREFETCHED 64
static pthread_mutex_t prefetch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t prefetch_done = PTHREAD_COND_INITIALIZER;
static char prefetched[MAX_PREFETCHED][SB_PATH_MAX];
static int	nprefetched;
static const SbStorageOps *real_ops;

static void
record_prefetch(SbStorage *s, const char *path)
{
	pthread_mutex_lock(&prefetch_lock);
	if (nprefetched < MAX_PREFETCHED)
		snprintf(prefetched[nprefetched], SB_PATH_MAX, "%s", path);
	nprefetched++;
	pthread_cond_broadcast(&prefetch_done);
	pthread_mutex_unlock(&prefetch_lock);
	real_ops->prefetch(s, path);
}

static SbStatus
read_open_after_prefetch(SbStorage *s, const char *path, SbReader **r,
						 SbError *e)
{
	struct timespec until;

	/* the manifest and the stanza's files are read before any file */
	if (strstr(path, "/data/") == NULL)
		return real_ops->read_open(s, path, r, e);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&prefetch_lock);
	while (nprefetched == 0 &&
		   pthread_cond_timedwait(&prefetch_done, &prefetch_lock, &until) == 0)
		;
	pthread_mutex_unlock(&prefetch_lock);
	return real_ops->read_open(s, path, r, e);
}

static void
test_prefetch(void)
{
	FakeBackup	b;
	SbRestoreOptions o;
	SbRestoreResult result;
	SbStorageOps recording;
	SbError		err;
	char		target[PATH_MAX];
	const char *stanza = "prefetch";
	int			from_repo = 0;

	real_ops = st->ops;
	SB_REQUIRE(real_ops->prefetch != NULL);
	recording = *real_ops;
	recording.prefetch = record_prefetch;
	recording.read_open = read_open_after_prefetch;
	make_stanza(stanza);
	make_backup(&b, stanza, "20261123-112437F", SB_COMPRESS_ZLIB, 1795000000,
				"0/3000100", true, SYSID);
	/* the backup's files but the one the restore leaves out */
	for (int i = 0; i < b.nfiles; i++)
		if (strcmp(b.files[i].path, "postmaster.opts") != 0)
			from_repo++;
	for (int jobs = 1; jobs <= 3; jobs += 2)
	{
		snprintf(target, sizeof(target), "%s/restore_prefetch/data%d", root, jobs);
		init_options(&o, stanza, target);
		o.jobs = jobs;
		o.accept_tablespace_locations = true;
		o.result = &result;
		nprefetched = 0;
		st->ops = &recording;
		SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
		st->ops = real_ops;
		/*
		 * With one job, that job reads through st and waits for a prefetch.
		 * Jobs 2 and 3 read through sessions of their own, which this test
		 * cannot hold back: they may take every file before the prefetcher
		 * runs at all, so with 3 jobs there may be none.
		 */
		SB_CHECK_MSG(nprefetched >= (jobs == 1 ? 1 : 0) && nprefetched <= from_repo,
					 "jobs %d: %d prefetched of %d", jobs, nprefetched, from_repo);
		for (int i = 0; i < nprefetched && i < MAX_PREFETCHED; i++)
		{
			SbStat		sst;

			SB_CHECK_MSG(sb_storage_stat(st, prefetched[i], &sst, &err) == SB_OK,
						 "prefetched %s is no repository file", prefetched[i]);
			for (int j = 0; j < i; j++)
				SB_CHECK_MSG(strcmp(prefetched[i], prefetched[j]) != 0,
							 "%s prefetched twice", prefetched[i]);
		}
		sb_test_rm_tree(b.ts_orig);
	}
	fake_free(&b);
}

static void
test_refusals(void)
{
	FakeBackup	b;
	SbRestoreOptions o;
	SbError		err;
	char		target[PATH_MAX];
	char		other[PATH_MAX];
	SbTablespaceMap map;

	make_stanza("refuse");
	make_backup(&b, "refuse", "20260101-000000F", SB_COMPRESS_ZLIB, 1767225600, "0/3000000", true, SYSID);
	snprintf(other, sizeof(other), "%s/refuse_ts", root);
	map.oid = TS_OID;
	snprintf(map.dir, sizeof(map.dir), "%s", other);

	/* a non-empty target */
	snprintf(target, sizeof(target), "%s/refuse_target", root);
	mkdir(target, 0700);
	sb_test_write_file(path_in(target, "keep"), "mine", 4);
	init_options(&o, "refuse", target);
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_EXISTS);
	SB_CHECK(strstr(err.msg, "not empty") != NULL && err.hint[0] != '\0');
	SB_CHECK(file_is(path_in(target, "keep"), "mine", 4));
	SB_CHECK(!exists(path_in(target, "PG_VERSION")));
	SB_CHECK(!exists(other));

	/* a running server */
	sb_test_write_file(path_in(target, "postmaster.pid"), "1234\n", 5);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_EXISTS);
	SB_CHECK(strstr(err.msg, "server seems to be running") != NULL);

	/* a file where the directory should be */
	o.target_dir = path_in(target, "keep");
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_EXISTS);

	/* an empty existing target is fine, and made private */
	snprintf(target, sizeof(target), "%s/refuse_empty", root);
	mkdir(target, 0755);
	o.target_dir = target;
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	SB_CHECK(mode_of(target) == 0700);
	SB_CHECK(exists(path_in(target, "recovery.signal")));

	/* no stanza */
	snprintf(target, sizeof(target), "%s/refuse_nostanza", root);
	init_options(&o, "nostanza", target);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "nostanza") != NULL);
	SB_CHECK(!exists(target));

	/* no backup at all */
	make_stanza("nobackup");
	init_options(&o, "nobackup", target);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "no complete backup") != NULL);
	SB_CHECK(!exists(target));

	/* bad options */
	init_options(&o, "refuse", target);
	o.target_kind = SB_TARGET_LSN;
	o.target_value = "12";
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	o.target_kind = SB_TARGET_TIME;
	o.target_value = "yesterday";
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	o.target_kind = SB_TARGET_NONE;
	o.restore_command = "";
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	o.restore_command = "a\nb";
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	SB_CHECK(!exists(target));

	fake_free(&b);
}

static void
test_corrupt_file_in(const char *stanza);

static void
test_corrupt_file(void)
{
	test_corrupt_file_in("corrupt");
}

/* a damaged file in an otherwise good backup of a new stanza */
static void
test_corrupt_file_in(const char *stanza)
{
	FakeBackup	b;
	SbRestoreOptions o;
	SbTablespaceMap map;
	SbError		err;
	char		target[PATH_MAX];
	char		gz[64];
	char		path[SB_PATH_MAX];
	char		full[PATH_MAX];
	char	   *data;
	size_t		len;

	make_stanza(stanza);
	make_backup(&b, stanza, "20260101-000000F", SB_COMPRESS_NONE, 1767225600, "0/3000000", true, SYSID);
	map.oid = TS_OID;
	snprintf(map.dir, sizeof(map.dir), "%s/%s_ts", root, stanza);

	/* one byte changed in a stored file (uncompressed: the checksum catches it) */
	sb_backup_file_path(stanza, b.label, "base/1/nested/deep/file", SB_COMPRESS_NONE, path);
	snprintf(full, sizeof(full), "%s/%s", cfg.repo_path, path);
	data = sb_test_read_file(full, &len);
	SB_REQUIRE(data != NULL && len == 1000);
	data[500] ^= 0x20;
	sb_test_write_file(full, data, len);

	snprintf(target, sizeof(target), "%s/%s_target", root, stanza);
	init_options(&o, stanza, target);
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CORRUPT);
	SB_CHECK_MSG(strstr(err.msg, "base/1/nested/deep/file") != NULL, "%s", err.msg);
	SB_CHECK(strstr(err.detail, "checksum mismatch") != NULL);
	/* with block sums, by the block that differs (byte 500: block 0) */
	SB_CHECK_MSG(fake_block_size == 0 || strstr(err.detail, "in block 0 ") != NULL,
				 "%s", err.detail);
	SB_CHECK_MSG(strstr(err.hint, "another backup") != NULL &&
				 strstr(err.hint, "is incomplete") != NULL, "%s", err.hint);
	SB_CHECK(!exists(path_in(target, "recovery.signal")));
	SB_CHECK(!exists(path_in(target, "base/1/nested/deep/file")));

	/* truncated */
	data[500] ^= 0x20;
	sb_test_write_file(full, data, len - 1);
	sb_test_rm_tree(target);
	sb_test_rm_tree(map.dir);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "base/1/nested/deep/file") != NULL);
	SB_CHECK(!exists(path_in(target, "recovery.signal")));

	/* longer than recorded: stopped before it is all written */
	{
		char	   *big = make_content(5000, 9);

		sb_test_write_file(full, big, 5000);
		free(big);
	}
	sb_test_rm_tree(target);
	sb_test_rm_tree(map.dir);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.detail, "larger than") != NULL);
	SB_CHECK(!exists(path_in(target, "recovery.signal")));

	/* missing altogether */
	unlink(full);
	sb_test_rm_tree(target);
	sb_test_rm_tree(map.dir);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "base/1/nested/deep/file") != NULL);
	SB_CHECK(strstr(err.hint, "incomplete") != NULL);
	SB_CHECK(!exists(path_in(target, "recovery.signal")));
	free(data);
	fake_free(&b);

	/* damaged compressed file */
	snprintf(gz, sizeof(gz), "%sgz", stanza);
	make_stanza(gz);
	make_backup(&b, gz, "20260101-000000F", SB_COMPRESS_ZLIB, 1767225600, "0/3000000", true, SYSID);
	sb_backup_file_path(gz, b.label, "global/pg_control", SB_COMPRESS_ZLIB, path);
	snprintf(full, sizeof(full), "%s/%s", cfg.repo_path, path);
	data = sb_test_read_file(full, &len);
	SB_REQUIRE(data != NULL && len > 40);
	data[len / 2] ^= 0x55;
	sb_test_write_file(full, data, len);
	free(data);
	sb_test_rm_tree(target);
	sb_test_rm_tree(map.dir);
	init_options(&o, gz, target);
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "global/pg_control") != NULL);
	SB_CHECK(!exists(path_in(target, "recovery.signal")));
	fake_free(&b);
}

/*
 * A large file cut into parts (restore_parts.c): with three jobs and parts
 * of 1 MiB, a file of 5 MiB and 3 blocks stored seekable (frames of 1 MiB)
 * is restored in six parts, byte for byte, with its mode and mtime, and
 * counted once; with one job it is restored whole.  A damaged frame fails
 * the restore, and the file is not left behind.
 */
static void
test_parts(void)
{
	const char *stanza = "parts";
	FakeBackup	b;
	SbRestoreOptions o;
	SbRestoreResult result;
	SbTablespaceMap map;
	SbSeekList	frames;
	SbError		err;
	char		target[PATH_MAX];
	char		path[SB_PATH_MAX];
	char		full[PATH_MAX];
	const FakeFile *large = NULL;
	struct stat sb;
	char	   *data;
	size_t		len;

	fake_block_size = 8192;
	fake_large_size = 5 * 1024 * 1024 + 3 * 8192;
	make_stanza(stanza);
	make_backup(&b, stanza, "20261201-000000F", SB_COMPRESS_ZSTD, 1795000000,
				"0/3000100", true, SYSID);
	fake_large_size = 0;
	fake_block_size = 0;
	for (int i = 0; i < b.nfiles; i++)
		if (strcmp(b.files[i].path, LARGE_PATH) == 0)
			large = &b.files[i];
	SB_REQUIRE(large != NULL);

	/* its frames, as the restore cuts them; a file of one frame has none */
	sb_backup_file_path(stanza, b.label, LARGE_PATH, SB_COMPRESS_ZSTD, path);
	SB_CHECK(sb_codec_seek_table(st, path, SB_COMPRESS_ZSTD, 0, large->len,
								 &frames, &err) == SB_ERR_UNSUPPORTED);
	snprintf(full, sizeof(full), "%s/%s", cfg.repo_path, path);
	SB_REQUIRE(stat(full, &sb) == 0);
	SB_CHECK_MSG(sb_codec_seek_table(st, path, SB_COMPRESS_ZSTD, (uint64_t) sb.st_size,
									 large->len, &frames, &err) == SB_OK &&
				 frames.n == 6, "%s", err.msg);
	sb_seek_list_free(&frames);
	sb_backup_file_path(stanza, b.label, "global/pg_control", SB_COMPRESS_ZSTD, path);
	snprintf(full, sizeof(full), "%s/%s", cfg.repo_path, path);
	SB_REQUIRE(stat(full, &sb) == 0);
	SB_CHECK(sb_codec_seek_table(st, path, SB_COMPRESS_ZSTD, (uint64_t) sb.st_size,
								 8192, &frames, &err) == SB_ERR_UNSUPPORTED);

	map.oid = TS_OID;
	for (int jobs = 1; jobs <= 3; jobs += 2)
	{
		const char *p;

		snprintf(target, sizeof(target), "%s/parts%d/data", root, jobs);
		snprintf(map.dir, sizeof(map.dir), "%s/parts%d/ts", root, jobs);
		init_options(&o, stanza, target);
		o.jobs = jobs;
		o.part_size = 1024 * 1024;
		o.ntablespace_map = 1;
		o.tablespace_map = &map;
		o.result = &result;
		SB_REQUIRE(sb_restore(st, &o, NULL, NULL, &err) == SB_OK ||
				   (fprintf(stderr, "restore: %s / %s\n", err.msg, err.detail), false));
		SB_CHECK_MSG(result.files_in_parts == (jobs > 1 ? 1 : 0) &&
					 result.file_parts == (jobs > 1 ? 6 : 0),
					 "jobs %d: %d files in %d parts", jobs,
					 result.files_in_parts, result.file_parts);
		/* every file but postmaster.opts and tablespace_map (written anew) */
		SB_CHECK_MSG(result.files == b.nfiles - 2, "jobs %d: %d files", jobs,
					 result.files);
		p = path_in(target, LARGE_PATH);
		SB_CHECK_MSG(file_is(p, large->data, large->len), "jobs %d: content", jobs);
		SB_CHECK(mode_of(p) == large->mode);
		SB_CHECK(stat(p, &sb) == 0 && sb.st_mtime == large->mtime);
	}

	/* a byte of its fourth frame changed: the part fails, the file goes */
	sb_backup_file_path(stanza, b.label, LARGE_PATH, SB_COMPRESS_ZSTD, path);
	snprintf(full, sizeof(full), "%s/%s", cfg.repo_path, path);
	data = sb_test_read_file(full, &len);
	SB_REQUIRE(data != NULL && len > 4 * 1024 * 1024);
	data[3 * 1024 * 1024 + 4096] ^= 0x10;
	sb_test_write_file(full, data, len);
	free(data);
	snprintf(target, sizeof(target), "%s/parts_damaged/data", root);
	snprintf(map.dir, sizeof(map.dir), "%s/parts_damaged/ts", root);
	init_options(&o, stanza, target);
	o.jobs = 3;
	o.part_size = 1024 * 1024;
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CORRUPT);
	SB_CHECK_MSG(strstr(err.msg, LARGE_PATH) != NULL &&
				 strstr(err.msg, "damaged") != NULL, "%s", err.msg);
	SB_CHECK(!exists(path_in(target, LARGE_PATH)));
	SB_CHECK(!exists(path_in(target, "recovery.signal")));
	fake_free(&b);
}

/*
 * A block-incremental file (manifest_layers.c): an incremental whose
 * base/1/1259 grew and had two chunks changed stores only those chunks and
 * the new ones, over the full backup's whole file; restore rebuilds it
 * byte for byte (other files referenced in the full backup), and refuses
 * it when the block sums of the result do not match (a layer missing).
 */
static void
test_layers(void)
{
	const char *stanza = "layers";
	const char *incr = "20260101-000100I";
	FakeBackup	b;
	SbRestoreOptions o;
	SbTablespaceMap map;
	SbManifest	m;
	SbManifestFile *f = NULL;
	SbManifestPart part;
	SbRepoConfig c = cfg;
	SbRestoreResult result;
	SbStoreResult res;
	SbError		err;
	char		target[PATH_MAX];
	char		path[SB_PATH_MAX];
	const uint32_t cs = 1024;
	size_t		new_len = BIG_SIZE + 2000;
	char	   *new_data;
	uint64_t   *new_sums;
	char	   *stored;
	size_t		stored_len = 0;
	uint32_t	chunks[8];
	uint32_t	n = 0;

	make_stanza(stanza);
	fake_block_size = 4096;
	make_backup(&b, stanza, "20260101-000000F", SB_COMPRESS_ZLIB, 1767225600, "0/3000000", true, SYSID);
	fake_block_size = 0;
	SB_REQUIRE(strcmp(b.files[2].path, "base/1/1259") == 0);

	/* the new content: chunks 3 and 500 changed, 2000 bytes added */
	new_data = make_content(new_len, 2);
	memcpy(new_data, b.files[2].data, BIG_SIZE);
	memset(new_data + 3 * cs + 17, 'x', 100);
	memset(new_data + 500 * cs, 'y', cs);
	chunks[n++] = 3;
	chunks[n++] = 500;
	for (uint32_t k = BIG_SIZE / cs; k < sb_block_count(new_len, cs); k++)
		chunks[n++] = k;
	stored = malloc((size_t) n * cs);
	SB_REQUIRE(stored != NULL);
	for (uint32_t k = 0; k < n; k++)
	{
		size_t		off = (size_t) chunks[k] * cs;
		size_t		len = new_len - off < cs ? new_len - off : cs;

		memcpy(stored + stored_len, new_data + off, len);
		stored_len += len;
	}
	c.compress_type = SB_COMPRESS_ZSTD;
	snprintf(c.stanza, sizeof(c.stanza), "%s", stanza);
	sb_backup_file_path(stanza, incr, "base/1/1259", SB_COMPRESS_ZSTD, path);
	{
		char		dir[SB_PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", path);
		for (char *p = strchr(dir + strlen(stanza) + 8, '/'); p != NULL; p = strchr(p + 1, '/'))
		{
			*p = '\0';
			(void) sb_storage_mkdir(st, dir, &err);
			*p = '/';
		}
	}
	SB_CHECK_MSG(sb_codec_store_buffer(st, &c, stored, stored_len, path, 0, &res, &err) == SB_OK,
				 "%s", err.msg);

	/* its manifest: everything referenced in the full backup but 1259 */
	SB_REQUIRE(sb_manifest_load(st, stanza, b.label, &m, &err) == SB_OK);
	snprintf(m.label, sizeof(m.label), "%s", incr);
	snprintf(m.base, sizeof(m.base), "%s", b.label);
	strcpy(m.type, "incr");
	m.compress_type = SB_COMPRESS_ZSTD;
	m.chunk_size = cs;
	for (int i = 0; i < m.nfiles; i++)
	{
		if (strcmp(m.files[i].path, "base/1/1259") == 0)
		{
			f = &m.files[i];
			continue;
		}
		snprintf(m.files[i].ref_label, SB_LABEL_LEN, "%s", b.label);
		m.files[i].ref_compress = SB_COMPRESS_ZLIB;
	}
	SB_REQUIRE(f != NULL && f->nblocks > 0);
	memset(&part, 0, sizeof(part));
	snprintf(part.label, sizeof(part.label), "%s", b.label);
	part.compress = SB_COMPRESS_ZLIB;
	part.size = f->size;
	memcpy(part.digest, f->digest, sizeof(part.digest));
	part.stored_size = f->stored_size;
	f->parts = malloc(sizeof(SbManifestPart));
	SB_REQUIRE(f->parts != NULL);
	f->parts[0] = part;
	f->nparts = 1;
	f->chunks = malloc(sizeof(uint32_t) * n);
	SB_REQUIRE(f->chunks != NULL);
	memcpy(f->chunks, chunks, sizeof(uint32_t) * n);
	f->nchunks = n;
	f->chunks_size = stored_len;
	f->size = new_len;
	memcpy(f->digest, res.digest, sizeof(f->digest));
	f->stored_size = res.stored_size;
	f->nblocks = sb_block_count(new_len, m.block_size);
	new_sums = calloc(f->nblocks, sizeof(uint64_t));
	SB_REQUIRE(new_sums != NULL);
	SB_CHECK(sb_block_sums_update(new_sums, f->nblocks, m.block_size, new_data, new_len, 0));
	SB_REQUIRE(sb_sum_store_append(&m.sums, new_sums, f->nblocks, &f->sums_at, &err) == SB_OK);
	SB_CHECK_MSG(sb_manifest_save(st, &c, &m, &err) == SB_OK, "%s", err.msg);

	map.oid = TS_OID;
	snprintf(map.dir, sizeof(map.dir), "%s/%s_ts", root, stanza);
	snprintf(target, sizeof(target), "%s/%s_target", root, stanza);
	init_options(&o, stanza, target);
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	o.backup_label = incr;
	memset(&result, 0, sizeof(result));
	o.result = &result;
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	SB_CHECK(file_is(path_in(target, "base/1/1259"), new_data, new_len));
	SB_CHECK(file_is(path_in(target, "base/1/nested/deep/file"), b.files[3].data, 1000));
	SB_CHECK(result.files_rebuilt == 1);

	/* sums that do not fit the result (the last block's): refused */
	new_sums[f->nblocks - 1] ^= 1;
	SB_REQUIRE(sb_sum_store_append(&m.sums, new_sums, f->nblocks, &f->sums_at, &err) == SB_OK);
	free(new_sums);
	snprintf(m.label, sizeof(m.label), "20260101-000200I");
	snprintf(c.stanza, sizeof(c.stanza), "%s", stanza);
	sb_backup_file_path(stanza, m.label, "base/1/1259", SB_COMPRESS_ZSTD, path);
	{
		char		dir[SB_PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", path);
		for (char *p = strchr(dir + strlen(stanza) + 8, '/'); p != NULL; p = strchr(p + 1, '/'))
		{
			*p = '\0';
			(void) sb_storage_mkdir(st, dir, &err);
			*p = '/';
		}
	}
	SB_CHECK(sb_codec_store_buffer(st, &c, stored, stored_len, path, 0, &res, &err) == SB_OK);
	SB_CHECK_MSG(sb_manifest_save(st, &c, &m, &err) == SB_OK, "%s", err.msg);
	sb_test_rm_tree(target);
	sb_test_rm_tree(map.dir);
	o.backup_label = "20260101-000200I";
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CORRUPT);
	SB_CHECK_MSG(strstr(err.msg, "does not match its block sums once rebuilt") != NULL, "%s", err.msg);
	SB_CHECK(!exists(path_in(target, "base/1/1259")));

	sb_manifest_free(&m);
	free(stored);
	free(new_data);
	fake_free(&b);
}

static void
test_choice(void)
{
	FakeBackup	b1;
	FakeBackup	b2;
	FakeBackup	b3;
	SbRestoreOptions o;
	SbRestoreResult result;
	SbManifest	m;
	SbError		err;
	SbTablespaceMap map;
	char		target[PATH_MAX];

	/* b1 ends at 2026-01-01 00:00:00 UTC, LSN 0/3000000; b2 a day later, 0/5000000 */
	make_stanza("choice");
	make_backup(&b1, "choice", "20260101-000000F", SB_COMPRESS_ZLIB, 1767225600, "0/3000000", true, SYSID);
	make_backup(&b2, "choice", "20260102-000000F", SB_COMPRESS_ZLIB, 1767312000, "0/5000000", true, SYSID);
	/* b3, newer, never finished */
	make_backup(&b3, "choice", "20260103-000000F", SB_COMPRESS_ZLIB, 1767398400, "0/7000000", false, SYSID);

	snprintf(target, sizeof(target), "%s/choice_target", root);
	init_options(&o, "choice", target);

#define CHOOSE(kind, value) \
	(o.target_kind = (kind), o.target_value = (value), \
	 sb_restore_choose_backup(st, &o, &m, &err))

	SB_CHECK(CHOOSE(SB_TARGET_NONE, NULL) == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_XID, "1234") == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_NAME, "before_upgrade") == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);

	/* by time */
	SB_CHECK(CHOOSE(SB_TARGET_TIME, "2026-01-01 12:00:00") == SB_OK && strcmp(m.label, "20260101-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_TIME, "2026-01-01 00:00:00") == SB_OK && strcmp(m.label, "20260101-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_TIME, "2026-01-02 00:00:00Z") == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);
	/* 2026-01-02 01:00:00+02 is 2026-01-01 23:00 UTC: before b2 ended */
	SB_CHECK(CHOOSE(SB_TARGET_TIME, "2026-01-02 01:00:00+02") == SB_OK && strcmp(m.label, "20260101-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_TIME, "2026-12-31 23:59:59.999 -05:00") == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_TIME, "2025-12-31 23:59:59") == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.detail, "20260101-000000F") != NULL && err.hint[0] != '\0');

	/* by LSN */
	SB_CHECK(CHOOSE(SB_TARGET_LSN, "0/4000000") == SB_OK && strcmp(m.label, "20260101-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_LSN, "0/5000000") == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_LSN, "1/0") == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);
	SB_CHECK(CHOOSE(SB_TARGET_LSN, "0/2FFFFFF") == SB_ERR_NOT_FOUND);

	/* named */
	o.target_kind = SB_TARGET_NONE;
	o.backup_label = "20260101-000000F";
	SB_CHECK(sb_restore_choose_backup(st, &o, &m, &err) == SB_OK && strcmp(m.label, "20260101-000000F") == 0);
	sb_manifest_free(&m);
	o.backup_label = "20260103-000000F";
	SB_CHECK(sb_restore_choose_backup(st, &o, &m, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "incomplete") != NULL);
	SB_CHECK_MSG(strstr(err.hint, "20260102-000000F, 20260101-000000F") != NULL, "%s", err.hint);
	o.backup_label = "nosuch";
	SB_CHECK(sb_restore_choose_backup(st, &o, &m, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "does not exist") != NULL && strstr(err.hint, "20260101-000000F") != NULL);

	/* a named backup that ended after the target cannot reach it */
	o.backup_label = "20260102-000000F";
	SB_CHECK(CHOOSE(SB_TARGET_TIME, "2026-01-01 12:00:00") == SB_ERR_CONFIG);
	SB_CHECK(strstr(err.msg, "ended after") != NULL && strstr(err.detail, "0/5000000") != NULL);
	SB_CHECK(CHOOSE(SB_TARGET_LSN, "0/4FFFFFF") == SB_ERR_CONFIG);
	SB_CHECK(CHOOSE(SB_TARGET_LSN, "0/5000000") == SB_OK && strcmp(m.label, "20260102-000000F") == 0);
	sb_manifest_free(&m);
	o.backup_label = "20260101-000000F";
	SB_CHECK(CHOOSE(SB_TARGET_NAME, "x") == SB_OK && strcmp(m.label, "20260101-000000F") == 0);
	sb_manifest_free(&m);
	o.target_kind = SB_TARGET_NONE;

	/* and sb_restore() follows the choice */
	map.oid = TS_OID;
	snprintf(map.dir, sizeof(map.dir), "%s/choice_ts", root);
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	o.result = &result;
	o.backup_label = "20260103-000000F";
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(!exists(target) && !exists(map.dir));
	o.backup_label = NULL;
	o.target_kind = SB_TARGET_LSN;
	o.target_value = "0/4000000";
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	SB_CHECK(strcmp(result.label, "20260101-000000F") == 0);
	sb_test_rm_tree(target);
	sb_test_rm_tree(map.dir);
	o.target_kind = SB_TARGET_TIME;
	o.target_value = "2026-01-02 10:00:00";
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	SB_CHECK(strcmp(result.label, "20260102-000000F") == 0);
	{
		size_t		len;
		char	   *text = sb_test_read_file(path_in(target, "postgresql.auto.conf"), &len);

		SB_CHECK(text != NULL && strstr(text, "recovery_target_time = '2026-01-02 10:00:00+00'\n"
										"recovery_target_action = 'pause'\n") != NULL);
		free(text);
	}
	fake_free(&b1);
	fake_free(&b2);
	fake_free(&b3);
#undef CHOOSE
}

/* notices of a restore, one line each */
static void
log_notice(const char *msg, void *arg)
{
	char	   *log = arg;

	strncat(log, msg, 4000 - strlen(log) - 2);
	strcat(log, "\n");
}

/*
 * A hostile repository records tablespace locations anywhere: restore
 * refuses one outside the target directory unless it is mapped or the
 * recorded locations are accepted, and names every location it uses.
 */
static void
test_tablespace_locations(void)
{
	FakeBackup	b;
	SbRestoreOptions o;
	SbTablespaceMap map;
	SbError		err;
	char		target[PATH_MAX];
	char		evil[PATH_MAX];
	char		inside[PATH_MAX];
	char		expect[PATH_MAX + 200];
	char		log[4000];

	/* an absolute location outside the target: refused, nothing created */
	snprintf(evil, sizeof(evil), "%s/etc_cron_d", root);
	next_ts_location = evil;
	make_stanza("tsloc");
	make_backup(&b, "tsloc", "20260101-000000F", SB_COMPRESS_NONE, 1767225600, "0/3000000", true, SYSID);
	snprintf(target, sizeof(target), "%s/tsloc_target", root);
	init_options(&o, "tsloc", target);
	log[0] = '\0';
	o.notice = log_notice;
	o.notice_arg = log;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	snprintf(expect, sizeof(expect),
			 "tablespace 16385 would be restored outside the target directory, into \"%s\"", evil);
	SB_CHECK_MSG(strcmp(err.msg, expect) == 0, "%s", err.msg);
	SB_CHECK_MSG(strstr(err.detail, "Whoever can write to the repository") != NULL, "%s", err.detail);
	SB_CHECK_MSG(strstr(err.hint, "--tablespace-map=16385=DIR") != NULL &&
				 strstr(err.hint, "--accept-tablespace-locations") != NULL, "%s", err.hint);
	SB_CHECK(!exists(evil) && !exists(target));
	SB_CHECK(log[0] == '\0');

	/* mapped: restored there, and said so */
	snprintf(map.dir, sizeof(map.dir), "%s/tsloc_mapped", root);
	map.oid = TS_OID;
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	snprintf(expect, sizeof(expect),
			 "tablespace 16385: restoring into \"%s\" (given with --tablespace-map)\n", map.dir);
	SB_CHECK_MSG(strcmp(log, expect) == 0, "%s", log);
	SB_CHECK(!exists(evil));
	SB_CHECK(file_is(path_in(map.dir, "PG_15_202209061/5/16390"), b.files[7].data, b.files[7].len));
	sb_test_rm_tree(target);

	/* accepted: restored to the recorded location, and said so */
	o.ntablespace_map = 0;
	o.accept_tablespace_locations = true;
	log[0] = '\0';
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	snprintf(expect, sizeof(expect),
			 "tablespace 16385: restoring into \"%s\" (recorded in the backup, accepted with --accept-tablespace-locations)\n", evil);
	SB_CHECK_MSG(strcmp(log, expect) == 0, "%s", log);
	SB_CHECK(file_is(path_in(evil, "PG_15_202209061/5/16390"), b.files[7].data, b.files[7].len));
	sb_test_rm_tree(target);
	fake_free(&b);

	/* a location inside the target directory needs neither */
	snprintf(inside, sizeof(inside), "%s/tsloc_target2/ts/one", root);
	next_ts_location = inside;
	make_stanza("tsin");
	make_backup(&b, "tsin", "20260101-000000F", SB_COMPRESS_NONE, 1767225600, "0/3000000", true, SYSID);
	snprintf(target, sizeof(target), "%s/tsloc_target2", root);
	init_options(&o, "tsin", target);
	log[0] = '\0';
	o.notice = log_notice;
	o.notice_arg = log;
	SB_CHECK_MSG(sb_restore(st, &o, NULL, NULL, &err) == SB_OK, "%s", err.msg);
	snprintf(expect, sizeof(expect),
			 "tablespace 16385: restoring into \"%s\" (recorded in the backup, inside the target directory)\n", inside);
	SB_CHECK_MSG(strcmp(log, expect) == 0, "%s", log);
	SB_CHECK(file_is(path_in(inside, "PG_15_202209061/5/16390"), b.files[7].data, b.files[7].len));
	sb_test_rm_tree(target);
	fake_free(&b);

	/* ".." leads out of it: refused */
	snprintf(inside, sizeof(inside), "%s/tsloc_target3/../escaped", root);
	next_ts_location = inside;
	make_stanza("tsdots");
	make_backup(&b, "tsdots", "20260101-000000F", SB_COMPRESS_NONE, 1767225600, "0/3000000", true, SYSID);
	snprintf(target, sizeof(target), "%s/tsloc_target3", root);
	init_options(&o, "tsdots", target);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strstr(err.msg, "outside the target directory") != NULL, "%s", err.msg);
	SB_CHECK(!exists(target) && !exists(path_in(root, "escaped")));
	fake_free(&b);

	/* a name that only starts like the target is outside it */
	snprintf(inside, sizeof(inside), "%s/tsloc_target4x/ts", root);
	next_ts_location = inside;
	make_stanza("tsprefix");
	make_backup(&b, "tsprefix", "20260101-000000F", SB_COMPRESS_NONE, 1767225600, "0/3000000", true, SYSID);
	snprintf(target, sizeof(target), "%s/tsloc_target4", root);
	init_options(&o, "tsprefix", target);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_CONFIG);
	SB_CHECK(!exists(target) && !exists(inside));
	fake_free(&b);
}

static void
test_other_cluster(void)
{
	FakeBackup	b;
	SbRestoreOptions o;
	SbError		err;
	char		target[PATH_MAX];

	make_stanza("other");
	make_backup(&b, "other", "20260101-000000F", SB_COMPRESS_ZLIB, 1767225600, "0/3000000", true, SYSID + 1);
	snprintf(target, sizeof(target), "%s/other_target", root);
	init_options(&o, "other", target);
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_MISMATCH);
	SB_CHECK(!exists(target));
	fake_free(&b);
}

static void
test_permission(void)
{
	FakeBackup	b;
	SbRestoreOptions o;
	SbTablespaceMap map;
	SbError		err;
	char		parent[PATH_MAX];
	char		target[PATH_MAX];

	if (geteuid() == 0)
	{
		printf("note: running as root, skipping the permission case of the restore tests\n");
		return;
	}
	make_stanza("perm");
	make_backup(&b, "perm", "20260101-000000F", SB_COMPRESS_ZLIB, 1767225600, "0/3000000", true, SYSID);
	snprintf(parent, sizeof(parent), "%s/perm_parent", root);
	mkdir(parent, 0500);
	snprintf(target, sizeof(target), "%s/data", parent);
	init_options(&o, "perm", target);
	map.oid = TS_OID;
	snprintf(map.dir, sizeof(map.dir), "%s/perm_ts", root);
	o.ntablespace_map = 1;
	o.tablespace_map = &map;
	SB_CHECK(sb_restore(st, &o, NULL, NULL, &err) == SB_ERR_PERMISSION);
	SB_CHECK(strstr(err.msg, "perm_parent") != NULL);
	chmod(parent, 0700);
	fake_free(&b);
}

static void
test_target_time(void)
{
	int64_t		t;
	int			us;
	bool		zone;

	SB_CHECK(sb_parse_target_time("1970-01-01 00:00:00", &t, &us, &zone) && t == 0 && us == 0 && !zone);
	SB_CHECK(sb_parse_target_time("2026-01-01 00:00:00", &t, &us, &zone) && t == 1767225600);
	SB_CHECK(sb_parse_target_time("2026-01-01T00:00:00Z", &t, &us, &zone) && t == 1767225600 && zone);
	SB_CHECK(sb_parse_target_time("2026-01-01 02:00:00+02", &t, &us, &zone) && t == 1767225600 && zone);
	SB_CHECK(sb_parse_target_time("2026-01-01 02:30:00 +0230", &t, &us, &zone) && t == 1767225600);
	SB_CHECK(sb_parse_target_time("2025-12-31 18:30:00-05:30", &t, &us, &zone) && t == 1767225600);
	SB_CHECK(sb_parse_target_time("2026-01-01 00:00:00 UTC", &t, &us, &zone) && t == 1767225600 && zone);
	SB_CHECK(sb_parse_target_time("2026-01-01 00:00:00.5", &t, &us, &zone) && t == 1767225600 && us == 500000);
	SB_CHECK(sb_parse_target_time("2026-01-01 00:00:00.1234567", &t, &us, &zone) && us == 123456);
	SB_CHECK(sb_parse_target_time("2024-02-29 12:00:00", &t, &us, &zone) && t == 1709208000);
	SB_CHECK(sb_parse_target_time("2000-03-01 00:00:00", &t, &us, &zone) && t == 951868800);
	SB_CHECK(!sb_parse_target_time("2025-02-29 12:00:00", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-13-01 00:00:00", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-01-01 24:00:00", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-01-01", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-01-01 00:00", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-01-01 00:00:00.", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-01-01 00:00:00 Europe/Paris", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-01-01 00:00:00+1", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("2026-01-01 00:00:00+16", &t, &us, &zone));
	SB_CHECK(!sb_parse_target_time("", &t, &us, &zone));

	SB_CHECK(sb_target_value_valid(SB_TARGET_XID, "12345"));
	SB_CHECK(sb_target_value_valid(SB_TARGET_XID, "18446744073709551615"));
	SB_CHECK(!sb_target_value_valid(SB_TARGET_XID, "18446744073709551616"));
	SB_CHECK(!sb_target_value_valid(SB_TARGET_XID, "-1"));
	SB_CHECK(!sb_target_value_valid(SB_TARGET_XID, ""));
	SB_CHECK(sb_target_value_valid(SB_TARGET_NAME, "before upgrade"));
	SB_CHECK(!sb_target_value_valid(SB_TARGET_NAME,
									"0123456789012345678901234567890123456789012345678901234567890123"));
	SB_CHECK(sb_target_value_valid(SB_TARGET_LSN, "16/B374D848"));
	SB_CHECK(!sb_target_value_valid(SB_TARGET_LSN, "16-B374D848"));
}

int
main(void)
{
	SbError		err;

	umask(022);
	snprintf(root, sizeof(root), "/tmp/sb_test_restore.XXXXXX");
	if (mkdtemp(root) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	sb_config_init(&cfg);
	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/repo", root);
	mkdir(cfg.repo_path, 0750);
	if (sb_storage_create(&cfg, &st, &err) != SB_OK ||
		sb_storage_open(st, &err) != SB_OK)
	{
		fprintf(stderr, "cannot open repository: %s\n", err.msg);
		return 2;
	}

	test_target_time();
	test_restore_full(SB_COMPRESS_ZLIB, "fullgz");
	test_restore_full(SB_COMPRESS_NONE, "fullplain");
	test_refusals();
	test_corrupt_file();
	test_prefetch();

	/* the same restores and damage, by three threads at once */
	test_jobs = 3;
	test_restore_full(SB_COMPRESS_ZLIB, "fullgz3");
	test_corrupt_file_in("corrupt3");
	test_jobs = 1;

	/* with block sums: checked block by block, damage found the same way */
	fake_block_size = 512;
	test_restore_full(SB_COMPRESS_ZLIB, "fullgzblocks");
	test_corrupt_file_in("corruptblocks");
	test_jobs = 3;
	test_corrupt_file_in("corruptblocks3");
	test_jobs = 1;
	fake_block_size = 0;

	test_parts();
	test_layers();
	test_choice();
	test_tablespace_locations();
	test_other_cluster();
	test_permission();

	sb_storage_close(st);
	sb_storage_free(st);
	sb_test_rm_tree(root);
	return sb_test_summary("restore");
}
