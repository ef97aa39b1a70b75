/*-------------------------------------------------------------------------
 *
 * wal_writer.h
 *		A test-only WAL writer: builds records (block references, images,
 *		main data) and lays them out in in-memory segments with page
 *		headers, continuations and CRCs, as the server does, so that the
 *		WAL decoder can be tested on every layout without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TEST_WAL_WRITER_H
#define SB_TEST_WAL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_PAGE			8192
#define TW_MAX_SEGS		16
#define TW_MAX_REC		(256 * 1024)

typedef struct TestWal
{
	uint32_t	segsize;
	uint64_t	sysid;
	unsigned int tli[TW_MAX_SEGS];	/* timeline of each segment's file */
	unsigned char *seg[TW_MAX_SEGS];
	bool		missing[TW_MAX_SEGS];
	size_t		step;			/* the reader hands over this much at a time; 0: all */
	int			reads;			/* calls of the reader */
	size_t		asked[TW_MAX_SEGS]; /* the most bytes asked of each segment */
	/* with step: the segment handed over, garbage past what was (-1: none) */
	unsigned char *view;
	int			view_seg;
	size_t		view_avail;
	uint64_t	pos;			/* where the next record goes */
	uint64_t	prev;			/* start of the last record */
} TestWal;

typedef struct TestRec
{
	uint8_t		rmid;
	uint8_t		info;
	unsigned char hdrs[4096];
	uint32_t	nhdrs;
	unsigned char payload[TW_MAX_REC];
	uint32_t	npayload;
} TestRec;

extern void tw_init(TestWal *w, uint32_t segsize, uint64_t start);
extern void tw_free(TestWal *w);

extern void tr_begin(TestRec *r, uint8_t rmid, uint8_t info);
/* A block reference; same_rel leaves the locator out. */
extern void tr_block(TestRec *r, uint8_t id, uint8_t fork, bool same_rel,
					 uint32_t spc, uint32_t db, uint32_t rel, uint32_t blk,
					 uint16_t data_len);
/* The same with an image of img_len bytes; hole and compression flags. */
extern void tr_block_image(TestRec *r, uint8_t id, uint32_t spc, uint32_t db,
						   uint32_t rel, uint32_t blk, uint16_t img_len,
						   bool hole, bool compressed);
extern void tr_origin_xid(TestRec *r);
extern void tr_main(TestRec *r, const void *data, uint32_t len);

/* Append the record; returns its start LSN. */
extern uint64_t tw_append(TestWal *w, TestRec *r);

/*
 * Start writing again at the page pageptr, flagged as overwriting the
 * record that was continuing there (as after a crash in mid-record).
 */
extern void tw_overwrite_from(TestWal *w, uint64_t pageptr);

/* Reader callback for SbWalChangesInput (arg is the TestWal). */
#include "sb_error.h"
extern SbStatus tw_read_segment(void *arg, const char *walname, size_t need,
								const unsigned char **seg, size_t *avail,
								SbError *err);

#endif							/* SB_TEST_WAL_WRITER_H */
