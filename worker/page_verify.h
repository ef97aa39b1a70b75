/*-------------------------------------------------------------------------
 *
 * page_verify.h
 *		Check the page checksums of a relation file while a backup reads it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_PAGE_VERIFY_H
#define SB_PAGE_VERIFY_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "storage/block.h"

/* WARNINGs per file; further failures are only counted. */
#define SB_PAGE_WARNINGS_PER_FILE	5

typedef struct SbPageVerify
{
	const char *path;			/* relative to the data directory, for messages */
	bool		active;			/* a relation file of a cluster with checksums */
	BlockNumber first_block;	/* block number of the segment's first page */
	XLogRecPtr	start_lsn;		/* pages at or past it are skipped */
	uint32		failures;		/* pages that failed, in this file */
	uint32		skipped;		/* pages written since the backup started */
	uint16		(*checksum) (char *page, BlockNumber blkno);	/* pg_checksum_page or a faster build of it */
} SbPageVerify;

/*
 * Is relpath a relation segment (under base/, global/ or pg_tblspc/, named
 * digits[_fsm|_vm|_init][.N])?  *segno receives N (0 without suffix).
 */
extern bool sb_relation_segment(const char *relpath, unsigned int *segno);

/* Prepare for one file; verification is off unless checksums is true. */
extern void sb_page_verify_init(SbPageVerify *pv, const char *relpath,
								bool checksums, XLogRecPtr start_lsn);

/*
 * Check the whole pages of buf, which holds len bytes read at offset of fd.
 * A failing page is read again once (a torn read of a page being written)
 * and replaced in buf by what was read.  Logs a WARNING per bad page (at
 * most SB_PAGE_WARNINGS_PER_FILE) and returns how many failed.  Never
 * raises an error.
 */
extern uint32 sb_page_verify_chunk(SbPageVerify *pv, int fd, char *buf,
								   size_t len, uint64 offset);

#endif							/* SB_PAGE_VERIFY_H */
