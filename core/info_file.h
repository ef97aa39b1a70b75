/*-------------------------------------------------------------------------
 *
 * info_file.h
 *		Small self-checking key = value files kept in two copies.
 *
 * Repository metadata (the stanza info file, later the backup list) is
 * stored as text lines "key=value" followed by a last line
 * "checksum=<sha256 of everything before it>".  The file is written twice,
 * NAME and NAME.copy; loading verifies the checksum and falls back to the
 * copy when the main file is missing or damaged.
 *
 * sb_info_load/sb_info_save go through the codec (uncompressed), so in an
 * encrypted stanza the files are encrypted like everything else.  The _raw
 * variants read and write the text as is: only for the stanza info file,
 * which holds the (wrapped) key material and is read before the key is
 * known.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_INFO_FILE_H
#define SB_INFO_FILE_H

#include "sb_error.h"
#include "storage.h"

#define SB_INFO_MAX_KEYS	64
#define SB_INFO_MAX_LEN		65536

typedef struct SbInfoFile
{
	int			nkeys;
	char	   *keys[SB_INFO_MAX_KEYS];
	char	   *values[SB_INFO_MAX_KEYS];
} SbInfoFile;

extern void sb_info_init(SbInfoFile *info);
extern void sb_info_free(SbInfoFile *info);
/* Set (or replace) a value; false when out of room or memory. */
extern bool sb_info_set(SbInfoFile *info, const char *key, const char *value);
extern const char *sb_info_get(const SbInfoFile *info, const char *key);

/* Render to text with the trailing checksum line (malloc'd). */
extern char *sb_info_render(const SbInfoFile *info, size_t *len);
/* Parse text, verifying the checksum; SB_ERR_CORRUPT when damaged. */
extern SbStatus sb_info_parse(SbInfoFile *info, const char *text, size_t len,
							  const char *what, SbError *err);

/*
 * Load path (falling back to path.copy).  SB_ERR_NOT_FOUND when neither
 * exists, SB_ERR_CORRUPT when both are damaged.
 */
extern SbStatus sb_info_load(SbStorage *st, const char *path, SbInfoFile *info,
							 SbError *err);
/* Write path and path.copy; flags as for sb_storage_write_open. */
extern SbStatus sb_info_save(SbStorage *st, const char *path, int flags,
							 const SbInfoFile *info, SbError *err);

/* The same, never encrypted (the stanza info file only). */
extern SbStatus sb_info_load_raw(SbStorage *st, const char *path,
								 SbInfoFile *info, SbError *err);
extern SbStatus sb_info_save_raw(SbStorage *st, const char *path, int flags,
								 const SbInfoFile *info, SbError *err);
/* Write one file (no .copy), never encrypted. */
extern SbStatus sb_info_put_raw(SbStorage *st, const char *path, int flags,
								const SbInfoFile *info, SbError *err);

#endif							/* SB_INFO_FILE_H */
