/*-------------------------------------------------------------------------
 *
 * test_verify.c
 *		Unit tests of sb_verify(): a healthy repository is ok; a missing
 *		file, a flipped byte (stored plain and zlib), a truncated file, a
 *		longer file, a missing WAL segment (gap), a damaged WAL segment, WAL
 *		ending before a backup's stop segment, a timeline switch (followed
 *		through the history file, a gap on the new timeline, a missing
 *		history file), and the choice of one backup are each reported as
 *		they should be; plus the WAL name and history helpers.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_repo.h"
#include "sb_test.h"
#include "test_files.h"
#include "verify.h"
#include "wal_timeline.h"

SB_TEST_DEFINE_COUNTERS;

#define MAX_REPORTS 8

typedef struct Reports
{
	int			n;
	SbVerifyBackup b[MAX_REPORTS];
	char		text[MAX_REPORTS][4096];	/* problems, one per line */
} Reports;

static void
collect(const SbVerifyBackup *b, void *arg)
{
	Reports    *r = arg;

	if (r->n >= MAX_REPORTS)
		return;
	r->b[r->n] = *b;
	r->b[r->n].problems = NULL;
	r->text[r->n][0] = '\0';
	for (int i = 0; i < b->nlisted; i++)
	{
		strncat(r->text[r->n], b->problems[i], 4000 - strlen(r->text[r->n]));
		strcat(r->text[r->n], "\n");
	}
	r->n++;
}

static SbStatus
run(FakeRepo *fr, const char *label, Reports *rep, int *nbad, SbError *err)
{
	SbVerifyOptions o;
	int			nchecked;

	memset(&o, 0, sizeof(o));
	memset(rep, 0, sizeof(*rep));
	o.stanza = "main";
	o.label = label;
	o.report = collect;
	o.report_arg = rep;
	return sb_verify(fr->st, &o, &nchecked, nbad, err);
}

static void
flip_byte(const char *path, size_t at)
{
	size_t		len;
	char	   *buf = sb_test_read_file(path, &len);

	if (buf == NULL || len <= at)
	{
		fprintf(stderr, "cannot flip byte %zu of %s\n", at, path);
		exit(2);
	}
	buf[at] ^= 0x20;
	sb_test_write_file(path, buf, len);
	free(buf);
}

static void
cut_file(const char *path, size_t keep)
{
	if (truncate(path, (off_t) keep) != 0)
	{
		perror(path);
		exit(2);
	}
}

static void
test_helpers(void)
{
	uint64_t	segsize = 0;
	unsigned int tli;
	uint64_t	segno;
	char		name[32];
	SbTimelineEntry *e;
	int			n;
	SbError		err;
	const char *hist = "1\t0/3000000\tno recovery target specified\n\n"
		"# comment\n2\t0/5A000A0\tbefore 2026-11-23 10:00:00+00\n";

	SB_CHECK(sb_wal_segsize_infer("0/2000028", "000000010000000000000002", &segsize) &&
			 segsize == 16 * 1024 * 1024);
	SB_CHECK(sb_wal_segsize_infer("1/4000000", "000000010000000100000001", &segsize) &&
			 segsize == 64 * 1024 * 1024);
	SB_CHECK(!sb_wal_segsize_infer("0/2000028", "000000010000000000000007", &segsize));
	SB_CHECK(sb_wal_parse_segment("0000000200000001000000FF", 16 * 1024 * 1024, &tli, &segno) &&
			 tli == 2 && segno == 0x1FF);
	SB_CHECK(!sb_wal_parse_segment("000000020000000100000100", 16 * 1024 * 1024, &tli, &segno));
	sb_wal_segment_name(3, 0x200, 16 * 1024 * 1024, name);
	SB_CHECK(strcmp(name, "000000030000000200000000") == 0);

	SB_REQUIRE(sb_timeline_history_parse(hist, strlen(hist), &e, &n, &err) == SB_OK);
	SB_CHECK(n == 2 && e[0].tli == 1 && e[0].end_lsn == 0x3000000 &&
			 e[1].tli == 2 && e[1].end_lsn == 0x5A000A0);
	free(e);
	SB_CHECK(sb_timeline_history_parse("1\tnonsense\n", 11, &e, &n, &err) == SB_ERR_CORRUPT);
}

/* two backups (segments 2 and 5 of timeline 1), WAL 1..8 */
static void
healthy(FakeRepo *r, const char *name, SbCompressType ct)
{
	fake_repo_init(r, name);
	r->cfg.compress_type = ct;
	fake_push_segments(r, 1, 1, 8);
	fake_backup(r, "20261101-010000F", 1, 2, 3, true);
	fake_backup(r, "20261102-010000F", 1, 5, 6, true);
}

static void
test_files(SbCompressType ct)
{
	FakeRepo	r;
	Reports		rep;
	SbError		err;
	int			nbad;
	const char *old = "20261101-010000F";
	const char *newer = "20261102-010000F";

	healthy(&r, ct == SB_COMPRESS_ZLIB ? "verify_gz" : "verify_plain", ct);
	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK(rep.n == 2 && nbad == 0);
	SB_CHECK(rep.b[0].ok && rep.b[1].ok);
	SB_CHECK(rep.b[0].files_checked == 3 && rep.b[0].bytes_checked == 3 + 8192 + 3 * SB_CODEC_BUFSIZE + 777);
	SB_CHECK_MSG(rep.b[0].wal_checked == 7, "%d", rep.b[0].wal_checked);	/* 2..8 */
	SB_CHECK(strcmp(rep.b[0].wal_first, "000000010000000000000002") == 0);
	SB_CHECK(strcmp(rep.b[0].wal_last, "000000010000000000000008") == 0);
	SB_CHECK(rep.b[1].wal_checked == 4);
	SB_CHECK_MSG(rep.text[0][0] == '\0', "%s", rep.text[0]);

	/* one kind of damage per file, all in the older backup */
	SB_CHECK(unlink(fake_data_file(&r, old, "PG_VERSION")) == 0);
	flip_byte(fake_data_file(&r, old, "global/pg_control"), 100);
	cut_file(fake_data_file(&r, old, "base/1/1259"), 5000);
	/* and a longer file in the newer one */
	{
		const char *p = fake_data_file(&r, newer, "global/pg_control");
		size_t		len;
		char	   *buf = sb_test_read_file(p, &len);
		char	   *more = malloc(len + 10);

		memcpy(more, buf, len);
		memset(more + len, 'x', 10);
		sb_test_write_file(p, more, len + 10);
		free(buf);
		free(more);
	}

	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK(rep.n == 2 && nbad == 2);
	SB_CHECK(!rep.b[0].ok && rep.b[0].nproblems == 3);
	SB_CHECK_MSG(strstr(rep.text[0], "missing file PG_VERSION\n") != NULL, "%s", rep.text[0]);
	SB_CHECK_MSG(strstr(rep.text[0], "checksum mismatch in global/pg_control") != NULL, "%s", rep.text[0]);
	SB_CHECK_MSG(strstr(rep.text[0], "truncated file base/1/1259: 5000 of ") != NULL, "%s", rep.text[0]);
	/* read to the end: only the plain flipped file (zlib detects it while decoding) */
	SB_CHECK(rep.b[0].files_checked == (ct == SB_COMPRESS_NONE ? 1 : 0));
	SB_CHECK(!rep.b[1].ok && rep.b[1].nproblems == 1);
	SB_CHECK_MSG(strstr(rep.text[1], "size mismatch in global/pg_control") != NULL, "%s", rep.text[1]);
	/* WAL is not to blame */
	SB_CHECK(strstr(rep.text[0], "WAL") == NULL && strstr(rep.text[1], "WAL") == NULL);

	/* one backup only */
	SB_REQUIRE(run(&r, newer, &rep, &nbad, &err) == SB_OK);
	SB_CHECK(rep.n == 1 && nbad == 1 && strcmp(rep.b[0].label, newer) == 0);
	SB_CHECK(run(&r, "20261109-010000F", &rep, &nbad, &err) == SB_ERR_NOT_FOUND &&
			 strstr(err.msg, "does not exist") != NULL);
	fake_backup(&r, "20261103-010000F", 1, 7, 7, false);
	SB_CHECK(run(&r, "20261103-010000F", &rep, &nbad, &err) == SB_ERR_NOT_FOUND &&
			 strstr(err.msg, "incomplete") != NULL);
	fake_repo_free(&r);
}

static void
test_wal(void)
{
	FakeRepo	r;
	Reports		rep;
	SbError		err;
	int			nbad;
	const char *p;

	healthy(&r, "verify_wal", SB_COMPRESS_ZLIB);
	/* segment 4 missing: only the older backup (from 2) needs it */
	SB_REQUIRE((p = fake_wal_file(&r, "000000010000000000000004")) != NULL);
	SB_CHECK(unlink(p) == 0);
	/* segment 7 damaged: both need it */
	SB_REQUIRE((p = fake_wal_file(&r, "000000010000000000000007")) != NULL);
	flip_byte(p, 12);

	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK(rep.n == 2 && nbad == 2);
	SB_CHECK_MSG(strstr(rep.text[0], "WAL gap from 000000010000000000000004 to 000000010000000000000004\n") != NULL,
				 "%s", rep.text[0]);
	SB_CHECK(strstr(rep.text[1], "WAL gap") == NULL);
	SB_CHECK_MSG(strstr(rep.text[0], "checksum mismatch in WAL file 000000010000000000000007") != NULL, "%s", rep.text[0]);
	SB_CHECK_MSG(strstr(rep.text[1], "checksum mismatch in WAL file 000000010000000000000007") != NULL, "%s", rep.text[1]);
	SB_CHECK(rep.b[0].nproblems == 2 && rep.b[1].nproblems == 1);
	fake_repo_free(&r);

	/* WAL archived only up to before the backup's stop segment */
	fake_repo_init(&r, "verify_stop");
	fake_push_segments(&r, 1, 2, 3);
	fake_backup(&r, "20261101-010000F", 1, 2, 5, true);
	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK_MSG(strstr(rep.text[0], "WAL gap from 000000010000000000000004 to 000000010000000000000005") != NULL,
				 "%s", rep.text[0]);
	fake_repo_free(&r);

	/* no WAL at all */
	fake_repo_init(&r, "verify_nowal");
	fake_backup(&r, "20261101-010000F", 1, 2, 2, true);
	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK_MSG(strstr(rep.text[0], "WAL gap from 000000010000000000000002 to 000000010000000000000002") != NULL,
				 "%s", rep.text[0]);
	fake_repo_free(&r);
}

/*
 * Timeline 1 switched to 2 at 0/5000100 (segment 5); the old primary also
 * archived segments 5 and 6 on timeline 1.  A backup on 1 (segment 2) is
 * recovered through 1: 2-4, then 2: 5-9.
 */
static void
test_timelines(void)
{
	FakeRepo	r;
	Reports		rep;
	SbError		err;
	int			nbad;
	const char *p;

	fake_repo_init(&r, "verify_tli");
	fake_push_segments(&r, 1, 1, 6);
	fake_push_wal(&r, "00000002.history", "1\t0/5000100\tno recovery target specified\n");
	fake_push_segments(&r, 2, 5, 9);
	fake_backup(&r, "20261101-010000F", 1, 2, 2, true);
	fake_backup(&r, "20261102-010000F", 2, 7, 7, true);

	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK_MSG(nbad == 0, "%s%s", rep.text[0], rep.text[1]);
	SB_CHECK(strcmp(rep.b[0].wal_first, "000000010000000000000002") == 0);
	SB_CHECK(strcmp(rep.b[0].wal_last, "000000020000000000000009") == 0);
	SB_CHECK_MSG(rep.b[0].wal_checked == 8, "%d", rep.b[0].wal_checked);	/* 1:2-4, 2:5-9 */
	SB_CHECK(rep.b[1].wal_checked == 3);

	/* timeline 1's own segment 5 is not on the path: losing it is fine */
	SB_REQUIRE((p = fake_wal_file(&r, "000000010000000000000005")) != NULL);
	SB_CHECK(unlink(p) == 0);
	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK(nbad == 0);

	/* timeline 2's segment 6 is, for the older backup only */
	SB_REQUIRE((p = fake_wal_file(&r, "000000020000000000000006")) != NULL);
	SB_CHECK(unlink(p) == 0);
	SB_REQUIRE(run(&r, NULL, &rep, &nbad, &err) == SB_OK);
	SB_CHECK(nbad == 1 && !rep.b[0].ok && rep.b[1].ok);
	SB_CHECK_MSG(strstr(rep.text[0], "WAL gap from 000000020000000000000006 to 000000020000000000000006") != NULL,
				 "%s", rep.text[0]);

	/* without the history file, where timeline 2 starts is unknown */
	SB_REQUIRE((p = fake_wal_file(&r, "00000002.history")) != NULL);
	SB_CHECK(unlink(p) == 0);
	SB_REQUIRE(run(&r, "20261101-010000F", &rep, &nbad, &err) == SB_OK);
	SB_CHECK_MSG(strstr(rep.text[0], "timeline history file 00000002.history is missing") != NULL, "%s", rep.text[0]);
	fake_repo_free(&r);
}

int
main(void)
{
	test_helpers();
	test_files(SB_COMPRESS_NONE);
	test_files(SB_COMPRESS_ZLIB);
	test_wal();
	test_timelines();
	return sb_test_summary("test_verify");
}
