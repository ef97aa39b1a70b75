/*-------------------------------------------------------------------------
 *
 * sb_config.h
 *		Repository settings shared by the server module and the CLI.
 *
 * The server fills this from safebackup.* GUCs, the CLI from its options and
 * --config file.  Storage drivers and the codec read only this struct.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_error.h"

#define SB_PATH_MAX		1024
#define SB_NAME_MAX		64

/*
 * The repository type: the index of its driver in the driver list
 * (transport/drivers.c; names with sb_repo_type_parse/_name).  Callers ask
 * a driver for its capabilities (core/storage.h), never for its type.
 */
typedef int SbRepoType;

#define SB_REPO_POSIX	0		/* the first driver of the list: the default */

/*
 * Each storage driver keeps its settings in an area of its own, laid out by
 * a struct of the driver (core/settings.h says how a driver declares them).
 */
#define SB_MAX_DRIVERS			6
#define SB_DRIVER_AREA_SIZE		6144

typedef union SbDriverArea
{
	unsigned char bytes[SB_DRIVER_AREA_SIZE];
	int64_t		align_int;
	double		align_double;
	void	   *align_pointer;
} SbDriverArea;

typedef enum SbCompressType
{
	SB_COMPRESS_NONE = 0,
	SB_COMPRESS_ZLIB,
	SB_COMPRESS_LZ4,
	SB_COMPRESS_ZSTD
} SbCompressType;

typedef enum SbCipherType
{
	SB_CIPHER_NONE = 0,
	SB_CIPHER_AES_256_GCM
} SbCipherType;

typedef struct SbRepoConfig
{
	SbRepoType	repo_type;
	char		repo_path[SB_PATH_MAX];
	char		stanza[SB_NAME_MAX];
	SbCompressType compress_type;
	int			compress_level;
	int			io_timeout_ms;	/* network drivers: connect/IO timeout */
	int			retention_full; /* full backups expire keeps; 0 = keep all */

	/* encryption: the passphrase file must be 0600 (or stricter) and ours */
	SbCipherType cipher_type;
	char		cipher_pass_file[SB_PATH_MAX];

	/* each driver's own settings, indexed like the driver list */
	SbDriverArea driver_area[SB_MAX_DRIVERS];
} SbRepoConfig;

/*
 * Longest repo_path: file names below it (stanza, backup label, relative
 * path of a data file) must still fit in SB_PATH_MAX.
 */
#define SB_REPO_PATH_MAX_LEN	(SB_PATH_MAX - 257)

/*
 * Default compression: zstd level 1, measured on WAL and table data to be
 * faster than zlib level 1 and to compress better (README, "Compression").
 */
#define SB_DEFAULT_COMPRESS_TYPE	SB_COMPRESS_ZSTD
#define SB_DEFAULT_COMPRESS_LEVEL	1

/*
 * Every setting to its default (the tables of core/settings.h): posix,
 * stanza "main", the default compression, 60 s timeout, ...
 */
extern void sb_config_init(SbRepoConfig *cfg);

/*
 * An empty repo_path becomes the driver's default, if it has one (tls: "/",
 * the root of the repository server).
 */
extern void sb_config_default_repo_path(SbRepoConfig *cfg);

/* Name <-> enum helpers; return false for an unknown name. */
extern bool sb_repo_type_parse(const char *name, SbRepoType *out);
extern const char *sb_repo_type_name(SbRepoType type);
extern bool sb_compress_type_parse(const char *name, SbCompressType *out);
extern const char *sb_compress_type_name(SbCompressType type);

/*
 * Valid compress_level values of a type (none: 0 to 0).  False for an
 * unknown type.  The GUC check hooks, the CLI options and the codec all
 * check levels with this one table.
 */
extern bool sb_compress_level_range(SbCompressType type, int *min, int *max);
/* Largest level of any type (the range of the compress_level setting). */
#define SB_COMPRESS_LEVEL_MAX	19

/*
 * The suffix a stored file's name carries for its compression type
 * ("", ".gz", ".lz4", ".zst"), and the type a suffix stands for (false
 * when the suffix is not one of them).
 */
extern const char *sb_compress_suffix(SbCompressType type);
extern bool sb_compress_type_from_suffix(const char *suffix,
										 SbCompressType *out);

extern bool sb_cipher_type_parse(const char *name, SbCipherType *out);

/* Decimal digits at *p as a uint32, *p moved past them (false: none, too large). */
extern bool sb_parse_u32(const char **p, uint32_t *out);
extern const char *sb_cipher_type_name(SbCipherType type);

/* A stanza name is 1-63 characters of [A-Za-z0-9_.-], not starting with '.'. */
extern bool sb_stanza_name_valid(const char *name);

#endif							/* SB_CONFIG_H */
