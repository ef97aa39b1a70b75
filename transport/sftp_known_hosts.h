/*-------------------------------------------------------------------------
 *
 * sftp_known_hosts.h
 *		The marker lines of an OpenSSH known_hosts file ("@revoked",
 *		"@cert-authority"), which libssh2's known-host functions skip.
 *
 * libssh2 reads only the plain entries, so without this scan a key that
 * OpenSSH refuses because of an "@revoked" line would be trusted.  The scan
 * reads the file itself and reports the first marker line that applies to
 * the offered key (for "@revoked") or to the host (for "@cert-authority",
 * whose host certificates the driver does not support).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SFTP_KNOWN_HOSTS_H
#define SB_SFTP_KNOWN_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "sb_error.h"

typedef enum SbKnownHostsMarker
{
	SB_KH_MARKER_NONE = 0,		/* no marker line applies */
	SB_KH_MARKER_REVOKED,		/* "@revoked" line holding the offered key */
	SB_KH_MARKER_CERT_AUTHORITY /* "@cert-authority" line for this host */
} SbKnownHostsMarker;

/*
 * Scan the known_hosts file at path for marker lines that apply to host and
 * port (port 22 is matched as "host", any other as "[host]:port", both in
 * plain, wildcard and hashed "|1|salt|hash" patterns) and, for "@revoked",
 * to the offered key blob (key, keylen: the raw key as the server sent it).
 * A revoked key is reported before a certificate authority.  On SB_OK,
 * *marker says what was found and *lineno its line (0 if none).  Fails only
 * when the file cannot be read.
 */
extern SbStatus sb_known_hosts_find_marker(const char *path, const char *host,
										   int port, const unsigned char *key,
										   size_t keylen,
										   SbKnownHostsMarker *marker,
										   int *lineno, SbError *err);

/*
 * Whether one host field of a known_hosts line (a comma-separated list of
 * patterns with "*", "?" and "!" negation, or one hashed "|1|salt|hash")
 * matches name ("host" or "[host]:port").
 */
extern bool sb_known_hosts_match_host(const char *field, const char *name);

#endif							/* SB_SFTP_KNOWN_HOSTS_H */
