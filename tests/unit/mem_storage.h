/*-------------------------------------------------------------------------
 *
 * mem_storage.h
 *		A test-only storage driver that keeps the repository in memory.
 *
 * It implements SbStorageOps well enough to exercise the codec and other
 * shared-core code without the posix driver: atomic writes (data becomes
 * visible only at commit), SB_WRITE_REPLACE, implicit and explicit
 * directories, and fault injection for writes and reads.
 *
 * Not for production use: every file is held in memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_MEM_STORAGE_H
#define SB_MEM_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "storage.h"

extern const SbStorageOps sb_mem_ops;

/* A new, empty in-memory storage (not yet opened); NULL if out of memory. */
extern SbStorage *sb_mem_storage_new(void);
/* Close, destroy and free it (does not need transport/storage.c). */
extern void sb_mem_storage_free(SbStorage *st);

/*
 * Fault injection.  After limit bytes have been written through one writer
 * (or read through one reader), the next write (read) that would go past it
 * fails with SB_ERR_NO_SPACE (SB_ERR_IO).  A negative limit disables it.
 */
extern void sb_mem_storage_fail_writes_after(SbStorage *st, int64_t limit);
extern void sb_mem_storage_fail_reads_after(SbStorage *st, int64_t limit);

/* Return at most n bytes per read call (0: no limit), to test short reads. */
extern void sb_mem_storage_set_read_chunk(SbStorage *st, size_t n);

/* With or without a read_open_at of its own (on when created). */
extern void sb_mem_storage_set_ranged(SbStorage *st, bool on);
/* Bytes handed out by all reads so far. */
extern uint64_t sb_mem_storage_bytes_read(SbStorage *st);

/* Raw access to a committed file; NULL if it does not exist. */
extern const uint8_t *sb_mem_storage_file(SbStorage *st, const char *path,
										  size_t *len);
/* Create or replace a committed file with raw bytes; false if out of memory. */
extern bool sb_mem_storage_set_file(SbStorage *st, const char *path,
									const void *data, size_t len);

/* Writers and readers currently open (leak check for callers). */
extern int	sb_mem_storage_open_handles(SbStorage *st);
/* Largest single write() call seen so far, and the number of write calls. */
extern size_t sb_mem_storage_max_write(SbStorage *st);
extern uint64_t sb_mem_storage_write_calls(SbStorage *st);

#endif							/* SB_MEM_STORAGE_H */
