/*-------------------------------------------------------------------------
 *
 * test_wal_changes.c
 *		Unit tests of pg_control reading (fixtures made by initdb of
 *		PostgreSQL 15, 17 and 18) and of collecting the blocks WAL touched,
 *		on WAL built by the test-only writer: block references, images with
 *		holes and compression, SAME_REL, records across pages and segments,
 *		XLOG_SWITCH, file-level records, timelines, and every way the list
 *		becomes unusable.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "crc32c.h"
#include "sb_test.h"
#include "wal_changes.h"
#include "wal_list_text.h"
#include "wal_writer.h"

SB_TEST_DEFINE_COUNTERS;

#define SEGSZ	(64 * 1024)
#define START	(SEGSZ + 40)		/* segment 1, after its long header */

static void
test_crc32c(void)
{
	/* the check value of CRC-32C */
	SB_CHECK(sb_crc32c("123456789", 9) == 0xE3069283u);
	SB_CHECK(sb_crc32c("", 0) == 0);

	/* both code paths agree with a bit-at-a-time reference, in pieces */
	{
		static unsigned char buf[10007];
		uint32_t	ref = 0xFFFFFFFFu;
		uint32_t	fast;
		uint32_t	portable;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char) (i * 131 + (i >> 7));
		for (size_t i = 0; i < sizeof(buf); i++)
		{
			ref ^= buf[i];
			for (int k = 0; k < 8; k++)
				ref = (ref & 1) ? (ref >> 1) ^ 0x82F63B78u : ref >> 1;
		}
		ref ^= 0xFFFFFFFFu;
		fast = sb_crc32c_update(SB_CRC32C_INIT, buf, 3);
		fast = SB_CRC32C_FINAL(sb_crc32c_update(fast, buf + 3, sizeof(buf) - 3));
		portable = sb_crc32c_update_portable(SB_CRC32C_INIT, buf, 5);
		portable = SB_CRC32C_FINAL(sb_crc32c_update_portable(portable, buf + 5,
															 sizeof(buf) - 5));
		SB_CHECK(fast == ref);
		SB_CHECK(portable == ref);
	}
}

static size_t
read_fixture(const char *name, unsigned char *buf, size_t size)
{
	char		path[1024];
	const char *dir = getenv("SB_TEST_FIXTURES");
	FILE	   *f;
	size_t		n;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/unit/fixtures", name);
	f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

static void
check_control(const char *name, uint32_t version, uint64_t sysid,
			  uint64_t checkpoint, uint32_t checksums)
{
	unsigned char buf[8192];
	size_t		len = read_fixture(name, buf, sizeof(buf));
	SbControlInfo ci;
	SbError		err;

	SB_REQUIRE(len == 8192);
	sb_error_clear(&err);
	SB_REQUIRE(sb_cluster_parse_control(buf, len, name, &ci, &err) == SB_OK);
	SB_CHECK(ci.pg_control_version == version);
	SB_CHECK(ci.system_identifier == sysid);
	SB_CHECK(ci.state == SB_DB_SHUTDOWNED);
	SB_CHECK_MSG(ci.checkpoint == checkpoint, "%s: %lX", name, (unsigned long) ci.checkpoint);
	SB_CHECK(ci.checkpoint_redo == checkpoint);	/* a shutdown checkpoint */
	SB_CHECK(ci.checkpoint_tli == 1);
	SB_CHECK(ci.min_recovery_point == 0 && ci.min_recovery_point_tli == 0);
	SB_CHECK(ci.wal_level == SB_WAL_LEVEL_REPLICA);
	SB_CHECK(!ci.wal_log_hints);
	SB_CHECK(ci.blcksz == 8192 && ci.relseg_size == 131072);
	SB_CHECK(ci.xlog_blcksz == 8192 && ci.xlog_seg_size == 16 * 1024 * 1024);
	SB_CHECK(ci.data_checksum_version == checksums);

	/* one flipped bit fails the CRC */
	buf[160] ^= 1;
	SB_CHECK(sb_cluster_parse_control(buf, len, name, &ci, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "checksum mismatch") != NULL);
}

static void
test_control(void)
{
	unsigned char buf[8192];
	SbControlInfo ci;
	SbError		err;
	size_t		len;

	/* initdb -k of 15, initdb of 17, initdb --no-data-checksums of 18 */
	check_control("pg_control_15", 1300, 7716123772963754518ull, 0x17529B0, 1);
	check_control("pg_control_17", 1700, 7716123776307909157ull, 0x15008C8, 0);
	check_control("pg_control_18", 1800, 7716123779224928835ull, 0x15208F0, 0);

	/* an unknown format version is refused by name */
	len = read_fixture("pg_control_15", buf, sizeof(buf));
	SB_REQUIRE(len == 8192);
	buf[8] = 0x10;
	sb_error_clear(&err);
	SB_CHECK(sb_cluster_parse_control(buf, len, "x", &ci, &err) == SB_ERR_MISMATCH);
	SB_CHECK(strstr(err.msg, "unsupported pg_control version") != NULL);
	SB_CHECK(sb_cluster_parse_control(buf, 100, "x", &ci, &err) != SB_OK);

	/* read from a data directory */
	sb_error_clear(&err);
	SB_CHECK(sb_cluster_read_control("/nonexistent", &ci, &err) == SB_ERR_NOT_FOUND);
}

/* ---- WAL ---- */

static SbWalChanges *
collect_certain(TestWal *w, uint64_t end, const SbTimelineEntry *hist,
				int nhist, unsigned int target_tli, uint64_t certain_lsn)
{
	SbWalChangesInput in;
	SbWalChanges *ch = NULL;
	SbError		err;

	memset(&in, 0, sizeof(in));
	in.segsize = w->segsize;
	in.system_identifier = w->sysid;
	in.start_lsn = START;
	in.start_tli = 1;
	in.end_lsn = end;
	in.target_tli = target_tli;
	in.history = hist;
	in.nhistory = nhist;
	in.read_segment = tw_read_segment;
	in.read_arg = w;
	in.certain_lsn = certain_lsn;
	sb_error_clear(&err);
	if (sb_wal_changes_collect(&in, &ch, &err) != SB_OK)
		return NULL;
	return ch;
}

static SbWalChanges *
collect(TestWal *w, uint64_t end, const SbTimelineEntry *hist, int nhist,
		unsigned int target_tli)
{
	return collect_certain(w, end, hist, nhist, target_tli, 0);
}

/* The pages of relpath that records from certain_lsn on touched, or "none". */
static const char *
later_of(const SbWalChanges *ch, const char *relpath)
{
	uint32_t   *pages;
	uint32_t	n;

	sb_wal_changes_file_later(ch, relpath, 8192, 131072, &pages, &n);
	if (n == 0)
		return pages == NULL ? "none" : "empty but allocated";
	return wl_page_list(pages, n);
}

#define CHECK_LATER(ch, path, want) \
	SB_CHECK_MSG(strcmp(later_of(ch, path), want) == 0, "%s: got %s, want %s", \
				 path, later_of(ch, path), want)

#define CHECK_PAGES(ch, path, want) \
	SB_CHECK_MSG(strcmp(wl_pages_of(ch, path), want) == 0, "%s: got %s, want %s", \
				 path, wl_pages_of(ch, path), want)

/* A heap-like record: one block of rel, main data of 20 bytes. */
static uint64_t
heap_record(TestWal *w, uint32_t db, uint32_t rel, uint8_t fork, uint32_t blk)
{
	static TestRec r;

	tr_begin(&r, 10, 0x00);
	tr_block(&r, 0, fork, false, 1663, db, rel, blk, 30);
	tr_main(&r, NULL, 20);
	return tw_append(w, &r);
}

static uint64_t
checkpoint_record(TestWal *w)
{
	static TestRec r;

	tr_begin(&r, 0, 0x00);
	tr_main(&r, NULL, 88);
	return tw_append(w, &r);
}

/* The WAL most tests share: see the comments. */
static uint64_t
build_wal(TestWal *w)
{
	static TestRec r;
	uint32_t	trunc[5] = {7, 1663, 5, 16500, 7};
	uint32_t	dbcopy[4] = {7, 1663, 1, 1663};

	tw_init(w, SEGSZ, START);
	/* two blocks of one relation, the second SAME_REL, origin and xid headers */
	tr_begin(&r, 10, 0x20);
	tr_block(&r, 0, 0, false, 1663, 5, 16384, 1, 40);
	tr_block(&r, 1, 0, true, 0, 0, 0, 2, 0);
	tr_block(&r, 3, 1, false, 1663, 5, 16384, 0, 12);	/* its FSM */
	tr_origin_xid(&r);
	tr_main(&r, NULL, 14);
	tw_append(w, &r);
	/* images: a hole with compression (2 more header bytes), a plain one */
	tr_begin(&r, 0, 0xB0);
	tr_block_image(&r, 0, 1663, 5, 16390, 131072 + 3, 3000, true, true);
	tr_block_image(&r, 1, 1663, 5, 16391, 9, 8192, false, false);
	tr_block_image(&r, 2, 1664, 0, 1262, 0, 7000, true, false);
	tw_append(w, &r);
	/* a heap block whose visibility map page is page 1 */
	heap_record(w, 5, 16392, 0, 40000);
	/* a record over several pages and into segment 2 */
	tr_begin(&r, 10, 0x00);
	tr_block(&r, 0, 0, false, 1663, 5, 16393, 77, 0);
	tr_main(&r, NULL, 70000);
	tw_append(w, &r);
	/* smgr truncate of 16500, a database created by copying files */
	tr_begin(&r, 2, 0x20);
	tr_main(&r, trunc, sizeof(trunc));
	tw_append(w, &r);
	tr_begin(&r, 4, 0x00);
	tr_main(&r, dbcopy, sizeof(dbcopy));
	tw_append(w, &r);
	/* XLOG_SWITCH: the rest of segment 2 is garbage, never read */
	tr_begin(&r, 0, 0x40);
	tw_append(w, &r);
	memset(w->seg[2] + SEGSZ / 2, 0x5A, SEGSZ / 2);
	heap_record(w, 5, 16394, 0, 5);
	return checkpoint_record(w);
}

static void
test_collect(void)
{
	TestWal		w;
	uint64_t	end = build_wal(&w);
	SbWalChanges *ch;
	SbWalChangesStats st;

	heap_record(&w, 5, 16395, 0, 1);	/* after the end: not taken */
	ch = collect(&w, end, NULL, 0, 1);
	SB_REQUIRE(ch != NULL);
	SB_CHECK(sb_wal_changes_usable(ch, NULL));
	CHECK_PAGES(ch, "base/5/16384", "1,2");
	CHECK_PAGES(ch, "base/5/16384_fsm", "0");
	CHECK_PAGES(ch, "base/5/16384_vm", "0");	/* covers heap blocks 1, 2 */
	CHECK_PAGES(ch, "base/5/16384.1", "untouched");
	CHECK_PAGES(ch, "base/5/16390", "untouched");
	CHECK_PAGES(ch, "base/5/16390.1", "3");
	CHECK_PAGES(ch, "base/5/16391", "9");
	CHECK_PAGES(ch, "global/1262", "0");
	CHECK_PAGES(ch, "base/5/16392", "40000");
	CHECK_PAGES(ch, "base/5/16392_vm", "1");
	CHECK_PAGES(ch, "base/5/16393", "77");
	CHECK_PAGES(ch, "base/5/16500", "whole");
	CHECK_PAGES(ch, "base/5/16500_fsm", "whole");
	CHECK_PAGES(ch, "base/5/16500.3", "whole");
	CHECK_PAGES(ch, "base/7/1259", "whole");
	CHECK_PAGES(ch, "base/5/16394", "5");
	CHECK_PAGES(ch, "base/5/16395", "untouched");
	CHECK_PAGES(ch, "base/1/16384", "untouched");
	CHECK_PAGES(ch, "pg_tblspc/1663/PG_15_202209061/5/16384", "1,2");
	/* not relation files */
	CHECK_PAGES(ch, "base/5/PG_VERSION", "not relation");
	CHECK_PAGES(ch, "base/5/pg_filenode.map", "not relation");
	CHECK_PAGES(ch, "base/5/t3_16384", "not relation");
	CHECK_PAGES(ch, "base/5/016384", "not relation");
	CHECK_PAGES(ch, "base/5/16384.0", "not relation");
	CHECK_PAGES(ch, "base/5/16384_xx", "not relation");
	CHECK_PAGES(ch, "global/pg_control", "not relation");
	CHECK_PAGES(ch, "pg_wal/000000010000000000000001", "not relation");
	CHECK_PAGES(ch, "pg_tblspc/16390/5/16384", "not relation");
	sb_wal_changes_stats(ch, &st);
	SB_CHECK_MSG(st.records == 9, "records %lu", (unsigned long) st.records);
	SB_CHECK_MSG(st.block_refs == 9, "block refs %lu", (unsigned long) st.block_refs);
	SB_CHECK(st.segments == 3);
	sb_wal_changes_free(ch);
	tw_free(&w);
}

/*
 * The pages records from a given LSN on touched (a backup's stop LSN: such
 * pages surely differ from the backup's copy): the record starting at it
 * counts, the one before does not; file-level records (a truncation) are
 * not in that list, whose files are compared whole anyway.
 */
static void
test_later(void)
{
	static TestRec r;
	TestWal		w;
	uint32_t	trunc[5] = {7, 1663, 5, 16602, 7};
	uint64_t	certain;
	uint64_t	end;
	SbWalChanges *ch;

	tw_init(&w, SEGSZ, START);
	heap_record(&w, 5, 16600, 0, 3);
	heap_record(&w, 5, 16601, 0, 2);
	certain = heap_record(&w, 5, 16600, 0, 7);
	heap_record(&w, 5, 16601, 0, 40000);
	heap_record(&w, 5, 16602, 0, 4);
	tr_begin(&r, 2, 0x20);
	tr_main(&r, trunc, sizeof(trunc));
	tw_append(&w, &r);
	end = checkpoint_record(&w);

	ch = collect_certain(&w, end, NULL, 0, 1, certain);
	SB_REQUIRE(ch != NULL);
	SB_CHECK(sb_wal_changes_usable(ch, NULL));
	CHECK_PAGES(ch, "base/5/16600", "3,7");
	CHECK_LATER(ch, "base/5/16600", "7");
	CHECK_PAGES(ch, "base/5/16601", "2,40000");
	CHECK_LATER(ch, "base/5/16601", "40000");
	CHECK_LATER(ch, "base/5/16601_vm", "1");	/* covers heap block 40000 */
	CHECK_PAGES(ch, "base/5/16602", "whole");
	CHECK_LATER(ch, "base/5/16602", "4");
	CHECK_LATER(ch, "base/5/16603", "none");
	CHECK_LATER(ch, "base/5/PG_VERSION", "none");
	sb_wal_changes_free(ch);

	/* from the record after: 16600's page 7 is no longer surely changed */
	ch = collect_certain(&w, end, NULL, 0, 1, certain + 1);
	SB_REQUIRE(ch != NULL);
	CHECK_LATER(ch, "base/5/16600", "none");
	CHECK_LATER(ch, "base/5/16601", "40000");
	sb_wal_changes_free(ch);

	/* without a certain LSN, nothing is surely changed */
	ch = collect(&w, end, NULL, 0, 1);
	SB_REQUIRE(ch != NULL);
	CHECK_PAGES(ch, "base/5/16600", "3,7");
	CHECK_LATER(ch, "base/5/16600", "none");
	sb_wal_changes_free(ch);
	tw_free(&w);
}

/* Break the shared WAL in one way and check the reason. */
static void
test_unusable(void)
{
	TestWal		w;
	uint64_t	end = build_wal(&w);
	SbWalChanges *ch;

	/* a missing segment */
	w.missing[2] = true;
	ch = collect(&w, end, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "WAL segment 000000010000000000000002 is not available"));
	/* what was collected before is not offered */
	CHECK_PAGES(ch, "base/5/16384", "whole");
	CHECK_PAGES(ch, "base/5/16395", "whole");
	CHECK_PAGES(ch, "base/5/PG_VERSION", "not relation");
	sb_wal_changes_free(ch);
	w.missing[2] = false;

	/* a bad CRC: one byte of the data of segment 3's first record */
	w.seg[3][(SEGSZ * 3 + 40 + 30) % SEGSZ] ^= 0x40;
	ch = collect(&w, end, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "incorrect record checksum at 0/30028"));
	sb_wal_changes_free(ch);
	w.seg[3][(SEGSZ * 3 + 40 + 30) % SEGSZ] ^= 0x40;

	/* a recycled segment: its pages carry an older address */
	memcpy(w.seg[3] + 8, &(uint64_t) {SEGSZ * 3 - (uint64_t) SEGSZ * 4}, 8);
	ch = collect(&w, end, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "unexpected page address (end of valid WAL) in WAL segment 000000010000000000000003"));
	sb_wal_changes_free(ch);
	memcpy(w.seg[3] + 8, &(uint64_t) {SEGSZ * 3}, 8);

	/* another system's WAL */
	w.seg[3][24] ^= 1;
	ch = collect(&w, end, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "WAL of another database system"));
	sb_wal_changes_free(ch);
	w.seg[3][24] ^= 1;

	/* an end beyond the WAL written: zeros after the checkpoint */
	ch = collect(&w, end + 3 * TW_PAGE, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "invalid record length at 0/"));
	sb_wal_changes_free(ch);

	/* ... unless that end is exclusive and the record before it ends there */
	{
		SbWalChangesInput in;
		SbError		err;

		memset(&in, 0, sizeof(in));
		in.segsize = w.segsize;
		in.system_identifier = w.sysid;
		in.start_lsn = START;
		in.start_tli = in.target_tli = 1;
		in.end_lsn = w.pos;		/* after the checkpoint record: zeros */
		in.end_exclusive = true;
		in.read_segment = tw_read_segment;
		in.read_arg = &w;
		sb_error_clear(&err);
		SB_REQUIRE(sb_wal_changes_collect(&in, &ch, &err) == SB_OK);
		SB_CHECK(sb_wal_changes_usable(ch, NULL));
		CHECK_PAGES(ch, "base/5/16394", "5");
		sb_wal_changes_free(ch);
		in.end_exclusive = false;
		SB_REQUIRE(sb_wal_changes_collect(&in, &ch, &err) == SB_OK);
		SB_CHECK(wl_unusable_with(ch, "invalid record length at 0/"));
		sb_wal_changes_free(ch);
	}

	/* the end before the start */
	ch = collect(&w, START - 8, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "is before the backup's start"));
	sb_wal_changes_free(ch);

	/* intact again */
	ch = collect(&w, end, NULL, 0, 1);
	SB_CHECK(ch != NULL && sb_wal_changes_usable(ch, NULL));
	sb_wal_changes_free(ch);
	tw_free(&w);
}

static void
test_parameter_change(void)
{
	TestWal		w;
	static TestRec r;
	int32_t		params[7] = {100, 8, 10, 0, 64, 1, 0};	/* replica, hints off */
	SbWalChanges *ch;
	SbWalChangesStats st;
	uint64_t	end;

	tw_init(&w, SEGSZ, START);
	tr_begin(&r, 0, 0x60);
	tr_main(&r, params, 28);
	tw_append(&w, &r);
	end = checkpoint_record(&w);
	ch = collect(&w, end, NULL, 0, 1);
	sb_wal_changes_stats(ch, &st);
	SB_CHECK(sb_wal_changes_usable(ch, NULL) && st.hints_off_seen);
	sb_wal_changes_free(ch);
	tw_free(&w);

	params[5] = 0;				/* minimal */
	tw_init(&w, SEGSZ, START);
	tr_begin(&r, 0, 0x60);
	tr_main(&r, params, 28);
	tw_append(&w, &r);
	end = checkpoint_record(&w);
	ch = collect(&w, end, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "wal_level was set to minimal at 0/10028"));
	sb_wal_changes_free(ch);
	tw_free(&w);
}

/* Database drop and tablespace records mark directories. */
static void
test_directories(void)
{
	TestWal		w;
	static TestRec r;
	uint32_t	drop[4] = {9, 2, 1663, 16400};
	uint32_t	spc = 16410;
	SbWalChanges *ch;
	uint64_t	end;

	tw_init(&w, SEGSZ, START);
	tr_begin(&r, 4, 0x20);
	tr_main(&r, drop, sizeof(drop));
	tw_append(&w, &r);
	tr_begin(&r, 5, 0x10);
	tr_main(&r, &spc, 4);
	tw_append(&w, &r);
	end = checkpoint_record(&w);
	ch = collect(&w, end, NULL, 0, 1);
	SB_REQUIRE(ch != NULL && sb_wal_changes_usable(ch, NULL));
	CHECK_PAGES(ch, "base/9/1259", "whole");
	CHECK_PAGES(ch, "pg_tblspc/16400/PG_15_202209061/9/16384_vm", "whole");
	CHECK_PAGES(ch, "pg_tblspc/16400/PG_15_202209061/10/16384", "untouched");
	CHECK_PAGES(ch, "pg_tblspc/16410/PG_17_202406281/12/3", "whole");
	CHECK_PAGES(ch, "base/10/1259", "untouched");
	sb_wal_changes_free(ch);
	tw_free(&w);
}

/*
 * Timeline 2 branched off in segment 2: segments 1 is read from timeline
 * 1's file, 2 (holding the switch) and 3 from timeline 2's.
 */
static void
test_timelines(void)
{
	TestWal		w;
	SbTimelineEntry hist[1];
	SbWalChanges *ch;
	uint64_t	end;

	tw_init(&w, SEGSZ, START);
	w.tli[2] = w.tli[3] = 2;
	heap_record(&w, 5, 16384, 0, 1);
	w.pos = 2 * SEGSZ + 5 * TW_PAGE + 24;	/* a long record fills the gap */
	{
		static TestRec r;

		tw_free(&w);
		tw_init(&w, SEGSZ, START);
		w.tli[2] = w.tli[3] = 2;
		heap_record(&w, 5, 16384, 0, 1);
		tr_begin(&r, 10, 0);
		tr_main(&r, NULL, 100000);
		tw_append(&w, &r);
	}
	hist[0].tli = 1;
	hist[0].end_lsn = w.pos;	/* switch point in segment 2 */
	heap_record(&w, 5, 16384, 0, 2);
	end = checkpoint_record(&w);
	SB_REQUIRE(end / SEGSZ == 3 || end / SEGSZ == 2);
	ch = collect(&w, end, hist, 1, 2);
	SB_REQUIRE(ch != NULL);
	SB_CHECK(sb_wal_changes_usable(ch, NULL));
	CHECK_PAGES(ch, "base/5/16384", "1,2");
	sb_wal_changes_free(ch);

	/* the same WAL read as if all of it were timeline 1: segment 2 is not there */
	ch = collect(&w, end, NULL, 0, 1);
	SB_CHECK(wl_unusable_with(ch, "WAL segment 000000010000000000000002 is not available"));
	sb_wal_changes_free(ch);

	/* a target that branched off before the backup's start */
	hist[0].end_lsn = START - 8;
	ch = collect(&w, end, hist, 1, 2);
	SB_CHECK(wl_unusable_with(ch, "does not contain the backup's start"));
	sb_wal_changes_free(ch);
	tw_free(&w);
}

/*
 * A record cut short by a crash: recovery wrote an OVERWRITE_CONTRECORD
 * record where it would have continued.  The cut record never happened.
 */
static void
test_overwritten_contrecord(void)
{
	TestWal		w;
	static TestRec r;
	SbWalChanges *ch;
	uint64_t	cut;
	uint64_t	end;

	tw_init(&w, SEGSZ, START);
	heap_record(&w, 5, 16384, 0, 1);
	tr_begin(&r, 10, 0x00);
	tr_block(&r, 0, 0, false, 1663, 5, 16384, 99, 0);
	tr_main(&r, NULL, 20000);
	cut = tw_append(&w, &r);
	tw_overwrite_from(&w, cut - cut % TW_PAGE + TW_PAGE);
	tr_begin(&r, 0, 0xD0);
	tr_main(&r, NULL, 12);
	tw_append(&w, &r);
	heap_record(&w, 5, 16384, 0, 2);
	end = checkpoint_record(&w);
	ch = collect(&w, end, NULL, 0, 1);
	SB_REQUIRE(ch != NULL);
	SB_CHECK(sb_wal_changes_usable(ch, NULL));
	CHECK_PAGES(ch, "base/5/16384", "1,2");
	sb_wal_changes_free(ch);
	tw_free(&w);
}

/*
 * An update's pattern: old row versions on pages 0, 1, 2, ... and new ones
 * on the table's last pages, each record naming both, so the same two
 * blocks come back in turns; with a third relation's record in between
 * now and then.  Each block is listed once.
 */
static void
test_alternating(void)
{
	TestWal		w;
	static TestRec r;
	uint64_t	end;
	SbWalChanges *ch;
	char		want[1024];
	size_t		len = 0;

	tw_init(&w, SEGSZ, START);
	for (uint32_t i = 0; i < 600; i++)
	{
		tr_begin(&r, 10, 0x00);
		tr_block(&r, 0, 0, false, 1663, 5, 16384, 1000 + i / 40, 0);
		tr_block(&r, 1, 0, true, 0, 0, 0, i / 61, 0);
		tw_append(&w, &r);
		if (i % 7 == 0)
			heap_record(&w, 5, 16390, 0, i % 3);
	}
	end = checkpoint_record(&w);
	ch = collect(&w, end, NULL, 0, 1);
	SB_REQUIRE(ch != NULL && sb_wal_changes_usable(ch, NULL));
	for (uint32_t b = 0; b <= 599 / 61; b++)
		len += (size_t) snprintf(want + len, sizeof(want) - len, "%u,", b);
	for (uint32_t b = 1000; b <= 1000 + 599 / 40; b++)
		len += (size_t) snprintf(want + len, sizeof(want) - len, "%u,", b);
	want[len - 1] = '\0';
	CHECK_PAGES(ch, "base/5/16384", want);
	CHECK_PAGES(ch, "base/5/16390", "0,1,2");
	sb_wal_changes_free(ch);
	tw_free(&w);
}

/*
 * A reader that hands a segment over as it comes in (a thread still
 * filling it) gives the same list as one handing over whole segments; the
 * decoder asks for no byte of a segment past its switch record, and a
 * failure the reader finds at the end (a digest checked after the bytes
 * were handed over) makes the list unusable.
 */
static SbStatus
end_ok(void *arg, SbError *err)
{
	(void) arg;
	(void) err;
	return SB_OK;
}

static SbStatus
end_bad(void *arg, SbError *err)
{
	(void) arg;
	return sb_error_set(err, SB_ERR_CORRUPT,
						"could not read WAL segment 000000010000000000000002: checksum mismatch");
}

static void
test_stepwise(void)
{
	static const char *const files[] = {
		"base/5/16384", "base/5/16384_fsm", "base/5/16384_vm", "base/5/16390.1",
		"base/5/16391", "global/1262", "base/5/16392", "base/5/16392_vm",
		"base/5/16393", "base/5/16500", "base/7/1259", "base/5/16394", "base/5/16395"};
	TestWal		w;
	uint64_t	end = build_wal(&w);
	SbWalChanges *whole;
	SbWalChangesInput in;
	SbError		err;

	whole = collect(&w, end, NULL, 0, 1);
	SB_REQUIRE(whole != NULL && sb_wal_changes_usable(whole, NULL));
	for (size_t step = 1; step <= 3 * TW_PAGE; step *= 7)
	{
		SbWalChanges *ch;
		SbWalChangesStats st;
		int			reads = w.reads;

		w.step = step;
		w.view_seg = -1;
		memset(w.asked, 0, sizeof(w.asked));
		ch = collect(&w, end, NULL, 0, 1);
		SB_REQUIRE(ch != NULL);
		SB_CHECK_MSG(sb_wal_changes_usable(ch, NULL), "step %zu", step);
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		{
			char		want[1024];

			snprintf(want, sizeof(want), "%s", wl_pages_of(whole, files[i]));
			SB_CHECK_MSG(strcmp(wl_pages_of(ch, files[i]), want) == 0,
						 "step %zu, %s: got %s, want %s", step, files[i],
						 wl_pages_of(ch, files[i]), want);
		}
		sb_wal_changes_stats(ch, &st);
		SB_CHECK(st.segments == 3);
		/* asked again and again as the decoder went on */
		SB_CHECK_MSG(w.reads - reads > 3, "step %zu: %d reads", step, w.reads - reads);
		/* segment 2 was left at its switch, before the garbage after it */
		SB_CHECK_MSG(w.asked[2] > 0 && w.asked[2] <= SEGSZ / 2,
					 "step %zu: %zu bytes of segment 2 asked", step, w.asked[2]);
		sb_wal_changes_free(ch);
	}
	w.step = 0;

	/* what the reader finds at the end */
	memset(&in, 0, sizeof(in));
	in.segsize = w.segsize;
	in.system_identifier = w.sysid;
	in.start_lsn = START;
	in.start_tli = in.target_tli = 1;
	in.end_lsn = end;
	in.read_segment = tw_read_segment;
	in.read_arg = &w;
	for (int bad = 0; bad <= 1; bad++)
	{
		SbWalChanges *ch;

		in.read_end = bad ? end_bad : end_ok;
		sb_error_clear(&err);
		SB_REQUIRE(sb_wal_changes_collect(&in, &ch, &err) == SB_OK);
		if (bad)
		{
			SB_CHECK(wl_unusable_with(ch, "could not read WAL segment 000000010000000000000002: checksum mismatch"));
			CHECK_PAGES(ch, "base/5/16384", "whole");
		}
		else
			SB_CHECK(sb_wal_changes_usable(ch, NULL));
		sb_wal_changes_free(ch);
	}
	sb_wal_changes_free(whole);
	tw_free(&w);
}

int
main(void)
{
	test_crc32c();
	test_control();
	test_collect();
	test_later();
	test_alternating();
	test_stepwise();
	test_unusable();
	test_parameter_change();
	test_directories();
	test_timelines();
	test_overwritten_contrecord();
	return sb_test_summary("test_wal_changes");
}
