/*-------------------------------------------------------------------------
 *
 * test_expire.c
 *		Unit tests of sb_expire(): which backups and WAL files are removed
 *		with retention_full = N (on one timeline and across a timeline
 *		switch), dry runs, retention off, leftovers of interrupted backups
 *		(spared when they may be running), and a damaged manifest stopping
 *		expire before anything is removed, and temporary files of writers
 *		that died.
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "expire.h"
#include "fake_repo.h"
#include "sb_test.h"
#include "test_files.h"
#include "wal.h"

SB_TEST_DEFINE_COUNTERS;

static bool
wal_stored(FakeRepo *r, unsigned int tli, unsigned int seg)
{
	char		name[32];

	snprintf(name, sizeof(name), "%08X%08X%08X", tli, 0, seg);
	return fake_wal_file(r, name) != NULL;
}

static bool
backup_there(FakeRepo *r, const char *label)
{
	char		path[SB_PATH_MAX];

	sb_backup_dir("main", label, path);
	return fake_exists(r, path);
}

static void
init_opts(SbExpireOptions *o, int n)
{
	memset(o, 0, sizeof(*o));
	o->stanza = "main";
	o->retention_full = n;
}

/* four backups in segments 2, 4, 6, 8 of timeline 1, WAL 1..10 */
static void
four_backups(FakeRepo *r, const char *name)
{
	fake_repo_init(r, name);
	fake_push_segments(r, 1, 1, 10);
	fake_push_wal(r, "000000010000000000000002.00000028.backup", "backup history 2");
	fake_push_wal(r, "000000010000000000000006.00000028.backup", "backup history 6");
	fake_backup(r, "20261101-010000F", 1, 2, 3, true);
	fake_backup(r, "20261102-010000F", 1, 4, 5, true);
	fake_backup(r, "20261103-010000F", 1, 6, 7, true);
	fake_backup(r, "20261104-010000F", 1, 8, 9, true);
}

/*
 * Make label (made by fake_backup) a backup of type on base: its manifest
 * rewritten, one file referenced in ref_from.
 */
static void
make_dependent(FakeRepo *r, const char *label, const char *type,
			   const char *base, const char *ref_from)
{
	SbManifest	m;
	SbError		err;
	char		path[SB_PATH_MAX];

	SB_REQUIRE(sb_manifest_load(r->st, "main", label, &m, &err) == SB_OK);
	snprintf(m.type, sizeof(m.type), "%s", type);
	snprintf(m.base, sizeof(m.base), "%s", base);
	snprintf(m.files[0].ref_label, sizeof(m.files[0].ref_label), "%s", ref_from);
	m.files[0].ref_compress = r->cfg.compress_type;
	sb_backup_manifest_path("main", label, path);
	SB_REQUIRE(unlink(fake_local(r, path)) == 0);
	SB_REQUIRE(sb_manifest_save(r->st, &r->cfg, &m, &err) == SB_OK);
	sb_manifest_free(&m);
}

/*
 * Retention counts full backups; an incremental goes with its full one,
 * and one kept (here by the floor) keeps the chain it depends on.  An
 * interrupted backup with a resume list is spared for the next attempt.
 */
static void
test_chains(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;
	char		path[SB_PATH_MAX];

	fake_repo_init(&r, "expire-chains");
	fake_push_segments(&r, 1, 1, 10);
	fake_backup(&r, "20261101-010000F", 1, 2, 3, true);
	fake_backup(&r, "20261102-010000I", 1, 4, 5, true);
	fake_backup(&r, "20261103-010000F", 1, 6, 7, true);
	fake_backup(&r, "20261104-010000I", 1, 8, 9, true);
	make_dependent(&r, "20261102-010000I", "incr", "20261101-010000F", "20261101-010000F");
	make_dependent(&r, "20261104-010000I", "incr", "20261103-010000F", "20261103-010000F");

	/* the floor keeps the first incremental: its full backup stays too */
	init_opts(&o, 1);
	o.dry_run = true;
	o.keep_newer_than = 1793581200;	/* 2026-11-02 01:00 UTC */
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 0);
	SB_CHECK(res.backups_kept == 4);
	sb_expire_result_free(&res);

	/* without the floor the older chain goes as a whole */
	init_opts(&o, 1);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 2);
	SB_CHECK(!backup_there(&r, "20261101-010000F"));
	SB_CHECK(!backup_there(&r, "20261102-010000I"));
	SB_CHECK(backup_there(&r, "20261103-010000F"));
	SB_CHECK(backup_there(&r, "20261104-010000I"));
	sb_expire_result_free(&res);

	/* an interrupted backup after the newest: spared with a resume list */
	fake_backup(&r, "20261105-010000I", 1, 9, 9, false);
	fake_backup(&r, "20261105-020000I", 1, 9, 9, false);
	sb_backup_dir("main", "20261105-020000I", path);
	strcat(path, "/backup.resume");
	{
		FILE	   *f = fopen(fake_local(&r, path), "w");

		SB_REQUIRE(f != NULL);
		fputs("list", f);
		fclose(f);
	}
	init_opts(&o, 1);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nleftovers == 1);
	SB_CHECK(!backup_there(&r, "20261105-010000I"));
	SB_CHECK(backup_there(&r, "20261105-020000I"));
	sb_expire_result_free(&res);
	fake_repo_free(&r);
}

static void
test_names(void)
{
	SB_CHECK(sb_expire_label_like("20261123-112437F"));
	SB_CHECK(!sb_expire_label_like("20261123-112437"));
	SB_CHECK(!sb_expire_label_like("2026112x-112437F"));
	SB_CHECK(!sb_expire_label_like("lost+found"));

	SB_CHECK(sb_expire_wal_removable("000000010000000000000005", "000000010000000000000006", 1));
	SB_CHECK(!sb_expire_wal_removable("000000010000000000000006", "000000010000000000000006", 1));
	SB_CHECK(!sb_expire_wal_removable("000000010000000100000000", "000000010000000000000006", 1));
	SB_CHECK(sb_expire_wal_removable("000000010000000000000005.partial", "000000010000000000000006", 1));
	SB_CHECK(sb_expire_wal_removable("000000010000000000000002.00000028.backup", "000000010000000000000006", 1));
	/* an older timeline goes whatever its segment number */
	SB_CHECK(sb_expire_wal_removable("000000010000000000000009", "000000020000000000000006", 2));
	SB_CHECK(!sb_expire_wal_removable("000000030000000000000009", "000000020000000000000006", 2));
	/* the horizon compares segment numbers, not timelines */
	SB_CHECK(sb_expire_wal_removable("000000030000000000000005", "000000020000000000000006", 2));
	SB_CHECK(!sb_expire_wal_removable("00000001.history", "000000020000000000000006", 2));
	SB_CHECK(!sb_expire_wal_removable("garbage", "000000020000000000000006", 2));
}

static void
test_retention(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;

	four_backups(&r, "expire");

	/* a dry run reports and removes nothing */
	init_opts(&o, 2);
	o.dry_run = true;
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 2 && res.backups_kept == 2);
	SB_CHECK(res.wal_removed == 6);	/* segments 1-5 and one .backup */
	SB_CHECK(backup_there(&r, "20261101-010000F") && wal_stored(&r, 1, 1));
	sb_expire_result_free(&res);

	init_opts(&o, 2);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.backups_kept == 2);
	SB_CHECK(res.nexpired == 2);
	SB_CHECK(res.nexpired == 2 && strcmp(res.expired[0], "20261101-010000F") == 0 &&
			 strcmp(res.expired[1], "20261102-010000F") == 0);
	SB_CHECK(res.nleftovers == 0);
	SB_CHECK(res.wal_removed == 6);
	SB_CHECK_MSG(strcmp(res.wal_first, "000000010000000000000001") == 0, "%s", res.wal_first);
	SB_CHECK_MSG(strcmp(res.wal_last, "000000010000000000000005") == 0, "%s", res.wal_last);
	SB_CHECK(strcmp(res.wal_keep_from, "000000010000000000000006") == 0);
	sb_expire_result_free(&res);

	SB_CHECK(!backup_there(&r, "20261101-010000F"));
	SB_CHECK(!backup_there(&r, "20261102-010000F"));
	SB_CHECK(backup_there(&r, "20261103-010000F"));
	SB_CHECK(backup_there(&r, "20261104-010000F"));
	for (unsigned int s = 1; s <= 5; s++)
		SB_CHECK_MSG(!wal_stored(&r, 1, s), "segment %u", s);
	for (unsigned int s = 6; s <= 10; s++)
		SB_CHECK_MSG(wal_stored(&r, 1, s), "segment %u", s);
	SB_CHECK(fake_wal_file(&r, "000000010000000000000002.00000028.backup") == NULL);
	SB_CHECK(fake_wal_file(&r, "000000010000000000000006.00000028.backup") != NULL);

	/* a second run has nothing left to do */
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 0 && res.wal_removed == 0 && res.backups_kept == 2);
	sb_expire_result_free(&res);

	/* more retention than backups: nothing goes */
	init_opts(&o, 5);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 0 && res.wal_removed == 0 && res.backups_kept == 2);
	sb_expire_result_free(&res);

	/* retention 1 keeps the newest only, and WAL from its start */
	init_opts(&o, 1);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 1 && res.backups_kept == 1);
	SB_CHECK(!wal_stored(&r, 1, 7) && wal_stored(&r, 1, 8) && wal_stored(&r, 1, 10));
	sb_expire_result_free(&res);
	fake_repo_free(&r);
}

static void
test_retention_off_and_leftovers(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;

	four_backups(&r, "expire_left");
	/* interrupted backups: one old, one newer than every complete backup */
	fake_backup(&r, "20261101-120000F", 1, 3, 3, false);
	fake_backup(&r, "20261105-010000F", 1, 10, 10, false);

	/* CLI: it cannot know what runs, so the newest incomplete one stays */
	init_opts(&o, 0);
	o.running_unknown = true;
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 0 && res.backups_kept == 4);
	SB_CHECK(res.wal_removed == 0);		/* retention off: all WAL stays */
	SB_CHECK(res.nleftovers == 1 && strcmp(res.leftovers[0], "20261101-120000F") == 0);
	SB_CHECK(res.nskipped == 1);
	SB_CHECK(!backup_there(&r, "20261101-120000F"));
	SB_CHECK(backup_there(&r, "20261105-010000F"));
	SB_CHECK(wal_stored(&r, 1, 1));
	sb_expire_result_free(&res);

	/* server: the running backup is spared by its label */
	init_opts(&o, 0);
	o.running_label = "20261105-010000F";
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nleftovers == 0 && res.nskipped == 1);
	SB_CHECK(backup_there(&r, "20261105-010000F"));
	sb_expire_result_free(&res);

	/* server, nothing running: it goes */
	init_opts(&o, 0);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nleftovers == 1 && res.nskipped == 0);
	SB_CHECK(!backup_there(&r, "20261105-010000F"));
	sb_expire_result_free(&res);

	/* directories that do not look like backups are never touched */
	SB_CHECK(sb_storage_mkdir(r.st, "main/backup/keep-me", &err) == SB_OK);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nleftovers == 0 && fake_exists(&r, "main/backup/keep-me"));
	sb_expire_result_free(&res);

	SB_CHECK(sb_expire(r.st, &(SbExpireOptions) {.stanza = "main", .retention_full = -1},
					   &res, &err) == SB_ERR_CONFIG);
	fake_repo_free(&r);
}

/* A file at relpath, last modified age seconds ago. */
static void
plant_file(FakeRepo *r, const char *relpath, int age)
{
	const char *path = fake_local(r, relpath);
	struct timespec times[2];
	FILE	   *f = fopen(path, "w");

	SB_REQUIRE(f != NULL);
	fputs("half a segment", f);
	fclose(f);
	/*
	 * Whole seconds of time(), the clock the checks compare with: it reads
	 * a coarse clock that can lag CLOCK_REALTIME by a tick, so a file
	 * stamped from CLOCK_REALTIME just after a second began looked a
	 * second younger than time() said (a failure in CI, now and then).
	 */
	times[0].tv_sec = time(NULL) - age;
	times[0].tv_nsec = 0;
	times[1] = times[0];
	SB_REQUIRE(utimensat(AT_FDCWD, path, times, 0) == 0);
}

/*
 * Temporary files of writers killed in the middle of a write: in a WAL
 * directory and beside stanza.info; removed when old enough, counted
 * otherwise; a dry run removes nothing; other files are never touched.
 */
static void
test_temp_files(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbTempLeftovers t;
	SbError		err;
	char		walfile[SB_PATH_MAX];
	const char *old_wal = "main/wal/0000000100000000/000000010000000000000003-aa.gz.tmp.4242.1";
	const char *new_wal = "main/wal/0000000100000000/000000010000000000000004-bb.gz.tmp.4243.7";
	const char *old_info = "main/stanza.info.tmp.99.3";
	const char *not_temp = "main/wal/0000000100000000/notes.tmp.x";

	four_backups(&r, "expire_temp");
	plant_file(&r, old_wal, SB_TEMP_SAFE_AGE_S + 60);
	plant_file(&r, new_wal, 30);
	plant_file(&r, old_info, SB_TEMP_SAFE_AGE_S + 3600);
	plant_file(&r, not_temp, SB_TEMP_SAFE_AGE_S + 3600);
	snprintf(walfile, sizeof(walfile), "%s", fake_wal_file(&r, "000000010000000000000003"));

	/* counted, without removing, as verify and info do */
	SB_REQUIRE(sb_temp_leftovers_scan(r.st, "main", 0, 0, false, &t, &err) == SB_OK);
	SB_CHECK(t.found == 3 && t.removed == 0 && t.young == 0);
	SB_CHECK(t.oldest_mtime > 0 && t.oldest_mtime <= (int64_t) time(NULL) - SB_TEMP_SAFE_AGE_S - 3600);

	/* a dry run says what would go */
	init_opts(&o, 0);
	o.dry_run = true;
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.temp.found == 3 && res.temp.old == 2 && res.temp.young == 1 &&
			 res.temp.removed == 0);
	SB_CHECK(fake_exists(&r, old_wal) && fake_exists(&r, old_info));
	sb_expire_result_free(&res);

	/* expire removes the old ones only, whatever the retention */
	init_opts(&o, 0);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.temp.found == 3 && res.temp.old == 2 && res.temp.young == 1 &&
			 res.temp.removed == 2);
	SB_CHECK(!fake_exists(&r, old_wal) && !fake_exists(&r, old_info));
	SB_CHECK(fake_exists(&r, new_wal));
	SB_CHECK(fake_exists(&r, not_temp));
	SB_CHECK(access(walfile, F_OK) == 0);
	SB_CHECK(wal_stored(&r, 1, 3) && wal_stored(&r, 1, 4));
	sb_expire_result_free(&res);

	SB_REQUIRE(sb_temp_leftovers_scan(r.st, "main", 0, 0, false, &t, &err) == SB_OK);
	SB_CHECK(t.found == 1);
	fake_repo_free(&r);
}

/*
 * Timeline 1 switched to 2 at 0/5000000 (segment 5); the old primary still
 * archived segment 6 on timeline 1.  Backups: 2 and 4 on timeline 1, 6 and
 * 8 on timeline 2.
 */
static void
timeline_repo(FakeRepo *r, const char *name)
{
	fake_repo_init(r, name);
	fake_push_segments(r, 1, 1, 6);
	fake_push_wal(r, "00000002.history", "1\t0/5000000\tno recovery target specified\n");
	fake_push_segments(r, 2, 5, 9);
	fake_backup(r, "20261101-010000F", 1, 2, 2, true);
	fake_backup(r, "20261102-010000F", 1, 4, 4, true);
	fake_backup(r, "20261103-010000F", 2, 6, 6, true);
	fake_backup(r, "20261104-010000F", 2, 8, 8, true);
}

/* The server's question, answered for a test: "Y" runs; "C" completes when asked. */
typedef struct RunningProbe
{
	FakeRepo   *r;
	int			calls;
	char		hidden[2 * SB_PATH_MAX];	/* manifest moved aside */
	char		manifest[2 * SB_PATH_MAX];
} RunningProbe;

static bool
probe_running(const char *label, void *arg)
{
	RunningProbe *p = arg;

	p->calls++;
	if (strcmp(label, "20261102-120000F") == 0)
		return true;
	if (strcmp(label, "20261103-120000F") == 0)
		SB_CHECK(rename(p->hidden, p->manifest) == 0);	/* it just completed */
	return false;
}

static void
test_running_probe(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;
	RunningProbe probe;
	char		path[SB_PATH_MAX];

	four_backups(&r, "expire_probe");
	fake_backup(&r, "20261102-120000F", 1, 5, 5, false);	/* running */
	fake_backup(&r, "20261103-120000F", 1, 7, 7, true);	/* completes during expire */
	fake_backup(&r, "20261101-120000F", 1, 3, 3, false);	/* leftover */
	memset(&probe, 0, sizeof(probe));
	probe.r = &r;
	sb_backup_manifest_path("main", "20261103-120000F", path);
	snprintf(probe.manifest, sizeof(probe.manifest), "%s", fake_local(&r, path));
	snprintf(probe.hidden, sizeof(probe.hidden), "%s.aside", probe.manifest);
	SB_REQUIRE(rename(probe.manifest, probe.hidden) == 0);

	init_opts(&o, 0);
	o.is_running = probe_running;
	o.is_running_arg = &probe;
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(probe.calls == 3);
	SB_CHECK(res.nleftovers == 1 && strcmp(res.leftovers[0], "20261101-120000F") == 0);
	SB_CHECK(res.nskipped == 1);
	SB_CHECK(backup_there(&r, "20261102-120000F"));
	SB_CHECK(backup_there(&r, "20261103-120000F") && fake_exists(&r, path));
	SB_CHECK(!backup_there(&r, "20261101-120000F"));
	sb_expire_result_free(&res);
	fake_repo_free(&r);
}

static void
test_timelines(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;

	/* keeping a timeline 1 backup keeps its WAL up to the switch and after */
	timeline_repo(&r, "expire_tli3");
	init_opts(&o, 3);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 1);
	SB_CHECK(res.wal_removed == 3);
	SB_CHECK(!wal_stored(&r, 1, 3) && wal_stored(&r, 1, 4) && wal_stored(&r, 1, 6));
	for (unsigned int s = 5; s <= 9; s++)
		SB_CHECK_MSG(wal_stored(&r, 2, s), "timeline 2 segment %u", s);
	SB_CHECK(fake_wal_file(&r, "00000002.history") != NULL);
	sb_expire_result_free(&res);
	fake_repo_free(&r);

	/* keeping only timeline 2 backups: timeline 1 goes entirely */
	timeline_repo(&r, "expire_tli2");
	init_opts(&o, 2);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 2);
	SB_CHECK(strcmp(res.wal_keep_from, "000000020000000000000006") == 0);
	for (unsigned int s = 1; s <= 6; s++)
		SB_CHECK_MSG(!wal_stored(&r, 1, s), "timeline 1 segment %u", s);
	SB_CHECK(!wal_stored(&r, 2, 5));
	for (unsigned int s = 6; s <= 9; s++)
		SB_CHECK_MSG(wal_stored(&r, 2, s), "timeline 2 segment %u", s);
	SB_CHECK(fake_wal_file(&r, "00000002.history") != NULL);
	SB_CHECK(!fake_exists(&r, "main/wal/0000000100000000"));	/* emptied dir removed */
	sb_expire_result_free(&res);
	fake_repo_free(&r);

	/*
	 * A newer backup on a timeline that restarted from an older point
	 * (point-in-time restore): the horizon is the smallest start of all
	 * kept backups, not the oldest label's.
	 */
	fake_repo_init(&r, "expire_pitr");
	fake_push_segments(&r, 1, 1, 12);
	fake_push_wal(&r, "00000002.history", "1\t0/3800000\tbefore 2026-11-02\n");
	fake_push_segments(&r, 2, 3, 6);
	fake_backup(&r, "20261101-010000F", 1, 2, 2, true);
	fake_backup(&r, "20261102-010000F", 1, 10, 10, true);
	fake_backup(&r, "20261103-010000F", 2, 4, 4, true);
	init_opts(&o, 2);
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 1);
	SB_CHECK(strcmp(res.wal_keep_from, "000000020000000000000004") == 0);
	SB_CHECK(!wal_stored(&r, 1, 3) && wal_stored(&r, 1, 4) && wal_stored(&r, 1, 12));
	SB_CHECK(!wal_stored(&r, 2, 3) && wal_stored(&r, 2, 4));
	sb_expire_result_free(&res);
	fake_repo_free(&r);
}

static void
test_damaged_manifest(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;
	char		path[SB_PATH_MAX];
	size_t		len;
	char	   *text;

	four_backups(&r, "expire_bad");
	sb_backup_manifest_path("main", "20261103-010000F", path);
	text = sb_test_read_file(fake_local(&r, path), &len);
	SB_REQUIRE(text != NULL && len > 100);
	text[60] ^= 1;
	sb_test_write_file(fake_local(&r, path), text, len);
	free(text);

	init_opts(&o, 1);
	SB_CHECK(sb_expire(r.st, &o, &res, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.detail, "nothing was removed") != NULL);
	SB_CHECK(backup_there(&r, "20261101-010000F") && wal_stored(&r, 1, 1));
	sb_expire_result_free(&res);
	fake_repo_free(&r);
}

/*
 * The floor of the repository server's retention: backups labelled at or
 * after keep_newer_than stay, and the WAL from the oldest of them, even
 * when newer full backups (forged ones, say) fill retention_full.
 */
static void
test_floor(void)
{
	FakeRepo	r;
	SbExpireOptions o;
	SbExpireResult res;
	SbError		err;

	four_backups(&r, "expire-floor");
	init_opts(&o, 1);
	o.keep_newer_than = 1793577600;	/* 2026-11-02 00:00:00 UTC */
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK_MSG(res.nexpired == 1 && res.backups_kept == 3, "expired %d, kept %d",
				 res.nexpired, res.backups_kept);
	SB_CHECK(!backup_there(&r, "20261101-010000F"));
	SB_CHECK(backup_there(&r, "20261102-010000F"));
	SB_CHECK(strcmp(res.wal_keep_from, "000000010000000000000004") == 0);
	SB_CHECK(!wal_stored(&r, 1, 3) && wal_stored(&r, 1, 4));
	sb_expire_result_free(&res);

	/* a floor after every backup changes nothing */
	init_opts(&o, 1);
	o.keep_newer_than = 4102444800;	/* 2100-01-01 */
	SB_REQUIRE(sb_expire(r.st, &o, &res, &err) == SB_OK);
	SB_CHECK(res.nexpired == 2 && res.backups_kept == 1);
	sb_expire_result_free(&res);
	fake_repo_free(&r);
}

int
main(void)
{
	test_names();
	test_retention();
	test_retention_off_and_leftovers();
	test_running_probe();
	test_timelines();
	test_damaged_manifest();
	test_temp_files();
	test_floor();
	test_chains();
	return sb_test_summary("test_expire");
}
