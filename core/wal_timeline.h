/*-------------------------------------------------------------------------
 *
 * wal_timeline.h
 *		WAL segment names as numbers, and timeline history files: what
 *		expire and verify need to reason about the WAL a backup depends on.
 *
 * A segment name is TTTTTTTT LLLLLLLL SSSSSSSS (timeline, then the segment
 * number split in "log" and "seg" parts, 0x100000000 / segment size
 * segments per log).  The segment size is not stored in the repository; it
 * follows from any backup's start LSN and start segment (see
 * sb_wal_segsize_infer).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_TIMELINE_H
#define SB_WAL_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "sb_error.h"
#include "storage.h"

#define SB_WAL_SEG_NAME_LEN		24

/* One line of a timeline history file: tli ended (switched away) at end_lsn. */
typedef struct SbTimelineEntry
{
	unsigned int tli;
	uint64_t	end_lsn;
} SbTimelineEntry;

/*
 * The segment size (a power of two from 1 MB to 1 GB) that puts lsn into
 * segment walname; false when none does.
 */
extern bool sb_wal_segsize_infer(const char *lsn, const char *walname,
								  uint64_t *segsize);

/* "<24 upper-case hex>" (only the first 24 characters of name are read). */
extern bool sb_wal_parse_segment(const char *name, uint64_t segsize,
								 unsigned int *tli, uint64_t *segno);
extern void sb_wal_segment_name(unsigned int tli, uint64_t segno,
								uint64_t segsize, char *out);

/*
 * Parse the text of <tli>.history: "parent_tli<ws>X/Y<ws>reason" lines,
 * '#' comments and blank lines.  *entries is malloc'd (NULL when none).
 */
extern SbStatus sb_timeline_history_parse(const char *text, size_t len,
										  SbTimelineEntry **entries,
										  int *nentries, SbError *err);

/*
 * Fetch <tli>.history from the stanza (checksum verified through the
 * codec) and parse it.  SB_ERR_NOT_FOUND when it is not stored.
 */
extern SbStatus sb_timeline_history_load(SbStorage *st, const char *stanza,
										 unsigned int tli,
										 SbTimelineEntry **entries,
										 int *nentries, SbError *err);

#endif							/* SB_WAL_TIMELINE_H */
