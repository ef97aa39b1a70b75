/*-------------------------------------------------------------------------
 *
 * restore_parts.c
 *		The list of work the restore's jobs share (restore_parallel.c):
 *		every file to restore, largest first, each large file cut into
 *		parts that several jobs write at once.
 *
 * With whole files as the unit, the restore of a large database ends with
 * one job writing the last of its large files alone while the others have
 * nothing left, and the disk does not even share its rate evenly between
 * two writers: in restores of a pgbench scale-200 backup on the project
 * machine (two 1 GB segments and two of 0.5 GB), one job wrote its 1 GB
 * segment in 1.0 s, the other its own in 1.8-2.2 s.  So a file of at least
 * two parts (below) whose stored file is in frames (seekable, read by
 * ranges: codec_range.c) and whose blocks have sums in the manifest is cut
 * where frames begin, into parts of about PART_SIZE bytes.  A part is
 * fetched by its range, checked against its blocks' sums (every byte
 * written is checked, as for a whole file) and written direct at its
 * offset, by whichever job takes it, through a descriptor of its own.  The
 * file is created, empty, before any job starts; the job that writes its
 * last part gives it its mode and modification time.  A file whose parts
 * were not all written (after a failure) is removed once every job has
 * stopped.  PART_SIZE, 64 MiB,
 * keeps what one job may be left writing alone at the end to a fraction of
 * a second, and the cost of a part (its seek table read, its ring and
 * buffers set up) small beside its writing.
 *
 * Not cut: with one job, in a delta restore (files are compared, not
 * written), block-incremental files (rebuilt from layers), files without
 * block sums, and stored files without frames (encrypted stanzas, zlib,
 * uncompressed, written before seekable files).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_sum.h"
#include "seek_table.h"

/*
 * A part's size, at least (it ends where a frame does), unless the options
 * say otherwise; files smaller than two parts are restored whole.
 */
#define PART_SIZE			((uint64_t) 64 * 1024 * 1024)

typedef struct ItemList
{
	RestoreItem *items;
	int			n;
	int			cap;
} ItemList;

static bool
add_item(ItemList *l, int file, bool part, uint64_t offset, uint64_t len)
{
	if (l->n == l->cap)
	{
		int			cap = l->cap > 0 ? l->cap * 2 : 64;
		RestoreItem *items = realloc(l->items, sizeof(RestoreItem) * (size_t) cap);

		if (items == NULL)
			return false;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n].file = file;
	l->items[l->n].part = part;
	l->items[l->n].offset = offset;
	l->items[l->n].len = len;
	l->n++;
	return true;
}

/* Largest first; parts of one file one after the other. */
static int
cmp_items(const void *a, const void *b)
{
	const RestoreItem *x = a;
	const RestoreItem *y = b;

	if (x->len != y->len)
		return x->len < y->len ? 1 : -1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file ? 1 : 0;
}

/*
 * Cut file i at the frames of its stored file into l; *nparts is 0 when it
 * is to be restored whole (no frames, or too few).
 */
static SbStatus
cut_file(Restore *r, int i, uint64_t part_size, ItemList *l, int *nparts,
		 SbError *err)
{
	const SbManifestFile *f = &r->m.files[i];
	char		repo_path[SB_PATH_MAX];
	SbCompressType ct;
	SbSeekList	frames;
	SbError		why;
	uint64_t	start = 0;
	uint64_t	pos = 0;
	int			first = l->n;
	bool		oom = false;
	SbStatus	rc;

	*nparts = 0;
	sb_manifest_file_location(r->o->stanza, &r->m, f, repo_path, &ct);
	sb_error_clear(&why);
	rc = sb_codec_seek_table(r->st, repo_path, ct, f->stored_size, f->size,
							 &frames, &why);
	if (rc == SB_ERR_NO_MEMORY)
		return sb_error_oom(err);
	/* restored whole, which reports any damage of the stored file */
	if (rc != SB_OK)
		return SB_OK;
	for (uint32_t k = 0; k < frames.n && !oom; k++)
	{
		pos += frames.e[k].plain;
		if (pos - start >= part_size && pos < f->size &&
			pos % r->m.block_size == 0)
		{
			oom = !add_item(l, i, true, start, pos - start);
			start = pos;
		}
	}
	sb_seek_list_free(&frames);
	/* the rest, unless the file was not cut at all */
	if (!oom && start > 0)
		oom = !add_item(l, i, true, start, f->size - start);
	if (oom)
	{
		l->n = first;
		return sb_error_oom(err);
	}
	*nparts = l->n - first;
	return SB_OK;
}

/* Create file i, empty, for its parts. */
static SbStatus
create_for_parts(Restore *r, int i, SbError *err)
{
	char		full[RESTORE_PATH_LEN];
	int			fd;
	SbStatus	rc;

	rc = sb_restore_join_path(full, r->target, r->m.files[i].path, err);
	if (rc == SB_OK)
		rc = sb_restore_create_file(full, &fd, err);
	if (rc == SB_OK && close(fd) != 0)
		rc = sb_error_errno(err, errno, "could not close file \"%s\"", full);
	return rc;
}

SbStatus
sb_restore_plan(Restore *r, int jobs, SbError *err)
{
	ItemList	l = {0};
	uint64_t	part_size = r->o->part_size > 0 ? r->o->part_size : PART_SIZE;
	SbStatus	rc = SB_OK;

	r->order = NULL;
	r->norder = 0;
	r->parts_left = NULL;
	for (int i = 0; i < r->m.nfiles && rc == SB_OK; i++)
	{
		const SbManifestFile *f = &r->m.files[i];
		int			nparts = 0;

		if (sb_restore_file_skipped(r, f->path))
			continue;
		if (jobs > 1 && !r->delta && f->size >= 2 * part_size &&
			!sb_manifest_file_layered(f) && sb_restore_can_check_blocks(r, f))
		{
			if (r->parts_left == NULL &&
				(r->parts_left = calloc((size_t) r->m.nfiles, sizeof(int))) == NULL)
				rc = sb_error_oom(err);
			if (rc == SB_OK)
				rc = cut_file(r, i, part_size, &l, &nparts, err);
			if (rc == SB_OK && nparts > 0)
			{
				rc = create_for_parts(r, i, err);
				if (rc == SB_OK)
				{
					r->parts_left[i] = nparts;
					r->result->files_in_parts++;
					r->result->file_parts += nparts;
				}
			}
		}
		if (rc == SB_OK && nparts == 0 && !add_item(&l, i, false, 0, f->size))
			rc = sb_error_oom(err);
	}
	r->order = l.items;
	r->norder = rc == SB_OK ? l.n : 0;
	if (rc == SB_OK && l.n > 1)
		qsort(r->order, (size_t) l.n, sizeof(RestoreItem), cmp_items);
	return rc;
}

SbStatus
sb_restore_one_part(Restore *r, SbStorage *st, const RestoreItem *it,
					bool *file_done, SbError *err)
{
	const SbManifestFile *f = &r->m.files[it->file];
	uint32_t	bs = r->m.block_size;
	char		full[RESTORE_PATH_LEN];
	char		repo_path[SB_PATH_MAX];
	SbCompressType ct;
	SbFilter   *sink;
	SbFilter   *check = NULL;
	SbFilter   *pf;
	uint64_t	got = 0;
	bool		last;
	SbStatus	rc;
	int			fd;

	*file_done = false;
	rc = sb_restore_join_path(full, r->target, f->path, err);
	if (rc != SB_OK)
		return rc;
	fd = open(full, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open file \"%s\"", full);
	/*
	 * A failed part leaves the file to sb_restore_plan_end, which removes it
	 * once every job has stopped: removed now, another job could still try
	 * to open it and report that instead of this part's error.
	 */
	if (lseek(fd, (off_t) it->offset, SEEK_SET) < 0)
	{
		rc = sb_error_errno(err, errno, "could not seek in file \"%s\"", full);
		close(fd);
		return rc;
	}
	sb_manifest_file_location(r->o->stanza, &r->m, f, repo_path, &ct);
	sink = sb_restore_writer_new(fd, it->len);
	if (sink != NULL)
		check = sb_restore_block_check_range_new(r, f, repo_path,
												 it->offset / bs,
												 sb_block_count(it->offset + it->len, bs) -
												 it->offset / bs,
												 sink, err);
	pf = sb_restore_front_new(r, it->len, sink, true, check, fd, NULL, err);
	if (pf == NULL)
		return err->status;
	rc = sb_codec_fetch_range(st, repo_path, ct, f->stored_size, f->size,
							  it->offset, it->len, pf, &got, err);
	/* cut at frames when planned: anything else is not the same file */
	if (rc == SB_OK && got != it->offset)
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "seek table of repository file \"%s\" changed during the restore",
						  repo_path);
	if (rc != SB_OK)
		sb_restore_file_error(r, f, full, sb_restore_progress_write_failed(pf),
							  err);
	sb_filter_free_chain(pf);

	pthread_mutex_lock(&r->lock);
	last = rc == SB_OK && --r->parts_left[it->file] == 0;
	pthread_mutex_unlock(&r->lock);
	if (last)
	{
		rc = sb_restore_finish_file(f, fd, full, SB_OK, err);
		*file_done = rc == SB_OK;
		return rc;
	}
	/* after a failure the other parts stop at their next buffer (r->failed) */
	close(fd);
	return rc;
}

void
sb_restore_plan_end(Restore *r)
{
	char		full[RESTORE_PATH_LEN];
	SbError		ignored;

	if (r->parts_left == NULL)
		return;
	for (int i = 0; i < r->m.nfiles; i++)
		if (r->parts_left[i] > 0 &&
			sb_restore_join_path(full, r->target, r->m.files[i].path,
								 &ignored) == SB_OK)
			(void) unlink(full);
	free(r->parts_left);
	r->parts_left = NULL;
}
