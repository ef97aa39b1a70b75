/*-------------------------------------------------------------------------
 *
 * filter_stream.c
 *		The part every compression library's filter shares: the output
 *		buffer, the loops that feed the library until input is used up and
 *		no output stays pending inside it, end-of-stream and trailing-data
 *		checks, and the error messages.
 *
 * A codec (filter_zlib.c, filter_lz4.c, filter_zstd.c) supplies only a step
 * function that moves bytes from an input to an output window, so the three
 * libraries behave the same towards the rest of the pipeline: the stage
 * after us sees writes of SB_CODEC_BUFSIZE bytes (and a last shorter one at
 * finish; an encoder given whole frames passes each frame's bytes on in
 * one write), a damaged stream is SB_ERR_CORRUPT naming the file, and a
 * stream cut short or followed by more bytes is refused.
 *
 * Seekable files (lz4 and zstd, SbStreamOps.frame_magic): the encoder may
 * end its frame every frame_size plain bytes and then append a seek table
 * (seek_table.h).  The decoder reads such a file as one stream: after the
 * end of a frame it accepts only the next frame of its own kind or the
 * seek table, which must then list exactly the frames it decoded and end
 * the file.  A file of more than one frame without a table is refused, so
 * a file cut short at a frame's end, or followed by another file, is
 * still found out.
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"
#include "seek_table.h"

#include <stdlib.h>
#include <string.h>

typedef struct StreamFilter
{
	SbFilter	base;
	const SbStreamOps *ops;
	void	   *ctx;			/* the library's state, owned */
	bool		stream_end;		/* step reported SB_STREAM_END */
	bool		finished;
	const char *label;			/* file name for messages, or NULL */
	/* frames (encoding with frame_size > 0; decoding with ops->frame_magic) */
	uint64_t	frame_size;		/* encoding: plain bytes per frame, or 0 */
	uint64_t	frame_in;		/* bytes taken into the current frame */
	uint64_t	frame_out;		/* bytes given out of the current frame */
	uint64_t	frame_plain;	/* encoding: plain bytes of the current frame */
	SbSeekList	frames;			/* the frames so far */
	uint64_t	nframes;		/* how many */
	bool		frames_oversize;	/* one too large for a seek table */
	uint8_t		magic[4];		/* decoding: first bytes after a frame */
	int			nmagic;
	uint8_t    *table;			/* decoding: the seek table, once it began */
	size_t		table_len;		/* its length (what the frames seen need) */
	size_t		table_have;
	uint8_t    *whole;			/* encoding: output of whole frames, or NULL */
	size_t		whole_cap;
	size_t		out_len;		/* bytes of out in use */
	uint8_t		out[SB_CODEC_BUFSIZE];
} StreamFilter;

static const char *
stream_verb(const StreamFilter *s)
{
	return s->ops->decoding ? "decompress" : "compress";
}

static SbStatus
stream_flush(StreamFilter *s, SbError *err)
{
	SbStatus	rc;

	rc = sb_filter_push(&s->base, s->out, s->out_len, err);
	s->out_len = 0;
	return rc;
}

/* turn a failed step into an error */
static SbStatus
stream_failed(StreamFilter *s, SbStreamResult r, const char *detail,
			  SbError *err)
{
	if (detail == NULL)
		detail = "unknown error";
	switch (r)
	{
		case SB_STREAM_CORRUPT:
			return sb_decompress_corrupt(s->label, detail, err);
		case SB_STREAM_NO_MEMORY:
			return sb_error_set(err, SB_ERR_NO_MEMORY,
								"could not %s data: out of memory",
								stream_verb(s));
		default:
			return sb_error_set(err, SB_ERR_INTERNAL, "could not %s data: %s",
								stream_verb(s), detail);
	}
}

static SbStatus stream_run(StreamFilter *s, const uint8_t *in, size_t in_len,
						   bool end, SbError *err);
static SbStatus stream_end_frame(StreamFilter *s, SbError *err);

static SbStatus
trailing_data(StreamFilter *s, SbError *err)
{
	return sb_decompress_corrupt(s->label,
								 "trailing data after end of compressed stream",
								 err);
}

/*
 * A frame ended: count it, and remember its sizes where frames are counted
 * (a decoder of a seekable kind; an encoder writing frames).  A decoder
 * meets frames too large for a table in files of one frame of 4 GiB or
 * more, which need none: it only notes that no table can match.
 */
static SbStatus
frame_ended(StreamFilter *s, SbError *err)
{
	bool		counted = s->ops->decoding ? s->ops->frame_magic != 0 :
		s->frame_size > 0;

	/* stored bytes go into a decoder and come out of an encoder */
	uint64_t	stored = s->ops->decoding ? s->frame_in : s->frame_out;
	uint64_t	plain = s->ops->decoding ? s->frame_out : s->frame_in;

	s->nframes++;
	s->frame_in = 0;
	s->frame_out = 0;
	if (!counted || s->frames_oversize)
		return SB_OK;
	if (stored > UINT32_MAX || plain > UINT32_MAX)
	{
		if (!s->ops->decoding)
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not compress data: frame too large for a seek table");
		s->frames_oversize = true;
		return SB_OK;
	}
	if (!sb_seek_list_add(&s->frames, stored, plain))
		return sb_error_oom(err);
	return SB_OK;
}

/*
 * Decoding, after the end of a frame, with *in_len > 0 bytes to come: take
 * them into the seek table once it began; else look at the first four
 * bytes after the frame (kept across writes): the magic number of the
 * next frame, whose decoding then begins, or of the seek table.
 */
static SbStatus
stream_boundary(StreamFilter *s, const uint8_t **in, size_t *in_len,
				SbError *err)
{
	uint32_t	magic;

	if (s->table != NULL)
	{
		size_t		n = s->table_len - s->table_have;

		if (*in_len > n)
			return trailing_data(s, err);
		memcpy(s->table + s->table_have, *in, *in_len);
		s->table_have += *in_len;
		*in += *in_len;
		*in_len = 0;
		return SB_OK;
	}
	while (s->nmagic < 4 && *in_len > 0)
	{
		s->magic[s->nmagic++] = **in;
		(*in)++;
		(*in_len)--;
	}
	if (s->nmagic < 4)
		return SB_OK;
	magic = sb_le32_get(s->magic);
	if (magic == SB_SEEK_SKIPPABLE_MAGIC)
	{
		/* the table lists the frames decoded: its length follows from them */
		uint64_t	len = sb_seek_table_len(s->nframes, SB_SEEK_ENTRY_LEN);

		if (s->frames_oversize || s->nframes > SB_SEEK_MAX_FRAMES)
			return sb_decompress_corrupt(s->label,
										 "seek table does not match the frames of the file",
										 err);
		s->table = malloc(len);
		if (s->table == NULL)
			return sb_error_oom(err);
		s->table_len = len;
		memcpy(s->table, s->magic, 4);
		s->table_have = 4;
		s->nmagic = 0;
		return SB_OK;
	}
	if (magic != s->ops->frame_magic)
		return trailing_data(s, err);

	/* the next frame: its magic number first, then the rest */
	s->stream_end = false;
	s->nmagic = 0;
	if (s->out_len == SB_CODEC_BUFSIZE)
	{
		SbStatus	rc = stream_flush(s, err);

		if (rc != SB_OK)
			return rc;
	}
	{
		const uint8_t *m = s->magic;
		size_t		mlen = 4;
		uint8_t    *out = s->out + s->out_len;
		size_t		room = SB_CODEC_BUFSIZE - s->out_len;
		const char *detail = NULL;
		SbStreamResult r;

		r = s->ops->step(s->ctx, &m, &mlen, &out, &room, false, &detail);
		if (r != SB_STREAM_OK)
			return stream_failed(s, r == SB_STREAM_END ? SB_STREAM_CORRUPT : r,
								 detail ? detail : "frame ended within its magic number",
								 err);
		if (mlen != 0 || out != s->out + s->out_len)
			return sb_decompress_corrupt(s->label,
										 "decoder did not take a frame's magic number",
										 err);
		s->frame_in = 4;
	}
	return SB_OK;
}

/*
 * Decoding, at finish, after the end of a frame: a seekable stream must
 * end with a seek table that lists exactly the frames decoded; a stream of
 * one frame may have none.
 */
static SbStatus
frames_check(StreamFilter *s, SbError *err)
{
	SbSeekList	table;
	const char *detail;
	bool		same;

	if (s->nmagic > 0)
		return trailing_data(s, err);
	if (s->table == NULL)
	{
		if (s->nframes > 1)
			return sb_decompress_corrupt(s->label,
										 "trailing frame without a seek table, or the file cut short",
										 err);
		return SB_OK;
	}
	if (s->table_have < s->table_len)
		return sb_decompress_corrupt(s->label,
									 "unexpected end of compressed data in the seek table",
									 err);
	detail = sb_seek_table_parse(s->table, s->table_len, &table);
	if (detail != NULL && strcmp(detail, "out of memory") == 0)
		return sb_error_oom(err);
	if (detail != NULL)
		return sb_decompress_corrupt(s->label, detail, err);
	same = table.n == s->frames.n;
	for (uint32_t i = 0; same && i < table.n; i++)
		same = table.e[i].stored == s->frames.e[i].stored &&
			table.e[i].plain == s->frames.e[i].plain;
	sb_seek_list_free(&table);
	if (!same)
		return sb_decompress_corrupt(s->label,
									 "seek table does not match the frames of the file",
									 err);
	return SB_OK;
}

/*
 * Encoding frames: a whole frame handed over in one write is compressed by
 * one call into a buffer with room for the worst case, so the library
 * reads it where it is and writes straight into that buffer; streamed
 * through step, zstd first copies every byte into a window of its own and
 * liblz4 keeps a copy of each block's end for the next.  The frame's bytes
 * go on to the next stage in one push, after what out still holds.
 */
static SbStatus
stream_whole_frame(StreamFilter *s, const uint8_t *buf, size_t len,
				   SbError *err)
{
	size_t		bound = s->ops->frame_bound(s->ctx, len);
	size_t		n = 0;
	const char *detail = NULL;
	SbStreamResult r;
	SbStatus	rc;

	if (s->whole_cap < bound)
	{
		free(s->whole);
		s->whole_cap = 0;
		if ((s->whole = malloc(bound)) == NULL)
			return sb_error_oom(err);
		s->whole_cap = bound;
	}
	r = s->ops->frame(s->ctx, buf, len, s->whole, bound, &n, &detail);
	if (r != SB_STREAM_END)
		return stream_failed(s, r == SB_STREAM_OK ? SB_STREAM_FAILED : r,
							 detail ? detail : "frame not completed", err);
	if ((rc = stream_flush(s, err)) != SB_OK)
		return rc;
	s->frame_in = len;
	s->frame_out = n;
	if ((rc = frame_ended(s, err)) != SB_OK)
		return rc;
	return sb_filter_push(&s->base, s->whole, n, err);
}

/*
 * Encoding frames: push len bytes, ending the frame each time it holds
 * frame_size plain bytes.
 */
static SbStatus
stream_write_frames(StreamFilter *s, const uint8_t *buf, size_t len,
					SbError *err)
{
	SbStatus	rc = SB_OK;

	while (len > 0 && rc == SB_OK)
	{
		uint64_t	left = s->frame_size - s->frame_plain;
		size_t		chunk = len < left ? len : (size_t) left;

		if (s->frame_plain == 0 && chunk == s->frame_size &&
			s->ops->frame != NULL)
		{
			rc = stream_whole_frame(s, buf, chunk, err);
			buf += chunk;
			len -= chunk;
			continue;
		}
		rc = stream_run(s, buf, chunk, false, err);
		s->frame_plain += chunk;
		buf += chunk;
		len -= chunk;
		if (rc == SB_OK && s->frame_plain == s->frame_size)
			rc = stream_end_frame(s, err);
	}
	return rc;
}

/* Encoding frames: end the current frame (the library begins the next). */
static SbStatus
stream_end_frame(StreamFilter *s, SbError *err)
{
	SbStatus	rc;

	rc = stream_run(s, NULL, 0, true, err);
	s->stream_end = false;
	s->frame_plain = 0;
	return rc;
}

/*
 * Encoding frames, at finish: end the last frame (unless the last write
 * ended it; an empty stream still gets its one frame), then append the seek
 * table when there is more than one.
 */
static SbStatus
stream_finish_frames(StreamFilter *s, SbError *err)
{
	SbStatus	rc;
	uint8_t    *table;
	size_t		len;

	if ((s->frames.n == 0 || s->frame_plain > 0) &&
		(rc = stream_end_frame(s, err)) != SB_OK)
		return rc;
	if (s->frames.n < 2)
		return SB_OK;
	if ((rc = stream_flush(s, err)) != SB_OK)
		return rc;
	len = (size_t) sb_seek_table_len(s->frames.n, SB_SEEK_ENTRY_LEN);
	table = malloc(len);
	if (table == NULL)
		return sb_error_oom(err);
	sb_seek_table_encode(&s->frames, table);
	rc = sb_filter_push(&s->base, table, len, err);
	free(table);
	return rc;
}

/*
 * Run the step over in until all of it is used (or, with end, until the
 * step reports the end of the stream), and, decoding, until the output
 * buffer has room left so that nothing stays pending inside the library.
 */
static SbStatus
stream_run(StreamFilter *s, const uint8_t *in, size_t in_len, bool end,
		   SbError *err)
{
	bool		window_filled = false;	/* the library may hold more output */

	for (;;)
	{
		const uint8_t *in_before = in;
		uint8_t    *space = NULL;
		uint8_t    *start = s->out + s->out_len;
		uint8_t    *out;
		size_t		room = SB_CODEC_BUFSIZE - s->out_len;
		const char *detail = NULL;
		SbStreamResult r;
		SbStatus	rc;

		if (s->stream_end)
		{
			if (in_len == 0)
				return SB_OK;
			if (!s->ops->decoding || s->ops->frame_magic == 0)
				return trailing_data(s, err);
			/* the next frame, or the seek table */
			if ((rc = stream_boundary(s, &in, &in_len, err)) != SB_OK)
				return rc;
			continue;
		}
		if (!end && in_len == 0 && !window_filled)
			return SB_OK;

		/*
		 * Decoding, with out empty: straight into the space of the stage
		 * that keeps the bytes, if it offers some (the direct sink, the
		 * async filter), so that nothing copies them there
		 */
		if (s->ops->decoding && s->out_len == 0 &&
			(space = sb_filter_space(s->base.next, &room)) != NULL)
			start = space;
		if (room == 0)
		{
			if ((rc = stream_flush(s, err)) != SB_OK)
				return rc;
			continue;
		}

		out = start;
		r = s->ops->step(s->ctx, &in, &in_len, &out, &room, end, &detail);
		if (r != SB_STREAM_OK && r != SB_STREAM_END)
			return stream_failed(s, r, detail, err);
		s->frame_in += in - in_before;
		s->frame_out += out - start;
		if (r == SB_STREAM_END)
		{
			s->stream_end = true;
			if ((rc = frame_ended(s, err)) != SB_OK)
				return rc;
		}
		if (in == in_before && out == start && r != SB_STREAM_END)
		{
			/* no progress: the step wants more room, or more input */
			if (s->out_len > 0)
			{
				if ((rc = stream_flush(s, err)) != SB_OK)
					return rc;
				continue;
			}
			if (in_len == 0 && !end)
				return SB_OK;
			if (s->ops->decoding)
				return sb_decompress_corrupt(s->label,
											 "decoder made no progress", err);
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not compress data: encoder made no progress");
		}
		if (space != NULL)
		{
			/* the bytes are where they go: handed on at once */
			if ((rc = sb_filter_push(&s->base, space, out - space, err)) != SB_OK)
				return rc;
		}
		else
			s->out_len = out - s->out;
		window_filled = (room == 0);
	}
}

static SbStatus
stream_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	StreamFilter *s = (StreamFilter *) f;

	if (s->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not %s data: write after finish",
							stream_verb(s));
	if (s->frame_size > 0)
		return stream_write_frames(s, buf, len, err);
	return stream_run(s, buf, len, false, err);
}

static SbStatus
stream_finish(SbFilter *f, SbError *err)
{
	StreamFilter *s = (StreamFilter *) f;
	SbStatus	rc;

	if (s->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not %s data: finished twice",
							stream_verb(s));
	s->finished = true;

	if (s->ops->decoding)
	{
		/* writes leave no output pending, so the end must have been seen */
		if (!s->stream_end)
			return sb_decompress_corrupt(s->label,
										 "unexpected end of compressed data",
										 err);
		if (s->ops->frame_magic != 0 && (rc = frames_check(s, err)) != SB_OK)
			return rc;
	}
	else if (s->frame_size > 0)
	{
		if ((rc = stream_finish_frames(s, err)) != SB_OK)
			return rc;
	}
	else if ((rc = stream_run(s, NULL, 0, true, err)) != SB_OK)
		return rc;

	if ((rc = stream_flush(s, err)) != SB_OK)
		return rc;
	return sb_filter_finish_next(f, err);
}

static void
stream_free(SbFilter *f)
{
	StreamFilter *s = (StreamFilter *) f;

	if (s == NULL)
		return;
	if (s->ctx != NULL)
		s->ops->release(s->ctx);
	sb_seek_list_free(&s->frames);
	free(s->table);
	free(s->whole);
	free(s);
}

SbFilter *
sb_stream_filter_new(const SbStreamOps *ops, void *ctx, SbFilter *next)
{
	StreamFilter *s;

	if (ctx == NULL)
		return NULL;
	s = malloc(sizeof(StreamFilter));
	if (s == NULL)
	{
		ops->release(ctx);
		return NULL;
	}
	memset(s, 0, offsetof(StreamFilter, out));
	s->ops = ops;
	s->ctx = ctx;
	s->base.write = stream_write;
	s->base.finish = stream_finish;
	s->base.free = stream_free;
	s->base.next = next;
	return &s->base;
}

bool
sb_stream_filter_set_label(SbFilter *f, const char *label)
{
	StreamFilter *s = (StreamFilter *) f;

	if (f->write != stream_write || !s->ops->decoding)
		return false;
	s->label = label;
	return true;
}

bool
sb_stream_filter_omit_checksum(SbFilter *f)
{
	StreamFilter *s = (StreamFilter *) f;

	if (f->write != stream_write || s->ops->decoding ||
		s->ops->omit_checksum == NULL)
		return false;
	s->ops->omit_checksum(s->ctx);
	return true;
}

bool
sb_stream_filter_set_frame_size(SbFilter *f, uint64_t frame_size)
{
	StreamFilter *s = (StreamFilter *) f;

	if (f->write != stream_write || s->ops->decoding ||
		s->ops->frame_magic == 0 || frame_size == 0)
		return false;
	s->frame_size = frame_size;
	return true;
}
