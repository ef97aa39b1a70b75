/*-------------------------------------------------------------------------
 *
 * restore_delta_blocks.c
 *		Delta restore of a file by some of its blocks: the WAL's change list
 *		(restore_delta_wal.c) names the blocks that may differ; only those
 *		are read from the local file (not even those a record after the
 *		backup's end changed: they surely differ), and only the ones that
 *		differ are fetched from the backup, by the frames of the stored file
 *		that hold them (sb_codec_fetch_range), instead of the whole file.
 *
 * Every block written is checked against its sum in the manifest first
 * (64-bit XXH3, block_sum.h; the manifest's checksum covers the sums), as a
 * whole-file restore checks it.  A stored file that cannot be read by
 * ranges (zlib, an encrypted stanza, a file written before seekable
 * frames, a block-incremental layer) makes this return SB_ERR_UNSUPPORTED,
 * and the caller patches the file from its whole stream instead, which
 * compares every block and checks every byte.  So does any failure of a
 * ranged read, bytes that do not match the block sums included (a gateway
 * answering a range wrongly): the whole stream then either repairs the
 * file or proves it damaged.  The blocks written before were checked, so
 * the file is never left with a wrong block.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_sum.h"

/*
 * Blocks fetched by one ranged read: needed blocks at most GAP_BLOCKS
 * apart share a read (they are likely in the same frame), and a read spans
 * at most RUN_BLOCKS blocks, which bounds its buffer (4 MiB).
 */
#define GAP_BLOCKS		8
#define RUN_BLOCKS		32
/* the largest frame a stored file may have, for the bound of a read */
#define FRAME_MAX		((uint64_t) 64 * 1024 * 1024)

/* Length of block b of f. */
static size_t
block_len(const SbManifestFile *f, uint64_t b)
{
	uint64_t	off = b * SB_BLOCK_SIZE;

	return (size_t) (f->size - off < SB_BLOCK_SIZE ? f->size - off : SB_BLOCK_SIZE);
}

/*
 * Of plan's blocks, those whose local bytes differ from the backup's sum
 * (or are missing), and those the WAL changed after the backup's end
 * without reading them (*nunread): into need, *nneed of them.
 */
static SbStatus
find_differing(Restore *r, const SbManifestFile *f, const uint64_t *sums,
			   const SbDeltaPlan *plan, const char *full, uint32_t *need,
			   uint32_t *nneed, uint32_t *nunread, SbError *err)
{
	uint8_t    *buf = malloc(SB_BLOCK_SIZE);
	uint64_t	read_bytes = 0;
	SbStatus	rc = SB_OK;

	*nneed = 0;
	*nunread = 0;
	if (buf == NULL)
		return sb_error_oom(err);
	for (uint32_t i = 0; i < plan->nblocks && rc == SB_OK; i++)
	{
		uint32_t	b = plan->blocks[i];
		size_t		len = block_len(f, b);
		size_t		got = 0;

		if (plan->differs[i])
			(*nunread)++;		/* changed after the backup: not read */
		else if ((uint64_t) b * SB_BLOCK_SIZE + len <= plan->local_size)
		{
			rc = sb_read_at(plan->fd, full, buf, len, (uint64_t) b * SB_BLOCK_SIZE,
					&got, err);
			read_bytes += got;
			if (rc == SB_OK && got == len &&
				sb_block_sum(buf, len) == sums[b])
				continue;
		}
		need[(*nneed)++] = b;
	}
	free(buf);
	pthread_mutex_lock(&r->lock);
	r->result->bytes_delta_read += read_bytes;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/*
 * Fetch the stored bytes of blocks need[0..n) (close together, see
 * GAP_BLOCKS) by one ranged read, check each against its sum, and write it
 * into the local file.
 */
static SbStatus
fetch_run(Restore *r, SbStorage *st, const SbManifestFile *f,
		  const uint64_t *sums, const SbDeltaPlan *plan, const char *full,
		  const char *repo_path,
		  SbCompressType ct, const uint32_t *need, uint32_t n,
		  uint64_t *written, SbError *err)
{
	uint64_t	off = (uint64_t) need[0] * SB_BLOCK_SIZE;
	uint64_t	end = (uint64_t) need[n - 1] * SB_BLOCK_SIZE + block_len(f, need[n - 1]);
	uint64_t	got_off = 0;
	SbFilter   *sink;
	const char *data;
	size_t		len = 0;
	SbStatus	rc;

	/* whole frames come back: room for the range and a frame each side */
	sink = sb_filter_buffer_sink_new((size_t) (end - off) + 2 * FRAME_MAX);
	if (sink == NULL)
		return sb_error_oom(err);
	rc = sb_codec_fetch_range(st, repo_path, ct, f->stored_size, f->size,
							  off, end - off, sink, &got_off, err);
	if (rc == SB_OK)
		data = sb_filter_buffer_data(sink, &len);
	for (uint32_t i = 0; i < n && rc == SB_OK; i++)
	{
		uint64_t	b_off = (uint64_t) need[i] * SB_BLOCK_SIZE;
		size_t		b_len = block_len(f, need[i]);

		if (b_off < got_off || b_off + b_len > got_off + len)
			rc = sb_error_set(err, SB_ERR_CORRUPT,
							  "stored frames of file \"%s\" do not hold bytes %" PRIu64 " to %" PRIu64,
							  repo_path, b_off, b_off + b_len);
		else if (sb_block_sum(data + (b_off - got_off), b_len) != sums[need[i]])
			rc = sb_error_set(err, SB_ERR_CORRUPT,
							  "block %u of file \"%s\" does not match the backup manifest",
							  need[i], repo_path);
		else
		{
			rc = sb_write_at(plan->fd, full, (const uint8_t *) data + (b_off - got_off),
					 b_len, b_off, err);
			*written += b_len;
		}
	}
	sb_filter_free_chain(sink);
	if (rc == SB_OK)
	{
		pthread_mutex_lock(&r->lock);
		r->result->blocks_fetched += n;
		pthread_mutex_unlock(&r->lock);
	}
	return rc;
}

SbStatus
sb_restore_patch_blocks(Restore *r, SbStorage *st, const SbManifestFile *f,
						const SbDeltaPlan *plan, const char *full,
						uint64_t *written, SbError *err)
{
	char		repo_path[SB_PATH_MAX];
	SbCompressType ct;
	uint32_t   *need;
	uint32_t	nneed = 0;
	uint32_t	nunread = 0;
	uint64_t   *sums;
	SbStatus	rc;

	*written = 0;
	sums = sb_manifest_file_sums_dup(&r->m, f, err);
	if (sums == NULL)
		return err->status;
	need = malloc(sizeof(uint32_t) * (plan->nblocks > 0 ? plan->nblocks : 1));
	if (need == NULL)
	{
		free(sums);
		return sb_error_oom(err);
	}
	rc = find_differing(r, f, sums, plan, full, need, &nneed, &nunread, err);

	sb_manifest_file_location(r->o->stanza, &r->m, f, repo_path, &ct);
	for (uint32_t i = 0; i < nneed && rc == SB_OK;)
	{
		uint32_t	j = i + 1;

		while (j < nneed && need[j] - need[j - 1] <= GAP_BLOCKS &&
			   need[j] - need[i] < RUN_BLOCKS)
			j++;
		rc = fetch_run(r, st, f, sums, plan, full, repo_path, ct, need + i,
					   j - i, written, err);
		i = j;
	}
	free(need);
	free(sums);
	if (rc == SB_OK)
	{
		pthread_mutex_lock(&r->lock);
		r->result->blocks_unread += nunread;
		pthread_mutex_unlock(&r->lock);
	}
	/* whatever went wrong with a ranged read, the whole stream decides */
	if (rc != SB_OK && rc != SB_ERR_NO_MEMORY)
		rc = SB_ERR_UNSUPPORTED;

	/* a local file longer than the backup's is cut */
	if (rc == SB_OK && plan->local_size > f->size &&
		ftruncate(plan->fd, (off_t) f->size) != 0)
		rc = sb_error_errno(err, errno, "could not truncate file \"%s\"", full);
	return rc;
}
