/*-------------------------------------------------------------------------
 *
 * cmd_setup_sftp.c
 *		"pg_safebackup setup sftp": the client side of an SFTP repository
 *		in one command, instead of the ssh-keygen and ssh-keyscan steps
 *		the README used to list.
 *
 * 1. The key pair: made with "ssh-keygen -t ed25519 -N ''" (run with
 *    posix_spawnp, so the private key is in the OpenSSH format every SSH
 *    tool reads, mode 0600), unless the key file exists, which is used.
 * 2. The host key: fetched with libssh2 (connect and handshake, with the
 *    host key algorithms the SFTP driver asks for; no authentication), its
 *    SHA256 fingerprint shown as ssh-keygen -lf prints it.  It is never
 *    trusted silently: the user types "yes" on a terminal after comparing
 *    it out of band, or gives --host-key-fingerprint; only then is the
 *    known_hosts line written.
 * 3. The sshd_config block for the account and the safebackup.sftp_*
 *    settings, printed to paste.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>

#include "cli.h"
#include "sftp_hostkey.h"
#include "sftp_known_hosts.h"

extern char **environ;

#define SETUP_SFTP_TIMEOUT_MS	30000

typedef struct SftpSetup
{
	const char *host;
	int			port;
	const char *user;
	char		key_file[PATH_MAX];
	char		known_hosts[PATH_MAX];
	const char *fingerprint;	/* --host-key-fingerprint, or NULL */
	const char *repo_path;
} SftpSetup;

/* The server's host key as it came in the handshake. */
typedef struct HostKey
{
	unsigned char *blob;
	size_t		len;
	char		type[64];		/* "ssh-ed25519" */
	char		fp[SB_SFTP_FP_LEN];
	unsigned char digest[32];
} HostKey;

static bool
absolute_path(const char *value, char *out, size_t size)
{
	char		cwd[PATH_MAX];

	if (value[0] == '/')
		return (size_t) snprintf(out, size, "%s", value) < size;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return false;
	return (size_t) snprintf(out, size, "%s/%s", cwd, value) < size;
}

/* ~/.ssh/NAME; ~/.ssh is made (0700) when missing */
static bool
default_ssh_path(const char *name, char *out, size_t size)
{
	const char *home = getenv("HOME");
	char		dir[PATH_MAX];

	if (home == NULL || home[0] != '/')
	{
		sb_cli_error("HOME is not set: cannot choose the default of the key and known_hosts files");
		fprintf(stderr, "%s: hint: Give --key-file and --known-hosts-file.\n", progname);
		return false;
	}
	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
	{
		sb_cli_error("could not create directory \"%s\": %s", dir, strerror(errno));
		return false;
	}
	return (size_t) snprintf(out, size, "%s/%s", dir, name) < size;
}

static int
parse_setup_sftp(int argc, char **argv, SftpSetup *s)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"user", required_argument, NULL, 'u'},
		{"key-file", required_argument, NULL, 'k'},
		{"known-hosts-file", required_argument, NULL, 'K'},
		{"host-key-fingerprint", required_argument, NULL, 'f'},
		{"repo-path", required_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0}
	};
	const char *key_file = NULL;
	const char *known_hosts = NULL;
	unsigned char digest[32];
	int			c;

	memset(s, 0, sizeof(*s));
	s->port = 22;
	s->repo_path = "/backup";
	optind = 1;
	while ((c = getopt_long(argc, argv, "qv", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'h':
				s->host = optarg;
				break;
			case 'p':
				s->port = atoi(optarg);
				if (s->port < 1 || s->port > 65535)
				{
					sb_cli_error("option \"--port\" must be an integer between 1 and 65535");
					return SB_EXIT_USAGE;
				}
				break;
			case 'u':
				s->user = optarg;
				break;
			case 'k':
				key_file = optarg;
				break;
			case 'K':
				known_hosts = optarg;
				break;
			case 'f':
				if (!sb_sftp_parse_fingerprint(optarg, digest))
				{
					sb_cli_error("invalid SSH host key fingerprint \"%s\"", optarg);
					fprintf(stderr, "%s: hint: Give the fingerprint as \"ssh-keygen -lf\" prints it (\"SHA256:\" followed by 43 base64 characters).\n", progname);
					return SB_EXIT_USAGE;
				}
				s->fingerprint = optarg;
				break;
			case 'r':
				if (optarg[0] != '/')
				{
					sb_cli_error("option \"--repo-path\" must be an absolute path");
					return SB_EXIT_USAGE;
				}
				s->repo_path = optarg;
				break;
			case 'q':
				sb_cli_verbosity = -1;
				break;
			case 'v':
				sb_cli_verbosity = 1;
				break;
			default:
				fprintf(stderr, "Try \"%s setup sftp --help\" for more information.\n", progname);
				return SB_EXIT_USAGE;
		}
	}
	if (optind < argc)
	{
		sb_cli_error("unexpected argument \"%s\" for command \"setup sftp\"", argv[optind]);
		return SB_EXIT_USAGE;
	}
	if (s->host == NULL || s->user == NULL)
	{
		sb_cli_error(s->host == NULL ? "no host given" : "no user given");
		fprintf(stderr, "Usage: %s setup sftp --host=HOST --user=USER [OPTION]...\n", progname);
		return SB_EXIT_USAGE;
	}
	if (key_file ? !absolute_path(key_file, s->key_file, sizeof(s->key_file))
		: !default_ssh_path("safebackup_ed25519", s->key_file, sizeof(s->key_file)))
		return SB_EXIT_USAGE;
	if (known_hosts ? !absolute_path(known_hosts, s->known_hosts, sizeof(s->known_hosts))
		: !default_ssh_path("known_hosts", s->known_hosts, sizeof(s->known_hosts)))
		return SB_EXIT_USAGE;
	return SB_EXIT_OK;
}

/* Step 1: the key pair, made by ssh-keygen unless the key file exists. */
static bool
ensure_key_pair(const SftpSetup *s)
{
	char	   *argv[] = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "",
		"-C", "pg_safebackup", "-f", (char *) s->key_file, NULL};
	struct stat st;
	pid_t		pid;
	int			status;
	int			rc;

	if (stat(s->key_file, &st) == 0)
	{
		if ((st.st_mode & 077) != 0)
		{
			sb_cli_error("private key file \"%s\" has group or world access", s->key_file);
			fprintf(stderr, "%s: hint: Run \"chmod 600 %s\".\n", progname, s->key_file);
			return false;
		}
		sb_cli_info("using the existing key \"%s\"", s->key_file);
		return true;
	}
	rc = posix_spawnp(&pid, "ssh-keygen", NULL, NULL, argv, environ);
	if (rc != 0)
	{
		sb_cli_error("could not run ssh-keygen: %s", strerror(rc));
		fprintf(stderr, "%s: hint: Install the OpenSSH client (package openssh-client), or give an existing key with --key-file.\n", progname);
		return false;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		WEXITSTATUS(status) != 0)
	{
		sb_cli_error("ssh-keygen could not create the key \"%s\"", s->key_file);
		return false;
	}
	sb_cli_info("created the Ed25519 key pair \"%s\" and \"%s.pub\"", s->key_file, s->key_file);
	return true;
}

static int
connect_to(const SftpSetup *s)
{
	struct addrinfo hints;
	struct addrinfo *res;
	char		port[16];
	int			sock = -1;
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", s->port);
	rc = getaddrinfo(s->host, port, &hints, &res);
	if (rc != 0)
	{
		sb_cli_error("could not resolve host \"%s\": %s", s->host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next)
	{
		struct timeval tv = {SETUP_SFTP_TIMEOUT_MS / 1000, 0};

		sock = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (sock < 0)
			continue;
		/* on Linux this bounds connect() too */
		(void) setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(sock, a->ai_addr, a->ai_addrlen) == 0)
			break;
		rc = errno;
		close(sock);
		sock = -1;
		errno = rc;
	}
	freeaddrinfo(res);
	if (sock < 0)
		sb_cli_error("could not connect to the SSH server at \"%s\" port %d: %s",
					 s->host, s->port, strerror(errno));
	return sock;
}

/* Step 2a: the host key the server offers, with its fingerprint. */
static bool
fetch_host_key(const SftpSetup *s, HostKey *hk)
{
	LIBSSH2_SESSION *session = NULL;
	const char *key;
	size_t		len;
	int			type;
	int			sock;
	bool		ok = false;

	if (libssh2_init(0) != 0)
	{
		sb_cli_error("could not initialize libssh2");
		return false;
	}
	if ((sock = connect_to(s)) < 0)
		return false;
	session = libssh2_session_init();
	if (session == NULL)
	{
		sb_cli_error("out of memory");
		goto done;
	}
	libssh2_session_set_timeout(session, SETUP_SFTP_TIMEOUT_MS);
	if (libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, SFTP_HOSTKEY_PREF) != 0 &&
		libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, SFTP_HOSTKEY_PREF_OLD) != 0)
	{
		sb_cli_error("could not set the host key algorithms of the SSH session");
		goto done;
	}
	if (libssh2_session_handshake(session, sock) != 0)
	{
		char	   *msg = NULL;

		libssh2_session_last_error(session, &msg, NULL, 0);
		sb_cli_error("could not establish an SSH session with \"%s\" port %d: %s",
					 s->host, s->port, msg ? msg : "unknown error");
		goto done;
	}
	key = libssh2_session_hostkey(session, &len, &type);
	if (key == NULL || len < 4)
	{
		sb_cli_error("the SSH server at \"%s\" sent no host key", s->host);
		goto done;
	}
	/* the blob starts with the key type as an SSH string */
	{
		uint32_t	tlen = ((uint32_t) (unsigned char) key[0] << 24) |
			((uint32_t) (unsigned char) key[1] << 16) |
			((uint32_t) (unsigned char) key[2] << 8) | (unsigned char) key[3];

		if (tlen == 0 || tlen >= sizeof(hk->type) || tlen > len - 4)
		{
			sb_cli_error("the SSH server at \"%s\" sent a malformed host key", s->host);
			goto done;
		}
		memcpy(hk->type, key + 4, tlen);
		hk->type[tlen] = '\0';
	}
	hk->blob = malloc(len);
	if (hk->blob == NULL)
	{
		sb_cli_error("out of memory");
		goto done;
	}
	memcpy(hk->blob, key, len);
	hk->len = len;
	if (EVP_Digest(hk->blob, len, hk->digest, NULL, EVP_sha256(), NULL) != 1)
	{
		sb_cli_error("could not compute the host key fingerprint");
		goto done;
	}
	sb_sftp_format_fingerprint(hk->digest, hk->fp);
	ok = true;
done:
	if (session != NULL)
	{
		libssh2_session_disconnect(session, "pg_safebackup setup: host key read");
		libssh2_session_free(session);
	}
	close(sock);
	return ok;
}

/* Step 2b: the user's word that the fingerprint is the server's. */
static bool
confirm_host_key(const SftpSetup *s, const HostKey *hk)
{
	unsigned char given[32];
	char		answer[16];

	/* printed even with -q: it is what is being trusted */
	printf("The SSH server at %s port %d offered this %s host key:\n    %s\n",
		   s->host, s->port, hk->type, hk->fp);
	if (s->fingerprint != NULL)
	{
		if (!sb_sftp_parse_fingerprint(s->fingerprint, given) ||
			memcmp(given, hk->digest, sizeof(given)) != 0)
		{
			sb_cli_error("the host key of \"%s\" does not match the fingerprint given", s->host);
			fprintf(stderr, "%s: detail: The server offered %s, --host-key-fingerprint is %s.\n",
					progname, hk->fp, s->fingerprint);
			fprintf(stderr, "%s: hint: Nothing was written.  Check that you reach the right server (someone may be intercepting the connection).\n", progname);
			return false;
		}
		printf("It matches --host-key-fingerprint.\n");
		return true;
	}
	if (!isatty(STDIN_FILENO))
	{
		sb_cli_error("the host key of \"%s\" was not confirmed", s->host);
		fprintf(stderr, "%s: hint: Compare the fingerprint with the one the server's administrator reads there (ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), then run again with --host-key-fingerprint=%s, or on a terminal.\n",
				progname, strncmp(hk->type, "ssh-", 4) == 0 ? hk->type + 4 : "ed25519", hk->fp);
		return false;
	}
	printf("Compare it with the fingerprint read on the server itself, for example\n"
		   "with \"ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\" there.\n"
		   "Type \"yes\" if they are the same: ");
	fflush(stdout);
	if (fgets(answer, sizeof(answer), stdin) == NULL ||
		strcmp(answer, "yes\n") != 0)
	{
		sb_cli_error("the host key of \"%s\" was not confirmed: nothing was written", s->host);
		return false;
	}
	return true;
}

/* base64 of the blob, as known_hosts holds it */
static char *
key_base64(const HostKey *hk)
{
	char	   *out = malloc(4 * ((hk->len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *) out, hk->blob, (int) hk->len);
	return out;
}

/*
 * Does the file hold a line for this host already?  *same: with this key.
 * A line for the host with another key of the same type is refused by the
 * caller: the driver would see a changed key.
 */
static bool
known_hosts_scan(const char *path, const char *name, const HostKey *hk,
				 const char *b64, bool *found, bool *same)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;

	*found = *same = false;
	if (f == NULL)
		return errno == ENOENT;
	while (getline(&line, &cap, f) != -1)
	{
		char	   *save;
		char	   *hosts = strtok_r(line, " \t\r\n", &save);
		char	   *type = strtok_r(NULL, " \t\r\n", &save);
		char	   *key = strtok_r(NULL, " \t\r\n", &save);

		if (hosts == NULL || type == NULL || key == NULL || hosts[0] == '#' ||
			hosts[0] == '@' || strcmp(type, hk->type) != 0 ||
			!sb_known_hosts_match_host(hosts, name))
			continue;
		*found = true;
		if (strcmp(key, b64) == 0)
			*same = true;
	}
	free(line);
	fclose(f);
	return true;
}

/* Step 2c: the known_hosts line ("[host]:port" unless port 22). */
static bool
write_known_hosts(const SftpSetup *s, const HostKey *hk)
{
	char		name[512];
	char	   *b64 = key_base64(hk);
	bool		found;
	bool		same;
	bool		ok = false;
	int			fd;
	FILE	   *f;

	if (b64 == NULL)
	{
		sb_cli_error("out of memory");
		return false;
	}
	if (s->port == 22)
		snprintf(name, sizeof(name), "%s", s->host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", s->host, s->port);
	if (!known_hosts_scan(s->known_hosts, name, hk, b64, &found, &same))
	{
		sb_cli_error("could not read file \"%s\": %s", s->known_hosts, strerror(errno));
		goto done;
	}
	if (same)
	{
		sb_cli_info("\"%s\" already holds this key for %s", s->known_hosts, name);
		ok = true;
		goto done;
	}
	if (found)
	{
		sb_cli_error("\"%s\" holds another %s key for %s", s->known_hosts, hk->type, name);
		fprintf(stderr, "%s: hint: If the server's key was changed on purpose, remove the old line with \"ssh-keygen -R '%s' -f %s\" and run again.\n",
				progname, name, s->known_hosts);
		goto done;
	}
	fd = open(s->known_hosts, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0 || (f = fdopen(fd, "a")) == NULL)
	{
		sb_cli_error("could not open file \"%s\": %s", s->known_hosts, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto done;
	}
	fprintf(f, "%s %s %s\n", name, hk->type, b64);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	if (fclose(f) != 0)
		ok = false;
	if (!ok)
		sb_cli_error("could not write file \"%s\": %s", s->known_hosts, strerror(errno));
	else
		sb_cli_info("added the host key of %s to \"%s\"", name, s->known_hosts);
done:
	free(b64);
	return ok;
}

/* Step 3: what to paste on the SFTP server and in postgresql.conf. */
static void
print_settings(const SftpSetup *s)
{
	char		pub[PATH_MAX + 8];
	char		line[1024] = "";
	FILE	   *f;

	snprintf(pub, sizeof(pub), "%s.pub", s->key_file);
	if ((f = fopen(pub, "r")) != NULL)
	{
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\r\n")] = '\0';
	printf("\n# On the SFTP server: the account's authorized key (one line in, for\n"
		   "# example, /etc/ssh/authorized_keys/%s, owned by root):\n", s->user);
	printf("%s\n", line[0] ? line : "(the public key: run ssh-keygen -y -f on the private key)");
	printf("\n# On the SFTP server, at the end of /etc/ssh/sshd_config (the chroot\n"
		   "# directory owned by root and not writable by others; inside it,\n"
		   "# %s owned by %s):\n", s->repo_path, s->user);
	printf("Match User %s\n", s->user);
	printf("    ChrootDirectory /srv/sftp/%%u\n");
	printf("    ForceCommand internal-sftp\n");
	printf("    AuthorizedKeysFile /etc/ssh/authorized_keys/%%u\n");
	printf("    PasswordAuthentication no\n");
	printf("    AllowTcpForwarding no\n");
	printf("    X11Forwarding no\n");
	printf("    PermitTTY no\n");
	printf("\n# postgresql.conf of the database server (then reload):\n");
	printf("safebackup.repo_type = 'sftp'\n");
	printf("safebackup.repo_path = '%s'\n", s->repo_path);
	printf("safebackup.sftp_host = '%s'\n", s->host);
	printf("safebackup.sftp_port = %d\n", s->port);
	printf("safebackup.sftp_user = '%s'\n", s->user);
	printf("safebackup.sftp_private_key_file = '%s'\n", s->key_file);
	printf("safebackup.sftp_known_hosts_file = '%s'\n", s->known_hosts);
}

int
sb_cmd_setup_sftp(int argc, char **argv)
{
	SftpSetup	s;
	HostKey		hk;
	int			rc;

	rc = parse_setup_sftp(argc, argv, &s);
	if (rc != SB_EXIT_OK)
		return rc;
	memset(&hk, 0, sizeof(hk));
	/* the host key first: nothing is made for a server that is not confirmed */
	rc = SB_EXIT_ERROR;
	if (fetch_host_key(&s, &hk) &&
		confirm_host_key(&s, &hk) &&
		ensure_key_pair(&s) &&
		write_known_hosts(&s, &hk))
	{
		if (sb_cli_verbosity >= 0)
			print_settings(&s);
		rc = SB_EXIT_OK;
	}
	free(hk.blob);
	return rc;
}
