/*-------------------------------------------------------------------------
 *
 * filter_cipher.c
 *		The encrypt and decrypt filters: streaming authenticated encryption
 *		of one repository file in fixed-size AES-256-GCM chunks.
 *
 * Stored form of an encrypted file:
 *
 *   header (44 bytes):  "PGSBENC" | version (1 or 2) | chunk size (u32, BE)
 *                       | file salt (32 random bytes)
 *   chunks:             ciphertext (chunk size bytes, the last one 0 to
 *                       chunk size bytes) | GCM tag (16 bytes)
 *
 * Each file gets its own AES-256 key, HKDF-SHA256(data key, file salt), so
 * a nonce is never reused under one key: the nonce is the chunk index
 * (4 zero bytes | index as u64 BE) under a key that no other file shares.
 * The associated data of chunk i is
 *
 *   header | i (u64 BE) | final flag (1 byte) | repository path
 *
 * so a modified, dropped, reordered or appended chunk, a truncated file
 * (its last chunk is not flagged final) and a file moved to another name
 * all fail authentication.
 *
 * Version 2 binds the chunks to the repository path only up to the last
 * '-' of the file name: a file named by its content, "<walname>-<digest>
 * <suffix>", can then be encrypted as it is read, before its digest (and
 * so its name) is known, in one pass.  Moving it to another WAL name still
 * fails authentication; the digest part of the name is checked against
 * the decrypted content by the caller (it is an HMAC under the stanza's
 * name key, which nobody without the key can compute), so a changed digest
 * is refused too.  Version 1 binds the whole path.  Only the last chunk is final; an empty file is
 * one empty final chunk.  Plain data is passed on only after its chunk has
 * been authenticated.
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"
#include "cipher.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define HDR_MAGIC			"PGSBENC"
#define HDR_MAGIC_LEN		7
#define HDR_VERSION_PATH	1	/* bound to the whole path */
#define HDR_VERSION_PREFIX	2	/* bound to the path up to its name's last '-' */
#define HDR_LEN				(HDR_MAGIC_LEN + 1 + 4 + SB_CIPHER_SALT_LEN)
#define CHUNK_MIN			16
#define CHUNK_MAX			((size_t) 16 * 1024 * 1024)
#define FILE_KEY_INFO		"pg_safebackup file key v1"

typedef struct CipherFilter
{
	SbFilter	base;
	bool		encrypt;
	bool		finished;
	bool		header_done;	/* written (encrypt) or parsed (decrypt) */
	bool		setup_failed;	/* random or key derivation failed */
	const SbCipherKey *key;
	char	   *path;
	uint8_t		file_key[SB_CIPHER_KEY_LEN];
	uint8_t		header[HDR_LEN];
	size_t		header_have;	/* decrypt: header bytes collected */
	size_t		chunk_size;
	uint64_t	index;			/* next chunk */
	uint8_t    *in;				/* plain (encrypt) or sealed (decrypt) chunk */
	size_t		in_have;
	uint8_t    *out;
	uint8_t    *aad;
	size_t		aad_len;
} CipherFilter;

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
	{
		p[i] = (uint8_t) (v & 0xff);
		v >>= 8;
	}
}

/* Nonce and associated data of chunk c->index. */
static void
chunk_params(CipherFilter *c, bool final, uint8_t *nonce)
{
	memset(nonce, 0, SB_CIPHER_NONCE_LEN);
	put_u64(nonce + 4, c->index);
	put_u64(c->aad + HDR_LEN, c->index);
	c->aad[HDR_LEN + 8] = final ? 1 : 0;
}

/*
 * Buffers and associated data once the chunk size and header are known;
 * the chunks are bound to the first pathlen bytes of c->path.
 */
static bool
setup_buffers(CipherFilter *c, size_t pathlen)
{
	c->in = malloc(c->chunk_size + SB_CIPHER_TAG_LEN);
	c->out = malloc(c->chunk_size + SB_CIPHER_TAG_LEN);
	c->aad_len = HDR_LEN + 8 + 1 + pathlen;
	c->aad = malloc(c->aad_len);
	if (c->in == NULL || c->out == NULL || c->aad == NULL)
		return false;
	memcpy(c->aad, c->header, HDR_LEN);
	memcpy(c->aad + HDR_LEN + 9, c->path, pathlen);
	return true;
}

static bool
derive_file_key(CipherFilter *c)
{
	return sb_hkdf_sha256(c->key->data_key, SB_CIPHER_KEY_LEN,
						  c->header + HDR_MAGIC_LEN + 1 + 4, SB_CIPHER_SALT_LEN,
						  FILE_KEY_INFO, c->file_key);
}

static SbStatus
auth_error(CipherFilter *c, SbError *err)
{
	sb_error_set(err, SB_ERR_CORRUPT,
				 "could not decrypt repository file \"%s\": chunk %llu failed authentication",
				 c->path, (unsigned long long) c->index);
	sb_error_detail(err, "The file was modified, truncated or reordered, or moved here from another name, or it was encrypted with another key.");
	return SB_ERR_CORRUPT;
}

/* ----------------------------------------------------------------
 *		Encrypt
 * ----------------------------------------------------------------
 */

static SbStatus
seal_chunk(CipherFilter *c, bool final, SbError *err)
{
	uint8_t		nonce[SB_CIPHER_NONCE_LEN];
	SbStatus	rc;

	chunk_params(c, final, nonce);
	if (!sb_aes256gcm_seal(c->file_key, nonce, c->aad, c->aad_len, c->in,
						   c->in_have, c->out, c->out + c->in_have))
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not encrypt data for repository file \"%s\"", c->path);
	rc = sb_filter_push(&c->base, c->out, c->in_have + SB_CIPHER_TAG_LEN, err);
	c->index++;
	c->in_have = 0;
	return rc;
}

static SbStatus
encrypt_header(CipherFilter *c, SbError *err)
{
	if (c->header_done)
		return SB_OK;
	if (c->setup_failed)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not set up encryption for repository file \"%s\"", c->path);
	c->header_done = true;
	return sb_filter_push(&c->base, c->header, HDR_LEN, err);
}

static SbStatus
encrypt_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	CipherFilter *c = (CipherFilter *) f;
	SbStatus	rc;

	if (c->finished)
		return sb_error_set(err, SB_ERR_INTERNAL, "encrypt filter: write after finish");
	rc = encrypt_header(c, err);
	while (rc == SB_OK && len > 0)
	{
		size_t		n;

		/* a full chunk is sealed only once more data shows it is not the last */
		if (c->in_have == c->chunk_size)
		{
			rc = seal_chunk(c, false, err);
			if (rc != SB_OK)
				break;
		}
		n = c->chunk_size - c->in_have;
		if (n > len)
			n = len;
		memcpy(c->in + c->in_have, buf, n);
		c->in_have += n;
		buf += n;
		len -= n;
	}
	return rc;
}

static SbStatus
encrypt_finish(SbFilter *f, SbError *err)
{
	CipherFilter *c = (CipherFilter *) f;
	SbStatus	rc;

	if (c->finished)
		return sb_error_set(err, SB_ERR_INTERNAL, "encrypt filter: finished twice");
	c->finished = true;
	rc = encrypt_header(c, err);
	if (rc == SB_OK)
		rc = seal_chunk(c, true, err);
	if (rc == SB_OK)
		rc = sb_filter_finish_next(f, err);
	return rc;
}

/* ----------------------------------------------------------------
 *		Decrypt
 * ----------------------------------------------------------------
 */

static SbStatus
open_chunk(CipherFilter *c, bool final, SbError *err)
{
	uint8_t		nonce[SB_CIPHER_NONCE_LEN];
	size_t		n;
	SbStatus	rc;

	if (c->in_have < SB_CIPHER_TAG_LEN)
	{
		sb_error_set(err, SB_ERR_CORRUPT,
					 "encrypted repository file \"%s\" is truncated", c->path);
		sb_error_detail(err, "Chunk %llu is %zu bytes long, shorter than its authentication tag.",
						(unsigned long long) c->index, c->in_have);
		return SB_ERR_CORRUPT;
	}
	n = c->in_have - SB_CIPHER_TAG_LEN;
	chunk_params(c, final, nonce);
	if (!sb_aes256gcm_open(c->file_key, nonce, c->aad, c->aad_len, c->in, n,
						   c->in + n, c->out))
		return auth_error(c, err);
	rc = sb_filter_push(&c->base, c->out, n, err);
	c->index++;
	c->in_have = 0;
	return rc;
}

static SbStatus
bad_header(CipherFilter *c, const char *what, SbError *err)
{
	sb_error_set(err, SB_ERR_CORRUPT,
				 "repository file \"%s\" is not a valid encrypted file: %s", c->path, what);
	return SB_ERR_CORRUPT;
}

/* Collect and check the header; SB_OK with header_done once complete. */
static SbStatus
decrypt_header(CipherFilter *c, const uint8_t **buf, size_t *len, SbError *err)
{
	size_t		n = HDR_LEN - c->header_have;
	size_t		pathlen = strlen(c->path);
	const uint8_t *p;

	if (n > *len)
		n = *len;
	memcpy(c->header + c->header_have, *buf, n);
	c->header_have += n;
	*buf += n;
	*len -= n;
	if (c->header_have < HDR_LEN)
		return SB_OK;

	if (memcmp(c->header, HDR_MAGIC, HDR_MAGIC_LEN) != 0)
		return bad_header(c, "bad magic", err);
	if (c->header[HDR_MAGIC_LEN] != HDR_VERSION_PATH &&
		c->header[HDR_MAGIC_LEN] != HDR_VERSION_PREFIX)
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "repository file \"%s\" uses encryption format version %d, which this build does not support",
					 c->path, c->header[HDR_MAGIC_LEN]);
		sb_error_hint(err, "Upgrade pg_safebackup.");
		return SB_ERR_CONFIG;
	}
	p = c->header + HDR_MAGIC_LEN + 1;
	c->chunk_size = ((size_t) p[0] << 24) | ((size_t) p[1] << 16) |
		((size_t) p[2] << 8) | (size_t) p[3];
	if (c->chunk_size < CHUNK_MIN || c->chunk_size > CHUNK_MAX)
		return bad_header(c, "invalid chunk size", err);
	if (!derive_file_key(c))
		return sb_error_set(err, SB_ERR_INTERNAL, "could not derive a file key");
	if (c->header[HDR_MAGIC_LEN] == HDR_VERSION_PREFIX)
	{
		const char *base = strrchr(c->path, '/');
		const char *dash = strrchr(base != NULL ? base : c->path, '-');

		if (dash == NULL)
			return bad_header(c, "bound to a name given by its content, which this name is not", err);
		pathlen = (size_t) (dash - c->path) + 1;
	}
	if (!setup_buffers(c, pathlen))
		return sb_error_oom(err);
	c->header_done = true;
	return SB_OK;
}

static SbStatus
decrypt_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	CipherFilter *c = (CipherFilter *) f;
	size_t		sealed = 0;
	SbStatus	rc = SB_OK;

	if (c->finished)
		return sb_error_set(err, SB_ERR_INTERNAL, "decrypt filter: write after finish");
	if (!c->header_done)
	{
		rc = decrypt_header(c, &buf, &len, err);
		if (rc != SB_OK || !c->header_done)
			return rc;
	}
	sealed = c->chunk_size + SB_CIPHER_TAG_LEN;
	while (len > 0)
	{
		size_t		n;

		/* a full chunk is opened as not final only once more data follows */
		if (c->in_have == sealed)
		{
			rc = open_chunk(c, false, err);
			if (rc != SB_OK)
				return rc;
		}
		n = sealed - c->in_have;
		if (n > len)
			n = len;
		memcpy(c->in + c->in_have, buf, n);
		c->in_have += n;
		buf += n;
		len -= n;
	}
	return SB_OK;
}

static SbStatus
decrypt_finish(SbFilter *f, SbError *err)
{
	CipherFilter *c = (CipherFilter *) f;
	SbStatus	rc;

	if (c->finished)
		return sb_error_set(err, SB_ERR_INTERNAL, "decrypt filter: finished twice");
	c->finished = true;
	if (!c->header_done)
	{
		if (c->header_have == 0)
			return bad_header(c, "the file is empty", err);
		sb_error_set(err, SB_ERR_CORRUPT,
					 "encrypted repository file \"%s\" is truncated", c->path);
		sb_error_detail(err, "It ends inside its %d-byte header.", HDR_LEN);
		return SB_ERR_CORRUPT;
	}
	rc = open_chunk(c, true, err);
	if (rc == SB_OK)
		rc = sb_filter_finish_next(f, err);
	return rc;
}

/* ----------------------------------------------------------------
 *		Construction
 * ----------------------------------------------------------------
 */

static void
cipher_free(SbFilter *f)
{
	CipherFilter *c = (CipherFilter *) f;

	if (c == NULL)
		return;
	if (c->in != NULL)
	{
		OPENSSL_cleanse(c->in, c->chunk_size + SB_CIPHER_TAG_LEN);
		free(c->in);
	}
	if (c->out != NULL)
	{
		OPENSSL_cleanse(c->out, c->chunk_size + SB_CIPHER_TAG_LEN);
		free(c->out);
	}
	free(c->aad);
	free(c->path);
	OPENSSL_cleanse(c->file_key, sizeof(c->file_key));
	free(c);
}

static CipherFilter *
cipher_alloc(const SbCipherKey *key, const char *path, SbFilter *next)
{
	CipherFilter *c = calloc(1, sizeof(CipherFilter));

	if (c == NULL)
		return NULL;
	c->path = strdup(path);
	if (c->path == NULL)
	{
		free(c);
		return NULL;
	}
	c->key = key;
	c->base.next = next;
	c->base.free = cipher_free;
	return c;
}

static SbFilter *
encrypt_new(const SbCipherKey *key, const char *path, int version,
			SbFilter *next)
{
	CipherFilter *c = cipher_alloc(key, path, next);
	uint8_t    *p;

	if (c == NULL)
		return NULL;
	c->encrypt = true;
	c->base.write = encrypt_write;
	c->base.finish = encrypt_finish;
	c->chunk_size = SB_CIPHER_CHUNK_SIZE;

	memcpy(c->header, HDR_MAGIC, HDR_MAGIC_LEN);
	c->header[HDR_MAGIC_LEN] = (uint8_t) version;
	p = c->header + HDR_MAGIC_LEN + 1;
	p[0] = (uint8_t) (c->chunk_size >> 24);
	p[1] = (uint8_t) (c->chunk_size >> 16);
	p[2] = (uint8_t) (c->chunk_size >> 8);
	p[3] = (uint8_t) c->chunk_size;
	/* failures here are reported by the first write or finish */
	if (!sb_random_bytes(p + 4, SB_CIPHER_SALT_LEN) || !derive_file_key(c))
		c->setup_failed = true;
	if (!setup_buffers(c, strlen(c->path)))
	{
		cipher_free(&c->base);
		return NULL;
	}
	return &c->base;
}

SbFilter *
sb_filter_encrypt_new(const SbCipherKey *key, const char *path, SbFilter *next)
{
	return encrypt_new(key, path, HDR_VERSION_PATH, next);
}

SbFilter *
sb_filter_encrypt_addressed_new(const SbCipherKey *key, const char *prefix,
								SbFilter *next)
{
	return encrypt_new(key, prefix, HDR_VERSION_PREFIX, next);
}

SbFilter *
sb_filter_decrypt_new(const SbCipherKey *key, const char *path, SbFilter *next)
{
	CipherFilter *c = cipher_alloc(key, path, next);

	if (c == NULL)
		return NULL;
	c->encrypt = false;
	c->base.write = decrypt_write;
	c->base.finish = decrypt_finish;
	return &c->base;
}

bool
sb_cipher_header_present(const void *buf, size_t len)
{
	return len >= HDR_MAGIC_LEN && memcmp(buf, HDR_MAGIC, HDR_MAGIC_LEN) == 0;
}
