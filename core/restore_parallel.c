/*-------------------------------------------------------------------------
 *
 * restore_parallel.c
 *		Restore the files of a backup with several threads, each with its
 *		own repository session.
 *
 * Fetching a file is decompressing (and decrypting) it, checking its
 * SHA-256 and writing it: one core's work per file.  With jobs > 1 that
 * many threads take files, and parts of large files (restore_parts.c),
 * from one list, largest first (so that no large file is left to finish
 * alone at the end), each through a repository session
 * of its own: the first is the restore's own, the others are opened here,
 * one after the other, before any thread starts (driver libraries need not
 * be initialized concurrently), and share the stanza's key read-only.
 * With jobs > 1 and files under SMALL_FILE_MAX, one more thread takes
 * those from the other end of the list, smallest first, until the two ends
 * meet: creating, reading and decompressing small files is mostly waiting
 * and system calls, which then overlap the large files' writing instead of
 * following it (figures in the README, "Parallel restore").
 * Progress stays one total, reported under the restore's lock.  The first
 * error stops every thread at its next buffer and is the one returned.
 * Where the storage can, a thread of restore_prefetch.c asks for the
 * repository files of the next files ahead of the jobs.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sb_thread.h"

/* the small files' job takes files smaller than this (written buffered) */
#define SMALL_FILE_MAX		SB_DIRECT_MIN_SIZE

typedef struct RestoreThread
{
	Restore    *r;
	SbStorage  *st;
	bool		own_storage;	/* opened here: closed and freed here */
	pthread_t	tid;
	bool		small;			/* the small files' job */
	bool		started;
	SbError		err;
	SbStatus	rc;
} RestoreThread;

/*
 * The next piece of work, largest first, or for the small files' job the
 * smallest; NULL when none is left (for that job: no small file), or a
 * thread failed.
 */
static const RestoreItem *
next_item(Restore *r, bool small)
{
	const RestoreItem *it = NULL;

	pthread_mutex_lock(&r->lock);
	if (!r->failed && r->next_file <= r->last_file)
	{
		if (!small)
			it = &r->order[r->next_file++];
		else if (r->order[r->last_file].len < SMALL_FILE_MAX)
			it = &r->order[r->last_file--];
		if (it != NULL)
			pthread_cond_broadcast(&r->file_taken);
	}
	pthread_mutex_unlock(&r->lock);
	return it;
}

/* Record the first failure; the others stop. */
static void
note_failure(Restore *r, RestoreThread *t)
{
	pthread_mutex_lock(&r->lock);
	if (!r->failed)
	{
		r->failed = true;
		r->first_failure = t;
	}
	pthread_mutex_unlock(&r->lock);
}

static void *
restore_thread(void *arg)
{
	RestoreThread *t = arg;
	Restore    *r = t->r;
	const RestoreItem *it;

	t->rc = SB_OK;
	while ((it = next_item(r, t->small)) != NULL)
	{
		bool		file_done = true;

		if (it->part)
			t->rc = sb_restore_one_part(r, t->st, it, &file_done, &t->err);
		else
			t->rc = sb_restore_one_file(r, t->st, &r->m.files[it->file],
										&t->err);
		if (t->rc != SB_OK)
		{
			note_failure(r, t);
			break;
		}
		if (!file_done)
			continue;
		pthread_mutex_lock(&r->lock);
		r->files_done++;
		r->result->files = r->files_done;
		sb_restore_report_progress(r, false);
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

/* A second session on the same repository, sharing the stanza's key. */
SbStatus
sb_restore_open_session(Restore *r, SbStorage **out, SbError *err)
{
	SbStorage  *st;
	SbStatus	rc;

	rc = sb_storage_create(&r->st->cfg, &st, err);
	if (rc != SB_OK)
		return rc;
	st->wait = r->st->wait;
	st->wait_arg = r->st->wait_arg;
	rc = sb_storage_open(st, err);
	if (rc != SB_OK)
	{
		sb_storage_free(st);
		return rc;
	}
	st->cipher = r->st->cipher;
	*out = st;
	return SB_OK;
}

void
sb_restore_close_session(SbStorage *st)
{
	/* the key is the restore's: not ours to wipe */
	st->cipher = NULL;
	sb_storage_close(st);
	sb_storage_free(st);
}

SbStatus
sb_restore_files(Restore *r, SbError *err)
{
	RestoreThread *threads;
	int			jobs = r->o->jobs > 1 ? r->o->jobs : 1;
	SbStatus	rc;

	/* room for the small files' job */
	threads = calloc((size_t) jobs + 1, sizeof(RestoreThread));
	if (threads == NULL)
		return sb_error_oom(err);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->file_taken, NULL);
	r->prefetching = false;
	r->next_file = 0;
	rc = sb_restore_plan(r, jobs, err);
	r->last_file = r->norder - 1;
	/*
	 * With several jobs, one more takes the small files from the other
	 * end, when there are some
	 */
	r->small_job = jobs > 1 && r->norder > jobs &&
		r->order[r->norder - 1].len < SMALL_FILE_MAX;
	if (jobs > r->norder)
		jobs = r->norder > 0 ? r->norder : 1;
	if (r->small_job)
	{
		threads[jobs].small = true;
		jobs++;
	}
	for (int j = 0; j < jobs && rc == SB_OK; j++)
	{
		threads[j].r = r;
		sb_error_clear(&threads[j].err);
		if (j == 0)
			threads[j].st = r->st;
		else
		{
			rc = sb_restore_open_session(r, &threads[j].st, err);
			threads[j].own_storage = (rc == SB_OK);
		}
	}

	if (rc == SB_OK)
		(void) sb_restore_prefetch_start(r);
	if (rc == SB_OK && jobs == 1)
		restore_thread(&threads[0]);
	else if (rc == SB_OK)
	{
		for (int j = 0; j < jobs; j++)
		{
			if (!sb_thread_start(&threads[j].tid, restore_thread, &threads[j]))
			{
				rc = sb_error_set(err, SB_ERR_INTERNAL, "could not start a restore thread");
				/* the running ones stop at their next file */
				pthread_mutex_lock(&r->lock);
				r->failed = true;
				pthread_mutex_unlock(&r->lock);
				break;
			}
			threads[j].started = true;
		}
		for (int j = 0; j < jobs; j++)
			if (threads[j].started)
				pthread_join(threads[j].tid, NULL);
	}
	sb_restore_prefetch_stop(r);
	if (rc == SB_OK && r->first_failure != NULL)
	{
		RestoreThread *t = r->first_failure;

		*err = t->err;
		rc = t->rc;
	}

	/* after a failure, the files whose parts were not all written go */
	sb_restore_plan_end(r);
	for (int j = 0; j < jobs; j++)
		if (threads[j].own_storage)
			sb_restore_close_session(threads[j].st);
	free(threads);
	pthread_cond_destroy(&r->file_taken);
	pthread_mutex_destroy(&r->lock);
	return rc;
}

bool
sb_restore_failed(Restore *r)
{
	bool		failed;

	pthread_mutex_lock(&r->lock);
	failed = r->failed;
	pthread_mutex_unlock(&r->lock);
	return failed;
}
