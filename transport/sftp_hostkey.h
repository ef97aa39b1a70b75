/*-------------------------------------------------------------------------
 *
 * sftp_hostkey.h
 *		Verification of an SSH server's host key for the SFTP driver.
 *
 * The key the server offered during the handshake is checked, before any
 * authentication, against a pinned fingerprint (sftp_host_key_fingerprint)
 * or, when none is set, against an OpenSSH known_hosts file
 * (sftp_known_hosts_file).  There is no trust on first use and no way to
 * skip the check.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SFTP_HOSTKEY_H
#define SB_SFTP_HOSTKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <libssh2.h>

#include "sb_config.h"
#include "sb_error.h"

/*
 * The host key algorithms the driver asks for, best first (the second list
 * for libssh2 builds without rsa-sha2).  "setup sftp" asks for the same, so
 * the key it shows is the one the driver will check.
 */
#define SFTP_HOSTKEY_PREF \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"rsa-sha2-512,rsa-sha2-256"
#define SFTP_HOSTKEY_PREF_OLD \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521"

/* Room for "SHA256:" + 43 base64 characters + NUL */
#define SB_SFTP_FP_LEN		64

/*
 * Check the host key of an established (handshaken) session.  Returns
 * SB_OK, SB_ERR_AUTH (unknown or changed key), SB_ERR_CONFIG (nothing to
 * check against, unreadable known_hosts file, malformed fingerprint) or
 * SB_ERR_INTERNAL.
 */
extern SbStatus sb_sftp_verify_host_key(LIBSSH2_SESSION *session,
										const SbRepoConfig *cfg,
										SbError *err);

/*
 * Format a SHA-256 digest as ssh-keygen -l prints it:
 * "SHA256:<base64 without padding>".  out has SB_SFTP_FP_LEN bytes.
 */
extern void sb_sftp_format_fingerprint(const unsigned char *sha256,
									   char *out);

/*
 * Parse a configured fingerprint: "SHA256:<base64>" (padding optional) or
 * 64 hexadecimal digits, with or without colons.  Returns false when the
 * text is neither; on success the digest is stored in sha256 (32 bytes).
 */
extern bool sb_sftp_parse_fingerprint(const char *text,
									  unsigned char *sha256);

#endif							/* SB_SFTP_HOSTKEY_H */
