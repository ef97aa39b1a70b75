/*-------------------------------------------------------------------------
 *
 * cipher.c
 *		Repository encryption keys and AES-256-GCM helpers; see cipher.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "cipher.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "secret_file.h"

/* bounds on stored scrypt parameters: at most 1 GiB of memory */
#define KDF_MIN_LOG2N		SB_KDF_MIN_LOG2N
#define KDF_MAX_LOG2N		SB_KDF_MAX_LOG2N
#define KDF_MAX_R			32
#define KDF_MAX_P			16
#define KDF_MAX_MEM			((uint64_t) 1 << 30)

#define NAME_KEY_INFO		"pg_safebackup name key v1"

/* ----------------------------------------------------------------
 *		Passphrase file
 * ----------------------------------------------------------------
 */

SbStatus
sb_cipher_read_pass_file(const char *path, char *pass, size_t *len,
						 SbError *err)
{
	ssize_t		n;
	size_t		used = 0;
	int			fd;

	*len = 0;
	if (path == NULL || path[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "no passphrase file is set for encryption");
		sb_error_hint(err, "Set cipher_pass_file to a file holding the repository passphrase.");
		return SB_ERR_CONFIG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open passphrase file \"%s\"", path);
	/* check the file we opened, not the name */
	if (sb_secret_file_check(path, fd, "passphrase file", SB_ERR_PERMISSION,
							 err) != SB_OK)
	{
		close(fd);
		return err->status;
	}

	for (;;)
	{
		n = read(fd, pass + used, SB_CIPHER_PASS_MAX + 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			int			save = errno;

			close(fd);
			OPENSSL_cleanse(pass, SB_CIPHER_PASS_MAX + 1);
			return sb_error_errno(err, save, "could not read passphrase file \"%s\"", path);
		}
		if (n == 0)
			break;
		used += (size_t) n;
		if (used > SB_CIPHER_PASS_MAX)
		{
			close(fd);
			OPENSSL_cleanse(pass, SB_CIPHER_PASS_MAX + 1);
			return sb_error_set(err, SB_ERR_CONFIG,
								"passphrase in file \"%s\" is longer than %d bytes",
								path, SB_CIPHER_PASS_MAX);
		}
	}
	close(fd);

	/* one trailing line end, as "echo" or an editor leaves */
	if (used > 0 && pass[used - 1] == '\n')
		used--;
	if (used > 0 && pass[used - 1] == '\r')
		used--;
	pass[used] = '\0';
	if (used == 0)
		return sb_error_set(err, SB_ERR_CONFIG, "passphrase file \"%s\" is empty", path);
	if (memchr(pass, '\0', used) != NULL)
	{
		OPENSSL_cleanse(pass, SB_CIPHER_PASS_MAX + 1);
		return sb_error_set(err, SB_ERR_CONFIG,
							"passphrase file \"%s\" contains a NUL byte", path);
	}
	*len = used;
	return SB_OK;
}

/* ----------------------------------------------------------------
 *		Passphrase KDF and key wrapping
 * ----------------------------------------------------------------
 */

bool
sb_random_bytes(uint8_t *buf, size_t len)
{
	return RAND_bytes(buf, (int) len) == 1;
}

SbStatus
sb_kdf_params_new(SbKdfParams *params, SbError *err)
{
	memset(params, 0, sizeof(*params));
	params->n = (uint64_t) 1 << SB_KDF_DEFAULT_LOG2N;
	params->r = SB_KDF_DEFAULT_R;
	params->p = SB_KDF_DEFAULT_P;
	if (!sb_random_bytes(params->salt, sizeof(params->salt)))
		return sb_error_set(err, SB_ERR_INTERNAL, "could not generate random bytes");
	return SB_OK;
}

bool
sb_kdf_params_valid(const SbKdfParams *params)
{
	uint64_t	n = params->n;
	int			log2n = 0;

	if (n == 0 || (n & (n - 1)) != 0)
		return false;
	while (((uint64_t) 1 << log2n) < n)
		log2n++;
	if (log2n < KDF_MIN_LOG2N || log2n > KDF_MAX_LOG2N)
		return false;
	if (params->r < 1 || params->r > KDF_MAX_R || params->p < 1 || params->p > KDF_MAX_P)
		return false;
	return (uint64_t) 128 * params->r * n <= KDF_MAX_MEM;
}

SbStatus
sb_cipher_derive_kek(const char *pass, size_t passlen,
					 const SbKdfParams *params, uint8_t *kek, SbError *err)
{
	uint64_t	maxmem;

	if (!sb_kdf_params_valid(params))
		return sb_error_set(err, SB_ERR_CORRUPT,
							"invalid key derivation parameters (N=%llu, r=%u, p=%u)",
							(unsigned long long) params->n, params->r, params->p);
	/* what scrypt needs, plus room for its bookkeeping */
	maxmem = (uint64_t) 128 * params->r * (params->n + params->p + 2) + (1 << 20);
	if (EVP_PBE_scrypt(pass, passlen, params->salt, sizeof(params->salt),
					   params->n, params->r, params->p, maxmem,
					   kek, SB_CIPHER_KEY_LEN) != 1)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not derive the key-encryption key (scrypt failed)");
	return SB_OK;
}

SbStatus
sb_cipher_wrap(const uint8_t *kek, const uint8_t *data_key,
			   const uint8_t *aad, size_t aadlen, uint8_t *wrapped,
			   SbError *err)
{
	uint8_t    *nonce = wrapped;
	uint8_t    *ct = wrapped + SB_CIPHER_NONCE_LEN;
	uint8_t    *tag = ct + SB_CIPHER_KEY_LEN;

	if (!sb_random_bytes(nonce, SB_CIPHER_NONCE_LEN))
		return sb_error_set(err, SB_ERR_INTERNAL, "could not generate random bytes");
	if (!sb_aes256gcm_seal(kek, nonce, aad, aadlen, data_key, SB_CIPHER_KEY_LEN,
						   ct, tag))
		return sb_error_set(err, SB_ERR_INTERNAL, "could not wrap the data key");
	return SB_OK;
}

SbStatus
sb_cipher_unwrap(const uint8_t *kek, const uint8_t *wrapped,
				 const uint8_t *aad, size_t aadlen, uint8_t *data_key,
				 SbError *err)
{
	const uint8_t *nonce = wrapped;
	const uint8_t *ct = wrapped + SB_CIPHER_NONCE_LEN;
	const uint8_t *tag = ct + SB_CIPHER_KEY_LEN;

	if (!sb_aes256gcm_open(kek, nonce, aad, aadlen, ct, SB_CIPHER_KEY_LEN, tag,
						   data_key))
	{
		sb_error_set(err, SB_ERR_AUTH, "wrong passphrase");
		sb_error_detail(err, "The passphrase does not unlock the stanza's data key (or the key material in the stanza info file was altered).");
		sb_error_hint(err, "Check that cipher_pass_file names the file holding this stanza's current passphrase; after \"pg_safebackup rekey\" use the new one.");
		return SB_ERR_AUTH;
	}
	return SB_OK;
}

/* ----------------------------------------------------------------
 *		Key objects and derived keys
 * ----------------------------------------------------------------
 */

bool
sb_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
			   size_t saltlen, const char *info, uint8_t *out)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t		outlen = SB_CIPHER_KEY_LEN;
	bool		ok;

	if (pctx == NULL)
		return false;
	ok = EVP_PKEY_derive_init(pctx) > 0 &&
		EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) > 0 &&
		EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, (int) ikmlen) > 0 &&
		(saltlen == 0 || EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, (int) saltlen) > 0) &&
		EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *) info,
									(int) strlen(info)) > 0 &&
		EVP_PKEY_derive(pctx, out, &outlen) > 0 &&
		outlen == SB_CIPHER_KEY_LEN;
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

SbCipherKey *
sb_cipher_key_new(const uint8_t *data_key)
{
	SbCipherKey *key = calloc(1, sizeof(SbCipherKey));

	if (key == NULL)
		return NULL;
	memcpy(key->data_key, data_key, SB_CIPHER_KEY_LEN);
	if (!sb_hkdf_sha256(data_key, SB_CIPHER_KEY_LEN, NULL, 0, NAME_KEY_INFO,
						key->name_key))
	{
		sb_cipher_key_free(key);
		return NULL;
	}
	return key;
}

void
sb_cipher_key_free(SbCipherKey *key)
{
	if (key == NULL)
		return;
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}

/* ----------------------------------------------------------------
 *		AES-256-GCM
 * ----------------------------------------------------------------
 */

bool
sb_aes256gcm_seal(const uint8_t *key, const uint8_t *nonce,
				  const uint8_t *aad, size_t aadlen, const uint8_t *in,
				  size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			n;
	bool		ok;

	if (ctx == NULL || len > INT32_MAX || aadlen > INT32_MAX)
	{
		EVP_CIPHER_CTX_free(ctx);
		return false;
	}
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SB_CIPHER_NONCE_LEN, NULL) == 1 &&
		EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
		(aadlen == 0 || EVP_EncryptUpdate(ctx, NULL, &n, aad, (int) aadlen) == 1) &&
		(len == 0 || EVP_EncryptUpdate(ctx, out, &n, in, (int) len) == 1) &&
		EVP_EncryptFinal_ex(ctx, out + len, &n) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SB_CIPHER_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

bool
sb_aes256gcm_open(const uint8_t *key, const uint8_t *nonce,
				  const uint8_t *aad, size_t aadlen, const uint8_t *in,
				  size_t len, const uint8_t *tag, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t		tagcopy[SB_CIPHER_TAG_LEN];
	int			n;
	bool		ok;

	if (ctx == NULL || len > INT32_MAX || aadlen > INT32_MAX)
	{
		EVP_CIPHER_CTX_free(ctx);
		return false;
	}
	memcpy(tagcopy, tag, sizeof(tagcopy));
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SB_CIPHER_NONCE_LEN, NULL) == 1 &&
		EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
		(aadlen == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad, (int) aadlen) == 1) &&
		(len == 0 || EVP_DecryptUpdate(ctx, out, &n, in, (int) len) == 1) &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SB_CIPHER_TAG_LEN, tagcopy) == 1 &&
		EVP_DecryptFinal_ex(ctx, out + len, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok && len > 0)
		OPENSSL_cleanse(out, len);
	return ok;
}

/* ----------------------------------------------------------------
 *		Hex
 * ----------------------------------------------------------------
 */

void
sb_hex_encode(const uint8_t *buf, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		hex[2 * i] = digits[buf[i] >> 4];
		hex[2 * i + 1] = digits[buf[i] & 0x0f];
	}
	hex[2 * len] = '\0';
}

int
sb_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
sb_hex_decode(const char *hex, uint8_t *buf, size_t len)
{
	size_t		i;

	if (hex == NULL || strlen(hex) != 2 * len)
		return false;
	for (i = 0; i < len; i++)
	{
		int			hi = sb_hex_digit(hex[2 * i]);
		int			lo = sb_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		buf[i] = (uint8_t) ((hi << 4) | lo);
	}
	return true;
}
