/*-------------------------------------------------------------------------
 *
 * test_manifest.c
 *		Unit tests of backup manifests: render/parse round trip, checksum
 *		and format checks, path rules, save/load through the posix driver,
 *		listing complete backups, LSN parsing, block sums, and the WAL
 *		range per timeline shown by "info".
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "manifest.h"
#include "repo_info.h"
#include "sb_test.h"
#include "test_files.h"
#include "storage.h"

SB_TEST_DEFINE_COUNTERS;

static char root[256];

/* A manifest with every header field set and n files. */
static void
build_manifest(SbManifest *m, const char *label, int n)
{
	SbManifestFile f;
	char		path[128];
	int			i;

	sb_manifest_init(m);
	snprintf(m->label, sizeof(m->label), "%s", label);
	strcpy(m->type, "full");
	strcpy(m->start_lsn, "0/2000028");
	strcpy(m->stop_lsn, "1A/B374D848");
	strcpy(m->start_wal, "000000010000000000000002");
	strcpy(m->stop_wal, "000000010000001A000000B3");
	m->timeline = 1;
	m->start_time = 1795000000;
	m->stop_time = 1795000123;
	m->system_identifier = 7300000000000000001ULL;
	m->pg_version = 15;
	m->compress_type = SB_COMPRESS_ZLIB;

	SB_CHECK(sb_manifest_add_dir(m, "base", 0700));
	SB_CHECK(sb_manifest_add_dir(m, "base/1", 0750));
	SB_CHECK(sb_manifest_add_dir(m, "pg_wal", 0700));
	SB_CHECK(sb_manifest_add_tablespace(m, 16385, "/srv/ts one"));
	SB_CHECK(sb_manifest_add_tablespace(m, 16390, "/srv/ts2"));
	for (i = 0; i < n; i++)
	{
		memset(&f, 0, sizeof(f));
		snprintf(path, sizeof(path), "base/1/%d", 16384 + i);
		f.path = path;
		f.size = (uint64_t) i * 8192;
		f.mtime = 1795000000 - i;
		f.mode = (i % 2) ? 0600 : 0640;
		sb_sha256_hex(path, strlen(path), f.digest);
		f.stored_size = (uint64_t) i * 100;
		if (!sb_manifest_add_file(m, &f))
		{
			SB_CHECK(false);
			return;
		}
		m->database_size += f.size;
		m->stored_size += f.stored_size;
	}
}

static bool
manifests_equal(const SbManifest *a, const SbManifest *b)
{
	int			i;

	if (a->format_version != b->format_version ||
		strcmp(a->label, b->label) != 0 || strcmp(a->type, b->type) != 0 ||
		strcmp(a->start_lsn, b->start_lsn) != 0 ||
		strcmp(a->stop_lsn, b->stop_lsn) != 0 ||
		strcmp(a->start_wal, b->start_wal) != 0 ||
		strcmp(a->stop_wal, b->stop_wal) != 0 ||
		a->timeline != b->timeline || a->start_time != b->start_time ||
		a->stop_time != b->stop_time ||
		a->system_identifier != b->system_identifier ||
		a->pg_version != b->pg_version ||
		a->compress_type != b->compress_type ||
		a->database_size != b->database_size ||
		a->stored_size != b->stored_size || a->block_size != b->block_size ||
		a->nfiles != b->nfiles || a->ndirs != b->ndirs ||
		a->ntablespaces != b->ntablespaces)
		return false;
	for (i = 0; i < a->nfiles; i++)
	{
		const SbManifestFile *x = &a->files[i];
		const SbManifestFile *y = &b->files[i];

		if (strcmp(x->path, y->path) != 0 || x->size != y->size ||
			x->mtime != y->mtime || x->mode != y->mode ||
			strcmp(x->digest, y->digest) != 0 ||
			x->stored_size != y->stored_size || x->nblocks != y->nblocks)
			return false;
		if (x->nblocks > 0)
		{
			SbError		err;
			uint64_t   *xs = sb_manifest_file_sums_dup(a, x, &err);
			uint64_t   *ys = sb_manifest_file_sums_dup(b, y, &err);
			bool		same = xs != NULL && ys != NULL &&
				memcmp(xs, ys, x->nblocks * sizeof(uint64_t)) == 0;

			free(xs);
			free(ys);
			if (!same)
				return false;
		}
	}
	for (i = 0; i < a->ndirs; i++)
		if (strcmp(a->dirs[i].path, b->dirs[i].path) != 0 ||
			a->dirs[i].mode != b->dirs[i].mode)
			return false;
	for (i = 0; i < a->ntablespaces; i++)
		if (a->tablespaces[i].oid != b->tablespaces[i].oid ||
			strcmp(a->tablespaces[i].path, b->tablespaces[i].path) != 0)
			return false;
	return true;
}

/*
 * Replace the body of a rendered manifest (everything before its checksum
 * line) with body, and append a correct checksum line: a manifest that
 * passes the checksum, to test the checks behind it.
 */
static char *
with_checksum(const char *body, size_t *len)
{
	char		hex[SB_SHA256_HEX_LEN + 1];
	size_t		n = strlen(body);
	char	   *text = malloc(n + 80);

	sb_sha256_hex(body, n, hex);
	memcpy(text, body, n);
	*len = n + (size_t) sprintf(text + n, "checksum=%s\n", hex);
	return text;
}

static SbStatus
parse_body(const char *body)
{
	SbManifest	m;
	SbError		err;
	size_t		len;
	char	   *text = with_checksum(body, &len);
	SbStatus	rc = sb_manifest_parse(&m, text, len, &err);

	sb_manifest_free(&m);
	free(text);
	return rc;
}

#define HEADER \
	"pg_safebackup manifest\n" \
	"format_version=1\nlabel=L\ntype=full\nstart_lsn=0/1\nstop_lsn=0/2\n" \
	"start_wal=000000010000000000000000\nstop_wal=000000010000000000000000\n" \
	"timeline=1\nstart_time=1\nstop_time=2\nsystem_identifier=42\n" \
	"pg_version=15\ncompress_type=none\ndatabase_size=0\nstored_size=0\n"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void
test_round_trip(void)
{
	SbManifest	m;
	SbManifest	back;
	SbError		err;
	char	   *text;
	char	   *again;
	size_t		len;
	size_t		len2;

	build_manifest(&m, "20261123-112437F", 5000);
	SB_REQUIRE(m.nfiles == 5000);
	text = sb_manifest_render(&m, &len);
	SB_REQUIRE(text != NULL);
	SB_CHECK(strncmp(text, "pg_safebackup manifest\n", 23) == 0);
	SB_CHECK(strstr(text, "\ncompress_type=zlib\n") != NULL);
	SB_CHECK(strstr(text, "\ntablespace=16385\t/srv/ts one\n") != NULL);
	SB_CHECK(strstr(text, "\ndir=base/1\t0750\n") != NULL);
	SB_CHECK(strstr(text, "\nfile=base/1/16385\t8192\t1794999999\t0600\t") != NULL);
	SB_CHECK(strncmp(text + len - 74, "checksum=", 9) == 0);

	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(manifests_equal(&m, &back));
	SB_CHECK(back.files_cap >= back.nfiles);

	/* rendering what was parsed gives the same bytes */
	again = sb_manifest_render(&back, &len2);
	SB_CHECK(again != NULL && len2 == len && memcmp(again, text, len) == 0);
	free(again);
	sb_manifest_free(&back);
	SB_CHECK(back.nfiles == 0 && back.files == NULL);
	sb_manifest_free(&back);	/* freeing twice is harmless */

	/* a chained one: base and refs survive, and it is format 2 */
	sb_manifest_free(&back);
	snprintf(m.base, sizeof(m.base), "20261120-010000F");
	snprintf(m.files[7].ref_label, sizeof(m.files[7].ref_label), "20261119-010000F");
	m.files[7].ref_compress = SB_COMPRESS_LZ4;
	m.resumed_files = 12;
	free(text);
	text = sb_manifest_render(&m, &len);
	SB_REQUIRE(text != NULL);
	SB_CHECK(strstr(text, "\nformat_version=2\n") != NULL);
	SB_CHECK(strstr(text, "\nbase=20261120-010000F\n") != NULL);
	SB_CHECK(strstr(text, "\nresumed_files=12\n") != NULL);
	SB_REQUIRE(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(strcmp(back.base, m.base) == 0 && back.resumed_files == 12);
	SB_CHECK(strcmp(back.files[7].ref_label, "20261119-010000F") == 0);
	SB_CHECK(back.files[7].ref_compress == SB_COMPRESS_LZ4);
	SB_CHECK(back.files[6].ref_label[0] == '\0');
	{
		char		loc[SB_PATH_MAX];
		SbCompressType ct;

		sb_manifest_file_location("main", &back, &back.files[7], loc, &ct);
		SB_CHECK(strncmp(loc, "main/backup/20261119-010000F/data/", 34) == 0 &&
				 ct == SB_COMPRESS_LZ4);
		sb_manifest_file_location("main", &back, &back.files[6], loc, &ct);
		SB_CHECK(strncmp(loc, "main/backup/20261123-112437F/data/", 34) == 0 &&
				 ct == back.compress_type);
	}
	sb_manifest_free(&back);

	/* an empty manifest round-trips too */
	sb_manifest_free(&m);
	free(text);
	build_manifest(&m, "E", 0);
	text = sb_manifest_render(&m, &len);
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(manifests_equal(&m, &back));
	sb_manifest_free(&back);
	sb_manifest_free(&m);
	free(text);
}

/*
 * Where the backup was taken and the timeline of its stop point: written
 * when set, absent in older manifests (read as empty / 0), bad values
 * refused.
 */
static void
test_standby_fields(void)
{
	SbManifest	m;
	SbManifest	back;
	SbError		err;
	char	   *text;
	size_t		len;

	build_manifest(&m, "S", 3);
	m.stop_timeline = 2;
	strcpy(m.backup_from, "standby");
	text = sb_manifest_render(&m, &len);
	SB_REQUIRE(text != NULL);
	SB_CHECK(strstr(text, "\nstop_timeline=2\n") != NULL);
	SB_CHECK(strstr(text, "\nbackup_from=standby\n") != NULL);
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(back.stop_timeline == 2);
	SB_CHECK(strcmp(back.backup_from, "standby") == 0);
	sb_manifest_free(&back);
	free(text);
	sb_manifest_free(&m);

	/* a manifest without them */
	text = with_checksum(HEADER, &len);
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(back.stop_timeline == 0 && back.backup_from[0] == '\0');
	sb_manifest_free(&back);
	free(text);

	SB_CHECK(parse_body(HEADER "backup_from=primary\nstop_timeline=1\n") == SB_OK);
	SB_CHECK(parse_body(HEADER "backup_from=replica\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "stop_timeline=0\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "stop_timeline=x\n") == SB_ERR_CORRUPT);
}

static void
test_corruption(void)
{
	SbManifest	m;
	SbManifest	back;
	SbError		err;
	char	   *text;
	size_t		len;
	size_t		i;
	int			refused = 0;
	int			tried = 0;

	build_manifest(&m, "C", 20);
	text = sb_manifest_render(&m, &len);
	SB_REQUIRE(text != NULL);

	/* a flipped bit anywhere is refused */
	for (i = 0; i < len; i += 7)
	{
		text[i] ^= 0x04;
		tried++;
		if (sb_manifest_parse(&back, text, len, &err) != SB_OK)
			refused++;
		sb_manifest_free(&back);
		text[i] ^= 0x04;
	}
	SB_CHECK_MSG(refused == tried, "%d of %d flipped bytes refused", refused, tried);
	text[40] ^= 1;
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_ERR_CORRUPT);
	text[40] ^= 1;
	SB_CHECK(back.nfiles == 0);

	/* truncated anywhere */
	SB_CHECK(sb_manifest_parse(&back, text, len - 1, &err) == SB_ERR_CORRUPT);
	SB_CHECK(sb_manifest_parse(&back, text, len - 80, &err) == SB_ERR_CORRUPT);
	SB_CHECK(sb_manifest_parse(&back, text, len / 2, &err) == SB_ERR_CORRUPT);
	SB_CHECK(sb_manifest_parse(&back, text, 0, &err) == SB_ERR_CORRUPT);
	/* checksum line missing */
	SB_CHECK(sb_manifest_parse(&back, text, len - 74, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "checksum") != NULL);
	/* a NUL byte */
	text[30] = '\0';
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_ERR_CORRUPT);
	/* and the intact text still parses */
	free(text);
	text = sb_manifest_render(&m, &len);
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	sb_manifest_free(&back);
	sb_manifest_free(&m);
	free(text);
}

/*
 * Page checksum failures: counted per file and in total, written only when
 * verified, read back; readers that do not know the records skip them.
 */
static void
test_checksum_failures(void)
{
	SbManifest	m;
	SbManifest	back;
	SbError		err;
	size_t		len;
	char	   *text;

	build_manifest(&m, "20261205-000000F", 3);
	text = sb_manifest_render(&m, &len);
	SB_CHECK(text != NULL && strstr(text, "checksum_failures") == NULL);
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(!back.checksums_verified && back.checksum_failures == 0);
	sb_manifest_free(&back);
	free(text);

	m.checksums_verified = true;
	m.files[1].checksum_failures = 7;
	m.checksum_failures = 7;
	text = sb_manifest_render(&m, &len);
	SB_CHECK(text != NULL);
	SB_CHECK(strstr(text, "\nchecksum_failures=7\n") != NULL);
	SB_CHECK(strstr(text, "\npage_checksum_failures=base/1/16385\t7\n") != NULL);
	SB_CHECK(strstr(text, "page_checksum_failures=base/1/16384") == NULL);
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(back.checksums_verified && back.checksum_failures == 7);
	SB_CHECK(back.nfiles == 3 && back.files[1].checksum_failures == 7 &&
			 back.files[0].checksum_failures == 0);
	SB_CHECK(manifests_equal(&m, &back));
	sb_manifest_free(&back);
	free(text);
	sb_manifest_free(&m);

	/* a record naming a file that is not listed, or a bad count */
	SB_CHECK(parse_body(HEADER "page_checksum_failures=a\t1\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\t" SHA_A "\t0\n"
							   "page_checksum_failures=a\tx\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "checksum_failures=-1\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "checksum_failures=0\n") == SB_OK);
}

/*
 * Block sums (blocks=, block_size=): rendered as 16 hex digits per block
 * for the files that have them, read back exactly; a manifest without them
 * (an older writer) reads as before; a count that does not fit the file's
 * size, bad hex, an unknown file, or blocks without block_size are refused.
 */
static void
test_block_sums(void)
{
	SbManifest	m;
	SbManifest	back;
	SbError		err;
	size_t		len;
	char	   *text;
	uint64_t	sums[3];
	uint64_t   *fsums;
	SbManifestFile *f;
	char		data[3 * 1000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char) (i * 7);
	/* three blocks of 1000 bytes, the sums of block_sum.h */
	for (int i = 0; i < 3; i++)
		sums[i] = sb_block_sum(data + 1000 * i, 1000);
	SB_CHECK(sums[0] != sums[1] && sums[1] != sums[2]);
	{
		uint64_t	again[3] = {0, 0, 0};

		SB_CHECK(sb_block_sums_update(again, 3, 1000, data, sizeof(data), 0));
		SB_CHECK(memcmp(again, sums, sizeof(sums)) == 0);
		SB_CHECK(!sb_block_sums_update(again, 2, 1000, data, sizeof(data), 0));
		SB_CHECK(sb_block_count(2001, 1000) == 3 && sb_block_count(0, 1000) == 0);
	}

	build_manifest(&m, "20261206-000000F", 4);
	/* file 3 is 24576 bytes: 25 blocks of 1000 */
	m.block_size = 1000;
	f = &m.files[3];
	f->nblocks = sb_block_count(f->size, 1000);
	fsums = calloc(f->nblocks, sizeof(uint64_t));
	SB_REQUIRE(fsums != NULL);
	memcpy(fsums, sums, sizeof(sums));
	fsums[24] = UINT64_C(0xfedcba9876543210);
	SB_REQUIRE(sb_sum_store_append(&m.sums, fsums, f->nblocks, &f->sums_at, &err) == SB_OK);
	text = sb_manifest_render(&m, &len);
	SB_REQUIRE(text != NULL);
	SB_CHECK(strstr(text, "\nblock_size=1000\n") != NULL);
	SB_CHECK(strstr(text, "\nblocks=base/1/16387\t") != NULL);
	SB_CHECK(strstr(text, "blocks=base/1/16386") == NULL);
	SB_CHECK(strstr(text, "fedcba9876543210\n") != NULL);
	SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_OK);
	SB_CHECK(manifests_equal(&m, &back));
	SB_CHECK(back.block_size == 1000);
	{
		uint64_t   *got = sb_manifest_file_sums_dup(&back, &back.files[3], &err);

		SB_CHECK(back.files[3].nblocks == 25 && got != NULL &&
				 memcmp(got, fsums, 25 * sizeof(uint64_t)) == 0);
		free(got);
	}
	SB_CHECK(back.files[2].nblocks == 0 && back.files[2].block_sums == NULL);
	sb_manifest_free(&back);
	free(text);

	/* add_file copies the sums */
	{
		SbManifest	c;
		SbManifestFile cf = *f;
		uint64_t	got[25];

		sb_manifest_init(&c);
		cf.block_sums = fsums;
		SB_CHECK(sb_manifest_add_file(&c, &cf));
		fsums[24] = 0;
		SB_CHECK(c.files[0].block_sums == NULL &&
				 sb_manifest_file_sums(&c, &c.files[0], got, &err) == SB_OK &&
				 got[24] == UINT64_C(0xfedcba9876543210) && got[0] == sums[0]);
		/* sums given without the array: refused */
		cf.block_sums = NULL;
		SB_CHECK(!sb_manifest_add_file(&c, &cf));
		sb_manifest_free(&c);
	}
	free(fsums);
	sb_manifest_free(&m);

	/* the old format: no block sums at all */
	SB_CHECK(parse_body(HEADER "file=a\t3000\t0\t0600\t" SHA_A "\t0\n") == SB_OK);
	{
		SbManifest	old;
		char	   *t = with_checksum(HEADER "file=a\t3000\t0\t0600\t" SHA_A "\t0\n", &len);

		SB_CHECK(sb_manifest_parse(&old, t, len, &err) == SB_OK);
		SB_CHECK(old.block_size == 0 && old.nfiles == 1 && old.files[0].nblocks == 0);
		sb_manifest_free(&old);
		free(t);
	}
#define FILE_A "file=a\t3000\t0\t0600\t" SHA_A "\t0\n"
#define SUM16 "0123456789abcdef"
	SB_CHECK(parse_body(HEADER "block_size=1000\n" FILE_A
						"blocks=a\t" SUM16 SUM16 SUM16 "\n") == SB_OK);
	/* two sums for three blocks, four sums */
	SB_CHECK(parse_body(HEADER "block_size=1000\n" FILE_A
						"blocks=a\t" SUM16 SUM16 "\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "block_size=1000\n" FILE_A
						"blocks=a\t" SUM16 SUM16 SUM16 SUM16 "\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "block_size=1000\n" FILE_A
						"blocks=a\t" SUM16 SUM16 "0123456789abcdeg\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "block_size=1000\n" FILE_A
						"blocks=b\t" SUM16 SUM16 SUM16 "\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER FILE_A "blocks=a\t" SUM16 SUM16 SUM16 "\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "block_size=1000\n" FILE_A
						"blocks=a\t" SUM16 SUM16 SUM16 "\n"
						"blocks=a\t" SUM16 SUM16 SUM16 "\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "block_size=0\n") == SB_ERR_CORRUPT);
#undef FILE_A
#undef SUM16
}

static void
test_format_checks(void)
{
	SbManifest	m;
	SbError		err;
	size_t		len;
	char	   *text;

	SB_CHECK(parse_body(HEADER) == SB_OK);
	/* unknown keys are ignored: a newer writer may add some */
	SB_CHECK(parse_body(HEADER "future_key=whatever\nlink=a\tb\n") == SB_OK);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\t" SHA_A "\t0\n") == SB_OK);

	/* the magic line, required keys and record syntax are checked */
	SB_CHECK(parse_body("format_version=1\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body("pg_safebackup manifest\nformat_version=1\nlabel=L\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "no equals sign\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "timeline=x\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "stop_lsn=12\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "label=a/b\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\t" SHA_A "\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\tnothex\t0\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t-1\t0\t0600\t" SHA_A "\t0\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0900\t" SHA_A "\t0\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "dir=a\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "tablespace=0\t/x\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "tablespace=5\trelative\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "tablespace=5\t/a\ntablespace=5\t/b\n") == SB_ERR_CORRUPT);

	/* paths read from a repository obey the same rules as added ones */
	SB_CHECK(parse_body(HEADER "file=../etc/passwd\t0\t0\t0600\t" SHA_A "\t0\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=/etc/passwd\t0\t0\t0600\t" SHA_A "\t0\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a//b\t0\t0\t0600\t" SHA_A "\t0\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "dir=base/../..\t0700\n") == SB_ERR_CORRUPT);

	/* a newer format is a configuration problem, not damage */
	SB_CHECK(parse_body(HEADER "format_version=4\n") == SB_ERR_CONFIG);
	SB_CHECK(parse_body(HEADER "format_version=3\n") == SB_OK);
	SB_CHECK(parse_body(HEADER "format_version=2\n") == SB_OK);

	/* chains: base and ref records */
	SB_CHECK(parse_body(HEADER "base=B\nfile=a\t0\t0\t0600\t" SHA_A "\t0\n"
							   "ref=a\tB\tzstd\n") == SB_OK);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\t" SHA_A "\t0\n"
							   "ref=b\tB\tzstd\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\t" SHA_A "\t0\n"
							   "ref=a\tL\tzstd\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\t" SHA_A "\t0\n"
							   "ref=a\tx/y\tzstd\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "file=a\t0\t0\t0600\t" SHA_A "\t0\n"
							   "ref=a\tB\tbrotli\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "base=../x\n") == SB_ERR_CORRUPT);
	/* so is an unknown compression type */
	SB_CHECK(parse_body(HEADER "compress_type=brotli\n") == SB_ERR_CONFIG);

	/* the parsed values */
	text = with_checksum(HEADER "tablespace=7\t/t s\tx\n", &len);
	SB_CHECK(sb_manifest_parse(&m, text, len, &err) == SB_ERR_CORRUPT);
	free(text);
	text = with_checksum(HEADER "stop_time=-5\nfile=x y\t3\t-7\t0444\t" SHA_A "\t9\n", &len);
	SB_CHECK(sb_manifest_parse(&m, text, len, &err) == SB_OK);
	SB_CHECK(m.stop_time == -5 && m.system_identifier == 42 && m.pg_version == 15);
	SB_CHECK(m.nfiles == 1 && strcmp(m.files[0].path, "x y") == 0 &&
			 m.files[0].size == 3 && m.files[0].mtime == -7 &&
			 m.files[0].mode == 0444 && m.files[0].stored_size == 9);
	sb_manifest_free(&m);
	free(text);
}

static void
test_paths(void)
{
	SbManifest	m;
	SbManifestFile f;
	char		out[SB_PATH_MAX];
	char		longpath[SB_PATH_MAX + 10];

	sb_manifest_init(&m);
	memset(&f, 0, sizeof(f));

	f.path = "base/1/1259";
	SB_CHECK(sb_manifest_add_file(&m, &f));
	f.path = "backup..old";		/* ".." inside a name is fine */
	SB_CHECK(sb_manifest_add_file(&m, &f));
	f.path = "/etc/passwd";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "a/../b";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "..";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "a/..";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "a//b";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "a/";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "./a";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "tab\there";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	f.path = "new\nline";
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	f.path = longpath;
	SB_CHECK(!sb_manifest_add_file(&m, &f));
	SB_CHECK(m.nfiles == 2);

	SB_CHECK(sb_manifest_add_dir(&m, "pg_wal/archive_status", 0700));
	SB_CHECK(!sb_manifest_add_dir(&m, "../x", 0700));
	SB_CHECK(!sb_manifest_add_dir(&m, "/x", 0700));
	SB_CHECK(!sb_manifest_add_dir(&m, "x\ty", 0700));
	SB_CHECK(m.ndirs == 1);

	SB_CHECK(sb_manifest_add_tablespace(&m, 16385, "/srv/ts"));
	SB_CHECK(!sb_manifest_add_tablespace(&m, 0, "/srv/ts"));
	SB_CHECK(!sb_manifest_add_tablespace(&m, 16386, "srv/ts"));
	SB_CHECK(!sb_manifest_add_tablespace(&m, 16386, "/srv\nts"));
	SB_CHECK(m.ntablespaces == 1);
	sb_manifest_free(&m);

	sb_backup_dir("main", "20261123-112437F", out);
	SB_CHECK(strcmp(out, "main/backup/20261123-112437F") == 0);
	sb_backup_manifest_path("main", "20261123-112437F", out);
	SB_CHECK(strcmp(out, "main/backup/20261123-112437F/backup.manifest") == 0);
	sb_backup_file_path("main", "L", "base/1/1259", SB_COMPRESS_ZLIB, out);
	SB_CHECK(strcmp(out, "main/backup/L/data/base/1/1259.gz") == 0);
	sb_backup_file_path("main", "L", "base/1/1259", SB_COMPRESS_NONE, out);
	SB_CHECK(strcmp(out, "main/backup/L/data/base/1/1259") == 0);
	sb_backup_file_path("main", "L", "base/1/1259", SB_COMPRESS_LZ4, out);
	SB_CHECK(strcmp(out, "main/backup/L/data/base/1/1259.lz4") == 0);
	sb_backup_file_path("main", "L", "base/1/1259", SB_COMPRESS_ZSTD, out);
	SB_CHECK(strcmp(out, "main/backup/L/data/base/1/1259.zst") == 0);
}

static void
test_save_load(SbStorage *st, const SbRepoConfig *cfg)
{
	SbManifest	m;
	SbManifest	back;
	SbManifest	other;
	SbError		err;
	char		path[512];
	char	   *text;
	char	   *raw;
	size_t		len;
	size_t		rawlen;

	build_manifest(&m, "20260101-000000F", 50);
	SB_CHECK(sb_manifest_load(st, "main", "20260101-000000F", &back, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "does not exist") != NULL);

	SB_CHECK_MSG(sb_manifest_save(st, cfg, &m, &err) == SB_OK, "%s", err.msg);
	SB_CHECK(sb_manifest_load(st, "main", "20260101-000000F", &back, &err) == SB_OK);
	SB_CHECK(manifests_equal(&m, &back));
	sb_manifest_free(&back);

	/* stored as plain text, whatever the configured compression */
	snprintf(path, sizeof(path), "%s/main/backup/20260101-000000F/backup.manifest", cfg->repo_path);
	raw = sb_test_read_file(path, &rawlen);
	text = sb_manifest_render(&m, &len);
	SB_CHECK(raw != NULL && text != NULL && rawlen == len && memcmp(raw, text, len) == 0);
	free(text);

	/* never overwritten */
	build_manifest(&other, "20260101-000000F", 3);
	SB_CHECK(sb_manifest_save(st, cfg, &other, &err) == SB_ERR_EXISTS);
	sb_manifest_free(&other);
	free(raw);
	raw = sb_test_read_file(path, &rawlen);
	SB_REQUIRE(raw != NULL && rawlen == len);

	/* damaged on disk */
	raw[100] ^= 1;
	sb_test_write_file(path, raw, rawlen);
	SB_CHECK(sb_manifest_load(st, "main", "20260101-000000F", &back, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "20260101-000000F") != NULL);
	raw[100] ^= 1;
	sb_test_write_file(path, raw, rawlen);
	free(raw);

	/* a manifest under the wrong label */
	snprintf(path, sizeof(path), "%s/main/backup/20260109-000000F", cfg->repo_path);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/main/backup/20260109-000000F/backup.manifest", cfg->repo_path);
	text = sb_manifest_render(&m, &len);
	sb_test_write_file(path, text, len);
	free(text);
	SB_CHECK(sb_manifest_load(st, "main", "20260109-000000F", &back, &err) == SB_ERR_CORRUPT);
	unlink(path);

	/* a backup directory without manifest is incomplete */
	SB_CHECK(sb_manifest_load(st, "main", "20260109-000000F", &back, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(strstr(err.msg, "incomplete") != NULL);
	SB_CHECK(sb_manifest_load(st, "main", "../x", &back, &err) == SB_ERR_NOT_FOUND);
	sb_manifest_free(&m);

	/* an invalid label cannot be saved */
	build_manifest(&m, "a/b", 1);
	SB_CHECK(sb_manifest_save(st, cfg, &m, &err) != SB_OK);
	sb_manifest_free(&m);
}

/*
 * Block sums beyond the memory limit of the manifest's store go to an
 * unnamed temporary file, and a manifest is written and read without its
 * whole text in memory: 20 files of 8192 sums (2.6 MB of text, so the
 * renderer hands on several full buffers) with all but the first 1000
 * sums in the file, saved, loaded, rendered and compared sum by sum; loaded
 * without its sums (SB_MANIFEST_SKIP_SUMS), nothing of them is kept; the
 * text fed to the reader one byte at a time parses the same; a line that
 * does not parse in a damaged manifest is reported as the checksum
 * mismatch; a temporary directory that does not exist is an error that
 * says which.
 */
static void
test_sums_spilled(SbStorage *st, const SbRepoConfig *cfg)
{
	SbManifest	m;
	SbManifest	back;
	SbError		err;
	uint64_t	saved_limit = sb_sum_store_mem_limit;
	uint64_t   *sums = calloc(8192, sizeof(uint64_t));
	uint64_t   *got = calloc(8192, sizeof(uint64_t));
	char		path[512];
	char	   *raw;
	char	   *text;
	size_t		rawlen;
	size_t		len;
	uint64_t	x = 88172645463325252ULL;

	SB_REQUIRE(sums != NULL && got != NULL);
	sb_sum_store_mem_limit = 1000;
	build_manifest(&m, "20260102-000000F", 0);
	m.block_size = 1000;
	for (int i = 0; i < 20; i++)
	{
		SbManifestFile f;
		char		name[64];

		memset(&f, 0, sizeof(f));
		snprintf(name, sizeof(name), "base/5/%d", 20000 + i);
		f.path = name;
		f.size = 8192 * 1000 - i;
		f.mode = 0600;
		memcpy(f.digest, SHA_A, SB_SHA256_HEX_LEN + 1);
		f.nblocks = 8192;
		for (int k = 0; k < 8192; k++)
		{
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			sums[k] = x;
		}
		f.block_sums = sums;
		SB_REQUIRE(sb_manifest_add_file(&m, &f));
	}
	SB_CHECK(m.sums.fd >= 0 && m.sums.count == 20 * 8192 && m.sums.mem_cap <= 1000);
	/* the last file's sums, read back from the temporary file */
	SB_CHECK(sb_manifest_file_sums(&m, &m.files[19], got, &err) == SB_OK &&
			 memcmp(got, sums, 8192 * sizeof(uint64_t)) == 0);
	/* a range across the memory limit */
	SB_CHECK(sb_sum_store_read(&m.sums, 990, 20, got, &err) == SB_OK);
	SB_CHECK(sb_sum_store_read(&m.sums, 20 * 8192 - 1, 2, got, &err) == SB_ERR_INTERNAL);

	SB_CHECK_MSG(sb_manifest_save(st, cfg, &m, &err) == SB_OK, "%s", err.msg);
	SB_CHECK_MSG(sb_manifest_load(st, "main", "20260102-000000F", &back, &err) == SB_OK,
				 "%s", err.msg);
	SB_CHECK(back.sums.fd >= 0);
	SB_CHECK(manifests_equal(&m, &back));
	sb_manifest_free(&back);

	/* without the sums: the entries say how many, nothing is stored */
	SB_CHECK_MSG(sb_manifest_load_flags(st, "main", "20260102-000000F", &back,
										SB_MANIFEST_SKIP_SUMS, &err) == SB_OK,
				 "%s", err.msg);
	SB_CHECK(back.sums_skipped && back.nfiles == m.nfiles &&
			 back.files[19].nblocks == 8192);
	SB_CHECK(back.sums.count == 0 && back.sums.fd < 0 && back.sums.mem == NULL);
	SB_CHECK(sb_manifest_file_sums(&back, &back.files[19], got, &err) == SB_ERR_INTERNAL);
	SB_CHECK_MSG(strstr(err.msg, "were not read") != NULL, "%s", err.msg);
	sb_manifest_free(&back);

	snprintf(path, sizeof(path), "%s/main/backup/20260102-000000F/backup.manifest",
			 cfg->repo_path);
	raw = sb_test_read_file(path, &rawlen);
	text = sb_manifest_render(&m, &len);
	SB_REQUIRE(raw != NULL && text != NULL);
	SB_CHECK(rawlen == len && len > 2 * 1024 * 1024 && memcmp(raw, text, len) == 0);
	free(raw);

	/* one byte at a time */
	{
		SbFilter   *reader = sb_manifest_reader_new(&back, 0);
		SbStatus	rc = SB_OK;

		SB_REQUIRE(reader != NULL);
		for (size_t i = 0; i < len && rc == SB_OK; i++)
			rc = sb_filter_write(reader, text + i, 1, &err);
		if (rc == SB_OK)
			rc = sb_filter_finish(reader, &err);
		sb_filter_free_chain(reader);
		SB_CHECK_MSG(rc == SB_OK, "%s", err.msg);
		SB_CHECK(rc == SB_OK && manifests_equal(&m, &back));
		sb_manifest_free(&back);
	}

	/* a file line made invalid: the damage is what is reported */
	{
		char	   *line = strstr(text, "\nfile=base/5/20003\t");

		SB_REQUIRE(line != NULL);
		line[strlen("\nfile=base/5/20003")] = 'x';
		SB_CHECK(sb_manifest_parse(&back, text, len, &err) == SB_ERR_CORRUPT);
		SB_CHECK_MSG(strstr(err.msg, "checksum mismatch") != NULL, "%s", err.msg);
	}
	free(text);
	sb_manifest_free(&m);

	/* a directory of the caller's (the server's base/pgsql_tmp): made on first use */
	{
		SbSumStore	s;
		uint64_t	at;
		char		dir[600];
		struct stat sst;

		snprintf(dir, sizeof(dir), "%s/pgsql_tmp", root);
		sb_sum_store_tmpdir = dir;
		sb_sum_store_init(&s);
		SB_CHECK(stat(dir, &sst) != 0);
		SB_CHECK_MSG(sb_sum_store_append(&s, sums, 1001, &at, &err) == SB_OK, "%s", err.msg);
		SB_CHECK(s.fd >= 0 && stat(dir, &sst) == 0 && S_ISDIR(sst.st_mode));
		SB_CHECK(sb_sum_store_read(&s, 1000, 1, got, &err) == SB_OK && got[0] == sums[1000]);
		/* the file has no name */
		SB_CHECK(rmdir(dir) == 0);
		sb_sum_store_free(&s);
		sb_sum_store_tmpdir = NULL;
	}

	/* nowhere to put them */
	{
		SbSumStore	s;
		uint64_t	at;
		const char *old = getenv("TMPDIR");
		char	   *keep = old != NULL ? strdup(old) : NULL;

		setenv("TMPDIR", "/nonexistent/sb-test", 1);
		sb_sum_store_init(&s);
		SB_CHECK(sb_sum_store_append(&s, sums, 999, &at, &err) == SB_OK && at == 0);
		SB_CHECK(sb_sum_store_append(&s, sums, 2, &at, &err) == SB_ERR_NOT_FOUND);
		SB_CHECK_MSG(strstr(err.msg, "could not create a temporary file for block sums in \"/nonexistent/sb-test\"") != NULL,
					 "%s", err.msg);
		SB_CHECK(strstr(err.hint, "TMPDIR") != NULL);
		sb_sum_store_free(&s);
		if (keep != NULL)
			setenv("TMPDIR", keep, 1);
		else
			unsetenv("TMPDIR");
		free(keep);
	}
	sb_sum_store_mem_limit = saved_limit;
	free(sums);
	free(got);
}

static void
save_label(SbStorage *st, const SbRepoConfig *cfg, const char *label)
{
	SbManifest	m;
	SbError		err;

	build_manifest(&m, label, 1);
	SB_CHECK_MSG(sb_manifest_save(st, cfg, &m, &err) == SB_OK, "%s", err.msg);
	sb_manifest_free(&m);
}

static void
test_backup_list(SbStorage *st, const SbRepoConfig *cfg)
{
	SbRepoConfig c2 = *cfg;
	char	  **labels;
	int			n;
	SbError		err;
	char		path[512];

	/* a stanza without backup directory has no backups */
	SB_CHECK(sb_backup_list(st, "nobackups", &labels, &n, &err) == SB_OK);
	SB_CHECK(n == 0 && labels == NULL);
	sb_backup_list_free(labels, n);

	strcpy(c2.stanza, "listing");
	save_label(st, &c2, "20260301-000000F");
	save_label(st, &c2, "20260105-120000F");
	save_label(st, &c2, "20260201-000000F");
	/* incomplete: a directory with data but no manifest */
	snprintf(path, sizeof(path), "%s/listing/backup/20260401-000000F/data", cfg->repo_path);
	SB_CHECK(sb_storage_mkdir(st, "listing/backup/20260401-000000F/data", &err) == SB_OK);
	/* a stray file */
	snprintf(path, sizeof(path), "%s/listing/backup/notes.txt", cfg->repo_path);
	sb_test_write_file(path, "x", 1);
	/* a directory whose "manifest" is a directory */
	SB_CHECK(sb_storage_mkdir(st, "listing/backup/20260501-000000F/backup.manifest", &err) == SB_OK);

	SB_CHECK(sb_backup_list(st, "listing", &labels, &n, &err) == SB_OK);
	SB_REQUIRE(n == 3);
	SB_CHECK(strcmp(labels[0], "20260105-120000F") == 0);
	SB_CHECK(strcmp(labels[1], "20260201-000000F") == 0);
	SB_CHECK(strcmp(labels[2], "20260301-000000F") == 0);
	sb_backup_list_free(labels, n);
}

static void
test_lsn(void)
{
	uint64_t	lsn = 0;

	SB_CHECK(sb_lsn_parse("0/0", &lsn) && lsn == 0);
	SB_CHECK(sb_lsn_parse("0/2000028", &lsn) && lsn == 0x2000028);
	SB_CHECK(sb_lsn_parse("16/B374D848", &lsn) && lsn == 0x16B374D848ULL);
	SB_CHECK(sb_lsn_parse("16/b374d848", &lsn) && lsn == 0x16B374D848ULL);
	SB_CHECK(sb_lsn_parse("FFFFFFFF/FFFFFFFF", &lsn) && lsn == UINT64_MAX);
	SB_CHECK(!sb_lsn_parse("", &lsn));
	SB_CHECK(!sb_lsn_parse("0", &lsn));
	SB_CHECK(!sb_lsn_parse("/1", &lsn));
	SB_CHECK(!sb_lsn_parse("1/", &lsn));
	SB_CHECK(!sb_lsn_parse("1/2/3", &lsn));
	SB_CHECK(!sb_lsn_parse("0x1/2", &lsn));
	SB_CHECK(!sb_lsn_parse("-1/2", &lsn));
	SB_CHECK(!sb_lsn_parse(" 1/2", &lsn));
	SB_CHECK(!sb_lsn_parse("1/2 ", &lsn));
	SB_CHECK(!sb_lsn_parse("G/1", &lsn));
	SB_CHECK(!sb_lsn_parse("100000000/0", &lsn));
	SB_CHECK(!sb_lsn_parse(NULL, &lsn));
}

static void
put_wal(SbStorage *st, const char *dir, const char *name)
{
	char		path[512];
	SbError		err;

	snprintf(path, sizeof(path), "wals/wal/%s", dir);
	SB_CHECK(sb_storage_mkdir(st, path, &err) == SB_OK);
	snprintf(path, sizeof(path), "wals/wal/%s/%s", dir, name);
	SB_CHECK(sb_storage_put(st, path, 0, "x", 1, &err) == SB_OK);
}

static void
test_wal_ranges(SbStorage *st)
{
	SbWalRange *r;
	int			n;
	SbError		err;

	SB_CHECK(sb_wal_ranges(st, "wals", &r, &n, &err) == SB_OK);
	SB_CHECK(n == 0 && r == NULL);

	put_wal(st, "0000000100000000", "000000010000000000000003-" SHA_A ".gz");
	put_wal(st, "0000000100000000", "000000010000000000000002-" SHA_A);
	put_wal(st, "0000000100000000", "0000000100000000000000FE-" SHA_A ".gz");
	put_wal(st, "0000000100000001", "000000010000000100000001-" SHA_A ".gz");
	put_wal(st, "0000000100000001", "000000010000000100000000-" SHA_A ".gz");
	/* not counted: partial, backup history, junk, an empty directory */
	put_wal(st, "0000000100000001", "000000010000000100000009.partial-" SHA_A ".gz");
	put_wal(st, "0000000100000001", "000000010000000100000001.00000028.backup-" SHA_A ".gz");
	put_wal(st, "0000000100000001", "notes");
	put_wal(st, "0000000100000001", "0000000100000001000000099" SHA_A);
	SB_CHECK(sb_storage_mkdir(st, "wals/wal/0000000100000002", &err) == SB_OK);
	put_wal(st, "0000000200000001", "000000020000000100000005-" SHA_A ".gz");
	put_wal(st, "history", "00000002.history-" SHA_A ".gz");
	SB_CHECK(sb_storage_mkdir(st, "wals/wal/0000000300000000", &err) == SB_OK);

	SB_CHECK(sb_wal_ranges(st, "wals", &r, &n, &err) == SB_OK);
	SB_REQUIRE(n == 2);
	SB_CHECK(r[0].timeline == 1);
	SB_CHECK(strcmp(r[0].first, "000000010000000000000002") == 0);
	SB_CHECK(strcmp(r[0].last, "000000010000000100000001") == 0);
	SB_CHECK(r[1].timeline == 2);
	SB_CHECK(strcmp(r[1].first, "000000020000000100000005") == 0);
	SB_CHECK(strcmp(r[1].last, "000000020000000100000005") == 0);
	free(r);
}

/*
 * Block-incremental files (chunks=, part=): chunk lists render as ranges
 * and read back; the manifest becomes format 3; parts, chunks and sums
 * are all required together, in order, inside the file; add_file copies
 * them deeply; inherit_parts flattens a base entry into parts.
 */
static void
test_layers(void)
{
	uint32_t	list[] = {0, 1, 2, 5, 7, 8};
	uint32_t   *back = NULL;
	uint32_t	n = 0;
	char	   *text;
	SbManifest	m;
	SbManifest	r;
	SbManifest	base;
	SbManifestFile f;
	SbManifestPart p;
	uint64_t	sums[3] = {1, 2, 3};
	uint32_t	own[] = {2};
	size_t		len;
	SbError		err;

	sb_error_clear(&err);
	text = sb_chunk_list_text(list, 6);
	SB_CHECK(text != NULL && strcmp(text, "0-2,5,7-8") == 0);
	SB_CHECK(sb_chunk_list_parse(text, 9, &back, &n) && n == 6 &&
			 memcmp(back, list, sizeof(list)) == 0);
	free(back);
	SB_CHECK(!sb_chunk_list_parse(text, 8, &back, &n));	/* 8 is outside */
	SB_CHECK(!sb_chunk_list_parse("3,2", 9, &back, &n));	/* descending */
	SB_CHECK(!sb_chunk_list_parse("1-3,3", 9, &back, &n));	/* repeated */
	SB_CHECK(!sb_chunk_list_parse("", 9, &back, &n));
	SB_CHECK(!sb_chunk_list_parse("1,", 9, &back, &n));
	SB_CHECK(!sb_chunk_list_parse("4-2", 9, &back, &n));
	free(text);

	/* a file of 2500 bytes, blocks of 1000: chunk 2 (500 bytes) changed */
	sb_manifest_init(&m);
	strcpy(m.label, "20261206-000002I");
	strcpy(m.base, "20261206-000001I");
	strcpy(m.type, "incr");
	strcpy(m.start_lsn, "0/1");
	strcpy(m.stop_lsn, "0/2");
	strcpy(m.start_wal, "000000010000000000000000");
	strcpy(m.stop_wal, "000000010000000000000000");
	m.timeline = 1;
	m.pg_version = 17;
	m.system_identifier = 42;
	m.block_size = 1000;
	m.chunk_size = 1000;
	memset(&f, 0, sizeof(f));
	f.path = "base/1/16384";
	f.size = 2500;
	f.mode = 0600;
	memcpy(f.digest, SHA_A, SB_SHA256_HEX_LEN + 1);
	f.stored_size = 77;
	f.nblocks = 3;
	f.block_sums = sums;
	f.nchunks = 1;
	f.chunks = own;
	f.chunks_size = 500;
	memset(&p, 0, sizeof(p));
	strcpy(p.label, "20261206-000000F");
	p.compress = SB_COMPRESS_ZSTD;
	p.size = 2000;
	memcpy(p.digest, SHA_A, SB_SHA256_HEX_LEN + 1);
	p.stored_size = 99;
	f.nparts = 1;
	f.parts = &p;
	SB_CHECK(sb_manifest_add_file(&m, &f));
	SB_CHECK(m.files[0].parts != f.parts && m.files[0].chunks != f.chunks);
	text = sb_manifest_render(&m, &len);
	SB_REQUIRE(text != NULL);
	SB_CHECK(strstr(text, "\nformat_version=3\n") != NULL);
	SB_CHECK(strstr(text, "\nchunk_size=1000\n") != NULL);
	SB_CHECK(strstr(text, "\nchunks=base/1/16384\t500\t2\n") != NULL);
	SB_CHECK(strstr(text, "\npart=base/1/16384\t20261206-000000F\tzstd\t2000\t" SHA_A "\t99\t*\n") != NULL);
	SB_CHECK(sb_manifest_parse(&r, text, len, &err) == SB_OK);
	if (err.msg[0] != '\0')
		fprintf(stderr, "%s\n", err.msg);
	SB_REQUIRE(r.nfiles == 1);
	SB_CHECK(r.nfiles == 1 && r.files[0].nchunks == 1 && r.files[0].chunks[0] == 2 &&
			 r.files[0].chunks_size == 500 && r.files[0].nparts == 1 &&
			 r.files[0].parts[0].nchunks == 0 && r.files[0].parts[0].size == 2000 &&
			 r.files[0].parts[0].compress == SB_COMPRESS_ZSTD &&
			 strcmp(r.files[0].parts[0].label, "20261206-000000F") == 0);

	/* the next backup inherits both layers: the whole file, then chunk 2 */
	sb_manifest_init(&base);
	strcpy(base.label, "20261206-000002I");
	base.compress_type = SB_COMPRESS_LZ4;
	{
		SbManifestFile g;

		memset(&g, 0, sizeof(g));
		g.path = "base/1/16384";
		SB_CHECK(sb_manifest_inherit_parts(&g, &base, &r.files[0]));
		SB_CHECK(g.nparts == 2 && g.parts[0].nchunks == 0 &&
				 g.parts[1].nchunks == 1 && g.parts[1].chunks[0] == 2 &&
				 g.parts[1].size == 500 && g.parts[1].compress == SB_COMPRESS_LZ4 &&
				 strcmp(g.parts[1].label, "20261206-000002I") == 0);
		sb_manifest_file_free_layers(&g);
	}
	sb_manifest_free(&base);
	sb_manifest_free(&r);
	free(text);
	sb_manifest_free(&m);

#define LFILE "block_size=1000\nchunk_size=1000\nfile=a\t2500\t0\t0600\t" SHA_A "\t7\n" \
	"blocks=a\t000000000000000100000000000000020000000000000003\n"
#define LPART "part=a\tP\tnone\t2500\t" SHA_A "\t9\t*\n"
	SB_CHECK(parse_body(HEADER LFILE "chunks=a\t500\t2\n" LPART) == SB_OK);
	/* chunks without parts, parts without chunks, a part not first whole */
	SB_CHECK(parse_body(HEADER LFILE "chunks=a\t500\t2\n") == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER LFILE LPART) == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER LFILE "chunks=a\t500\t2\n"
						"part=a\tP\tnone\t1000\t" SHA_A "\t9\t1\n") == SB_ERR_CORRUPT);
	/* a size that does not fit the chunks, a chunk past the file */
	SB_CHECK(parse_body(HEADER LFILE "chunks=a\t1000\t2\n" LPART) == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER LFILE "chunks=a\t1000\t3\n" LPART) == SB_ERR_CORRUPT);
	/* without the block sums the result could not be checked */
	SB_CHECK(parse_body(HEADER "block_size=1000\nchunk_size=1000\nfile=a\t2500\t0\t0600\t" SHA_A "\t7\n"
						"chunks=a\t500\t2\n" LPART) == SB_ERR_CORRUPT);
	/* chunk lists need their unit, a divisor of block_size */
	SB_CHECK(parse_body(HEADER "block_size=1000\nfile=a\t2500\t0\t0600\t" SHA_A "\t7\n"
						"blocks=a\t000000000000000100000000000000020000000000000003\n"
						"chunks=a\t500\t2\n" LPART) == SB_ERR_CORRUPT);
	SB_CHECK(parse_body(HEADER "block_size=1000\nchunk_size=600\n") == SB_ERR_CORRUPT);
	/* chunks of 512 in blocks of 1024: the file's chunks 2 and 4 (its last) */
	SB_CHECK(parse_body(HEADER "block_size=1024\nchunk_size=512\nfile=a\t2560\t0\t0600\t" SHA_A "\t7\n"
						"blocks=a\t000000000000000100000000000000020000000000000003\n"
						"chunks=a\t1024\t2,4\n" LPART) == SB_OK);
	SB_CHECK(parse_body(HEADER "block_size=1024\nchunk_size=512\nfile=a\t2560\t0\t0600\t" SHA_A "\t7\n"
						"blocks=a\t000000000000000100000000000000020000000000000003\n"
						"chunks=a\t1024\t2,5\n" LPART) == SB_ERR_CORRUPT);
	/* a part in the backup itself */
	SB_CHECK(parse_body(HEADER LFILE "chunks=a\t500\t2\n"
						"part=a\tL\tnone\t2500\t" SHA_A "\t9\t*\n") == SB_ERR_CORRUPT);
#undef LFILE
#undef LPART
}

int
main(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;

	snprintf(root, sizeof(root), "/tmp/sb_test_manifest.XXXXXX");
	if (mkdtemp(root) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}

	test_round_trip();
	test_corruption();
	test_standby_fields();
	test_format_checks();
	test_checksum_failures();
	test_block_sums();
	test_layers();
	test_paths();
	test_lsn();

	st = sb_test_open_repo(root, &cfg);
	test_save_load(st, &cfg);
	test_sums_spilled(st, &cfg);
	test_backup_list(st, &cfg);
	test_wal_ranges(st);
	sb_storage_close(st);
	sb_storage_free(st);

	sb_test_rm_tree(root);
	return sb_test_summary("manifest");
}
