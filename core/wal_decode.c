/*-------------------------------------------------------------------------
 *
 * wal_decode.c
 *		Walk WAL pages from one LSN to another, reassemble each record and
 *		hand it to wal_record.c.
 *
 * The format (identical in PostgreSQL 15 to 18, checked against their
 * access/xlogrecord.h and access/xlog_internal.h): 8 kB pages, each with a
 * 24-byte header (40 bytes on a segment's first page, with the system
 * identifier and sizes); records 8-byte aligned, continuing across pages
 * (XLP_FIRST_IS_CONTRECORD, xlp_rem_len) and segments; a 24-byte record
 * header whose CRC-32C covers the data after the header, then the header
 * up to the CRC field.  A page whose address is not the expected one is
 * the end of valid WAL (a recycled segment).  Anything unexpected makes
 * the list unusable: it is never partial.  The reader may hand a segment
 * over in parts as it comes in (wal_changes.h): the decoder asks again
 * when it gets past what it has, so it decodes what is there while the
 * rest is still being read.
 *
 *-------------------------------------------------------------------------
 */
#include "wal_changes_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_PHD		24
#define LONG_PHD		40
#define REC_HDR			24
#define MAX_REC_LEN		(1024u * 1024 * 1024)

#define XLP_FIRST_IS_CONTRECORD				0x0001
#define XLP_LONG_HEADER						0x0002
#define XLP_FIRST_IS_OVERWRITE_CONTRECORD	0x0008
#define XLP_ALL_FLAGS						0x000F

#define RM_XLOG_ID		0
#define XLOG_SWITCH		0x40

struct SbWalDecoder
{
	const SbWalChangesInput *in;
	SbWalChanges *ch;
	uint32_t	pagesz;
	const unsigned char *seg;	/* the segment being read (the reader's) */
	size_t		avail;			/* how many of its bytes are there yet */
	uint64_t	segno;
	bool		have_seg;
	char		segname[SB_WAL_SEG_NAME_LEN + 1];
	uint64_t	checked_page;	/* the last page whose header passed */
	uint16_t	magic;			/* of the first page read */
	unsigned char *rec;			/* records spanning pages, reassembled */
	size_t		rec_cap;
};

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

/* The reader failed: the segment is missing, or the list is unusable. */
static SbWalDecResult
read_failed(SbWalDecoder *d, SbStatus rc, const SbError *err, uint64_t lsn)
{
	d->have_seg = false;
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_wc_unusable(d->ch, "WAL segment %s is not available (needed at " SB_LSN_FMT ")",
					   d->segname, SB_LSN_ARGS(lsn));
		return SB_WAL_DEC_STOP;
	}
	if (rc == SB_ERR_NO_MEMORY)
		return SB_WAL_DEC_OOM;
	sb_wc_unusable(d->ch, "could not read WAL segment %s: %s", d->segname, err->msg);
	return SB_WAL_DEC_STOP;
}

/*
 * The first need bytes of the segment segno readable (of the one being
 * read when it is that segment; else it becomes the one being read).
 */
static SbWalDecResult
need_bytes(SbWalDecoder *d, uint64_t segno, size_t need, uint64_t lsn)
{
	SbError		err;
	SbStatus	rc;
	bool		same = d->have_seg && d->segno == segno;

	if (same && need <= d->avail)
		return SB_WAL_DEC_OK;
	if (!same)
		sb_wal_segment_name(timeline_of_segment(d->in, segno), segno,
							d->in->segsize, d->segname);
	sb_error_clear(&err);
	rc = d->in->read_segment(d->in->read_arg, d->segname, need, &d->seg,
							 &d->avail, &err);
	if (rc == SB_OK && (d->avail < need || d->avail > d->in->segsize))
		rc = sb_error_set(&err, SB_ERR_INTERNAL, "the reader handed over %zu of %zu bytes",
						  d->avail, need);
	if (rc != SB_OK)
		return read_failed(d, rc, &err, lsn);
	if (!same)
	{
		d->segno = segno;
		d->have_seg = true;
		d->ch->stats.bytes_read += d->in->segsize;
		d->ch->stats.segments++;
	}
	return SB_WAL_DEC_OK;
}

static SbWalDecResult
bad_page(SbWalDecoder *d, uint64_t pageptr, const char *what)
{
	sb_wc_unusable(d->ch, "%s in WAL segment %s at " SB_LSN_FMT,
				   what, d->segname, SB_LSN_ARGS(pageptr));
	return SB_WAL_DEC_STOP;
}

/* Check a page header; the long one of a segment's first page too. */
static SbWalDecResult
check_page(SbWalDecoder *d, const unsigned char *page, uint64_t pageptr)
{
	uint16_t	magic = sb_wal_u16(page);
	uint16_t	info = sb_wal_u16(page + 2);

	if (d->magic == 0 && (magic & 0xFF00) == 0xD100)
		d->magic = magic;
	if (magic != d->magic || magic == 0)
		return bad_page(d, pageptr, "invalid page magic number");
	if (info & ~XLP_ALL_FLAGS)
		return bad_page(d, pageptr, "invalid page info bits");
	if (sb_wal_u64(page + 8) != pageptr)
		return bad_page(d, pageptr, "unexpected page address (end of valid WAL)");
	if (pageptr % d->in->segsize == 0)
	{
		if (!(info & XLP_LONG_HEADER))
			return bad_page(d, pageptr, "missing long page header");
		if (sb_wal_u64(page + 24) != d->in->system_identifier)
			return bad_page(d, pageptr, "WAL of another database system");
		if (sb_wal_u32(page + 32) != d->in->segsize || sb_wal_u32(page + 36) != d->pagesz)
			return bad_page(d, pageptr, "unexpected segment or page size");
	}
	return SB_WAL_DEC_OK;
}

/* The page at pageptr, its header checked; *hdr is the header's size. */
static SbWalDecResult
get_page(SbWalDecoder *d, uint64_t pageptr, const unsigned char **page,
		 uint32_t *hdr)
{
	uint64_t	segno = pageptr / d->in->segsize;
	bool		new_seg = !d->have_seg || d->segno != segno;
	SbWalDecResult r;

	r = need_bytes(d, segno, (size_t) (pageptr % d->in->segsize) + d->pagesz, pageptr);
	if (r != SB_WAL_DEC_OK)
		return r;
	/* the segment's first page identifies the system, whatever we read */
	if (new_seg && pageptr % d->in->segsize != 0 &&
		(r = check_page(d, d->seg, segno * d->in->segsize)) != SB_WAL_DEC_OK)
		return r;
	*page = d->seg + pageptr % d->in->segsize;
	if (d->checked_page != pageptr)
	{
		r = check_page(d, *page, pageptr);
		if (r != SB_WAL_DEC_OK)
			return r;
		d->checked_page = pageptr;
	}
	*hdr = (sb_wal_u16(*page + 2) & XLP_LONG_HEADER) ? LONG_PHD : SHORT_PHD;
	return SB_WAL_DEC_OK;
}

static SbWalDecResult
bad_record(SbWalDecoder *d, uint64_t lsn, const char *what)
{
	sb_wc_unusable(d->ch, "%s at " SB_LSN_FMT " in WAL segment %s",
				   what, SB_LSN_ARGS(lsn), d->segname);
	return SB_WAL_DEC_STOP;
}

/* Copy the rest of a record from the pages after the one it starts on. */
static SbWalDecResult
gather_record(SbWalDecoder *d, uint64_t pos, uint32_t tot_len, uint32_t got,
			  uint64_t *endpos, uint64_t *restart)
{
	uint64_t	p = pos - pos % d->pagesz + d->pagesz;

	while (got < tot_len)
	{
		const unsigned char *page;
		uint32_t	hdr;
		uint32_t	n;
		SbWalDecResult r = get_page(d, p, &page, &hdr);

		if (r != SB_WAL_DEC_OK)
			return r;
		if (sb_wal_u16(page + 2) & XLP_FIRST_IS_OVERWRITE_CONTRECORD)
		{
			*restart = p;
			return SB_WAL_DEC_OVERWRITTEN;
		}
		if (!(sb_wal_u16(page + 2) & XLP_FIRST_IS_CONTRECORD))
			return bad_record(d, p, "missing continuation of the record");
		if (sb_wal_u32(page + 16) != tot_len - got)
			return bad_record(d, p, "invalid continuation length");
		n = d->pagesz - hdr;
		if (n > tot_len - got)
			n = tot_len - got;
		memcpy(d->rec + got, page + hdr, n);
		got += n;
		*endpos = p + hdr + n;
		p += d->pagesz;
	}
	return SB_WAL_DEC_OK;
}

/*
 * The record starting at pos (not on a page header): in place when it fits
 * its page, else reassembled.  *endpos is the position after its last byte.
 */
static SbWalDecResult
read_record(SbWalDecoder *d, uint64_t pos, const unsigned char **rec,
			uint64_t *endpos, uint64_t *restart)
{
	uint32_t	off = (uint32_t) (pos % d->pagesz);
	const unsigned char *page;
	uint32_t	hdr;
	uint32_t	tot_len;
	SbWalDecResult r = get_page(d, pos - off, &page, &hdr);

	if (r != SB_WAL_DEC_OK)
		return r;
	if (off < hdr)
		return bad_record(d, pos, "record position inside a page header");
	tot_len = sb_wal_u32(page + off);
	if (tot_len < REC_HDR || tot_len > MAX_REC_LEN)
		return bad_record(d, pos, "invalid record length");
	if (tot_len <= d->pagesz - off)
	{
		*rec = page + off;
		*endpos = pos + tot_len;
		return SB_WAL_DEC_OK;
	}
	if (tot_len > d->rec_cap)
	{
		size_t		cap = tot_len < 65536 ? 65536 : tot_len;
		unsigned char *nb = realloc(d->rec, cap);

		if (nb == NULL)
			return SB_WAL_DEC_OOM;
		d->rec = nb;
		d->rec_cap = cap;
	}
	memcpy(d->rec, page + off, d->pagesz - off);
	*rec = d->rec;
	return gather_record(d, pos, tot_len, d->pagesz - off, endpos, restart);
}


/*
 * Position pos on a record start: past the header when it is at a page
 * boundary (that page must not begin with a continuation).
 */
static SbWalDecResult
skip_page_header(SbWalDecoder *d, uint64_t *pos)
{
	const unsigned char *page;
	uint32_t	hdr;
	SbWalDecResult r;

	if (*pos % d->pagesz != 0)
		return SB_WAL_DEC_OK;
	r = get_page(d, *pos, &page, &hdr);
	if (r != SB_WAL_DEC_OK)
		return r;
	if (sb_wal_u16(page + 2) & XLP_FIRST_IS_CONTRECORD)
		return bad_record(d, *pos, "unexpected continuation record");
	*pos += hdr;
	return SB_WAL_DEC_OK;
}

static SbWalDecResult
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
		SbWalDecResult r;

		if (pos % d->pagesz == 0 && pos >= in->end_lsn)
			return SB_WAL_DEC_OK;		/* the next record starts past the end */
		if ((r = skip_page_header(d, &pos)) != SB_WAL_DEC_OK)
			return r;
		if (pos > in->end_lsn || (pos == in->end_lsn && in->end_exclusive))
			return SB_WAL_DEC_OK;
		r = read_record(d, pos, &rec, &endpos, &restart);
		if (r == SB_WAL_DEC_OVERWRITTEN)
		{
			pos = restart;		/* the partial record never happened */
			prev = 0;
			continue;
		}
		if (r == SB_WAL_DEC_OK)
			r = sb_wal_record_take(d->ch, rec, pos, prev, d->segname);
		if (r != SB_WAL_DEC_OK || pos == in->end_lsn)
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
	SbWalDecResult r;

	memset(&d, 0, sizeof(d));
	d.in = in;
	d.ch = ch;
	d.pagesz = in->xlog_blcksz != 0 ? in->xlog_blcksz : 8192;
	d.checked_page = UINT64_MAX;
	r = decode_loop(&d);
	free(d.rec);
	if (r == SB_WAL_DEC_OOM)
		return sb_error_oom(err);
	/* what the reader handed over before checking it must have passed */
	if (ch->usable && in->read_end != NULL)
	{
		SbError		e;
		SbStatus	rc;

		sb_error_clear(&e);
		rc = in->read_end(in->read_arg, &e);
		if (rc == SB_ERR_NO_MEMORY)
			return sb_error_oom(err);
		if (rc != SB_OK)
			sb_wc_unusable(ch, "%s", e.msg);
	}
	return SB_OK;
}
