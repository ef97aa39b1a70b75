/*-------------------------------------------------------------------------
 *
 * wal_changes_internal.h
 *		Between the WAL decoder (wal_decode.c, wal_record.c), the set of
 *		touched blocks (wal_changes_set.c, wal_changes_query.c) and the
 *		collector (wal_changes.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_CHANGES_INTERNAL_H
#define SB_WAL_CHANGES_INTERNAL_H

#include <inttypes.h>
#include <string.h>

#include "wal_changes.h"

#define SB_FORK_MAIN	0
#define SB_FORK_FSM		1
#define SB_FORK_VM		2
#define SB_FORK_INIT	3
#define SB_FORK_ALL		4			/* a mark for every fork of a relation */

#define SB_SPC_DEFAULT	1663
#define SB_SPC_GLOBAL	1664

/* One relation fork: its touched blocks, as an array or a bitmap. */
typedef struct SbRelEntry
{
	uint32_t	spc;
	uint32_t	db;
	uint32_t	rel;
	uint8_t		fork;
	bool		used;
	bool		whole;
	uint32_t   *blocks;			/* array mode: sorted after finishing */
	uint32_t	n;
	uint32_t	cap;
	uint8_t    *bitmap;			/* bitmap mode when not NULL */
	uint32_t	bitmap_bytes;
} SbRelEntry;

/* A database directory (or a whole tablespace) to compare whole. */
typedef struct SbDirMark
{
	uint32_t	spc;
	uint32_t	db;
	bool		any_db;
} SbDirMark;

struct SbWalChanges
{
	bool		usable;
	char		reason[SB_ERROR_MSG_LEN];
	SbWalChangesStats stats;
	SbRelEntry *table;			/* open addressing, size a power of two */
	uint32_t	tabsize;
	uint32_t	nentries;
	SbRelEntry *last;			/* the entry of the latest block added */
	SbDirMark  *dirs;
	int			ndirs;
	int			capdirs;
	/* the blocks of records starting at or after later_lsn, when not NULL */
	struct SbWalChanges *later;
	uint64_t	later_lsn;
};

extern SbWalChanges *sb_wc_new(void);
extern SbStatus sb_wc_add_block(SbWalChanges *ch, uint32_t spc, uint32_t db,
								uint32_t rel, uint8_t fork, uint32_t blk);
extern SbStatus sb_wc_mark_rel(SbWalChanges *ch, uint32_t spc, uint32_t db,
							   uint32_t rel);
extern SbStatus sb_wc_mark_dir(SbWalChanges *ch, uint32_t spc, uint32_t db,
							   bool any_db);
extern void sb_wc_finish(SbWalChanges *ch);
/* The entry of a relation fork, NULL when it has none (no insertion). */
extern const SbRelEntry *sb_wc_find(const SbWalChanges *ch, uint32_t spc,
									uint32_t db, uint32_t rel, uint8_t fork);
extern void sb_wc_unusable(SbWalChanges *ch, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/*
 * Read the WAL of in into ch (wal_decode.c).  What makes the list unusable
 * (a missing segment, an invalid page or record) is noted in ch; the only
 * error returned is SB_ERR_NO_MEMORY.
 */
typedef struct SbWalDecoder SbWalDecoder;

extern SbStatus sb_wal_decode_range(const SbWalChangesInput *in,
									SbWalChanges *ch, SbError *err);

typedef enum SbWalDecResult
{
	SB_WAL_DEC_OK,
	SB_WAL_DEC_STOP,			/* the list is unusable; reason noted */
	SB_WAL_DEC_OOM,
	SB_WAL_DEC_OVERWRITTEN		/* a continued record was overwritten */
} SbWalDecResult;

/*
 * Check the record at rec (whole, xl_tot_len bytes) that starts at lsn:
 * its prev-link (unless prev is 0) and CRC; add what it touched to ch
 * (wal_record.c).  segname names the segment in reasons.
 */
extern SbWalDecResult sb_wal_record_take(SbWalChanges *ch,
										 const unsigned char *rec, uint64_t lsn,
										 uint64_t prev, const char *segname);

/* Numbers in WAL are in the byte order of the machine that wrote it. */
static inline uint16_t
sb_wal_u16(const unsigned char *p)
{
	uint16_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t
sb_wal_u32(const unsigned char *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
sb_wal_u64(const unsigned char *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#define SB_LSN_FMT			"%" PRIX32 "/%" PRIX32
#define SB_LSN_ARGS(lsn)	(uint32_t) ((lsn) >> 32), (uint32_t) (lsn)

#endif							/* SB_WAL_CHANGES_INTERNAL_H */
