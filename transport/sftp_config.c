/*-------------------------------------------------------------------------
 *
 * sftp_config.c
 *		Checks the SFTP driver makes before connecting: the settings a
 *		connection needs, and the permissions of the private key and
 *		passphrase files.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * Check that a key or passphrase file is a regular file owned by the
 * current user that neither group nor others can access, as ssh does.
 */
static SbStatus
sftp_check_secret_file(const char *path, const char *what, SbError *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
	{
		(void) sb_error_errno(err, errno, "could not access %s \"%s\"", what,
							  path);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	if (!S_ISREG(sb.st_mode))
		return sb_error_set(err, SB_ERR_CONFIG, "%s \"%s\" is not a regular file",
							what, path);
	if (sb.st_uid != geteuid())
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "%s \"%s\" is not owned by the current user", what, path);
		sb_error_hint(err, "The file must be owned by the operating system user running pg_safebackup.");
		return SB_ERR_CONFIG;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		sb_error_set(err, SB_ERR_CONFIG, "%s \"%s\" has group or world access",
					 what, path);
		sb_error_detail(err, "Its permissions are %04o.",
						(unsigned int) (sb.st_mode & 07777));
		sb_error_hint(err, "Remove them with \"chmod 600 %s\".", path);
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

/* Read the passphrase file into buf, without its trailing newline. */
SbStatus
sb_sftp_read_passphrase(const char *path, char *buf, size_t bufsize,
						SbError *err)
{
	SbStatus	rc;
	FILE	   *f;
	size_t		n;

	rc = sftp_check_secret_file(path, "passphrase file", err);
	if (rc != SB_OK)
		return rc;
	f = fopen(path, "r");
	if (f == NULL)
	{
		sb_error_errno(err, errno, "could not open passphrase file \"%s\"",
					   path);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	n = fread(buf, 1, bufsize - 1, f);
	if (ferror(f))
	{
		sb_error_errno(err, errno, "could not read passphrase file \"%s\"",
					   path);
		fclose(f);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return SB_OK;
}

/* Check the settings a connection needs. */
SbStatus
sb_sftp_check_config(SbStorage *st, SbError *err)
{
	const SbRepoConfig *cfg = &st->cfg;

	if (cfg->repo_path[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "repository path is not set");
		sb_error_hint(err, "Set safebackup.repo_path to the repository directory as the SFTP account sees it.");
		return SB_ERR_CONFIG;
	}
	if (cfg->repo_path[0] != '/')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "repository path \"%s\" is not an absolute path",
					 cfg->repo_path);
		sb_error_hint(err, "Set safebackup.repo_path to an absolute path as the SFTP account sees it, for example /upload.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_host[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP host is not set");
		sb_error_hint(err, "Set safebackup.sftp_host.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_port < 0 || cfg->sftp_port > 65535)
		return sb_error_set(err, SB_ERR_CONFIG, "invalid SFTP port %d",
							cfg->sftp_port);
	if (cfg->sftp_user[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP user is not set");
		sb_error_hint(err, "Set safebackup.sftp_user.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_private_key_file[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP private key file is not set");
		sb_error_hint(err, "Set safebackup.sftp_private_key_file; only public key authentication is supported.");
		return SB_ERR_CONFIG;
	}
	if (cfg->sftp_host_key_fingerprint[0] == '\0' &&
		cfg->sftp_known_hosts_file[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "no way to verify the host key of SFTP server \"%s\"",
					 cfg->sftp_host);
		sb_error_hint(err, "Set safebackup.sftp_known_hosts_file or safebackup.sftp_host_key_fingerprint.");
		return SB_ERR_CONFIG;
	}
	return sftp_check_secret_file(cfg->sftp_private_key_file,
								  "private key file", err);
}
