/*-------------------------------------------------------------------------
 *
 * verify.c
 *		Verify backups: choose them, re-read every file of each through the
 *		codec and compare it with the manifest, then let verify_wal.c check
 *		their WAL, and report each backup; see verify.h.
 *
 * Each stored file is checked in two steps: its stored size against the
 * manifest's (missing or truncated files are told apart from damaged
 * ones without reading them), then its content, decoded by the codec
 * pipeline (decompression, later decryption) into a counting sink, against
 * the manifest's size and SHA-256.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "verify_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backup_chain.h"
#include "codec.h"

void
sb_verify_problem(SbVerifyBackup *b, const char *fmt,...)
{
	char		buf[SB_ERROR_MSG_LEN + 256];
	va_list		ap;
	char	  **p;

	b->ok = false;
	b->nproblems++;
	if (b->nlisted >= SB_VERIFY_MAX_LISTED)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p = realloc(b->problems, sizeof(char *) * (size_t) (b->nlisted + 1));
	if (p == NULL)
		return;					/* still counted */
	b->problems = p;
	if ((p[b->nlisted] = strdup(buf)) != NULL)
		b->nlisted++;
}

bool
sb_verify_interrupted(const SbVerifyOptions *o, SbError *err)
{
	if (o->interrupted == NULL || !o->interrupted(o->interrupt_arg))
		return false;
	sb_error_set(err, SB_ERR_INTERNAL, "verify was interrupted");
	return true;
}

/* One stored object (a file or a layer of one) against what the manifest says. */
static SbStatus
verify_object(SbStorage *st, const char *path, SbCompressType ct,
			  const SbManifestFile *f, uint64_t size, const char *sha256,
			  uint64_t stored_size, SbVerifyBackup *b, SbError *err)
{
	SbStat		sst;
	SbStoreResult res;
	SbFilter   *sink;
	SbError		ferr;
	SbStatus	rc;

	sb_error_clear(&ferr);
	rc = sb_storage_stat(st, path, &sst, &ferr);
	if (rc == SB_ERR_NOT_FOUND || (rc == SB_OK && sst.is_dir))
	{
		sb_verify_problem(b, "missing file %s", f->path);
		return SB_OK;
	}
	if (rc != SB_OK)
	{
		sb_verify_problem(b, "could not check file %s: %s", f->path, ferr.msg);
		return SB_OK;
	}
	if (sst.size < stored_size)
	{
		sb_verify_problem(b, "truncated file %s: %" PRIu64 " of %" PRIu64 " stored bytes",
						  f->path, sst.size, stored_size);
		return SB_OK;
	}
	if (sst.size > stored_size)
	{
		sb_verify_problem(b, "size mismatch in %s: stored file has %" PRIu64 " bytes, the manifest says %" PRIu64,
						  f->path, sst.size, stored_size);
		return SB_OK;
	}

	sink = sb_filter_count_new(NULL);
	if (sink == NULL)
		return sb_error_oom(err);
	memset(&res, 0, sizeof(res));
	/* the manifest's digest names its kind; its size and value are compared below */
	rc = sb_codec_fetch(st, path, ct, sink, sha256, UINT64_MAX, &res, &ferr);
	sb_filter_free_chain(sink);
	if (rc == SB_ERR_CORRUPT && res.digest[0] != '\0')
		rc = SB_OK;				/* decoded whole: only the digest differs */
	if (rc == SB_ERR_CORRUPT)
		sb_verify_problem(b, "checksum mismatch in %s: %s", f->path, ferr.msg);
	else if (rc == SB_ERR_NOT_FOUND)
		sb_verify_problem(b, "missing file %s", f->path);
	else if (rc != SB_OK)
		sb_verify_problem(b, "could not read file %s: %s", f->path, ferr.msg);
	else if (res.plain_size != size)
		sb_verify_problem(b, "size mismatch in %s: content has %" PRIu64 " bytes, the manifest says %" PRIu64,
						  f->path, res.plain_size, size);
	else if (strcasecmp(res.digest, sha256) != 0)
		sb_verify_problem(b, "checksum mismatch in %s: digest %s, the manifest says %s",
						  f->path, res.digest, sha256);
	if (rc == SB_OK)
	{
		b->files_checked++;
		b->bytes_checked += res.plain_size;
	}
	return SB_OK;
}

/*
 * One file against its manifest entry: its stored content and, for a
 * block-incremental file, every layer it is rebuilt from.
 */
static SbStatus
verify_file(SbStorage *st, const SbVerifyOptions *o, const SbManifest *m,
			const SbManifestFile *f, SbVerifyBackup *b, SbError *err)
{
	char		path[SB_PATH_MAX];
	SbCompressType ct;
	SbStatus	rc;

	/* a referenced file is checked where it is stored, in the chain */
	sb_manifest_file_location(o->stanza, m, f, path, &ct);
	rc = verify_object(st, path, ct, f,
					   sb_manifest_file_layered(f) ? f->chunks_size : f->size,
					   f->digest, f->stored_size, b, err);
	for (int k = 0; k < f->nparts && rc == SB_OK; k++)
	{
		const SbManifestPart *p = &f->parts[k];

		sb_manifest_part_location(o->stanza, f, p, path);
		rc = verify_object(st, path, p->compress, f, p->size, p->digest,
						   p->stored_size, b, err);
	}
	return rc;
}

static SbStatus
verify_backup_files(SbStorage *st, const SbVerifyOptions *o, VerifyBackup *vb,
					SbError *err)
{
	SbManifest	m;
	SbError		merr;
	SbStatus	rc = SB_OK;

	sb_error_clear(&merr);
	if (sb_manifest_load_flags(st, o->stanza, vb->r.label, &m,
							   SB_MANIFEST_SKIP_SUMS, &merr) != SB_OK)
	{
		sb_verify_problem(&vb->r, "unreadable manifest: %s", merr.msg);
		return SB_OK;
	}
	vb->have_manifest = true;
	vb->timeline = m.timeline;
	snprintf(vb->start_lsn, sizeof(vb->start_lsn), "%s", m.start_lsn);
	snprintf(vb->start_wal, sizeof(vb->start_wal), "%s", m.start_wal);
	snprintf(vb->stop_wal, sizeof(vb->stop_wal), "%s", m.stop_wal);
	if (sb_backup_chain_check(st, o->stanza, &m, &merr) != SB_OK)
		sb_verify_problem(&vb->r, "broken chain: %s", merr.msg);
	for (int i = 0; i < m.nfiles && rc == SB_OK; i++)
	{
		if (sb_verify_interrupted(o, err))
			rc = err->status;
		else
			rc = verify_file(st, o, &m, &m.files[i], &vb->r, err);
	}
	sb_manifest_free(&m);
	return rc;
}

/* The one backup asked for: an error says whether it is absent or incomplete. */
static SbStatus
find_label(SbStorage *st, const SbVerifyOptions *o, char **labels, int n,
		   int *idx, SbError *err)
{
	char		dir[SB_PATH_MAX];
	SbStat		sst;

	for (int i = 0; i < n; i++)
		if (strcmp(labels[i], o->label) == 0)
		{
			*idx = i;
			return SB_OK;
		}
	if (!sb_path_valid(o->label) || strchr(o->label, '/') != NULL)
		return sb_error_set(err, SB_ERR_CONFIG, "invalid backup label \"%s\"", o->label);
	sb_backup_dir(o->stanza, o->label, dir);
	if (sb_storage_stat(st, dir, &sst, err) == SB_OK)
	{
		sb_error_set(err, SB_ERR_NOT_FOUND, "backup \"%s\" is incomplete: it has no manifest", o->label);
		sb_error_hint(err, "It was interrupted or is still running; expire removes the leftovers of interrupted backups.");
		return SB_ERR_NOT_FOUND;
	}
	sb_error_set(err, SB_ERR_NOT_FOUND, "backup \"%s\" does not exist", o->label);
	sb_error_hint(err, "List the backups with \"pg_safebackup info\" or the view safebackup.backups.");
	return SB_ERR_NOT_FOUND;
}

SbStatus
sb_verify(SbStorage *st, const SbVerifyOptions *o, int *nchecked, int *nbad,
		  SbError *err)
{
	char	  **labels = NULL;
	int			nlabels = 0;
	VerifyBackup *vb = NULL;
	int			nvb = 0;
	SbStatus	rc;
	int			i;

	*nchecked = 0;
	*nbad = 0;
	rc = sb_backup_list(st, o->stanza, &labels, &nlabels, err);
	if (rc != SB_OK)
		return rc;
	if (o->label != NULL && o->label[0] != '\0')
	{
		int			idx;

		rc = find_label(st, o, labels, nlabels, &idx, err);
		if (rc == SB_OK)
		{
			vb = calloc(1, sizeof(VerifyBackup));
			if (vb == NULL)
				rc = sb_error_oom(err);
			else
			{
				snprintf(vb[0].r.label, SB_LABEL_LEN, "%s", labels[idx]);
				nvb = 1;
			}
		}
	}
	else if (nlabels > 0)
	{
		vb = calloc((size_t) nlabels, sizeof(VerifyBackup));
		if (vb == NULL)
			rc = sb_error_oom(err);
		for (i = 0; i < nlabels && rc == SB_OK; i++)
			snprintf(vb[i].r.label, SB_LABEL_LEN, "%s", labels[i]);
		if (rc == SB_OK)
			nvb = nlabels;
	}
	sb_backup_list_free(labels, nlabels);

	for (i = 0; i < nvb; i++)
		vb[i].r.ok = true;
	for (i = 0; i < nvb && rc == SB_OK; i++)
		rc = verify_backup_files(st, o, &vb[i], err);
	if (rc == SB_OK && nvb > 0)
		rc = sb_verify_wal(st, o, vb, nvb, err);

	for (i = 0; i < nvb; i++)
	{
		if (rc == SB_OK)
		{
			(*nchecked)++;
			if (!vb[i].r.ok)
				(*nbad)++;
			if (o->report)
				o->report(&vb[i].r, o->report_arg);
		}
		sb_backup_list_free(vb[i].r.problems, vb[i].r.nlisted);
		free(vb[i].spans);
	}
	free(vb);
	return rc;
}
