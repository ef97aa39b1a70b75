/*-------------------------------------------------------------------------
 *
 * wal.h
 *		WAL files in the repository: push, find and get.
 *
 * A WAL file is stored once, under a name that carries the digest of its
 * content, so a final name is never overwritten:
 *
 *   <stanza>/wal/<first 16 hex digits>/<walname>-<digest>[.gz|.lz4|.zst]
 *   <stanza>/wal/history/<timeline>.history-<digest>[.gz|.lz4|.zst]
 *
 * The digest is the 32 hex digits of XXH3-128 in an unencrypted stanza of
 * repository format 2 and later, else the 64 of SHA-256 (HMAC-SHA256 when
 * encrypted); readers take both (SbDigestKind in codec.h).
 *
 * The suffix names the file's compression (sb_compress_suffix), so files
 * of every type can sit side by side and each is read with its own.
 *
 * Pushing a file that is already stored with the same checksum succeeds;
 * with a different checksum it fails with SB_ERR_CONFLICT and nothing is
 * written.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_H
#define SB_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "sb_config.h"
#include "sb_error.h"
#include "storage.h"

typedef struct SbWalPushResult
{
	bool		already_stored; /* identical copy was there already */
	SbStoreResult store;
} SbWalPushResult;

typedef struct SbWalEntry
{
	char		name[SB_PATH_MAX];	/* repository path of the stored file */
	char		digest[SB_SHA256_HEX_LEN + 1];	/* the name's (SbDigestKind) */
	SbCompressType compress_type;
} SbWalEntry;

/* Segment, partial segment, backup history file or timeline history file. */
extern bool sb_wal_name_valid(const char *walname);

/*
 * Parse the part of a stored name after "<walname>-": the checksum (64 or
 * 32 hex digits, copied to sha when not NULL) and a compression suffix.  False when
 * p is not of that form.
 */
extern bool sb_wal_stored_tail_parse(const char *p, char *sha,
									 SbCompressType *ct);

/* Directory (repository path) that holds walname. */
extern void sb_wal_dir(const char *stanza, const char *walname, char *out);

/* Look walname up; SB_ERR_NOT_FOUND when it is not stored. */
extern SbStatus sb_wal_find(SbStorage *st, const char *stanza,
							const char *walname, SbWalEntry *entry,
							SbError *err);

/* Store the local file src_path as walname (see the header comment). */
extern SbStatus sb_wal_push(SbStorage *st, const SbRepoConfig *cfg,
							const char *walname, const char *src_path,
							SbWalPushResult *res, SbError *err);

/*
 * Fetch walname into dest_path: written to a temporary name beside it,
 * checksum verified, then renamed.  SB_ERR_NOT_FOUND when not stored.
 */
extern SbStatus sb_wal_get(SbStorage *st, const char *stanza,
						   const char *walname, const char *dest_path,
						   SbError *err);

#endif							/* SB_WAL_H */
