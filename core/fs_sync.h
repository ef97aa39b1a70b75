/*-------------------------------------------------------------------------
 *
 * fs_sync.h
 *		Flush a whole local file system at once (syncfs), for writers that
 *		published many files without flushing each (backups into a posix
 *		repository, restores).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_FS_SYNC_H
#define SB_FS_SYNC_H

#include "sb_error.h"

/* Flush every file and directory of the file system that holds dir. */
extern SbStatus sb_sync_file_system(const char *dir, SbError *err);

#endif							/* SB_FS_SYNC_H */
