/*-------------------------------------------------------------------------
 *
 * backup_reuse.c
 *		Find, for each file of a differential, incremental or resumed
 *		backup, whether it can be taken from the base backup or from the
 *		interrupted attempt instead of being copied; see backup_reuse.h.
 *
 * The rule is the one of every file-level incremental backup: same size
 * and modification time as recorded means unchanged, except when the
 * recorded mtime is so recent (relative to the start of the backup that
 * recorded it) that a write in the same second could have followed the
 * copy: then the copier compares the file's checksum.  What the copier
 * finally does with a candidate is in backup_copy.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "worker/backup_reuse.h"

static int
cmp_path(const void *a, const void *b)
{
	const SbManifestFile *x = *(SbManifestFile *const *) a;
	const SbManifestFile *y = *(SbManifestFile *const *) b;

	return strcmp(x->path, y->path);
}

static SbManifestFile **
sorted_files(SbManifest *m)
{
	SbManifestFile **v;

	if (m == NULL || m->nfiles == 0)
		return NULL;
	v = palloc(sizeof(SbManifestFile *) * m->nfiles);
	for (int i = 0; i < m->nfiles; i++)
		v[i] = &m->files[i];
	qsort(v, m->nfiles, sizeof(SbManifestFile *), cmp_path);
	return v;
}

void
sb_reuse_prepare(SbReuseSources *src)
{
	src->base_sorted = sorted_files(src->base);
	src->resume_sorted = sorted_files(src->resume);
}

static const SbManifestFile *
find(SbManifest *m, SbManifestFile **sorted, const char *path)
{
	SbManifestFile key;
	SbManifestFile *keyp = &key;
	SbManifestFile **hit;

	if (sorted == NULL)
		return NULL;
	key.path = (char *) path;
	hit = bsearch(&keyp, sorted, m->nfiles, sizeof(SbManifestFile *), cmp_path);
	return hit != NULL ? *hit : NULL;
}

static void
fill(SbReuseCandidate *out, const SbManifestFile *f, int64 mtime,
	 int64 recorded_start)
{
	out->in_doubt = mtime >= recorded_start - SB_REUSE_MTIME_SLACK_S;
	memcpy(out->digest, f->digest, sizeof(out->digest));
	out->size = f->size;
	out->stored_size = f->stored_size;
	out->checksum_failures = f->checksum_failures;
}

const SbManifestFile *
sb_reuse_base_entry(const SbReuseSources *src, const char *path)
{
	return find(src->base, src->base_sorted, path);
}

void
sb_reuse_holder(const SbReuseSources *src, const SbManifestFile *be,
				char *label, int *compress)
{
	/* always the backup holding the bytes, never a chain hop */
	if (be->ref_label[0] != '\0')
	{
		strlcpy(label, be->ref_label, SB_LABEL_LEN);
		*compress = (int) be->ref_compress;
	}
	else
	{
		strlcpy(label, src->base->label, SB_LABEL_LEN);
		*compress = (int) src->base->compress_type;
	}
}

void
sb_reuse_lookup(const SbReuseSources *src, const char *path, uint64 size,
				int64 mtime, SbReuseCandidate *out)
{
	const SbManifestFile *f;

	memset(out, 0, sizeof(*out));
	f = find(src->base, src->base_sorted, path);
	if (f != NULL && f->size == size && f->mtime == mtime)
	{
		out->kind = SB_REUSE_BASE;
		fill(out, f, mtime, src->base->start_time);
		/* a block-incremental entry's checksum is not its file's: copy */
		if (out->in_doubt && sb_manifest_file_layered(f))
		{
			memset(out, 0, sizeof(*out));
			return;
		}
		sb_reuse_holder(src, f, out->ref_label, &out->ref_compress);
		return;
	}
	f = find(src->resume, src->resume_sorted, path);
	if (f != NULL && f->ref_label[0] == '\0' && f->size == size &&
		f->mtime == mtime)
	{
		out->kind = SB_REUSE_RESUME;
		fill(out, f, mtime, src->resume->start_time);
	}
}
