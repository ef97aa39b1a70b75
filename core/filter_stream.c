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
 * finish), a damaged stream is SB_ERR_CORRUPT naming the file, and a stream
 * cut short or followed by more bytes is refused.
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"

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
		uint8_t    *out = s->out + s->out_len;
		size_t		room = SB_CODEC_BUFSIZE - s->out_len;
		const char *detail = NULL;
		SbStreamResult r;
		SbStatus	rc;

		if (s->stream_end)
		{
			if (in_len > 0)
				return sb_decompress_corrupt(s->label,
											 "trailing data after end of compressed stream",
											 err);
			return SB_OK;
		}
		if (!end && in_len == 0 && !window_filled)
			return SB_OK;
		if (room == 0)
		{
			if ((rc = stream_flush(s, err)) != SB_OK)
				return rc;
			continue;
		}

		r = s->ops->step(s->ctx, &in, &in_len, &out, &room, end, &detail);
		if (r != SB_STREAM_OK && r != SB_STREAM_END)
			return stream_failed(s, r, detail, err);
		if (r == SB_STREAM_END)
			s->stream_end = true;
		if (in == in_before && out == s->out + s->out_len &&
			r != SB_STREAM_END)
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
