/*-------------------------------------------------------------------------
 *
 * test_sftp.c
 *		Tests of the SFTP storage driver against a real sshd.
 *
 * Start the server with tests/sftp/sshd-harness.sh (as root), then run this
 * program with the variables of DIR/env in its environment (SFTP_HOST,
 * SFTP_PORT, SFTP_USER, SFTP_KEY, SFTP_KNOWN_HOSTS, SFTP_KNOWN_HOSTS_HASHED,
 * SFTP_FINGERPRINT, SFTP_REPO, SFTP_BACKING).  Without them it says so and
 * exits 0.
 *
 * The driver runs through the shared storage suite, then through checks of
 * its own: host key verification (pinned fingerprint, plain and hashed
 * known_hosts, unknown and changed keys), key file permissions, refused
 * authentication, unreachable server, missing repository, reconnection
 * after the connection is lost, the caller's wait function, and that the
 * account gets no shell.
 *
 * Files in the chroot belong to the SFTP account, and the suite's fault
 * injection changes their permissions locally.  So when this program runs
 * as root, the suite runs in a child process switched to that account;
 * when it runs as another user, the suite runs without the backing
 * directory (no disk checks, no local fault injection) and says so;
 * test_permissions_remote() checks permission errors in both cases, with
 * the modes changed through sftp(1) as the account.
 *
 * "test_sftp --bench" measures write throughput and a round trip instead.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_config.h"
#include "sb_error.h"
#include "sb_test.h"
#include "storage.h"
#include "storage_suite.h"
#include "sftp_settings.h"
#include "../../transport/sftp_hostkey.h"

SB_TEST_DEFINE_COUNTERS;

typedef struct Env
{
	const char *host;
	int			port;
	const char *user;
	const char *key;
	const char *known_hosts;
	const char *known_hosts_hashed;
	const char *fingerprint;
	const char *repo;
	const char *backing;
} Env;

static Env	env;
static char workdir[256];
static char keycopy[512];

#define CHECK_RC(rc, expected, err) \
	SB_CHECK_MSG((rc) == (expected), "got \"%s\" (%s), expected \"%s\"", \
				 sb_status_name(rc), (rc) != SB_OK ? (err).msg : "no error", \
				 sb_status_name(expected))


/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static void
base_config(SbRepoConfig *cfg)
{
	sb_config_init(cfg);
	cfg->repo_type = sb_test_repo_type("sftp");
	cfg->io_timeout_ms = 10000;
	snprintf(cfg->repo_path, sizeof(cfg->repo_path), "%s", env.repo);
	snprintf(SB_SFTP(cfg)->sftp_host, sizeof(SB_SFTP(cfg)->sftp_host), "%s", env.host);
	SB_SFTP(cfg)->sftp_port = env.port;
	snprintf(SB_SFTP(cfg)->sftp_user, sizeof(SB_SFTP(cfg)->sftp_user), "%s", env.user);
	snprintf(SB_SFTP(cfg)->sftp_private_key_file, sizeof(SB_SFTP(cfg)->sftp_private_key_file),
			 "%s", keycopy);
	snprintf(SB_SFTP(cfg)->sftp_known_hosts_file, sizeof(SB_SFTP(cfg)->sftp_known_hosts_file),
			 "%s", env.known_hosts);
}

/* Copy a file, creating dst with mode. */
static bool
copy_file(const char *src, const char *dst, mode_t mode)
{
	char		buf[8192];
	int			in,
				out;
	ssize_t		n;

	in = open(src, O_RDONLY);
	if (in < 0)
		return false;
	unlink(dst);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (out < 0)
	{
		close(in);
		return false;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
	{
		if (write(out, buf, (size_t) n) != n)
		{
			n = -1;
			break;
		}
	}
	close(in);
	close(out);
	(void) chmod(dst, mode);
	return n == 0;
}

static bool
write_text(const char *path, const char *text, mode_t mode)
{
	FILE	   *f;

	unlink(path);
	f = fopen(path, "w");
	if (f == NULL)
		return false;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode) == 0;
}

/* Read the first line of a file into buf, without the newline. */
static bool
read_line(const char *path, char *buf, size_t size)
{
	FILE	   *f = fopen(path, "r");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, (int) size, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\r\n")] = '\0';
	return ok;
}

/* Create an Ed25519 key pair at path (and path.pub), no passphrase. */
static bool
make_key(const char *path)
{
	char		cmd[1024];

	unlink(path);
	snprintf(cmd, sizeof(cmd), "%s.pub", path);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd),
			 "ssh-keygen -q -t ed25519 -N '' -C sbtest -f '%s' >/dev/null 2>&1",
			 path);
	return system(cmd) == 0;
}

/* Open a storage for cfg; returns the open() status, *st set when created. */
static SbStatus
try_open(const SbRepoConfig *cfg, SbStorage **st, SbError *err)
{
	SbStatus	rc;

	sb_error_clear(err);
	rc = sb_storage_create(cfg, st, err);
	if (rc != SB_OK)
		return rc;
	return sb_storage_open(*st, err);
}

/* Open, put, get back, remove a small file: the connection really works. */
static bool
round_trip(const SbRepoConfig *cfg, const char *name)
{
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	char	   *buf = NULL;
	size_t		len = 0;
	bool		ok;

	rc = try_open(cfg, &st, &err);
	if (rc == SB_OK)
		rc = sb_storage_put(st, name, 0, "round trip", 10, &err);
	if (rc == SB_OK)
		rc = sb_storage_get(st, name, 100, &buf, &len, &err);
	ok = (rc == SB_OK && len == 10 && memcmp(buf, "round trip", 10) == 0);
	if (rc == SB_OK)
		rc = sb_storage_remove(st, name, false, &err);
	if (rc != SB_OK)
	{
		fprintf(stderr, "round trip \"%s\": %s (%s)\n", name, err.msg,
				sb_status_name(rc));
		ok = false;
	}
	free(buf);
	sb_storage_free(st);
	return ok;
}

/*
 * The driver's socket: the TCP socket of this process connected to the
 * server's port.  Returns -1 if none.
 */
static int
find_driver_socket(void)
{
	int			fd;

	for (fd = 3; fd < 1024; fd++)
	{
		struct sockaddr_in peer;
		socklen_t	len = sizeof(peer);

		if (getpeername(fd, (struct sockaddr *) &peer, &len) == 0 &&
			peer.sin_family == AF_INET && ntohs(peer.sin_port) == env.port)
			return fd;
	}
	return -1;
}


/* ---------------------------------------------------------------------
 * Cases
 * ---------------------------------------------------------------------
 */

static void
test_fingerprint_format(void)
{
	unsigned char d[32];
	unsigned char d2[32];
	char		fp[SB_SFTP_FP_LEN];
	char		hex[200];
	char		colons[200];
	int			i;

	SB_REQUIRE(sb_sftp_parse_fingerprint(env.fingerprint, d));
	sb_sftp_format_fingerprint(d, fp);
	SB_CHECK_MSG(strcmp(fp, env.fingerprint) == 0, "\"%s\" vs \"%s\"", fp,
				 env.fingerprint);

	for (i = 0; i < 32; i++)
	{
		sprintf(hex + 2 * i, "%02x", d[i]);
		sprintf(colons + 3 * i, "%02X%s", d[i], i < 31 ? ":" : "");
	}
	SB_CHECK(sb_sftp_parse_fingerprint(hex, d2) && memcmp(d, d2, 32) == 0);
	SB_CHECK(sb_sftp_parse_fingerprint(colons, d2) && memcmp(d, d2, 32) == 0);

	/* padding is tolerated, garbage is not */
	snprintf(hex, sizeof(hex), "%s=", env.fingerprint);
	SB_CHECK(sb_sftp_parse_fingerprint(hex, d2) && memcmp(d, d2, 32) == 0);
	SB_CHECK(!sb_sftp_parse_fingerprint("SHA256:abc", d2));
	SB_CHECK(!sb_sftp_parse_fingerprint("", d2));
	SB_CHECK(!sb_sftp_parse_fingerprint("MD5:00:11", d2));
	SB_CHECK(!sb_sftp_parse_fingerprint("zz", d2));
	snprintf(hex, sizeof(hex), "%.*s!", (int) strlen(env.fingerprint) - 1,
			 env.fingerprint);
	SB_CHECK(!sb_sftp_parse_fingerprint(hex, d2));
}

static void
test_host_keys(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	char		path[600];
	char		line[2048];
	char		pub[1024];
	unsigned char d[32];
	int			i;

	/* pinned fingerprint, no known_hosts */
	base_config(&cfg);
	SB_SFTP(&cfg)->sftp_known_hosts_file[0] = '\0';
	snprintf(SB_SFTP(&cfg)->sftp_host_key_fingerprint,
			 sizeof(SB_SFTP(&cfg)->sftp_host_key_fingerprint), "%s", env.fingerprint);
	SB_CHECK(round_trip(&cfg, "fp-ok"));

	/* the same in hexadecimal */
	SB_REQUIRE(sb_sftp_parse_fingerprint(env.fingerprint, d));
	for (i = 0; i < 32; i++)
		sprintf(SB_SFTP(&cfg)->sftp_host_key_fingerprint + 3 * i, "%02x%s", d[i],
				i < 31 ? ":" : "");
	SB_CHECK(round_trip(&cfg, "fp-hex"));

	/* a wrong fingerprint: refused before authentication */
	snprintf(SB_SFTP(&cfg)->sftp_host_key_fingerprint,
			 sizeof(SB_SFTP(&cfg)->sftp_host_key_fingerprint), "%s", env.fingerprint);
	i = (int) strlen(SB_SFTP(&cfg)->sftp_host_key_fingerprint) - 2;
	SB_SFTP(&cfg)->sftp_host_key_fingerprint[i] =
		SB_SFTP(&cfg)->sftp_host_key_fingerprint[i] == 'A' ? 'B' : 'A';
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strstr(err.msg, "host key for \"127.0.0.1\" has changed") != NULL,
				 "%s", err.msg);
	SB_CHECK_MSG(strstr(err.detail, "ssh-ed25519") != NULL &&
				 strstr(err.detail, env.fingerprint) != NULL, "%s", err.detail);
	SB_CHECK(err.hint[0] != '\0');
	/* nothing can be done with it */
	rc = sb_storage_put(st, "fp-bad", 0, "x", 1, &err);
	SB_CHECK(rc != SB_OK);
	sb_storage_free(st);

	/* a malformed fingerprint is a configuration error */
	snprintf(SB_SFTP(&cfg)->sftp_host_key_fingerprint,
			 sizeof(SB_SFTP(&cfg)->sftp_host_key_fingerprint), "SHA256:nonsense");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	sb_storage_free(st);

	/* known_hosts, plain and hashed */
	base_config(&cfg);
	SB_CHECK(round_trip(&cfg, "kh-plain"));
	snprintf(SB_SFTP(&cfg)->sftp_known_hosts_file, sizeof(SB_SFTP(&cfg)->sftp_known_hosts_file),
			 "%s", env.known_hosts_hashed);
	SB_CHECK(round_trip(&cfg, "kh-hashed"));

	/* known_hosts that knows other hosts only */
	SB_REQUIRE(read_line(env.known_hosts, line, sizeof(line)));
	snprintf(path, sizeof(path), "%s/kh-other", workdir);
	{
		char		other[2200];
		const char *key = strchr(line, ' ');

		SB_REQUIRE(key != NULL);
		snprintf(other, sizeof(other), "[127.0.0.1]:%d%s\nsomehost%s\n",
				 env.port + 1, key, key);
		SB_REQUIRE(write_text(path, other, 0644));
	}
	snprintf(SB_SFTP(&cfg)->sftp_known_hosts_file, sizeof(SB_SFTP(&cfg)->sftp_known_hosts_file),
			 "%s", path);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strcmp(err.msg, "host key for \"127.0.0.1\" is not known") == 0,
				 "%s", err.msg);
	SB_CHECK_MSG(strstr(err.detail, "ssh-ed25519") != NULL &&
				 strstr(err.detail, env.fingerprint) != NULL, "%s", err.detail);
	SB_CHECK_MSG(strstr(err.hint, "ssh-keyscan") != NULL &&
				 strstr(err.hint, "ssh-keygen -lf") != NULL, "%s", err.hint);
	sb_storage_free(st);

	/* an empty known_hosts file */
	SB_REQUIRE(write_text(path, "", 0644));
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	sb_storage_free(st);

	/* known_hosts with another key for this host and port */
	snprintf(path, sizeof(path), "%s/otherhostkey", workdir);
	SB_REQUIRE(make_key(path));
	snprintf(path, sizeof(path), "%s/otherhostkey.pub", workdir);
	SB_REQUIRE(read_line(path, pub, sizeof(pub)));
	pub[strcspn(pub, " ")] = ' ';
	{
		char		text[2200];
		char	   *sp = strchr(pub, ' ');

		/* drop the comment */
		if (sp && strchr(sp + 1, ' '))
			*strchr(sp + 1, ' ') = '\0';
		snprintf(text, sizeof(text), "[127.0.0.1]:%d %s\n", env.port, pub);
		snprintf(path, sizeof(path), "%s/kh-changed", workdir);
		SB_REQUIRE(write_text(path, text, 0644));
	}
	snprintf(SB_SFTP(&cfg)->sftp_known_hosts_file, sizeof(SB_SFTP(&cfg)->sftp_known_hosts_file),
			 "%s", path);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strcmp(err.msg, "host key for \"127.0.0.1\" has changed") == 0,
				 "%s", err.msg);
	sb_storage_free(st);

	/* the server's key under @revoked: refused, even with a plain entry */
	SB_REQUIRE(read_line(env.known_hosts, line, sizeof(line)));
	line[strcspn(line, "\r\n")] = '\0';
	{
		char		text[4500];
		const char *key = strchr(line, ' ');

		SB_REQUIRE(key != NULL);
		snprintf(text, sizeof(text), "%s\n@revoked *%s\n", line, key);
		snprintf(path, sizeof(path), "%s/kh-revoked", workdir);
		SB_REQUIRE(write_text(path, text, 0644));
	}
	snprintf(SB_SFTP(&cfg)->sftp_known_hosts_file, sizeof(SB_SFTP(&cfg)->sftp_known_hosts_file),
			 "%s", path);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strcmp(err.msg, "host key for \"127.0.0.1\" is revoked") == 0,
				 "%s", err.msg);
	SB_CHECK_MSG(strstr(err.detail, env.fingerprint) != NULL &&
				 strstr(err.detail, "line 2") != NULL, "%s", err.detail);
	sb_storage_free(st);
	/* a pinned fingerprint does not override the revocation */
	snprintf(SB_SFTP(&cfg)->sftp_host_key_fingerprint,
			 sizeof(SB_SFTP(&cfg)->sftp_host_key_fingerprint), "%s", env.fingerprint);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strstr(err.msg, "is revoked") != NULL, "%s", err.msg);
	sb_storage_free(st);
	SB_SFTP(&cfg)->sftp_host_key_fingerprint[0] = '\0';

	/* a certificate authority for this host: refused as unsupported */
	{
		char		text[4500];

		snprintf(text, sizeof(text), "%s\n@cert-authority [127.0.0.1]:%d %s\n",
				 line, env.port, pub);
		SB_REQUIRE(write_text(path, text, 0644));
	}
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	SB_CHECK_MSG(strcmp(err.msg, "host certificates are not supported for \"127.0.0.1\"") == 0,
				 "%s", err.msg);
	sb_storage_free(st);
	/* ... but one for other hosts is ignored */
	{
		char		text[4500];

		snprintf(text, sizeof(text), "%s\n@cert-authority *.example.com %s\n",
				 line, pub);
		SB_REQUIRE(write_text(path, text, 0644));
	}
	SB_CHECK(round_trip(&cfg, "kh-ca-other"));

	/* a missing known_hosts file */
	snprintf(SB_SFTP(&cfg)->sftp_known_hosts_file, sizeof(SB_SFTP(&cfg)->sftp_known_hosts_file),
			 "%s/no-such-file", workdir);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	sb_storage_free(st);

	/* nothing to verify against: refused, never trusted on first use */
	SB_SFTP(&cfg)->sftp_known_hosts_file[0] = '\0';
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	sb_storage_free(st);

	(void) sst;
}

static void
test_auth(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	char		path[600];

	/* a private key readable by others */
	base_config(&cfg);
	snprintf(path, sizeof(path), "%s/key-0644", workdir);
	SB_REQUIRE(copy_file(keycopy, path, 0644));
	snprintf(SB_SFTP(&cfg)->sftp_private_key_file, sizeof(SB_SFTP(&cfg)->sftp_private_key_file),
			 "%s", path);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	SB_CHECK_MSG(strstr(err.msg, "has group or world access") != NULL, "%s",
				 err.msg);
	SB_CHECK_MSG(strstr(err.hint, "chmod 600") != NULL, "%s", err.hint);
	sb_storage_free(st);

	/* group-readable only: refused too */
	SB_REQUIRE(chmod(path, 0640) == 0);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	sb_storage_free(st);

	/* a missing key */
	snprintf(SB_SFTP(&cfg)->sftp_private_key_file, sizeof(SB_SFTP(&cfg)->sftp_private_key_file),
			 "%s/no-such-key", workdir);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	sb_storage_free(st);

	/* a passphrase file readable by others */
	base_config(&cfg);
	snprintf(path, sizeof(path), "%s/passphrase", workdir);
	SB_REQUIRE(write_text(path, "secret\n", 0644));
	snprintf(SB_SFTP(&cfg)->sftp_private_key_passphrase_file,
			 sizeof(SB_SFTP(&cfg)->sftp_private_key_passphrase_file), "%s", path);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	SB_CHECK(strstr(err.msg, "passphrase file") != NULL);
	sb_storage_free(st);

	/* an unencrypted key with a passphrase file (mode 0600) still works */
	SB_REQUIRE(chmod(path, 0600) == 0);
	SB_CHECK(round_trip(&cfg, "passphrase-ignored"));

	/* an encrypted key with its passphrase file (when the harness made one) */
	if (getenv("SFTP_KEY_ENCRYPTED") && getenv("SFTP_PASSPHRASE_FILE"))
	{
		char		pp[600];

		base_config(&cfg);
		snprintf(path, sizeof(path), "%s/key-pp", workdir);
		snprintf(pp, sizeof(pp), "%s/passphrase-pp", workdir);
		SB_REQUIRE(copy_file(getenv("SFTP_KEY_ENCRYPTED"), path, 0600));
		SB_REQUIRE(copy_file(getenv("SFTP_PASSPHRASE_FILE"), pp, 0600));
		snprintf(SB_SFTP(&cfg)->sftp_private_key_file, sizeof(SB_SFTP(&cfg)->sftp_private_key_file),
				 "%s", path);
		snprintf(SB_SFTP(&cfg)->sftp_private_key_passphrase_file,
				 sizeof(SB_SFTP(&cfg)->sftp_private_key_passphrase_file), "%s", pp);
		SB_CHECK(round_trip(&cfg, "passphrase-key"));

		/* without the passphrase the key cannot be loaded */
		SB_SFTP(&cfg)->sftp_private_key_passphrase_file[0] = '\0';
		rc = try_open(&cfg, &st, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG || rc == SB_ERR_AUTH, "got %s: %s",
					 sb_status_name(rc), err.msg);
		sb_storage_free(st);

		/* a wrong passphrase neither */
		SB_REQUIRE(write_text(pp, "wrong\n", 0600));
		snprintf(SB_SFTP(&cfg)->sftp_private_key_passphrase_file,
				 sizeof(SB_SFTP(&cfg)->sftp_private_key_passphrase_file), "%s", pp);
		rc = try_open(&cfg, &st, &err);
		SB_CHECK_MSG(rc == SB_ERR_CONFIG || rc == SB_ERR_AUTH, "got %s: %s",
					 sb_status_name(rc), err.msg);
		sb_storage_free(st);
	}
	else
		printf("note: SFTP_KEY_ENCRYPTED not set, skipping the passphrase-protected key\n");

	/* a key the account does not accept */
	base_config(&cfg);
	snprintf(path, sizeof(path), "%s/wrongkey", workdir);
	SB_REQUIRE(make_key(path));
	snprintf(SB_SFTP(&cfg)->sftp_private_key_file, sizeof(SB_SFTP(&cfg)->sftp_private_key_file),
			 "%s", path);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	SB_CHECK_MSG(strstr(err.msg, "refused public key authentication") != NULL,
				 "%s", err.msg);
	sb_storage_free(st);

	/* with the public key file given explicitly */
	base_config(&cfg);
	snprintf(SB_SFTP(&cfg)->sftp_public_key_file, sizeof(SB_SFTP(&cfg)->sftp_public_key_file),
			 "%s.pub", env.key);
	SB_CHECK(round_trip(&cfg, "with-pubkey"));

	/* another user */
	base_config(&cfg);
	snprintf(SB_SFTP(&cfg)->sftp_user, sizeof(SB_SFTP(&cfg)->sftp_user), "nobody");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_AUTH, err);
	sb_storage_free(st);
}

static void
test_network_and_root(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	int			fd;
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);
	int			closed_port;

	/* a port nobody listens on */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	SB_REQUIRE(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	SB_REQUIRE(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
	SB_REQUIRE(getsockname(fd, (struct sockaddr *) &sa, &len) == 0);
	closed_port = ntohs(sa.sin_port);
	close(fd);

	base_config(&cfg);
	SB_SFTP(&cfg)->sftp_port = closed_port;
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	SB_CHECK(strstr(err.msg, "Connection refused") != NULL);
	SB_CHECK(err.hint[0] != '\0');
	sb_storage_free(st);

	/* a host name that does not resolve */
	base_config(&cfg);
	snprintf(SB_SFTP(&cfg)->sftp_host, sizeof(SB_SFTP(&cfg)->sftp_host), "no-such-host.invalid");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	sb_storage_free(st);

	/* a repository directory that does not exist */
	base_config(&cfg);
	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/no-such-dir", env.repo);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_NOT_FOUND, err);
	SB_CHECK(err.hint[0] != '\0');
	sb_storage_free(st);

	/* a relative one */
	base_config(&cfg);
	snprintf(cfg.repo_path, sizeof(cfg.repo_path), "upload");
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_ERR_CONFIG, err);
	sb_storage_free(st);

	/* a file as the root */
	base_config(&cfg);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		SbStorage  *st2 = NULL;

		rc = sb_storage_put(st, "rootfile", 0, "x", 1, &err);
		CHECK_RC(rc, SB_OK, err);
		snprintf(cfg.repo_path, sizeof(cfg.repo_path), "%s/rootfile", env.repo);
		rc = try_open(&cfg, &st2, &err);
		CHECK_RC(rc, SB_ERR_NOT_FOUND, err);
		sb_storage_free(st2);
		rc = sb_storage_remove(st, "rootfile", false, &err);
		CHECK_RC(rc, SB_OK, err);
	}
	sb_storage_free(st);
}

static int	wait_calls;

static SbStatus
counting_wait(int fd, bool for_read, bool for_write, int timeout_ms,
			  void *arg, SbError *err)
{
	struct timeval tv;
	fd_set		rfds,
				wfds;
	int			n;

	wait_calls++;
	FD_ZERO(&rfds);
	FD_ZERO(&wfds);
	if (for_read)
		FD_SET(fd, &rfds);
	if (for_write)
		FD_SET(fd, &wfds);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	n = select(fd + 1, &rfds, &wfds, NULL, &tv);
	if (n <= 0)
		return sb_error_set(err, SB_ERR_NETWORK, "test wait failed");
	return SB_OK;
}

static void
test_reconnect_and_wait(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbWriter   *w;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	int			fd;
	char	   *data;
	char	   *buf = NULL;
	size_t		len;

	base_config(&cfg);
	rc = sb_storage_create(&cfg, &st, &err);
	SB_REQUIRE(rc == SB_OK);
	st->wait = counting_wait;
	rc = sb_storage_open(st, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK(wait_calls > 0);
	if (rc != SB_OK)
	{
		sb_storage_free(st);
		return;
	}

	/* a megabyte through the caller's wait function */
	data = malloc(1 << 20);
	SB_REQUIRE(data != NULL);
	memset(data, 'w', 1 << 20);
	wait_calls = 0;
	rc = sb_storage_put(st, "waited", 0, data, 1 << 20, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK_MSG(wait_calls > 0, "%d waits", wait_calls);
	rc = sb_storage_get(st, "waited", 2 << 20, &buf, &len, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && len == (1 << 20) && memcmp(buf, data, len) == 0);
	free(buf);

	/* the connection dies: an idempotent stat() reconnects by itself */
	fd = find_driver_socket();
	SB_REQUIRE(fd >= 0);
	shutdown(fd, SHUT_RDWR);
	rc = sb_storage_stat(st, "waited", &sst, &err);
	CHECK_RC(rc, SB_OK, err);
	SB_CHECK(rc == SB_OK && sst.size == (1 << 20));

	/* it dies during a write: the write fails, nothing appears */
	rc = sb_storage_write_open(st, "interrupted", 0, &w, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		fd = find_driver_socket();
		SB_CHECK(fd >= 0);
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		rc = sb_storage_write(st, w, data, 1 << 20, &err);
		if (rc == SB_OK)
			rc = sb_storage_write_commit(st, w, &err);
		else
			sb_storage_write_abort(st, w);
		CHECK_RC(rc, SB_ERR_NETWORK, err);
	}

	/* the next operation works again */
	rc = sb_storage_stat(st, "interrupted", &sst, &err);
	CHECK_RC(rc, SB_ERR_NOT_FOUND, err);
	rc = sb_storage_put(st, "interrupted", 0, "ok", 2, &err);
	CHECK_RC(rc, SB_OK, err);

	/* and an explicit open() after an error reconnects too */
	fd = find_driver_socket();
	SB_REQUIRE(fd >= 0);
	shutdown(fd, SHUT_RDWR);
	rc = sb_storage_remove(st, "interrupted", false, &err);
	CHECK_RC(rc, SB_ERR_NETWORK, err);
	rc = sb_storage_open(st, &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_remove(st, "interrupted", false, &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_remove(st, "waited", false, &err);
	CHECK_RC(rc, SB_OK, err);

	free(data);
	sb_storage_free(st);
}

/* Run sftp(1) batch commands as the account; true when all succeeded. */
static bool
sftp_batch(const char *commands)
{
	char		cmd[2048];
	FILE	   *p;
	int			status;

	snprintf(cmd, sizeof(cmd),
			 "sftp -q -b - -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes "
			 "-o UserKnownHostsFile='%s' -i '%s' -P %d %s@%s >/dev/null 2>&1",
			 env.known_hosts, keycopy, env.port, env.user, env.host);
	p = popen(cmd, "w");
	if (p == NULL)
		return false;
	fputs(commands, p);
	status = pclose(p);
	return status == 0;
}

/*
 * Permission errors, with the permissions changed through SFTP itself, so
 * that this works whoever runs the test.
 */
static void
test_permissions_remote(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbReader   *r = NULL;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	char		cmds[1024];

	base_config(&cfg);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc != SB_OK)
	{
		sb_storage_free(st);
		return;
	}
	rc = sb_storage_mkdir(st, "perm-ro", &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_put(st, "perm-ro/keep", 0, "kept", 4, &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_put(st, "perm-secret", 0, "secret", 6, &err);
	CHECK_RC(rc, SB_OK, err);

	snprintf(cmds, sizeof(cmds), "chmod 500 %s/perm-ro\nchmod 000 %s/perm-secret\n",
			 env.repo, env.repo);
	SB_REQUIRE(sftp_batch(cmds));

	rc = sb_storage_put(st, "perm-ro/new", 0, "x", 1, &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	rc = sb_storage_put(st, "perm-ro/keep", SB_WRITE_REPLACE, "new", 3, &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	rc = sb_storage_mkdir(st, "perm-ro/sub", &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	rc = sb_storage_remove(st, "perm-ro/keep", false, &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	rc = sb_storage_read_open(st, "perm-secret", &r, &err);
	CHECK_RC(rc, SB_ERR_PERMISSION, err);
	if (rc == SB_OK)
		sb_storage_read_close(st, r);
	rc = sb_storage_stat(st, "perm-ro/new", &sst, &err);
	CHECK_RC(rc, SB_ERR_NOT_FOUND, err);

	snprintf(cmds, sizeof(cmds), "chmod 750 %s/perm-ro\nchmod 640 %s/perm-secret\n",
			 env.repo, env.repo);
	SB_CHECK(sftp_batch(cmds));
	{
		char	   *buf = NULL;
		size_t		len = 0;

		rc = sb_storage_get(st, "perm-ro/keep", 64, &buf, &len, &err);
		CHECK_RC(rc, SB_OK, err);
		SB_CHECK(rc == SB_OK && len == 4 && memcmp(buf, "kept", 4) == 0);
		free(buf);
	}
	rc = sb_storage_remove(st, "perm-ro", true, &err);
	CHECK_RC(rc, SB_OK, err);
	rc = sb_storage_remove(st, "perm-secret", false, &err);
	CHECK_RC(rc, SB_OK, err);
	sb_storage_free(st);
}

/*
 * Kill the sshd processes serving the driver's connection (root only: they
 * belong to root and to the SFTP account).  Returns how many were signalled.
 */
static int
signal_server_side(int sig, int *pids, int maxpids)
{
	struct sockaddr_in local;
	socklen_t	len = sizeof(local);
	char		cmd[512];
	char		line[4096];
	FILE	   *p;
	int			fd = find_driver_socket();
	int			killed = 0;

	if (fd < 0 || getsockname(fd, (struct sockaddr *) &local, &len) != 0)
		return 0;
	snprintf(cmd, sizeof(cmd),
			 "ss -Htnp state established '( sport = :%d and dport = :%d )' 2>/dev/null",
			 env.port, ntohs(local.sin_port));
	p = popen(cmd, "r");
	if (p == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL)
	{
		char	   *q = line;

		while ((q = strstr(q, "pid=")) != NULL)
		{
			int			pid = atoi(q + 4);

			if (pid > 1 && kill((pid_t) pid, sig) == 0)
			{
				if (killed < maxpids)
					pids[killed] = pid;
				killed++;
			}
			q += 4;
		}
	}
	pclose(p);
	return killed;
}

static void
test_server_killed(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbError		err;
	SbStatus	rc;
	SbStat		sst;
	int			killed;

	if (geteuid() != 0)
	{
		printf("note: not root, skipping the check that kills the sshd process serving the session\n");
		return;
	}
	base_config(&cfg);
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		rc = sb_storage_put(st, "killed", 0, "k", 1, &err);
		CHECK_RC(rc, SB_OK, err);
		killed = signal_server_side(SIGKILL, NULL, 0);
		SB_CHECK_MSG(killed > 0, "no sshd process found for the session");
		usleep(200 * 1000);

		/* a write fails, then everything works again */
		rc = sb_storage_put(st, "killed2", 0, "k", 1, &err);
		CHECK_RC(rc, SB_ERR_NETWORK, err);
		rc = sb_storage_stat(st, "killed", &sst, &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_put(st, "killed2", 0, "k", 1, &err);
		CHECK_RC(rc, SB_OK, err);

		/* killed while idle: stat() reconnects by itself */
		killed = signal_server_side(SIGKILL, NULL, 0);
		SB_CHECK(killed > 0);
		usleep(200 * 1000);
		rc = sb_storage_stat(st, "killed2", &sst, &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_remove(st, "killed", false, &err);
		CHECK_RC(rc, SB_OK, err);
		rc = sb_storage_remove(st, "killed2", false, &err);
		CHECK_RC(rc, SB_OK, err);
	}
	sb_storage_free(st);

	/* a server that stops answering: the wait times out, nothing hangs */
	base_config(&cfg);
	cfg.io_timeout_ms = 1000;
	rc = try_open(&cfg, &st, &err);
	CHECK_RC(rc, SB_OK, err);
	if (rc == SB_OK)
	{
		struct timespec t0,
					t1;
		double		secs;
		int			stopped[8];
		int			i;

		killed = signal_server_side(SIGSTOP, stopped, 8);
		SB_CHECK(killed > 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = sb_storage_stat(st, "anything", &sst, &err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		/* the stalled connection times out; the retry reconnects */
		SB_CHECK_MSG(rc == SB_ERR_NOT_FOUND || rc == SB_ERR_NETWORK,
					 "got %s: %s", sb_status_name(rc), err.msg);
		SB_CHECK_MSG(secs >= 0.9 && secs < 10, "took %.1f s", secs);
		/* the processes we stopped: end them (the retry made a new session) */
		for (i = 0; i < killed && i < 8; i++)
		{
			(void) kill((pid_t) stopped[i], SIGKILL);
			(void) kill((pid_t) stopped[i], SIGCONT);
		}
	}
	sb_storage_free(st);
}

/* The account is confined to SFTP: ssh gets no shell and runs nothing. */
static void
test_no_shell(void)
{
	char		cmd[2048];
	char		out[1024];
	FILE	   *p;
	size_t		n;
	int			status;

	snprintf(cmd, sizeof(cmd),
			 "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes "
			 "-o UserKnownHostsFile='%s' -i '%s' -p %d %s@%s "
			 "'echo SHELL-WORKS' 2>&1",
			 env.known_hosts, keycopy, env.port, env.user, env.host);
	p = popen(cmd, "r");
	SB_REQUIRE(p != NULL);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	SB_CHECK_MSG(status != 0, "ssh succeeded: %s", out);
	SB_CHECK_MSG(strstr(out, "SHELL-WORKS") == NULL, "%s", out);
	SB_CHECK_MSG(strstr(out, "This service allows sftp connections only.") != NULL,
				 "%s", out);
}


/* ---------------------------------------------------------------------
 * The suite, as the owner of the chroot files where possible
 * ---------------------------------------------------------------------
 */

static void
run_suite(void)
{
	SbRepoConfig cfg;
	struct stat sb;

	base_config(&cfg);
	if (stat(env.backing, &sb) != 0)
	{
		printf("note: cannot see SFTP_BACKING \"%s\" (%s): the storage suite runs without disk checks and fault injection\n",
			   env.backing, strerror(errno));
		sb_storage_suite_run(&cfg, NULL);
		return;
	}

	if (sb.st_uid == geteuid())
	{
		sb_storage_suite_run(&cfg, env.backing);
		return;
	}

	if (geteuid() == 0)
	{
		int			pfd[2];
		pid_t		pid;

		/* run the suite as the account that owns the files */
		SB_REQUIRE(pipe(pfd) == 0);
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		SB_REQUIRE(pid >= 0);
		if (pid == 0)
		{
			char		key[600];
			char		res[64];

			close(pfd[0]);
			snprintf(key, sizeof(key), "%s/key-suite", workdir);
			if (!copy_file(keycopy, key, 0600) ||
				chown(key, sb.st_uid, sb.st_gid) != 0 ||
				setgroups(0, NULL) != 0 || setgid(sb.st_gid) != 0 ||
				setuid(sb.st_uid) != 0)
			{
				fprintf(stderr, "could not switch to uid %d for the suite\n",
						(int) sb.st_uid);
				_exit(2);
			}
			snprintf(SB_SFTP(&cfg)->sftp_private_key_file,
					 sizeof(SB_SFTP(&cfg)->sftp_private_key_file), "%s", key);
			printf("note: running as root: the storage suite runs as uid %d, the owner of \"%s\"\n",
				   (int) sb.st_uid, env.backing);
			sb_storage_suite_run(&cfg, env.backing);
			snprintf(res, sizeof(res), "%d %d\n", sb_test_passed,
					 sb_test_failed);
			if (write(pfd[1], res, strlen(res)) < 0)
				_exit(2);
			fflush(stdout);
			fflush(stderr);
			_exit(0);
		}
		close(pfd[1]);
		{
			char		res[64];
			ssize_t		n = read(pfd[0], res, sizeof(res) - 1);
			int			status;
			int			passed = 0,
						failed = 0;

			close(pfd[0]);
			waitpid(pid, &status, 0);
			SB_CHECK_MSG(n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
						 "suite child failed");
			if (n > 0)
			{
				res[n] = '\0';
				if (sscanf(res, "%d %d", &passed, &failed) == 2)
				{
					/* the child started from our counters */
					sb_test_passed = passed;
					sb_test_failed = failed;
				}
			}
		}
		return;
	}

	printf("note: running as uid %d, not root nor the owner of \"%s\" (uid %d): the storage suite runs without its local disk checks and fault injection (run as root to include them); permission errors are still checked through SFTP chmod\n",
		   (int) geteuid(), env.backing, (int) sb.st_uid);
	sb_storage_suite_run(&cfg, NULL);
}


/* ---------------------------------------------------------------------
 * Measurements
 * ---------------------------------------------------------------------
 */

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
bench(void)
{
	SbRepoConfig cfg;
	SbStorage  *st = NULL;
	SbWriter   *w;
	SbReader   *r;
	SbError		err;
	SbStatus	rc;
	size_t		chunk = 4 << 20;
	char	   *buf;
	size_t		total,
				done;
	double		t0,
				t1,
				t2;
	int			i;

	base_config(&cfg);
	rc = try_open(&cfg, &st, &err);
	if (rc != SB_OK)
	{
		fprintf(stderr, "open: %s\n", err.msg);
		return 1;
	}
	buf = malloc(chunk);
	if (buf == NULL)
		return 1;
	for (i = 0; i < (int) chunk; i++)
		buf[i] = (char) (i * 131 + (i >> 9));

	/* 256 MB written in 4 MB pieces */
	total = (size_t) 256 << 20;
	t0 = now_seconds();
	rc = sb_storage_write_open(st, "bench-256", SB_WRITE_REPLACE, &w, &err);
	for (done = 0; rc == SB_OK && done < total; done += chunk)
		rc = sb_storage_write(st, w, buf, chunk, &err);
	if (rc == SB_OK)
		rc = sb_storage_write_commit(st, w, &err);
	t1 = now_seconds();
	if (rc != SB_OK)
	{
		fprintf(stderr, "write: %s\n", err.msg);
		return 1;
	}
	printf("256 MB write (commit incl. fsync): %.2f s, %.1f MB/s\n", t1 - t0,
		   256.0 / (t1 - t0));

	/* 256 MB read back in 1 MB reads */
	t0 = now_seconds();
	rc = sb_storage_read_open(st, "bench-256", &r, &err);
	done = 0;
	while (rc == SB_OK)
	{
		size_t		n;

		rc = sb_storage_read(st, r, buf, 1 << 20, &n, &err);
		if (rc != SB_OK || n == 0)
			break;
		done += n;
	}
	if (r)
		sb_storage_read_close(st, r);
	t1 = now_seconds();
	printf("256 MB read: %.2f s, %.1f MB/s (%zu bytes)\n", t1 - t0,
		   (double) done / 1048576.0 / (t1 - t0), done);
	(void) sb_storage_remove(st, "bench-256", false, &err);

	/* a 16 MB file, written then read back */
	total = (size_t) 16 << 20;
	t0 = now_seconds();
	rc = sb_storage_write_open(st, "bench-16", SB_WRITE_REPLACE, &w, &err);
	for (done = 0; rc == SB_OK && done < total; done += chunk)
		rc = sb_storage_write(st, w, buf, chunk, &err);
	if (rc == SB_OK)
		rc = sb_storage_write_commit(st, w, &err);
	t1 = now_seconds();
	rc = sb_storage_read_open(st, "bench-16", &r, &err);
	done = 0;
	while (rc == SB_OK)
	{
		size_t		n;

		rc = sb_storage_read(st, r, buf, 1 << 20, &n, &err);
		if (rc != SB_OK || n == 0)
			break;
		done += n;
	}
	if (r)
		sb_storage_read_close(st, r);
	t2 = now_seconds();
	printf("16 MB round trip: write %.3f s + read %.3f s = %.3f s (%zu bytes read)\n",
		   t1 - t0, t2 - t1, t2 - t0, done);
	(void) sb_storage_remove(st, "bench-16", false, &err);

	free(buf);
	sb_storage_free(st);
	return 0;
}


int
main(int argc, char **argv)
{
	const char *tmpbase = getenv("TMPDIR");
	const char *port;

	env.host = getenv("SFTP_HOST");
	port = getenv("SFTP_PORT");
	env.user = getenv("SFTP_USER");
	env.key = getenv("SFTP_KEY");
	env.known_hosts = getenv("SFTP_KNOWN_HOSTS");
	env.known_hosts_hashed = getenv("SFTP_KNOWN_HOSTS_HASHED");
	env.fingerprint = getenv("SFTP_FINGERPRINT");
	env.repo = getenv("SFTP_REPO");
	env.backing = getenv("SFTP_BACKING");
	if (!env.host || !port || !env.user || !env.key || !env.known_hosts ||
		!env.known_hosts_hashed || !env.fingerprint || !env.repo ||
		!env.backing)
	{
		printf("note: SFTP_* variables not set, SFTP tests skipped (see tests/sftp/sshd-harness.sh)\n");
		return 0;
	}
	env.port = atoi(port);

	if (tmpbase == NULL || tmpbase[0] == '\0')
		tmpbase = "/tmp";
	snprintf(workdir, sizeof(workdir), "%.200s/sb_test_sftp.XXXXXX", tmpbase);
	if (mkdtemp(workdir) == NULL)
	{
		fprintf(stderr, "could not create \"%s\": %s\n", workdir,
				strerror(errno));
		return 2;
	}
	/* the suite may run as another user (see run_suite) */
	(void) chmod(workdir, 0711);

	/* our own copy of the key, owned by us with mode 0600 */
	snprintf(keycopy, sizeof(keycopy), "%s/key", workdir);
	if (!copy_file(env.key, keycopy, 0600))
	{
		fprintf(stderr, "could not copy \"%s\": %s\n", env.key,
				strerror(errno));
		return 2;
	}

	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
	{
		int			rc = bench();
		char		cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove \"%s\"\n", workdir);
		return rc;
	}

	test_fingerprint_format();
	run_suite();
	test_host_keys();
	test_auth();
	test_network_and_root();
	test_permissions_remote();
	test_reconnect_and_wait();
	test_server_killed();
	test_no_shell();

	/* nothing left in the repository, not even temporary files */
	{
		DIR		   *dir = opendir(env.backing);

		if (dir != NULL)
		{
			struct dirent *de;
			int			left = 0;

			while ((de = readdir(dir)) != NULL)
			{
				if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				{
					fprintf(stderr, "left in the repository: \"%s\"\n", de->d_name);
					left++;
				}
			}
			closedir(dir);
			SB_CHECK(left == 0);
		}
	}

	{
		char		cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove \"%s\"\n", workdir);
	}
	return sb_test_summary("sftp");
}
