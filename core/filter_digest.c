/*-------------------------------------------------------------------------
 *
 * filter_digest.c
 *		The pass-through filters that measure what flows through them: the
 *		digest filters (SHA-256, HMAC-SHA256, XXH3-128), the byte count
 *		filter (also the pass-through for SB_COMPRESS_NONE), and the
 *		one-shot sb_sha256_hex().
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "sb_xxhash.h"

static void
to_hex(const unsigned char *md, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * len] = '\0';
}

/* ----------------------------------------------------------------
 *		Digest filter: SHA-256 (or HMAC-SHA256, or XXH3-128) and byte
 *		count, pass-through
 * ----------------------------------------------------------------
 */

typedef struct DigestFilter
{
	SbFilter	base;
	EVP_MD_CTX *ctx;
	EVP_MAC_CTX *mac;			/* HMAC-SHA256 instead of SHA-256 when set */
	XXH3_state_t *xxh;			/* XXH3-128 instead of SHA-256 when set */
	bool		init_ok;		/* the context is initialized */
	bool		finished;
	uint64_t	bytes;
	char		hex[SB_SHA256_HEX_LEN + 1];
} DigestFilter;

static SbStatus
digest_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	DigestFilter *d = (DigestFilter *) f;

	if (d->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compute checksum: write after finish");
	if (!d->init_ok)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not initialize SHA-256 context");
	if (d->xxh != NULL)
	{
		if (XXH3_128bits_update(d->xxh, buf, len) != XXH_OK)
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not update XXH3 state");
	}
	else if (d->mac != NULL ? EVP_MAC_update(d->mac, buf, len) != 1 :
			 EVP_DigestUpdate(d->ctx, buf, len) != 1)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not update SHA-256 context");
	d->bytes += len;
	return sb_filter_push(f, buf, len, err);
}

static SbStatus
digest_finish(SbFilter *f, SbError *err)
{
	DigestFilter *d = (DigestFilter *) f;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t		maclen = 0;

	if (d->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compute checksum: finished twice");
	d->finished = true;
	if (!d->init_ok)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not initialize SHA-256 context");
	if (d->xxh != NULL)
	{
		XXH128_canonical_t canon;

		XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(d->xxh));
		to_hex(canon.digest, sizeof(canon.digest), d->hex);
		return sb_filter_finish_next(f, err);
	}
	if (d->mac != NULL)
	{
		if (EVP_MAC_final(d->mac, md, &maclen, sizeof(md)) != 1)
			maclen = 0;
		mdlen = (unsigned int) maclen;
	}
	else if (EVP_DigestFinal_ex(d->ctx, md, &mdlen) != 1)
		mdlen = 0;
	if (mdlen != SB_SHA256_LEN)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not finalize SHA-256 context");
	to_hex(md, SB_SHA256_LEN, d->hex);
	return sb_filter_finish_next(f, err);
}

static void
digest_free(SbFilter *f)
{
	DigestFilter *d = (DigestFilter *) f;

	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->ctx);
	EVP_MAC_CTX_free(d->mac);
	XXH3_freeState(d->xxh);
	free(d);
}

/*
 * The common end of the digest filters' constructors: an initialization
 * failure (init_ok false) is reported by the first write or finish.
 */
static SbFilter *
digest_ready(DigestFilter *d, bool init_ok, SbFilter *next)
{
	d->init_ok = init_ok;
	d->base.write = digest_write;
	d->base.space = sb_filter_space_next;
	d->base.finish = digest_finish;
	d->base.free = digest_free;
	d->base.next = next;
	return &d->base;
}

SbFilter *
sb_filter_digest_new(SbFilter *next)
{
	DigestFilter *d;

	d = calloc(1, sizeof(DigestFilter));
	if (d == NULL)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (d->ctx == NULL)
	{
		free(d);
		return NULL;
	}
	return digest_ready(d, EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) == 1, next);
}

SbFilter *
sb_filter_hmac_new(const uint8_t *key, size_t keylen, SbFilter *next)
{
	DigestFilter *d;
	EVP_MAC    *mac;
	OSSL_PARAM	params[2];

	d = calloc(1, sizeof(DigestFilter));
	if (d == NULL)
		return NULL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	d->mac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	if (d->mac == NULL)
	{
		free(d);
		return NULL;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
												 (char *) "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	return digest_ready(d, EVP_MAC_init(d->mac, key, keylen, params) == 1, next);
}

SbFilter *
sb_filter_xxh128_new(SbFilter *next)
{
	DigestFilter *d;

	d = calloc(1, sizeof(DigestFilter));
	if (d == NULL)
		return NULL;
	d->xxh = XXH3_createState();
	if (d->xxh == NULL)
	{
		free(d);
		return NULL;
	}
	return digest_ready(d, XXH3_128bits_reset(d->xxh) == XXH_OK, next);
}

SbDigestKind
sb_digest_kind_of(const char *hex)
{
	return hex != NULL && strlen(hex) == SB_XXH128_HEX_LEN ?
		SB_DIGEST_XXH128 : SB_DIGEST_SHA256;
}

void
sb_filter_digest_hex(SbFilter *f, char *hex)
{
	DigestFilter *d = (DigestFilter *) f;

	if (f == NULL || f->write != digest_write)
	{
		hex[0] = '\0';
		return;
	}
	memcpy(hex, d->hex, sizeof(d->hex));
}

uint64_t
sb_filter_digest_bytes(SbFilter *f)
{
	if (f == NULL || f->write != digest_write)
		return 0;
	return ((DigestFilter *) f)->bytes;
}

void
sb_sha256_hex(const void *buf, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (buf == NULL)
		buf = "";
	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != SB_SHA256_LEN)
	{
		/* no way to report an error here; an empty string never matches */
		hex[0] = '\0';
		return;
	}
	to_hex(md, SB_SHA256_LEN, hex);
}

/* ----------------------------------------------------------------
 *		Count filter: counts bytes, pass-through
 *
 * Also serves as the pass-through for SB_COMPRESS_NONE.
 * ----------------------------------------------------------------
 */

typedef struct CountFilter
{
	SbFilter	base;
	uint64_t	bytes;
} CountFilter;

static SbStatus
count_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	((CountFilter *) f)->bytes += len;
	return sb_filter_push(f, buf, len, err);
}

static SbStatus
count_finish(SbFilter *f, SbError *err)
{
	return sb_filter_finish_next(f, err);
}

static void
count_free(SbFilter *f)
{
	free(f);
}

SbFilter *
sb_filter_count_new(SbFilter *next)
{
	CountFilter *c;

	c = calloc(1, sizeof(CountFilter));
	if (c == NULL)
		return NULL;
	c->base.write = count_write;
	c->base.space = sb_filter_space_next;
	c->base.finish = count_finish;
	c->base.free = count_free;
	c->base.next = next;
	return &c->base;
}

uint64_t
sb_filter_count_bytes(SbFilter *f)
{
	if (f == NULL || f->write != count_write)
		return 0;
	return ((CountFilter *) f)->bytes;
}
