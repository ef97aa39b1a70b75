/*-------------------------------------------------------------------------
 *
 * restore_layers.c
 *		Restore a block-incremental file: rebuild it from the layers the
 *		chain of backups holds for it (manifest_layers.c) and check the
 *		result against the final manifest's block sums.
 *
 * The first layer is the whole file as a backup of the chain stored it;
 * each later one holds some chunk_size chunks (pages), which are written over the
 * file at their offsets, oldest first, so every chunk ends up as the
 * newest backup that read it saw it; then the file is cut to the size the
 * manifest records.  Each layer is verified as it is fetched (its SHA-256
 * and size); the rebuilt file is then read back and every chunk compared
 * with the manifest's block sums, so a layer put in the wrong place, a
 * missing one or a stale sum fails the restore instead of leaving a wrong
 * file.  A delta restore rebuilds the file the same way over the local
 * copy.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A sink writing a layer's bytes at the offsets of its chunks. */
typedef struct LayerSink
{
	SbFilter	base;
	Restore    *r;
	int			fd;
	const char *path;			/* local, for messages */
	const uint32_t *chunks;		/* NULL: the whole file, from offset 0 */
	uint32_t	nchunks;
	uint32_t	block_size;
	uint64_t	pos;			/* bytes of the layer so far */
} LayerSink;

static SbStatus
layer_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	LayerSink  *s = (LayerSink *) f;

	if (sb_restore_failed(s->r))
		return sb_error_set(err, SB_ERR_INTERNAL, "restore stopped");
	while (len > 0)
	{
		uint64_t	off = s->pos;
		size_t		n = len;
		SbStatus	rc;

		if (s->chunks != NULL)
		{
			uint64_t	k = s->pos / s->block_size;
			uint64_t	in = s->pos % s->block_size;

			if (k >= s->nchunks)
				return sb_error_set(err, SB_ERR_CORRUPT,
									"content is larger than the chunks recorded in the manifest");
			off = (uint64_t) s->chunks[k] * s->block_size + in;
			if (n > s->block_size - in)
				n = (size_t) (s->block_size - in);
		}
		rc = sb_write_at(s->fd, s->path, buf, n, off, err);
		if (rc != SB_OK)
			return rc;
		s->pos += n;
		buf += n;
		len -= n;
	}
	return SB_OK;
}

static SbStatus
layer_finish(SbFilter *f, SbError *err)
{
	return SB_OK;
}

static void
layer_free(SbFilter *f)
{
	free(f);
}

/* Fetch one layer (verified against sha256 and size) into its place. */
static SbStatus
write_layer(Restore *r, SbStorage *st, const SbManifestFile *f, int fd,
			const char *full, const char *repo_path, SbCompressType ct,
			const uint32_t *chunks, uint32_t nchunks, uint64_t size,
			const char *sha256, SbError *err)
{
	LayerSink  *s = calloc(1, sizeof(LayerSink));
	SbStatus	rc;

	if (s == NULL)
		return sb_error_oom(err);
	s->base.write = layer_write;
	s->base.finish = layer_finish;
	s->base.free = layer_free;
	s->r = r;
	s->fd = fd;
	s->path = full;
	s->chunks = nchunks > 0 ? chunks : NULL;
	s->nchunks = nchunks;
	s->block_size = r->m.chunk_size;
	rc = sb_codec_fetch(st, repo_path, ct, &s->base, sha256, size, NULL, err);
	sb_filter_free_chain(&s->base);
	if (rc != SB_OK)
		sb_restore_file_error(r, f, full, rc != SB_ERR_CORRUPT &&
							  err->sys_errno != 0, err);
	return rc;
}

SbStatus
sb_restore_layers(Restore *r, SbStorage *st, const SbManifestFile *f, int fd,
				  const char *full, SbError *err)
{
	char		repo_path[SB_PATH_MAX];
	SbCompressType ct;
	SbStatus	rc = SB_OK;
	bool		match;

	for (int k = 0; k < f->nparts && rc == SB_OK; k++)
	{
		const SbManifestPart *p = &f->parts[k];

		sb_manifest_part_location(r->o->stanza, f, p, repo_path);
		rc = write_layer(r, st, f, fd, full, repo_path, p->compress,
						 p->chunks, p->nchunks, p->size, p->digest, err);
	}
	if (rc != SB_OK)
		return rc;
	/* the newest layer: this entry's own content, here or referenced */
	sb_manifest_file_location(r->o->stanza, &r->m, f, repo_path, &ct);
	rc = write_layer(r, st, f, fd, full, repo_path, ct, f->chunks, f->nchunks,
					 f->chunks_size, f->digest, err);
	if (rc != SB_OK)
		return rc;
	if (ftruncate(fd, (off_t) f->size) != 0)
		return sb_error_errno(err, errno, "could not truncate file \"%s\"", full);

	rc = sb_restore_blocks_match(r, fd, full, f, &match, err);
	if (rc != SB_OK)
		return rc;
	if (!match)
	{
		sb_error_set(err, SB_ERR_CORRUPT,
					 "file \"%s\" of backup \"%s\" does not match its block sums once rebuilt",
					 f->path, r->m.label);
		sb_error_detail(err, "The backup stores the file by its changed blocks, laid over older copies in its chain.");
		sb_error_hint(err, "This backup cannot be restored as it is: restore another backup, and check the repository with \"pg_safebackup verify\".");
		return SB_ERR_CORRUPT;
	}

	pthread_mutex_lock(&r->lock);
	r->bytes_done += f->size;
	if (r->result != NULL)
	{
		r->result->bytes = r->bytes_done;
		r->result->files_rebuilt++;
	}
	sb_restore_report_progress(r, false);
	pthread_mutex_unlock(&r->lock);
	return SB_OK;
}
