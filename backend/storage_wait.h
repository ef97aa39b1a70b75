/*-------------------------------------------------------------------------
 *
 * storage_wait.h
 *		Repository storage handles for server processes, whose network waits
 *		go through WaitLatchOrSocket().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_STORAGE_WAIT_H
#define SB_STORAGE_WAIT_H

#include "storage.h"

/*
 * sb_storage_create() for a server process: the storage's socket waits
 * wake up on the process latch, give up when the process is asked to stop
 * (shutdown, termination, query cancel) and exit on postmaster death.
 */
extern SbStatus sb_backend_storage_create(const SbRepoConfig *cfg,
										  SbStorage **out, SbError *err);

#endif							/* SB_STORAGE_WAIT_H */
