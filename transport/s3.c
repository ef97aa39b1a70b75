/*-------------------------------------------------------------------------
 *
 * s3.c
 *		Storage driver for an S3-compatible object store (AWS S3, Ceph RADOS
 *		Gateway, MinIO, ...); see core/storage.h for the contract.  Requests
 *		are made by s3_http.c (libcurl, SigV4, verified TLS).
 *
 * S3 has no rename and no directories, so the contract is kept this way:
 *
 * - A writer keeps its data in memory until it is committed, in one buffer
 *   of at most S3_PART_SIZE: an object that fits goes in one PUT at
 *   commit, a larger one as a multipart upload whose parts are sent as the
 *   buffer fills and which CompleteMultipartUpload publishes at commit.
 *   Nothing is visible under the name before that: an object is there
 *   whole or not at all.  Abort sends nothing, or aborts the upload.
 * - Without SB_WRITE_REPLACE an existing object is never replaced: commit
 *   looks (HEAD) and refuses with SB_ERR_EXISTS, and sends If-None-Match: *
 *   as well, which gateways that support it enforce atomically.  When a
 *   commit was sent again after a lost answer and the object is then
 *   there, its ETag (the MD5 of what we sent, or of the parts' MD5s) tells
 *   whether it is ours.  Each PUT carries Content-MD5, checked by the server.
 * - A directory is a key prefix, made visible by an empty marker object
 *   "dir/" that mkdir() writes (and list() hides), so that an empty
 *   directory exists as on a file system.  Objects below a prefix without
 *   a marker make it a directory too.
 * - Writes are durable when the server acknowledges them: sync is not
 *   needed and SB_WRITE_DEFER_SYNC changes nothing.  There are no
 *   temporary files to list; incomplete multipart uploads of writers that
 *   died stay in the bucket until a lifecycle rule aborts them (README).
 * - A writer can be renamed while nothing was sent, i.e. up to one part
 *   (write_rename_limit): a WAL segment is stored in one pass and named by
 *   its digest at the end (core/wal.c), as on the other drivers.
 * - What we may do is set by the bucket policy, invisible to the client:
 *   the mode is unknown.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static SbStatus s3_open(SbStorage *st, SbError *err);
static void s3_close(SbStorage *st);
static void s3_destroy(SbStorage *st);
static SbRepoMode s3_mode(SbStorage *st);

const SbStorageOps sb_s3_ops = {
	.name = "s3",
	/* directories: marker objects (above); no rename, no server mode */
	.caps = SB_CAP_DIRECTORIES,
	.open = s3_open,
	.close = s3_close,
	.write_open = s3_write_open,
	.write = s3_write,
	.write_commit = s3_write_commit,
	.write_abort = s3_write_abort,
	.write_rename = s3_write_rename,
	.write_rename_limit = S3_PART_SIZE,
	.read_open = s3_read_open,
	.read = s3_read,
	.read_close = s3_read_close,
	.read_open_at = s3_read_open_at,
	.stat = s3_stat,
	.list = s3_list,
	.list_prefix = s3_list_prefix,
	.remove = s3_remove,
	.mkdir = s3_mkdir,
	.sync = NULL,
	.destroy = s3_destroy,
	.mode = s3_mode,
};

/* ---------------------------------------------------------------------
 * Open and close
 * ---------------------------------------------------------------------
 */

static SbStatus
s3_open(SbStorage *st, SbError *err)
{
	S3Storage  *s = s3_state(st);
	SbStatus	rc;
	bool		used = false;

	if (s != NULL && s->opened)
		return SB_OK;
	if (s == NULL)
	{
		s = calloc(1, sizeof(S3Storage));
		if (s == NULL)
			return sb_error_oom(err);
		st->priv = s;
	}
	if ((rc = s3_check_settings(&st->cfg, s, err)) != SB_OK ||
		(rc = s3_load_credentials(&st->cfg, s, err)) != SB_OK ||
		(rc = s3_share_init(s, err)) != SB_OK ||
		(rc = s3_xfer_init(&s->xfer, err)) != SB_OK)
		return rc;

	/*
	 * The bucket must answer to our credentials, and a repository below a
	 * prefix must exist like a directory (a typo never starts a new one).
	 */
	rc = s3_prefix_used(st, s->prefix, s->prefix[0] ? s->prefix : "/", &used, err);
	if (rc != SB_OK)
		return rc;
	if (s->prefix[0] != '\0' && !used)
	{
		sb_error_set(err, SB_ERR_NOT_FOUND,
					 "repository path \"%s\" does not exist in S3 bucket \"%s\"",
					 st->cfg.repo_path, SB_S3(&st->cfg)->s3_bucket);
		sb_error_hint(err, "Create it as an empty object named \"%s\" (for example with \"aws s3api put-object --bucket %s --key %s\"), or set safebackup.repo_path to \"/\" to use the whole bucket.",
					  s->prefix, SB_S3(&st->cfg)->s3_bucket, s->prefix);
		return SB_ERR_NOT_FOUND;
	}
	memset(&s->dirs, 0, sizeof(s->dirs));
	s->opened = true;
	return SB_OK;
}

static void
s3_close(SbStorage *st)
{
	S3Storage  *s = s3_state(st);

	if (s == NULL)
		return;
	s3_xfer_free(&s->xfer);
	s3_share_free(s);
	memset(s->userpwd, 0, sizeof(s->userpwd));
	memset(s->token, 0, sizeof(s->token));
	s->opened = false;
}

static void
s3_destroy(SbStorage *st)
{
	S3Storage  *s = s3_state(st);

	if (s == NULL)
		return;
	s3_close(st);
	free(s);
	st->priv = NULL;
}

static SbRepoMode
s3_mode(SbStorage *st)
{
	return SB_REPO_MODE_UNKNOWN;
}
