/*-------------------------------------------------------------------------
 *
 * restore_prefetch.c
 *		Ask the repository for the files the restore's jobs will take
 *		next, while they work on the ones before.
 *
 * A data directory is mostly small files (a pgbench scale-50 cluster: 977
 * of its 979 files under 1 MiB), and each one's repository file is read
 * by a job that then waits for the disk, file after file: with the page
 * cache dropped, 0.39 s of a 1 s restore's job time was spent waiting for
 * those reads.  One thread walks the restore's list (restore_parallel.c)
 * up to PREFETCH_AHEAD files past the next one a job takes (or, where
 * there is a small files' job, the next one it takes, from the other end)
 * and hands each
 * file of at most PREFETCH_MAX_SIZE bytes to the storage's prefetch
 * (posix: posix_fadvise WILLNEED, which starts the reads and returns).
 * Larger files are read ahead by their reader.  Only for storages with a
 * prefetch, and not for a delta restore, which reads the repository files
 * of changed files only.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <pthread.h>

#include "sb_thread.h"

/* how many files past the next one are asked for */
#define PREFETCH_AHEAD		32
/* larger files are read ahead by their reader (codec.c) */
#define PREFETCH_MAX_SIZE	((uint64_t) 8 * 1024 * 1024)

static void *
prefetch_main(void *arg)
{
	Restore    *r = arg;
	/* ahead of the small files' job where there is one, else of all jobs */
	bool		from_end = r->small_job;
	int			pos = from_end ? r->last_file : r->next_file;

	pthread_mutex_lock(&r->lock);
	while (!r->failed && !r->prefetch_stop)
	{
		const SbManifestFile *f;
		char		repo_path[SB_PATH_MAX];
		SbCompressType ct;
		bool		part;

		/* taken already: go on from the next one to be taken */
		if (from_end ? pos > r->last_file : pos < r->next_file)
			pos = from_end ? r->last_file : r->next_file;
		if (r->next_file > r->last_file ||
			(from_end ? pos < r->next_file : pos > r->last_file))
			break;
		if (from_end ? pos <= r->last_file - PREFETCH_AHEAD :
			pos >= r->next_file + PREFETCH_AHEAD)
		{
			pthread_cond_wait(&r->file_taken, &r->lock);
			continue;
		}
		f = &r->m.files[r->order[pos].file];
		part = r->order[pos].part;
		pos += from_end ? -1 : 1;
		pthread_mutex_unlock(&r->lock);
		if (!part && f->size <= PREFETCH_MAX_SIZE && !sb_manifest_file_layered(f))
		{
			sb_manifest_file_location(r->o->stanza, &r->m, f, repo_path, &ct);
			sb_storage_prefetch(r->st, repo_path);
		}
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

bool
sb_restore_prefetch_start(Restore *r)
{
	r->prefetch_stop = false;
	r->prefetching = false;
	if (r->delta || !sb_storage_can_prefetch(r->st))
		return false;
	/* without it the restore only reads more slowly */
	r->prefetching = sb_thread_start(&r->prefetch_thread, prefetch_main, r);
	return r->prefetching;
}

void
sb_restore_prefetch_stop(Restore *r)
{
	if (!r->prefetching)
		return;
	pthread_mutex_lock(&r->lock);
	r->prefetch_stop = true;
	pthread_cond_broadcast(&r->file_taken);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->prefetch_thread, NULL);
	r->prefetching = false;
}
