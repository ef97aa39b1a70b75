/*-------------------------------------------------------------------------
 *
 * block_sum.c
 *		Per-block checksums of a file's content (see block_sum.h): one
 *		place that says how a block is hashed, for the backup that records
 *		the sums and the restore that compares them.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "block_sum.h"

#include "sb_xxhash.h"

uint64_t
sb_block_sum(const void *buf, size_t len)
{
	return (uint64_t) XXH3_64bits(buf, len);
}

uint64_t
sb_block_count(uint64_t size, uint32_t block_size)
{
	return (size + block_size - 1) / block_size;
}

bool
sb_block_sums_update(uint64_t *sums, uint64_t cap, uint32_t block_size,
					 const void *buf, size_t len, uint64_t offset)
{
	const uint8_t *p = buf;
	uint64_t	i = offset / block_size;
	bool		fits = true;

	while (len > 0)
	{
		size_t		n = len < block_size ? len : block_size;

		if (i < cap)
			sums[i] = sb_block_sum(p, n);
		else
			fits = false;
		i++;
		p += n;
		len -= n;
	}
	return fits;
}
