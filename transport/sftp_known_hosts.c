/*-------------------------------------------------------------------------
 *
 * sftp_known_hosts.c
 *		Scan a known_hosts file for "@revoked" and "@cert-authority" lines;
 *		see sftp_known_hosts.h.
 *
 * A line is "@marker hosts keytype base64-key [comment]".  The host field
 * is a comma-separated list of patterns ("*" and "?" wildcards, "!" to
 * exclude) or one hashed entry "|1|base64(salt)|base64(HMAC-SHA1(salt,
 * name))".  Host names compare without regard to case.  The key is compared
 * as its base64 text, which OpenSSH writes in the canonical padded form.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_known_hosts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define HASH_MAGIC	"|1|"

static bool glob_match(const char *pat, size_t patlen, const char *name);
static bool hashed_match(const char *field, const char *name);
static bool key_matches(const char *b64, const unsigned char *key,
						size_t keylen);
static char *next_token(char **cursor);

/* "*" any run of characters, "?" one character, case-insensitive */
static bool
glob_match(const char *pat, size_t patlen, const char *name)
{
	while (patlen > 0)
	{
		if (*pat == '*')
		{
			/* try every split of name against the rest of the pattern */
			for (;;)
			{
				if (glob_match(pat + 1, patlen - 1, name))
					return true;
				if (*name == '\0')
					return false;
				name++;
			}
		}
		if (*name == '\0')
			return false;
		if (*pat != '?' &&
			tolower((unsigned char) *pat) != tolower((unsigned char) *name))
			return false;
		pat++;
		patlen--;
		name++;
	}
	return *name == '\0';
}

static bool
hashed_match(const char *field, const char *name)
{
	const char *salt64 = field + strlen(HASH_MAGIC);
	const char *bar = strchr(salt64, '|');
	size_t		saltlen64;
	unsigned char salt[64];
	int			n;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char		mac64[2 * EVP_MAX_MD_SIZE];

	if (bar == NULL)
		return false;
	saltlen64 = (size_t) (bar - salt64);
	if (saltlen64 == 0 || saltlen64 % 4 != 0 || saltlen64 / 4 * 3 > sizeof(salt))
		return false;
	n = EVP_DecodeBlock(salt, (const unsigned char *) salt64, (int) saltlen64);
	if (n < 0)
		return false;
	/* EVP_DecodeBlock counts the padding as output bytes */
	if (salt64[saltlen64 - 1] == '=')
		n--;
	if (salt64[saltlen64 - 2] == '=')
		n--;
	if (HMAC(EVP_sha1(), salt, n, (const unsigned char *) name, strlen(name),
			 mac, &maclen) == NULL)
		return false;
	EVP_EncodeBlock((unsigned char *) mac64, mac, (int) maclen);
	return strcmp(bar + 1, mac64) == 0;
}

bool
sb_known_hosts_match_host(const char *field, const char *name)
{
	const char *p = field;
	bool		matched = false;

	if (strncmp(field, HASH_MAGIC, strlen(HASH_MAGIC)) == 0)
		return hashed_match(field, name);

	while (*p != '\0')
	{
		size_t		len = strcspn(p, ",");
		bool		negated = (*p == '!');

		if (negated && glob_match(p + 1, len - 1, name))
			return false;		/* an excluded name never matches */
		if (!negated && len > 0 && glob_match(p, len, name))
			matched = true;
		p += len;
		if (*p == ',')
			p++;
	}
	return matched;
}

static bool
key_matches(const char *b64, const unsigned char *key, size_t keylen)
{
	char	   *enc;
	bool		same;

	if (keylen == 0 || keylen > 64 * 1024)
		return false;
	enc = malloc(4 * ((keylen + 2) / 3) + 1);
	if (enc == NULL)
		return false;
	EVP_EncodeBlock((unsigned char *) enc, key, (int) keylen);
	same = strcmp(enc, b64) == 0;
	free(enc);
	return same;
}

/* the next blank-separated token of *cursor, NUL-terminated in place */
static char *
next_token(char **cursor)
{
	char	   *p = *cursor;
	char	   *tok;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	tok = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*cursor = p;
	return tok;
}

SbStatus
sb_known_hosts_find_marker(const char *path, const char *host, int port,
						   const unsigned char *key, size_t keylen,
						   SbKnownHostsMarker *marker, int *lineno,
						   SbError *err)
{
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	char		name[300];
	int			n = 0;
	int			ca_line = 0;
	size_t		i;

	*marker = SB_KH_MARKER_NONE;
	*lineno = 0;

	if (port == 22)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	for (i = 0; name[i] != '\0'; i++)
		name[i] = (char) tolower((unsigned char) name[i]);

	f = fopen(path, "r");
	if (f == NULL)
		return sb_error_errno(err, errno, "could not read known hosts file \"%s\"",
							  path);

	while (getline(&line, &cap, f) != -1)
	{
		char	   *cursor = line;
		char	   *mark;
		char	   *hosts;
		char	   *keytype;
		char	   *b64;

		n++;
		line[strcspn(line, "\r\n")] = '\0';
		mark = next_token(&cursor);
		if (mark == NULL || mark[0] != '@')
			continue;			/* plain entries are libssh2's job */
		hosts = next_token(&cursor);
		keytype = next_token(&cursor);
		b64 = next_token(&cursor);
		if (hosts == NULL || keytype == NULL || b64 == NULL ||
			!sb_known_hosts_match_host(hosts, name))
			continue;

		if (strcmp(mark, "@revoked") == 0 && key_matches(b64, key, keylen))
		{
			*marker = SB_KH_MARKER_REVOKED;
			*lineno = n;
			break;
		}
		if (strcmp(mark, "@cert-authority") == 0 && ca_line == 0)
			ca_line = n;
	}
	if (ferror(f))
	{
		int			save = errno;

		free(line);
		fclose(f);
		return sb_error_errno(err, save, "could not read known hosts file \"%s\"",
							  path);
	}
	free(line);
	fclose(f);

	if (*marker == SB_KH_MARKER_NONE && ca_line > 0)
	{
		*marker = SB_KH_MARKER_CERT_AUTHORITY;
		*lineno = ca_line;
	}
	return SB_OK;
}
