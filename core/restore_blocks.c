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
 * They also verify what is restored (every restore, not only delta): a
 * file with block sums is checked block by block as it streams through
 * the block check filter below, instead of through its SHA-256.  The sums
 * come from the manifest, whose own checksum covers them, so every byte
 * written is still checked against the backup (64-bit XXH3 per block
 * instead of SHA-256 per file: an accidental corruption slips through with
 * a chance of 2^-64 per block), at a tenth of the CPU time: SHA-256 was
 * 40% of a restore's time on a core with SHA extensions.  In an encrypted
 * stanza every chunk is authenticated by the cipher anyway.
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

#include <inttypes.h>
#include "sb_xxhash.h"

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

/* The block in s->block is complete (or the last one): write it if it differs. */
static SbStatus
flush_block(PatchSink *s, SbError *err)
{
	SbStatus	rc = SB_OK;
	size_t		got = 0;

	if (s->have == 0)
		return SB_OK;
	if (s->offset < s->local_size)
		rc = sb_read_at(s->fd, s->path, s->local, s->have, s->offset, &got, err);
	if (rc == SB_OK && (got != s->have || memcmp(s->local, s->block, s->have) != 0))
	{
		rc = sb_write_at(s->fd, s->path, s->block, s->have, s->offset, err);
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
	uint64_t   *sums;
	SbStatus	rc = SB_OK;

	*match = false;
	if (bs == 0 || f->nblocks != sb_block_count(f->size, bs))
		return SB_OK;			/* the manifest checked this; never trust it */
	sums = sb_manifest_file_sums_dup(&r->m, f, err);
	if (sums == NULL)
		return err->status;
	buf = malloc(bs);
	if (buf == NULL)
	{
		free(sums);
		return sb_error_oom(err);
	}
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*match = true;
	for (uint64_t i = 0; i < f->nblocks && *match; i++)
	{
		size_t		want = (size_t) (f->size - i * bs < bs ? f->size - i * bs : bs);
		size_t		got;

		rc = sb_read_at(fd, path, buf, want, i * bs, &got, err);
		if (rc != SB_OK)
			break;
		if (got != want || sb_block_sum(buf, want) != sums[i])
			*match = false;
	}
	free(buf);
	free(sums);
	if (rc != SB_OK)
		*match = false;
	return rc;
}

/* ----------------------------------------------------------------
 *		Checking the stream against the block sums
 * ----------------------------------------------------------------
 */

typedef struct BlockCheck
{
	SbFilter	base;
	const SbManifestFile *f;
	uint64_t   *sums;			/* f's block sums */
	const char *repo_path;		/* for messages */
	uint32_t	block_size;
	XXH3_state_t *state;
	uint64_t	block;			/* index of the block being hashed */
	uint64_t	end;			/* and of the block after the range checked */
	size_t		have;			/* its bytes so far */
} BlockCheck;

static SbStatus
check_block(BlockCheck *c, SbError *err)
{
	if (c->block >= c->end ||
		(uint64_t) XXH3_64bits_digest(c->state) != c->sums[c->block])
		return sb_error_set(err, SB_ERR_CORRUPT,
							"checksum mismatch in block %" PRIu64 " of repository file \"%s\"",
							c->block, c->repo_path);
	c->block++;
	c->have = 0;
	(void) XXH3_64bits_reset(c->state);
	return SB_OK;
}

static SbStatus
block_check_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	BlockCheck *c = (BlockCheck *) f;
	const uint8_t *p = buf;
	size_t		left = len;

	while (left > 0)
	{
		size_t		n = c->block_size - c->have;

		if (n > left)
			n = left;
		(void) XXH3_64bits_update(c->state, p, n);
		c->have += n;
		p += n;
		left -= n;
		if (c->have == c->block_size)
		{
			SbStatus	rc = check_block(c, err);

			if (rc != SB_OK)
				return rc;
		}
	}
	return sb_filter_write(f->next, buf, len, err);
}

static SbStatus
block_check_finish(SbFilter *f, SbError *err)
{
	BlockCheck *c = (BlockCheck *) f;
	SbStatus	rc = SB_OK;

	if (c->have > 0)
		rc = check_block(c, err);
	if (rc == SB_OK && c->block != c->end)
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "repository file \"%s\" ends at block %" PRIu64 ", the manifest at %" PRIu64,
						  c->repo_path, c->block, c->end);
	if (rc == SB_OK)
		rc = sb_filter_finish(f->next, err);
	return rc;
}

static void
block_check_free(SbFilter *f)
{
	BlockCheck *c = (BlockCheck *) f;

	if (c->state != NULL)
		XXH3_freeState(c->state);
	free(c->sums);
	free(c);
}

bool
sb_restore_can_check_blocks(const Restore *r, const SbManifestFile *f)
{
	return r->m.block_size > 0 && f->nblocks > 0 &&
		f->nblocks == sb_block_count(f->size, r->m.block_size);
}

SbFilter *
sb_restore_block_check_new(const Restore *r, const SbManifestFile *f,
						   const char *repo_path, SbFilter *next, SbError *err)
{
	return sb_restore_block_check_range_new(r, f, repo_path, 0, f->nblocks,
											next, err);
}

SbFilter *
sb_restore_block_check_range_new(const Restore *r, const SbManifestFile *f,
								 const char *repo_path, uint64_t first,
								 uint64_t count, SbFilter *next, SbError *err)
{
	BlockCheck *c = calloc(1, sizeof(BlockCheck));

	if (c == NULL)
	{
		sb_error_oom(err);
		return NULL;
	}
	c->state = XXH3_createState();
	c->sums = c->state != NULL ? sb_manifest_file_sums_dup(&r->m, f, err) : NULL;
	if (c->sums == NULL)
	{
		if (c->state == NULL)
			sb_error_oom(err);
		else
			XXH3_freeState(c->state);
		free(c);
		return NULL;
	}
	(void) XXH3_64bits_reset(c->state);
	c->f = f;
	c->block = first;
	c->end = first + count;
	c->repo_path = repo_path;
	c->block_size = r->m.block_size;
	c->base.write = block_check_write;
	c->base.space = sb_filter_space_next;
	c->base.finish = block_check_finish;
	c->base.free = block_check_free;
	c->base.next = next;
	return &c->base;
}
