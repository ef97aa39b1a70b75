/*-------------------------------------------------------------------------
 *
 * tls_settings.h
 *		The TLS driver's settings (safebackup.tls_*), in the driver's own
 *		area of SbRepoConfig; the table that describes them is in
 *		tls_settings.c (see core/settings.h).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TLS_SETTINGS_H
#define SB_TLS_SETTINGS_H

#include "storage.h"

/* The repository server's port unless told otherwise (client and server) */
#define SB_TLS_DEFAULT_PORT		8432

/*
 * The client side of the pg_safebackup repository server (mutual TLS).
 * repo_path is a directory under the server's repository root, "/" for the
 * root itself (the default when it is empty).
 */
typedef struct SbTlsSettings
{
	char		tls_host[256];
	int			tls_port;		/* default 8432 */
	char		tls_cert_file[SB_PATH_MAX]; /* client certificate (chain) */
	char		tls_key_file[SB_PATH_MAX];	/* its key, 0600 */
	char		tls_ca_file[SB_PATH_MAX];	/* CA that signed the server's cert */
	char		tls_server_name[256];	/* name to verify; default tls_host */
} SbTlsSettings;

extern const SbDriver sb_tls_driver;

/* The TLS settings of a SbRepoConfig (cfg is a pointer) */
#define SB_TLS(cfg) \
	((SbTlsSettings *) sb_driver_settings((cfg), &sb_tls_driver))

#endif							/* SB_TLS_SETTINGS_H */
