/*-------------------------------------------------------------------------
 *
 * wal_writer.c
 *		The test-only WAL writer (see wal_writer.h).
 *
 *-------------------------------------------------------------------------
 */
#include "wal_writer.h"

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "wal_timeline.h"

static void page_header(TestWal *w, uint32_t rem);

void
tw_init(TestWal *w, uint32_t segsize, uint64_t start)
{
	memset(w, 0, sizeof(*w));
	w->segsize = segsize;
	w->sysid = 7000000000000000001ull;
	w->view_seg = -1;
	for (int i = 0; i < TW_MAX_SEGS; i++)
	{
		w->seg[i] = calloc(1, segsize);
		w->tli[i] = 1;
	}
	w->pos = start - start % TW_PAGE;
	page_header(w, 0);			/* of the page holding the start */
	w->pos = start;
}

void
tw_free(TestWal *w)
{
	for (int i = 0; i < TW_MAX_SEGS; i++)
		free(w->seg[i]);
	free(w->view);
}

void
tr_begin(TestRec *r, uint8_t rmid, uint8_t info)
{
	r->rmid = rmid;
	r->info = info;
	r->nhdrs = 0;
	r->npayload = 0;
}

static void
put(unsigned char *buf, uint32_t *n, const void *v, uint32_t len)
{
	memcpy(buf + *n, v, len);
	*n += len;
}

static void
pad_payload(TestRec *r, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		r->payload[r->npayload++] = (unsigned char) (i * 7 + 1);
}

static void
block_header(TestRec *r, uint8_t id, uint8_t flags, uint16_t data_len)
{
	put(r->hdrs, &r->nhdrs, &id, 1);
	put(r->hdrs, &r->nhdrs, &flags, 1);
	put(r->hdrs, &r->nhdrs, &data_len, 2);
}

static void
block_tail(TestRec *r, bool same_rel, uint32_t spc, uint32_t db, uint32_t rel,
		   uint32_t blk)
{
	if (!same_rel)
	{
		put(r->hdrs, &r->nhdrs, &spc, 4);
		put(r->hdrs, &r->nhdrs, &db, 4);
		put(r->hdrs, &r->nhdrs, &rel, 4);
	}
	put(r->hdrs, &r->nhdrs, &blk, 4);
}

void
tr_block(TestRec *r, uint8_t id, uint8_t fork, bool same_rel, uint32_t spc,
		 uint32_t db, uint32_t rel, uint32_t blk, uint16_t data_len)
{
	block_header(r, id, (uint8_t) (fork | (data_len ? 0x20 : 0) | (same_rel ? 0x80 : 0)),
				 data_len);
	block_tail(r, same_rel, spc, db, rel, blk);
	pad_payload(r, data_len);
}

void
tr_block_image(TestRec *r, uint8_t id, uint32_t spc, uint32_t db, uint32_t rel,
			   uint32_t blk, uint16_t img_len, bool hole, bool compressed)
{
	uint16_t	hole_offset = hole ? 100 : 0;
	uint8_t		info = (uint8_t) ((hole ? 0x01 : 0) | 0x02 | (compressed ? 0x08 : 0));

	block_header(r, id, 0x10, 0);
	put(r->hdrs, &r->nhdrs, &img_len, 2);
	put(r->hdrs, &r->nhdrs, &hole_offset, 2);
	put(r->hdrs, &r->nhdrs, &info, 1);
	if (hole && compressed)
	{
		uint16_t	hole_length = 400;

		put(r->hdrs, &r->nhdrs, &hole_length, 2);
	}
	block_tail(r, false, spc, db, rel, blk);
	pad_payload(r, img_len);
}

void
tr_origin_xid(TestRec *r)
{
	uint8_t		id = 253;
	uint16_t	origin = 3;
	uint32_t	xid = 1234;

	put(r->hdrs, &r->nhdrs, &id, 1);
	put(r->hdrs, &r->nhdrs, &origin, 2);
	id = 252;
	put(r->hdrs, &r->nhdrs, &id, 1);
	put(r->hdrs, &r->nhdrs, &xid, 4);
}

void
tr_main(TestRec *r, const void *data, uint32_t len)
{
	uint8_t		id = len < 256 ? 255 : 254;

	put(r->hdrs, &r->nhdrs, &id, 1);
	if (len < 256)
	{
		uint8_t		l8 = (uint8_t) len;

		put(r->hdrs, &r->nhdrs, &l8, 1);
	}
	else
		put(r->hdrs, &r->nhdrs, &len, 4);
	if (data != NULL)
		put(r->payload, &r->npayload, data, len);
	else
		pad_payload(r, len);
}

static unsigned char *
at(TestWal *w, uint64_t lsn)
{
	return w->seg[lsn / w->segsize] + lsn % w->segsize;
}

/* Write the header of the page starting at w->pos; rem is xlp_rem_len. */
static void
page_header(TestWal *w, uint32_t rem)
{
	unsigned char *p = at(w, w->pos);
	bool		first = w->pos % w->segsize == 0;
	uint16_t	magic = 0xD110;
	uint16_t	info = (uint16_t) ((rem ? 0x01 : 0) | (first ? 0x02 : 0));
	uint32_t	tli = w->tli[w->pos / w->segsize];
	uint32_t	pagesz = TW_PAGE;

	memset(p, 0, first ? 40 : 24);
	memcpy(p, &magic, 2);
	memcpy(p + 2, &info, 2);
	memcpy(p + 4, &tli, 4);
	memcpy(p + 8, &w->pos, 8);
	memcpy(p + 16, &rem, 4);
	if (first)
	{
		memcpy(p + 24, &w->sysid, 8);
		memcpy(p + 32, &w->segsize, 4);
		memcpy(p + 36, &pagesz, 4);
	}
	w->pos += first ? 40 : 24;
}

void
tw_overwrite_from(TestWal *w, uint64_t pageptr)
{
	w->pos = pageptr;
	page_header(w, 0);
	at(w, pageptr)[2] |= 0x08;	/* XLP_FIRST_IS_OVERWRITE_CONTRECORD */
}

uint64_t
tw_append(TestWal *w, TestRec *r)
{
	static unsigned char rec[TW_MAX_REC + 4096 + 24];
	uint32_t	len = 24 + r->nhdrs + r->npayload;
	uint32_t	xid = 0;
	uint32_t	crc;
	uint32_t	done = 0;
	uint64_t	start;

	memcpy(rec, &len, 4);
	memcpy(rec + 4, &xid, 4);
	memcpy(rec + 8, &w->prev, 8);
	rec[16] = r->info;
	rec[17] = r->rmid;
	rec[18] = rec[19] = 0;
	memcpy(rec + 24, r->hdrs, r->nhdrs);
	memcpy(rec + 24 + r->nhdrs, r->payload, r->npayload);
	crc = sb_crc32c_update(SB_CRC32C_INIT, rec + 24, len - 24);
	crc = SB_CRC32C_FINAL(sb_crc32c_update(crc, rec, 20));
	memcpy(rec + 20, &crc, 4);

	if (w->pos % TW_PAGE == 0)
		page_header(w, 0);
	start = w->pos;
	while (done < len)
	{
		uint32_t	space = TW_PAGE - (uint32_t) (w->pos % TW_PAGE);
		uint32_t	n = len - done < space ? len - done : space;

		memcpy(at(w, w->pos), rec + done, n);
		done += n;
		w->pos += n;
		if (done < len)
			page_header(w, len - done);
	}
	w->pos = (w->pos + 7) & ~(uint64_t) 7;
	w->prev = start;
	if (r->rmid == 0 && r->info == 0x40)	/* XLOG_SWITCH */
		w->pos = (start / w->segsize + 1) * w->segsize;
	return start;
}

SbStatus
tw_read_segment(void *arg, const char *walname, size_t need,
				const unsigned char **seg, size_t *avail, SbError *err)
{
	TestWal    *w = arg;
	unsigned int tli;
	uint64_t	segno;

	w->reads++;
	if (!sb_wal_parse_segment(walname, w->segsize, &tli, &segno) ||
		segno >= TW_MAX_SEGS || w->missing[segno] || w->tli[segno] != tli)
		return sb_error_set(err, SB_ERR_NOT_FOUND, "no such segment %s", walname);
	if (need > w->asked[segno])
		w->asked[segno] = need;
	*seg = w->seg[segno];
	*avail = w->segsize;
	if (w->step == 0)
		return SB_OK;
	/*
	 * As a reader still filling the segment would: what is asked, in steps,
	 * in memory where the bytes not handed over yet are garbage.
	 */
	if ((need + w->step - 1) / w->step * w->step < w->segsize)
		*avail = (need + w->step - 1) / w->step * w->step;
	if (w->view == NULL)
		w->view = malloc(w->segsize);
	if (w->view_seg != (int) segno)
	{
		memset(w->view, 0xA5, w->segsize);
		w->view_seg = (int) segno;
		w->view_avail = 0;
	}
	if (*avail > w->view_avail)
	{
		memcpy(w->view + w->view_avail, w->seg[segno] + w->view_avail, *avail - w->view_avail);
		w->view_avail = *avail;
	}
	*seg = w->view;
	return SB_OK;
}
