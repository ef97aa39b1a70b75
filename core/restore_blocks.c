/*-------------------------------------------------------------------------
 *
 * restore_blocks.c
 *		Delta restore at block level: an existing file that differs from the
 *		backup is brought to the backup's content by writing only the
 *		blocks that differ, instead of being written whole.
 *
 * The backup's file is fetched as a stream (decompressed, decrypted, its
 * SHA-256 and size verified by sb_codec_fetch) into the patch sink below.
 * The sink cuts the stream into SB_BLOCK_SIZE blocks; each block is
 * compared byte for byte with the same range of the local file, read once,
 * and written only when it differs (or lies past the local file's end);
 * at the end the file is cut to the backup's size.  So the file ends up
 * equal to the verified stream byte for byte, and a block that already
 * matched is never written: a change of 1% of a table writes about 1% of
 * its file.  If the stream fails its checks, the caller removes the file.
 *
 * The manifest's block sums (block_sum.h) are used before that, by
 * sb_restore_delta_examine(): a file of the backup's size whose every
 * block sum matches is kept without fetching anything.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_sum.h"

typedef struct PatchSink
{
	SbFilter	base;
	int			fd;
	const char *path;			/* for messages */
	uint64_t	local_size;		/* of the local file before patching */
	uint8_t    *block;			/* the stream's current block */
	size_t		have;			/* bytes of it so far */
	uint64_t	offset;			/* where it starts in the file */
	uint8_t    *local;			/* the local file's bytes at offset */
	uint64_t	written;		/* bytes written to the file */
} PatchSink;

/* Read len bytes at off of fd into buf; *got is what the file had. */
static SbStatus
read_at(int fd, const char *path, uint8_t *buf, size_t len, uint64_t off,
		size_t *got, SbError *err)
{
	*got = 0;
	while (*got < len)
	{
		ssize_t		n = pread(fd, buf + *got, len - *got, (off_t) (off + *got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sb_error_errno(err, errno, "could not read file \"%s\"", path);
		if (n == 0)
			break;
		*got += (size_t) n;
	}
	return SB_OK;
}

static SbStatus
write_at(int fd, const char *path, const uint8_t *buf, size_t len,
		 uint64_t off, SbError *err)
{
	while (len > 0)
	{
		ssize_t		n = pwrite(fd, buf, len, (off_t) off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return sb_error_errno(err, n < 0 ? errno : ENOSPC,
								  "could not write file \"%s\"", path);
		buf += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return SB_OK;
}

/* The block in s->block is complete (or the last one): write it if it differs. */
static SbStatus
flush_block(PatchSink *s, SbError *err)
{
	SbStatus	rc = SB_OK;
	size_t		got = 0;

	if (s->have == 0)
		return SB_OK;
	if (s->offset < s->local_size)
		rc = read_at(s->fd, s->path, s->local, s->have, s->offset, &got, err);
	if (rc == SB_OK && (got != s->have || memcmp(s->local, s->block, s->have) != 0))
	{
		rc = write_at(s->fd, s->path, s->block, s->have, s->offset, err);
		s->written += s->have;
	}
	s->offset += s->have;
	s->have = 0;
	return rc;
}

static SbStatus
patch_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	PatchSink  *s = (PatchSink *) f;

	while (len > 0)
	{
		size_t		n = SB_BLOCK_SIZE - s->have;
		SbStatus	rc;

		if (n > len)
			n = len;
		memcpy(s->block + s->have, buf, n);
		s->have += n;
		buf += n;
		len -= n;
		if (s->have == SB_BLOCK_SIZE && (rc = flush_block(s, err)) != SB_OK)
			return rc;
	}
	return SB_OK;
}

static SbStatus
patch_finish(SbFilter *f, SbError *err)
{
	PatchSink  *s = (PatchSink *) f;
	SbStatus	rc = flush_block(s, err);

	/* a local file longer than the backup's is cut */
	if (rc == SB_OK && s->local_size > s->offset &&
		ftruncate(s->fd, (off_t) s->offset) != 0)
		rc = sb_error_errno(err, errno, "could not truncate file \"%s\"", s->path);
	return rc;
}

static void
patch_free(SbFilter *f)
{
	PatchSink  *s = (PatchSink *) f;

	free(s->block);
	free(s->local);
	free(s);
}

SbFilter *
sb_restore_patch_sink_new(int fd, const char *path, uint64_t local_size)
{
	PatchSink  *s = calloc(1, sizeof(PatchSink));

	if (s == NULL)
		return NULL;
	s->block = malloc(SB_BLOCK_SIZE);
	s->local = malloc(SB_BLOCK_SIZE);
	if (s->block == NULL || s->local == NULL)
	{
		patch_free(&s->base);
		return NULL;
	}
	s->fd = fd;
	s->path = path;
	s->local_size = local_size;
	s->base.write = patch_write;
	s->base.finish = patch_finish;
	s->base.free = patch_free;
	/* the local file is read front to back: a larger read-ahead */
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return &s->base;
}

uint64_t
sb_restore_patch_sink_written(SbFilter *f)
{
	return ((PatchSink *) f)->written;
}

/*
 * Does the local file fd (of f's size) match every block sum of f?  Stops
 * at the first block that differs.
 */
SbStatus
sb_restore_blocks_match(const Restore *r, int fd, const char *path,
						const SbManifestFile *f, bool *match, SbError *err)
{
	uint32_t	bs = r->m.block_size;
	uint8_t    *buf;
	SbStatus	rc = SB_OK;

	*match = false;
	if (bs == 0 || f->nblocks != sb_block_count(f->size, bs))
		return SB_OK;			/* the manifest checked this; never trust it */
	buf = malloc(bs);
	if (buf == NULL)
		return sb_error_oom(err);
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*match = true;
	for (uint64_t i = 0; i < f->nblocks && *match; i++)
	{
		size_t		want = (size_t) (f->size - i * bs < bs ? f->size - i * bs : bs);
		size_t		got;

		rc = read_at(fd, path, buf, want, i * bs, &got, err);
		if (rc != SB_OK)
			break;
		if (got != want || sb_block_sum(buf, want) != f->block_sums[i])
			*match = false;
	}
	free(buf);
	if (rc != SB_OK)
		*match = false;
	return rc;
}
