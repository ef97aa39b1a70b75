/*-------------------------------------------------------------------------
 *
 * codec_internal.h
 *		Helpers shared by the files of the codec pipeline (codec.c and the
 *		filter_*.c files); not part of the public API in codec.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CODEC_INTERNAL_H
#define SB_CODEC_INTERNAL_H

#include "codec.h"

/* codec.c: pass data or finish on to the next stage, if there is one */
extern SbStatus sb_filter_push(SbFilter *f, const uint8_t *buf, size_t len,
							   SbError *err);
extern SbStatus sb_filter_finish_next(SbFilter *f, SbError *err);

/*
 * filter_sink.c: write(2) all of buf to fd through short writes and EINTR;
 * *done is what was written, on failure too.  A write that makes no
 * progress without an errno is a full disk.
 */
extern SbStatus sb_fd_write_all(int fd, const uint8_t *buf, size_t len,
								size_t *done, SbError *err);

/* filter_compress.c */
extern bool sb_compress_type_known(SbCompressType type);
extern void sb_decompress_set_label(SbFilter *f, const char *label);
/* SB_ERR_CORRUPT: "could not decompress file "label": detail" */
extern SbStatus sb_decompress_corrupt(const char *label, const char *detail,
									  SbError *err);

/*
 * filter_stream.c: a compress or decompress filter around one library.
 *
 * step moves bytes from the *in_len bytes at *in to the *room bytes at *out,
 * advancing both pointers and shrinking both counts by what it used.  end
 * is true only when compressing at finish: the step then completes the
 * stream.  It returns SB_STREAM_END once the stream is complete (a decoder:
 * its end was read; an encoder at end: all of it written), SB_STREAM_OK
 * otherwise (making no progress means it needs more room or more input),
 * or an error with *detail set to the library's words.
 */
typedef enum SbStreamResult
{
	SB_STREAM_OK,
	SB_STREAM_END,
	SB_STREAM_CORRUPT,			/* decoding: the input is damaged */
	SB_STREAM_NO_MEMORY,
	SB_STREAM_FAILED			/* any other library error */
} SbStreamResult;

typedef struct SbStreamOps
{
	bool		decoding;		/* decompress rather than compress */
	/*
	 * The magic number (little-endian) that starts each frame of a format
	 * that can hold several frames and a seek table (seek_table.h); 0 for
	 * one stream only.  A step ends a frame with SB_STREAM_END and begins
	 * the next on the next call.
	 */
	uint32_t	frame_magic;
	SbStreamResult (*step) (void *ctx, const uint8_t **in, size_t *in_len,
							uint8_t **out, size_t *room, bool end,
							const char **detail);
	void		(*release) (void *ctx);

	/*
	 * Encoders of frames may also compress a whole frame in one call:
	 * frame_bound(ctx, in_len) is the most it can write for in_len bytes;
	 * frame writes the frame into out (room at least that) and sets
	 * *out_len, returning SB_STREAM_END or an error.  NULL: frames are
	 * streamed through step.
	 */
	size_t		(*frame_bound) (void *ctx, size_t in_len);
	SbStreamResult (*frame) (void *ctx, const uint8_t *in, size_t in_len,
							 uint8_t *out, size_t room, size_t *out_len,
							 const char **detail);

	/*
	 * Encoders whose frames can carry a checksum of their content: leave
	 * it out of the frames begun from now on.  NULL: the format has none
	 * to leave out.
	 */
	void		(*omit_checksum) (void *ctx);
} SbStreamOps;

/* takes ownership of ctx; NULL when ctx is NULL or out of memory */
extern SbFilter *sb_stream_filter_new(const SbStreamOps *ops, void *ctx,
									  SbFilter *next);
/* false when f is not a decompressing stream filter */
extern bool sb_stream_filter_set_label(SbFilter *f, const char *label);
/*
 * Make a compressing stream filter end its frame every frame_size plain
 * bytes and append a seek table when it wrote more than one; false (and
 * nothing changed) when its format has no frames (ops->frame_magic == 0).
 */
extern bool sb_stream_filter_set_frame_size(SbFilter *f, uint64_t frame_size);
/*
 * Make a compressing stream filter write its frames without a checksum of
 * their content, before it is first written to; false (and nothing
 * changed) when its format has no such checksum to leave out.
 */
extern bool sb_stream_filter_omit_checksum(SbFilter *f);

/*
 * The compression libraries, one file each.  Levels are within the type's
 * range (sb_compress_level_range).  Constructors return NULL only when out
 * of memory.
 */
extern SbFilter *sb_zlib_compress_new(int level, SbFilter *next);
extern SbFilter *sb_zlib_decompress_new(SbFilter *next);
extern SbFilter *sb_lz4_compress_new(int level, SbFilter *next);
extern SbFilter *sb_lz4_decompress_new(SbFilter *next);
extern SbFilter *sb_zstd_compress_new(int level, SbFilter *next);
extern SbFilter *sb_zstd_decompress_new(SbFilter *next);

/* codec.c: the arguments every fetch checks first (a sink, a known type) */
extern SbStatus sb_codec_fetch_check(const char *path,
									 SbCompressType compress_type,
									 SbFilter *sink, SbError *err);

#endif							/* SB_CODEC_INTERNAL_H */
