/*-------------------------------------------------------------------------
 *
 * sb_large_alloc.c
 *		Buffers of several MiB on transparent huge pages.
 *
 * A buffer of a whole WAL segment is touched once from one end to the
 * other right after it is allocated.  In 4 kB pages, 16 MiB are 4096 page
 * faults, each clearing its page (on this project's virtual machines, the
 * host also backs each page on its first touch): measured on a delta
 * restore reading four segments, the WAL phase took 40 ms instead of
 * 56-62 ms with the buffers on 2 MiB pages.  Debian's kernels give huge
 * pages to anonymous memory only where madvise(MADV_HUGEPAGE) asks
 * (transparent_hugepage "madvise"), so buffers of at least one huge page
 * are aligned to it and ask; where the kernel declines, they stay in
 * normal pages.  The memory used is the same: the buffer is filled whole.
 *
 * Buffers that the disk reads into or writes from with O_DIRECT gain too:
 * the device gets a request as a list of the buffer's physical pages, 256
 * of them for 1 MiB in 4 kB pages, and virtio-blk takes 254 per request.
 * On the project machine a 1 GiB table segment read direct (three 1 MiB
 * reads in flight) at 1.1-1.6 GB/s into 4 kB pages, 3.1-3.3 GB/s into
 * huge pages (core/read_direct.c).  Such buffers are aligned to the huge
 * page, so also for O_DIRECT.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "sb_large_alloc.h"

#include <stdlib.h>
#include <sys/mman.h>

/* the x86-64 (and arm64 with 4 kB pages) transparent huge page */
#define SB_HUGE_PAGE	((size_t) 2 * 1024 * 1024)

void *
sb_large_alloc(size_t size)
{
	void	   *p = NULL;

	if (size < SB_HUGE_PAGE)
		return malloc(size);
	if (posix_memalign(&p, SB_HUGE_PAGE, size) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	/* advice only (the whole huge pages of it): it works the same without */
	(void) madvise(p, size / SB_HUGE_PAGE * SB_HUGE_PAGE, MADV_HUGEPAGE);
#endif
	return p;
}
