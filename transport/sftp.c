/*-------------------------------------------------------------------------
 *
 * sftp.c
 *		Storage driver for a repository on an SFTP server, over libssh2; see
 *		core/storage.h for the contract.
 *
 * The driver is meant for a dedicated account confined by the server to
 * "ForceCommand internal-sftp", usually in a chroot: it uses only the SFTP
 * subsystem (no exec, no shell, no forwarding), authenticates with a public
 * key only, and verifies the server's host key (sftp_hostkey.c) before
 * authenticating, without trust on first use.  cfg.repo_path is the
 * repository root as the account sees it (for example /upload).
 *
 * The socket and the libssh2 session are non-blocking, and every wait has
 * cfg.io_timeout_ms as its limit (sftp_wait.c).  Writes go to a temporary
 * file that commit flushes and renames (sftp_write.c).
 *
 * A transport failure (timeout, connection lost) marks the connection
 * broken: the next operation (or open()) reconnects.  stat(), mkdir() and
 * read_open() are retried once after reconnecting; writes never are.
 *
 * This file holds the operations table and open/close/destroy; the driver's
 * other files are listed in sftp_internal.h.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sftp_internal.h"

#include <stdlib.h>
#include <string.h>

static SbStatus sftp_open(SbStorage *st, SbError *err);
static void sftp_close(SbStorage *st);
static void sftp_destroy(SbStorage *st);
static SbRepoMode sftp_mode(SbStorage *st);

const SbStorageOps sb_sftp_ops = {
	.name = "sftp",
	.caps = SB_CAP_ATOMIC_RENAME | SB_CAP_DIRECTORIES,
	.open = sftp_open,
	.close = sftp_close,
	.write_open = sb_sftp_write_open,
	.write = sb_sftp_write,
	.write_commit = sb_sftp_write_commit,
	.write_abort = sb_sftp_write_abort,
	.write_rename = sb_sftp_write_rename,
	.read_open = sb_sftp_read_open,
	.read = sb_sftp_read,
	.read_close = sb_sftp_read_close,
	.read_open_at = sb_sftp_read_open_at,
	.stat = sb_sftp_stat,
	.list = sb_sftp_list,
	.remove = sb_sftp_remove,
	.mkdir = sb_sftp_mkdir,
	.destroy = sftp_destroy,
	.mode = sftp_mode
};

/*
 * An SFTP server's request filter (internal-sftp -P) is invisible until a
 * request is refused, and trying a removal to find out is not an option.
 */
static SbRepoMode
sftp_mode(SbStorage *st)
{
	return SB_REPO_MODE_UNKNOWN;
}

static SbStatus
sftp_open(SbStorage *st, SbError *err)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	if (ss == NULL)
	{
		ss = malloc(sizeof(SftpStorage));
		if (ss == NULL)
			return sb_error_oom(err);
		memset(ss, 0, sizeof(SftpStorage));
		ss->peer = (SbNetPeer) {
			.kind = "SFTP server",
			.host = SB_SFTP(&st->cfg)->sftp_host,
			.port = SB_SFTP(&st->cfg)->sftp_port > 0 ? SB_SFTP(&st->cfg)->sftp_port : 22,
			.host_setting = "safebackup.sftp_host",
			.port_setting = "safebackup.sftp_port",
			.service = "the SSH server",
			.broken = &ss->broken
		};
		ss->sock = -1;
		st->priv = ss;
	}
	if (ss->opened && ss->connected && !ss->broken)
		return SB_OK;
	sb_sftp_disconnect(st);
	if (sb_sftp_connect(st, err) != SB_OK)
		return err->status;
	ss->opened = true;
	return SB_OK;
}

static void
sftp_close(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	sb_sftp_disconnect(st);
	if (ss != NULL)
		ss->opened = false;
}

static void
sftp_destroy(SbStorage *st)
{
	SftpStorage *ss = (SftpStorage *) st->priv;

	sb_sftp_disconnect(st);
	while (ss != NULL && ss->norphans > 0)
		free(ss->orphans[--ss->norphans]);
	if (ss != NULL)
		free(ss->handles);
	free(st->priv);
	st->priv = NULL;
}
