/*-------------------------------------------------------------------------
 *
 * sb_thread.c
 *		Start the threads of the shared core with every signal blocked.
 *
 * The core runs threads in the CLI (restore jobs, read-ahead, writers)
 * and, for the codec's writer, in backends, whose signal handlers must run
 * on the backend's own thread: a new thread inherits the signal mask of
 * its creator, so the mask is set to block everything around
 * pthread_create() and restored after.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sb_thread.h"

#include <signal.h>

bool
sb_thread_start(pthread_t *thread, void *(*fn) (void *), void *arg)
{
	sigset_t	all;
	sigset_t	old;
	int			rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0;
}
