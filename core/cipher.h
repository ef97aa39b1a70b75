/*-------------------------------------------------------------------------
 *
 * cipher.h
 *		Repository encryption keys: the passphrase file, the key-encryption
 *		key derived from it, the stanza's data key wrapped by that, the keys
 *		derived from the data key, and AES-256-GCM one-shot helpers.
 *
 * Key hierarchy (see docs/repository-format.md, "Encryption"):
 *
 *   passphrase --scrypt(salt, N, r, p)--> KEK (256 bits)
 *   KEK --AES-256-GCM wrap--> data key (256 random bits, stored wrapped)
 *   data key --HKDF-SHA256(file salt)--> one key per stored file
 *   data key --HKDF-SHA256--> name key (HMAC-SHA256 of content in names)
 *
 * The streaming filters that use these keys are in filter_cipher.c.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CIPHER_H
#define SB_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_error.h"

#define SB_CIPHER_KEY_LEN		32	/* AES-256 */
#define SB_CIPHER_NONCE_LEN		12	/* GCM nonce */
#define SB_CIPHER_TAG_LEN		16	/* GCM tag */
#define SB_CIPHER_SALT_LEN		32	/* KDF salt */
#define SB_CIPHER_PASS_MAX		1024	/* longest passphrase accepted */

/* Wrapped data key: nonce || encrypted key || tag */
#define SB_CIPHER_WRAPPED_LEN	(SB_CIPHER_NONCE_LEN + SB_CIPHER_KEY_LEN + SB_CIPHER_TAG_LEN)

/*
 * scrypt parameters of a new stanza: 16 MiB of memory, some 50 to 100 ms of
 * CPU, paid once per repository session (so once per archive-get during
 * recovery).  "pg_safebackup rekey --cipher-kdf-log2n" changes N.
 */
#define SB_KDF_DEFAULT_LOG2N	14
#define SB_KDF_MIN_LOG2N		10
#define SB_KDF_MAX_LOG2N		22
#define SB_KDF_DEFAULT_R		8
#define SB_KDF_DEFAULT_P		1

/* Parameters of the passphrase KDF, as stored in the stanza info file. */
typedef struct SbKdfParams
{
	uint64_t	n;				/* scrypt cost, a power of two */
	uint32_t	r;				/* block size */
	uint32_t	p;				/* parallelism */
	uint8_t		salt[SB_CIPHER_SALT_LEN];
} SbKdfParams;

/*
 * The unwrapped key material of one stanza, held in memory while the
 * repository is open (attached to SbStorage.cipher).  Wiped when freed.
 */
typedef struct SbCipherKey
{
	uint8_t		data_key[SB_CIPHER_KEY_LEN];
	uint8_t		name_key[SB_CIPHER_KEY_LEN];	/* for HMAC-SHA256 digests */
	char		wrapped_hex[2 * SB_CIPHER_WRAPPED_LEN + 1]; /* what it came from */
} SbCipherKey;

/*
 * Read a passphrase file: a regular file owned by the effective user with
 * no group or other permission bits (0600 or stricter).  One trailing
 * newline (LF or CRLF) is removed; an empty passphrase is refused.  pass
 * must hold SB_CIPHER_PASS_MAX + 1 bytes; wipe it after use.
 */
extern SbStatus sb_cipher_read_pass_file(const char *path, char *pass,
										 size_t *len, SbError *err);

/* New parameters: defaults and a fresh random salt. */
extern SbStatus sb_kdf_params_new(SbKdfParams *params, SbError *err);
/* Are stored parameters within what this build accepts? */
extern bool sb_kdf_params_valid(const SbKdfParams *params);

/* Derive the key-encryption key from a passphrase. */
extern SbStatus sb_cipher_derive_kek(const char *pass, size_t passlen,
									 const SbKdfParams *params,
									 uint8_t *kek, SbError *err);

/*
 * Wrap data_key with kek (random nonce); aad binds the KDF parameters.
 * Unwrap fails with SB_ERR_AUTH ("wrong passphrase") when the tag does not
 * match.
 */
extern SbStatus sb_cipher_wrap(const uint8_t *kek, const uint8_t *data_key,
							   const uint8_t *aad, size_t aadlen,
							   uint8_t *wrapped, SbError *err);
extern SbStatus sb_cipher_unwrap(const uint8_t *kek, const uint8_t *wrapped,
								 const uint8_t *aad, size_t aadlen,
								 uint8_t *data_key, SbError *err);

/* A key object for a data key (derives the name key); NULL when out of memory. */
extern SbCipherKey *sb_cipher_key_new(const uint8_t *data_key);
/* Wipe and free; NULL is fine. */
extern void sb_cipher_key_free(SbCipherKey *key);

/* HKDF-SHA256 with a 32-byte output. */
extern bool sb_hkdf_sha256(const uint8_t *ikm, size_t ikmlen,
						   const uint8_t *salt, size_t saltlen,
						   const char *info, uint8_t *out);

/* Random bytes from the OpenSSL CSPRNG. */
extern bool sb_random_bytes(uint8_t *buf, size_t len);

/*
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag, in one call.  out may
 * equal in.  open returns false when the tag does not match (out is then
 * wiped).
 */
extern bool sb_aes256gcm_seal(const uint8_t *key, const uint8_t *nonce,
							  const uint8_t *aad, size_t aadlen,
							  const uint8_t *in, size_t len,
							  uint8_t *out, uint8_t *tag);
extern bool sb_aes256gcm_open(const uint8_t *key, const uint8_t *nonce,
							  const uint8_t *aad, size_t aadlen,
							  const uint8_t *in, size_t len,
							  const uint8_t *tag, uint8_t *out);

/* Hex helpers: to_hex writes 2*len+1 bytes; from_hex needs exactly 2*len digits. */
extern void sb_hex_encode(const uint8_t *buf, size_t len, char *hex);
extern bool sb_hex_decode(const char *hex, uint8_t *buf, size_t len);
/* the value of one hex digit (either case), -1 for anything else */
extern int	sb_hex_digit(char c);

#endif							/* SB_CIPHER_H */
