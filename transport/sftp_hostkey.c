/*-------------------------------------------------------------------------
 *
 * sftp_hostkey.c
 *		Host key verification for the SFTP driver; see sftp_hostkey.h.
 *
 * A pinned fingerprint is compared with the SHA-256 digest of the offered
 * key, the form "ssh-keygen -lf" prints (SHA256:<base64 without padding>),
 * or the same digest in hexadecimal.  A known_hosts file is read with
 * libssh2's known-host functions, which understand hashed entries
 * ("|1|salt|hash") and the "[host]:port" form used for ports other than 22.
 * libssh2 skips the marker lines of that file, so they are read first by
 * sftp_known_hosts.c: a key under "@revoked" is refused even when a
 * fingerprint is pinned, and a matching "@cert-authority" line is refused
 * as unsupported when the file is what the key is checked against.
 *
 * Messages name the offered key's type and fingerprint, so that the
 * administrator can compare it with "ssh-keygen -lf" on the server.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_hostkey.h"
#include "cipher.h"
#include "sftp_known_hosts.h"
#include "sftp_settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SHA256_LEN	32

static const char b64chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char *key_type_name(int type);
static int	known_host_key_bit(int type);
static int	b64_value(char c);
static SbStatus check_markers(const SbRepoConfig *cfg, const char *key,
							  size_t keylen, const char *typename,
							  const char *fp, SbError *err);

void
sb_sftp_format_fingerprint(const unsigned char *sha256, char *out)
{
	char	   *p;
	int			i;

	strcpy(out, "SHA256:");
	p = out + strlen(out);

	/* 32 bytes: ten full groups of three, then two bytes (no padding) */
	for (i = 0; i + 3 <= SHA256_LEN; i += 3)
	{
		unsigned long v = ((unsigned long) sha256[i] << 16) |
		((unsigned long) sha256[i + 1] << 8) | sha256[i + 2];

		*p++ = b64chars[(v >> 18) & 63];
		*p++ = b64chars[(v >> 12) & 63];
		*p++ = b64chars[(v >> 6) & 63];
		*p++ = b64chars[v & 63];
	}
	{
		unsigned long v = ((unsigned long) sha256[i] << 16) |
		((unsigned long) sha256[i + 1] << 8);

		*p++ = b64chars[(v >> 18) & 63];
		*p++ = b64chars[(v >> 12) & 63];
		*p++ = b64chars[(v >> 6) & 63];
	}
	*p = '\0';
}

static int
b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64chars, c);
	return p ? (int) (p - b64chars) : -1;
}

bool
sb_sftp_parse_fingerprint(const char *text, unsigned char *sha256)
{
	size_t		len;

	if (text == NULL)
		return false;
	len = strlen(text);

	if (len > 7 && strncmp(text, "SHA256:", 7) == 0)
	{
		const char *s = text + 7;
		size_t		n = strlen(s);
		unsigned long acc = 0;
		int			bits = 0;
		int			out = 0;
		size_t		i;

		/* optional padding */
		while (n > 0 && s[n - 1] == '=')
			n--;
		if (n != 43)
			return false;
		for (i = 0; i < n; i++)
		{
			int			v = b64_value(s[i]);

			if (v < 0)
				return false;
			acc = (acc << 6) | (unsigned long) v;
			bits += 6;
			if (bits >= 8)
			{
				bits -= 8;
				if (out >= SHA256_LEN)
					return false;
				sha256[out++] = (unsigned char) ((acc >> bits) & 0xff);
			}
		}
		/* the unused low bits of the last character must be zero */
		if ((acc & ((1UL << bits) - 1)) != 0)
			return false;
		return out == SHA256_LEN;
	}
	else
	{
		const char *s = text;
		int			out = 0;

		/* hexadecimal, colons optional */
		while (*s)
		{
			int			hi,
						lo;

			if (*s == ':')
			{
				s++;
				continue;
			}
			hi = sb_hex_digit(s[0]);
			lo = (hi >= 0) ? sb_hex_digit(s[1]) : -1;
			if (hi < 0 || lo < 0 || out >= SHA256_LEN)
				return false;
			sha256[out++] = (unsigned char) ((hi << 4) | lo);
			s += 2;
		}
		return out == SHA256_LEN;
	}
}

static const char *
key_type_name(int type)
{
	switch (type)
	{
		case LIBSSH2_HOSTKEY_TYPE_RSA:
			return "ssh-rsa";
		case LIBSSH2_HOSTKEY_TYPE_DSS:
			return "ssh-dss";
		case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
			return "ecdsa-sha2-nistp256";
		case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
			return "ecdsa-sha2-nistp384";
		case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
			return "ecdsa-sha2-nistp521";
		case LIBSSH2_HOSTKEY_TYPE_ED25519:
			return "ssh-ed25519";
		default:
			return "unknown";
	}
}

static int
known_host_key_bit(int type)
{
	switch (type)
	{
		case LIBSSH2_HOSTKEY_TYPE_RSA:
			return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
		case LIBSSH2_HOSTKEY_TYPE_DSS:
			return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
		case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
			return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
		case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
			return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
		case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
			return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
		case LIBSSH2_HOSTKEY_TYPE_ED25519:
			return LIBSSH2_KNOWNHOST_KEY_ED25519;
		default:
			return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

SbStatus
sb_sftp_verify_host_key(LIBSSH2_SESSION *session, const SbRepoConfig *cfg,
						SbError *err)
{
	const char *key;
	const char *hash;
	size_t		keylen = 0;
	int			keytype = LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
	const char *typename;
	char		fp[SB_SFTP_FP_LEN];
	const char *host = SB_SFTP(cfg)->sftp_host;
	int			port = SB_SFTP(cfg)->sftp_port > 0 ? SB_SFTP(cfg)->sftp_port : 22;

	key = libssh2_session_hostkey(session, &keylen, &keytype);
	hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (key == NULL || keylen == 0 || hash == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not get the host key of SFTP server \"%s\"",
							host);
	typename = key_type_name(keytype);
	sb_sftp_format_fingerprint((const unsigned char *) hash, fp);

	if (SB_SFTP(cfg)->sftp_known_hosts_file[0] != '\0' &&
		check_markers(cfg, key, keylen, typename, fp, err) != SB_OK)
		return err->status;

	if (SB_SFTP(cfg)->sftp_host_key_fingerprint[0] != '\0')
	{
		unsigned char want[SHA256_LEN];

		if (!sb_sftp_parse_fingerprint(SB_SFTP(cfg)->sftp_host_key_fingerprint, want))
		{
			sb_error_set(err, SB_ERR_CONFIG,
						 "invalid host key fingerprint \"%s\"",
						 SB_SFTP(cfg)->sftp_host_key_fingerprint);
			sb_error_hint(err, "Give the SHA256 fingerprint as \"ssh-keygen -lf\" prints it (SHA256:...), or as 64 hexadecimal digits.");
			return SB_ERR_CONFIG;
		}
		if (memcmp(want, hash, SHA256_LEN) != 0)
		{
			sb_error_set(err, SB_ERR_AUTH,
						 "host key for \"%s\" has changed", host);
			sb_error_detail(err, "The server offered a %s key with fingerprint %s, which does not match safebackup.sftp_host_key_fingerprint.",
							typename, fp);
			sb_error_hint(err, "Someone may be intercepting the connection, or the server's host key was replaced.  Compare with \"ssh-keygen -lf\" of the host key on the server before changing the setting.");
			return SB_ERR_AUTH;
		}
		return SB_OK;
	}

	if (SB_SFTP(cfg)->sftp_known_hosts_file[0] != '\0')
	{
		LIBSSH2_KNOWNHOSTS *kh;
		struct libssh2_knownhost *entry = NULL;
		int			n;
		int			check;

		kh = libssh2_knownhost_init(session);
		if (kh == NULL)
			return sb_error_oom(err);

		n = libssh2_knownhost_readfile(kh, SB_SFTP(cfg)->sftp_known_hosts_file,
									   LIBSSH2_KNOWNHOST_FILE_OPENSSH);
		if (n < 0)
		{
			struct stat sb;

			libssh2_knownhost_free(kh);
			if (stat(SB_SFTP(cfg)->sftp_known_hosts_file, &sb) != 0)
				sb_error_errno(err, errno,
							   "could not read known hosts file \"%s\"",
							   SB_SFTP(cfg)->sftp_known_hosts_file);
			else
				sb_error_set(err, SB_ERR_CONFIG,
							 "could not read known hosts file \"%s\"",
							 SB_SFTP(cfg)->sftp_known_hosts_file);
			err->status = SB_ERR_CONFIG;
			sb_error_hint(err, "Check safebackup.sftp_known_hosts_file: it must be a readable file in OpenSSH known_hosts format.");
			return SB_ERR_CONFIG;
		}

		check = libssh2_knownhost_checkp(kh, host, port, key, keylen,
										 LIBSSH2_KNOWNHOST_TYPE_PLAIN |
										 LIBSSH2_KNOWNHOST_KEYENC_RAW |
										 known_host_key_bit(keytype),
										 &entry);
		libssh2_knownhost_free(kh);

		switch (check)
		{
			case LIBSSH2_KNOWNHOST_CHECK_MATCH:
				return SB_OK;
			case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
				sb_error_set(err, SB_ERR_AUTH,
							 "host key for \"%s\" has changed", host);
				sb_error_detail(err, "The server offered a %s key with fingerprint %s, which does not match the key recorded in \"%s\".",
								typename, fp, SB_SFTP(cfg)->sftp_known_hosts_file);
				sb_error_hint(err, "Someone may be intercepting the connection, or the server's host key was replaced.  Compare with \"ssh-keygen -lf\" of the host key on the server before updating the known hosts file.");
				return SB_ERR_AUTH;
			case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
				break;
			default:
				return sb_error_set(err, SB_ERR_INTERNAL,
									"could not check the host key of \"%s\" against \"%s\"",
									host, SB_SFTP(cfg)->sftp_known_hosts_file);
		}
	}

	/* no pinned fingerprint and no entry: never trust on first use */
	sb_error_set(err, SB_ERR_AUTH, "host key for \"%s\" is not known", host);
	sb_error_detail(err, "The server offered a %s key with fingerprint %s.",
					typename, fp);
	if (SB_SFTP(cfg)->sftp_known_hosts_file[0] != '\0')
		sb_error_hint(err, "After checking the fingerprint with \"ssh-keygen -lf\" on the server, add the key to \"%s\" (for example with \"ssh-keyscan -p %d %s\"), or set safebackup.sftp_host_key_fingerprint.",
					  SB_SFTP(cfg)->sftp_known_hosts_file, port, host);
	else
		sb_error_hint(err, "Set safebackup.sftp_host_key_fingerprint to the fingerprint \"ssh-keygen -lf\" prints for the server's host key, or set safebackup.sftp_known_hosts_file to a known_hosts file holding it (see \"ssh-keyscan -p %d %s\").",
					  port, host);
	return SB_ERR_AUTH;
}

/*
 * The marker lines libssh2 does not read: a revoked key is refused
 * whatever else is configured; host certificates are not supported, so a
 * certificate authority for this host is refused when the known_hosts file
 * is what the key is checked against (no pinned fingerprint).
 */
static SbStatus
check_markers(const SbRepoConfig *cfg, const char *key, size_t keylen,
			  const char *typename, const char *fp, SbError *err)
{
	const char *file = SB_SFTP(cfg)->sftp_known_hosts_file;
	const char *host = SB_SFTP(cfg)->sftp_host;
	int			port = SB_SFTP(cfg)->sftp_port > 0 ? SB_SFTP(cfg)->sftp_port : 22;
	SbKnownHostsMarker marker;
	int			lineno;

	if (sb_known_hosts_find_marker(file, host, port,
								   (const unsigned char *) key, keylen,
								   &marker, &lineno, err) != SB_OK)
	{
		err->status = SB_ERR_CONFIG;
		sb_error_hint(err, "Check safebackup.sftp_known_hosts_file: it must be a readable file in OpenSSH known_hosts format.");
		return SB_ERR_CONFIG;
	}

	if (marker == SB_KH_MARKER_REVOKED)
	{
		sb_error_set(err, SB_ERR_AUTH,
					 "host key for \"%s\" is revoked", host);
		sb_error_detail(err, "The server offered a %s key with fingerprint %s, which line %d of \"%s\" marks as @revoked.",
						typename, fp, lineno, file);
		sb_error_hint(err, "The key must not be trusted again.  Give the server a new host key and record that one.");
		return SB_ERR_AUTH;
	}
	if (marker == SB_KH_MARKER_CERT_AUTHORITY &&
		SB_SFTP(cfg)->sftp_host_key_fingerprint[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "host certificates are not supported for \"%s\"", host);
		sb_error_detail(err, "Line %d of \"%s\" is a @cert-authority line for this host.",
						lineno, file);
		sb_error_hint(err, "Record the server's host key itself in the known hosts file, or set safebackup.sftp_host_key_fingerprint.");
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}
