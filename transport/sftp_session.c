/*-------------------------------------------------------------------------
 *
 * sftp_session.c
 *		The SFTP driver's connection: TCP connect, SSH handshake, host key
 *		check, public key authentication, start of the SFTP subsystem, and
 *		reconnecting after a transport failure.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sftp_hostkey.h"

/* Seconds between keepalive messages on an idle connection. */
#define SFTP_KEEPALIVE_SECS	30

/* Largest passphrase file we read. */
#define SFTP_PASSPHRASE_MAX	1024

static bool sftp_lib_initialized = false;

/*
 * Drop the connection.  A broken one is not shut down politely: the socket
 * is closed first, so that freeing the session cannot wait on it.
 */
void
sb_sftp_disconnect(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		werr;

	if (ss == NULL)
		return;

	if (ss->session != NULL)
		sb_sftp_drop_handles(st);

	if (ss->session != NULL && !ss->broken && ss->sock >= 0)
	{
		int			rc;

		if (ss->sftp != NULL)
		{
			while ((rc = libssh2_sftp_shutdown(ss->sftp)) == LIBSSH2_ERROR_EAGAIN)
			{
				if (sb_sftp_wait(st, &werr) != SB_OK)
					break;
			}
			if (rc != LIBSSH2_ERROR_EAGAIN)
				ss->sftp = NULL;
		}
		while (!ss->broken &&
			   (rc = libssh2_session_disconnect(ss->session, "closing")) == LIBSSH2_ERROR_EAGAIN)
		{
			if (sb_sftp_wait(st, &werr) != SB_OK)
				break;
		}
	}

	if (ss->sock >= 0)
	{
		close(ss->sock);
		ss->sock = -1;
	}
	if (ss->session != NULL)
	{
		/*
		 * With the socket gone nothing can block; blocking mode makes
		 * libssh2 finish freeing in one call.
		 */
		libssh2_session_set_blocking(ss->session, 1);
		if (ss->sftp != NULL)
			(void) libssh2_sftp_shutdown(ss->sftp);
		(void) libssh2_session_free(ss->session);
	}
	ss->sftp = NULL;
	ss->session = NULL;
	ss->connected = false;
	ss->broken = false;
}

/* Connect, verify the host key, authenticate, start SFTP, check the root. */
SbStatus
sb_sftp_connect(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	const SbRepoConfig *cfg = &st->cfg;
	char		passphrase[SFTP_PASSPHRASE_MAX];
	const char *pubkey;
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	SbStatus	rc;
	int			lrc;
	size_t		len;

	passphrase[0] = '\0';
	rc = sb_sftp_check_config(st, err);
	if (rc != SB_OK)
		return rc;
	if (SB_SFTP(cfg)->sftp_private_key_passphrase_file[0] != '\0')
	{
		rc = sb_sftp_read_passphrase(SB_SFTP(cfg)->sftp_private_key_passphrase_file,
									 passphrase, sizeof(passphrase), err);
		if (rc != SB_OK)
			return rc;
	}

	if (!sftp_lib_initialized)
	{
		if (libssh2_init(0) != 0)
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not initialize libssh2");
		sftp_lib_initialized = true;
	}

	/* keep the root without trailing slashes; "/" becomes "" */
	len = strlen(cfg->repo_path);
	while (len > 0 && cfg->repo_path[len - 1] == '/')
		len--;
	memcpy(ss->root, cfg->repo_path, len);
	ss->root[len] = '\0';

	rc = sb_net_connect(st, &ss->peer, &ss->sock, err);
	if (rc != SB_OK)
		goto fail;

	ss->session = libssh2_session_init();
	if (ss->session == NULL)
	{
		rc = sb_error_oom(err);
		goto fail;
	}
	libssh2_session_set_blocking(ss->session, 0);
	if (libssh2_session_method_pref(ss->session, LIBSSH2_METHOD_HOSTKEY,
									SFTP_HOSTKEY_PREF) != 0 &&
		libssh2_session_method_pref(ss->session, LIBSSH2_METHOD_HOSTKEY,
									SFTP_HOSTKEY_PREF_OLD) != 0)
	{
		rc = sb_error_set(err, SB_ERR_INTERNAL,
						  "could not set the host key algorithms of the SSH session");
		goto fail;
	}

	while ((lrc = libssh2_session_handshake(ss->session, ss->sock)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		rc = sb_sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}
	if (lrc != 0)
	{
		rc = sb_sftp_error(st, lrc, err,
						   "could not establish an SSH session with \"%s\"",
						   SB_SFTP(cfg)->sftp_host);
		goto fail;
	}

	/* the host key, before anything is sent on the authenticated session */
	rc = sb_sftp_verify_host_key(ss->session, cfg, err);
	if (rc != SB_OK)
		goto fail;

	pubkey = SB_SFTP(cfg)->sftp_public_key_file[0] != '\0' ? SB_SFTP(cfg)->sftp_public_key_file : NULL;
	while ((lrc = libssh2_userauth_publickey_fromfile_ex(ss->session,
														 SB_SFTP(cfg)->sftp_user,
														 (unsigned int) strlen(SB_SFTP(cfg)->sftp_user),
														 pubkey,
														 SB_SFTP(cfg)->sftp_private_key_file,
														 passphrase)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		rc = sb_sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}
	memset(passphrase, 0, sizeof(passphrase));
	if (lrc != 0)
	{
		if (lrc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
			lrc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
			lrc == LIBSSH2_ERROR_PUBLICKEY_UNRECOGNIZED)
		{
			rc = sb_error_set(err, SB_ERR_AUTH,
							  "SFTP server \"%s\" refused public key authentication for user \"%s\"",
							  SB_SFTP(cfg)->sftp_host, SB_SFTP(cfg)->sftp_user);
			sb_error_hint(err, "Check that the public key of \"%s\" is authorized for that account on the server.",
						  SB_SFTP(cfg)->sftp_private_key_file);
		}
		else if (lrc == LIBSSH2_ERROR_FILE)
		{
			char	   *msg = NULL;

			libssh2_session_last_error(ss->session, &msg, NULL, 0);
			rc = sb_error_set(err, SB_ERR_CONFIG,
							  "could not load private key file \"%s\": %s",
							  SB_SFTP(cfg)->sftp_private_key_file,
							  msg ? msg : "unknown error");
			sb_error_hint(err, "Check the key file and, for an encrypted key, safebackup.sftp_private_key_passphrase_file.");
		}
		else
			rc = sb_sftp_error(st, lrc, err,
							   "could not authenticate to SFTP server \"%s\"",
							   SB_SFTP(cfg)->sftp_host);
		goto fail;
	}

	/* the SFTP subsystem only: no exec, no shell, no forwarding */
	for (;;)
	{
		ss->sftp = libssh2_sftp_init(ss->session);
		if (ss->sftp != NULL)
			break;
		lrc = libssh2_session_last_errno(ss->session);
		if (lrc != LIBSSH2_ERROR_EAGAIN)
		{
			rc = sb_sftp_error(st, lrc, err,
							   "could not start the SFTP subsystem on \"%s\"",
							   SB_SFTP(cfg)->sftp_host);
			sb_error_hint(err, "The account must allow the SFTP subsystem (for example \"ForceCommand internal-sftp\").");
			goto fail;
		}
		rc = sb_sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}

	libssh2_keepalive_config(ss->session, 1, SFTP_KEEPALIVE_SECS);

	ss->connected = true;
	ss->broken = false;
	ss->generation++;

	/* the repository root must exist and be a directory */
	while ((lrc = libssh2_sftp_stat_ex(ss->sftp, ss->root[0] ? ss->root : "/",
									   (unsigned int) strlen(ss->root[0] ? ss->root : "/"),
									   LIBSSH2_SFTP_STAT, &attrs)) ==
		   LIBSSH2_ERROR_EAGAIN)
	{
		rc = sb_sftp_wait(st, err);
		if (rc != SB_OK)
			goto fail;
	}
	if (lrc != 0)
	{
		rc = sb_sftp_error(st, lrc, err,
						   "could not access repository directory \"%s\" on SFTP server \"%s\"",
						   cfg->repo_path, SB_SFTP(cfg)->sftp_host);
		if (rc == SB_ERR_NOT_FOUND)
			sb_error_hint(err, "Create the directory on the server, or set safebackup.repo_path to an existing directory as the SFTP account sees it (in a chroot, for example /upload).");
		goto fail;
	}
	if (!(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
		!LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
	{
		rc = sb_error_set(err, SB_ERR_NOT_FOUND,
						  "repository path \"%s\" on SFTP server \"%s\" is not a directory",
						  cfg->repo_path, SB_SFTP(cfg)->sftp_host);
		sb_error_hint(err, "Create the directory on the server, or set safebackup.repo_path to an existing directory as the SFTP account sees it (in a chroot, for example /upload).");
		goto fail;
	}

	/* temporary files of writes cut off by a lost connection */
	while (ss->norphans > 0 && !ss->broken)
	{
		SbError		uerr;
		char	   *orphan = ss->orphans[--ss->norphans];

		(void) sb_sftp_do_unlink(st, orphan, &uerr);
		free(orphan);
	}
	return SB_OK;

fail:
	memset(passphrase, 0, sizeof(passphrase));
	/* a half-made connection is never kept: drop it without ceremony */
	ss->broken = true;
	sb_sftp_disconnect(st);
	return rc;
}

/*
 * Make sure the connection is usable: reconnect when it broke.  Also sends
 * a keepalive when one is due.
 */
SbStatus
sb_sftp_ensure(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	int			next;

	if (ss == NULL || !ss->opened)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"repository storage is not open");
	if (ss->broken || !ss->connected)
	{
		sb_sftp_disconnect(st);
		return sb_sftp_connect(st, err);
	}
	(void) libssh2_keepalive_send(ss->session, &next);
	return SB_OK;
}

/* After a transport failure, reconnect; true when that worked. */
bool
sb_sftp_retry_after(SbStorage *st, SbStatus rc)
{
	SftpStorage *ss = (SftpStorage *) st->priv;
	SbError		rerr;

	if (rc != SB_ERR_NETWORK || !ss->broken)
		return false;
	sb_sftp_disconnect(st);
	return sb_sftp_connect(st, &rerr) == SB_OK;
}
