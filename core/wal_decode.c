/*-------------------------------------------------------------------------
 *
 * wal_decode.c
 *		Walk WAL pages and records from one LSN to another and hand each
 *		record's block references to the set of touched blocks.
 *
 * The format (identical in PostgreSQL 15 to 18, checked against their
 * access/xlogrecord.h and access/xlog_internal.h): 8 kB pages, each with a
 * 24-byte header (40 bytes on a segment's first page, with the system
 * identifier and sizes); records 8-byte aligned, continuing across pages
 * (XLP_FIRST_IS_CONTRECORD, xlp_rem_len) and segments; a 24-byte record
 * header whose CRC-32C covers the data after the header, then the header
 * up to the CRC field.  A page whose address is not the expected one is
 * the end of valid WAL (a recycled segment).  Anything unexpected makes
 * the list unusable: it is never partial.
 *
 *-------------------------------------------------------------------------
 */
#include "wal_changes_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#define SHORT_PHD		24
#define LONG_PHD		40
#define REC_HDR			24
#define REC_CRC_OFF		20
#define MAX_REC_LEN		(1024u * 1024 * 1024)

#define XLP_FIRST_IS_CONTRECORD				0x0001
#define XLP_LONG_HEADER						0x0002
#define XLP_FIRST_IS_OVERWRITE_CONTRECORD	0x0008
#define XLP_ALL_FLAGS						0x000F

#define LSN_FMT			"%" PRIX32 "/%" PRIX32
#define LSN_ARGS(lsn)	(uint32_t) ((lsn) >> 32), (uint32_t) (lsn)

typedef enum DecResult
{
	DEC_OK,
	DEC_STOP,					/* the list is unusable; reason set */
	DEC_OOM,
	DEC_OVERWRITTEN				/* a continued record was overwritten */
} DecResult;

struct SbWalDecoder
{
	const SbWalChangesInput *in;
	SbWalChanges *ch;
	uint32_t	pagesz;
	unsigned char *seg;			/* the segment being read */
	uint64_t	segno;
	bool		have_seg;
	char		segname[SB_WAL_SEG_NAME_LEN + 1];
	uint64_t	checked_page;	/* the last page whose header passed */
	uint16_t	magic;			/* of the first page read */
	unsigned char *rec;			/* records spanning pages, reassembled */
	size_t		rec_cap;
};

static uint16_t
u16_at(const unsigned char *p)
{
	uint16_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
u32_at(const unsigned char *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
u64_at(const unsigned char *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * The timeline whose file holds segment segno: the newest timeline of the
 * history that started at or before that segment (the segment holding a
 * switch point is in the new timeline's file, old data before the switch).
 */
static unsigned int
timeline_of_segment(const SbWalChangesInput *in, uint64_t segno)
{
	for (int i = in->nhistory; i > 0; i--)
	{
		if (in->history[i - 1].end_lsn / in->segsize <= segno)
			return i == in->nhistory ? in->target_tli : in->history[i].tli;
	}
	return in->nhistory > 0 ? in->history[0].tli : in->target_tli;
}

static DecResult
load_segment(SbWalDecoder *d, uint64_t segno, uint64_t lsn)
{
	SbError		err;
	SbStatus	rc;

	sb_wal_segment_name(timeline_of_segment(d->in, segno), segno,
						d->in->segsize, d->segname);
	d->have_seg = false;
	sb_error_clear(&err);
	rc = d->in->read_segment(d->in->read_arg, d->segname, d->seg,
							 d->in->segsize, &err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_wc_unusable(d->ch, "WAL segment %s is not available (needed at " LSN_FMT ")",
					   d->segname, LSN_ARGS(lsn));
		return DEC_STOP;
	}
	if (rc == SB_ERR_NO_MEMORY)
		return DEC_OOM;
	if (rc != SB_OK)
	{
		sb_wc_unusable(d->ch, "could not read WAL segment %s: %s", d->segname, err.msg);
		return DEC_STOP;
	}
	d->segno = segno;
	d->have_seg = true;
	d->ch->stats.bytes_read += d->in->segsize;
	d->ch->stats.segments++;
	return DEC_OK;
}

static DecResult
bad_page(SbWalDecoder *d, uint64_t pageptr, const char *what)
{
	sb_wc_unusable(d->ch, "%s in WAL segment %s at " LSN_FMT,
				   what, d->segname, LSN_ARGS(pageptr));
	return DEC_STOP;
}

/* Check a page header; the long one of a segment's first page too. */
static DecResult
check_page(SbWalDecoder *d, const unsigned char *page, uint64_t pageptr)
{
	uint16_t	magic = u16_at(page);
	uint16_t	info = u16_at(page + 2);

	if (d->magic == 0 && (magic & 0xFF00) == 0xD100)
		d->magic = magic;
	if (magic != d->magic || magic == 0)
		return bad_page(d, pageptr, "invalid page magic number");
	if (info & ~XLP_ALL_FLAGS)
		return bad_page(d, pageptr, "invalid page info bits");
	if (u64_at(page + 8) != pageptr)
		return bad_page(d, pageptr, "unexpected page address (end of valid WAL)");
	if (pageptr % d->in->segsize == 0)
	{
		if (!(info & XLP_LONG_HEADER))
			return bad_page(d, pageptr, "missing long page header");
		if (u64_at(page + 24) != d->in->system_identifier)
			return bad_page(d, pageptr, "WAL of another database system");
		if (u32_at(page + 32) != d->in->segsize || u32_at(page + 36) != d->pagesz)
			return bad_page(d, pageptr, "unexpected segment or page size");
	}
	return DEC_OK;
}

/* The page at pageptr, its header checked; *hdr is the header's size. */
static DecResult
get_page(SbWalDecoder *d, uint64_t pageptr, const unsigned char **page,
		 uint32_t *hdr)
{
	uint64_t	segno = pageptr / d->in->segsize;
	DecResult	r;

	if (!d->have_seg || d->segno != segno)
	{
		r = load_segment(d, segno, pageptr);
		if (r != DEC_OK)
			return r;
		/* the segment's first page identifies the system, whatever we read */
		if (pageptr % d->in->segsize != 0 &&
			(r = check_page(d, d->seg, segno * d->in->segsize)) != DEC_OK)
			return r;
	}
	*page = d->seg + pageptr % d->in->segsize;
	if (d->checked_page != pageptr)
	{
		r = check_page(d, *page, pageptr);
		if (r != DEC_OK)
			return r;
		d->checked_page = pageptr;
	}
	*hdr = (u16_at(*page + 2) & XLP_LONG_HEADER) ? LONG_PHD : SHORT_PHD;
	return DEC_OK;
}

static DecResult
bad_record(SbWalDecoder *d, uint64_t lsn, const char *what)
{
	sb_wc_unusable(d->ch, "%s at " LSN_FMT " in WAL segment %s",
				   what, LSN_ARGS(lsn), d->segname);
	return DEC_STOP;
}

/* Copy the rest of a record from the pages after the one it starts on. */
static DecResult
gather_record(SbWalDecoder *d, uint64_t pos, uint32_t tot_len, uint32_t got,
			  uint64_t *endpos, uint64_t *restart)
{
	uint64_t	p = pos - pos % d->pagesz + d->pagesz;

	while (got < tot_len)
	{
		const unsigned char *page;
		uint32_t	hdr;
		uint32_t	n;
		DecResult	r = get_page(d, p, &page, &hdr);

		if (r != DEC_OK)
			return r;
		if (u16_at(page + 2) & XLP_FIRST_IS_OVERWRITE_CONTRECORD)
		{
			*restart = p;
			return DEC_OVERWRITTEN;
		}
		if (!(u16_at(page + 2) & XLP_FIRST_IS_CONTRECORD))
			return bad_record(d, p, "missing continuation of the record");
		if (u32_at(page + 16) != tot_len - got)
			return bad_record(d, p, "invalid continuation length");
		n = d->pagesz - hdr;
		if (n > tot_len - got)
			n = tot_len - got;
		memcpy(d->rec + got, page + hdr, n);
		got += n;
		*endpos = p + hdr + n;
		p += d->pagesz;
	}
	return DEC_OK;
}

/*
 * The record starting at pos (not on a page header): in place when it fits
 * its page, else reassembled.  *endpos is the position after its last byte.
 */
static DecResult
read_record(SbWalDecoder *d, uint64_t pos, const unsigned char **rec,
			uint64_t *endpos, uint64_t *restart)
{
	uint32_t	off = (uint32_t) (pos % d->pagesz);
	const unsigned char *page;
	uint32_t	hdr;
	uint32_t	tot_len;
	DecResult	r = get_page(d, pos - off, &page, &hdr);

	if (r != DEC_OK)
		return r;
	if (off < hdr)
		return bad_record(d, pos, "record position inside a page header");
	tot_len = u32_at(page + off);
	if (tot_len < REC_HDR || tot_len > MAX_REC_LEN)
		return bad_record(d, pos, "invalid record length");
	if (tot_len <= d->pagesz - off)
	{
		*rec = page + off;
		*endpos = pos + tot_len;
		return DEC_OK;
	}
	if (tot_len > d->rec_cap)
	{
		size_t		cap = tot_len < 65536 ? 65536 : tot_len;
		unsigned char *nb = realloc(d->rec, cap);

		if (nb == NULL)
			return DEC_OOM;
		d->rec = nb;
		d->rec_cap = cap;
	}
	memcpy(d->rec, page + off, d->pagesz - off);
	*rec = d->rec;
	return gather_record(d, pos, tot_len, d->pagesz - off, endpos, restart);
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
block_ref(SbWalDecoder *d, RecCursor *c, uint32_t rel[3], bool *have_rel,
		  SbStatus *rc)
{
	const unsigned char *h = take(c, 3);
	const unsigned char *q;
	uint8_t		flags;
	uint8_t		fork;

	if (h == NULL)
		return false;
	flags = h[0];
	c->datatotal += u16_at(h + 1);
	if (flags & BKPBLOCK_HAS_IMAGE)
	{
		if ((q = take(c, 5)) == NULL)
			return false;
		c->datatotal += u16_at(q);
		if ((q[4] & BKPIMAGE_HAS_HOLE) && (q[4] & BKPIMAGE_COMPRESSED) &&
			take(c, 2) == NULL)
			return false;
	}
	if (!(flags & BKPBLOCK_SAME_REL))
	{
		if ((q = take(c, 12)) == NULL)
			return false;
		rel[0] = u32_at(q);
		rel[1] = u32_at(q + 4);
		rel[2] = u32_at(q + 8);
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
		*rc = sb_wc_add_block(d->ch, rel[0], rel[1], rel[2], fork, u32_at(q));
	return true;
}

/*
 * Walk the headers after the record header: block references (added to
 * the set), then origin, top-level xid and main data length.  *main points
 * at the main data (at the record's end).
 */
static DecResult
decode_headers(SbWalDecoder *d, const unsigned char *rec, uint32_t len,
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
				*mainlen = id == XLR_BLOCK_ID_DATA_SHORT ? q[0] : u32_at(q);
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
		return DEC_OOM;
	if (!c.ok || c.remaining != c.datatotal)
		return bad_record(d, lsn, "invalid record headers");
	*main = rec + len - *mainlen;
	return DEC_OK;
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
static DecResult
parameter_change(SbWalDecoder *d, const unsigned char *m, uint32_t len,
				 uint64_t lsn)
{
	if (len < 25)
		return bad_record(d, lsn, "invalid parameter change record");
	if (u32_at(m + 20) == 0)
	{
		sb_wc_unusable(d->ch, "wal_level was set to minimal at " LSN_FMT, LSN_ARGS(lsn));
		return DEC_STOP;
	}
	if (m[24] == 0)
		d->ch->stats.hints_off_seen = true;
	return DEC_OK;
}

/* Records that change relation files without referring to their blocks. */
static DecResult
file_level_record(SbWalDecoder *d, uint8_t rmid, uint8_t info,
				  const unsigned char *m, uint32_t len, uint64_t lsn)
{
	SbStatus	rc = SB_OK;

	if (rmid == RM_SMGR_ID && (info == XLOG_SMGR_CREATE || info == XLOG_SMGR_TRUNCATE))
	{
		/* xl_smgr_create: locator at 0; xl_smgr_truncate: at 4 */
		uint32_t	at = info == XLOG_SMGR_CREATE ? 0 : 4;

		if (len < at + 12)
			return bad_record(d, lsn, "invalid storage record");
		rc = sb_wc_mark_rel(d->ch, u32_at(m + at), u32_at(m + at + 4), u32_at(m + at + 8));
	}
	else if (rmid == RM_DBASE_ID && (info == XLOG_DBASE_CREATE_FILE_COPY ||
									 info == XLOG_DBASE_CREATE_WAL_LOG))
	{
		/* db_id at 0, tablespace_id at 4 */
		if (len < 8)
			return bad_record(d, lsn, "invalid database record");
		rc = sb_wc_mark_dir(d->ch, u32_at(m + 4), u32_at(m), false);
	}
	else if (rmid == RM_DBASE_ID && info == XLOG_DBASE_DROP)
	{
		/* db_id at 0, ntablespaces at 4, tablespace_ids from 8 */
		uint32_t	n = len >= 8 ? u32_at(m + 4) : 0;

		if (len < 8 || (uint64_t) n * 4 > len - 8)
			return bad_record(d, lsn, "invalid database record");
		for (uint32_t i = 0; i < n && rc == SB_OK; i++)
			rc = sb_wc_mark_dir(d->ch, u32_at(m + 8 + 4 * i), u32_at(m), false);
	}
	else if (rmid == RM_TBLSPC_ID && (info == XLOG_TBLSPC_CREATE || info == XLOG_TBLSPC_DROP))
	{
		if (len < 4)
			return bad_record(d, lsn, "invalid tablespace record");
		rc = sb_wc_mark_dir(d->ch, u32_at(m), 0, true);
	}
	else if (rmid == RM_XLOG_ID && info == XLOG_PARAMETER_CHANGE)
		return parameter_change(d, m, len, lsn);
	return rc == SB_OK ? DEC_OK : DEC_OOM;
}

/* Check a whole record (prev-link, CRC) and take what it touched. */
static DecResult
take_record(SbWalDecoder *d, const unsigned char *rec, uint64_t lsn,
			uint64_t prev)
{
	uint32_t	len = u32_at(rec);
	uint32_t	crc;
	const unsigned char *main;
	uint32_t	mainlen;
	DecResult	r;

	if (prev != 0 && u64_at(rec + 8) != prev)
		return bad_record(d, lsn, "record with incorrect prev-link");
	crc = sb_crc32c_update(SB_CRC32C_INIT, rec + REC_HDR, len - REC_HDR);
	crc = SB_CRC32C_FINAL(sb_crc32c_update(crc, rec, REC_CRC_OFF));
	if (crc != u32_at(rec + REC_CRC_OFF))
		return bad_record(d, lsn, "incorrect record checksum");
	d->ch->stats.records++;
	r = decode_headers(d, rec, len, lsn, &main, &mainlen);
	if (r != DEC_OK)
		return r;
	return file_level_record(d, rec[17], rec[16] & 0xF0, main, mainlen, lsn);
}

/*
 * Position pos on a record start: past the header when it is at a page
 * boundary (that page must not begin with a continuation).
 */
static DecResult
skip_page_header(SbWalDecoder *d, uint64_t *pos)
{
	const unsigned char *page;
	uint32_t	hdr;
	DecResult	r;

	if (*pos % d->pagesz != 0)
		return DEC_OK;
	r = get_page(d, *pos, &page, &hdr);
	if (r != DEC_OK)
		return r;
	if (u16_at(page + 2) & XLP_FIRST_IS_CONTRECORD)
		return bad_record(d, *pos, "unexpected continuation record");
	*pos += hdr;
	return DEC_OK;
}

static DecResult
decode_loop(SbWalDecoder *d)
{
	const SbWalChangesInput *in = d->in;
	uint64_t	pos = in->start_lsn;
	uint64_t	prev = 0;

	for (;;)
	{
		const unsigned char *rec;
		uint64_t	endpos = 0;
		uint64_t	restart = 0;
		DecResult	r;

		if (pos % d->pagesz == 0 && pos >= in->end_lsn)
			return DEC_OK;		/* the next record starts past the end */
		if ((r = skip_page_header(d, &pos)) != DEC_OK)
			return r;
		if (pos > in->end_lsn || (pos == in->end_lsn && in->end_exclusive))
			return DEC_OK;
		r = read_record(d, pos, &rec, &endpos, &restart);
		if (r == DEC_OVERWRITTEN)
		{
			pos = restart;		/* the partial record never happened */
			prev = 0;
			continue;
		}
		if (r == DEC_OK)
			r = take_record(d, rec, pos, prev);
		if (r != DEC_OK || pos == in->end_lsn)
			return r;
		prev = pos;
		if (rec[17] == RM_XLOG_ID && (rec[16] & 0xF0) == XLOG_SWITCH)
			pos = (pos / in->segsize + 1) * in->segsize;
		else
			pos = (endpos + 7) & ~(uint64_t) 7;
	}
}

SbStatus
sb_wal_decode_range(const SbWalChangesInput *in, SbWalChanges *ch, SbError *err)
{
	SbWalDecoder d;
	DecResult	r;

	memset(&d, 0, sizeof(d));
	d.in = in;
	d.ch = ch;
	d.pagesz = in->xlog_blcksz != 0 ? in->xlog_blcksz : 8192;
	d.checked_page = UINT64_MAX;
	d.seg = malloc(in->segsize);
	if (d.seg == NULL)
		return sb_error_oom(err);
	r = decode_loop(&d);
	free(d.seg);
	free(d.rec);
	if (r == DEC_OOM)
		return sb_error_oom(err);
	return SB_OK;
}
