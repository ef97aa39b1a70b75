/*-------------------------------------------------------------------------
 *
 * backup_order.c
 *		Put a base backup's files in the order its copiers take them: the
 *		longest to copy first, so that what is left at the end are short
 *		jobs that keep every copier busy until the last one finishes.
 *
 * By size alone, a B-tree index handed out after the table's segments was
 * still being compressed by one copier (four times slower per byte than
 * the table) for 0.4 s of a 2.5 s backup while the other had nothing left:
 * see core/copy_cost.h.  The largest files are sampled for how well they
 * compress (at most 8 MB read in all); a file that cannot be sampled
 * (too small, gone, unreadable: the copier will report it) gets the mean
 * of the samples, so that among those the order stays by size.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "copy_cost.h"
#include "worker/backup_order.h"

typedef struct OrderItem
{
	SbWalkEntry *e;
	double		cost;
} OrderItem;

static int
larger_first(const void *a, const void *b)
{
	const SbWalkEntry *x = *(SbWalkEntry *const *) a;
	const SbWalkEntry *y = *(SbWalkEntry *const *) b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int
costlier_first(const void *a, const void *b)
{
	const OrderItem *x = a;
	const OrderItem *y = b;

	if (x->cost != y->cost)
		return x->cost > y->cost ? -1 : 1;
	return larger_first(&x->e, &y->e);
}

void
sb_backup_order(SbWalkEntry **files, int nfiles, const SbRepoConfig *cfg,
				bool sample)
{
	OrderItem  *items;
	double	   *ratios;
	double		sum = 0;
	int			nsampled = 0;
	int			nlook = Min(nfiles, SB_ORDER_SAMPLED_FILES);

	qsort(files, nfiles, sizeof(SbWalkEntry *), larger_first);
	if (!sample || cfg->compress_type == SB_COMPRESS_NONE || nfiles < 2)
		return;

	/* only files large enough to be a long job at the end */
	while (nlook > 0 && files[nlook - 1]->size < SB_ORDER_MIN_SAMPLED)
		nlook--;
	/* the disk reads every sample at once, then each is compressed */
	for (int i = 0; i < nlook; i++)
	{
		int			fd = open(files[i]->local_path, O_RDONLY | PG_BINARY | O_CLOEXEC);

		if (fd < 0)
			continue;
		sb_copy_cost_prefetch(fd, files[i]->size, cfg->compress_type);
		close(fd);
	}
	ratios = palloc(sizeof(double) * Max(nlook, 1));
	for (int i = 0; i < nlook; i++)
	{
		int			fd = open(files[i]->local_path, O_RDONLY | PG_BINARY | O_CLOEXEC);

		ratios[i] = -1;
		if (fd < 0)
			continue;
		ratios[i] = sb_copy_cost_ratio(fd, files[i]->size, cfg->compress_type,
									   cfg->compress_level);
		close(fd);
		if (ratios[i] >= 0)
		{
			sum += ratios[i];
			nsampled++;
		}
	}
	if (nsampled == 0)
	{
		pfree(ratios);
		return;					/* nothing to go on but the sizes */
	}

	items = palloc(sizeof(OrderItem) * nfiles);
	for (int i = 0; i < nfiles; i++)
	{
		double		r = i < nlook && ratios[i] >= 0 ? ratios[i] : sum / nsampled;

		items[i].e = files[i];
		items[i].cost = sb_copy_cost(files[i]->size, r);
	}
	qsort(items, nfiles, sizeof(OrderItem), costlier_first);
	for (int i = 0; i < nfiles; i++)
		files[i] = items[i].e;
	elog(DEBUG1, "base backup copies \"%s\" first (%d large files sampled for how they compress)",
		 files[0]->path, nsampled);
	pfree(items);
	pfree(ratios);
}
