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

typedef enum SbRepoType
{
	SB_REPO_POSIX = 0,
	SB_REPO_SFTP,
	SB_REPO_TLS,
	SB_REPO_S3
} SbRepoType;

/* How the S3 driver names the bucket: in the host name or in the path. */
typedef enum SbS3UriStyle
{
	SB_S3_URI_HOST = 0,			/* https://BUCKET.ENDPOINT/KEY */
	SB_S3_URI_PATH				/* https://ENDPOINT/BUCKET/KEY */
} SbS3UriStyle;

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

	/* sftp: the repository path is as seen by the SFTP account (chroot) */
	char		sftp_host[256];
	int			sftp_port;		/* default 22 */
	char		sftp_user[SB_NAME_MAX];
	char		sftp_private_key_file[SB_PATH_MAX];
	char		sftp_public_key_file[SB_PATH_MAX];	/* optional */
	char		sftp_private_key_passphrase_file[SB_PATH_MAX];	/* optional */
	char		sftp_known_hosts_file[SB_PATH_MAX];
	char		sftp_host_key_fingerprint[128]; /* SHA256:<base64> or hex */

	/* encryption: the passphrase file must be 0600 (or stricter) and ours */
	SbCipherType cipher_type;
	char		cipher_pass_file[SB_PATH_MAX];
	/*
	 * tls: the pg_safebackup repository server (mutual TLS).  repo_path is a
	 * directory under the server's repository root, "/" for the root itself
	 * (the default when it is empty).
	 */
	char		tls_host[256];
	int			tls_port;		/* default 8432 */
	char		tls_cert_file[SB_PATH_MAX]; /* client certificate (chain) */
	char		tls_key_file[SB_PATH_MAX];	/* its key, 0600 */
	char		tls_ca_file[SB_PATH_MAX];	/* CA that signed the server's cert */
	char		tls_server_name[256];	/* name to verify; default tls_host */

	/*
	 * s3: an S3-compatible object store over HTTPS (transport/s3.c).
	 * repo_path is a key prefix in the bucket ("/" for the whole bucket).
	 */
	char		s3_bucket[64];
	char		s3_region[64];	/* default us-east-1 */
	char		s3_endpoint[256];	/* host[:port]; default s3.REGION.amazonaws.com */
	SbS3UriStyle s3_uri_style;
	char		s3_credentials_file[SB_PATH_MAX];	/* "" = environment */
	char		s3_ca_file[SB_PATH_MAX];	/* "" = the system's CAs */
} SbRepoConfig;

#define SB_TLS_DEFAULT_PORT		8432

/*
 * Longest repo_path: file names below it (stanza, backup label, relative
 * path of a data file) must still fit in SB_PATH_MAX.
 */
#define SB_REPO_PATH_MAX_LEN	(SB_PATH_MAX - 257)

/*
 * The string settings of SbRepoConfig and the longest value each takes,
 * derived from the size of its field: one table, so that the server's
 * check hooks (backend/guc.c) and the CLI's options and --config file
 * (cli/options.c) refuse exactly the same values, and nothing is ever cut
 * short when it is copied into SbRepoConfig.
 */
typedef struct SbStringSetting
{
	const char *name;			/* setting name without "safebackup." */
	size_t		offset;			/* of its char array in SbRepoConfig */
	size_t		max_len;		/* longest value, in bytes */
} SbStringSetting;

/* The setting named name ("sftp_user"), or NULL. */
extern const SbStringSetting *sb_string_setting(const char *name);

/*
 * Check value against the limit of setting name; shown is how the caller
 * names it to the user ("safebackup.sftp_user", "--sftp-user").  SB_OK, or
 * SB_ERR_CONFIG with message and detail (its length and the limit).
 */
extern SbStatus sb_string_setting_check(const char *name, const char *shown,
										const char *value, SbError *err);

/* Check value as above, then store it into its field of cfg. */
extern SbStatus sb_string_setting_set(SbRepoConfig *cfg, const char *name,
									  const char *shown, const char *value,
									  SbError *err);

/*
 * Default compression: zstd level 1, measured on WAL and table data to be
 * faster than zlib level 1 and to compress better (README, "Compression").
 */
#define SB_DEFAULT_COMPRESS_TYPE	SB_COMPRESS_ZSTD
#define SB_DEFAULT_COMPRESS_LEVEL	1

/* Defaults: posix, stanza "main", the default compression, 60 s timeout. */
extern void sb_config_init(SbRepoConfig *cfg);

/* Name <-> enum helpers; return false for an unknown name. */
extern bool sb_repo_type_parse(const char *name, SbRepoType *out);
extern const char *sb_repo_type_name(SbRepoType type);
extern bool sb_s3_uri_style_parse(const char *name, SbS3UriStyle *out);
extern const char *sb_s3_uri_style_name(SbS3UriStyle style);
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
extern const char *sb_cipher_type_name(SbCipherType type);

/* A stanza name is 1-63 characters of [A-Za-z0-9_.-], not starting with '.'. */
extern bool sb_stanza_name_valid(const char *name);

#endif							/* SB_CONFIG_H */
