/*-------------------------------------------------------------------------
 *
 * wal_changes_internal.h
 *		Between the WAL decoder (wal_decode.c), the set of touched blocks
 *		(wal_changes_set.c) and the collector (wal_changes.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_CHANGES_INTERNAL_H
#define SB_WAL_CHANGES_INTERNAL_H

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
};

extern SbWalChanges *sb_wc_new(void);
extern SbStatus sb_wc_add_block(SbWalChanges *ch, uint32_t spc, uint32_t db,
								uint32_t rel, uint8_t fork, uint32_t blk);
extern SbStatus sb_wc_mark_rel(SbWalChanges *ch, uint32_t spc, uint32_t db,
							   uint32_t rel);
extern SbStatus sb_wc_mark_dir(SbWalChanges *ch, uint32_t spc, uint32_t db,
							   bool any_db);
extern void sb_wc_finish(SbWalChanges *ch);
extern void sb_wc_unusable(SbWalChanges *ch, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/*
 * What the decoder found unusable in the WAL: a missing segment, an
 * invalid page or record.  SB_OK otherwise; SB_ERR_NO_MEMORY is the only
 * error status it returns.
 */
typedef struct SbWalDecoder SbWalDecoder;

extern SbStatus sb_wal_decode_range(const SbWalChangesInput *in,
									SbWalChanges *ch, SbError *err);

#endif							/* SB_WAL_CHANGES_INTERNAL_H */
