/*-------------------------------------------------------------------------
 *
 * cmd_setup_tls.c
 *		"pg_safebackup setup tls": the certificates of a TLS repository in
 *		one command, instead of the openssl command lines the README used
 *		to list.
 *
 * In DIR: a certificate authority (ca.crt, ca.key; made once, then used as
 * it is), the repository server's certificate (server.crt, server.key) for
 * the names given with --server-name (each a subject alternative name, DNS
 * or IP), and one client certificate per --client CN (CN.crt, CN.key).
 * Files that exist are kept, so the command can be run again to add a
 * client.  Keys are EC P-256, written with mode 0600 (O_EXCL: never over
 * another file).  Made with the OpenSSL API, no openssl command needed.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli.h"

#define SETUP_TLS_MAX_NAMES		16
#define SETUP_TLS_MAX_CLIENTS	64
#define SETUP_TLS_CA_DAYS		3650

typedef struct TlsSetup
{
	char		dir[PATH_MAX];
	const char *names[SETUP_TLS_MAX_NAMES];
	int			nnames;
	const char *clients[SETUP_TLS_MAX_CLIENTS];
	int			nclients;
	const char *stanza;
	int			port;
	int			days;
} TlsSetup;

/* The OpenSSL error queue, as one message. */
static void
report_openssl(const char *what)
{
	unsigned long e = ERR_get_error();
	char		buf[256];

	if (e == 0)
		sb_cli_error("%s", what);
	else
	{
		ERR_error_string_n(e, buf, sizeof(buf));
		sb_cli_error("%s: %s", what, buf);
	}
	ERR_clear_error();
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static EVP_PKEY *
new_key(void)
{
	EVP_PKEY   *key = EVP_EC_gen("P-256");

	if (key == NULL)
		report_openssl("could not generate a key");
	return key;
}

/* Write a PEM object to a new file of the given mode (never over one). */
static bool
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	FILE	   *f;
	bool		ok;

	if (fd < 0)
	{
		sb_cli_error("could not create file \"%s\": %s", path, strerror(errno));
		return false;
	}
	f = fdopen(fd, "w");
	if (f == NULL)
	{
		sb_cli_error("could not open file \"%s\": %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return false;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1
		: PEM_write_X509(f, cert) == 1;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = false;
	if (fclose(f) != 0)
		ok = false;
	if (!ok)
	{
		report_openssl("could not write file");
		sb_cli_error("could not write file \"%s\"", path);
		unlink(path);
	}
	return ok;
}

static bool
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || X509_add_ext(cert, ext, -1) != 1)
	{
		X509_EXTENSION_free(ext);
		report_openssl("could not add a certificate extension");
		return false;
	}
	X509_EXTENSION_free(ext);
	return true;
}

/*
 * A certificate for key with subject CN=cn, signed by ca_key (self-signed
 * when issuer is NULL), with the extensions given as nid/value pairs.
 */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ca_key,
		  int days, const int *nids, const char *const *values, int next)
{
	X509	   *cert = X509_new();
	X509_NAME  *name;
	unsigned char serial[16];
	BIGNUM	   *bn = NULL;
	bool		ok = false;

	if (cert == NULL)
		goto done;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto done;
	serial[0] &= 0x7f;			/* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL)
		goto done;
	if (X509_set_version(cert, 2) != 1 ||
		X509_gmtime_adj(X509_getm_notBefore(cert), -300) == NULL ||
		X509_gmtime_adj(X509_getm_notAfter(cert), (long) days * 86400) == NULL ||
		X509_set_pubkey(cert, key) != 1)
		goto done;
	name = X509_get_subject_name(cert);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
								   (const unsigned char *) cn, -1, -1, 0) != 1)
		goto done;
	if (X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) != 1)
		goto done;
	for (int i = 0; i < next; i++)
		if (!add_ext(cert, issuer ? issuer : cert, nids[i], values[i]))
			goto done;
	if (X509_sign(cert, ca_key, EVP_sha256()) == 0)
		goto done;
	ok = true;
done:
	BN_free(bn);
	if (!ok)
	{
		report_openssl("could not make a certificate");
		X509_free(cert);
		return NULL;
	}
	return cert;
}

static void
path_in(const TlsSetup *s, const char *file, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", s->dir, file);
}

/* Load ca.key and ca.crt, or make them when neither exists. */
static bool
load_or_make_ca(const TlsSetup *s, EVP_PKEY **ca_key, X509 **ca_cert)
{
	static const int nids[] = {NID_basic_constraints, NID_key_usage,
	NID_subject_key_identifier};
	static const char *const values[] = {"critical,CA:TRUE",
	"critical,keyCertSign,cRLSign", "hash"};
	char		kpath[PATH_MAX + 16];
	char		cpath[PATH_MAX + 16];
	FILE	   *f;

	path_in(s, "ca.key", kpath, sizeof(kpath));
	path_in(s, "ca.crt", cpath, sizeof(cpath));
	if (file_exists(kpath) != file_exists(cpath))
	{
		sb_cli_error("only one of \"%s\" and \"%s\" exists", kpath, cpath);
		fprintf(stderr, "%s: hint: Give a directory with both files of a CA, or with neither.\n", progname);
		return false;
	}
	if (file_exists(kpath))
	{
		if ((f = fopen(kpath, "r")) == NULL)
		{
			sb_cli_error("could not open file \"%s\": %s", kpath, strerror(errno));
			return false;
		}
		*ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if ((f = fopen(cpath, "r")) == NULL)
		{
			sb_cli_error("could not open file \"%s\": %s", cpath, strerror(errno));
			return false;
		}
		*ca_cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		if (*ca_key == NULL || *ca_cert == NULL ||
			X509_check_private_key(*ca_cert, *ca_key) != 1)
		{
			report_openssl("could not use the CA in the directory");
			return false;
		}
		sb_cli_info("using the CA in \"%s\"", cpath);
		return true;
	}
	if ((*ca_key = new_key()) == NULL)
		return false;
	*ca_cert = make_cert("pg_safebackup CA", *ca_key, NULL, *ca_key,
						 SETUP_TLS_CA_DAYS, nids, values, 3);
	if (*ca_cert == NULL ||
		!write_pem(kpath, 0600, *ca_key, NULL) ||
		!write_pem(cpath, 0644, NULL, *ca_cert))
		return false;
	sb_cli_info("created CA \"%s\"", cpath);
	return true;
}

/*
 * A leaf certificate NAME.crt/NAME.key signed by the CA, unless NAME.crt
 * exists already.
 */
static bool
issue(const TlsSetup *s, const char *file, const char *cn, const char *eku,
	  const char *san, EVP_PKEY *ca_key, X509 *ca_cert)
{
	int			nids[] = {NID_basic_constraints, NID_ext_key_usage,
	NID_authority_key_identifier, NID_subject_alt_name};
	const char *values[] = {"critical,CA:FALSE", eku, "keyid", san};
	char		kpath[PATH_MAX + 80];
	char		cpath[PATH_MAX + 80];
	char		name[80];
	EVP_PKEY   *key;
	X509	   *cert;
	bool		ok;

	snprintf(name, sizeof(name), "%s.key", file);
	path_in(s, name, kpath, sizeof(kpath));
	snprintf(name, sizeof(name), "%s.crt", file);
	path_in(s, name, cpath, sizeof(cpath));
	if (file_exists(cpath) || file_exists(kpath))
	{
		sb_cli_info("kept the existing \"%s\" (remove it and its key to issue a new one)", cpath);
		return true;
	}
	if ((key = new_key()) == NULL)
		return false;
	cert = make_cert(cn, key, ca_cert, ca_key, s->days, nids, values,
					 san ? 4 : 3);
	ok = cert != NULL &&
		write_pem(kpath, 0600, key, NULL) &&
		write_pem(cpath, 0644, NULL, cert);
	if (ok)
		sb_cli_verbose("issued \"%s\" for CN \"%s\"", cpath, cn);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ok;
}

/* "DNS:name,IP:1.2.3.4" for the server names */
static bool
server_san(const TlsSetup *s, char *out, size_t size)
{
	size_t		len = 0;

	out[0] = '\0';
	for (int i = 0; i < s->nnames; i++)
	{
		unsigned char addr[16];
		bool		ip = inet_pton(AF_INET, s->names[i], addr) == 1 ||
			inet_pton(AF_INET6, s->names[i], addr) == 1;
		int			n = snprintf(out + len, size - len, "%s%s:%s",
								 i > 0 ? "," : "", ip ? "IP" : "DNS", s->names[i]);

		if (n < 0 || (size_t) n >= size - len)
		{
			sb_cli_error("too many server names");
			return false;
		}
		len += n;
	}
	return true;
}

/* A CN is also a file name here: letters, digits, ".", "_", "-". */
static bool
cn_valid(const char *cn)
{
	size_t		len = strlen(cn);

	if (len == 0 || len > 64 || cn[0] == '.' || strcmp(cn, "ca") == 0 ||
		strcmp(cn, "server") == 0)
		return false;
	return strspn(cn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

static int
parse_setup_tls(int argc, char **argv, TlsSetup *s)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"server-name", required_argument, NULL, 'n'},
		{"client", required_argument, NULL, 'C'},
		{"stanza", required_argument, NULL, 's'},
		{"port", required_argument, NULL, 'p'},
		{"days", required_argument, NULL, 'y'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0}
	};
	const char *dir = NULL;
	int			c;

	memset(s, 0, sizeof(*s));
	s->stanza = "main";
	s->port = 8432;
	s->days = 825;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qv", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				dir = optarg;
				break;
			case 'n':
				if (s->nnames == SETUP_TLS_MAX_NAMES)
				{
					sb_cli_error("too many server names (at most %d)", SETUP_TLS_MAX_NAMES);
					return SB_EXIT_USAGE;
				}
				s->names[s->nnames++] = optarg;
				break;
			case 'C':
				if (!cn_valid(optarg))
				{
					sb_cli_error("invalid client name \"%s\"", optarg);
					fprintf(stderr, "%s: hint: A client name is 1 to 64 letters, digits, \".\", \"_\" or \"-\", not \"ca\" or \"server\".\n", progname);
					return SB_EXIT_USAGE;
				}
				if (s->nclients == SETUP_TLS_MAX_CLIENTS)
				{
					sb_cli_error("too many clients (at most %d)", SETUP_TLS_MAX_CLIENTS);
					return SB_EXIT_USAGE;
				}
				s->clients[s->nclients++] = optarg;
				break;
			case 's':
				if (!sb_stanza_name_valid(optarg))
				{
					sb_cli_error("invalid stanza name \"%s\"", optarg);
					return SB_EXIT_USAGE;
				}
				s->stanza = optarg;
				break;
			case 'p':
				s->port = atoi(optarg);
				if (s->port < 1 || s->port > 65535)
				{
					sb_cli_error("option \"--port\" must be an integer between 1 and 65535");
					return SB_EXIT_USAGE;
				}
				break;
			case 'y':
				s->days = atoi(optarg);
				if (s->days < 1 || s->days > 36500)
				{
					sb_cli_error("option \"--days\" must be an integer between 1 and 36500");
					return SB_EXIT_USAGE;
				}
				break;
			case 'q':
				sb_cli_verbosity = -1;
				break;
			case 'v':
				sb_cli_verbosity = 1;
				break;
			default:
				fprintf(stderr, "Try \"%s setup tls --help\" for more information.\n", progname);
				return SB_EXIT_USAGE;
		}
	}
	if (optind < argc)
	{
		sb_cli_error("unexpected argument \"%s\" for command \"setup tls\"", argv[optind]);
		return SB_EXIT_USAGE;
	}
	if (dir == NULL || s->nnames == 0)
	{
		sb_cli_error(dir == NULL ? "no directory given" : "no server name given");
		fprintf(stderr, "Usage: %s setup tls --dir=DIR --server-name=NAME --client=CN [OPTION]...\n", progname);
		return SB_EXIT_USAGE;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
	{
		sb_cli_error("could not create directory \"%s\": %s", dir, strerror(errno));
		return SB_EXIT_ERROR;
	}
	if (realpath(dir, s->dir) == NULL)
	{
		sb_cli_error("could not resolve directory \"%s\": %s", dir, strerror(errno));
		return SB_EXIT_ERROR;
	}
	return SB_EXIT_OK;
}

static void
print_settings(const TlsSetup *s)
{
	printf("# the repository server's configuration file (pg_safebackup server -c FILE):\n");
	printf("listen = *\nport = %d\nrepo_path = /path/to/repository\n", s->port);
	printf("cert_file = %s/server.crt\nkey_file = %s/server.key\nca_file = %s/ca.crt\n",
		   s->dir, s->dir, s->dir);
	printf("[auth]\n");
	for (int i = 0; i < s->nclients; i++)
		printf("%s = %s\n", s->clients[i], s->stanza);
	for (int i = 0; i < s->nclients; i++)
	{
		printf("\n# postgresql.conf of the database host \"%s\" (copy %s.crt, %s.key\n"
			   "# (mode 0600, owned by the server's user) and ca.crt there):\n",
			   s->clients[i], s->clients[i], s->clients[i]);
		printf("safebackup.repo_type = 'tls'\n");
		printf("safebackup.stanza = '%s'\n", s->stanza);
		printf("safebackup.tls_host = '%s'\n", s->names[0]);
		printf("safebackup.tls_port = %d\n", s->port);
		printf("safebackup.tls_cert_file = '%s/%s.crt'\n", s->dir, s->clients[i]);
		printf("safebackup.tls_key_file = '%s/%s.key'\n", s->dir, s->clients[i]);
		printf("safebackup.tls_ca_file = '%s/ca.crt'\n", s->dir);
	}
}

int
sb_cmd_setup_tls(int argc, char **argv)
{
	TlsSetup	s;
	EVP_PKEY   *ca_key = NULL;
	X509	   *ca_cert = NULL;
	char		san[2048];
	int			rc;

	rc = parse_setup_tls(argc, argv, &s);
	if (rc != SB_EXIT_OK)
		return rc;
	rc = SB_EXIT_ERROR;
	if (!server_san(&s, san, sizeof(san)) ||
		!load_or_make_ca(&s, &ca_key, &ca_cert) ||
		!issue(&s, "server", s.names[0], "serverAuth", san, ca_key, ca_cert))
		goto done;
	for (int i = 0; i < s.nclients; i++)
		if (!issue(&s, s.clients[i], s.clients[i], "clientAuth", NULL, ca_key, ca_cert))
			goto done;
	if (sb_cli_verbosity >= 0)
		print_settings(&s);
	rc = SB_EXIT_OK;
done:
	EVP_PKEY_free(ca_key);
	X509_free(ca_cert);
	return rc;
}
