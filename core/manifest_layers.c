/*-------------------------------------------------------------------------
 *
 * manifest_layers.c
 *		Block-incremental files in a manifest: a file a backup stored only
 *		by the chunks (pages) that changed since its base, laid over the
 *		layers the chain holds for it (manifest.h, "chunks" and "part").
 *
 * A backup that read only the changed chunks of a file stores them, in
 * order, as the file's content (data/<path>); its manifest entry lists
 * them ("chunks") and every older layer the file is rebuilt from ("part"
 * records: the whole file some backup of the chain stored, then the
 * chunks later backups stored), so a restore needs no other manifest.
 * Every layer is named by the backup holding it, one of the chain, like a
 * "ref".  The entry's block sums describe the rebuilt file; a restore
 * checks it against them.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sb_manifest_part_location(const char *stanza, const SbManifestFile *f,
						  const SbManifestPart *p, char *out)
{
	sb_backup_file_path(stanza, p->label, f->path, p->compress, out);
}

char *
sb_chunk_list_text(const uint32_t *chunks, uint32_t n)
{
	/* at most "4294967295-4294967295," per range */
	size_t		cap = (size_t) n * 22 + 2;
	char	   *s = malloc(cap);
	size_t		len = 0;
	uint32_t	i = 0;

	if (s == NULL)
		return NULL;
	s[0] = '\0';
	while (i < n)
	{
		uint32_t	j = i;

		while (j + 1 < n && chunks[j + 1] == chunks[j] + 1)
			j++;
		if (j == i)
			len += (size_t) snprintf(s + len, cap - len, "%s%" PRIu32,
									 len > 0 ? "," : "", chunks[i]);
		else
			len += (size_t) snprintf(s + len, cap - len, "%s%" PRIu32 "-%" PRIu32,
									 len > 0 ? "," : "", chunks[i], chunks[j]);
		i = j + 1;
	}
	return s;
}


bool
sb_chunk_list_parse(const char *s, uint32_t limit, uint32_t **chunks,
					uint32_t *n)
{
	uint32_t   *v = NULL;
	uint32_t	cnt = 0;
	uint32_t	cap = 0;
	const char *p = s;
	bool		ok = true;

	*chunks = NULL;
	*n = 0;
	while (ok && *p != '\0')
	{
		uint32_t	a,
					b;

		if (cnt > 0 && *p++ != ',')
		{
			ok = false;
			break;
		}
		if (!sb_parse_u32(&p, &a))
		{
			ok = false;
			break;
		}
		b = a;
		if (*p == '-' && (p++, !sb_parse_u32(&p, &b)))
			ok = false;
		/* ascending, without repeats, inside the file */
		if (!ok || b < a || b >= limit || (cnt > 0 && a <= v[cnt - 1]))
		{
			ok = false;
			break;
		}
		for (uint64_t c = a; c <= b && ok; c++)
		{
			if (cnt == cap)
			{
				uint32_t	newcap = cap > 0 ? cap * 2 : 64;
				uint32_t   *nv = realloc(v, sizeof(uint32_t) * newcap);

				if (nv == NULL)
				{
					ok = false;
					break;
				}
				v = nv;
				cap = newcap;
			}
			v[cnt++] = (uint32_t) c;
		}
	}
	if (!ok || cnt == 0)
	{
		free(v);
		return false;
	}
	*chunks = v;
	*n = cnt;
	return true;
}

static uint32_t *
copy_chunks(const uint32_t *chunks, uint32_t n)
{
	uint32_t   *c;

	if (n == 0)
		return NULL;
	c = malloc(sizeof(uint32_t) * n);
	if (c != NULL)
		memcpy(c, chunks, sizeof(uint32_t) * n);
	return c;
}

/* Append a copy of p to f's parts. */
static bool
add_part(SbManifestFile *f, const SbManifestPart *p)
{
	SbManifestPart *v = realloc(f->parts, sizeof(SbManifestPart) * (size_t) (f->nparts + 1));
	SbManifestPart *dst;

	if (v == NULL)
		return false;
	f->parts = v;
	dst = &f->parts[f->nparts];
	*dst = *p;
	dst->chunks = NULL;
	if (p->nchunks > 0 && (dst->chunks = copy_chunks(p->chunks, p->nchunks)) == NULL)
		return false;
	f->nparts++;
	return true;
}

bool
sb_manifest_file_copy_layers(SbManifestFile *dst, const SbManifestFile *src)
{
	dst->chunks = NULL;
	dst->parts = NULL;
	dst->nparts = 0;
	if (src->nchunks > 0 &&
		(dst->chunks = copy_chunks(src->chunks, src->nchunks)) == NULL)
		return false;
	for (int i = 0; i < src->nparts; i++)
		if (!add_part(dst, &src->parts[i]))
		{
			sb_manifest_file_free_layers(dst);
			return false;
		}
	return true;
}

void
sb_manifest_file_free_layers(SbManifestFile *f)
{
	for (int i = 0; i < f->nparts; i++)
		free(f->parts[i].chunks);
	free(f->parts);
	free(f->chunks);
	f->parts = NULL;
	f->nparts = 0;
	f->chunks = NULL;
	f->nchunks = 0;
}

bool
sb_manifest_inherit_parts(SbManifestFile *dst, const SbManifest *base,
						  const SbManifestFile *be)
{
	SbManifestPart own;

	for (int i = 0; i < be->nparts; i++)
		if (!add_part(dst, &be->parts[i]))
			return false;
	/* then what be itself stands for: the whole file or its chunks */
	memset(&own, 0, sizeof(own));
	if (be->ref_label[0] != '\0')
	{
		snprintf(own.label, sizeof(own.label), "%s", be->ref_label);
		own.compress = be->ref_compress;
	}
	else
	{
		snprintf(own.label, sizeof(own.label), "%s", base->label);
		own.compress = base->compress_type;
	}
	own.size = be->nchunks > 0 ? be->chunks_size : be->size;
	memcpy(own.digest, be->digest, sizeof(own.digest));
	own.stored_size = be->stored_size;
	own.nchunks = be->nchunks;
	own.chunks = be->chunks;
	return add_part(dst, &own);
}
