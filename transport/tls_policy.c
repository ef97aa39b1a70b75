/*-------------------------------------------------------------------------
 *
 * tls_policy.c
 *		Apply pg_safebackup's TLS protocol and cipher policy (tls_policy.h)
 *		to an OpenSSL context, so that the client driver and the repository
 *		server cannot drift apart.
 *
 *-------------------------------------------------------------------------
 */
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>

#include "tls_policy.h"

bool
sb_tls_apply_policy(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return false;
	if (SSL_CTX_set_cipher_list(ctx, SB_TLS12_CIPHERS) != 1)
		return false;
	if (SSL_CTX_set_ciphersuites(ctx, SB_TLS13_CIPHERS) != 1)
		return false;
	/* no TLS-level compression (CRIME), no renegotiation */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	return true;
}

bool
sb_tls_cipher_allowed(const SSL_CIPHER *cipher)
{
	int			kx;

	if (cipher == NULL || !SSL_CIPHER_is_aead(cipher))
		return false;
	/* TLS 1.3 suites name no key exchange ("any"): it is always (EC)DHE */
	kx = SSL_CIPHER_get_kx_nid(cipher);
	return kx == NID_kx_ecdhe || kx == NID_kx_any;
}
