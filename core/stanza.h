/*-------------------------------------------------------------------------
 *
 * stanza.h
 *		The stanza info file: which cluster a stanza belongs to.
 *
 * <stanza>/stanza.info (and its .copy) records the repository format
 * version, the cluster's system identifier and PostgreSQL major version.
 * It is written on first use; afterwards every writer checks that it is the
 * same cluster, so two clusters' WAL can never be mixed in one stanza.
 *
 * It also records whether the stanza is encrypted and, if so, the KDF
 * parameters and the wrapped data key (cipher.h).  Loading a stanza checks
 * that the storage's cipher_type matches the stanza's (encryption can be
 * neither turned on nor off for an existing stanza) and, when encrypted,
 * unwraps the data key with the passphrase of cipher_pass_file and attaches
 * it to the storage (SbStorage.cipher), so that the codec encrypts and
 * decrypts everything else.  The file itself stays in clear: it must be
 * readable before the key is known.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_STANZA_H
#define SB_STANZA_H

#include <stdint.h>

#include "sb_error.h"
#include "storage.h"

/*
 * The repository format a new stanza is created with, and the newest this
 * build reads (an older build refuses a newer stanza with a clear error).
 *   1: every file named and checked by SHA-256 (HMAC-SHA256 when encrypted)
 *   2: the WAL files of an unencrypted stanza are named by XXH3-128
 *      (SbDigestKind in codec.h); stanzas of format 1 keep SHA-256 names
 *      for WAL, so that the builds before still read them
 */
#define SB_REPO_FORMAT_VERSION	2

typedef struct SbStanzaInfo
{
	int			format_version;
	uint64_t	system_identifier;
	int			pg_version;		/* major version, e.g. 15 */
	SbCipherType cipher_type;	/* set by sb_stanza_load; ignored by ensure */
} SbStanzaInfo;

/* SB_ERR_NOT_FOUND when the stanza has not been created. */
extern SbStatus sb_stanza_load(SbStorage *st, const char *stanza,
							   SbStanzaInfo *out, SbError *err);

/*
 * Read the stanza info file only, encrypted or not (out->cipher_type says
 * which): nothing is checked against the storage's cipher settings and no
 * key is unwrapped.  For showing what a stanza is, never for using it.
 */
extern SbStatus sb_stanza_describe(SbStorage *st, const char *stanza,
								   SbStanzaInfo *out, SbError *err);

/*
 * sb_stanza_load, checking first that the stanza belongs to the cluster
 * described by mine (SB_ERR_MISMATCH otherwise).
 */
extern SbStatus sb_stanza_load_for(SbStorage *st, const char *stanza,
								   const SbStanzaInfo *mine, SbStanzaInfo *out,
								   SbError *err);

/*
 * Create the stanza for this cluster if it does not exist yet, otherwise
 * check that it belongs to this cluster (SB_ERR_MISMATCH if not).
 */
extern SbStatus sb_stanza_ensure(SbStorage *st, const char *stanza,
								 const SbStanzaInfo *mine, SbError *err);

/*
 * Change the passphrase of an encrypted stanza: unwrap the data key with
 * st's cipher_pass_file, wrap it again under a key derived (new salt) from
 * the passphrase in new_pass_file, and replace both copies of the stanza
 * info file (the copy first).  Nothing else in the stanza is touched.
 * kdf_log2n sets the scrypt cost N = 2^kdf_log2n (0: keep the stanza's).
 */
extern SbStatus sb_stanza_rekey(SbStorage *st, const char *stanza,
								const char *new_pass_file, int kdf_log2n,
								SbError *err);

#endif							/* SB_STANZA_H */
