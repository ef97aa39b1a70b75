/*-------------------------------------------------------------------------
 *
 * test_codec.c
 *		Unit tests for core/codec.c: SHA-256, zlib (gzip), lz4 and zstd
 *		compression, the sinks, and the whole-file store and fetch helpers,
 *		run against the in-memory storage of mem_storage.c.
 *
 * Needs "gzip", "lz4" and "zstd" on PATH (stored files must be valid for
 * the standard tools).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aio_ring.h"
#include "codec.h"
#include "copy_cost.h"
#include "mem_storage.h"
#include "sb_test.h"

SB_TEST_DEFINE_COUNTERS;

#define MiB		((size_t) 1024 * 1024)

typedef struct Codec
{
	const char *name;
	SbCompressType type;
	int			level;
} Codec;

static const Codec codecs[] = {
	{"none", SB_COMPRESS_NONE, 0},
	{"zlib-1", SB_COMPRESS_ZLIB, 1},
	{"zlib-6", SB_COMPRESS_ZLIB, 6},
	{"zlib-9", SB_COMPRESS_ZLIB, 9},
	{"lz4-1", SB_COMPRESS_LZ4, 1},
	{"lz4-9", SB_COMPRESS_LZ4, 9},
	{"zstd-1", SB_COMPRESS_ZSTD, 1},
	{"zstd-3", SB_COMPRESS_ZSTD, 3},
	{"zstd-9", SB_COMPRESS_ZSTD, 9},
};

/* one codec per compressed type, for the damage tests */
static const Codec damage_codecs[] = {
	{"zlib-6", SB_COMPRESS_ZLIB, 6},
	{"lz4-1", SB_COMPRESS_LZ4, 1},
	{"zstd-3", SB_COMPRESS_ZSTD, 3},
};
#define NDAMAGE ((int) (sizeof(damage_codecs) / sizeof(damage_codecs[0])))
#define NCODECS ((int) (sizeof(codecs) / sizeof(codecs[0])))

/* odd write sizes, cycled through by the chunked writers */
static const size_t odd_chunks[] = {1, 3, 4093, 65537, 7, 300007, 255, 131071};
#define NODD ((int) (sizeof(odd_chunks) / sizeof(odd_chunks[0])))

static char tmpdir[64];

/* ----------------------------------------------------------------
 *		Helpers
 * ----------------------------------------------------------------
 */

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static uint8_t *
xmalloc(size_t len)
{
	uint8_t    *p = malloc(len ? len : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static uint8_t *
gen_random(size_t len, uint64_t seed)
{
	uint8_t    *p = xmalloc(len);
	uint64_t	s = seed | 1;
	size_t		i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t) (rng_next(&s) >> 56);
	return p;
}

/*
 * Something like pgbench_accounts heap pages: 8 kB pages of small tuples,
 * each an increasing key, a few small integers and 84 blanks of filler.
 */
static uint8_t *
gen_pgbench(size_t len, uint64_t seed)
{
	uint8_t    *p = xmalloc(len);
	uint64_t	s = seed | 1;
	uint32_t	aid = 1;
	size_t		off = 0;

	while (off < len)
	{
		uint8_t		page[8192];
		size_t		lower = 24;
		size_t		upper = sizeof(page);
		size_t		n;

		memset(page, 0, sizeof(page));
		while (upper - 128 >= lower + 4)
		{
			uint8_t    *t;
			uint32_t	bid = 1 + aid / 100000;
			int32_t		abalance = (rng_next(&s) % 8 == 0) ?
				(int32_t) (rng_next(&s) % 10000) - 5000 : 0;
			uint32_t	lp;

			upper -= 128;
			t = page + upper;
			t[0] = 0x02;		/* xmin, roughly */
			t[4] = (uint8_t) (rng_next(&s) % 3);
			memcpy(t + 16, &aid, 4);	/* ctid-ish */
			t[22] = 24;
			memcpy(t + 24, &aid, 4);
			memcpy(t + 28, &bid, 4);
			memcpy(t + 32, &abalance, 4);
			t[36] = 0xab;		/* short varlena header */
			memset(t + 37, ' ', 84);
			lp = (uint32_t) upper | (1u << 15) | (121u << 17);
			memcpy(page + lower, &lp, 4);
			lower += 4;
			aid++;
		}
		{
			uint16_t	pd_lower = (uint16_t) lower;
			uint16_t	pd_upper = (uint16_t) upper;

			memcpy(page + 12, &pd_lower, 2);
			memcpy(page + 14, &pd_upper, 2);
		}
		n = len - off < sizeof(page) ? len - off : sizeof(page);
		memcpy(p + off, page, n);
		off += n;
	}
	return p;
}

/* Half text, half noise: compresses somewhat. */
static uint8_t *
gen_mixed(size_t len, uint64_t seed)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog ";
	uint8_t    *p = xmalloc(len);
	uint64_t	s = seed | 1;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if ((i / 97) % 2 == 0)
			p[i] = (uint8_t) words[i % (sizeof(words) - 1)];
		else
			p[i] = (uint8_t) (rng_next(&s) >> 56);
	}
	return p;
}

static void
cfg_for(SbRepoConfig *cfg, const Codec *c)
{
	memset(cfg, 0, sizeof(SbRepoConfig));
	cfg->repo_type = SB_REPO_POSIX;
	strcpy(cfg->stanza, "main");
	cfg->compress_type = c->type;
	cfg->compress_level = c->level;
	cfg->io_timeout_ms = 60000;
}

static SbStorage *
new_storage(void)
{
	SbStorage  *st = sb_mem_storage_new();
	SbError		err;

	if (st == NULL || sb_storage_open(st, &err) != SB_OK)
	{
		fprintf(stderr, "could not create memory storage\n");
		exit(2);
	}
	return st;
}

static bool
file_exists(SbStorage *st, const char *path)
{
	SbStat		sst;
	SbError		err;

	return sb_storage_stat(st, path, &sst, &err) == SB_OK;
}

static uint8_t *
read_whole_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf = NULL;
	size_t		cap = 0;
	size_t		n = 0;

	*len = 0;
	if (f == NULL)
		return NULL;
	for (;;)
	{
		size_t		got;

		if (n == cap)
		{
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (buf == NULL)
				exit(2);
		}
		got = fread(buf + n, 1, cap - n, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	*len = n;
	return buf;
}

static bool
write_whole_file(const char *path, const void *data, size_t len)
{
	FILE	   *f = fopen(path, "wb");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static bool
same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Uppercase copy of a hex digest. */
static void
upper_hex(const char *in, char *out)
{
	size_t		i;

	for (i = 0; in[i]; i++)
		out[i] = (in[i] >= 'a' && in[i] <= 'f') ? in[i] - 'a' + 'A' : in[i];
	out[i] = '\0';
}

/*
 * A test sink that records the largest write it was given and how often it
 * was finished, and hashes what it sees.
 */
typedef struct ProbeSink
{
	SbFilter	base;
	SbFilter   *digest;			/* standalone digest filter (next NULL) */
	size_t		max_write;
	uint64_t	bytes;
	int			finish_calls;
} ProbeSink;

static SbStatus
probe_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ProbeSink  *p = (ProbeSink *) f;

	if (len > p->max_write)
		p->max_write = len;
	p->bytes += len;
	return sb_filter_write(p->digest, buf, len, err);
}

static SbStatus
probe_finish(SbFilter *f, SbError *err)
{
	ProbeSink  *p = (ProbeSink *) f;

	p->finish_calls++;
	return sb_filter_finish(p->digest, err);
}

static void
probe_free(SbFilter *f)
{
	ProbeSink  *p = (ProbeSink *) f;

	sb_filter_free_chain(p->digest);
	free(p);
}

static ProbeSink *
probe_new(void)
{
	ProbeSink  *p = calloc(1, sizeof(ProbeSink));

	if (p == NULL || (p->digest = sb_filter_digest_new(NULL)) == NULL)
		exit(2);
	p->base.write = probe_write;
	p->base.finish = probe_finish;
	p->base.free = probe_free;
	return p;
}

/* Feed a pipe in odd chunk sizes from a thread, for sb_codec_store_fd. */
typedef struct PipeFeed
{
	int			fd;
	const uint8_t *data;
	size_t		len;
} PipeFeed;

static void *
pipe_feeder(void *arg)
{
	PipeFeed   *pf = arg;
	size_t		off = 0;
	int			k = 0;

	while (off < pf->len)
	{
		size_t		n = odd_chunks[k++ % NODD];
		ssize_t		w;

		if (n > pf->len - off)
			n = pf->len - off;
		w = write(pf->fd, pf->data + off, n);
		if (w < 0)
		{
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t) w;
	}
	close(pf->fd);
	return NULL;
}

/* With prefix: sb_codec_store_fd_addressed(path, prefix, ".x"). */
static SbStatus
store_via_pipe_as(SbStorage *st, const SbRepoConfig *cfg, const uint8_t *data,
				  size_t len, const char *path, const char *prefix, int flags,
				  SbStoreResult *res, SbError *err)
{
	int			fds[2];
	pthread_t	th;
	PipeFeed	pf;
	SbStatus	rc;

	if (pipe(fds) != 0)
		exit(2);
	pf.fd = fds[1];
	pf.data = data;
	pf.len = len;
	if (pthread_create(&th, NULL, pipe_feeder, &pf) != 0)
		exit(2);
	if (prefix != NULL)
		rc = sb_codec_store_fd_addressed(st, cfg, fds[0], path, prefix, ".x",
										 flags, res, err);
	else
		rc = sb_codec_store_fd(st, cfg, fds[0], path, flags, res, err);
	close(fds[0]);
	pthread_join(th, NULL);
	return rc;
}

static SbStatus
store_via_pipe(SbStorage *st, const SbRepoConfig *cfg, const uint8_t *data,
			   size_t len, const char *path, int flags, SbStoreResult *res,
			   SbError *err)
{
	return store_via_pipe_as(st, cfg, data, len, path, NULL, flags, res, err);
}

/*
 * Store by driving the filters by hand: digest -> compress -> count ->
 * storage sink, written in odd chunk sizes.
 */
static SbStatus
store_odd_chunks(SbStorage *st, const Codec *c, const uint8_t *data,
				 size_t len, const char *path, SbStoreResult *res,
				 SbError *err)
{
	SbWriter   *w;
	SbFilter   *sink,
			   *count,
			   *comp,
			   *head;
	SbStatus	rc;
	size_t		off = 0;
	int			k = 0;

	rc = sb_storage_write_open(st, path, SB_WRITE_REPLACE, &w, err);
	if (rc != SB_OK)
		return rc;
	sink = sb_filter_storage_sink_new(st, w);
	count = sb_filter_count_new(sink);
	comp = sb_filter_compress_new(c->type, c->level, count);
	head = sb_filter_digest_new(comp);
	if (!sink || !count || !comp || !head)
		exit(2);

	while (off < len)
	{
		size_t		n = odd_chunks[(k++ * 5) % NODD];

		if (n > len - off)
			n = len - off;
		rc = sb_filter_write(head, data + off, n, err);
		if (rc != SB_OK)
			break;
		off += n;
	}
	if (rc == SB_OK)
		rc = sb_filter_finish(head, err);
	if (rc == SB_OK)
	{
		res->plain_size = sb_filter_digest_bytes(head);
		res->stored_size = sb_filter_count_bytes(count);
		sb_filter_digest_hex(head, res->digest);
		sb_filter_free_chain(head);
		return sb_storage_write_commit(st, w, err);
	}
	sb_storage_write_abort(st, w);
	sb_filter_free_chain(head);
	return rc;
}

/* Fetch into a buffer sink and compare with want. */
static void
check_fetch_buffer(SbStorage *st, const char *path, const Codec *c,
				   const char *sha, const uint8_t *want, size_t want_len,
				   const char *label)
{
	SbFilter   *sink = sb_filter_buffer_sink_new(want_len);
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	const char *got;
	size_t		got_len = 0;

	SB_REQUIRE(sink != NULL);
	sb_error_clear(&err);
	rc = sb_codec_fetch(st, path, c->type, sink, sha, want_len, &res, &err);
	SB_CHECK_MSG(rc == SB_OK, "%s %s: fetch %s: %s", c->name, label,
				 sb_status_name(rc), err.msg);
	got = sb_filter_buffer_data(sink, &got_len);
	SB_CHECK_MSG(got != NULL && same_bytes(got, got_len, want, want_len),
				 "%s %s: fetched content differs (%zu vs %zu bytes)",
				 c->name, label, got_len, want_len);
	if (rc == SB_OK)
	{
		size_t		stored_len;

		sb_mem_storage_file(st, path, &stored_len);
		SB_CHECK(res.plain_size == want_len);
		SB_CHECK(res.stored_size == stored_len);
		SB_CHECK(strcasecmp(res.digest, sha) == 0);
	}
	sink->free(sink);
}

/* Decompress stored bytes with the standard tool of the type and compare. */
static bool
tool_agrees(SbCompressType type, const uint8_t *stored, size_t stored_len,
			const uint8_t *plain, size_t plain_len)
{
	const char *tool = type == SB_COMPRESS_LZ4 ? "lz4" :
		type == SB_COMPRESS_ZSTD ? "zstd -q" : "gzip";
	char		gz[128],
				out[128],
				cmd[512];
	uint8_t    *got;
	size_t		got_len;
	bool		ok;

	snprintf(gz, sizeof(gz), "%s/stored.gz", tmpdir);
	snprintf(out, sizeof(out), "%s/stored.out", tmpdir);
	if (!write_whole_file(gz, stored, stored_len))
		return false;
	snprintf(cmd, sizeof(cmd), "%s -dc '%s' > '%s'", tool, gz, out);
	if (system(cmd) != 0)
		return false;
	got = read_whole_file(out, &got_len);
	ok = got != NULL ? same_bytes(got, got_len, plain, plain_len) :
		plain_len == 0;
	free(got);
	unlink(gz);
	unlink(out);
	return ok;
}

/* ----------------------------------------------------------------
 *		Tests
 * ----------------------------------------------------------------
 */

static void
test_sha256_vectors(void)
{
	static const char *nist448 =
	"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char		hex[SB_SHA256_HEX_LEN + 1];
	uint8_t    *million;
	SbFilter   *d;
	SbError		err;
	SbStatus	rc;
	size_t		off;
	int			k = 0;

	sb_sha256_hex("", 0, hex);
	SB_CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	sb_sha256_hex(NULL, 0, hex);
	SB_CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	sb_sha256_hex("abc", 3, hex);
	SB_CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	sb_sha256_hex(nist448, strlen(nist448), hex);
	SB_CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);

	million = xmalloc(1000000);
	memset(million, 'a', 1000000);
	sb_sha256_hex(million, 1000000, hex);
	SB_CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);

	/* the digest filter, fed in odd pieces, standalone (no next) */
	d = sb_filter_digest_new(NULL);
	SB_REQUIRE(d != NULL);
	for (off = 0; off < 1000000;)
	{
		size_t		n = odd_chunks[k++ % NODD];

		if (n > 1000000 - off)
			n = 1000000 - off;
		rc = sb_filter_write(d, million + off, n, &err);
		SB_REQUIRE(rc == SB_OK);
		off += n;
	}
	SB_CHECK(sb_filter_write(d, million, 0, &err) == SB_OK);
	SB_CHECK(sb_filter_finish(d, &err) == SB_OK);
	sb_filter_digest_hex(d, hex);
	SB_CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
	SB_CHECK(sb_filter_digest_bytes(d) == 1000000);
	/* writing after finish is refused, not a crash */
	SB_CHECK(sb_filter_write(d, "x", 1, &err) == SB_ERR_INTERNAL);
	sb_filter_free_chain(d);

	/* empty input through the filter */
	d = sb_filter_digest_new(NULL);
	SB_REQUIRE(d != NULL);
	SB_CHECK(sb_filter_finish(d, &err) == SB_OK);
	sb_filter_digest_hex(d, hex);
	SB_CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	SB_CHECK(sb_filter_digest_bytes(d) == 0);
	sb_filter_free_chain(d);

	free(million);
}

/* One data set through one codec, by every store path, checked every way. */
static void
roundtrip_case(SbStorage *st, const Codec *c, const uint8_t *data, size_t len,
			   const char *label)
{
	SbRepoConfig cfg;
	SbStoreResult res,
				res2;
	SbError		err;
	SbStatus	rc;
	char		hex[SB_SHA256_HEX_LEN + 1];
	char		uhex[SB_SHA256_HEX_LEN + 1];
	const uint8_t *stored;
	size_t		stored_len;
	uint64_t	calls;

	cfg_for(&cfg, c);
	sb_error_clear(&err);
	sb_sha256_hex(data, len, hex);
	upper_hex(hex, uhex);

	/* 1. from memory */
	memset(&res, 0, sizeof(res));
	rc = sb_codec_store_buffer(st, &cfg, data, len, "rt/buf.gz",
							   SB_WRITE_REPLACE, &res, &err);
	SB_CHECK_MSG(rc == SB_OK, "%s %s: store_buffer %s: %s", c->name, label,
				 sb_status_name(rc), err.msg);
	SB_CHECK_MSG(res.plain_size == len, "%s %s: plain_size %llu", c->name,
				 label, (unsigned long long) res.plain_size);
	SB_CHECK_MSG(strcmp(res.digest, hex) == 0, "%s %s: sha %s, want %s",
				 c->name, label, res.digest, hex);
	stored = sb_mem_storage_file(st, "rt/buf.gz", &stored_len);
	SB_REQUIRE(stored != NULL);
	SB_CHECK_MSG(res.stored_size == stored_len,
				 "%s %s: stored_size %llu, actual %zu", c->name, label,
				 (unsigned long long) res.stored_size, stored_len);
	if (c->type == SB_COMPRESS_NONE)
		SB_CHECK_MSG(same_bytes(stored, stored_len, data, len),
					 "%s %s: uncompressed stored bytes differ", c->name, label);
	else
		SB_CHECK_MSG(tool_agrees(c->type, stored, stored_len, data, len),
					 "%s %s: %s -dc disagrees", c->name, label,
					 sb_compress_type_name(c->type));

	/* fetch in one go, then with short reads, upper-case expected digest */
	sb_mem_storage_set_read_chunk(st, 0);
	check_fetch_buffer(st, "rt/buf.gz", c, hex, data, len, label);
	sb_mem_storage_set_read_chunk(st, 4099);
	check_fetch_buffer(st, "rt/buf.gz", c, uhex, data, len, label);
	sb_mem_storage_set_read_chunk(st, 0);

	/* 2. from a pipe written in odd chunk sizes */
	memset(&res2, 0, sizeof(res2));
	calls = sb_mem_storage_write_calls(st);
	rc = store_via_pipe(st, &cfg, data, len, "rt/pipe.gz", SB_WRITE_REPLACE,
						&res2, &err);
	calls = sb_mem_storage_write_calls(st) - calls;
	/* short pipe reads are merged into full chunks before going on */
	if (c->type == SB_COMPRESS_NONE)
		SB_CHECK_MSG(calls == (len + SB_CODEC_BUFSIZE - 1) / SB_CODEC_BUFSIZE,
					 "%s %s: %llu storage writes", c->name, label,
					 (unsigned long long) calls);
	SB_CHECK_MSG(rc == SB_OK, "%s %s: store_fd %s: %s", c->name, label,
				 sb_status_name(rc), err.msg);
	SB_CHECK(res2.plain_size == len);
	SB_CHECK(strcmp(res2.digest, hex) == 0);
	stored = sb_mem_storage_file(st, "rt/pipe.gz", &stored_len);
	SB_CHECK(stored != NULL && res2.stored_size == stored_len);
	sb_mem_storage_set_read_chunk(st, 1 + len / 3);
	check_fetch_buffer(st, "rt/pipe.gz", c, hex, data, len, label);
	sb_mem_storage_set_read_chunk(st, 0);

	/* the store helpers never hand the storage more than one chunk */
	SB_CHECK_MSG(sb_mem_storage_max_write(st) <= SB_CODEC_BUFSIZE,
				 "%s %s: storage write of %zu bytes", c->name, label,
				 sb_mem_storage_max_write(st));

	/* 3. filters driven by hand with odd writes */
	memset(&res2, 0, sizeof(res2));
	rc = store_odd_chunks(st, c, data, len, "rt/odd.gz", &res2, &err);
	SB_CHECK_MSG(rc == SB_OK, "%s %s: odd-chunk store %s: %s", c->name, label,
				 sb_status_name(rc), err.msg);
	SB_CHECK(res2.plain_size == len);
	SB_CHECK(strcmp(res2.digest, hex) == 0);
	stored = sb_mem_storage_file(st, "rt/odd.gz", &stored_len);
	SB_CHECK(stored != NULL && res2.stored_size == stored_len);
	check_fetch_buffer(st, "rt/odd.gz", c, hex, data, len, label);

	/* 4. fetch into a file through the fd sink */
	{
		char		path[128];
		int			fd;
		SbFilter   *sink;
		uint8_t    *got;
		size_t		got_len;

		snprintf(path, sizeof(path), "%s/fetched", tmpdir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		SB_REQUIRE(fd >= 0);
		sink = sb_filter_fd_sink_new(fd);
		SB_REQUIRE(sink != NULL);
		rc = sb_codec_fetch(st, "rt/buf.gz", c->type, sink, hex, len, NULL,
							&err);
		SB_CHECK_MSG(rc == SB_OK, "%s %s: fetch to fd %s: %s", c->name, label,
					 sb_status_name(rc), err.msg);
		sink->free(sink);
		close(fd);
		got = read_whole_file(path, &got_len);
		SB_CHECK_MSG(same_bytes(got, got_len, data, len),
					 "%s %s: file written by fd sink differs", c->name, label);
		free(got);
		unlink(path);
	}

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
}

static void
test_roundtrips(void)
{
	struct
	{
		const char *label;
		size_t		len;
		int			kind;		/* 0 mixed, 1 random, 2 pgbench-like */
	}			sets[] = {
		{"0 bytes", 0, 0},
		{"1 byte", 1, 0},
		{"65535 bytes", 65535, 0},
		{"BUFSIZE-1", SB_CODEC_BUFSIZE - 1, 0},
		{"BUFSIZE", SB_CODEC_BUFSIZE, 1},
		{"BUFSIZE+1", SB_CODEC_BUFSIZE + 1, 2},
		{"5 MiB random", 5 * MiB, 1},
		{"16 MiB compressible", 16 * MiB, 2},
	};
	int			i,
				j;

	for (i = 0; i < (int) (sizeof(sets) / sizeof(sets[0])); i++)
	{
		uint8_t    *data;

		if (sets[i].kind == 1)
			data = gen_random(sets[i].len, 1000 + i);
		else if (sets[i].kind == 2)
			data = gen_pgbench(sets[i].len, 1000 + i);
		else
			data = gen_mixed(sets[i].len, 1000 + i);

		for (j = 0; j < NCODECS; j++)
		{
			SbStorage  *st = new_storage();

			roundtrip_case(st, &codecs[j], data, sets[i].len, sets[i].label);
			sb_mem_storage_free(st);
		}
		free(data);
	}
}

/*
 * Compression must actually compress, and decompression output is bounded:
 * 16 MiB of zeros is a tiny file that comes out of one write of it, so every
 * library holds far more output than one buffer and must be drained.
 */
static void
test_bounded_chunks(const Codec *c)
{
	SbStorage  *st = new_storage();
	SbRepoConfig cfg;
	SbStoreResult res;
	SbError		err;
	uint8_t    *zeros = calloc(1, 16 * MiB);
	ProbeSink  *probe = probe_new();
	char		hex[SB_SHA256_HEX_LEN + 1];
	char		phex[SB_SHA256_HEX_LEN + 1];
	SbStatus	rc;

	SB_REQUIRE(zeros != NULL);
	cfg_for(&cfg, c);
	rc = sb_codec_store_buffer(st, &cfg, zeros, 16 * MiB, "z/zeros", 0,
							   &res, &err);
	SB_CHECK(rc == SB_OK);
	SB_CHECK_MSG(res.stored_size < 128 * 1024,
				 "%s: 16 MiB of zeros stored as %llu bytes", c->name,
				 (unsigned long long) res.stored_size);

	/* 16 MiB comes out of a tiny file in chunks no larger than BUFSIZE */
	rc = sb_codec_fetch(st, "z/zeros", c->type, &probe->base,
						res.digest, 16 * MiB, NULL, &err);
	SB_CHECK_MSG(rc == SB_OK, "%s: %s", c->name, err.msg);
	SB_CHECK_MSG(probe->bytes == 16 * MiB, "%s: %llu bytes out", c->name,
				 (unsigned long long) probe->bytes);
	SB_CHECK_MSG(probe->max_write <= SB_CODEC_BUFSIZE, "%s: sink write %zu",
				 c->name, probe->max_write);
	SB_CHECK(probe->finish_calls == 1);
	sb_filter_digest_hex(probe->digest, phex);
	sb_sha256_hex(zeros, 16 * MiB, hex);
	SB_CHECK_MSG(strcmp(phex, hex) == 0, "%s: digest differs", c->name);
	/* the caller's sink was not freed by fetch: using it again is fine */
	probe->base.free(&probe->base);

	free(zeros);
	sb_mem_storage_free(st);
}

/* Store one compressible and one incompressible file for the error tests. */
static void
store_fixture(SbStorage *st, const Codec *c, const char *path,
			  const uint8_t *data, size_t len, SbStoreResult *res)
{
	SbRepoConfig cfg;
	SbError		err;

	cfg_for(&cfg, c);
	if (sb_codec_store_buffer(st, &cfg, data, len, path, SB_WRITE_REPLACE,
							  res, &err) != SB_OK)
	{
		fprintf(stderr, "fixture: %s\n", err.msg);
		exit(2);
	}
}

static SbStatus
fetch_discard(SbStorage *st, const char *path, SbCompressType type,
			  const char *sha, uint64_t size, SbError *err)
{
	ProbeSink  *probe = probe_new();
	SbStatus	rc;

	sb_error_clear(err);
	rc = sb_codec_fetch(st, path, type, &probe->base, sha, size, NULL, err);
	probe->base.free(&probe->base);
	return rc;
}

static void
test_fetch_mismatch(void)
{
	SbStorage  *st = new_storage();
	uint8_t    *data = gen_mixed(300000, 7);
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	char		bad[SB_SHA256_HEX_LEN + 1];
	int			j;

	for (j = 0; j < NCODECS; j++)
	{
		SbRepoConfig cfg;

		cfg_for(&cfg, &codecs[j]);
		rc = sb_codec_store_buffer(st, &cfg, data, 300000, "m/file",
								   SB_WRITE_REPLACE, &res, &err);
		SB_REQUIRE(rc == SB_OK);

		/* right values pass, no checks pass */
		SB_CHECK(fetch_discard(st, "m/file", codecs[j].type, res.digest,
							   300000, &err) == SB_OK);
		SB_CHECK(fetch_discard(st, "m/file", codecs[j].type, NULL,
							   UINT64_MAX, &err) == SB_OK);

		/* wrong digest */
		strcpy(bad, res.digest);
		bad[10] = bad[10] == '0' ? '1' : '0';
		rc = fetch_discard(st, "m/file", codecs[j].type, bad, UINT64_MAX, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT, "%s: got %s", codecs[j].name,
					 sb_status_name(rc));
		SB_CHECK_MSG(strstr(err.msg, "checksum mismatch in repository file \"m/file\"") != NULL &&
					 strstr(err.msg, bad) != NULL &&
					 strstr(err.msg, res.digest) != NULL, "message: %s", err.msg);

		/* a truncated or garbage digest string never matches */
		rc = fetch_discard(st, "m/file", codecs[j].type, "abc", UINT64_MAX, &err);
		SB_CHECK(rc == SB_ERR_CORRUPT);
		rc = fetch_discard(st, "m/file", codecs[j].type, "", UINT64_MAX, &err);
		SB_CHECK(rc == SB_ERR_CORRUPT);

		/* wrong size, with and without the digest */
		rc = fetch_discard(st, "m/file", codecs[j].type, res.digest, 300001, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT && strstr(err.msg, "size mismatch") != NULL,
					 "%s: %s", sb_status_name(rc), err.msg);
		rc = fetch_discard(st, "m/file", codecs[j].type, NULL, 0, &err);
		SB_CHECK(rc == SB_ERR_CORRUPT);
		SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	}

	/* res receives the measured values even when they do not match */
	{
		SbFilter   *sink = sb_filter_buffer_sink_new(1 << 20);
		SbStoreResult got;

		memset(&got, 0, sizeof(got));
		rc = sb_codec_fetch(st, "m/file", codecs[NCODECS - 1].type, sink,
							"0000000000000000000000000000000000000000000000000000000000000000",
							UINT64_MAX, &got, &err);
		SB_CHECK(rc == SB_ERR_CORRUPT);
		SB_CHECK(got.plain_size == 300000 && strcmp(got.digest, res.digest) == 0);
		sink->free(sink);
	}

	/* missing file */
	rc = fetch_discard(st, "m/nothing", SB_COMPRESS_ZLIB, NULL, UINT64_MAX, &err);
	SB_CHECK_MSG(rc == SB_ERR_NOT_FOUND, "%s", sb_status_name(rc));

	/* unsupported type */
	rc = fetch_discard(st, "m/file", (SbCompressType) 42, NULL, UINT64_MAX, &err);
	SB_CHECK(rc == SB_ERR_CONFIG);

	/* stored uncompressed, read as zlib: bad header */
	{
		SbRepoConfig cfg;

		cfg_for(&cfg, &codecs[0]);
		rc = sb_codec_store_buffer(st, &cfg, data, 300000, "m/file",
								   SB_WRITE_REPLACE, &res, &err);
		SB_REQUIRE(rc == SB_OK);
	}
	rc = fetch_discard(st, "m/file", SB_COMPRESS_ZLIB, NULL, UINT64_MAX, &err);
	SB_CHECK_MSG(rc == SB_ERR_CORRUPT &&
				 strstr(err.msg, "could not decompress file \"m/file\"") != NULL,
				 "%s: %s", sb_status_name(rc), err.msg);

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(data);
	sb_mem_storage_free(st);
}

/* Flip bytes of a compressed file: always SB_ERR_CORRUPT, never a crash. */
static void
test_corruption(const Codec *c)
{
	SbStorage  *st = new_storage();
	const size_t len = 1 * MiB;
	uint8_t    *kinds[2];
	int			kind;

	kinds[0] = gen_pgbench(len, 11);	/* compressed blocks */
	kinds[1] = gen_random(len, 12); /* mostly stored blocks: CRC catches it */

	for (kind = 0; kind < 2; kind++)
	{
		SbStoreResult res;
		const uint8_t *stored;
		size_t		stored_len;
		uint8_t    *copy;
		size_t		pos;
		int			bad = 0;
		int			harmless = 0;
		int			tries = 0;
		uint64_t	s = 99 + kind;

		store_fixture(st, c, "c/orig.gz", kinds[kind], len, &res);
		stored = sb_mem_storage_file(st, "c/orig.gz", &stored_len);
		SB_REQUIRE(stored != NULL && stored_len > 64);
		copy = xmalloc(stored_len);

		/*
		 * Flip every header byte, then bytes from the data and trailer,
		 * except those the format leaves unchecked because they do not
		 * change the content: gzip's bytes 4-9 (mtime, flags, OS).
		 */
		for (pos = 0; pos < stored_len;
			 pos += pos < 12 ? 1 : 1 + rng_next(&s) % (stored_len / 64))
		{
			SbError		err;
			SbStatus	rc;
			bool		ok;

			if (c->type == SB_COMPRESS_ZLIB && pos >= 4 && pos <= 9)
				continue;
			memcpy(copy, stored, stored_len);
			copy[pos] ^= (uint8_t) (1 + rng_next(&s) % 255);
			ok = sb_mem_storage_set_file(st, "c/bad.gz", copy, stored_len);
			SB_REQUIRE(ok);
			/* no digest: decompression itself must notice */
			rc = fetch_discard(st, "c/bad.gz", c->type, NULL,
							   UINT64_MAX, &err);
			tries++;

			/*
			 * A flip that decodes to the very same content is harmless (an
			 * lz4 match offset moved within a run of equal bytes, a larger
			 * zstd window): the digest proves the content is the original.
			 */
			if (rc == SB_OK &&
				fetch_discard(st, "c/bad.gz", c->type, res.digest, len,
							  &err) == SB_OK)
			{
				harmless++;
				continue;
			}
			if (rc != SB_ERR_CORRUPT)
			{
				bad++;
				fprintf(stderr, "%s: flip at %zu/%zu: %s: %s\n", c->name, pos,
						stored_len, sb_status_name(rc), err.msg);
			}
		}
		/* always test the very last byte (ISIZE, checksum) as well */
		{
			SbError		err;
			bool		ok;

			memcpy(copy, stored, stored_len);
			copy[stored_len - 1] ^= 0x40;
			ok = sb_mem_storage_set_file(st, "c/bad.gz", copy, stored_len);
			SB_REQUIRE(ok);
			SB_CHECK(fetch_discard(st, "c/bad.gz", c->type, res.digest,
								   len, &err) == SB_ERR_CORRUPT);
		}
		SB_CHECK_MSG(bad == 0, "%s: %d of %d corruptions not reported as corrupt",
					 c->name, bad, tries);
		SB_CHECK(tries > 20 && harmless < tries / 4);
		free(copy);
	}

	/* an uncompressed file with a flipped byte: the digest catches it */
	{
		SbRepoConfig cfg;
		SbStoreResult res;
		SbError		err;
		SbStatus	rc;
		bool		ok;
		const uint8_t *stored;
		size_t		stored_len;
		uint8_t    *copy;

		cfg_for(&cfg, &codecs[0]);
		rc = sb_codec_store_buffer(st, &cfg, kinds[0], len, "c/plain", 0,
								   &res, &err);
		SB_REQUIRE(rc == SB_OK);
		stored = sb_mem_storage_file(st, "c/plain", &stored_len);
		copy = xmalloc(stored_len);
		memcpy(copy, stored, stored_len);
		copy[stored_len / 2] ^= 1;
		ok = sb_mem_storage_set_file(st, "c/plain", copy, stored_len);
		SB_REQUIRE(ok);
		SB_CHECK(fetch_discard(st, "c/plain", SB_COMPRESS_NONE, res.digest,
							   len, &err) == SB_ERR_CORRUPT);
		free(copy);
	}

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(kinds[0]);
	free(kinds[1]);
	sb_mem_storage_free(st);
}

static void
test_truncation_and_trailing(const Codec *c)
{
	SbStorage  *st = new_storage();
	const size_t len = 700000;
	uint8_t    *data = gen_mixed(len, 21);
	SbStoreResult res;
	const uint8_t *stored;
	size_t		stored_len;
	uint8_t    *copy;
	size_t		cuts[8];
	int			i;

	store_fixture(st, c, "t/orig.gz", data, len, &res);
	stored = sb_mem_storage_file(st, "t/orig.gz", &stored_len);
	SB_REQUIRE(stored != NULL);
	copy = xmalloc(2 * stored_len + 16);

	/* truncated: various lengths, including empty */
	cuts[0] = 0;
	cuts[1] = 1;
	cuts[2] = 10;
	cuts[3] = stored_len / 2;
	cuts[4] = stored_len - 8;
	cuts[5] = stored_len - 4;
	cuts[6] = stored_len - 1;
	cuts[7] = SB_CODEC_BUFSIZE < stored_len ? SB_CODEC_BUFSIZE : stored_len - 2;
	for (i = 0; i < 8; i++)
	{
		SbError		err;
		SbStatus	rc;
		bool		ok;

		memcpy(copy, stored, stored_len);
		ok = sb_mem_storage_set_file(st, "t/short.gz", copy, cuts[i]);
		SB_REQUIRE(ok);
		rc = fetch_discard(st, "t/short.gz", c->type, NULL,
						   UINT64_MAX, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT && strstr(err.msg, "t/short.gz") != NULL,
					 "%s: cut to %zu: %s: %s", c->name, cuts[i],
					 sb_status_name(rc), err.msg);
	}

	/* trailing garbage: one byte, text, a second member or frame */
	for (i = 0; i < 4; i++)
	{
		SbError		err;
		SbStatus	rc;
		bool		ok;
		size_t		n = stored_len;

		memcpy(copy, stored, stored_len);
		if (i == 0)
			copy[n++] = 0;
		else if (i == 1 || i == 3)
		{
			memcpy(copy + n, "garbage", 7);
			n += 7;
		}
		else
		{
			memcpy(copy + n, stored, stored_len);
			n += stored_len;
		}
		ok = sb_mem_storage_set_file(st, "t/long.gz", copy, n);
		SB_REQUIRE(ok);
		/* case 3: the garbage arrives in a read of its own */
		sb_mem_storage_set_read_chunk(st, i == 3 ? stored_len : 0);
		rc = fetch_discard(st, "t/long.gz", c->type, NULL,
						   UINT64_MAX, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT && strstr(err.msg, "trailing") != NULL,
					 "%s: trailing case %d: %s: %s", c->name, i,
					 sb_status_name(rc), err.msg);
	}
	sb_mem_storage_set_read_chunk(st, 0);

	/* the original is still fine */
	{
		SbError		err;

		SB_CHECK(fetch_discard(st, "t/orig.gz", c->type, res.digest,
							   len, &err) == SB_OK);
	}

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(copy);
	free(data);
	sb_mem_storage_free(st);
}

static void
test_buffer_sink(void)
{
	SbStorage  *st = new_storage();
	SbFilter   *sink;
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	const char *p;
	size_t		n;
	uint8_t    *data = gen_mixed(100000, 31);

	/* direct use */
	sink = sb_filter_buffer_sink_new(10);
	SB_REQUIRE(sink != NULL);
	p = sb_filter_buffer_data(sink, &n);
	SB_CHECK(p != NULL && n == 0);
	SB_CHECK(sb_filter_write(sink, "hello ", 6, &err) == SB_OK);
	SB_CHECK(sb_filter_write(sink, "world", 5, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "larger than 10 bytes") != NULL);
	SB_CHECK(sb_filter_write(sink, "wor", 3, &err) == SB_OK);
	SB_CHECK(sb_filter_write(sink, "l", 1, &err) == SB_OK);
	SB_CHECK(sb_filter_write(sink, "d", 1, &err) == SB_ERR_CORRUPT);
	SB_CHECK(sb_filter_finish(sink, &err) == SB_OK);
	p = sb_filter_buffer_data(sink, &n);
	SB_CHECK(n == 10 && memcmp(p, "hello worl", 10) == 0 && p[10] == '\0');
	sink->free(sink);

	/* through fetch: exact size fits, one byte less does not */
	store_fixture(st, &codecs[2], "b/file.gz", data, 100000, &res);
	sink = sb_filter_buffer_sink_new(100000);
	rc = sb_codec_fetch(st, "b/file.gz", SB_COMPRESS_ZLIB, sink, res.digest,
						100000, NULL, &err);
	SB_CHECK(rc == SB_OK);
	p = sb_filter_buffer_data(sink, &n);
	SB_CHECK(same_bytes(p, n, data, 100000));
	sink->free(sink);

	sink = sb_filter_buffer_sink_new(99999);
	rc = sb_codec_fetch(st, "b/file.gz", SB_COMPRESS_ZLIB, sink, res.digest,
						100000, NULL, &err);
	SB_CHECK_MSG(rc == SB_ERR_CORRUPT && strstr(err.msg, "larger than 99999") != NULL,
				 "%s: %s", sb_status_name(rc), err.msg);
	sink->free(sink);

	/* an empty file into a zero-size buffer */
	store_fixture(st, &codecs[2], "b/empty.gz", data, 0, &res);
	sink = sb_filter_buffer_sink_new(0);
	rc = sb_codec_fetch(st, "b/empty.gz", SB_COMPRESS_ZLIB, sink, res.digest,
						0, NULL, &err);
	SB_CHECK(rc == SB_OK);
	p = sb_filter_buffer_data(sink, &n);
	SB_CHECK(p != NULL && n == 0);
	sink->free(sink);

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(data);
	sb_mem_storage_free(st);
}

static void
test_storage_failures(void)
{
	const size_t len = 5 * MiB;
	uint8_t    *data = gen_random(len, 41);
	int64_t		limits[] = {0, 1, 1000, SB_CODEC_BUFSIZE - 1, SB_CODEC_BUFSIZE,
		3 * SB_CODEC_BUFSIZE + 5, 5 * MiB - 1};
	int			i,
				j;

	for (j = 0; j < NCODECS; j++)
	{
		for (i = 0; i < (int) (sizeof(limits) / sizeof(limits[0])); i++)
		{
			SbStorage  *st = new_storage();
			SbRepoConfig cfg;
			SbStoreResult res;
			SbError		err;
			SbStatus	rc;

			cfg_for(&cfg, &codecs[j]);
			sb_mem_storage_fail_writes_after(st, limits[i]);
			rc = sb_codec_store_buffer(st, &cfg, data, len, "f/file.gz", 0,
									   &res, &err);
			SB_CHECK_MSG(rc == SB_ERR_NO_SPACE, "%s limit %lld: %s: %s",
						 codecs[j].name, (long long) limits[i],
						 sb_status_name(rc), err.msg);
			SB_CHECK(!file_exists(st, "f/file.gz"));
			SB_CHECK(sb_mem_storage_open_handles(st) == 0);

			rc = store_via_pipe(st, &cfg, data, len, "f/pipe.gz", 0, &res,
								&err);
			SB_CHECK(rc == SB_ERR_NO_SPACE);
			SB_CHECK(!file_exists(st, "f/pipe.gz"));
			SB_CHECK(sb_mem_storage_open_handles(st) == 0);
			sb_mem_storage_free(st);
		}
	}

	/* read failures while fetching */
	{
		SbStorage  *st = new_storage();
		SbStoreResult res;
		SbError		err;
		SbStatus	rc;

		store_fixture(st, &codecs[2], "f/ok.gz", data, len, &res);
		sb_mem_storage_fail_reads_after(st, SB_CODEC_BUFSIZE + 17);
		rc = fetch_discard(st, "f/ok.gz", SB_COMPRESS_ZLIB, res.digest, len, &err);
		SB_CHECK_MSG(rc == SB_ERR_IO, "%s: %s", sb_status_name(rc), err.msg);
		SB_CHECK(sb_mem_storage_open_handles(st) == 0);
		sb_mem_storage_fail_reads_after(st, -1);
		SB_CHECK(fetch_discard(st, "f/ok.gz", SB_COMPRESS_ZLIB, res.digest,
							   len, &err) == SB_OK);
		sb_mem_storage_free(st);
	}

	free(data);
}

/*
 * SB_WRITE_OVERLAP: compressed and written on the codec's own thread; the
 * same stored content and digest as without, and a failing write still
 * fails the store, leaves nothing behind and no handle open.
 */
static void
test_store_overlap(void)
{
	const size_t len = 5 * MiB + 123;
	uint8_t    *data = gen_pgbench(len, 43);
	uint8_t    *rnd = gen_random(len, 44);
	char		hex[SB_SHA256_HEX_LEN + 1];

	sb_sha256_hex(data, len, hex);
	for (int j = 0; j < NCODECS; j++)
	{
		SbStorage  *st = new_storage();
		SbRepoConfig cfg;
		SbStoreResult res;
		SbStoreResult res2;
		SbError		err;
		SbStatus	rc;

		cfg_for(&cfg, &codecs[j]);
		rc = sb_codec_store_buffer(st, &cfg, data, len, "o/overlap.gz",
								   SB_WRITE_OVERLAP, &res, &err);
		SB_CHECK_MSG(rc == SB_OK, "%s: %s", codecs[j].name, err.msg);
		SB_CHECK(strcmp(res.digest, hex) == 0 && res.plain_size == len);
		rc = store_via_pipe(st, &cfg, data, len, "o/pipe.gz", SB_WRITE_OVERLAP,
							&res2, &err);
		SB_CHECK(rc == SB_OK && strcmp(res2.digest, hex) == 0 &&
				 res2.stored_size == res.stored_size);
		SB_CHECK(fetch_discard(st, "o/overlap.gz", codecs[j].type, hex, len,
							   &err) == SB_OK);

		/* random data: every codec writes past the limit */
		sb_mem_storage_fail_writes_after(st, 3 * SB_CODEC_BUFSIZE + 5);
		rc = sb_codec_store_buffer(st, &cfg, rnd, len, "o/full.gz",
								   SB_WRITE_OVERLAP, &res, &err);
		SB_CHECK_MSG(rc == SB_ERR_NO_SPACE, "%s: %s: %s", codecs[j].name,
					 sb_status_name(rc), err.msg);
		SB_CHECK(!file_exists(st, "o/full.gz"));
		SB_CHECK(sb_mem_storage_open_handles(st) == 0);
		sb_mem_storage_free(st);
	}
	free(data);
	free(rnd);
}

/*
 * The async filter: what it is given comes out in order, whole, finished
 * once; a stream shorter than its 1 MiB buffer is written by finish on the
 * caller's thread without starting one; a longer one is written by its
 * thread; an error of the next filter comes back from write or finish.
 */
typedef struct CollectSink
{
	SbFilter	base;
	uint8_t    *data;
	size_t		len;
	size_t		fail_after;		/* SIZE_MAX: never */
	pthread_t	writer;			/* thread of the last write */
	int			writes;
	int			finish_calls;
} CollectSink;

static SbStatus
collect_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	CollectSink *c = (CollectSink *) f;

	if (c->len + len > c->fail_after)
		return sb_error_set(err, SB_ERR_NO_SPACE, "collect sink full");
	memcpy(c->data + c->len, buf, len);
	c->len += len;
	c->writer = pthread_self();
	c->writes++;
	return SB_OK;
}

static SbStatus
collect_finish(SbFilter *f, SbError *err)
{
	(void) err;
	((CollectSink *) f)->finish_calls++;
	return SB_OK;
}

static void
collect_free(SbFilter *f)
{
	(void) f;
}

/* Threads of this process, from /proc/self/status. */
static int
count_threads(void)
{
	FILE	   *fp = fopen("/proc/self/status", "r");
	char		line[256];
	int			n = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(fp);
	return n;
}

static void
test_async_filter(void)
{
	const size_t sizes[] = {0, 1, MiB - 1, MiB, MiB + 1, 4 * MiB, 6 * MiB + 7};
	const size_t max = 6 * MiB + 7;
	uint8_t    *data = gen_random(max, 61);
	CollectSink c;

	memset(&c, 0, sizeof(c));
	c.base.write = collect_write;
	c.base.finish = collect_finish;
	c.base.free = collect_free;
	c.data = malloc(max);
	SB_REQUIRE(c.data != NULL);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		for (int fail = 0; fail < 2; fail++)
		{
			int			threads_before = count_threads();
			SbFilter   *a = sb_filter_async_new(&c.base);
			size_t		pos = 0;
			int			k = 0;
			SbError		err;
			SbStatus	rc = SB_OK;

			SB_REQUIRE(a != NULL);
			c.len = 0;
			c.writes = 0;
			c.finish_calls = 0;
			c.writer = pthread_self();
			/* failing: at the first write, or past the first buffer */
			c.fail_after = !fail ? SIZE_MAX : sizes[i] <= MiB ? 0 : MiB;
			while (pos < sizes[i] && rc == SB_OK)
			{
				size_t		n = odd_chunks[k++ % 8];

				if (n > sizes[i] - pos)
					n = sizes[i] - pos;
				rc = sb_filter_write(a, data + pos, n, &err);
				pos += n;
			}
			if (pos < MiB)
				SB_CHECK_MSG(count_threads() <= threads_before,
							 "%zu bytes: a thread started", sizes[i]);
			if (rc == SB_OK)
				rc = sb_filter_finish(a, &err);
			if (!fail || sizes[i] == 0)
			{
				SB_CHECK_MSG(rc == SB_OK, "%zu bytes: %s", sizes[i], err.msg);
				SB_CHECK(same_bytes(c.data, c.len, data, sizes[i]));
				SB_CHECK(c.finish_calls == 1);
				/* one buffer or less: written on this thread, at once */
				if (sizes[i] > 0 && sizes[i] < MiB)
					SB_CHECK(c.writes == 1 &&
							 pthread_equal(c.writer, pthread_self()));
				if (sizes[i] > MiB)
					SB_CHECK(!pthread_equal(c.writer, pthread_self()));
			}
			else
			{
				SB_CHECK_MSG(rc == SB_ERR_NO_SPACE, "%zu bytes: %s",
							 sizes[i], sb_status_name(rc));
				SB_CHECK(strstr(err.msg, "collect sink full") != NULL);
				SB_CHECK(c.finish_calls == 0);
			}
			sb_filter_free_chain(a);
		}
	}
	free(c.data);
	free(data);
}

/*
 * Bytes read straight into sb_filter_async_space() and written from there
 * arrive in order and whole, mixed with ordinary writes; the space offered
 * is never empty and never reaches past the buffer being filled.
 */
static void
test_async_space(void)
{
	const size_t len = 5 * MiB + 3;
	uint8_t    *data = gen_random(len, 67);
	CollectSink c;
	SbFilter   *a;
	size_t		pos = 0;
	int			k = 0;
	SbError		err;
	SbStatus	rc = SB_OK;

	memset(&c, 0, sizeof(c));
	c.base.write = collect_write;
	c.base.finish = collect_finish;
	c.base.free = collect_free;
	c.data = malloc(len);
	c.fail_after = SIZE_MAX;
	c.writer = pthread_self();
	SB_REQUIRE(c.data != NULL);
	a = sb_filter_async_new(&c.base);
	SB_REQUIRE(a != NULL);
	while (pos < len && rc == SB_OK)
	{
		size_t		n = odd_chunks[k % 8];
		size_t		room = 0;
		uint8_t    *space = sb_filter_async_space(a, &room);

		SB_REQUIRE(space != NULL);
		SB_CHECK(room > 0 && room <= MiB);
		if (n > len - pos)
			n = len - pos;
		if (k++ % 3 != 2)
		{
			/* as store_from_fd reads: at most the room offered */
			if (n > room)
				n = room;
			memcpy(space, data + pos, n);
			rc = sb_filter_write(a, space, n, &err);
		}
		else
			rc = sb_filter_write(a, data + pos, n, &err);
		pos += n;
	}
	if (rc == SB_OK)
		rc = sb_filter_finish(a, &err);
	SB_CHECK_MSG(rc == SB_OK, "async space: %s", err.msg);
	/* only an async filter offers space */
	{
		size_t		room = 0;

		SB_CHECK(sb_filter_async_space(&c.base, &room) == NULL);
	}
	SB_CHECK(same_bytes(c.data, c.len, data, len));
	sb_filter_free_chain(a);
	free(c.data);
	free(data);
}

/*
 * A decoder writes straight into the space the stage that keeps its bytes
 * offers (SbFilter.space), through pass-through stages: the bytes arrive
 * whole and in order, nearly all of them already in place, however
 * little space is offered at once; with none offered, the decoder's own
 * buffer is used.
 */
typedef struct SpaceSink
{
	SbFilter	base;
	uint8_t    *data;			/* everything received */
	size_t		len;
	uint8_t		buf[64 * 1024];	/* the space offered */
	size_t		used;			/* of buf */
	size_t		offer;			/* how much of it is offered at most */
	size_t		in_place;		/* bytes written from the space offered */
} SpaceSink;

static uint8_t *
space_sink_space(SbFilter *f, size_t *room)
{
	SpaceSink  *k = (SpaceSink *) f;
	size_t		left = sizeof(k->buf) - k->used;

	if (k->offer == 0)
		return NULL;
	if (left == 0)
	{
		k->used = 0;
		left = sizeof(k->buf);
	}
	*room = left < k->offer ? left : k->offer;
	return k->buf + k->used;
}

static SbStatus
space_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	SpaceSink  *k = (SpaceSink *) f;

	(void) err;
	if (buf == k->buf + k->used)
	{
		k->in_place += len;
		k->used += len;
	}
	memcpy(k->data + k->len, buf, len);
	k->len += len;
	return SB_OK;
}

static void
test_decode_into_space(void)
{
	const size_t len = 3 * MiB + 777;
	uint8_t    *data = gen_pgbench(len, 79);

	for (int t = 0; t < NDAMAGE; t++)
	{
		const Codec *c = &damage_codecs[t];

		for (int offer = 0; offer < 3; offer++)
		{
			SbFilter   *comp;
			SbFilter   *buf_sink = sb_filter_buffer_sink_new(2 * len);
			SpaceSink  *k = calloc(1, sizeof(SpaceSink));
			SbFilter   *count;
			SbFilter   *dec;
			const char *stored;
			size_t		stored_len;
			SbError		err;
			SbStatus	rc;

			SB_REQUIRE(buf_sink != NULL && k != NULL);
			comp = sb_filter_compress_new(c->type, c->level, buf_sink);
			SB_REQUIRE(comp != NULL);
			rc = sb_filter_write(comp, data, len, &err);
			if (rc == SB_OK)
				rc = sb_filter_finish(comp, &err);
			SB_REQUIRE(rc == SB_OK);
			stored = sb_filter_buffer_data(buf_sink, &stored_len);

			k->data = xmalloc(len + 1);
			/* none, 100 bytes at a time, up to 64 kB */
			k->offer = offer == 0 ? 0 : offer == 1 ? 100 : sizeof(k->buf);
			k->base.write = space_sink_write;
			k->base.finish = collect_finish;
			k->base.free = collect_free;
			k->base.space = space_sink_space;
			count = sb_filter_count_new(&k->base);
			dec = sb_filter_decompress_new(c->type, count);
			SB_REQUIRE(count != NULL && dec != NULL);
			for (size_t pos = 0; pos < stored_len && rc == SB_OK; pos += 5000)
				rc = sb_filter_write(dec, stored + pos,
									 stored_len - pos < 5000 ? stored_len - pos : 5000,
									 &err);
			if (rc == SB_OK)
				rc = sb_filter_finish(dec, &err);
			SB_CHECK_MSG(rc == SB_OK, "%s: %s", c->name, err.msg);
			SB_CHECK_MSG(same_bytes(k->data, k->len, data, len),
						 "%s, space of %zu: decoded bytes differ", c->name,
						 k->offer);
			if (offer == 0)
				SB_CHECK(k->in_place == 0);
			else
				SB_CHECK_MSG(k->in_place == len,
							 "%s, space of %zu: %zu of %zu bytes decoded in place",
							 c->name, k->offer, k->in_place, len);
			sb_filter_free_chain(dec);
			sb_filter_free_chain(comp);
			free(k->data);
			free(k);
		}
	}
	free(data);
}

static void
test_exists_and_replace(void)
{
	SbStorage  *st = new_storage();
	SbRepoConfig cfg;
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	const uint8_t *p;
	size_t		n;

	cfg_for(&cfg, &codecs[0]);
	rc = sb_codec_store_buffer(st, &cfg, "first", 5, "e/file", 0, &res, &err);
	SB_REQUIRE(rc == SB_OK);
	/* commit fails: existing file is kept, no writer leaks */
	rc = sb_codec_store_buffer(st, &cfg, "second", 6, "e/file", 0, &res, &err);
	SB_CHECK_MSG(rc == SB_ERR_EXISTS, "%s", sb_status_name(rc));
	p = sb_mem_storage_file(st, "e/file", &n);
	SB_CHECK(same_bytes(p, n, "first", 5));
	SB_CHECK(sb_mem_storage_open_handles(st) == 0);

	rc = sb_codec_store_buffer(st, &cfg, "second", 6, "e/file",
							   SB_WRITE_REPLACE, &res, &err);
	SB_CHECK(rc == SB_OK);
	p = sb_mem_storage_file(st, "e/file", &n);
	SB_CHECK(same_bytes(p, n, "second", 6));

	/* res may be NULL */
	rc = sb_codec_store_buffer(st, &cfg, "third", 5, "e/other", 0, NULL, &err);
	SB_CHECK(rc == SB_OK);

	/* invalid paths are refused by the entry points */
	rc = sb_codec_store_buffer(st, &cfg, "x", 1, "../escape", 0, &res, &err);
	SB_CHECK(rc == SB_ERR_CONFIG);
	rc = fetch_discard(st, "e//file", SB_COMPRESS_NONE, NULL, UINT64_MAX, &err);
	SB_CHECK(rc == SB_ERR_CONFIG);
	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	sb_mem_storage_free(st);
}

/*
 * Every level of every type round-trips; a level outside the type's range
 * is refused before anything is written, with the range in the hint.
 */
static void
test_levels(void)
{
	SbStorage  *st = new_storage();
	uint8_t    *data = gen_pgbench(300000, 5);
	static const SbCompressType types[] = {
		SB_COMPRESS_ZLIB, SB_COMPRESS_LZ4, SB_COMPRESS_ZSTD
	};

	for (int t = 0; t < 3; t++)
	{
		int			min;
		int			max;
		char		hint[64];
		SbRepoConfig cfg;
		Codec		c = {sb_compress_type_name(types[t]), types[t], 0};

		SB_REQUIRE(sb_compress_level_range(types[t], &min, &max));
		for (int level = min; level <= max; level++)
		{
			SbStoreResult res;
			SbError		err;
			SbStatus	rc;

			c.level = level;
			cfg_for(&cfg, &c);
			rc = sb_codec_store_buffer(st, &cfg, data, 300000, "l/file",
									   SB_WRITE_REPLACE, &res, &err);
			SB_CHECK_MSG(rc == SB_OK, "%s level %d: %s", c.name, level, err.msg);
			SB_CHECK_MSG(res.stored_size < 300000 / 2 || level == 0,
						 "%s level %d stored %llu bytes", c.name, level,
						 (unsigned long long) res.stored_size);
			SB_CHECK(fetch_discard(st, "l/file", types[t], res.digest, 300000,
								   &err) == SB_OK);
		}
		snprintf(hint, sizeof(hint), "Valid levels for %s are %d to %d.",
				 c.name, min, max);
		for (int k = 0; k < 2; k++)
		{
			SbStoreResult res;
			SbError		err;
			SbStatus	rc;

			c.level = k == 0 ? min - 1 : max + 1;
			cfg_for(&cfg, &c);
			rc = sb_codec_store_buffer(st, &cfg, data, 300000, "l/bad", 0,
									   &res, &err);
			SB_CHECK_MSG(rc == SB_ERR_CONFIG && strcmp(err.hint, hint) == 0 &&
						 strstr(err.msg, "outside the valid range") != NULL,
						 "%s level %d: %s (%s)", c.name, c.level, err.msg, err.hint);
			SB_CHECK(!file_exists(st, "l/bad"));
		}
	}
	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(data);
	sb_mem_storage_free(st);
}

/*
 * A file named by its digest, stored in one pass from a pipe: published as
 * prefix + digest + suffix, nothing under the provisional name; the same
 * content again is SB_ERR_EXISTS with the digest known; a failed write
 * leaves nothing; not offered for an encrypted stanza.
 */
static void
test_store_addressed(void)
{
	SbStorage  *st = new_storage();
	uint8_t    *data = gen_pgbench(700001, 77);
	char		hex[SB_SHA256_HEX_LEN + 1];
	char		final[128];
	SbRepoConfig cfg;
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;

	cfg_for(&cfg, &codecs[NCODECS - 1]);
	sb_sha256_hex(data, 700001, hex);
	snprintf(final, sizeof(final), "a/seg-%s.x", hex);
	SB_REQUIRE(sb_codec_can_store_addressed(st, SB_SIZE_UNKNOWN));

	rc = store_via_pipe_as(st, &cfg, data, 700001, "a/seg", "a/seg-", 0, &res,
						   &err);
	SB_CHECK_MSG(rc == SB_OK, "%s: %s", sb_status_name(rc), err.msg);
	SB_CHECK(strcmp(res.digest, hex) == 0 && res.plain_size == 700001);
	SB_CHECK(file_exists(st, final) && !file_exists(st, "a/seg"));
	SB_CHECK(fetch_discard(st, final, cfg.compress_type, hex, 700001, &err) == SB_OK);

	memset(&res, 0, sizeof(res));
	rc = store_via_pipe_as(st, &cfg, data, 700001, "a/seg", "a/seg-", 0, &res,
						   &err);
	SB_CHECK(rc == SB_ERR_EXISTS && strcmp(res.digest, hex) == 0);

	sb_mem_storage_fail_writes_after(st, 1000);
	rc = store_via_pipe_as(st, &cfg, data, 700000, "a/seg", "a/seg-", 0, &res,
						   &err);
	SB_CHECK(rc == SB_ERR_NO_SPACE || rc == SB_ERR_IO);
	sb_mem_storage_fail_writes_after(st, -1);
	SB_CHECK(sb_mem_storage_open_handles(st) == 0);

	st->cfg.cipher_type = SB_CIPHER_AES_256_GCM;
	SB_CHECK(!sb_codec_can_store_addressed(st, SB_SIZE_UNKNOWN));
	rc = store_via_pipe_as(st, &cfg, data, 700000, "a/seg", "a/seg-", 0, &res,
						   &err);
	SB_CHECK(rc == SB_ERR_INTERNAL);
	st->cfg.cipher_type = SB_CIPHER_NONE;
	SB_CHECK(file_exists(st, final) && !file_exists(st, "a/seg"));

	free(data);
	sb_mem_storage_free(st);
}

/* What the inspect callback of sb_codec_store_fd_inspect saw. */
typedef struct InspectLog
{
	int			calls;
	uint64_t	next_offset;	/* offsets must follow each other */
	bool		offsets_ok;
	int			fail_at;		/* call number that fails, 0 never */
} InspectLog;

static SbStatus
inspect_cb(void *arg, int fd, uint8_t *buf, size_t len, uint64_t offset,
		   SbError *err)
{
	InspectLog *log = arg;

	log->calls++;
	if (offset != log->next_offset ||
		(len != SB_CODEC_BUFSIZE && offset + len != SB_CODEC_BUFSIZE * 2 + 100))
		log->offsets_ok = false;
	log->next_offset = offset + len;
	if (log->calls == log->fail_at)
		return sb_error_set(err, SB_ERR_CORRUPT, "inspect refused chunk %d",
							log->calls);
	buf[0] = 'X';				/* rewrites reach the stored file */
	return SB_OK;
}

/* Every chunk is shown in order with its offset; an error abandons the store. */
static void
test_store_inspect(void)
{
	SbStorage  *st = new_storage();
	SbRepoConfig cfg;
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	char		path[128];
	char		hex[SB_SHA256_HEX_LEN + 1];
	size_t		len = SB_CODEC_BUFSIZE * 2 + 100;
	uint8_t    *data = gen_pgbench(len, 7);
	InspectLog	log;
	int			fd;

	cfg_for(&cfg, &codecs[1]);
	snprintf(path, sizeof(path), "%s/inspect-src", tmpdir);
	SB_REQUIRE(write_whole_file(path, data, len));

	memset(&log, 0, sizeof(log));
	log.offsets_ok = true;
	fd = open(path, O_RDONLY);
	SB_REQUIRE(fd >= 0);
	rc = sb_codec_store_fd_inspect(st, &cfg, fd, "i/ok.gz", 0, inspect_cb,
								   &log, &res, &err);
	close(fd);
	SB_CHECK(rc == SB_OK && log.calls == 3 && log.offsets_ok &&
			 log.next_offset == len);
	data[0] = data[SB_CODEC_BUFSIZE] = data[SB_CODEC_BUFSIZE * 2] = 'X';
	sb_sha256_hex(data, len, hex);
	SB_CHECK(strcmp(res.digest, hex) == 0);
	SB_CHECK(fetch_discard(st, "i/ok.gz", SB_COMPRESS_ZLIB, hex, len, &err) == SB_OK);

	memset(&log, 0, sizeof(log));
	log.offsets_ok = true;
	log.fail_at = 2;
	fd = open(path, O_RDONLY);
	SB_REQUIRE(fd >= 0);
	rc = sb_codec_store_fd_inspect(st, &cfg, fd, "i/refused.gz", 0, inspect_cb,
								   &log, &res, &err);
	close(fd);
	SB_CHECK(rc == SB_ERR_CORRUPT && strcmp(err.msg, "inspect refused chunk 2") == 0);
	SB_CHECK(log.calls == 2 && !file_exists(st, "i/refused.gz"));

	unlink(path);
	free(data);
	sb_storage_close(st);
	sb_storage_free(st);
}

/* What the inspect callback of a direct store saw. */
typedef struct DirectLog
{
	int			calls;
	uint64_t	next_offset;
	bool		in_order;		/* offsets follow each other, parts <= 256 kB */
	bool		aligned;		/* every part starts aligned for O_DIRECT */
	bool		saw_direct;		/* fd had O_DIRECT while it was read */
	bool		reread_ok;		/* a page read again into the part worked */
	int			fail_at;		/* call number that fails, 0 never */
} DirectLog;

static SbStatus
direct_cb(void *arg, int fd, uint8_t *buf, size_t len, uint64_t offset,
		  SbError *err)
{
	DirectLog  *log = arg;
	int			flags = fcntl(fd, F_GETFL);

	log->calls++;
	if (offset != log->next_offset || len == 0 || len > SB_CODEC_BUFSIZE)
		log->in_order = false;
	log->next_offset = offset + len;
	if (flags >= 0 && (flags & O_DIRECT))
	{
		log->saw_direct = true;
		if ((uintptr_t) buf % SB_ASYNC_ALIGN != 0)
			log->aligned = false;
		/* as page_verify.c reads a page again, into the part itself */
		if (len >= 8192 && pread(fd, buf, 8192, (off_t) offset) != 8192)
			log->reread_ok = false;
	}
	if (log->calls == log->fail_at)
		return sb_error_set(err, SB_ERR_CORRUPT, "inspect refused part %d",
							log->calls);
	return SB_OK;
}

/*
 * SB_WRITE_SOURCE_DIRECT with a writer thread: the file is read with
 * O_DIRECT (seen by inspect), in order, into aligned space, and stored the
 * same as through the page cache, whatever its size against the 1 MiB
 * buffers (several reads in flight, the ring of buffers wrapping).  The
 * descriptor's flags are as before afterwards; a pipe is read the usual
 * way; an error of inspect stops the store with reads still in flight.
 */
static void
test_store_direct(void)
{
	static const size_t sizes[] = {0, 100, 4096, 8192 * 3 + 512, MiB, MiB + 1,
	3 * MiB, 7 * MiB + 12345};
	SbStorage  *st = new_storage();
	SbRepoConfig cfg;
	char		path[128];
	uint8_t    *data = gen_pgbench(7 * MiB + 12345, 11);
	SbError		err;
	SbStatus	rc;

	cfg_for(&cfg, &codecs[6]);
	snprintf(path, sizeof(path), "%s/direct-src", tmpdir);
	for (int i = 0; i < (int) (sizeof(sizes) / sizeof(sizes[0])); i++)
	{
		SbStoreResult res;
		SbStoreResult plain;
		DirectLog	log;
		char		name[64];
		int			fd;
		int			flags_before;

		SB_REQUIRE(write_whole_file(path, data, sizes[i]));
		fd = open(path, O_RDONLY);
		SB_REQUIRE(fd >= 0);
		memset(&log, 0, sizeof(log));
		log.in_order = log.aligned = log.reread_ok = true;
		flags_before = fcntl(fd, F_GETFL);
		snprintf(name, sizeof(name), "d/direct-%d.zst", i);
		rc = sb_codec_store_fd_inspect(st, &cfg, fd, name,
									   SB_WRITE_OVERLAP | SB_WRITE_SOURCE_DIRECT,
									   direct_cb, &log, &res, &err);
		SB_CHECK_MSG(rc == SB_OK, "%zu bytes: %s", sizes[i], err.msg);
		SB_CHECK_MSG(fcntl(fd, F_GETFL) == flags_before,
					 "%zu bytes: flags not restored", sizes[i]);
		close(fd);
		SB_CHECK_MSG(log.in_order && log.next_offset == sizes[i],
					 "%zu bytes: parts out of order", sizes[i]);
		SB_CHECK_MSG(log.saw_direct || sizes[i] == 0,
					 "%zu bytes: not read with O_DIRECT", sizes[i]);
		SB_CHECK_MSG(log.aligned && log.reread_ok,
					 "%zu bytes: unaligned part", sizes[i]);
		SB_CHECK(res.plain_size == sizes[i]);

		/* the same digest and content as read through the page cache */
		fd = open(path, O_RDONLY);
		SB_REQUIRE(fd >= 0);
		snprintf(name, sizeof(name), "d/plain-%d.zst", i);
		rc = sb_codec_store_fd(st, &cfg, fd, name, 0, &plain, &err);
		close(fd);
		SB_REQUIRE(rc == SB_OK);
		SB_CHECK_MSG(strcmp(res.digest, plain.digest) == 0,
					 "%zu bytes: digest differs", sizes[i]);
		snprintf(name, sizeof(name), "d/direct-%d.zst", i);
		SB_CHECK(fetch_discard(st, name, SB_COMPRESS_ZSTD, res.digest,
							   sizes[i], &err) == SB_OK);
	}

	/* an error of inspect with reads in flight: nothing stored, no leak */
	{
		DirectLog	log;
		int			fd = open(path, O_RDONLY);
		SbStoreResult res;

		SB_REQUIRE(fd >= 0);
		memset(&log, 0, sizeof(log));
		log.in_order = log.aligned = log.reread_ok = true;
		log.fail_at = 6;
		rc = sb_codec_store_fd_inspect(st, &cfg, fd, "d/refused.zst",
									   SB_WRITE_OVERLAP | SB_WRITE_SOURCE_DIRECT,
									   direct_cb, &log, &res, &err);
		SB_CHECK(rc == SB_ERR_CORRUPT && log.calls == 6);
		SB_CHECK(!(fcntl(fd, F_GETFL) & O_DIRECT));
		close(fd);
		SB_CHECK(!file_exists(st, "d/refused.zst"));
		SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	}

	/* a pipe is not read direct: the usual way, whole */
	{
		int			pfd[2];
		pid_t		pid;
		DirectLog	log;
		SbStoreResult res;
		SbStoreResult plain;
		size_t		len = 3 * MiB + 7;

		SB_REQUIRE(pipe(pfd) == 0);
		pid = fork();
		SB_REQUIRE(pid >= 0);
		if (pid == 0)
		{
			size_t		done = 0;

			close(pfd[0]);
			while (done < len)
			{
				ssize_t		n = write(pfd[1], data + done, len - done);

				if (n <= 0)
					_exit(1);
				done += (size_t) n;
			}
			_exit(0);
		}
		close(pfd[1]);
		memset(&log, 0, sizeof(log));
		log.in_order = log.aligned = log.reread_ok = true;
		rc = sb_codec_store_fd_inspect(st, &cfg, pfd[0], "d/pipe.zst",
									   SB_WRITE_OVERLAP | SB_WRITE_SOURCE_DIRECT,
									   direct_cb, &log, &res, &err);
		close(pfd[0]);
		waitpid(pid, NULL, 0);
		SB_CHECK_MSG(rc == SB_OK, "pipe: %s", err.msg);
		SB_CHECK(!log.saw_direct && log.next_offset == len);
		rc = sb_codec_store_buffer(st, &cfg, data, len, "d/pipe-plain.zst", 0,
								   &plain, &err);
		SB_REQUIRE(rc == SB_OK);
		SB_CHECK(strcmp(res.digest, plain.digest) == 0);
	}

	unlink(path);
	free(data);
	sb_storage_close(st);
	sb_storage_free(st);
}

static void
test_config_and_source_errors(void)
{
	SbStorage  *st = new_storage();
	SbRepoConfig cfg;
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	int			fd;
	SbFilter   *f;

	/* invalid compression level or type: nothing is written */
	cfg_for(&cfg, &codecs[2]);
	cfg.compress_level = 10;
	rc = sb_codec_store_buffer(st, &cfg, "abc", 3, "x/level", 0, &res, &err);
	SB_CHECK(rc == SB_ERR_CONFIG && err.hint[0] != '\0');
	cfg.compress_level = -1;
	rc = sb_codec_store_buffer(st, &cfg, "abc", 3, "x/level", 0, &res, &err);
	SB_CHECK(rc == SB_ERR_CONFIG);
	cfg.compress_level = 6;
	cfg.compress_type = (SbCompressType) 9;
	rc = sb_codec_store_buffer(st, &cfg, "abc", 3, "x/type", 0, &res, &err);
	SB_CHECK(rc == SB_ERR_CONFIG);
	SB_CHECK(!file_exists(st, "x/level") && !file_exists(st, "x/type"));

	/* level 0 (stored blocks) is valid, and still gzip */
	cfg_for(&cfg, &codecs[2]);
	cfg.compress_level = 0;
	rc = sb_codec_store_buffer(st, &cfg, "abcabcabc", 9, "x/zero.gz", 0, &res,
							   &err);
	SB_CHECK(rc == SB_OK && res.stored_size > 9);
	SB_CHECK(fetch_discard(st, "x/zero.gz", SB_COMPRESS_ZLIB, res.digest, 9,
						   &err) == SB_OK);

	/* the filter constructor clamps levels; unknown type fails on use */
	f = sb_filter_compress_new(SB_COMPRESS_ZLIB, 42, NULL);
	SB_REQUIRE(f != NULL);
	SB_CHECK(sb_filter_write(f, "abc", 3, &err) == SB_OK);
	SB_CHECK(sb_filter_finish(f, &err) == SB_OK);
	SB_CHECK(sb_filter_finish(f, &err) == SB_ERR_INTERNAL);	/* only once */
	sb_filter_free_chain(f);
	f = sb_filter_compress_new((SbCompressType) 7, 6, NULL);
	SB_REQUIRE(f != NULL);
	SB_CHECK(sb_filter_write(f, "abc", 3, &err) == SB_ERR_CONFIG);
	SB_CHECK(sb_filter_finish(f, &err) == SB_ERR_CONFIG);
	sb_filter_free_chain(f);
	f = sb_filter_decompress_new((SbCompressType) 7, NULL);
	SB_REQUIRE(f != NULL);
	SB_CHECK(sb_filter_finish(f, &err) == SB_ERR_CONFIG);
	sb_filter_free_chain(f);

	/* decompress filter without a file name */
	f = sb_filter_decompress_new(SB_COMPRESS_ZLIB, NULL);
	SB_REQUIRE(f != NULL);
	SB_CHECK(sb_filter_write(f, "not gzip at all", 15, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strncmp(err.msg, "could not decompress data: ", 27) == 0);
	sb_filter_free_chain(f);

	/* unreadable source: a directory */
	fd = open(tmpdir, O_RDONLY);
	SB_REQUIRE(fd >= 0);
	cfg_for(&cfg, &codecs[1]);
	rc = sb_codec_store_fd(st, &cfg, fd, "x/dir.gz", 0, &res, &err);
	SB_CHECK_MSG(rc == SB_ERR_IO && strstr(err.msg, "x/dir.gz") != NULL,
				 "%s: %s", sb_status_name(rc), err.msg);
	SB_CHECK(!file_exists(st, "x/dir.gz"));
	close(fd);

	/* store_fd from a regular file */
	{
		char		path[128];
		uint8_t    *data = gen_pgbench(SB_CODEC_BUFSIZE * 3 + 11, 51);
		char		hex[SB_SHA256_HEX_LEN + 1];
		bool		ok;

		snprintf(path, sizeof(path), "%s/src", tmpdir);
		ok = write_whole_file(path, data, SB_CODEC_BUFSIZE * 3 + 11);
		SB_REQUIRE(ok);
		fd = open(path, O_RDONLY);
		SB_REQUIRE(fd >= 0);
		rc = sb_codec_store_fd(st, &cfg, fd, "x/file.gz", 0, &res, &err);
		close(fd);
		unlink(path);
		sb_sha256_hex(data, SB_CODEC_BUFSIZE * 3 + 11, hex);
		SB_CHECK(rc == SB_OK && strcmp(res.digest, hex) == 0 &&
				 res.plain_size == SB_CODEC_BUFSIZE * 3 + 11);
		SB_CHECK(fetch_discard(st, "x/file.gz", SB_COMPRESS_ZLIB, hex,
							   SB_CODEC_BUFSIZE * 3 + 11, &err) == SB_OK);
		free(data);
	}

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	sb_mem_storage_free(st);
}

/* Does the file system of tmpdir take O_DIRECT at all? */
static bool
tmpdir_takes_direct(void)
{
	char		path[128];
	int			fd;

	snprintf(path, sizeof(path), "%s/direct.probe", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0)
		return false;
	close(fd);
	unlink(path);
	return true;
}

/*
 * The O_DIRECT sink: files of every size around its 4 kB alignment and its
 * 1 MiB buffer come out byte for byte, written in odd-sized pieces; direct
 * where the file system takes O_DIRECT, buffered from an unaligned start.
 */
static void
test_direct_sink(void)
{
	static const size_t sizes[] = {
		0, 1, 4095, 4096, 4097, 8191, 1024 * 1024 - 1, 1024 * 1024,
		1024 * 1024 + 1, 1024 * 1024 + 4096, 3 * 1024 * 1024 + 12345,
		4 * 1024 * 1024, 9 * 1024 * 1024 + 4096, 11 * 1024 * 1024 + 12345
	};
	size_t		max = 11 * 1024 * 1024 + 12345;
	uint8_t    *data = gen_random(max, 71);
	char		path[128];
	bool		fs_direct = tmpdir_takes_direct();
	int			fd;

	SB_REQUIRE(data != NULL);
	if (!fs_direct)
		printf("note: %s does not take O_DIRECT: the direct sink is tested buffered\n", tmpdir);

	for (int start = 0; start < 2; start++)
	{
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		{
			size_t		n = sizes[i];
			SbFilter   *sink;
			SbError		err;
			uint8_t    *got;
			size_t		got_len;
			bool		ok = true;

			memset(&err, 0, sizeof(err));
			snprintf(path, sizeof(path), "%s/direct.out", tmpdir);
			fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
			SB_REQUIRE(fd >= 0);
			/* the second round starts 10 bytes in: never direct */
			if (start == 1)
				SB_REQUIRE(write(fd, "0123456789", 10) == 10);
			/* announced large (the size only decides direct or not) */
			sink = sb_filter_direct_sink_new(fd, SB_DIRECT_MIN_SIZE);
			SB_REQUIRE(sink != NULL);
			SB_CHECK_MSG(sb_filter_direct_sink_is_direct(sink) == (fs_direct && start == 0),
						 "size %zu, start %d: direct %d", n, start,
						 (int) sb_filter_direct_sink_is_direct(sink));
			for (size_t off = 0; off < n && ok; off += 7001)
				ok = sb_filter_write(sink, data + off, n - off < 7001 ? n - off : 7001,
									 &err) == SB_OK;
			SB_CHECK_MSG(ok, "size %zu: %s", n, err.msg);
			SB_CHECK_MSG(sb_filter_finish(sink, &err) == SB_OK, "size %zu: %s", n, err.msg);
			/* the file position where a descriptor sink leaves it */
			SB_CHECK_MSG(lseek(fd, 0, SEEK_CUR) == (off_t) (n + (start ? 10 : 0)),
						 "size %zu, start %d: at %lld", n, start,
						 (long long) lseek(fd, 0, SEEK_CUR));
			/* O_DIRECT is off again once finished */
			SB_CHECK(!sb_filter_direct_sink_is_direct(sink));
			SB_CHECK((fcntl(fd, F_GETFL) & O_DIRECT) == 0);
			sink->free(sink);
			close(fd);
			got = read_whole_file(path, &got_len);
			SB_CHECK_MSG(got != NULL && got_len == n + (start ? 10 : 0) &&
						 memcmp(got + (start ? 10 : 0), data, n) == 0,
						 "size %zu, start %d: %zu bytes read back, content %s", n, start,
						 got ? got_len : 0,
						 got && got_len == n + (start ? 10 : 0) &&
						 memcmp(got + (start ? 10 : 0), data, n) == 0 ? "equal" : "differs");
			free(got);
			unlink(path);
		}
	}

	/* freed with writes in flight: they are waited for, nothing leaks */
	snprintf(path, sizeof(path), "%s/direct.abandoned", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	SB_REQUIRE(fd >= 0);
	{
		SbFilter   *sink = sb_filter_direct_sink_new(fd, SB_DIRECT_MIN_SIZE);
		SbError		err;

		SB_REQUIRE(sink != NULL);
		SB_CHECK(sb_filter_write(sink, data, 3 * 1024 * 1024 + 5, &err) == SB_OK);
		sink->free(sink);
		close(fd);
		unlink(path);
	}

	/* a file announced smaller than SB_DIRECT_MIN_SIZE goes through the page cache */
	snprintf(path, sizeof(path), "%s/direct.small", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	SB_REQUIRE(fd >= 0);
	{
		SbFilter   *sink = sb_filter_direct_sink_new(fd, SB_DIRECT_MIN_SIZE - 1);
		SbError		err;
		uint8_t    *got;
		size_t		got_len;

		SB_REQUIRE(sink != NULL);
		SB_CHECK(!sb_filter_direct_sink_is_direct(sink));
		SB_CHECK((fcntl(fd, F_GETFL) & O_DIRECT) == 0);
		SB_CHECK(sb_filter_write(sink, data, 5000, &err) == SB_OK &&
				 sb_filter_finish(sink, &err) == SB_OK);
		sink->free(sink);
		close(fd);
		got = read_whole_file(path, &got_len);
		SB_CHECK(got != NULL && same_bytes(got, got_len, data, 5000));
		free(got);
		unlink(path);
	}

	/* disk full: the error is returned, by write or by finish */
	fd = open("/dev/full", O_WRONLY);
	if (fd >= 0)
	{
		SbFilter   *sink = sb_filter_direct_sink_new(fd, SB_DIRECT_MIN_SIZE);
		SbError		err;
		SbStatus	rc;

		SB_REQUIRE(sink != NULL);
		rc = sb_filter_write(sink, data, 2 * 1024 * 1024, &err);
		if (rc == SB_OK)
			rc = sb_filter_finish(sink, &err);
		SB_CHECK_MSG(rc == SB_ERR_NO_SPACE && err.sys_errno == ENOSPC,
					 "%s: %s", sb_status_name(rc), err.msg);
		sink->free(sink);
		close(fd);
	}
	free(data);
}

/*
 * The ring of direct requests, io_uring (where the kernel gives one) and
 * native AIO: 1 MiB writes and reads, several in flight, handed back in
 * the order asked; released with writes in flight, it waits for them
 * before the caller reuses their buffers (zeroed here right after).
 */
static void
test_aio_ring_kind(bool native, bool fs_direct)
{
	const size_t chunk = 1024 * 1024;
	const int	nchunks = 12;
	uint8_t    *data = gen_random(chunk * nchunks, native ? 83 : 89);
	uint8_t    *bufs[SB_AIO_MAX_DEPTH];
	char		path[128];
	SbAioRing	r;
	int			fd;
	int			e;
	int			next = 0;
	uint8_t    *got;
	size_t		got_len;

	SB_REQUIRE(data != NULL);
	for (int i = 0; i < SB_AIO_MAX_DEPTH; i++)
		SB_REQUIRE(posix_memalign((void **) &bufs[i], 4096, chunk) == 0);
	snprintf(path, sizeof(path), "%s/aio.out", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | (fs_direct ? O_DIRECT : 0), 0600);
	SB_REQUIRE(fd >= 0);
	e = native ? sb_aio_ring_init_native(&r, fd, 4) : sb_aio_ring_init(&r, fd, 4);
	if (e != 0)
	{
		printf("note: no %s here (%s): not tested\n", native ? "native AIO" : "AIO ring",
			   strerror(e));
		goto out;
	}
	if (!native)
	{
		struct io_uring probe;
		bool		have_uring = io_uring_queue_init(4, &probe, 0) == 0;

		if (have_uring)
			io_uring_queue_exit(&probe);
		SB_CHECK_MSG(r.use_uring == have_uring, "io_uring %s, ring uses it: %d",
					 have_uring ? "available" : "refused", (int) r.use_uring);
	}
	else
		SB_CHECK(!r.use_uring);

	/* the first 8 chunks: 4 in flight, each waited for in order */
	for (int done = 0; done < 8;)
	{
		SbAioOp    *op;

		while (next < 8 && r.count < 4)
		{
			memcpy(bufs[next % 4], data + (size_t) next * chunk, chunk);
			SB_REQUIRE(sb_aio_ring_submit(&r, true, bufs[next % 4], chunk,
										  (uint64_t) next * chunk) == 0);
			next++;
		}
		if (r.count == 4)
			SB_CHECK(sb_aio_ring_submit(&r, true, bufs[4], chunk, 0) == EAGAIN);
		op = sb_aio_ring_wait_first(&r, &e);
		SB_REQUIRE(op != NULL);
		SB_CHECK_MSG(op->offset == (uint64_t) done * chunk && op->result == (long long) chunk,
					 "write %d: offset %llu, result %lld", done,
					 (unsigned long long) op->offset, op->result);
		sb_aio_ring_pop(&r);
		done++;
	}
	/* the last 4 in flight when the ring is released */
	for (; next < nchunks; next++)
	{
		memcpy(bufs[next % 4], data + (size_t) next * chunk, chunk);
		SB_REQUIRE(sb_aio_ring_submit(&r, true, bufs[next % 4], chunk,
									  (uint64_t) next * chunk) == 0);
	}
	sb_aio_ring_destroy(&r);
	for (int i = 0; i < 4; i++)
		memset(bufs[i], 0, chunk);
	got = read_whole_file(path, &got_len);
	SB_CHECK_MSG(got != NULL && same_bytes(got, got_len, data, chunk * nchunks),
				 "%s: %zu bytes read back, content %s", native ? "native" : "default",
				 got ? got_len : 0,
				 got && same_bytes(got, got_len, data, chunk * nchunks) ? "equal" : "differs");
	free(got);

	/* read back through a ring, 3 in flight, the last one short (EOF) */
	e = native ? sb_aio_ring_init_native(&r, fd, 3) : sb_aio_ring_init(&r, fd, 3);
	SB_REQUIRE(e == 0);
	next = 0;
	for (int done = 0; done <= nchunks;)
	{
		SbAioOp    *op;
		long long	want = done < nchunks ? (long long) chunk : 0;

		while (next <= nchunks && r.count < 3)
		{
			SB_REQUIRE(sb_aio_ring_submit(&r, false, bufs[next % 3], chunk,
										  (uint64_t) next * chunk) == 0);
			next++;
		}
		op = sb_aio_ring_wait_first(&r, &e);
		SB_REQUIRE(op != NULL);
		SB_CHECK_MSG(op->offset == (uint64_t) done * chunk && op->result == want &&
					 (want == 0 || memcmp(op->buf, data + (size_t) done * chunk, chunk) == 0),
					 "read %d: offset %llu, result %lld", done,
					 (unsigned long long) op->offset, op->result);
		sb_aio_ring_pop(&r);
		done++;
	}
	sb_aio_ring_destroy(&r);
out:
	close(fd);
	unlink(path);
	for (int i = 0; i < SB_AIO_MAX_DEPTH; i++)
		free(bufs[i]);
	free(data);
}

static void
test_aio_ring(void)
{
	bool		fs_direct = tmpdir_takes_direct();

	test_aio_ring_kind(false, fs_direct);
	test_aio_ring_kind(true, fs_direct);
}

static void
test_fd_sink_errors(void)
{
	SbFilter   *sink;
	SbError		err;
	SbStatus	rc;
	int			fd;
	uint8_t    *buf = calloc(1, 100000);

	SB_REQUIRE(buf != NULL);

	/* disk full */
	fd = open("/dev/full", O_WRONLY);
	if (fd >= 0)
	{
		sink = sb_filter_fd_sink_new(fd);
		rc = sb_filter_write(sink, buf, 100000, &err);
		SB_CHECK_MSG(rc == SB_ERR_NO_SPACE && err.sys_errno == ENOSPC,
					 "%s: %s", sb_status_name(rc), err.msg);
		sink->free(sink);
		close(fd);
	}
	else
		printf("skipping /dev/full test: %s\n", strerror(errno));

	/* a closed descriptor */
	fd = open("/dev/null", O_WRONLY);
	SB_REQUIRE(fd >= 0);
	close(fd);
	sink = sb_filter_fd_sink_new(fd);
	rc = sb_filter_write(sink, buf, 10, &err);
	SB_CHECK(rc == SB_ERR_IO && err.sys_errno == EBADF);
	/* finish does nothing (and no fsync) */
	SB_CHECK(sb_filter_finish(sink, &err) == SB_OK);
	sink->free(sink);

	/*
	 * A file written past the writeback step (8 MiB) from an offset other
	 * than 0: every byte lands where it belongs
	 */
	{
		char		path[128];
		size_t		n = 20 * 1024 * 1024 + 3;
		uint8_t    *data = gen_random(n, 67);
		uint8_t    *got;
		size_t		got_len;

		snprintf(path, sizeof(path), "%s/writeback.out", tmpdir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		SB_REQUIRE(fd >= 0 && data != NULL);
		SB_REQUIRE(write(fd, "0123456789", 10) == 10);
		sink = sb_filter_fd_sink_new(fd);
		SB_REQUIRE(sink != NULL);
		for (size_t off = 0; off < n; off += 1000003)
			SB_CHECK(sb_filter_write(sink, data + off, n - off < 1000003 ? n - off : 1000003,
									 &err) == SB_OK);
		SB_CHECK(sb_filter_finish(sink, &err) == SB_OK);
		sink->free(sink);
		SB_CHECK(fsync(fd) == 0);
		close(fd);
		got = read_whole_file(path, &got_len);
		SB_CHECK(got != NULL && got_len == n + 10 && memcmp(got, "0123456789", 10) == 0 &&
				 memcmp(got + 10, data, n) == 0);
		free(got);
		free(data);
		unlink(path);
	}

	/* a pipe: partial writes are continued */
	{
		int			fds[2];
		char		path[128];
		uint8_t    *data = gen_random(3 * 65536 + 5, 61);
		uint8_t    *got;
		size_t		got_len;
		pid_t		pid;

		snprintf(path, sizeof(path), "%s/pipe.out", tmpdir);
		rc = pipe(fds) == 0 ? SB_OK : SB_ERR_IO;
		SB_REQUIRE(rc == SB_OK);
		fflush(NULL);
		pid = fork();
		SB_REQUIRE(pid >= 0);
		if (pid == 0)
		{
			char		cmd[256];

			close(fds[1]);
			dup2(fds[0], 0);
			close(fds[0]);
			snprintf(cmd, sizeof(cmd), "cat > '%s'", path);
			execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
			_exit(127);
		}
		close(fds[0]);
		sink = sb_filter_fd_sink_new(fds[1]);
		rc = sb_filter_write(sink, data, 3 * 65536 + 5, &err);
		SB_CHECK(rc == SB_OK);
		sink->free(sink);
		close(fds[1]);
		waitpid(pid, NULL, 0);
		got = read_whole_file(path, &got_len);
		SB_CHECK(same_bytes(got, got_len, data, 3 * 65536 + 5));
		free(got);
		free(data);
		unlink(path);
	}

	/*
	 * A short write: with RLIMIT_FSIZE set, write() stores what fits and
	 * returns a short count; the sink must go on and then report EFBIG as
	 * no space.  Done in a child, since the limit is process-wide; the
	 * child answers through a pipe because valgrind may rewrite its exit
	 * status.
	 */
	{
		char		path[128];
		pid_t		pid;
		int			fds[2];
		char		answer = '?';
		struct stat sb;

		snprintf(path, sizeof(path), "%s/limited", tmpdir);
		rc = pipe(fds) == 0 ? SB_OK : SB_ERR_IO;
		SB_REQUIRE(rc == SB_OK);
		fflush(NULL);
		pid = fork();
		SB_REQUIRE(pid >= 0);
		if (pid == 0)
		{
			struct rlimit rl;

			close(fds[0]);
			signal(SIGXFSZ, SIG_IGN);
			getrlimit(RLIMIT_FSIZE, &rl);
			rl.rlim_cur = 65536 + 7;
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || fd < 0)
				answer = 's';
			else
			{
				sink = sb_filter_fd_sink_new(fd);
				rc = sb_filter_write(sink, buf, 100000, &err);
				answer = (rc == SB_ERR_NO_SPACE && err.sys_errno == EFBIG) ?
					'y' : 'n';
				sink->free(sink);
				close(fd);
			}
			free(buf);
			if (write(fds[1], &answer, 1) != 1)
				_exit(1);
			_exit(0);
		}
		close(fds[1]);
		if (read(fds[0], &answer, 1) != 1)
			answer = '?';
		close(fds[0]);
		waitpid(pid, NULL, 0);
		SB_CHECK_MSG(answer == 'y', "short-write child answered '%c'", answer);
		SB_CHECK(stat(path, &sb) == 0 && sb.st_size == 65536 + 7);
		unlink(path);
	}
	free(buf);
}

/* ---- interrupted system calls ---- */

static volatile sig_atomic_t alarms;

static void
on_alarm(int signo)
{
	(void) signo;
	alarms++;
}

static void
block_alarm_in_this_thread(void)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void
nap_us(long us)
{
	struct timespec ts = {0, us * 1000};

	nanosleep(&ts, NULL);
}

/*
 * Hold the main thread in its blocking call until it has taken at least
 * ALARMS_WANTED signals since "since" (at most 10 s): the helper threads
 * block SIGALRM, so every alarm interrupts the main thread, and the count
 * the test checks never depends on how fast the machine is.
 */
#define ALARMS_WANTED 6

static void
wait_for_alarms(int since)
{
	for (int i = 0; i < 10000 && alarms - since < ALARMS_WANTED; i++)
		nap_us(1000);
}

/* Feed a pipe slowly, so that the main thread sits in read(). */
static void *
slow_feeder(void *arg)
{
	PipeFeed   *pf = arg;
	size_t		off = 0;
	int			since = alarms;
	bool		waited = false;

	block_alarm_in_this_thread();
	while (off < pf->len)
	{
		size_t		n = pf->len - off < 1000 ? pf->len - off : 1000;
		ssize_t		w;

		/* the main thread waits for more data in read() meanwhile */
		if (off > 0 && !waited)
		{
			wait_for_alarms(since);
			waited = true;
		}
		w = write(pf->fd, pf->data + off, n);
		if (w < 0)
			break;
		off += (size_t) w;
		nap_us(300);
	}
	close(pf->fd);
	return NULL;
}

/* Drain a pipe in bursts into a buffer, so that the main thread sits in write(). */
typedef struct PipeDrain
{
	int			fd;
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} PipeDrain;

static void *
slow_drainer(void *arg)
{
	PipeDrain  *pd = arg;
	int			since = alarms;

	block_alarm_in_this_thread();
	/* the main thread fills the pipe and waits in write() meanwhile */
	wait_for_alarms(since);
	for (;;)
	{
		ssize_t		n;

		if (pd->len == pd->cap)
			break;
		/*
		 * Long pauses, then empty the pipe: the writer then finds it full
		 * and is interrupted before writing anything (EINTR), not only
		 * after a partial write.
		 */
		nap_us(3000);
		n = read(pd->fd, pd->data + pd->len,
				 pd->cap - pd->len < 1048576 ? pd->cap - pd->len : 1048576);
		if (n <= 0)
			break;
		pd->len += (size_t) n;
	}
	close(pd->fd);
	return NULL;
}

static void
test_eintr(void)
{
	struct sigaction sa;
	struct itimerval it;
	const size_t len = 200 * 1000;
	uint8_t    *data = gen_mixed(len, 71);
	SbStorage  *st = new_storage();
	SbRepoConfig cfg;
	SbStoreResult res;
	SbError		err;
	SbStatus	rc;
	char		hex[SB_SHA256_HEX_LEN + 1];
	int			fds[2];
	pthread_t	th;
	int			before;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0;			/* no SA_RESTART: blocked calls get EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_usec = 700;
	it.it_value.tv_usec = 700;
	setitimer(ITIMER_REAL, &it, NULL);

	/* source reads interrupted */
	{
		PipeFeed	pf;

		rc = pipe(fds) == 0 ? SB_OK : SB_ERR_IO;
		SB_REQUIRE(rc == SB_OK);
		pf.fd = fds[1];
		pf.data = data;
		pf.len = len;
		before = alarms;
		pthread_create(&th, NULL, slow_feeder, &pf);
		cfg_for(&cfg, &codecs[1]);
		rc = sb_codec_store_fd(st, &cfg, fds[0], "i/file.gz", 0, &res, &err);
		close(fds[0]);
		pthread_join(th, NULL);
		sb_sha256_hex(data, len, hex);
		SB_CHECK_MSG(rc == SB_OK, "%s: %s", sb_status_name(rc), err.msg);
		SB_CHECK(rc == SB_OK && strcmp(res.digest, hex) == 0);
		SB_CHECK_MSG(alarms - before >= ALARMS_WANTED, "only %d signals arrived",
					 (int) (alarms - before));
	}

	/* fd sink writes interrupted */
	{
		PipeDrain	pd;
		SbFilter   *sink;

		rc = pipe(fds) == 0 ? SB_OK : SB_ERR_IO;
		SB_REQUIRE(rc == SB_OK);
		pd.fd = fds[0];
		pd.data = xmalloc(len);
		pd.len = 0;
		pd.cap = len;
		before = alarms;
		pthread_create(&th, NULL, slow_drainer, &pd);
		sink = sb_filter_fd_sink_new(fds[1]);
		rc = sb_codec_fetch(st, "i/file.gz", SB_COMPRESS_ZLIB, sink, hex, len,
							NULL, &err);
		sink->free(sink);
		close(fds[1]);
		pthread_join(th, NULL);
		SB_CHECK_MSG(rc == SB_OK, "%s: %s", sb_status_name(rc), err.msg);
		SB_CHECK(same_bytes(pd.data, pd.len, data, len));
		SB_CHECK_MSG(alarms - before >= ALARMS_WANTED, "only %d signals arrived",
					 (int) (alarms - before));
		free(pd.data);
	}

	/*
	 * Disarm, then ignore rather than restore the default action: an alarm
	 * still pending (valgrind delivers signals late) must not kill us.
	 */
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &sa, NULL);
	free(data);
	sb_mem_storage_free(st);
}

/* Remove the scratch directory, also after an early exit(). */
/* ----------------------------------------------------------------
 *		Seekable files and ranged fetch (SB_WRITE_SEEKABLE,
 *		sb_codec_fetch_range)
 * ----------------------------------------------------------------
 */

static const Codec seek_codecs[] = {
	{"none", SB_COMPRESS_NONE, 0},
	{"lz4-1", SB_COMPRESS_LZ4, 1},
	{"zstd-1", SB_COMPRESS_ZSTD, 1},
};
#define NSEEK ((int) (sizeof(seek_codecs) / sizeof(seek_codecs[0])))

/* 5 whole frames and a part: 6 frames */
#define SEEK_LEN	((size_t) (5 * SB_SEEK_FRAME_SIZE + 3 * 128 * 1024 + 12345))

static uint32_t
le32_at(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static void
le32_set(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/*
 * Fetch [offset, offset + len) of path; check it starts where it says, at
 * a frame's start (compressed) or at offset (none), covers the range, and
 * equals data.
 */
static SbStatus
check_range(SbStorage *st, const Codec *c, const char *path,
			uint64_t stored_size, const uint8_t *data, size_t plain_len,
			uint64_t offset, uint64_t len, SbError *err)
{
	SbFilter   *sink = sb_filter_buffer_sink_new(plain_len);
	uint64_t	got_offset = UINT64_MAX;
	const char *got;
	size_t		got_len = 0;
	uint64_t	end = offset + len > plain_len ? plain_len : offset + len;
	SbStatus	rc;

	if (sink == NULL)
		return sb_error_oom(err);
	rc = sb_codec_fetch_range(st, path, c->type, stored_size, plain_len,
							  offset, len, sink, &got_offset, err);
	if (rc != SB_OK)
	{
		sink->free(sink);
		return rc;
	}
	got = sb_filter_buffer_data(sink, &got_len);
	if (offset >= plain_len || len == 0)
		SB_CHECK_MSG(got_len == 0, "%s: range %" PRIu64 "+%" PRIu64 " (empty or past the end) gave %zu bytes",
					 c->name, offset, len, got_len);
	else if (c->type == SB_COMPRESS_NONE)
		SB_CHECK_MSG(got_offset == offset && got_len == end - offset &&
					 memcmp(got, data + offset, got_len) == 0,
					 "%s: range %" PRIu64 "+%" PRIu64 ": got %zu bytes at %" PRIu64,
					 c->name, offset, len, got_len, got_offset);
	else
	{
		/* exactly the frames covering the range: from the one offset is in */
		uint64_t	frames_end = (end + SB_SEEK_FRAME_SIZE - 1) /
			SB_SEEK_FRAME_SIZE * SB_SEEK_FRAME_SIZE;

		if (frames_end > plain_len)
			frames_end = plain_len;
		SB_CHECK_MSG(got_offset == offset - offset % SB_SEEK_FRAME_SIZE &&
					 got_offset + got_len == frames_end &&
					 (got_len == 0 || memcmp(got, data + got_offset, got_len) == 0),
					 "%s: range %" PRIu64 "+%" PRIu64 ": got %zu bytes at %" PRIu64,
					 c->name, offset, len, got_len, got_offset);
	}
	sink->free(sink);
	return SB_OK;
}

/* Store data seekable under path; res filled. */
static void
store_seekable(SbStorage *st, const Codec *c, const uint8_t *data, size_t len,
			   const char *path, int flags, SbStoreResult *res)
{
	SbRepoConfig cfg;
	SbError		err;
	SbStatus	rc;

	cfg_for(&cfg, c);
	rc = sb_codec_store_buffer(st, &cfg, data, len, path,
							   SB_WRITE_REPLACE | flags, res, &err);
	SB_CHECK_MSG(rc == SB_OK, "%s: store %s: %s", c->name, path, err.msg);
}

/* Random ranges, ranges at and across frame boundaries, the ends. */
static void
check_ranges(SbStorage *st, const Codec *c, const char *path,
			 uint64_t stored_size, const uint8_t *data, size_t len,
			 int nrandom, uint64_t seed)
{
	uint64_t	s = seed | 1;
	const uint64_t F = SB_SEEK_FRAME_SIZE;
	const uint64_t fixed[][2] = {
		{0, 1}, {0, F}, {0, F + 1}, {F - 1, 1}, {F - 1, 2}, {F, 1},
		{F, F}, {2 * F - 8192, 16384}, {3 * F + 5, 2 * F}, {0, len},
		{len - 1, 1}, {len - 1, 100}, {5 * F, 1}, {len, 1}, {len + 10, 5},
		{4 * F - 128 * 1024, 128 * 1024}, {0, 0}, {2 * F, 0},
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
	{
		SbError		err;
		SbStatus	rc = check_range(st, c, path, stored_size, data, len,
									 fixed[i][0], fixed[i][1], &err);

		SB_CHECK_MSG(rc == SB_OK, "%s: range %" PRIu64 "+%" PRIu64 ": %s: %s: %s",
					 c->name, fixed[i][0], fixed[i][1], sb_status_name(rc),
					 err.msg, err.detail);
	}
	for (int i = 0; i < nrandom; i++)
	{
		uint64_t	off = rng_next(&s) % len;
		uint64_t	n = 1 + rng_next(&s) % (2 * F);
		SbError		err;
		SbStatus	rc = check_range(st, c, path, stored_size, data, len,
									 off, n, &err);

		SB_CHECK_MSG(rc == SB_OK, "%s: range %" PRIu64 "+%" PRIu64 ": %s: %s",
					 c->name, off, n, sb_status_name(rc), err.msg);
	}
}

/*
 * mode 0: the codec's 256 kB writes stream each frame through the
 * library; SB_WRITE_OVERLAP: the writer thread's 1 MiB buffers hand each
 * frame over whole, compressed by one call (filter_stream.c).
 */
static void
test_seekable(const Codec *c, int mode)
{
	SbStorage  *st = new_storage();
	uint8_t    *data = gen_pgbench(SEEK_LEN, 31);
	SbStoreResult res;
	const uint8_t *stored;
	size_t		stored_len;
	bool		framed = c->type != SB_COMPRESS_NONE;

	store_seekable(st, c, data, SEEK_LEN, "s/big", SB_WRITE_SEEKABLE | mode, &res);
	stored = sb_mem_storage_file(st, "s/big", &stored_len);
	SB_REQUIRE(stored != NULL && stored_len == res.stored_size);

	/* a whole fetch reads it as one stream, digest checked */
	check_fetch_buffer(st, "s/big", c, res.digest, data, SEEK_LEN, "seekable");
	if (framed)
	{
		/* 6 frames and the table; the standard tool still reads it */
		SB_CHECK_MSG(stored_len > 17 &&
					 le32_at(stored + stored_len - 4) == 0x8F92EAB1 &&
					 le32_at(stored + stored_len - 9) == 6 &&
					 le32_at(stored + stored_len - 17 - 6 * 8) == 0x184D2A5E,
					 "%s: no seek table of 6 frames at the end", c->name);
		SB_CHECK_MSG(tool_agrees(c->type, stored, stored_len, data, SEEK_LEN),
					 "%s: the standard tool does not read the seekable file",
					 c->name);
	}

	/* ranges, with the driver's ranged reads */
	check_ranges(st, c, "s/big", stored_len, data, SEEK_LEN, 60, 7);

	/* only the frames needed are read: one frame of six and the tail */
	{
		uint64_t	before = sb_mem_storage_bytes_read(st);
		SbError		err;

		/* the tail read first (16 kB and one byte), then the frame */
		uint64_t	frame4 = framed ?
			le32_at(stored + stored_len - 17 - 6 * 8 + 8 + 4 * 8) : 0;

		SB_CHECK(check_range(st, c, "s/big", stored_len, data, SEEK_LEN,
							 4 * SB_SEEK_FRAME_SIZE + 1000, 8192, &err) == SB_OK);

		SB_CHECK_MSG(sb_mem_storage_bytes_read(st) - before <=
					 (framed ? 16 * 1024 + 1 + frame4 : 8192),
					 "%s: a range of one frame read %" PRIu64 " of %zu stored bytes",
					 c->name, sb_mem_storage_bytes_read(st) - before, stored_len);
	}

	/* and through the fallback that reads up to the offset */
	sb_mem_storage_set_ranged(st, false);
	check_ranges(st, c, "s/big", stored_len, data, SEEK_LEN, 10, 11);
	sb_mem_storage_set_ranged(st, true);

	/* an exact number of frames: no empty last frame */
	store_seekable(st, c, data, 2 * SB_SEEK_FRAME_SIZE, "s/two", SB_WRITE_SEEKABLE | mode, &res);
	check_fetch_buffer(st, "s/two", c, res.digest, data, 2 * SB_SEEK_FRAME_SIZE, "two frames");
	check_ranges(st, c, "s/two", res.stored_size, data, 2 * SB_SEEK_FRAME_SIZE, 10, 13);
	if (framed)
	{
		stored = sb_mem_storage_file(st, "s/two", &stored_len);
		SB_CHECK(le32_at(stored + stored_len - 9) == 2);
	}

	/* an empty file */
	store_seekable(st, c, data, 0, "s/empty", SB_WRITE_SEEKABLE | mode, &res);
	check_fetch_buffer(st, "s/empty", c, res.digest, data, 0, "empty seekable");

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(data);
	sb_mem_storage_free(st);
}

/*
 * Bit 2 of the byte after the magic is the content checksum flag of a
 * Zstandard frame header (Frame_Header_Descriptor) and of an LZ4 frame
 * descriptor (FLG) alike.
 */
static bool
frame_has_checksum(const uint8_t *frame)
{
	return (frame[4] & 0x04) != 0;
}

/*
 * SB_WRITE_NO_FRAME_CHECKSUM: every frame of a seekable file (the first
 * and the next, begun after the setting), and the one frame of a file
 * stored whole, without the checksum of its content; without the flag,
 * with it.  Both read back the same, by the codec and by the standard tool.
 */
static void
test_frame_checksum(const Codec *c, int mode)
{
	SbStorage  *st = new_storage();
	const size_t len = 2 * SB_SEEK_FRAME_SIZE + 5000;
	uint8_t    *data = gen_pgbench(len, 43);

	for (int omit = 0; omit <= 1; omit++)
	{
		int			flags = mode | (omit ? SB_WRITE_NO_FRAME_CHECKSUM : 0);
		SbStoreResult res;
		const uint8_t *stored;
		size_t		stored_len;
		uint32_t	frame0;

		store_seekable(st, c, data, len, "k/seekable", SB_WRITE_SEEKABLE | flags, &res);
		stored = sb_mem_storage_file(st, "k/seekable", &stored_len);
		SB_REQUIRE(stored != NULL && stored_len > 17 + 3 * 8);
		/* the first entry of the table of 3 frames: frame 0's stored size */
		frame0 = le32_at(stored + stored_len - 17 - 3 * 8 + 8);
		SB_REQUIRE(frame0 < stored_len);
		SB_CHECK_MSG(frame_has_checksum(stored) == !omit &&
					 frame_has_checksum(stored + frame0) == !omit,
					 "%s, mode %d, omit %d: frames 0 and 1 checksummed: %d %d",
					 c->name, mode, omit, frame_has_checksum(stored),
					 frame_has_checksum(stored + frame0));
		check_fetch_buffer(st, "k/seekable", c, res.digest, data, len, "seekable");
		SB_CHECK(tool_agrees(c->type, stored, stored_len, data, len));

		store_seekable(st, c, data, len, "k/whole", flags, &res);
		stored = sb_mem_storage_file(st, "k/whole", &stored_len);
		SB_REQUIRE(stored != NULL && stored_len > 5);
		SB_CHECK_MSG(frame_has_checksum(stored) == !omit,
					 "%s, mode %d, omit %d: whole file's frame", c->name, mode, omit);
		check_fetch_buffer(st, "k/whole", c, res.digest, data, len, "whole");
		SB_CHECK(tool_agrees(c->type, stored, stored_len, data, len));
	}
	free(data);
	sb_mem_storage_free(st);
}

/* What cannot be read by ranges says so, for the caller to fetch it whole. */
static void
test_seek_unsupported(void)
{
	SbStorage  *st = new_storage();
	const size_t len = 3 * SB_SEEK_FRAME_SIZE;
	uint8_t    *data = gen_pgbench(len, 41);
	SbStoreResult res;
	SbFilter   *sink;
	uint64_t	got;
	SbError		err;
	SbStatus	rc;

	static const struct
	{
		Codec		c;
		int			flags;
		size_t		len;
		const char *what;
	}			cases[] = {
		{{"lz4-1", SB_COMPRESS_LZ4, 1}, 0, 3 * SB_SEEK_FRAME_SIZE, "unflagged"},
		{{"zstd-1", SB_COMPRESS_ZSTD, 1}, 0, 3 * SB_SEEK_FRAME_SIZE, "unflagged"},
		{{"zlib-1", SB_COMPRESS_ZLIB, 1}, SB_WRITE_SEEKABLE, 3 * SB_SEEK_FRAME_SIZE, "flagged"},
		{{"zstd-1", SB_COMPRESS_ZSTD, 1}, SB_WRITE_SEEKABLE, 100000, "smaller than a frame"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const Codec *c = &cases[i].c;

		store_seekable(st, c, data, cases[i].len, "u/f", cases[i].flags, &res);
		sink = sb_filter_buffer_sink_new(len);
		rc = sb_codec_fetch_range(st, "u/f", c->type, res.stored_size,
								  res.plain_size, 0, 10, sink, &got, &err);
		SB_CHECK_MSG(rc == SB_ERR_UNSUPPORTED && strstr(err.msg, "u/f") != NULL,
					 "%s %s: %s: %s", c->name, cases[i].what,
					 sb_status_name(rc), err.msg);
		sink->free(sink);
	}

	/* none, stored size other than the plain size (stored by ranges) */
	store_seekable(st, &seek_codecs[0], data, len, "u/n", SB_WRITE_SEEKABLE, &res);
	sink = sb_filter_buffer_sink_new(len);
	rc = sb_codec_fetch_range(st, "u/n", SB_COMPRESS_NONE, res.stored_size,
							  res.plain_size + 8192, 0, 10, sink, &got, &err);
	SB_CHECK_MSG(rc == SB_ERR_UNSUPPORTED, "none by ranges: %s", sb_status_name(rc));
	sink->free(sink);

	/* an encrypted stanza: its chunks shift every offset */
	store_seekable(st, &seek_codecs[2], data, len, "u/z", SB_WRITE_SEEKABLE, &res);
	st->cfg.cipher_type = SB_CIPHER_AES_256_GCM;
	sink = sb_filter_buffer_sink_new(len);
	rc = sb_codec_fetch_range(st, "u/z", SB_COMPRESS_ZSTD, res.stored_size,
							  res.plain_size, 0, 10, sink, &got, &err);
	SB_CHECK_MSG(rc == SB_ERR_UNSUPPORTED && strstr(err.detail, "encrypted") != NULL,
				 "encrypted: %s: %s", sb_status_name(rc), err.msg);
	st->cfg.cipher_type = SB_CIPHER_NONE;
	sink->free(sink);

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(data);
	sb_mem_storage_free(st);
}

/*
 * A damaged seek table is refused, by the ranged fetch (SB_ERR_CORRUPT)
 * and by the whole fetch; so are a seekable file cut at a frame's end and
 * one with bytes after its table.
 */
static void
test_seek_damage(const Codec *c)
{
	SbStorage  *st = new_storage();
	const size_t len = 3 * SB_SEEK_FRAME_SIZE + 5000;
	uint8_t    *data = gen_pgbench(len, 51);
	SbStoreResult res;
	const uint8_t *stored;
	size_t		stored_len;
	uint8_t    *copy;
	size_t		table;			/* offset of the table in the stored file */
	size_t		entries;

	store_seekable(st, c, data, len, "d/orig", SB_WRITE_SEEKABLE, &res);
	stored = sb_mem_storage_file(st, "d/orig", &stored_len);
	SB_REQUIRE(stored != NULL && stored_len > 17 + 4 * 8);
	table = stored_len - 17 - 4 * 8;
	entries = table + 8;
	copy = xmalloc(stored_len + 16);

	for (int k = 0; k < 13; k++)
	{
		const char *what[] = {
			"frame count + 1", "frame count - 1", "reserved descriptor bits",
			"skippable magic", "frame size field", "stored size + 1",
			"plain size - 1", "stored sizes swapped", "plain sizes moved",
			"manifest stored size", "manifest plain size",
			"last stored size + 1", "last plain size - 1"
		};
		uint64_t	stored_size = stored_len;
		uint64_t	plain_size = len;
		SbFilter   *sink;
		uint64_t	got;
		SbError		err;
		SbStatus	rc;

		memcpy(copy, stored, stored_len);
		switch (k)
		{
			case 0:
				le32_set(copy + stored_len - 9, 5);
				break;
			case 1:
				le32_set(copy + stored_len - 9, 3);
				break;
			case 2:
				copy[stored_len - 5] = 0x04;
				break;
			case 3:
				copy[table] ^= 1;
				break;
			case 4:
				le32_set(copy + table + 4, le32_at(copy + table + 4) + 8);
				break;
			case 5:
				le32_set(copy + entries + 8, le32_at(copy + entries + 8) + 1);
				break;
			case 6:
				le32_set(copy + entries + 12, le32_at(copy + entries + 12) - 1);
				break;
			case 7:
				{
					/* sums unchanged: only decoding the frames finds it */
					uint32_t	a = le32_at(copy + entries);
					uint32_t	b = le32_at(copy + entries + 8);

					le32_set(copy + entries, b);
					le32_set(copy + entries + 8, a);
					break;
				}
			case 8:
				{
					/* a block moved from frame 1 to frame 2: sums unchanged */
					le32_set(copy + entries + 12, le32_at(copy + entries + 12) - 128 * 1024);
					le32_set(copy + entries + 20, le32_at(copy + entries + 20) + 128 * 1024);
					break;
				}
			case 9:
				stored_size--;
				break;
			case 10:
				plain_size++;
				break;
			case 11:
				/* frames 1 and 2 read fine: only the sums tell */
				le32_set(copy + entries + 24, le32_at(copy + entries + 24) + 1);
				break;
			case 12:
				le32_set(copy + entries + 28, le32_at(copy + entries + 28) - 1);
				break;
		}
		SB_REQUIRE(sb_mem_storage_set_file(st, "d/bad", copy, stored_len));
		sink = sb_filter_buffer_sink_new(len);
		/* a range in the frames 1 and 2, which k = 7 and 8 damage */
		rc = sb_codec_fetch_range(st, "d/bad", c->type, stored_size,
								  plain_size, SB_SEEK_FRAME_SIZE + 10,
								  SB_SEEK_FRAME_SIZE, sink, &got, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT && strstr(err.msg, "d/bad") != NULL,
					 "%s: %s: ranged fetch: %s: %s", c->name, what[k],
					 sb_status_name(rc), err.msg);
		sink->free(sink);
		if (k < 9 || k > 10)
		{
			SbStatus	whole = fetch_discard(st, "d/bad", c->type, NULL,
											  UINT64_MAX, &err);

			SB_CHECK_MSG(whole == SB_ERR_CORRUPT,
						 "%s: %s: whole fetch: %s: %s", c->name, what[k],
						 sb_status_name(whole), err.msg);
		}
	}

	/* cut at the end of a frame: the table and the last frame gone */
	{
		SbError		err;
		SbStatus	rc;
		size_t		cut = table - le32_at(stored + entries + 3 * 8);

		SB_REQUIRE(sb_mem_storage_set_file(st, "d/cut", stored, cut));
		rc = fetch_discard(st, "d/cut", c->type, NULL, UINT64_MAX, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT, "%s: cut at a frame's end: %s: %s",
					 c->name, sb_status_name(rc), err.msg);
		/* only the table gone */
		SB_REQUIRE(sb_mem_storage_set_file(st, "d/cut", stored, table));
		rc = fetch_discard(st, "d/cut", c->type, NULL, UINT64_MAX, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT, "%s: table cut off: %s: %s",
					 c->name, sb_status_name(rc), err.msg);
		/* bytes after the table */
		memcpy(copy, stored, stored_len);
		memcpy(copy + stored_len, "garbage", 7);
		SB_REQUIRE(sb_mem_storage_set_file(st, "d/cut", copy, stored_len + 7));
		rc = fetch_discard(st, "d/cut", c->type, NULL, UINT64_MAX, &err);
		SB_CHECK_MSG(rc == SB_ERR_CORRUPT && strstr(err.msg, "trailing") != NULL,
					 "%s: bytes after the table: %s: %s",
					 c->name, sb_status_name(rc), err.msg);
	}

	SB_CHECK(sb_mem_storage_open_handles(st) == 0);
	free(copy);
	free(data);
	sb_mem_storage_free(st);
}

/*
 * A file of one frame of more than 4 GiB (written without frames) still
 * reads: its frame is too large for a seek table, and needs none.
 */
static void
test_seek_huge_frame(const Codec *c)
{
	const uint64_t len = ((uint64_t) 4 << 30) + SB_CODEC_BUFSIZE;
	uint8_t    *zero = calloc(1, SB_CODEC_BUFSIZE);
	SbFilter   *sink = sb_filter_buffer_sink_new(64 * MiB);
	SbFilter   *comp = sink ? sb_filter_compress_new(c->type, c->level, sink) : NULL;
	SbFilter   *count = sb_filter_count_new(NULL);
	SbFilter   *dec = count ? sb_filter_decompress_new(c->type, count) : NULL;
	const char *stored;
	size_t		stored_len;
	SbError		err;
	SbStatus	rc = SB_OK;

	SB_REQUIRE(zero != NULL && comp != NULL && dec != NULL);
	for (uint64_t off = 0; off < len && rc == SB_OK; off += SB_CODEC_BUFSIZE)
		rc = sb_filter_write(comp, zero, SB_CODEC_BUFSIZE, &err);
	if (rc == SB_OK)
		rc = sb_filter_finish(comp, &err);
	SB_CHECK_MSG(rc == SB_OK, "%s: compress 4 GiB: %s", c->name, err.msg);
	stored = sb_filter_buffer_data(sink, &stored_len);
	rc = sb_filter_write(dec, stored, stored_len, &err);
	if (rc == SB_OK)
		rc = sb_filter_finish(dec, &err);
	SB_CHECK_MSG(rc == SB_OK && sb_filter_count_bytes(count) == len,
				 "%s: one frame of 4 GiB: %s: %s", c->name, sb_status_name(rc),
				 rc == SB_OK ? "" : err.msg);
	sb_filter_free_chain(comp);
	sb_filter_free_chain(dec);
	free(zero);
}

/* The same through a real posix repository: its lseek-ranged reads. */
static void
test_seek_posix(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbError		err;
	const size_t len = SEEK_LEN;
	uint8_t    *data = gen_pgbench(len, 61);

	for (int i = 0; i < NSEEK; i++)
	{
		const Codec *c = &seek_codecs[i];
		SbStoreResult res;
		SbStatus	rc;

		cfg_for(&cfg, c);
		snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/posix-repo", tmpdir);
		mkdir(cfg.repo_path, 0700);
		SB_REQUIRE(sb_storage_create(&cfg, &st, &err) == SB_OK &&
				   sb_storage_open(st, &err) == SB_OK);
		rc = sb_codec_store_buffer(st, &cfg, data, len, "f",
								   SB_WRITE_REPLACE | SB_WRITE_SEEKABLE, &res, &err);
		SB_CHECK_MSG(rc == SB_OK, "%s: posix store: %s", c->name, err.msg);
		{
			SbFilter   *sink = sb_filter_buffer_sink_new(len);

			rc = sb_codec_fetch(st, "f", c->type, sink, res.digest, len, NULL, &err);
			SB_CHECK_MSG(rc == SB_OK, "%s: posix whole fetch: %s", c->name, err.msg);
			sink->free(sink);
		}
		check_ranges(st, c, "f", res.stored_size, data, len, 20, 17);
		sb_storage_free(st);
	}
	free(data);
}

static void
remove_tmpdir(void)
{
	char		cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* The ratio of a file written from buf (len bytes), through a fresh fd. */
static double
cost_ratio_of(const uint8_t *buf, size_t len, SbCompressType type)
{
	char		path[128];
	int			fd;
	double		r;

	snprintf(path, sizeof(path), "%s/cost-sample", tmpdir);
	SB_CHECK(write_whole_file(path, buf, len));
	fd = open(path, O_RDONLY);
	SB_CHECK(fd >= 0);
	sb_copy_cost_prefetch(fd, len, type);
	r = sb_copy_cost_ratio(fd, len, type, 1);
	close(fd);
	unlink(path);
	return r;
}

/*
 * A backup's copy order is told by how samples of a file compress
 * (copy_cost.h): repeated bytes near 0, random ones near 1, and the
 * samples spread over the file, not all taken from its start.
 */
static void
test_copy_cost(void)
{
	const size_t len = 4 * MiB;
	uint8_t    *rnd = gen_random(len, 71);
	uint8_t    *zeros = calloc(1, len);
	uint8_t    *half = malloc(len);
	const SbCompressType types[] = {SB_COMPRESS_ZLIB, SB_COMPRESS_LZ4, SB_COMPRESS_ZSTD};
	int			fd;

	SB_REQUIRE(zeros != NULL && half != NULL);
	/* the first half random, the second repeated */
	memcpy(half, rnd, len / 2);
	memset(half + len / 2, 'x', len - len / 2);
	for (int t = 0; t < 3; t++)
	{
		double		r_rnd = cost_ratio_of(rnd, len, types[t]);
		double		r_zero = cost_ratio_of(zeros, len, types[t]);
		double		r_half = cost_ratio_of(half, len, types[t]);

		SB_CHECK_MSG(r_rnd > 0.95 && r_rnd < 1.1, "random: %f (type %d)\n", r_rnd, t);
		SB_CHECK_MSG(r_zero >= 0 && r_zero < 0.05, "zeros: %f (type %d)\n", r_zero, t);
		SB_CHECK_MSG(r_half > 0.4 && r_half < 0.6, "half: %f (type %d)\n", r_half, t);
		/* a quarter of the size that stores whole costs more */
		SB_CHECK(sb_copy_cost(len / 4, r_rnd) > sb_copy_cost(len, r_zero));
	}
	/* nothing to tell: no compression, too small, unreadable */
	SB_CHECK(cost_ratio_of(rnd, len, SB_COMPRESS_NONE) == -1);
	SB_CHECK(cost_ratio_of(rnd, SB_COPY_COST_SAMPLES * SB_COPY_COST_SAMPLE_BYTES - 1,
						   SB_COMPRESS_ZSTD) == -1);
	fd = open(tmpdir, O_RDONLY);
	SB_CHECK(fd >= 0 && sb_copy_cost_ratio(fd, len, SB_COMPRESS_ZSTD, 1) == -1);
	close(fd);
	/* a file shorter than its recorded size (truncated since) */
	{
		char		path[128];

		snprintf(path, sizeof(path), "%s/cost-short", tmpdir);
		SB_CHECK(write_whole_file(path, rnd, len / 2));
		fd = open(path, O_RDONLY);
		SB_CHECK(fd >= 0 && sb_copy_cost_ratio(fd, len, SB_COMPRESS_ZSTD, 1) == -1);
		close(fd);
		unlink(path);
	}
	/* unknown ratios count as 0: the order is then by size */
	SB_CHECK(sb_copy_cost(len, -1) == sb_copy_cost(len, 0));
	SB_CHECK(sb_copy_cost(2 * len, -1) > sb_copy_cost(len, -1));
	free(rnd);
	free(zeros);
	free(half);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_codec.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	atexit(remove_tmpdir);

	test_sha256_vectors();
	test_roundtrips();
	for (int i = 0; i < NDAMAGE; i++)
		test_bounded_chunks(&damage_codecs[i]);
	test_fetch_mismatch();
	for (int i = 0; i < NDAMAGE; i++)
	{
		test_corruption(&damage_codecs[i]);
		test_truncation_and_trailing(&damage_codecs[i]);
	}
	test_levels();
	test_store_addressed();
	test_buffer_sink();
	test_storage_failures();
	test_store_overlap();
	test_async_filter();
	test_async_space();
	test_decode_into_space();
	test_copy_cost();
	test_exists_and_replace();
	test_config_and_source_errors();
	test_store_inspect();
	test_store_direct();
	test_fd_sink_errors();
	test_direct_sink();
	test_aio_ring();
	test_eintr();
	for (int i = 0; i < NSEEK; i++)
	{
		test_seekable(&seek_codecs[i], 0);
		test_seekable(&seek_codecs[i], SB_WRITE_OVERLAP);
		if (seek_codecs[i].type != SB_COMPRESS_NONE)
		{
			test_frame_checksum(&seek_codecs[i], 0);
			test_frame_checksum(&seek_codecs[i], SB_WRITE_OVERLAP);
		}
	}
	test_seek_unsupported();
	test_seek_damage(&seek_codecs[1]);
	test_seek_damage(&seek_codecs[2]);
	test_seek_posix();
	test_seek_huge_frame(&seek_codecs[1]);
	test_seek_huge_frame(&seek_codecs[2]);

	return sb_test_summary("codec");
}
