/*-------------------------------------------------------------------------
 *
 * tls_policy.h
 *		The one TLS protocol and cipher policy of pg_safebackup, applied to
 *		both ends: the TLS storage driver (transport/tls.c) and the
 *		repository server (server/tls_ctx.c).
 *
 * TLS 1.2 or later; only AEAD ciphers with forward secrecy: every TLS 1.3
 * suite, and for TLS 1.2 only ECDHE key exchange with AES-GCM or
 * ChaCha20-Poly1305.  No CBC, no SHA-1 MAC, no static RSA key exchange.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TLS_POLICY_H
#define SB_TLS_POLICY_H

#include <stdbool.h>

#include <openssl/ssl.h>

/* OpenSSL cipher list for TLS 1.2 (SSL_CTX_set_cipher_list syntax) */
#define SB_TLS12_CIPHERS \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

/* TLS 1.3 suites (SSL_CTX_set_ciphersuites syntax): all of them are AEAD */
#define SB_TLS13_CIPHERS \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

/* Apply the policy to ctx; false if OpenSSL refused it (error queue set). */
extern bool sb_tls_apply_policy(SSL_CTX *ctx);

/* Does a negotiated or offered cipher meet the policy? */
extern bool sb_tls_cipher_allowed(const SSL_CIPHER *cipher);

#endif							/* SB_TLS_POLICY_H */
