/*-------------------------------------------------------------------------
 *
 * test_wal_source.c
 *		Unit tests of the delta restore's WAL reader (core/
 *		restore_wal_source.c): segments from the target's pg_wal and from
 *		the repository, read ahead by threads and handed to the decoder as
 *		they come in, give the same change list as whole segments read one
 *		by one; a segment read to its end whose stored copy fails its
 *		digest makes the list unusable, one the decoder left at its switch
 *		record is not checked past it; a missing segment is reported.
 *
 *-------------------------------------------------------------------------
 */
#include "fake_repo.h"
#include "restore.h"
#include "restore_internal.h"
#include "sb_test.h"
#include "test_files.h"
#include "wal.h"
#include "wal_changes.h"
#include "wal_list_text.h"
#include "wal_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

SB_TEST_DEFINE_COUNTERS;

#define SEGSZ	(64 * 1024)
#define START	(SEGSZ + 40)		/* segment 1, after its long header */
#define NSEGS	8					/* segments 1 .. 8 */

/* A heap-like record: one block of rel, main data of n bytes. */
static void
heap_record(TestWal *w, uint32_t rel, uint32_t blk, uint32_t n)
{
	static TestRec r;

	tr_begin(&r, 10, 0x00);
	tr_block(&r, 0, 0, false, 1663, 5, rel, blk, 30);
	tr_main(&r, NULL, n);
	tw_append(w, &r);
}

/*
 * WAL over segments 1 to NSEGS: a record touching block 3 of 16384 and a
 * switch in segment 1, garbage after it; then records touching blocks of
 * 16386 to 16392 (one relation per segment),
 * and a last checkpoint record in segment NSEGS, whose start is returned.
 */
static uint64_t
build_wal(TestWal *w)
{
	static TestRec r;
	uint64_t	end;

	tw_init(w, SEGSZ, START);
	heap_record(w, 16384, 3, 100);
	tr_begin(&r, 0, 0x40);		/* XLOG_SWITCH */
	tw_append(w, &r);
	memset(w->seg[1] + SEGSZ / 2, 0x5A, SEGSZ / 2);
	SB_CHECK(w->pos == 2 * SEGSZ);
	for (uint32_t blk = 0; w->pos < (uint64_t) SEGSZ * NSEGS + SEGSZ / 2; blk++)
		heap_record(w, 16384 + (uint32_t) (w->pos / SEGSZ), blk, 3000);
	tr_begin(&r, 0, 0x00);
	tr_main(&r, NULL, 88);
	end = tw_append(w, &r);
	SB_CHECK(end / SEGSZ == NSEGS);
	return end;
}

/* The name of segment segno, on the timeline w's file of it has. */
static void
segment_name(const TestWal *w, int segno, char *name)
{
	snprintf(name, SB_WAL_SEG_NAME_LEN + 1, "%08X%08X%08X", w->tli[segno], 0, segno);
}

/* Store segment segno of w in the repository (compressed as cfg says). */
static void
push_segment(FakeRepo *repo, const TestWal *w, int segno, SbCompressType ct)
{
	char		name[SB_WAL_SEG_NAME_LEN + 1];
	char		src[512];
	SbRepoConfig cfg = repo->cfg;
	SbWalPushResult res;
	SbError		err;

	segment_name(w, segno, name);
	snprintf(src, sizeof(src), "%s/%s", repo->root, name);
	sb_test_write_file(src, w->seg[segno], SEGSZ);
	cfg.compress_type = ct;
	sb_error_clear(&err);
	SB_CHECK_MSG(sb_wal_push(repo->st, &cfg, name, src, &res, &err) == SB_OK,
				 "push %s: %s", name, err.msg);
	unlink(src);
}

/* Put segment segno of w into the target's pg_wal. */
static void
local_segment(const char *target, const TestWal *w, int segno)
{
	char		name[SB_WAL_SEG_NAME_LEN + 1];
	char		path[512];

	segment_name(w, segno, name);
	snprintf(path, sizeof(path), "%s/pg_wal/%s", target, name);
	sb_test_write_file(path, w->seg[segno], SEGSZ);
}

/* The target's timeline history for the collections below; none by default. */
static const SbTimelineEntry *history;
static int	nhistory;
static unsigned int target_tli = 1;

/* Collect the list of w's WAL from START to end through the reader given. */
static SbWalChanges *
collect_from(const TestWal *w, uint64_t end, SbWalSegmentReader read,
			 SbWalReadEnd read_end, void *arg)
{
	SbWalChangesInput in;
	SbWalChanges *ch = NULL;
	SbError		err;

	memset(&in, 0, sizeof(in));
	in.segsize = SEGSZ;
	in.system_identifier = w->sysid;
	in.start_lsn = START;
	in.start_tli = 1;
	in.target_tli = target_tli;
	in.history = history;
	in.nhistory = nhistory;
	in.end_lsn = end;
	in.read_segment = read;
	in.read_end = read_end;
	in.read_arg = arg;
	sb_error_clear(&err);
	SB_CHECK(sb_wal_changes_collect(&in, &ch, &err) == SB_OK);
	return ch;
}

/* Collect the list from the repository and target through the reader. */
static SbWalChanges *
collect_through_source(FakeRepo *repo, const char *target, const TestWal *w,
					   uint64_t end, uint64_t *from_repo)
{
	Restore		r;
	SbRestoreOptions o;
	RestoreWalSource *src = NULL;
	SbWalChanges *ch;
	SbError		err;

	memset(&r, 0, sizeof(r));
	memset(&o, 0, sizeof(o));
	o.stanza = "main";
	r.o = &o;
	r.st = repo->st;
	snprintf(r.target, sizeof(r.target), "%s", target);
	sb_error_clear(&err);
	if (sb_restore_wal_source_new(&r, SEGSZ, end, &src, &err) != SB_OK)
	{
		SB_CHECK_MSG(false, "wal source: %s", err.msg);
		return NULL;
	}
	ch = collect_from(w, end, sb_restore_wal_source_read,
					  sb_restore_wal_source_end, src);
	*from_repo = sb_restore_wal_source_free(src);
	return ch;
}

/* The path of the stored copy of segment segno. */
static void
stored_path(FakeRepo *repo, const TestWal *w, int segno, char *path, size_t len)
{
	char		name[SB_WAL_SEG_NAME_LEN + 1];
	SbWalEntry	entry;
	SbError		err;

	segment_name(w, segno, name);
	SB_REQUIRE(sb_wal_find(repo->st, "main", name, &entry, &err) == SB_OK);
	snprintf(path, len, "%s/%s", repo->cfg.repo_path, entry.name);
}

/* Change the byte at offset of the stored copy of segment segno (stored plain). */
static void
corrupt_stored(FakeRepo *repo, const TestWal *w, int segno, long offset,
			   char *path, size_t len)
{
	FILE	   *f;

	stored_path(repo, w, segno, path, len);
	f = fopen(path, "r+b");
	SB_REQUIRE(f != NULL);
	fseek(f, offset, SEEK_SET);
	fputc(0x11, f);
	fclose(f);
}

/*
 * A repository and a target data directory with w's segments: 1 to
 * last_archived stored (plain for those in plain[], else zstd), the rest
 * in the target's pg_wal.
 */
static void
setup(FakeRepo *repo, const char *name, const TestWal *w, int last_archived,
	  const bool *plain, char *target, size_t len)
{
	char		path[1024];

	fake_repo_init(repo, name);
	snprintf(target, len, "%s/data", repo->root);
	snprintf(path, sizeof(path), "%s/pg_wal", target);
	mkdir(target, 0700);
	mkdir(path, 0700);
	for (int s = 1; s <= NSEGS; s++)
	{
		if (s <= last_archived)
			push_segment(repo, w, s, plain != NULL && plain[s] ? SB_COMPRESS_NONE : SB_COMPRESS_ZSTD);
		else
			local_segment(target, w, s);
	}
}

/* ch is usable and lists for each relation what whole lists. */
static void
check_same(const SbWalChanges *whole, const SbWalChanges *ch)
{
	SB_CHECK(ch != NULL && sb_wal_changes_usable(ch, NULL));
	for (int s = 1; ch != NULL && s <= NSEGS; s++)
	{
		char		rel[64];
		char		want[4096];

		snprintf(rel, sizeof(rel), "base/5/%d", 16384 + s);
		snprintf(want, sizeof(want), "%s", wl_pages_of(whole, rel));
		SB_CHECK_MSG(strcmp(wl_pages_of(ch, rel), want) == 0, "%s: got %s, want %s",
					 rel, wl_pages_of(ch, rel), want);
	}
}

static void
test_source(void)
{
	FakeRepo	repo;
	TestWal		w;
	uint64_t	end = build_wal(&w);
	const bool	plain[NSEGS + 1] = {[1] = true,[3] = true};
	char		target[512];
	char		path[1024];
	SbWalChanges *whole;
	SbWalChanges *ch;
	uint64_t	from_repo = 0;

	/* 1 .. 5 archived (zstd, but 1 and 3 stored plain), 6 .. 8 in pg_wal */
	setup(&repo, "wal_source", &w, 5, plain, target, sizeof(target));
	whole = collect_from(&w, end, tw_read_segment, NULL, &w);
	SB_REQUIRE(whole != NULL && sb_wal_changes_usable(whole, NULL));

	/* the same list, five segments from the repository */
	ch = collect_through_source(&repo, target, &w, end, &from_repo);
	check_same(whole, ch);
	SB_CHECK_MSG(strcmp(wl_pages_of(ch, "base/5/16384"), "3") == 0, "got %s",
				 wl_pages_of(ch, "base/5/16384"));
	SB_CHECK_MSG(from_repo == 5, "%llu segments from the repository",
				 (unsigned long long) from_repo);
	sb_wal_changes_free(ch);

	/*
	 * Segment 1 is left at its switch record: bytes past it changed in the
	 * stored copy, which then fails its digest, do not matter (the reading
	 * is stopped there).  Segment 3 is read to its end: one byte changed
	 * that no record covers (the padding of a page header) makes the list
	 * unusable.
	 */
	corrupt_stored(&repo, &w, 1, SEGSZ - 100, path, sizeof(path));
	ch = collect_through_source(&repo, target, &w, end, &from_repo);
	SB_CHECK(ch != NULL && sb_wal_changes_usable(ch, NULL));
	SB_CHECK_MSG(strcmp(wl_pages_of(ch, "base/5/16384"), "3") == 0, "got %s",
				 wl_pages_of(ch, "base/5/16384"));
	SB_CHECK_MSG(from_repo == 5, "%llu segments from the repository",
				 (unsigned long long) from_repo);
	sb_wal_changes_free(ch);

	corrupt_stored(&repo, &w, 3, 2 * 8192 + 21, path, sizeof(path));
	ch = collect_through_source(&repo, target, &w, end, &from_repo);
	SB_CHECK(wl_unusable_with(ch, "could not read WAL segment 000000010000000000000003"));
	sb_wal_changes_free(ch);
	unlink(path);
	push_segment(&repo, &w, 3, SB_COMPRESS_ZSTD);

	/* a segment in neither place */
	stored_path(&repo, &w, 4, path, sizeof(path));
	unlink(path);
	ch = collect_through_source(&repo, target, &w, end, &from_repo);
	SB_CHECK(wl_unusable_with(ch, "WAL segment 000000010000000000000004 is not available"));
	sb_wal_changes_free(ch);
	push_segment(&repo, &w, 4, SB_COMPRESS_ZSTD);

	/* whole again; a local copy of a segment is read rather than the stored one */
	local_segment(target, &w, 3);
	ch = collect_through_source(&repo, target, &w, end, &from_repo);
	SB_CHECK(ch != NULL && sb_wal_changes_usable(ch, NULL));
	SB_CHECK_MSG(from_repo == 4, "%llu segments from the repository",
				 (unsigned long long) from_repo);
	sb_wal_changes_free(ch);

	sb_wal_changes_free(whole);
	tw_free(&w);
	fake_repo_free(&repo);
}

/*
 * A timeline switch in the WAL read: segments 4 to 8 are in the files of
 * timeline 2 (the target's), segment 4 holding the switch point.  The
 * reader reads ahead timeline 1's names, finds them missing, and reads
 * timeline 2's when the decoder asks: the same list.
 */
static void
test_timeline_switch(void)
{
	FakeRepo	repo;
	TestWal		w;
	uint64_t	end = build_wal(&w);
	SbTimelineEntry hist[1] = {{1, (uint64_t) 4 * SEGSZ + 100}};
	char		target[512];
	SbWalChanges *whole;
	SbWalChanges *ch;
	uint64_t	from_repo = 0;

	for (int s = 4; s <= NSEGS; s++)
		w.tli[s] = 2;
	history = hist;
	nhistory = 1;
	target_tli = 2;
	setup(&repo, "wal_source_tli", &w, 6, NULL, target, sizeof(target));
	whole = collect_from(&w, end, tw_read_segment, NULL, &w);
	SB_REQUIRE(whole != NULL && sb_wal_changes_usable(whole, NULL));
	ch = collect_through_source(&repo, target, &w, end, &from_repo);
	check_same(whole, ch);
	SB_CHECK_MSG(from_repo == 6, "%llu segments from the repository",
				 (unsigned long long) from_repo);
	sb_wal_changes_free(ch);
	sb_wal_changes_free(whole);
	history = NULL;
	nhistory = 0;
	target_tli = 1;
	tw_free(&w);
	fake_repo_free(&repo);
}

int
main(void)
{
	test_source();
	test_timeline_switch();
	return sb_test_summary("test_wal_source");
}
