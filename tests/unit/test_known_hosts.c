/*-------------------------------------------------------------------------
 *
 * test_known_hosts.c
 *		Unit tests of the known_hosts marker scan (transport/
 *		sftp_known_hosts.h): "@revoked" and "@cert-authority" lines with
 *		plain, wildcard, negated, "[host]:port" and hashed host fields.
 *		No sshd needed; test_sftp covers the same against a real server.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sb_test.h"
#include "sftp_known_hosts.h"
#include "test_files.h"

SB_TEST_DEFINE_COUNTERS;

static char workdir[256];

#define KEY_A "AAAAC3NzaC1lZDI1NTE5AAAAIOxu0jlfi0bGn0W9a0nQYmdjZDM1Tn+AHjxHq3O/Yd9M"
#define KEY_B "AAAAC3NzaC1lZDI1NTE5AAAAIEzzqm9ijECXD2mBRJ+G7QqfTvaESbVGTVsyDcgY059V"
/* "ssh-keygen -H" of "[127.0.0.1]:2222" and "backup.example.com" */
#define HASH_LOCAL_2222 "|1|iTiZM4FDXDh260FsCr0AabMOk7c=|hARvHYBhnBFrHLtEpRDX2G6sAwE="
#define HASH_BACKUP_22 "|1|ePL8ov3MCuXvlL9Yg9BTCFJefjU=|RDdN50T7nfb9Rm5dbNBIK1LT06g="

static unsigned char key_a[64];
static int	key_a_len;

/* scan text as a known_hosts file; returns the marker, *lineno its line */
static SbKnownHostsMarker
scan(const char *text, const char *host, int port, int *lineno)
{
	char		path[300];
	SbKnownHostsMarker m;
	SbError		err;
	SbStatus	rc;

	snprintf(path, sizeof(path), "%s/known_hosts", workdir);
	sb_test_write_file(path, text, strlen(text));
	rc = sb_known_hosts_find_marker(path, host, port, key_a, key_a_len,
									&m, lineno, &err);
	SB_CHECK_MSG(rc == SB_OK, "%s", err.msg);
	return m;
}

static void
test_host_patterns(void)
{
	SB_CHECK(sb_known_hosts_match_host("backup.example.com", "backup.example.com"));
	SB_CHECK(sb_known_hosts_match_host("Backup.Example.COM", "backup.example.com"));
	SB_CHECK(!sb_known_hosts_match_host("backup.example.com", "backup.example.co"));
	SB_CHECK(sb_known_hosts_match_host("a,b,*.example.com", "backup.example.com"));
	SB_CHECK(sb_known_hosts_match_host("backup?.example.com", "backup1.example.com"));
	SB_CHECK(!sb_known_hosts_match_host("backup?.example.com", "backup.example.com"));
	SB_CHECK(sb_known_hosts_match_host("*", "[127.0.0.1]:2222"));
	SB_CHECK(sb_known_hosts_match_host("[127.0.0.1]:2222", "[127.0.0.1]:2222"));
	SB_CHECK(!sb_known_hosts_match_host("[127.0.0.1]:2222", "127.0.0.1"));
	SB_CHECK(!sb_known_hosts_match_host("127.0.0.1", "[127.0.0.1]:2222"));
	/* negation wins over any positive pattern */
	SB_CHECK(!sb_known_hosts_match_host("*,!backup.*", "backup.example.com"));
	SB_CHECK(sb_known_hosts_match_host("*,!backup.*", "db.example.com"));
	SB_CHECK(!sb_known_hosts_match_host("!db.example.com", "backup.example.com"));
	/* hashed entries */
	SB_CHECK(sb_known_hosts_match_host(HASH_LOCAL_2222, "[127.0.0.1]:2222"));
	SB_CHECK(!sb_known_hosts_match_host(HASH_LOCAL_2222, "[127.0.0.1]:2223"));
	SB_CHECK(sb_known_hosts_match_host(HASH_BACKUP_22, "backup.example.com"));
	SB_CHECK(!sb_known_hosts_match_host("|1|garbage", "backup.example.com"));
	SB_CHECK(!sb_known_hosts_match_host("|1|!!!!|x", "backup.example.com"));
}

static void
test_markers(void)
{
	int			line;

	/* plain entries only */
	SB_CHECK(scan("[127.0.0.1]:2222 ssh-ed25519 " KEY_A "\n", "127.0.0.1", 2222,
				  &line) == SB_KH_MARKER_NONE);
	SB_CHECK(line == 0);

	/* the offered key revoked for this host and port */
	SB_CHECK(scan("# comment\n"
				  "[127.0.0.1]:2222 ssh-ed25519 " KEY_A "\n"
				  "@revoked [127.0.0.1]:2222 ssh-ed25519 " KEY_A " old key\n",
				  "127.0.0.1", 2222, &line) == SB_KH_MARKER_REVOKED);
	SB_CHECK_MSG(line == 3, "line %d", line);
	/* for every host, with blanks and CRLF */
	SB_CHECK(scan("  @revoked\t* ssh-ed25519 " KEY_A "\r\n", "127.0.0.1", 2222,
				  &line) == SB_KH_MARKER_REVOKED);
	SB_CHECK(line == 1);
	/* hashed host names */
	SB_CHECK(scan("@revoked " HASH_LOCAL_2222 " ssh-ed25519 " KEY_A "\n",
				  "127.0.0.1", 2222, &line) == SB_KH_MARKER_REVOKED);
	SB_CHECK(scan("@revoked " HASH_BACKUP_22 " ssh-ed25519 " KEY_A "\n",
				  "BACKUP.example.com", 22, &line) == SB_KH_MARKER_REVOKED);
	SB_CHECK(scan("@revoked " HASH_BACKUP_22 " ssh-ed25519 " KEY_A "\n",
				  "backup.example.com", 2222, &line) == SB_KH_MARKER_NONE);

	/* another key revoked, or the key revoked for other hosts only */
	SB_CHECK(scan("@revoked * ssh-ed25519 " KEY_B "\n", "127.0.0.1", 2222,
				  &line) == SB_KH_MARKER_NONE);
	SB_CHECK(scan("@revoked 127.0.0.1 ssh-ed25519 " KEY_A "\n"
				  "@revoked *,![127.0.0.1]:2222 ssh-ed25519 " KEY_A "\n",
				  "127.0.0.1", 2222, &line) == SB_KH_MARKER_NONE);
	/* malformed marker lines are skipped */
	SB_CHECK(scan("@revoked *\n@revoked * ssh-ed25519\n", "127.0.0.1", 2222,
				  &line) == SB_KH_MARKER_NONE);

	/* a certificate authority for this host */
	SB_CHECK(scan("@cert-authority *.example.com ssh-ed25519 " KEY_B "\n",
				  "backup.example.com", 22, &line) == SB_KH_MARKER_CERT_AUTHORITY);
	SB_CHECK(line == 1);
	SB_CHECK(scan("@cert-authority *.example.com ssh-ed25519 " KEY_B "\n",
				  "127.0.0.1", 22, &line) == SB_KH_MARKER_NONE);
	/* a revoked key is reported before a certificate authority */
	SB_CHECK(scan("@cert-authority * ssh-ed25519 " KEY_B "\n"
				  "@revoked * ssh-ed25519 " KEY_A "\n",
				  "127.0.0.1", 2222, &line) == SB_KH_MARKER_REVOKED);
	SB_CHECK(line == 2);
	/* unknown markers are ignored */
	SB_CHECK(scan("@future * ssh-ed25519 " KEY_A "\n", "127.0.0.1", 2222,
				  &line) == SB_KH_MARKER_NONE);
}

static void
test_unreadable(void)
{
	char		path[300];
	SbKnownHostsMarker m;
	int			line;
	SbError		err;

	snprintf(path, sizeof(path), "%s/no-such-file", workdir);
	SB_CHECK(sb_known_hosts_find_marker(path, "h", 22, key_a, key_a_len,
										&m, &line, &err) != SB_OK);
	SB_CHECK_MSG(strstr(err.msg, "could not read known hosts file") != NULL,
				 "%s", err.msg);
	SB_CHECK(err.sys_errno == ENOENT);
}

int
main(void)
{
	snprintf(workdir, sizeof(workdir), "/tmp/sb_test_kh.XXXXXX");
	if (mkdtemp(workdir) == NULL)
	{
		perror("mkdtemp");
		return 1;
	}
	key_a_len = EVP_DecodeBlock(key_a, (const unsigned char *) KEY_A,
								(int) strlen(KEY_A));
	if (key_a_len != 51)
	{
		fprintf(stderr, "could not decode the test key\n");
		return 1;
	}

	test_host_patterns();
	test_markers();
	test_unreadable();

	sb_test_rm_tree(workdir);
	return sb_test_summary("test_known_hosts");
}
