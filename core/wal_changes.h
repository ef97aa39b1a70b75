/*-------------------------------------------------------------------------
 *
 * wal_changes.h
 *		The relation blocks that WAL touched between two LSNs.
 *
 * A delta restore compares a stopped data directory with a backup.  With
 * data checksums (or wal_log_hints) on, every change to a page of a
 * permanent relation after a checkpoint's redo point is WAL-logged with a
 * block reference (hint bits through FPI_FOR_HINT), so a block that no
 * record between the backup's start (a redo point) and the target's last
 * checkpoint refers to is the same in both.  This module reads that WAL
 * and answers, for a file of the data directory, which of its pages may
 * differ.
 *
 * Besides block references it notes records that change relation files
 * without them: smgr truncate and create (the whole relation), database
 * create and drop (the whole database directory), tablespace create and
 * drop (the whole tablespace).  A visibility map page is reported as
 * touched when any heap block it covers is, since clearing a visibility
 * bit is not logged as a reference to the map.  A parameter change to
 * wal_level minimal makes the list unusable.
 *
 * The list is all or nothing: when WAL in the range is missing, invalid or
 * fails its CRC, sb_wal_changes_usable() is false with a reason and the
 * caller must compare every file.  Not covered, for the caller: file
 * sizes (a relation extended with zero pages is not WAL-logged until a
 * page is used; compare lengths), and the main forks of unlogged
 * relations (never WAL-logged; PostgreSQL rebuilds them from their init
 * fork at the end of recovery).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_CHANGES_H
#define SB_WAL_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_error.h"
#include "wal_timeline.h"

/*
 * Make at least the first need bytes (at most the segment size) of the
 * segment walname (24 hex digits) readable: *seg points at the segment's
 * memory, owned by the reader and valid until it is called for another
 * segment or the collection ends, of which *avail bytes (need or more) may
 * be looked at now.  The decoder calls again with a larger need for the
 * same segment when it gets past *avail, so a reader that fills segments
 * from threads can answer as soon as that much is there and the decoding
 * overlaps the reading.  SB_ERR_NOT_FOUND when the segment is not
 * available; any other failure makes the list unusable with err's message
 * as the reason.
 */
typedef SbStatus (*SbWalSegmentReader) (void *arg, const char *walname,
										size_t need, const unsigned char **seg,
										size_t *avail, SbError *err);

/*
 * Optional (NULL: every byte handed over was already checked): called once
 * after the last record was read.  A reader that hands over a segment's
 * bytes before it has checked the whole segment (its digest) fails here
 * when a segment it handed over turned out bad; the list is then unusable
 * with err's message as the reason.  (The records read were each checked
 * by their CRC-32C already: the restore's reader does not check a segment
 * the decoder left before its end, at a switch record or at the end LSN.)
 */
typedef SbStatus (*SbWalReadEnd) (void *arg, SbError *err);

typedef struct SbWalChangesInput
{
	uint32_t	segsize;		/* WAL segment size */
	uint32_t	xlog_blcksz;	/* WAL page size; 0 means 8192 */
	uint64_t	system_identifier;	/* checked in long page headers */
	uint64_t	start_lsn;		/* a record start: the backup's redo point */
	unsigned int start_tli;
	uint64_t	end_lsn;		/* the target's last checkpoint record */
	uint64_t	certain_lsn;	/* see sb_wal_changes_file_later(); 0: none */
	bool		end_exclusive;	/* leave out the record starting at end_lsn */
	unsigned int target_tli;	/* the target's timeline ... */
	const SbTimelineEntry *history; /* ... and its ancestors, oldest first */
	int			nhistory;
	SbWalSegmentReader read_segment;
	SbWalReadEnd read_end;
	void	   *read_arg;
} SbWalChangesInput;

typedef struct SbWalChangesStats
{
	uint64_t	records;		/* records decoded */
	uint64_t	block_refs;		/* block references in them */
	uint64_t	bytes_read;		/* segment bytes supplied by the reader */
	uint64_t	wal_bytes;		/* end - start of the decoded range */
	int			segments;		/* segments read */
	bool		hints_off_seen; /* a parameter change set wal_log_hints off */
} SbWalChangesStats;

typedef enum SbWalFileChange
{
	SB_WAL_FILE_NOT_RELATION,	/* not a relation file: compare it as usual */
	SB_WAL_FILE_UNTOUCHED,		/* no page of it was touched */
	SB_WAL_FILE_WHOLE,			/* compare all of it */
	SB_WAL_FILE_PAGES			/* only the pages listed may differ */
} SbWalFileChange;

typedef struct SbWalChanges SbWalChanges;

/*
 * Read the WAL from in->start_lsn to in->end_lsn: every record starting
 * before end_lsn, and the one starting at end_lsn unless end_exclusive.
 * For a cluster stopped cleanly end_lsn is its last checkpoint (pg_control
 * checkPoint).  For one shut down in recovery (a standby), replay may have
 * gone past that checkpoint: pass minRecoveryPoint when it is later, with
 * end_exclusive (it is the end of the last record replayed, and the WAL
 * may stop there).  *out is set even when the WAL is not usable (see
 * sb_wal_changes_usable); an error is returned only when memory runs out.
 */
extern SbStatus sb_wal_changes_collect(const SbWalChangesInput *in,
									   SbWalChanges **out, SbError *err);

/* True when the list is complete; else *reason (when not NULL) says why. */
extern bool sb_wal_changes_usable(const SbWalChanges *ch, const char **reason);

extern void sb_wal_changes_stats(const SbWalChanges *ch, SbWalChangesStats *stats);

/*
 * What may differ in the file relpath (relative to the data directory:
 * "base/5/16384.2", "global/1262", "pg_tblspc/16390/PG_15_202209061/5/16391_vm").
 * Every relation file is SB_WAL_FILE_WHOLE when the list is not usable,
 * or when memory runs out.  For SB_WAL_FILE_PAGES, *pages is a malloc'd
 * sorted list of *npages page numbers within that file (the caller frees
 * it); else it is NULL.  Safe to call from several threads at once.
 */
extern SbWalFileChange sb_wal_changes_file(const SbWalChanges *ch,
										   const char *relpath,
										   uint32_t blcksz, uint32_t relseg_size,
										   uint32_t **pages, uint32_t *npages);

/*
 * Of the pages sb_wal_changes_file() lists for relpath, those that records
 * starting at or after in->certain_lsn refer to by a block reference: a
 * malloc'd sorted list in *pages, *npages of them (NULL and 0 when there
 * are none, when certain_lsn was 0, or when memory runs out).  A page
 * PostgreSQL changes carries the end of the record that changed it as its
 * LSN, so when every page of a copy was read before certain_lsn, such a
 * page surely differs from the copy's.
 */
extern void sb_wal_changes_file_later(const SbWalChanges *ch, const char *relpath,
									  uint32_t blcksz, uint32_t relseg_size,
									  uint32_t **pages, uint32_t *npages);
extern void sb_wal_changes_free(SbWalChanges *ch);

#endif							/* SB_WAL_CHANGES_H */
