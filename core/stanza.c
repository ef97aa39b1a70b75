/*-------------------------------------------------------------------------
 *
 * stanza.c
 *		Create, load and check the stanza info file, including its
 *		encryption keys, and change the passphrase; see stanza.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "stanza.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cipher.h"
#include "info_file.h"

#define KDF_NAME		"scrypt"
#define WRAP_AAD_PREFIX	"pg_safebackup data key v1"

static void
info_path(const char *stanza, char *out)
{
	snprintf(out, SB_PATH_MAX, "%s/stanza.info", stanza);
}

static bool
parse_int(const char *s, long long min, long long max, long long *out)
{
	char	   *end;

	if (s == NULL || *s == '\0')
		return false;
	*out = strtoll(s, &end, 10);
	return *end == '\0' && *out >= min && *out <= max;
}

/* ----------------------------------------------------------------
 *		Key material in the stanza info file
 * ----------------------------------------------------------------
 */

/* Associated data of the wrapped key: binds the KDF and its parameters. */
static void
wrap_aad(const SbKdfParams *params, char *out, size_t size)
{
	char		salt[2 * SB_CIPHER_SALT_LEN + 1];

	sb_hex_encode(params->salt, SB_CIPHER_SALT_LEN, salt);
	snprintf(out, size, "%s|%s|%llu|%u|%u|%s", WRAP_AAD_PREFIX, KDF_NAME,
			 (unsigned long long) params->n, params->r, params->p, salt);
}

/* Write the KDF parameters and the wrapped key into info. */
static bool
set_key_fields(SbInfoFile *info, const SbKdfParams *params,
			   const char *wrapped_hex)
{
	char		buf[2 * SB_CIPHER_SALT_LEN + 1];
	bool		ok;

	ok = sb_info_set(info, "cipher_type", sb_cipher_type_name(SB_CIPHER_AES_256_GCM));
	ok = ok && sb_info_set(info, "cipher_kdf", KDF_NAME);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long) params->n);
	ok = ok && sb_info_set(info, "cipher_kdf_n", buf);
	snprintf(buf, sizeof(buf), "%u", params->r);
	ok = ok && sb_info_set(info, "cipher_kdf_r", buf);
	snprintf(buf, sizeof(buf), "%u", params->p);
	ok = ok && sb_info_set(info, "cipher_kdf_p", buf);
	sb_hex_encode(params->salt, SB_CIPHER_SALT_LEN, buf);
	ok = ok && sb_info_set(info, "cipher_kdf_salt", buf);
	ok = ok && sb_info_set(info, "cipher_key", wrapped_hex);
	return ok;
}

/* Read the KDF parameters and wrapped key from info. */
static SbStatus
get_key_fields(const SbInfoFile *info, const char *stanza,
			   SbKdfParams *params, uint8_t *wrapped, SbError *err)
{
	const char *kdf = sb_info_get(info, "cipher_kdf");
	long long	n,
				r,
				p;

	memset(params, 0, sizeof(*params));
	if (kdf == NULL || strcmp(kdf, KDF_NAME) != 0)
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "stanza \"%s\" uses key derivation function \"%s\", which this build does not support",
					 stanza, kdf ? kdf : "");
		sb_error_hint(err, "Upgrade pg_safebackup.");
		return SB_ERR_CONFIG;
	}
	if (!parse_int(sb_info_get(info, "cipher_kdf_n"), 1, 1LL << 40, &n) ||
		!parse_int(sb_info_get(info, "cipher_kdf_r"), 1, 1 << 20, &r) ||
		!parse_int(sb_info_get(info, "cipher_kdf_p"), 1, 1 << 20, &p) ||
		!sb_hex_decode(sb_info_get(info, "cipher_kdf_salt"), params->salt,
					   SB_CIPHER_SALT_LEN) ||
		!sb_hex_decode(sb_info_get(info, "cipher_key"), wrapped,
					   SB_CIPHER_WRAPPED_LEN))
		return sb_error_set(err, SB_ERR_CORRUPT,
							"stanza \"%s\" has invalid encryption key fields", stanza);
	params->n = (uint64_t) n;
	params->r = (uint32_t) r;
	params->p = (uint32_t) p;
	if (!sb_kdf_params_valid(params))
		return sb_error_set(err, SB_ERR_CORRUPT,
							"stanza \"%s\" has out-of-range key derivation parameters", stanza);
	return SB_OK;
}

/* Read pass_file and derive the key-encryption key for params. */
static SbStatus
derive_kek(const char *pass_file, const SbKdfParams *params, uint8_t *kek,
		   SbError *err)
{
	char		pass[SB_CIPHER_PASS_MAX + 1];
	size_t		passlen;
	SbStatus	rc;

	rc = sb_cipher_read_pass_file(pass_file, pass, &passlen, err);
	if (rc == SB_OK)
		rc = sb_cipher_derive_kek(pass, passlen, params, kek, err);
	OPENSSL_cleanse(pass, sizeof(pass));
	return rc;
}

/* Replace st's key by a new one for data_key, remembering wrapped_hex. */
static SbStatus
attach_key(SbStorage *st, const uint8_t *data_key, const char *wrapped_hex,
		   SbError *err)
{
	SbCipherKey *key = sb_cipher_key_new(data_key);

	if (key == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "could not set up the data key");
	snprintf(key->wrapped_hex, sizeof(key->wrapped_hex), "%s", wrapped_hex);
	sb_cipher_key_free(st->cipher);
	st->cipher = key;
	return SB_OK;
}

/* Unwrap the stanza's data key with st's passphrase and attach it to st. */
static SbStatus
open_key(SbStorage *st, const char *stanza, const SbInfoFile *info,
		 SbError *err)
{
	SbKdfParams params;
	uint8_t		wrapped[SB_CIPHER_WRAPPED_LEN];
	uint8_t		kek[SB_CIPHER_KEY_LEN];
	uint8_t		data_key[SB_CIPHER_KEY_LEN];
	char		aad[256];
	SbStatus	rc;

	/* loaded already from the same wrapped key: nothing to derive */
	if (st->cipher != NULL && sb_info_get(info, "cipher_key") != NULL &&
		strcmp(st->cipher->wrapped_hex, sb_info_get(info, "cipher_key")) == 0)
		return SB_OK;

	rc = get_key_fields(info, stanza, &params, wrapped, err);
	if (rc != SB_OK)
		return rc;
	rc = derive_kek(st->cfg.cipher_pass_file, &params, kek, err);
	if (rc == SB_OK)
	{
		wrap_aad(&params, aad, sizeof(aad));
		rc = sb_cipher_unwrap(kek, wrapped, (const uint8_t *) aad, strlen(aad),
							  data_key, err);
		if (rc == SB_ERR_AUTH)
		{
			char		msg[SB_ERROR_MSG_LEN];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			snprintf(err->msg, sizeof(err->msg), "%s for stanza \"%s\"", msg, stanza);
		}
	}
	if (rc == SB_OK)
		rc = attach_key(st, data_key, sb_info_get(info, "cipher_key"), err);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(data_key, sizeof(data_key));
	return rc;
}

/* New key material for a new stanza into info; the key is attached to st. */
static SbStatus
create_key(SbStorage *st, SbInfoFile *info, SbError *err)
{
	SbKdfParams params;
	uint8_t		wrapped[SB_CIPHER_WRAPPED_LEN];
	uint8_t		kek[SB_CIPHER_KEY_LEN];
	uint8_t		data_key[SB_CIPHER_KEY_LEN];
	char		wrapped_hex[2 * SB_CIPHER_WRAPPED_LEN + 1];
	char		aad[256];
	SbStatus	rc;

	rc = sb_kdf_params_new(&params, err);
	if (rc == SB_OK)
		rc = derive_kek(st->cfg.cipher_pass_file, &params, kek, err);
	if (rc == SB_OK && !sb_random_bytes(data_key, sizeof(data_key)))
		rc = sb_error_set(err, SB_ERR_INTERNAL, "could not generate random bytes");
	if (rc == SB_OK)
	{
		wrap_aad(&params, aad, sizeof(aad));
		rc = sb_cipher_wrap(kek, data_key, (const uint8_t *) aad, strlen(aad),
							wrapped, err);
	}
	if (rc == SB_OK)
	{
		sb_hex_encode(wrapped, sizeof(wrapped), wrapped_hex);
		if (!set_key_fields(info, &params, wrapped_hex))
			rc = sb_error_oom(err);
	}
	if (rc == SB_OK)
		rc = attach_key(st, data_key, wrapped_hex, err);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(data_key, sizeof(data_key));
	return rc;
}

/* The storage's cipher_type must be the stanza's. */
static SbStatus
check_cipher_type(SbStorage *st, const char *stanza, SbCipherType repo,
				  SbError *err)
{
	SbCipherType mine = st->cfg.cipher_type;

	if (repo == mine)
		return SB_OK;
	if (repo == SB_CIPHER_NONE)
	{
		sb_error_set(err, SB_ERR_MISMATCH, "stanza \"%s\" is not encrypted", stanza);
		sb_error_detail(err, "cipher_type is \"%s\", but the stanza was created without encryption.",
						sb_cipher_type_name(mine));
		sb_error_hint(err, "Encryption cannot be turned on for an existing stanza: start a new stanza (set stanza to a new name) or a new repository, then take a full backup; or set cipher_type = none to keep using this stanza.");
	}
	else
	{
		sb_error_set(err, SB_ERR_MISMATCH, "stanza \"%s\" is encrypted", stanza);
		sb_error_detail(err, "The stanza was created with cipher_type \"%s\", but cipher_type is \"%s\".",
						sb_cipher_type_name(repo), sb_cipher_type_name(mine));
		sb_error_hint(err, "Set cipher_type = %s and cipher_pass_file to the file holding the stanza's passphrase.  Encryption cannot be turned off for an existing stanza: start a new stanza or repository instead.",
					  sb_cipher_type_name(repo));
	}
	return SB_ERR_MISMATCH;
}

/* ----------------------------------------------------------------
 *		Loading and creating
 * ----------------------------------------------------------------
 */

static SbStatus
check_same_cluster(const char *stanza, const SbStanzaInfo *repo,
				   const SbStanzaInfo *mine, SbError *err)
{
	if (repo->system_identifier != mine->system_identifier)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "stanza \"%s\" belongs to another cluster", stanza);
		sb_error_detail(err,
						"The repository records system identifier %" PRIu64 ", this cluster has %" PRIu64 ".",
						repo->system_identifier, mine->system_identifier);
		sb_error_hint(err,
					  "Set safebackup.stanza to a stanza name of its own for each cluster.");
		return SB_ERR_MISMATCH;
	}
	if (repo->pg_version != mine->pg_version)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "stanza \"%s\" was created for PostgreSQL %d, this cluster runs PostgreSQL %d",
					 stanza, repo->pg_version, mine->pg_version);
		sb_error_hint(err,
					  "After a major version upgrade, back up into a new stanza.");
		return SB_ERR_MISMATCH;
	}
	return SB_OK;
}

/*
 * Load the stanza info file; when mine is given, check that the stanza
 * belongs to that cluster before anything else (a stanza of another cluster
 * is reported as such, not as a cipher mismatch or a wrong passphrase).
 * With unlock false, only read it: the storage's cipher settings are
 * neither checked nor used.
 */
static SbStatus
load_stanza(SbStorage *st, const char *stanza, const SbStanzaInfo *mine,
			bool unlock, SbStanzaInfo *out, SbError *err)
{
	char		path[SB_PATH_MAX];
	SbInfoFile	info;
	SbStatus	rc;
	const char *sysid;
	const char *cipher;
	char	   *end;
	long long	v;

	memset(out, 0, sizeof(*out));
	info_path(stanza, path);
	rc = sb_info_load_raw(st, path, &info, err);
	if (rc == SB_ERR_NOT_FOUND)
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"stanza \"%s\" does not exist in the repository", stanza);
	if (rc != SB_OK)
		return rc;

	rc = SB_OK;
	if (!parse_int(sb_info_get(&info, "format_version"), 1, 1000000, &v))
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "stanza \"%s\" has an invalid format_version", stanza);
	else
	{
		out->format_version = (int) v;
		sysid = sb_info_get(&info, "system_identifier");
		if (sysid == NULL || *sysid == '\0')
			rc = sb_error_set(err, SB_ERR_CORRUPT,
							  "stanza \"%s\" has no system_identifier", stanza);
		else
		{
			out->system_identifier = strtoull(sysid, &end, 10);
			if (*end != '\0')
				rc = sb_error_set(err, SB_ERR_CORRUPT,
								  "stanza \"%s\" has an invalid system_identifier", stanza);
			else if (!parse_int(sb_info_get(&info, "pg_version"), 1, 1000, &v))
				rc = sb_error_set(err, SB_ERR_CORRUPT,
								  "stanza \"%s\" has an invalid pg_version", stanza);
			else
				out->pg_version = (int) v;
		}
	}
	if (rc == SB_OK && out->format_version > SB_REPO_FORMAT_VERSION)
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "stanza \"%s\" uses repository format version %d, newer than this build supports",
					 stanza, out->format_version);
		sb_error_detail(err, "This build supports repository format version %d.",
						SB_REPO_FORMAT_VERSION);
		sb_error_hint(err, "Upgrade pg_safebackup.");
		rc = SB_ERR_CONFIG;
	}
	if (rc == SB_OK)
	{
		/* a stanza written before encryption existed has no cipher_type */
		cipher = sb_info_get(&info, "cipher_type");
		if (cipher != NULL && !sb_cipher_type_parse(cipher, &out->cipher_type))
		{
			sb_error_set(err, SB_ERR_CONFIG,
						 "stanza \"%s\" uses cipher type \"%s\", which this build does not support",
						 stanza, cipher);
			sb_error_hint(err, "Upgrade pg_safebackup.");
			rc = SB_ERR_CONFIG;
		}
	}
	if (rc == SB_OK && mine != NULL)
		rc = check_same_cluster(stanza, out, mine, err);
	if (rc == SB_OK && unlock)
		rc = check_cipher_type(st, stanza, out->cipher_type, err);
	if (rc == SB_OK && unlock && out->cipher_type != SB_CIPHER_NONE)
		rc = open_key(st, stanza, &info, err);
	if (rc == SB_OK && unlock)
	{
		snprintf(st->stanza_loaded, sizeof(st->stanza_loaded), "%s", stanza);
		st->stanza_format = out->format_version;
	}
	sb_info_free(&info);
	return rc;
}

SbStatus
sb_stanza_load(SbStorage *st, const char *stanza, SbStanzaInfo *out,
			   SbError *err)
{
	return load_stanza(st, stanza, NULL, true, out, err);
}

SbStatus
sb_stanza_describe(SbStorage *st, const char *stanza, SbStanzaInfo *out,
				   SbError *err)
{
	return load_stanza(st, stanza, NULL, false, out, err);
}

SbStatus
sb_stanza_load_for(SbStorage *st, const char *stanza, const SbStanzaInfo *mine,
				   SbStanzaInfo *out, SbError *err)
{
	return load_stanza(st, stanza, mine, true, out, err);
}

/* SB_ERR_EXISTS when <stanza>/wal or <stanza>/backup exists. */
static SbStatus
check_no_content(SbStorage *st, const char *stanza, SbError *err)
{
	static const char *const dirs[] = {"wal", "backup"};
	char		path[SB_PATH_MAX];
	SbStat		sst;
	SbStatus	rc;

	for (int i = 0; i < 2; i++)
	{
		snprintf(path, sizeof(path), "%s/%s", stanza, dirs[i]);
		rc = sb_storage_stat(st, path, &sst, err);
		if (rc == SB_OK)
			return SB_ERR_EXISTS;
		if (rc != SB_ERR_NOT_FOUND)
			return rc;
	}
	sb_error_clear(err);
	return SB_OK;
}

SbStatus
sb_stanza_ensure(SbStorage *st, const char *stanza, const SbStanzaInfo *mine,
				 SbError *err)
{
	SbStanzaInfo repo;
	SbInfoFile	info;
	char		path[SB_PATH_MAX];
	char		buf[32];
	SbStatus	rc;
	bool		ok;

	rc = load_stanza(st, stanza, mine, true, &repo, err);
	if (rc != SB_ERR_NOT_FOUND)
		return rc;

	/*
	 * First use: create the stanza, unless it already holds WAL or backups.
	 * Then its info file was lost, and a new one would not be the stanza's:
	 * for an encrypted stanza it would hold a new data key, and everything
	 * stored before could never be read again.
	 */
	rc = check_no_content(st, stanza, err);
	if (rc == SB_ERR_EXISTS)
	{
		/* or another process created it since we looked */
		rc = load_stanza(st, stanza, mine, true, &repo, err);
		if (rc != SB_ERR_NOT_FOUND)
			return rc;
		sb_error_set(err, SB_ERR_CORRUPT,
					 "stanza \"%s\" holds WAL or backups but has no stanza info file", stanza);
		sb_error_detail(err, "Both \"%s/stanza.info\" and \"%s/stanza.info.copy\" are missing.",
						stanza, stanza);
		sb_error_hint(err, "Put back a copy of stanza.info (for an encrypted stanza it holds the wrapped data key, without which nothing can be decrypted), or archive into a new stanza.");
		return SB_ERR_CORRUPT;
	}
	if (rc != SB_OK)
		return rc;
	rc = sb_storage_mkdir(st, stanza, err);
	if (rc != SB_OK)
		return rc;

	sb_info_init(&info);
	snprintf(buf, sizeof(buf), "%d", SB_REPO_FORMAT_VERSION);
	ok = sb_info_set(&info, "format_version", buf);
	snprintf(buf, sizeof(buf), "%" PRIu64, mine->system_identifier);
	ok = ok && sb_info_set(&info, "system_identifier", buf);
	snprintf(buf, sizeof(buf), "%d", mine->pg_version);
	ok = ok && sb_info_set(&info, "pg_version", buf);
	ok = ok && sb_info_set(&info, "cipher_type", sb_cipher_type_name(SB_CIPHER_NONE));
	if (!ok)
	{
		sb_info_free(&info);
		return sb_error_oom(err);
	}
	if (st->cfg.cipher_type != SB_CIPHER_NONE)
	{
		rc = create_key(st, &info, err);
		if (rc != SB_OK)
		{
			sb_info_free(&info);
			return rc;
		}
	}
	info_path(stanza, path);
	rc = sb_info_save_raw(st, path, 0, &info, err);
	sb_info_free(&info);
	if (rc != SB_OK)
	{
		/* the key we made is not the stanza's */
		sb_cipher_key_free(st->cipher);
		st->cipher = NULL;
	}

	/* somebody else created it at the same moment: check theirs */
	if (rc == SB_ERR_EXISTS)
		rc = load_stanza(st, stanza, mine, true, &repo, err);
	else if (rc == SB_OK)
	{
		/* as if loaded: the format the new stanza has */
		snprintf(st->stanza_loaded, sizeof(st->stanza_loaded), "%s", stanza);
		st->stanza_format = SB_REPO_FORMAT_VERSION;
	}
	return rc;
}

/* ----------------------------------------------------------------
 *		Changing the passphrase
 * ----------------------------------------------------------------
 */

SbStatus
sb_stanza_rekey(SbStorage *st, const char *stanza, const char *new_pass_file,
				int kdf_log2n, SbError *err)
{
	SbKdfParams old;
	uint8_t		old_wrapped[SB_CIPHER_WRAPPED_LEN];
	SbStanzaInfo loaded;
	SbInfoFile	info;
	SbKdfParams params;
	uint8_t		kek[SB_CIPHER_KEY_LEN];
	uint8_t		wrapped[SB_CIPHER_WRAPPED_LEN];
	char		wrapped_hex[2 * SB_CIPHER_WRAPPED_LEN + 1];
	char		path[SB_PATH_MAX];
	char		copy[SB_PATH_MAX];
	char		aad[256];
	SbStatus	rc;

	if (st->cfg.cipher_type == SB_CIPHER_NONE)
	{
		sb_error_set(err, SB_ERR_CONFIG, "rekey needs an encrypted stanza");
		sb_error_hint(err, "Set cipher_type = aes-256-gcm and cipher_pass_file to the file holding the current passphrase.");
		return SB_ERR_CONFIG;
	}
	/* unwrap with the current passphrase: proves we may change it */
	sb_cipher_key_free(st->cipher);
	st->cipher = NULL;
	rc = sb_stanza_load(st, stanza, &loaded, err);
	if (rc != SB_OK)
		return rc;

	if (kdf_log2n != 0 &&
		(kdf_log2n < SB_KDF_MIN_LOG2N || kdf_log2n > SB_KDF_MAX_LOG2N))
		return sb_error_set(err, SB_ERR_CONFIG,
							"scrypt cost 2^%d is out of range (2^%d to 2^%d)",
							kdf_log2n, SB_KDF_MIN_LOG2N, SB_KDF_MAX_LOG2N);

	info_path(stanza, path);
	rc = sb_info_load_raw(st, path, &info, err);
	if (rc != SB_OK)
		return rc;
	/* same cost as before unless asked otherwise; always a new salt */
	rc = get_key_fields(&info, stanza, &old, old_wrapped, err);
	if (rc == SB_OK)
		rc = sb_kdf_params_new(&params, err);
	if (rc == SB_OK)
	{
		params.n = kdf_log2n != 0 ? (uint64_t) 1 << kdf_log2n : old.n;
		params.r = old.r;
		params.p = old.p;
		if (!sb_kdf_params_valid(&params))
			rc = sb_error_set(err, SB_ERR_CONFIG,
							  "scrypt parameters N=%llu, r=%u, p=%u are out of range",
							  (unsigned long long) params.n, params.r, params.p);
	}
	if (rc == SB_OK)
		rc = derive_kek(new_pass_file, &params, kek, err);
	if (rc == SB_OK)
	{
		wrap_aad(&params, aad, sizeof(aad));
		rc = sb_cipher_wrap(kek, st->cipher->data_key, (const uint8_t *) aad,
							strlen(aad), wrapped, err);
	}
	OPENSSL_cleanse(kek, sizeof(kek));
	if (rc == SB_OK)
	{
		sb_hex_encode(wrapped, sizeof(wrapped), wrapped_hex);
		if (!set_key_fields(&info, &params, wrapped_hex))
			rc = sb_error_oom(err);
	}

	/*
	 * The copy first: until the main file is replaced, readers use it and
	 * the old passphrase; a crash in between leaves a stanza that either
	 * passphrase opens (the old one through the main file), and running
	 * rekey again finishes the job.
	 */
	snprintf(copy, sizeof(copy), "%s.copy", path);
	if (rc == SB_OK)
		rc = sb_info_put_raw(st, copy, SB_WRITE_REPLACE, &info, err);
	if (rc == SB_OK)
		rc = sb_info_put_raw(st, path, SB_WRITE_REPLACE, &info, err);
	sb_info_free(&info);
	if (rc == SB_OK)
		snprintf(st->cipher->wrapped_hex, sizeof(st->cipher->wrapped_hex), "%s",
				 wrapped_hex);
	return rc;
}
