/*-------------------------------------------------------------------------
 *
 * tls_ctx.c
 *		The repository server's TLS context: our certificate chain and key,
 *		the CA that signs client certificates, the project's protocol and
 *		cipher policy (transport/tls_policy.h), a client certificate
 *		required and verified.
 *
 * The verify callback remembers why a client's chain was refused and whose
 * certificate it was, so that the connection handler can log it.  Each
 * connection runs in its own process, so plain static storage is enough.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "server.h"
#include "../transport/tls_policy.h"

static char verify_failure[256];
static char verify_subject[512];

static int
verify_cb(int ok, X509_STORE_CTX *store)
{
	if (!ok && verify_failure[0] == '\0')
	{
		X509	   *cert = X509_STORE_CTX_get_current_cert(store);
		int			e = X509_STORE_CTX_get_error(store);

		snprintf(verify_failure, sizeof(verify_failure), "%s",
				 X509_verify_cert_error_string(e));
		if (cert != NULL)
			X509_NAME_oneline(X509_get_subject_name(cert), verify_subject,
							  sizeof(verify_subject));
	}
	return ok;
}

const char *
srv_tls_verify_failure(void)
{
	return verify_failure;
}

const char *
srv_tls_verify_subject(void)
{
	return verify_subject;
}

void
srv_tls_errstr(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "connection closed");
	else
	{
		const char *reason = ERR_reason_error_string(e);

		if (reason)
			snprintf(buf, size, "%s", reason);
		else
			ERR_error_string_n(e, buf, size);
	}
	ERR_clear_error();
}

SSL_CTX *
srv_tls_ctx_new(const SrvConfig *cfg, char *errbuf, size_t errlen)
{
	SSL_CTX    *ctx;
	STACK_OF(X509_NAME) *names;
	char		reason[256];

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
	{
		snprintf(errbuf, errlen, "could not create TLS context");
		return NULL;
	}
	if (!sb_tls_apply_policy(ctx))
	{
		srv_tls_errstr(reason, sizeof(reason));
		snprintf(errbuf, errlen, "could not set the TLS cipher policy: %s", reason);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
	{
		srv_tls_errstr(reason, sizeof(reason));
		snprintf(errbuf, errlen, "could not load certificate file \"%s\": %s",
				 cfg->cert_file, reason);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1)
	{
		srv_tls_errstr(reason, sizeof(reason));
		snprintf(errbuf, errlen, "could not load key file \"%s\": %s",
				 cfg->key_file, reason);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
	{
		ERR_clear_error();
		snprintf(errbuf, errlen, "key file \"%s\" does not match certificate file \"%s\"",
				 cfg->key_file, cfg->cert_file);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1)
	{
		srv_tls_errstr(reason, sizeof(reason));
		snprintf(errbuf, errlen, "could not load CA file \"%s\": %s",
				 cfg->ca_file, reason);
		goto fail;
	}
	names = SSL_load_client_CA_file(cfg->ca_file);
	if (names != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	ERR_clear_error();
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
					   verify_cb);
	return ctx;

fail:
	SSL_CTX_free(ctx);
	return NULL;
}
