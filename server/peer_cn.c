/*-------------------------------------------------------------------------
 *
 * peer_cn.c
 *		The common name of a client certificate, as the authorization map
 *		compares it: exactly one CN attribute, valid UTF-8 text without NUL
 *		bytes, shorter than SRV_CN_MAX.
 *
 * Anything else is refused rather than guessed at: a CN such as "pg1\0x"
 * would read as "pg1" through a C string, and with two CN attributes a
 * certificate authority and the server could disagree about which one
 * names the client.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "server.h"

bool
srv_peer_cn(X509 *cert, char *cn, size_t size, char *why, size_t whylen)
{
	X509_NAME  *name = X509_get_subject_name(cert);
	int			idx;
	ASN1_STRING *data;
	unsigned char *utf8 = NULL;
	int			len;

	cn[0] = '\0';
	idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	if (idx < 0)
	{
		snprintf(why, whylen, "certificate has no common name");
		return false;
	}
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
	{
		snprintf(why, whylen, "certificate has more than one common name");
		return false;
	}
	data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	len = data ? ASN1_STRING_to_UTF8(&utf8, data) : -1;
	if (len < 0)
	{
		snprintf(why, whylen, "certificate common name is not valid text");
		return false;
	}
	if ((size_t) len != strlen((char *) utf8))
	{
		OPENSSL_free(utf8);
		snprintf(why, whylen, "certificate common name contains a NUL byte");
		return false;
	}
	if (len == 0 || (size_t) len >= size)
	{
		OPENSSL_free(utf8);
		snprintf(why, whylen, len == 0 ? "certificate common name is empty"
				 : "certificate common name is too long (at most %d bytes)",
				 (int) size - 1);
		return false;
	}
	memcpy(cn, utf8, (size_t) len + 1);
	OPENSSL_free(utf8);
	return true;
}
