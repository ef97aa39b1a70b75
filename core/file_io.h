/*-------------------------------------------------------------------------
 *
 * file_io.h
 *		Whole reads and writes at an offset of a local file, retried after
 *		short transfers and EINTR: one loop for the restore's block
 *		patching, the backup's ranged stores and its samples.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_FILE_IO_H
#define SB_FILE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "sb_error.h"

/*
 * Read len bytes at off of fd (path names it in messages) into buf; *got is
 * how many the file had (less than len at its end).
 */
extern SbStatus sb_read_at(int fd, const char *path, void *buf, size_t len,
						   uint64_t off, size_t *got, SbError *err);

/* Write len bytes of buf at off of fd; a write making no progress is ENOSPC. */
extern SbStatus sb_write_at(int fd, const char *path, const void *buf,
							size_t len, uint64_t off, SbError *err);

#endif							/* SB_FILE_IO_H */
