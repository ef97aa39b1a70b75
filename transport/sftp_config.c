/*-------------------------------------------------------------------------
 *
 * sftp_config.c
 *		Checks the SFTP driver makes before connecting: the settings a
 *		connection needs, the permissions of the private key and passphrase
 *		files (core/secret_file.h), and reading the passphrase.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <errno.h>
#include <stdio.h>

#include "secret_file.h"

/* Read the passphrase file into buf, without its trailing newline. */
SbStatus
sb_sftp_read_passphrase(const char *path, char *buf, size_t bufsize,
						SbError *err)
{
	SbStatus	rc;
	FILE	   *f;
	size_t		n;

	rc = sb_secret_file_check(path, -1, "passphrase file", SB_ERR_CONFIG, err);
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
	if (SB_SFTP(cfg)->sftp_host[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP host is not set");
		sb_error_hint(err, "Set safebackup.sftp_host.");
		return SB_ERR_CONFIG;
	}
	if (SB_SFTP(cfg)->sftp_port < 0 || SB_SFTP(cfg)->sftp_port > 65535)
		return sb_error_set(err, SB_ERR_CONFIG, "invalid SFTP port %d",
							SB_SFTP(cfg)->sftp_port);
	if (SB_SFTP(cfg)->sftp_user[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP user is not set");
		sb_error_hint(err, "Set safebackup.sftp_user.");
		return SB_ERR_CONFIG;
	}
	if (SB_SFTP(cfg)->sftp_private_key_file[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "SFTP private key file is not set");
		sb_error_hint(err, "Set safebackup.sftp_private_key_file; only public key authentication is supported.");
		return SB_ERR_CONFIG;
	}
	if (SB_SFTP(cfg)->sftp_host_key_fingerprint[0] == '\0' &&
		SB_SFTP(cfg)->sftp_known_hosts_file[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "no way to verify the host key of SFTP server \"%s\"",
					 SB_SFTP(cfg)->sftp_host);
		sb_error_hint(err, "Set safebackup.sftp_known_hosts_file or safebackup.sftp_host_key_fingerprint.");
		return SB_ERR_CONFIG;
	}
	return sb_secret_file_check(SB_SFTP(cfg)->sftp_private_key_file, -1,
								"private key file", SB_ERR_CONFIG, err);
}
