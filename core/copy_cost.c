/*-------------------------------------------------------------------------
 *
 * copy_cost.c
 *		Estimate how long a file will take to back up from its size and
 *		how well samples of it compress (see copy_cost.h).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "copy_cost.h"

#include <fcntl.h>
#include <stdlib.h>

#include "codec.h"
#include "file_io.h"

/* Where sample i of SB_COPY_COST_SAMPLES starts: centred in equal parts. */
static uint64_t
sample_offset(uint64_t size, int i)
{
	uint64_t	centre = size / (2 * SB_COPY_COST_SAMPLES) * (2 * i + 1);

	return centre - SB_COPY_COST_SAMPLE_BYTES / 2;
}

static bool
can_sample(uint64_t size, SbCompressType type)
{
	return type != SB_COMPRESS_NONE &&
		size >= (uint64_t) SB_COPY_COST_SAMPLES * SB_COPY_COST_SAMPLE_BYTES;
}

void
sb_copy_cost_prefetch(int fd, uint64_t size, SbCompressType type)
{
	if (!can_sample(size, type))
		return;
	for (int i = 0; i < SB_COPY_COST_SAMPLES; i++)
		(void) posix_fadvise(fd, (off_t) sample_offset(size, i),
							 SB_COPY_COST_SAMPLE_BYTES, POSIX_FADV_WILLNEED);
}

double
sb_copy_cost_ratio(int fd, uint64_t size, SbCompressType type, int level)
{
	uint8_t    *buf;
	SbFilter   *count;
	SbFilter   *chain;
	SbError		err;
	bool		ok = true;
	uint64_t	stored;

	if (!can_sample(size, type))
		return -1;
	buf = malloc(SB_COPY_COST_SAMPLE_BYTES);
	count = sb_filter_count_new(NULL);
	chain = count != NULL ? sb_filter_compress_new(type, level, count) : NULL;
	if (buf == NULL || chain == NULL)
	{
		/* a compress filter that could not be made left count to us */
		free(buf);
		sb_filter_free_chain(chain != NULL ? chain : count);
		return -1;
	}

	for (int i = 0; ok && i < SB_COPY_COST_SAMPLES; i++)
	{
		size_t		got;

		/* a file shorter than its size at the walk is not sampled */
		ok = sb_read_at(fd, "sample", buf, SB_COPY_COST_SAMPLE_BYTES,
						sample_offset(size, i), &got, &err) == SB_OK &&
			got == SB_COPY_COST_SAMPLE_BYTES &&
			sb_filter_write(chain, buf, got, &err) == SB_OK;
	}
	ok = ok && sb_filter_finish(chain, &err) == SB_OK;
	stored = sb_filter_count_bytes(count);
	sb_filter_free_chain(chain);
	free(buf);
	if (!ok)
		return -1;
	return (double) stored /
		((double) SB_COPY_COST_SAMPLES * SB_COPY_COST_SAMPLE_BYTES);
}

double
sb_copy_cost(uint64_t size, double ratio)
{
	return (double) size * (SB_COPY_COST_BASE + (ratio > 0 ? ratio : 0));
}
