/*-------------------------------------------------------------------------
 *
 * read_direct.h
 *		Reading a large file past the page cache, several parts at once,
 *		straight into the buffers of the codec's writer thread
 *		(read_direct.c).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_READ_DIRECT_H
#define SB_READ_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

/*
 * Called with the file's bytes in order: len bytes (at most
 * SB_CODEC_BUFSIZE) read from offset, in the space the async filter
 * offered (sb_filter_async_space_at), to be written into the chain in
 * front of it.  Anything but SB_OK (with err filled) stops the reading.
 */
typedef SbStatus (*SbDirectConsume) (void *arg, uint8_t *buf, size_t len,
									 uint64_t offset, SbError *err);

/*
 * Read fd from offset 0 to its end with O_DIRECT, up to SB_DIRECT_DEPTH
 * reads in flight, into the space of the async filter async, handing each
 * part to consume in order; path names the file in messages (as the
 * codec's buffered reading does).  Returns SB_OK with *done set when the whole
 * file went through; SB_OK with *done false when direct reads cannot be
 * used for this file (the filesystem refuses O_DIRECT, no ring of aio_ring.c):
 * the caller reads it from *offset (what was consumed) the usual way.  An
 * error of a read or of consume is returned as is.  fd's flags are as they
 * were when it returns, and no read is in flight.
 */
extern SbStatus sb_read_direct(int fd, const char *path, SbFilter *async,
							   SbDirectConsume consume, void *arg,
							   uint64_t *offset, bool *done, SbError *err);

#define SB_DIRECT_DEPTH		3	/* < the async filter's buffers */

#endif							/* SB_READ_DIRECT_H */
