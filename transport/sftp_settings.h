/*-------------------------------------------------------------------------
 *
 * sftp_settings.h
 *		The SFTP driver's settings (safebackup.sftp_*), in the driver's own
 *		area of SbRepoConfig; the table that describes them is in
 *		sftp_settings.c (see core/settings.h).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SFTP_SETTINGS_H
#define SB_SFTP_SETTINGS_H

#include "storage.h"

/* The repository path (repo_path) is as seen by the SFTP account (chroot). */
typedef struct SbSftpSettings
{
	char		sftp_host[256];
	int			sftp_port;		/* default 22 */
	char		sftp_user[SB_NAME_MAX];
	char		sftp_private_key_file[SB_PATH_MAX];
	char		sftp_public_key_file[SB_PATH_MAX];	/* optional */
	char		sftp_private_key_passphrase_file[SB_PATH_MAX];	/* optional */
	char		sftp_known_hosts_file[SB_PATH_MAX];
	char		sftp_host_key_fingerprint[128]; /* SHA256:<base64> or hex */
} SbSftpSettings;

extern const SbDriver sb_sftp_driver;

/* The SFTP settings of a SbRepoConfig (cfg is a pointer) */
#define SB_SFTP(cfg) \
	((SbSftpSettings *) sb_driver_settings((cfg), &sb_sftp_driver))

#endif							/* SB_SFTP_SETTINGS_H */
