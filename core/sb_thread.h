/*-------------------------------------------------------------------------
 *
 * sb_thread.h
 *		Starting a thread of the shared core (sb_thread.c).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_THREAD_H
#define SB_THREAD_H

#include <pthread.h>
#include <stdbool.h>

/*
 * Start fn(arg) on a new thread with every signal blocked in it, so that
 * signals go to the threads that expect them (the program's main thread, a
 * backend's only one).  False when no thread could be started.
 */
extern bool sb_thread_start(pthread_t *thread, void *(*fn) (void *), void *arg);

#endif							/* SB_THREAD_H */
