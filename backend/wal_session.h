/*-------------------------------------------------------------------------
 *
 * wal_session.h
 *		This process's repository session for pushing WAL files: used by
 *		the archiver (archive.c) and by each push-ahead worker
 *		(worker/wal_push.c), so both push through the same steps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_SESSION_H
#define SB_WAL_SESSION_H

#include "sb_config.h"
#include "sb_error.h"
#include "wal.h"

/*
 * Open the repository with the settings cfg, reusing the open session when
 * they have not changed.
 */
extern SbStatus sb_wal_session_ensure(const SbRepoConfig *cfg, SbError *err);

/*
 * Push the WAL file "file" (local path "path") with sb_wal_push(), after
 * checking the stanza once per session.  On success the file is durable in
 * the repository.  A network or I/O error closes the session, so that the
 * next push opens a new one.
 */
extern SbStatus sb_wal_session_push(const SbRepoConfig *cfg, const char *file,
									const char *path, SbWalPushResult *res,
									SbError *err);

extern void sb_wal_session_close(void);

#endif							/* SB_WAL_SESSION_H */
