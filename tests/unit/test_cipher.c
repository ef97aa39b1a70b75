/*-------------------------------------------------------------------------
 *
 * test_cipher.c
 *		Unit tests of repository encryption: AES-256-GCM and HKDF known
 *		answers, the chunked encrypt/decrypt filters (round trips at chunk
 *		boundaries, tampering of every kind), passphrase files, the stanza's
 *		key hierarchy (create, open, wrong passphrase, cipher mismatch,
 *		rekey), and encrypted WAL, manifests and info files in a posix
 *		repository.
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cipher.h"
#include "codec.h"
#include "info_file.h"
#include "manifest.h"
#include "mem_storage.h"
#include "sb_test.h"
#include "stanza.h"
#include "storage.h"
#include "test_files.h"
#include "wal.h"

SB_TEST_DEFINE_COUNTERS;

#define CHUNK		SB_CIPHER_CHUNK_SIZE
#define HDR			44			/* header of an encrypted file */
#define SEALED		(CHUNK + SB_CIPHER_TAG_LEN)

static char root[256];

/* ----------------------------------------------------------------
 *		Helpers
 * ----------------------------------------------------------------
 */

static size_t
unhex(const char *hex, uint8_t *out)
{
	size_t		n = strlen(hex) / 2;

	if (!sb_hex_decode(hex, out, n))
	{
		fprintf(stderr, "bad hex in test vector: %s\n", hex);
		exit(2);
	}
	return n;
}

static SbCipherKey *
key_from_byte(uint8_t b)
{
	uint8_t		k[SB_CIPHER_KEY_LEN];

	memset(k, b, sizeof(k));
	return sb_cipher_key_new(k);
}

static void
fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t	x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++)
	{
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t) x;
	}
}

/* Run buf through a filter (made with path) into a buffer; odd write sizes. */
static SbStatus
run_filter(bool encrypt, const SbCipherKey *key, const char *path,
		   const uint8_t *in, size_t len, uint8_t **out, size_t *outlen,
		   SbError *err)
{
	static const size_t steps[] = {1, 7, 65536, 3, 65551, 100000, 16, 44};
	SbFilter   *sink = sb_filter_buffer_sink_new((size_t) 64 << 20);
	SbFilter   *f;
	SbStatus	rc = SB_OK;
	size_t		pos = 0;
	int			i = 0;
	const char *data;

	*out = NULL;
	*outlen = 0;
	f = encrypt ? sb_filter_encrypt_new(key, path, sink) :
		sb_filter_decrypt_new(key, path, sink);
	if (sink == NULL || f == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	while (pos < len && rc == SB_OK)
	{
		size_t		n = steps[i++ % 8];

		if (n > len - pos)
			n = len - pos;
		rc = sb_filter_write(f, in + pos, n, err);
		pos += n;
	}
	if (rc == SB_OK)
		rc = sb_filter_finish(f, err);
	if (rc == SB_OK)
	{
		data = sb_filter_buffer_data(sink, outlen);
		*out = malloc(*outlen + 1);
		memcpy(*out, data, *outlen);
	}
	f->free(f);
	sink->free(sink);
	return rc;
}

static size_t
sealed_size(size_t len)
{
	size_t		chunks = len == 0 ? 1 : (len + CHUNK - 1) / CHUNK;

	return HDR + len + chunks * SB_CIPHER_TAG_LEN;
}

static void
write_pass_file(const char *path, const char *pass, mode_t mode)
{
	unlink(path);
	sb_test_write_file(path, pass, strlen(pass));
	chmod(path, mode);
}

static SbStorage *
open_repo(SbCipherType cipher, const char *pass_file)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbError		err;

	sb_config_init(&cfg);
	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/repo", root);
	mkdir(cfg.repo_path, 0750);
	snprintf(cfg.stanza, sizeof(cfg.stanza), "enc");
	cfg.cipher_type = cipher;
	if (pass_file != NULL)
		snprintf(cfg.cipher_pass_file, sizeof(cfg.cipher_pass_file), "%s", pass_file);
	if (sb_storage_create(&cfg, &st, &err) != SB_OK ||
		sb_storage_open(st, &err) != SB_OK)
	{
		fprintf(stderr, "cannot open repository: %s\n", err.msg);
		exit(2);
	}
	return st;
}

/* Does the file at the repository path contain needle? */
static bool
repo_file_contains(const char *relpath, const void *needle, size_t nlen)
{
	char		path[1024];
	char	   *data;
	size_t		len;
	bool		found = false;

	snprintf(path, sizeof(path), "%s/repo/%s", root, relpath);
	data = sb_test_read_file(path, &len);
	if (data == NULL)
		return false;
	for (size_t i = 0; i + nlen <= len && !found; i++)
		found = memcmp(data + i, needle, nlen) == 0;
	free(data);
	return found;
}

/* ----------------------------------------------------------------
 *		Known answers
 * ----------------------------------------------------------------
 */

typedef struct GcmVector
{
	const char *name;
	const char *key;
	const char *iv;
	const char *aad;
	const char *pt;
	const char *ct;
	const char *tag;
} GcmVector;

/*
 * AES-256 test cases 13 to 16 of "The Galois/Counter Mode of Operation
 * (GCM)", McGrew and Viega, typed in from the published text.
 */
static const GcmVector gcm_vectors[] = {
	{"gcm-13",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"000000000000000000000000", "", "", "",
	"530f8afbc74536b9a963b4f1c4cb738b"},
	{"gcm-14",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"000000000000000000000000", "",
		"00000000000000000000000000000000",
		"cea7403d4d606b6e074ec5d3baf39d18",
	"d0d1c8a799996bf0265b98b5d48ab919"},
	{"gcm-15",
		"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		"cafebabefacedbaddecaf888", "",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	"b094dac5d93471bdec1a502270e3cc6c"},
	{"gcm-16",
		"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		"cafebabefacedbaddecaf888",
		"feedfacedeadbeeffeedfacedeadbeefabaddad2",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	"76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void
test_gcm_vectors(void)
{
	for (size_t v = 0; v < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); v++)
	{
		const GcmVector *g = &gcm_vectors[v];
		uint8_t		key[32],
					iv[12],
					aad[64],
					pt[64],
					ct[64],
					tag[16];
		uint8_t		out[64],
					outtag[16],
					back[64];
		size_t		aadlen,
					ptlen,
					ctlen;

		SB_REQUIRE(unhex(g->key, key) == 32 && unhex(g->iv, iv) == 12);
		aadlen = unhex(g->aad, aad);
		ptlen = unhex(g->pt, pt);
		ctlen = unhex(g->ct, ct);
		SB_REQUIRE(unhex(g->tag, tag) == 16 && ptlen == ctlen);

		SB_CHECK_MSG(sb_aes256gcm_seal(key, iv, aad, aadlen, pt, ptlen, out, outtag), "%s", g->name);
		SB_CHECK_MSG(memcmp(out, ct, ctlen) == 0, "%s: ciphertext", g->name);
		SB_CHECK_MSG(memcmp(outtag, tag, 16) == 0, "%s: tag", g->name);
		SB_CHECK_MSG(sb_aes256gcm_open(key, iv, aad, aadlen, ct, ctlen, tag, back), "%s: open", g->name);
		SB_CHECK_MSG(memcmp(back, pt, ptlen) == 0, "%s: plaintext", g->name);

		/* any change to tag, ciphertext or associated data is refused */
		tag[5] ^= 0x01;
		SB_CHECK_MSG(!sb_aes256gcm_open(key, iv, aad, aadlen, ct, ctlen, tag, back), "%s: bad tag", g->name);
		tag[5] ^= 0x01;
		if (ctlen > 0)
		{
			ct[ctlen - 1] ^= 0x80;
			SB_CHECK_MSG(!sb_aes256gcm_open(key, iv, aad, aadlen, ct, ctlen, tag, back), "%s: bad ct", g->name);
			ct[ctlen - 1] ^= 0x80;
		}
		if (aadlen > 0)
		{
			aad[0] ^= 0x01;
			SB_CHECK_MSG(!sb_aes256gcm_open(key, iv, aad, aadlen, ct, ctlen, tag, back), "%s: bad aad", g->name);
			aad[0] ^= 0x01;
		}
		iv[11] ^= 0x01;
		SB_CHECK_MSG(!sb_aes256gcm_open(key, iv, aad, aadlen, ct, ctlen, tag, back), "%s: bad iv", g->name);
	}
}

/* RFC 5869 test case 1 (first 32 bytes of the output) */
static void
test_hkdf_vector(void)
{
	uint8_t		ikm[22],
				salt[13],
				okm[32],
				want[32];
	char		info[11];

	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t) i;
	for (int i = 0; i < 10; i++)
		info[i] = (char) (0xf0 + i);
	info[10] = '\0';
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf", want);
	SB_CHECK(sb_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, okm));
	SB_CHECK(memcmp(okm, want, 32) == 0);
}

/* ----------------------------------------------------------------
 *		Chunked filters
 * ----------------------------------------------------------------
 */

static void
test_round_trips(void)
{
	const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK,
	2 * CHUNK + 1, 3 * CHUNK - 1, (size_t) 5 * 1024 * 1024 + 333};
	SbCipherKey *key = key_from_byte(0x42);
	uint8_t    *plain = malloc((size_t) 6 * 1024 * 1024);
	SbError		err;

	SB_REQUIRE(key != NULL && plain != NULL);
	fill_pattern(plain, (size_t) 6 * 1024 * 1024, 7);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		size_t		len = sizes[i];
		uint8_t    *sealed = NULL;
		uint8_t    *back = NULL;
		uint8_t    *sealed2 = NULL;
		size_t		slen,
					blen,
					slen2;

		SB_CHECK_MSG(run_filter(true, key, "s/wal/f", plain, len, &sealed, &slen, &err) == SB_OK,
					 "%zu: %s", len, err.msg);
		SB_CHECK_MSG(slen == sealed_size(len), "%zu bytes sealed to %zu, expected %zu",
					 len, slen, sealed_size(len));
		SB_CHECK_MSG(run_filter(false, key, "s/wal/f", sealed, slen, &back, &blen, &err) == SB_OK,
					 "%zu: %s", len, err.msg);
		SB_CHECK_MSG(blen == len && (len == 0 || memcmp(back, plain, len) == 0),
					 "%zu: round trip", len);
		/* the same content twice never gives the same bytes (file salt) */
		SB_CHECK(run_filter(true, key, "s/wal/f", plain, len, &sealed2, &slen2, &err) == SB_OK);
		SB_CHECK(slen2 == slen && memcmp(sealed, sealed2, slen) != 0);
		/* and the plain text does not show through */
		if (len >= 64)
		{
			bool		seen = false;

			for (size_t p = 0; p + 32 <= slen && !seen; p++)
				seen = memcmp(sealed + p, plain + 1000 % len, 32) == 0;
			SB_CHECK_MSG(!seen, "%zu: plain text visible", len);
		}
		free(sealed);
		free(sealed2);
		free(back);
	}
	free(plain);
	sb_cipher_key_free(key);
}

/* Decrypting a damaged copy must fail with SB_ERR_CORRUPT naming path. */
static void
expect_refused(const SbCipherKey *key, const char *path, const uint8_t *data,
			   size_t len, const char *what)
{
	uint8_t    *back = NULL;
	size_t		blen;
	SbError		err;
	SbStatus	rc;

	sb_error_clear(&err);
	rc = run_filter(false, key, path, data, len, &back, &blen, &err);
	SB_CHECK_MSG(rc == SB_ERR_CORRUPT, "%s: status %s", what, sb_status_name(rc));
	SB_CHECK_MSG(strstr(err.msg, path) != NULL, "%s: message \"%s\" does not name the file", what, err.msg);
	free(back);
}

static void
test_tampering(void)
{
	SbCipherKey *key = key_from_byte(0x17);
	SbCipherKey *other = key_from_byte(0x18);
	size_t		len = 3 * CHUNK + 1000;	/* 4 chunks, the last one short */
	uint8_t    *plain = malloc(len);
	uint8_t    *a = NULL;
	uint8_t    *b = NULL;
	uint8_t    *t = malloc(sealed_size(len) + SEALED);
	size_t		alen,
				blen;
	SbError		err;
	const char *pa = "main/backup/L/data/base/1/1259";
	const char *pb = "main/backup/L/data/base/1/1249";

	SB_REQUIRE(key && other && plain && t);
	fill_pattern(plain, len, 3);
	SB_REQUIRE(run_filter(true, key, pa, plain, len, &a, &alen, &err) == SB_OK);
	SB_REQUIRE(run_filter(true, key, pb, plain, len, &b, &blen, &err) == SB_OK);
	SB_REQUIRE(alen == HDR + 4 * SB_CIPHER_TAG_LEN + len);

	/* a flipped bit anywhere: header, ciphertext of each chunk, a tag */
	{
		const size_t where[] = {0, 8, 12, HDR - 1, HDR, HDR + 100, HDR + CHUNK + 3,
			HDR + SEALED - 1, HDR + 2 * SEALED + 5, alen - 17, alen - 1};

		for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		{
			char		what[64];

			memcpy(t, a, alen);
			t[where[i]] ^= 0x20;
			snprintf(what, sizeof(what), "flipped byte at %zu", where[i]);
			expect_refused(key, pa, t, alen, what);
		}
	}
	/* truncation at each chunk boundary, inside chunks, inside the header */
	{
		const size_t cut[] = {HDR + 3 * SEALED, HDR + 2 * SEALED, HDR + SEALED,
			HDR, alen - 1, alen - 16, alen - 17, HDR + SEALED - 1, HDR + 10, 20, 1};

		for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		{
			char		what[64];

			snprintf(what, sizeof(what), "truncated to %zu bytes", cut[i]);
			expect_refused(key, pa, a, cut[i], what);
		}
	}
	/* an empty file */
	expect_refused(key, pa, a, 0, "empty file");
	/* a dropped middle chunk */
	memcpy(t, a, HDR + SEALED);
	memcpy(t + HDR + SEALED, a + HDR + 2 * SEALED, alen - HDR - 2 * SEALED);
	expect_refused(key, pa, t, alen - SEALED, "dropped chunk");
	/* two chunks swapped */
	memcpy(t, a, alen);
	memcpy(t + HDR, a + HDR + SEALED, SEALED);
	memcpy(t + HDR + SEALED, a + HDR, SEALED);
	expect_refused(key, pa, t, alen, "swapped chunks");
	/* a chunk repeated (appended after the last full one) */
	memcpy(t, a, HDR + 3 * SEALED);
	memcpy(t + HDR + 3 * SEALED, a + HDR + 2 * SEALED, SEALED);
	memcpy(t + HDR + 4 * SEALED, a + HDR + 3 * SEALED, alen - HDR - 3 * SEALED);
	expect_refused(key, pa, t, alen + SEALED, "repeated chunk");
	/* a chunk of the other file (same key, same index, other path) */
	memcpy(t, a, alen);
	memcpy(t + HDR + SEALED, b + HDR + SEALED, SEALED);
	expect_refused(key, pa, t, alen, "chunk from another file");
	/* whole files swapped: each read under the other's name */
	expect_refused(key, pa, b, blen, "file swapped (a)");
	expect_refused(key, pb, a, alen, "file swapped (b)");
	/* another key */
	expect_refused(other, pa, a, alen, "wrong key");
	/* not encrypted at all */
	expect_refused(key, pa, plain, len, "plain file");
	/* the intact file still reads */
	{
		uint8_t    *back = NULL;
		size_t		n;

		SB_CHECK(run_filter(false, key, pa, a, alen, &back, &n, &err) == SB_OK &&
				 n == len && memcmp(back, plain, len) == 0);
		free(back);
	}
	free(a);
	free(b);
	free(t);
	free(plain);
	sb_cipher_key_free(key);
	sb_cipher_key_free(other);
}

/* The codec with an encrypted storage: HMAC digests, sizes, errors. */
static void
test_codec_encrypted(void)
{
	SbStorage  *st = sb_mem_storage_new();
	SbRepoConfig cfg;
	SbStoreResult res;
	SbStoreResult res2;
	SbError		err;
	SbFilter   *sink;
	uint8_t    *plain = malloc(300000);
	char		sha[SB_SHA256_HEX_LEN + 1];
	char	   *raw;
	size_t		rawlen;
	SbCipherKey *saved;

	SB_REQUIRE(st != NULL && plain != NULL);
	SB_REQUIRE(sb_storage_open(st, &err) == SB_OK);
	fill_pattern(plain, 300000, 11);
	sb_sha256_hex(plain, 300000, sha);
	sb_config_init(&cfg);
	st->cfg.cipher_type = SB_CIPHER_AES_256_GCM;
	st->cipher = key_from_byte(0x33);

	for (int ct = 0; ct < 2; ct++)
	{
		cfg.compress_type = ct ? SB_COMPRESS_ZLIB : SB_COMPRESS_NONE;
		SB_CHECK(sb_codec_store_buffer(st, &cfg, plain, 300000, ct ? "c/f.gz" : "c/f",
									   SB_WRITE_REPLACE, &res, &err) == SB_OK);
		/* the digest is a MAC, not the plain SHA-256 */
		SB_CHECK(strlen(res.digest) == 64 && strcmp(res.digest, sha) != 0);
		if (ct == 0)
			SB_CHECK(res.stored_size == sealed_size(300000));
		sink = sb_filter_buffer_sink_new(1 << 20);
		SB_CHECK_MSG(sb_codec_fetch(st, ct ? "c/f.gz" : "c/f", cfg.compress_type, sink,
									res.digest, 300000, &res2, &err) == SB_OK, "%s", err.msg);
		SB_CHECK(strcmp(res2.digest, res.digest) == 0);
		sb_filter_free_chain(sink);
	}
	/* the same content gives the same MAC (dedup of WAL by name still works) */
	SB_CHECK(sb_codec_store_buffer(st, &cfg, plain, 300000, "c/g", 0, &res2, &err) == SB_OK);
	SB_CHECK(strcmp(res2.digest, res.digest) == 0);

	/* a file copied over another name is refused, naming the name read */
	SB_REQUIRE(sb_storage_get(st, "c/f", 1 << 20, &raw, &rawlen, &err) == SB_OK);
	SB_CHECK(sb_storage_put(st, "c/h", 0, raw, rawlen, &err) == SB_OK);
	sink = sb_filter_buffer_sink_new(1 << 20);
	SB_CHECK(sb_codec_fetch(st, "c/h", SB_COMPRESS_NONE, sink, NULL, UINT64_MAX, NULL, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "c/h") != NULL);
	sb_filter_free_chain(sink);

	/* without the key: a clear "is encrypted" error, not garbage */
	saved = st->cipher;
	st->cipher = NULL;
	st->cfg.cipher_type = SB_CIPHER_NONE;
	sink = sb_filter_buffer_sink_new(1 << 20);
	SB_CHECK(sb_codec_fetch(st, "c/f", SB_COMPRESS_NONE, sink, res.digest, 300000, NULL, &err) == SB_ERR_CONFIG);
	SB_CHECK(strstr(err.msg, "is encrypted") != NULL);
	sb_filter_free_chain(sink);
	st->cipher = saved;

	free(raw);
	free(plain);
	sb_cipher_key_free(st->cipher);
	st->cipher = NULL;
	sb_mem_storage_free(st);
}

/* ----------------------------------------------------------------
 *		Keys
 * ----------------------------------------------------------------
 */

static void
test_pass_file(void)
{
	char		path[512];
	char		pass[SB_CIPHER_PASS_MAX + 1];
	size_t		len;
	SbError		err;

	snprintf(path, sizeof(path), "%s/pass", root);
	write_pass_file(path, "correct horse\n", 0600);
	SB_CHECK(sb_cipher_read_pass_file(path, pass, &len, &err) == SB_OK);
	SB_CHECK(len == 13 && strcmp(pass, "correct horse") == 0);
	write_pass_file(path, "crlf\r\n", 0400);
	SB_CHECK(sb_cipher_read_pass_file(path, pass, &len, &err) == SB_OK && len == 4);
	write_pass_file(path, "loose", 0640);
	SB_CHECK(sb_cipher_read_pass_file(path, pass, &len, &err) == SB_ERR_PERMISSION);
	SB_CHECK(strstr(err.msg, "group or world access") != NULL && err.hint[0] != '\0');
	write_pass_file(path, "loose", 0604);
	SB_CHECK(sb_cipher_read_pass_file(path, pass, &len, &err) == SB_ERR_PERMISSION);
	write_pass_file(path, "\n", 0600);
	SB_CHECK(sb_cipher_read_pass_file(path, pass, &len, &err) == SB_ERR_CONFIG);
	SB_CHECK(sb_cipher_read_pass_file("/nonexistent/pass", pass, &len, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(sb_cipher_read_pass_file("", pass, &len, &err) == SB_ERR_CONFIG);
	SB_CHECK(sb_cipher_read_pass_file(root, pass, &len, &err) != SB_OK);
	/* a symbolic link is not followed */
	{
		char		link[600];

		write_pass_file(path, "linked", 0600);
		snprintf(link, sizeof(link), "%s/passlink", root);
		SB_CHECK(symlink(path, link) == 0);
		SB_CHECK(sb_cipher_read_pass_file(link, pass, &len, &err) != SB_OK);
	}
	/* owned by someone else (only checkable as root) */
	if (geteuid() == 0)
	{
		write_pass_file(path, "theirs", 0600);
		SB_CHECK(chown(path, 12345, 12345) == 0);
		SB_CHECK(sb_cipher_read_pass_file(path, pass, &len, &err) == SB_ERR_PERMISSION);
		SB_CHECK(strstr(err.msg, "not owned by the current user") != NULL);
	}
	unlink(path);
}

static void
test_wrap(void)
{
	SbKdfParams params;
	uint8_t		kek[32],
				kek2[32],
				data_key[32],
				back[32],
				wrapped[SB_CIPHER_WRAPPED_LEN];
	SbError		err;

	SB_REQUIRE(sb_kdf_params_new(&params, &err) == SB_OK);
	SB_CHECK(sb_kdf_params_valid(&params));
	SB_CHECK(sb_cipher_derive_kek("secret", 6, &params, kek, &err) == SB_OK);
	SB_CHECK(sb_cipher_derive_kek("secret", 6, &params, kek2, &err) == SB_OK);
	SB_CHECK(memcmp(kek, kek2, 32) == 0);
	memset(data_key, 0x5a, sizeof(data_key));
	SB_CHECK(sb_cipher_wrap(kek, data_key, (const uint8_t *) "aad", 3, wrapped, &err) == SB_OK);
	SB_CHECK(sb_cipher_unwrap(kek, wrapped, (const uint8_t *) "aad", 3, back, &err) == SB_OK);
	SB_CHECK(memcmp(back, data_key, 32) == 0);

	/* wrong passphrase: another KEK, refused by the tag */
	SB_CHECK(sb_cipher_derive_kek("Secret", 6, &params, kek2, &err) == SB_OK);
	SB_CHECK(memcmp(kek, kek2, 32) != 0);
	SB_CHECK(sb_cipher_unwrap(kek2, wrapped, (const uint8_t *) "aad", 3, back, &err) == SB_ERR_AUTH);
	SB_CHECK(strcmp(err.msg, "wrong passphrase") == 0 && err.hint[0] != '\0');
	/* other salt or parameters: another KEK */
	params.salt[0] ^= 1;
	SB_CHECK(sb_cipher_derive_kek("secret", 6, &params, kek2, &err) == SB_OK);
	SB_CHECK(memcmp(kek, kek2, 32) != 0);
	params.salt[0] ^= 1;
	/* other associated data (parameters changed in the file) */
	SB_CHECK(sb_cipher_unwrap(kek, wrapped, (const uint8_t *) "aae", 3, back, &err) == SB_ERR_AUTH);
	/* parameters out of range are refused before any work */
	params.n = 3;
	SB_CHECK(!sb_kdf_params_valid(&params));
	params.n = (uint64_t) 1 << 30;
	SB_CHECK(!sb_kdf_params_valid(&params));
	SB_CHECK(sb_cipher_derive_kek("secret", 6, &params, kek2, &err) == SB_ERR_CORRUPT);
}

/* ----------------------------------------------------------------
 *		Stanza, WAL, manifests and info files in a posix repository
 * ----------------------------------------------------------------
 */

static void
test_stanza_keys(void)
{
	SbStanzaInfo mine = {SB_REPO_FORMAT_VERSION, 7300000000000000042ULL, 15};
	SbStanzaInfo loaded;
	char		pass1[512],
				pass2[512],
				bad[512],
				walsrc[512];
	SbStorage  *st;
	SbError		err;
	SbWalPushResult wres;
	char	   *info_text;
	size_t		len;
	char		path[1024];
	uint8_t    *wal = malloc(CHUNK * 3);
	char		sha[SB_SHA256_HEX_LEN + 1];
	const char *marker = "MARKER-not-in-the-repository";

	SB_REQUIRE(wal != NULL);
	snprintf(pass1, sizeof(pass1), "%s/pass1", root);
	snprintf(pass2, sizeof(pass2), "%s/pass2", root);
	snprintf(bad, sizeof(bad), "%s/bad", root);
	write_pass_file(pass1, "first passphrase\n", 0600);
	write_pass_file(pass2, "second passphrase\n", 0600);
	write_pass_file(bad, "not it\n", 0600);

	/* create an encrypted stanza: key material in stanza.info */
	st = open_repo(SB_CIPHER_AES_256_GCM, pass1);
	SB_CHECK_MSG(sb_stanza_ensure(st, "enc", &mine, &err) == SB_OK, "%s", err.msg);
	SB_CHECK(st->cipher != NULL);
	snprintf(path, sizeof(path), "%s/repo/enc/stanza.info", root);
	info_text = sb_test_read_file(path, &len);
	SB_REQUIRE(info_text != NULL);
	SB_CHECK(strstr(info_text, "cipher_type=aes-256-gcm\n") != NULL);
	SB_CHECK(strstr(info_text, "cipher_kdf=scrypt\n") != NULL);
	SB_CHECK(strstr(info_text, "cipher_kdf_n=16384\n") != NULL);
	SB_CHECK(strstr(info_text, "cipher_kdf_salt=") != NULL);
	SB_CHECK(strstr(info_text, "cipher_key=") != NULL);
	free(info_text);

	/* WAL: encrypted, named by a MAC, got back intact */
	fill_pattern(wal, CHUNK * 3, 5);
	memcpy(wal + 1000, marker, strlen(marker));
	sb_sha256_hex(wal, CHUNK * 3, sha);
	snprintf(walsrc, sizeof(walsrc), "%s/walsrc", root);
	sb_test_write_file(walsrc, wal, CHUNK * 3);
	st->cfg.compress_type = SB_COMPRESS_NONE;
	SB_CHECK_MSG(sb_wal_push(st, &st->cfg, "000000010000000000000001", walsrc, &wres, &err) == SB_OK,
				 "%s", err.msg);
	SB_CHECK(!wres.already_stored && strcmp(wres.store.digest, sha) != 0);
	SB_CHECK(sb_wal_push(st, &st->cfg, "000000010000000000000001", walsrc, &wres, &err) == SB_OK);
	SB_CHECK(wres.already_stored);
	{
		SbWalEntry	e;

		SB_CHECK(sb_wal_find(st, "enc", "000000010000000000000001", &e, &err) == SB_OK);
		SB_CHECK(strstr(e.name, sha) == NULL);
		SB_CHECK(!repo_file_contains(e.name, marker, strlen(marker)));
		SB_CHECK(!repo_file_contains(e.name, wal + 5000, 64));
	}

	/*
	 * A stanza of format 2 encrypts WAL in the one read that digests it:
	 * chunks bound to "<dir>/<walname>-" (header version 2).  The name's
	 * MAC is still checked against the content: a file given another
	 * segment's valid name, or another MAC, is refused.
	 */
	{
		SbWalEntry	e1,
					e2;
		char		p1[1200],
					p2[1200],
					moved[1200],
					dst[600];
		char	   *stored;
		char	   *back;
		size_t		n1;

		SB_CHECK(sb_codec_can_store_addressed(st, CHUNK * 3));
		/* not in a stanza of format 1, whose older readers bind whole paths */
		st->stanza_format = 1;
		SB_CHECK(!sb_codec_can_store_addressed(st, CHUNK * 3));
		st->stanza_format = SB_REPO_FORMAT_VERSION;
		SB_REQUIRE(sb_wal_find(st, "enc", "000000010000000000000001", &e1, &err) == SB_OK);
		snprintf(p1, sizeof(p1), "%s/repo/%s", root, e1.name);
		stored = sb_test_read_file(p1, &n1);
		SB_REQUIRE(stored != NULL && n1 > 8);
		SB_CHECK_MSG(memcmp(stored, "PGSBENC", 7) == 0 && stored[7] == 2,
					 "header version %d", stored[7]);
		snprintf(dst, sizeof(dst), "%s/walback", root);
		SB_CHECK_MSG(sb_wal_get(st, "enc", "000000010000000000000001", dst, &err) == SB_OK, "%s", err.msg);
		back = sb_test_read_file(dst, &len);
		SB_CHECK(back != NULL && len == CHUNK * 3 && memcmp(back, wal, len) == 0);
		free(back);
		unlink(dst);

		/* segment 2: other content, its own MAC */
		wal[77] ^= 1;
		sb_test_write_file(walsrc, wal, CHUNK * 3);
		wal[77] ^= 1;
		SB_CHECK(sb_wal_push(st, &st->cfg, "000000010000000000000002", walsrc, &wres, &err) == SB_OK);
		SB_REQUIRE(sb_wal_find(st, "enc", "000000010000000000000002", &e2, &err) == SB_OK);
		snprintf(p2, sizeof(p2), "%s/repo/%s", root, e2.name);

		/* segment 1's file under segment 1's name with segment 2's MAC */
		snprintf(moved, sizeof(moved), "%s/repo/%.*s%s", root,
				 (int) (strrchr(e1.name, '-') - e1.name + 1), e1.name,
				 strrchr(e2.name, '-') + 1);
		SB_REQUIRE(rename(p1, moved) == 0);
		SB_CHECK(sb_wal_get(st, "enc", "000000010000000000000001", dst, &err) == SB_ERR_CORRUPT);
		SB_CHECK_MSG(strstr(err.msg, "checksum mismatch") != NULL, "%s", err.msg);
		SB_CHECK(access(dst, F_OK) != 0);
		SB_REQUIRE(unlink(moved) == 0);

		/* segment 1's file under segment 2's exact name: not its chunks' name */
		sb_test_write_file(p2, stored, n1);
		SB_CHECK(sb_wal_get(st, "enc", "000000010000000000000002", dst, &err) == SB_ERR_CORRUPT);
		SB_CHECK_MSG(strstr(err.msg, "failed authentication") != NULL, "%s", err.msg);
		SB_CHECK(access(dst, F_OK) != 0);

		/* put segment 1 back as it was */
		sb_test_write_file(p1, stored, n1);
		SB_CHECK(sb_wal_get(st, "enc", "000000010000000000000001", dst, &err) == SB_OK);
		unlink(dst);
		free(stored);
	}
	/* an info file through sb_info_save is encrypted too */
	{
		SbInfoFile	i1,
					i2;

		sb_info_init(&i1);
		SB_CHECK(sb_info_set(&i1, "secret_key", marker));
		SB_CHECK(sb_info_save(st, "enc/other.info", 0, &i1, &err) == SB_OK);
		SB_CHECK(!repo_file_contains("enc/other.info", marker, strlen(marker)));
		SB_CHECK(!repo_file_contains("enc/other.info.copy", marker, strlen(marker)));
		SB_CHECK(sb_info_load(st, "enc/other.info", &i2, &err) == SB_OK);
		SB_CHECK(sb_info_get(&i2, "secret_key") && strcmp(sb_info_get(&i2, "secret_key"), marker) == 0);
		sb_info_free(&i1);
		sb_info_free(&i2);
	}
	/* a manifest is encrypted */
	{
		SbManifest	m;
		SbManifest	back;

		sb_manifest_init(&m);
		snprintf(m.label, sizeof(m.label), "20261123-120000F");
		snprintf(m.start_lsn, sizeof(m.start_lsn), "0/2000028");
		snprintf(m.stop_lsn, sizeof(m.stop_lsn), "0/2000100");
		snprintf(m.start_wal, sizeof(m.start_wal), "000000010000000000000002");
		snprintf(m.stop_wal, sizeof(m.stop_wal), "000000010000000000000002");
		m.system_identifier = mine.system_identifier;
		m.pg_version = 15;
		SB_CHECK(sb_manifest_add_tablespace(&m, 16384, "/srv/MARKER-tablespace"));
		SB_CHECK_MSG(sb_manifest_save(st, &st->cfg, &m, &err) == SB_OK, "%s", err.msg);
		sb_backup_manifest_path("enc", m.label, path);
		SB_CHECK(!repo_file_contains(path, "MARKER-tablespace", 17));
		SB_CHECK(!repo_file_contains(path, "pg_safebackup manifest", 22));
		SB_CHECK_MSG(sb_manifest_load(st, "enc", m.label, &back, &err) == SB_OK, "%s", err.msg);
		SB_CHECK(back.ntablespaces == 1 && strcmp(back.tablespaces[0].path, "/srv/MARKER-tablespace") == 0);
		sb_manifest_free(&back);
		sb_manifest_free(&m);
	}
	sb_storage_free(st);

	/* a second session with the same passphrase reads it all back */
	st = open_repo(SB_CIPHER_AES_256_GCM, pass1);
	snprintf(path, sizeof(path), "%s/walback", root);
	SB_CHECK_MSG(sb_wal_get(st, "enc", "000000010000000000000001", path, &err) == SB_OK, "%s", err.msg);
	{
		char	   *got = sb_test_read_file(path, &len);

		SB_CHECK(got != NULL && len == CHUNK * 3 && memcmp(got, wal, len) == 0);
		free(got);
	}
	sb_storage_free(st);

	/* wrong passphrase */
	st = open_repo(SB_CIPHER_AES_256_GCM, bad);
	SB_CHECK(sb_stanza_load(st, "enc", &loaded, &err) == SB_ERR_AUTH);
	SB_CHECK(strstr(err.msg, "wrong passphrase") != NULL && err.hint[0] != '\0');
	SB_CHECK(st->cipher == NULL);
	SB_CHECK(sb_stanza_ensure(st, "enc", &mine, &err) == SB_ERR_AUTH);
	/* another cluster is told so, before any passphrase question */
	{
		SbStanzaInfo other = mine;

		other.system_identifier++;
		SB_CHECK(sb_stanza_ensure(st, "enc", &other, &err) == SB_ERR_MISMATCH);
		SB_CHECK(strstr(err.msg, "belongs to another cluster") != NULL);
	}
	SB_CHECK(sb_wal_get(st, "enc", "000000010000000000000001", path, &err) == SB_ERR_AUTH);
	sb_storage_free(st);

	/* encryption cannot be turned off for the stanza */
	st = open_repo(SB_CIPHER_NONE, NULL);
	SB_CHECK(sb_stanza_load(st, "enc", &loaded, &err) == SB_ERR_MISMATCH);
	SB_CHECK(strstr(err.msg, "is encrypted") != NULL && err.hint[0] != '\0');
	SB_CHECK(sb_stanza_ensure(st, "enc", &mine, &err) == SB_ERR_MISMATCH);
	/* nor turned on for an unencrypted one */
	SB_CHECK(sb_stanza_ensure(st, "plain", &mine, &err) == SB_OK);
	sb_storage_free(st);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass1);
	SB_CHECK(sb_stanza_ensure(st, "plain", &mine, &err) == SB_ERR_MISMATCH);
	SB_CHECK(strstr(err.msg, "is not encrypted") != NULL);
	SB_CHECK(strstr(err.hint, "new stanza") != NULL);
	sb_storage_free(st);

	/* a passphrase file with loose permissions is refused */
	chmod(pass1, 0644);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass1);
	SB_CHECK(sb_stanza_load(st, "enc", &loaded, &err) == SB_ERR_PERMISSION);
	sb_storage_free(st);
	chmod(pass1, 0600);

	/* rekey: the old passphrase stops working, the new one reads old data */
	st = open_repo(SB_CIPHER_AES_256_GCM, bad);
	SB_CHECK(sb_stanza_rekey(st, "enc", pass2, 0, &err) == SB_ERR_AUTH);
	sb_storage_free(st);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass1);
	SB_CHECK_MSG(sb_stanza_rekey(st, "enc", pass2, 0, &err) == SB_OK, "%s", err.msg);
	sb_storage_free(st);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass1);
	SB_CHECK(sb_stanza_load(st, "enc", &loaded, &err) == SB_ERR_AUTH);
	sb_storage_free(st);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass2);
	SB_CHECK_MSG(sb_stanza_load(st, "enc", &loaded, &err) == SB_OK, "%s", err.msg);
	SB_CHECK(loaded.cipher_type == SB_CIPHER_AES_256_GCM &&
			 loaded.system_identifier == mine.system_identifier);
	unlink(path);
	SB_CHECK_MSG(sb_wal_get(st, "enc", "000000010000000000000001", path, &err) == SB_OK, "%s", err.msg);
	sb_storage_free(st);
	/* both copies were replaced: the copy alone opens with the new one */
	snprintf(path, sizeof(path), "%s/repo/enc/stanza.info", root);
	unlink(path);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass2);
	SB_CHECK(sb_stanza_load(st, "enc", &loaded, &err) == SB_OK);
	sb_storage_free(st);

	/* rekey with the same passphrase to change the scrypt cost */
	st = open_repo(SB_CIPHER_AES_256_GCM, pass2);
	SB_CHECK(sb_stanza_rekey(st, "enc", pass2, 9, &err) == SB_ERR_CONFIG);
	SB_CHECK(sb_stanza_rekey(st, "enc", pass2, 23, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(sb_stanza_rekey(st, "enc", pass2, 12, &err) == SB_OK, "%s", err.msg);
	sb_storage_free(st);
	info_text = sb_test_read_file(path, &len);
	SB_CHECK(info_text != NULL && strstr(info_text, "cipher_kdf_n=4096\n") != NULL);
	free(info_text);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass2);
	SB_CHECK(sb_stanza_load(st, "enc", &loaded, &err) == SB_OK);
	snprintf(path, sizeof(path), "%s/walback", root);
	unlink(path);
	SB_CHECK_MSG(sb_wal_get(st, "enc", "000000010000000000000001", path, &err) == SB_OK, "%s", err.msg);
	sb_storage_free(st);

	/* losing both info files does not make a new key over old data */
	snprintf(path, sizeof(path), "%s/repo/enc/stanza.info", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/repo/enc/stanza.info.copy", root);
	unlink(path);
	st = open_repo(SB_CIPHER_AES_256_GCM, pass2);
	SB_CHECK(sb_stanza_ensure(st, "enc", &mine, &err) == SB_ERR_CORRUPT);
	SB_CHECK(strstr(err.msg, "has no stanza info file") != NULL && err.hint[0] != '\0');
	SB_CHECK(st->cipher == NULL);
	sb_storage_free(st);
	SB_CHECK(access(path, F_OK) != 0);

	free(wal);
	unlink(pass1);
	unlink(pass2);
	unlink(bad);
	unlink(walsrc);
}

int
main(void)
{
	snprintf(root, sizeof(root), "/tmp/sb_cipher_XXXXXX");
	if (mkdtemp(root) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	test_gcm_vectors();
	test_hkdf_vector();
	test_round_trips();
	test_tampering();
	test_codec_encrypted();
	test_pass_file();
	test_wrap();
	test_stanza_keys();
	sb_test_rm_tree(root);
	return sb_test_summary("cipher");
}
