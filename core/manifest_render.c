/*-------------------------------------------------------------------------
 *
 * manifest_render.c
 *		Writing a manifest's text form (manifest.h), in memory or straight
 *		into the codec pipeline.
 *
 * A manifest's block sums take 16 hex digits per 128 kB block: 128 MB of
 * text for a 1 TB cluster.  sb_manifest_store therefore renders into a
 * buffer that is handed to the pipeline (and to the SHA-256 of the
 * checksum line) whenever it holds RENDER_FLUSH bytes, reading the sums
 * from the manifest's store a batch at a time; sb_manifest_render keeps
 * the whole text, for tests and small manifests.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "manifest.h"
#include "manifest_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_FLUSH		((size_t) 1024 * 1024)
#define SUMS_BATCH			4096

typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	SbFilter   *out;			/* where full buffers go; NULL: kept */
	SbFilter   *sha;			/* of what went to out */
	SbStatus	rc;				/* the first failure (data then freed) */
	SbError    *err;
} StrBuf;

static void
buf_fail(StrBuf *b, SbStatus rc)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->rc = rc;
}

/* Room for n more bytes and a NUL. */
static bool
buf_reserve(StrBuf *b, size_t n)
{
	size_t		newcap;
	char	   *p;

	if (b->rc != SB_OK)
		return false;
	if (b->cap - b->len > n)
		return true;
	newcap = b->cap > 0 ? b->cap : 4096;
	while (newcap - b->len <= n)
	{
		if (newcap > SIZE_MAX / 2)
		{
			buf_fail(b, sb_error_oom(b->err));
			return false;
		}
		newcap *= 2;
	}
	p = realloc(b->data, newcap);
	if (p == NULL)
	{
		buf_fail(b, sb_error_oom(b->err));
		return false;
	}
	b->data = p;
	b->cap = newcap;
	return true;
}

/* Pass what the buffer holds on, when it goes somewhere and holds enough. */
static void
buf_flush(StrBuf *b, bool force)
{
	SbStatus	rc;

	if (b->rc != SB_OK || b->out == NULL || b->len == 0 ||
		(!force && b->len < RENDER_FLUSH))
		return;
	rc = sb_filter_write(b->sha, b->data, b->len, b->err);
	if (rc == SB_OK)
		rc = sb_filter_write(b->out, b->data, b->len, b->err);
	if (rc != SB_OK)
	{
		buf_fail(b, rc);
		return;
	}
	b->len = 0;
}

static void
buf_printf(StrBuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(StrBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		if (b->rc == SB_OK)
			buf_fail(b, sb_error_set(b->err, SB_ERR_INTERNAL,
									 "could not format a manifest line"));
		return;
	}
	if (!buf_reserve(b, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	buf_flush(b, false);
}

/* blocks=<path>\t<16 hex digits per block>, for a file that has sums */
static void
render_block_sums(StrBuf *b, const SbManifest *m, const SbManifestFile *f)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t	sums[SUMS_BATCH];

	if (f->nblocks == 0 || b->rc != SB_OK)
		return;
	buf_printf(b, "%s=%s\t", BLOCKS_KEY, f->path);
	for (uint64_t k = 0; k < f->nblocks && b->rc == SB_OK;)
	{
		uint64_t	n = f->nblocks - k < SUMS_BATCH ? f->nblocks - k : SUMS_BATCH;
		SbStatus	rc;

		rc = sb_sum_store_read(&m->sums, f->sums_at + k, n, sums, b->err);
		if (rc != SB_OK)
		{
			buf_fail(b, rc);
			return;
		}
		if (!buf_reserve(b, (size_t) n * SB_BLOCK_SUM_HEX_LEN + 1))
			return;
		for (uint64_t j = 0; j < n; j++)
		{
			uint64_t	v = sums[j];

			for (int d = SB_BLOCK_SUM_HEX_LEN - 1; d >= 0; d--)
			{
				b->data[b->len + d] = digits[v & 0xf];
				v >>= 4;
			}
			b->len += SB_BLOCK_SUM_HEX_LEN;
		}
		k += n;
		if (k == f->nblocks)
			b->data[b->len++] = '\n';
		b->data[b->len] = '\0';
		buf_flush(b, false);
	}
}

/* chunks= and part= records of a block-incremental file */
static void
render_layers(StrBuf *b, const SbManifestFile *f)
{
	char	   *list;

	if (!sb_manifest_file_layered(f) || b->rc != SB_OK)
		return;
	list = sb_chunk_list_text(f->chunks, f->nchunks);
	if (list == NULL)
	{
		buf_fail(b, sb_error_oom(b->err));
		return;
	}
	buf_printf(b, "%s=%s\t%" PRIu64 "\t%s\n", CHUNKS_KEY, f->path,
			   f->chunks_size, list);
	free(list);
	for (int k = 0; k < f->nparts && b->rc == SB_OK; k++)
	{
		const SbManifestPart *p = &f->parts[k];

		list = p->nchunks > 0 ? sb_chunk_list_text(p->chunks, p->nchunks) : NULL;
		if (p->nchunks > 0 && list == NULL)
		{
			buf_fail(b, sb_error_oom(b->err));
			return;
		}
		buf_printf(b, "%s=%s\t%s\t%s\t%" PRIu64 "\t%s\t%" PRIu64 "\t%s\n",
				   PART_KEY, f->path, p->label,
				   sb_compress_type_name(p->compress), p->size, p->digest,
				   p->stored_size, list != NULL ? list : "*");
		free(list);
	}
}

/* Every line but the checksum's. */
static void
render_body(StrBuf *b, const SbManifest *m)
{
	int			i;
	bool		chained = m->base[0] != '\0';
	bool		layered = false;

	for (i = 0; i < m->nfiles; i++)
	{
		chained |= m->files[i].ref_label[0] != '\0';
		layered |= sb_manifest_file_layered(&m->files[i]);
	}

	buf_printf(b, "%s\n", MANIFEST_MAGIC);
	/* older readers must refuse what they would restore incompletely */
	buf_printf(b, "format_version=%d\n",
			   layered ? MANIFEST_FORMAT_VERSION :
			   chained ? MANIFEST_FORMAT_CHAINED : m->format_version);
	buf_printf(b, "label=%s\n", m->label);
	buf_printf(b, "type=%s\n", m->type);
	if (m->base[0] != '\0')
		buf_printf(b, "%s=%s\n", BASE_KEY, m->base);
	buf_printf(b, "start_lsn=%s\n", m->start_lsn);
	buf_printf(b, "stop_lsn=%s\n", m->stop_lsn);
	buf_printf(b, "start_wal=%s\n", m->start_wal);
	buf_printf(b, "stop_wal=%s\n", m->stop_wal);
	buf_printf(b, "timeline=%u\n", m->timeline);
	if (m->stop_timeline != 0)
		buf_printf(b, "stop_timeline=%u\n", m->stop_timeline);
	if (m->backup_from[0] != '\0')
		buf_printf(b, "backup_from=%s\n", m->backup_from);
	buf_printf(b, "start_time=%" PRId64 "\n", m->start_time);
	buf_printf(b, "stop_time=%" PRId64 "\n", m->stop_time);
	buf_printf(b, "system_identifier=%" PRIu64 "\n", m->system_identifier);
	buf_printf(b, "pg_version=%d\n", m->pg_version);
	buf_printf(b, "compress_type=%s\n", sb_compress_type_name(m->compress_type));
	buf_printf(b, "database_size=%" PRIu64 "\n", m->database_size);
	buf_printf(b, "stored_size=%" PRIu64 "\n", m->stored_size);
	if (m->checksums_verified)
		buf_printf(b, "%s=%" PRIu64 "\n", CHECKSUM_FAILURES_KEY,
				   m->checksum_failures);
	if (m->block_size > 0)
		buf_printf(b, "%s=%u\n", BLOCK_SIZE_KEY, (unsigned int) m->block_size);
	if (layered)
		buf_printf(b, "%s=%u\n", CHUNK_SIZE_KEY, (unsigned int) m->chunk_size);
	if (m->resumed_files > 0)
		buf_printf(b, "%s=%" PRIu64 "\n", RESUMED_KEY, m->resumed_files);
	if (m->read_size > 0)
		buf_printf(b, "%s=%" PRIu64 "\n", READ_SIZE_KEY, m->read_size);
	if (m->block_incremental_files > 0)
		buf_printf(b, "%s=%" PRIu64 "\n", BLOCK_FILES_KEY,
				   m->block_incremental_files);

	for (i = 0; i < m->ntablespaces; i++)
		buf_printf(b, "tablespace=%u\t%s\n", m->tablespaces[i].oid,
				   m->tablespaces[i].path);
	for (i = 0; i < m->ndirs; i++)
		buf_printf(b, "dir=%s\t%04o\n", m->dirs[i].path, m->dirs[i].mode);
	for (i = 0; i < m->nfiles; i++)
	{
		const SbManifestFile *f = &m->files[i];

		buf_printf(b, "file=%s\t%" PRIu64 "\t%" PRId64 "\t%04o\t%s\t%" PRIu64 "\n",
				   f->path, f->size, f->mtime, f->mode, f->digest,
				   f->stored_size);
	}
	for (i = 0; i < m->nfiles; i++)
	{
		const SbManifestFile *f = &m->files[i];

		if (f->checksum_failures > 0)
			buf_printf(b, "%s=%s\t%u\n", PAGE_FAILURES_KEY, f->path,
					   (unsigned int) f->checksum_failures);
	}
	if (m->block_size > 0)
		for (i = 0; i < m->nfiles; i++)
			render_block_sums(b, m, &m->files[i]);
	for (i = 0; i < m->nfiles; i++)
	{
		const SbManifestFile *f = &m->files[i];

		if (f->ref_label[0] != '\0')
			buf_printf(b, "%s=%s\t%s\t%s\n", REF_KEY, f->path, f->ref_label,
					   sb_compress_type_name(f->ref_compress));
	}
	for (i = 0; i < m->nfiles; i++)
		render_layers(b, &m->files[i]);
}

char *
sb_manifest_render(const SbManifest *m, size_t *len)
{
	StrBuf		b;
	SbError		err;
	char		hex[SB_SHA256_HEX_LEN + 1];

	memset(&b, 0, sizeof(b));
	b.err = &err;
	render_body(&b, m);
	if (b.rc != SB_OK)
		return NULL;
	sb_sha256_hex(b.data, b.len, hex);
	buf_printf(&b, "%s%s\n", MANIFEST_CHECKSUM_KEY, hex);
	if (b.rc != SB_OK)
		return NULL;
	*len = b.len;
	return b.data;
}

typedef struct RenderArg
{
	const SbManifest *m;
} RenderArg;

static SbStatus
produce_manifest(void *arg, SbFilter *into, SbError *err)
{
	const SbManifest *m = ((RenderArg *) arg)->m;
	StrBuf		b;
	char		hex[SB_SHA256_HEX_LEN + 1];

	memset(&b, 0, sizeof(b));
	b.err = err;
	b.out = into;
	b.sha = sb_filter_digest_new(NULL);
	if (b.sha == NULL)
		return sb_error_oom(err);
	render_body(&b, m);
	buf_flush(&b, true);
	if (b.rc == SB_OK)
	{
		b.rc = sb_filter_finish(b.sha, err);
		if (b.rc == SB_OK)
		{
			sb_filter_digest_hex(b.sha, hex);
			/* the checksum line is not part of what it sums */
			b.out = NULL;
			buf_printf(&b, "%s%s\n", MANIFEST_CHECKSUM_KEY, hex);
			if (b.rc == SB_OK)
				b.rc = sb_filter_write(into, b.data, b.len, err);
		}
	}
	free(b.data);
	sb_filter_free_chain(b.sha);
	return b.rc;
}

SbStatus
sb_manifest_store(SbStorage *st, const SbRepoConfig *cfg, const SbManifest *m,
				  const char *path, int flags, SbError *err)
{
	RenderArg	a = {m};

	return sb_codec_store_produced(st, cfg, path, flags, produce_manifest, &a,
								   NULL, err);
}
