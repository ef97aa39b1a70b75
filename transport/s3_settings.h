/*-------------------------------------------------------------------------
 *
 * s3_settings.h
 *		The S3 driver's settings (safebackup.s3_*), in the driver's own area
 *		of SbRepoConfig; the table that describes them is in s3_settings.c
 *		(see core/settings.h).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_S3_SETTINGS_H
#define SB_S3_SETTINGS_H

#include "storage.h"

/* How the bucket is named: in the host name or in the path. */
typedef enum SbS3UriStyle
{
	SB_S3_URI_HOST = 0,			/* https://BUCKET.ENDPOINT/KEY */
	SB_S3_URI_PATH				/* https://ENDPOINT/BUCKET/KEY */
} SbS3UriStyle;

/* Where the access key and secret come from. */
typedef enum SbS3CredentialsSource
{
	SB_S3_CREDENTIALS_STATIC = 0,	/* s3_credentials_file, else the environment */
	SB_S3_CREDENTIALS_INSTANCE	/* the EC2 instance metadata service */
} SbS3CredentialsSource;

/*
 * An S3-compatible object store over HTTPS (transport/s3.c).  repo_path is
 * a key prefix in the bucket ("/", the default, for the whole bucket).
 */
typedef struct SbS3Settings
{
	char		s3_bucket[64];
	char		s3_region[64];	/* default us-east-1 */
	char		s3_endpoint[256];	/* host[:port]; "" = s3.REGION.amazonaws.com */
	int			s3_uri_style;	/* SbS3UriStyle */
	char		s3_credentials_file[SB_PATH_MAX];	/* "" = the environment */
	int			s3_credentials_source;	/* SbS3CredentialsSource */
	char		s3_ca_file[SB_PATH_MAX];	/* "" = the system's CAs */
} SbS3Settings;

extern const SbDriver sb_s3_driver;

/* The S3 settings of a SbRepoConfig (cfg is a pointer) */
#define SB_S3(cfg) \
	((SbS3Settings *) sb_driver_settings((cfg), &sb_s3_driver))

#endif							/* SB_S3_SETTINGS_H */
