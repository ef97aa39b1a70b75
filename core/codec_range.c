/*-------------------------------------------------------------------------
 *
 * codec_range.c
 *		Ranged fetch of a stored file (sb_codec_fetch_range, codec.h): the
 *		frames of a seekable file that cover a range of its plain content,
 *		found through its seek table (seek_table.h), so that restoring a
 *		few blocks of a large file reads and decodes only those frames.
 *
 * The table is read from the file's tail (one ranged read, a second one
 * only for a table longer than SB_SEEK_TAIL_READ), checked against the
 * manifest's stored and plain sizes, and each frame is decoded on its own
 * so that its plain size must be exactly the table's.
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"
#include "block_sum.h"
#include "seek_table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* how much of a file's tail is read at first: the table of a 2 GiB file */
#define SB_SEEK_TAIL_READ	((size_t) 16 * 1024)

/* ----------------------------------------------------------------
 *		A pass-through that keeps finish from reaching the sink, so that
 *		one sink takes the frames decoded one after the other
 * ----------------------------------------------------------------
 */

static SbStatus
hold_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	return sb_filter_push(f, buf, len, err);
}

static SbStatus
hold_finish(SbFilter *f, SbError *err)
{
	(void) f;
	(void) err;
	return SB_OK;
}

static void
hold_free(SbFilter *f)
{
	free(f);
}

static SbFilter *
hold_new(SbFilter *next)
{
	SbFilter   *f = calloc(1, sizeof(SbFilter));

	if (f == NULL)
		return NULL;
	f->write = hold_write;
	/* the frames decode straight into the sink's buffer, where it has one */
	f->space = sb_filter_space_next;
	f->finish = hold_finish;
	f->free = hold_free;
	f->next = next;
	return f;
}

/* ----------------------------------------------------------------
 *		Reading stored bytes
 * ----------------------------------------------------------------
 */

static SbStatus
unsupported(const char *path, const char *why, SbError *err)
{
	sb_error_set(err, SB_ERR_UNSUPPORTED,
				 "repository file \"%s\" cannot be read by ranges", path);
	sb_error_detail(err, "%s", why);
	return SB_ERR_UNSUPPORTED;
}

static SbStatus
table_damaged(const char *path, const char *detail, SbError *err)
{
	sb_error_set(err, SB_ERR_CORRUPT,
				 "seek table of repository file \"%s\" is damaged", path);
	sb_error_detail(err, "%s", detail);
	return SB_ERR_CORRUPT;
}

static SbStatus
file_short(const char *path, uint64_t end, SbError *err)
{
	return sb_error_set(err, SB_ERR_CORRUPT,
						"repository file \"%s\" ends before offset %" PRIu64 " that its seek table or the manifest names",
						path, end);
}

/* Read exactly len bytes from r into buf; shorter is SB_ERR_CORRUPT. */
static SbStatus
read_exact(SbStorage *st, SbReader *r, const char *path, uint8_t *buf,
		   size_t len, uint64_t end, SbError *err)
{
	while (len > 0)
	{
		size_t		nread = 0;
		SbStatus	rc = sb_storage_read(st, r, buf, len, &nread, err);

		if (rc != SB_OK)
			return rc;
		if (nread == 0)
			return file_short(path, end, err);
		buf += nread;
		len -= nread;
	}
	return SB_OK;
}

/* Read len stored bytes at offset of path into buf. */
static SbStatus
read_at(SbStorage *st, const char *path, uint64_t offset, uint8_t *buf,
		size_t len, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;

	rc = sb_storage_read_open_at(st, path, offset, len, &r, err);
	if (rc != SB_OK)
		return rc;
	rc = read_exact(st, r, path, buf, len, offset + len, err);
	sb_storage_read_close(st, r);
	return rc;
}

/*
 * Read the last len bytes of a file of stored_size bytes (the manifest's)
 * into buf, and make sure it is no longer: a footer looked for in the
 * wrong place would make a damaged file look merely unseekable.
 */
static SbStatus
read_tail(SbStorage *st, const char *path, uint64_t stored_size, uint8_t *buf,
		  size_t len, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;
	uint8_t		extra;
	size_t		nread = 0;

	rc = sb_storage_read_open_at(st, path, stored_size - len, len + 1, &r, err);
	if (rc != SB_OK)
		return rc;
	rc = read_exact(st, r, path, buf, len, stored_size, err);
	if (rc == SB_OK)
		rc = sb_storage_read(st, r, &extra, 1, &nread, err);
	sb_storage_read_close(st, r);
	if (rc == SB_OK && nread > 0)
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "repository file \"%s\" is longer than the %" PRIu64 " bytes the manifest names",
						  path, stored_size);
	return rc;
}

/* ----------------------------------------------------------------
 *		The seek table
 * ----------------------------------------------------------------
 */

/*
 * Check the frames of l against the manifest's sizes: they and the table
 * fill the stored file, decode to the plain size, and every frame but the
 * last holds whole blocks (so a frame's start is a block's).
 */
static const char *
table_check(const SbSeekList *l, uint64_t table_len, uint64_t stored_size,
			uint64_t plain_size)
{
	uint64_t	stored = table_len;
	uint64_t	plain = 0;

	for (uint32_t i = 0; i < l->n; i++)
	{
		if (l->e[i].stored == 0)
			return "a frame has no stored bytes";
		if (i + 1 < l->n &&
			(l->e[i].plain == 0 || l->e[i].plain % SB_BLOCK_SIZE != 0))
			return "a frame other than the last does not hold whole blocks";
		stored += l->e[i].stored;
		plain += l->e[i].plain;
	}
	if (stored != stored_size)
		return "its frames and the table do not add up to the stored size of the file";
	if (plain != plain_size)
		return "its frames do not add up to the size of the file";
	return NULL;
}

/*
 * The seek table of path into l: SB_ERR_UNSUPPORTED when the file has
 * none, SB_ERR_CORRUPT when it does not agree with the sizes.
 */
static SbStatus
load_table(SbStorage *st, const char *path, uint64_t stored_size,
		   uint64_t plain_size, SbSeekList *l, SbError *err)
{
	size_t		tail_len;
	uint8_t    *tail;
	uint8_t    *table;
	uint64_t	table_len;
	uint32_t	n;
	size_t		entry_len;
	const char *detail;
	SbStatus	rc;

	memset(l, 0, sizeof(SbSeekList));
	if (stored_size < SB_SEEK_HEADER_LEN + SB_SEEK_FOOTER_LEN)
		return unsupported(path, "It is too small to hold a seek table.", err);
	tail_len = stored_size < SB_SEEK_TAIL_READ ? (size_t) stored_size :
		SB_SEEK_TAIL_READ;
	tail = malloc(tail_len);
	if (tail == NULL)
		return sb_error_oom(err);
	rc = read_tail(st, path, stored_size, tail, tail_len, err);
	if (rc != SB_OK)
	{
		free(tail);
		return rc;
	}
	if (!sb_seek_footer_parse(tail + tail_len - SB_SEEK_FOOTER_LEN, &n,
							  &entry_len, &detail))
	{
		free(tail);
		return unsupported(path, "It has no seek table: it was stored in one frame.", err);
	}
	if (detail != NULL)
	{
		free(tail);
		return table_damaged(path, detail, err);
	}
	/* a frame holds at least a block, but the last: bounds what we allocate */
	if (n > plain_size / SB_BLOCK_SIZE + 1)
	{
		free(tail);
		return table_damaged(path, "It lists more frames than the file has blocks.", err);
	}
	table_len = sb_seek_table_len(n, entry_len);
	if (table_len > stored_size)
	{
		free(tail);
		return table_damaged(path, "It is longer than the file.", err);
	}
	if (table_len <= tail_len)
		table = tail + (tail_len - table_len);
	else
	{
		free(tail);
		tail = malloc((size_t) table_len);
		if (tail == NULL)
			return sb_error_oom(err);
		rc = read_at(st, path, stored_size - table_len, tail,
					 (size_t) table_len, err);
		if (rc != SB_OK)
		{
			free(tail);
			return rc;
		}
		table = tail;
	}
	detail = sb_seek_table_parse(table, (size_t) table_len, l);
	free(tail);
	if (detail != NULL && strcmp(detail, "out of memory") == 0)
		return sb_error_oom(err);
	if (detail == NULL)
		detail = table_check(l, table_len, stored_size, plain_size);
	if (detail != NULL)
	{
		sb_seek_list_free(l);
		return table_damaged(path, detail, err);
	}
	return SB_OK;
}

/* Can path be read by ranges at all?  SB_ERR_UNSUPPORTED when not. */
static SbStatus
ranges_possible(SbStorage *st, const char *path, SbCompressType compress_type,
				uint64_t stored_size, uint64_t plain_size, SbError *err)
{
	/* the cipher's chunks shift every offset: no table is written there */
	if (st->cfg.cipher_type != SB_CIPHER_NONE || st->cipher != NULL)
		return unsupported(path, "The stanza is encrypted.", err);
	if (compress_type == SB_COMPRESS_ZLIB)
		return unsupported(path, "It is compressed with zlib, which has no frames.", err);
	if (compress_type == SB_COMPRESS_NONE && stored_size != plain_size)
		return unsupported(path, "It holds only some blocks of the file.", err);
	return SB_OK;
}

SbStatus
sb_codec_seek_table(SbStorage *st, const char *path,
					SbCompressType compress_type, uint64_t stored_size,
					uint64_t plain_size, SbSeekList *frames, SbError *err)
{
	SbStatus	rc;

	memset(frames, 0, sizeof(SbSeekList));
	rc = ranges_possible(st, path, compress_type, stored_size, plain_size, err);
	if (rc == SB_OK && compress_type == SB_COMPRESS_NONE)
		rc = unsupported(path, "It is stored uncompressed, without frames.", err);
	if (rc == SB_OK)
		rc = load_table(st, path, stored_size, plain_size, frames, err);
	return rc;
}

/* ----------------------------------------------------------------
 *		Fetching frames
 * ----------------------------------------------------------------
 */

/*
 * Decode the next frame of r (e->stored bytes) into sink (not finished):
 * it must be one whole frame of exactly e->plain bytes.
 */
static SbStatus
fetch_frame(SbStorage *st, SbReader *r, const char *path,
			SbCompressType compress_type, const SbSeekEntry *e,
			uint64_t stored_offset, uint8_t *buf, SbFilter *sink,
			SbError *err)
{
	SbFilter   *hold = hold_new(sink);
	SbFilter   *count = hold ? sb_filter_count_new(hold) : NULL;
	SbFilter   *decomp = count ? sb_filter_decompress_new(compress_type, count) : NULL;
	uint64_t	left = e->stored;
	SbStatus	rc = SB_OK;

	if (decomp == NULL)
		rc = sb_error_oom(err);
	else
		sb_decompress_set_label(decomp, path);
	while (rc == SB_OK && left > 0)
	{
		size_t		want = left < SB_CODEC_BUFSIZE ? (size_t) left : SB_CODEC_BUFSIZE;

		rc = read_exact(st, r, path, buf, want, stored_offset + e->stored, err);
		if (rc == SB_OK)
			rc = sb_filter_write(decomp, buf, want, err);
		left -= want;
	}
	if (rc == SB_OK)
		rc = sb_filter_finish(decomp, err);
	if (rc == SB_OK && sb_filter_count_bytes(count) != e->plain)
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "frame at offset %" PRIu64 " of repository file \"%s\" holds %" PRIu64 " bytes, but its seek table says %u",
						  stored_offset, path, sb_filter_count_bytes(count),
						  e->plain);
	if (decomp != NULL)
		decomp->free(decomp);
	if (count != NULL)
		count->free(count);
	if (hold != NULL)
		hold->free(hold);
	return rc;
}

/* Push stored bytes [offset, offset + len) of path into sink (not finished). */
static SbStatus
fetch_plain(SbStorage *st, const char *path, uint64_t offset, uint64_t len,
			uint8_t *buf, SbFilter *sink, SbError *err)
{
	SbReader   *r;
	SbStatus	rc;

	rc = sb_storage_read_open_at(st, path, offset, len, &r, err);
	while (rc == SB_OK && len > 0)
	{
		size_t		want = len < SB_CODEC_BUFSIZE ? (size_t) len : SB_CODEC_BUFSIZE;

		rc = read_exact(st, r, path, buf, want, offset + want, err);
		if (rc == SB_OK)
			rc = sb_filter_write(sink, buf, want, err);
		offset += want;
		len -= want;
	}
	if (r != NULL)
		sb_storage_read_close(st, r);
	return rc;
}

/* Push the frames of l covering [offset, offset + len) (len > 0) into sink. */
static SbStatus
fetch_frames(SbStorage *st, const char *path, SbCompressType compress_type,
			 const SbSeekList *l, uint64_t offset, uint64_t len, uint8_t *buf,
			 SbFilter *sink, uint64_t *got_offset, SbError *err)
{
	uint64_t	plain = 0;
	uint64_t	stored = 0;
	uint64_t	stored_len = 0;
	uint32_t	first;
	uint32_t	last;
	SbReader   *r;
	SbStatus	rc;

	/* the first frame that ends past offset, the last that begins before the end */
	for (first = 0; first < l->n && plain + l->e[first].plain <= offset; first++)
	{
		plain += l->e[first].plain;
		stored += l->e[first].stored;
	}
	*got_offset = plain;
	for (last = first; last < l->n; last++)
	{
		stored_len += l->e[last].stored;
		plain += l->e[last].plain;
		if (plain >= offset + len)
			break;
	}
	if (last == l->n)
		last--;					/* table_check: the frames reach plain_size */

	rc = sb_storage_read_open_at(st, path, stored, stored_len, &r, err);
	for (uint32_t i = first; rc == SB_OK && i <= last; i++)
	{
		rc = fetch_frame(st, r, path, compress_type, &l->e[i], stored, buf,
						 sink, err);
		stored += l->e[i].stored;
	}
	if (r != NULL)
		sb_storage_read_close(st, r);
	return rc;
}

SbStatus
sb_codec_fetch_range(SbStorage *st, const char *path,
					 SbCompressType compress_type, uint64_t stored_size,
					 uint64_t plain_size, uint64_t offset, uint64_t len,
					 SbFilter *sink, uint64_t *got_offset, SbError *err)
{
	SbSeekList	l;
	uint8_t    *buf;
	SbStatus	rc;

	*got_offset = offset;
	rc = sb_codec_fetch_check(path, compress_type, sink, err);
	if (rc == SB_OK)
		rc = ranges_possible(st, path, compress_type, stored_size, plain_size,
							 err);
	if (rc != SB_OK)
		return rc;

	/* cut the range at the end of the file */
	if (offset >= plain_size)
		len = 0;
	else if (len > plain_size - offset)
		len = plain_size - offset;

	memset(&l, 0, sizeof(l));
	if (compress_type != SB_COMPRESS_NONE)
	{
		rc = load_table(st, path, stored_size, plain_size, &l, err);
		if (rc != SB_OK)
			return rc;
	}
	buf = malloc(SB_CODEC_BUFSIZE);
	if (buf == NULL)
		rc = sb_error_oom(err);
	else if (len == 0)
		rc = SB_OK;
	else if (compress_type == SB_COMPRESS_NONE)
		rc = fetch_plain(st, path, offset, len, buf, sink, err);
	else
		rc = fetch_frames(st, path, compress_type, &l, offset, len, buf, sink,
						  got_offset, err);
	if (rc == SB_OK)
		rc = sb_filter_finish(sink, err);
	free(buf);
	sb_seek_list_free(&l);
	return rc;
}
