/*-------------------------------------------------------------------------
 *
 * wal_record.c
 *		One WAL record: its CRC, its block references (added to the set of
 *		touched blocks) and the records that change relation files without
 *		block references.
 *
 * The layout is PostgreSQL's (access/xlogrecord.h, the same in 15 to 18):
 * after the 24-byte header come block reference headers (id, fork and
 * flags, data length; an image header with a 2-byte extension when the
 * image has a hole and is compressed; the relation locator unless
 * SAME_REL; the block number), then origin, top-level xid and main data
 * length headers, then the block data, images and main data.  Resource
 * manager ids and info codes are from access/rmgrlist.h,
 * catalog/storage_xlog.h, commands/dbcommands_xlog.h, commands/tablespace.h
 * and catalog/pg_control.h.
 *
 *-------------------------------------------------------------------------
 */
#include "wal_changes_internal.h"

#include <string.h>

#include "crc32c.h"

#define REC_HDR			24
#define REC_CRC_OFF		20

typedef struct RecContext
{
	SbWalChanges *ch;
	const char *segname;
	SbWalChanges *later;		/* ch->later when the record is that late */
} RecContext;

static SbWalDecResult
bad_record(RecContext *d, uint64_t lsn, const char *what)
{
	sb_wc_unusable(d->ch, "%s at " SB_LSN_FMT " in WAL segment %s",
				   what, SB_LSN_ARGS(lsn), d->segname);
	return SB_WAL_DEC_STOP;
}

/* Block reference flags and ids (access/xlogrecord.h). */
#define XLR_MAX_BLOCK_ID			32
#define XLR_BLOCK_ID_DATA_SHORT		255
#define XLR_BLOCK_ID_DATA_LONG		254
#define XLR_BLOCK_ID_ORIGIN			253
#define XLR_BLOCK_ID_TOPLEVEL_XID	252
#define BKPBLOCK_FORK_MASK			0x0F
#define BKPBLOCK_HAS_IMAGE			0x10
#define BKPBLOCK_SAME_REL			0x80
#define BKPIMAGE_HAS_HOLE			0x01
#define BKPIMAGE_COMPRESSED			(0x04 | 0x08 | 0x10)	/* PGLZ, LZ4, ZSTD */

/* A record's headers as they are parsed: position and bytes left. */
typedef struct RecCursor
{
	const unsigned char *p;
	uint32_t	remaining;
	uint32_t	datatotal;		/* block data, images and main data announced */
	bool		ok;
} RecCursor;

static const unsigned char *
take(RecCursor *c, uint32_t n)
{
	const unsigned char *p = c->p;

	if (!c->ok || c->remaining < n)
	{
		c->ok = false;
		return NULL;
	}
	c->p += n;
	c->remaining -= n;
	return p;
}

/* One block reference header (id already read); false when malformed. */
static bool
block_ref(RecContext *d, RecCursor *c, uint32_t rel[3], bool *have_rel,
		  SbStatus *rc)
{
	const unsigned char *h = take(c, 3);
	const unsigned char *q;
	uint8_t		flags;
	uint8_t		fork;

	if (h == NULL)
		return false;
	flags = h[0];
	c->datatotal += sb_wal_u16(h + 1);
	if (flags & BKPBLOCK_HAS_IMAGE)
	{
		if ((q = take(c, 5)) == NULL)
			return false;
		c->datatotal += sb_wal_u16(q);
		if ((q[4] & BKPIMAGE_HAS_HOLE) && (q[4] & BKPIMAGE_COMPRESSED) &&
			take(c, 2) == NULL)
			return false;
	}
	if (!(flags & BKPBLOCK_SAME_REL))
	{
		if ((q = take(c, 12)) == NULL)
			return false;
		rel[0] = sb_wal_u32(q);
		rel[1] = sb_wal_u32(q + 4);
		rel[2] = sb_wal_u32(q + 8);
		*have_rel = true;
	}
	else if (!*have_rel)
		return false;
	if ((q = take(c, 4)) == NULL)
		return false;
	fork = flags & BKPBLOCK_FORK_MASK;
	d->ch->stats.block_refs++;
	if (fork > SB_FORK_INIT)
		*rc = sb_wc_mark_rel(d->ch, rel[0], rel[1], rel[2]);
	else
	{
		*rc = sb_wc_add_block(d->ch, rel[0], rel[1], rel[2], fork, sb_wal_u32(q));
		if (*rc == SB_OK && d->later != NULL)
			*rc = sb_wc_add_block(d->later, rel[0], rel[1], rel[2], fork,
								  sb_wal_u32(q));
	}
	return true;
}

/*
 * Walk the headers after the record header: block references (added to
 * the set), then origin, top-level xid and main data length.  *main points
 * at the main data (at the record's end).
 */
static SbWalDecResult
decode_headers(RecContext *d, const unsigned char *rec, uint32_t len,
			   uint64_t lsn, const unsigned char **main, uint32_t *mainlen)
{
	RecCursor	c = {rec + REC_HDR, len - REC_HDR, 0, true};
	uint32_t	rel[3] = {0, 0, 0};
	bool		have_rel = false;
	int			last_id = -1;
	SbStatus	rc = SB_OK;
	const unsigned char *q;

	*mainlen = 0;
	while (c.ok && c.remaining > c.datatotal && rc == SB_OK)
	{
		uint8_t		id = *take(&c, 1);

		if (id == XLR_BLOCK_ID_DATA_SHORT || id == XLR_BLOCK_ID_DATA_LONG)
		{
			if ((q = take(&c, id == XLR_BLOCK_ID_DATA_SHORT ? 1 : 4)) != NULL)
				*mainlen = id == XLR_BLOCK_ID_DATA_SHORT ? q[0] : sb_wal_u32(q);
			c.datatotal += *mainlen;
			break;
		}
		else if (id == XLR_BLOCK_ID_ORIGIN)
			take(&c, 2);
		else if (id == XLR_BLOCK_ID_TOPLEVEL_XID)
			take(&c, 4);
		else if (id > XLR_MAX_BLOCK_ID || id <= last_id)
			c.ok = false;
		else
		{
			last_id = id;
			c.ok = block_ref(d, &c, rel, &have_rel, &rc);
		}
	}
	if (rc != SB_OK)
		return SB_WAL_DEC_OOM;
	if (!c.ok || c.remaining != c.datatotal)
		return bad_record(d, lsn, "invalid record headers");
	*main = rec + len - *mainlen;
	return SB_WAL_DEC_OK;
}

/* Resource managers and info codes (access/rmgrlist.h and the rmgrs' headers). */
#define RM_XLOG_ID					0
#define RM_SMGR_ID					2
#define RM_DBASE_ID					4
#define RM_TBLSPC_ID				5
#define XLOG_SWITCH					0x40
#define XLOG_PARAMETER_CHANGE		0x60
#define XLOG_SMGR_CREATE			0x10
#define XLOG_SMGR_TRUNCATE			0x20
#define XLOG_DBASE_CREATE_FILE_COPY	0x00
#define XLOG_DBASE_CREATE_WAL_LOG	0x10
#define XLOG_DBASE_DROP				0x20
#define XLOG_TBLSPC_CREATE			0x00
#define XLOG_TBLSPC_DROP			0x10

/* xl_parameter_change: wal_level (int) at 20, wal_log_hints (bool) at 24. */
static SbWalDecResult
parameter_change(RecContext *d, const unsigned char *m, uint32_t len,
				 uint64_t lsn)
{
	if (len < 25)
		return bad_record(d, lsn, "invalid parameter change record");
	if (sb_wal_u32(m + 20) == 0)
	{
		sb_wc_unusable(d->ch, "wal_level was set to minimal at " SB_LSN_FMT, SB_LSN_ARGS(lsn));
		return SB_WAL_DEC_STOP;
	}
	if (m[24] == 0)
		d->ch->stats.hints_off_seen = true;
	return SB_WAL_DEC_OK;
}

/* Records that change relation files without referring to their blocks. */
static SbWalDecResult
file_level_record(RecContext *d, uint8_t rmid, uint8_t info,
				  const unsigned char *m, uint32_t len, uint64_t lsn)
{
	SbStatus	rc = SB_OK;

	if (rmid == RM_SMGR_ID && (info == XLOG_SMGR_CREATE || info == XLOG_SMGR_TRUNCATE))
	{
		/* xl_smgr_create: locator at 0; xl_smgr_truncate: at 4 */
		uint32_t	at = info == XLOG_SMGR_CREATE ? 0 : 4;

		if (len < at + 12)
			return bad_record(d, lsn, "invalid storage record");
		rc = sb_wc_mark_rel(d->ch, sb_wal_u32(m + at), sb_wal_u32(m + at + 4), sb_wal_u32(m + at + 8));
	}
	else if (rmid == RM_DBASE_ID && (info == XLOG_DBASE_CREATE_FILE_COPY ||
									 info == XLOG_DBASE_CREATE_WAL_LOG))
	{
		/* db_id at 0, tablespace_id at 4 */
		if (len < 8)
			return bad_record(d, lsn, "invalid database record");
		rc = sb_wc_mark_dir(d->ch, sb_wal_u32(m + 4), sb_wal_u32(m), false);
	}
	else if (rmid == RM_DBASE_ID && info == XLOG_DBASE_DROP)
	{
		/* db_id at 0, ntablespaces at 4, tablespace_ids from 8 */
		uint32_t	n = len >= 8 ? sb_wal_u32(m + 4) : 0;

		if (len < 8 || (uint64_t) n * 4 > len - 8)
			return bad_record(d, lsn, "invalid database record");
		for (uint32_t i = 0; i < n && rc == SB_OK; i++)
			rc = sb_wc_mark_dir(d->ch, sb_wal_u32(m + 8 + 4 * i), sb_wal_u32(m), false);
	}
	else if (rmid == RM_TBLSPC_ID && (info == XLOG_TBLSPC_CREATE || info == XLOG_TBLSPC_DROP))
	{
		if (len < 4)
			return bad_record(d, lsn, "invalid tablespace record");
		rc = sb_wc_mark_dir(d->ch, sb_wal_u32(m), 0, true);
	}
	else if (rmid == RM_XLOG_ID && info == XLOG_PARAMETER_CHANGE)
		return parameter_change(d, m, len, lsn);
	return rc == SB_OK ? SB_WAL_DEC_OK : SB_WAL_DEC_OOM;
}

SbWalDecResult
sb_wal_record_take(SbWalChanges *ch, const unsigned char *rec, uint64_t lsn,
				   uint64_t prev, const char *segname)
{
	RecContext	ctx = {ch, segname,
	(ch->later != NULL && lsn >= ch->later_lsn) ? ch->later : NULL};
	RecContext *d = &ctx;
	uint32_t	len = sb_wal_u32(rec);
	uint32_t	crc;
	const unsigned char *main;
	uint32_t	mainlen;
	SbWalDecResult r;

	if (prev != 0 && sb_wal_u64(rec + 8) != prev)
		return bad_record(d, lsn, "record with incorrect prev-link");
	crc = sb_crc32c_update(SB_CRC32C_INIT, rec + REC_HDR, len - REC_HDR);
	crc = SB_CRC32C_FINAL(sb_crc32c_update(crc, rec, REC_CRC_OFF));
	if (crc != sb_wal_u32(rec + REC_CRC_OFF))
		return bad_record(d, lsn, "incorrect record checksum");
	d->ch->stats.records++;
	r = decode_headers(d, rec, len, lsn, &main, &mainlen);
	if (r != SB_WAL_DEC_OK)
		return r;
	return file_level_record(d, rec[17], rec[16] & 0xF0, main, mainlen, lsn);
}
