/*-------------------------------------------------------------------------
 *
 * page_verify.c
 *		Page checksum verification during a base backup.
 *
 * A backup is the last chance to notice a corrupt page before the good
 * copies of it expire, so every page of a relation file is checked as the
 * copier reads it, when the cluster has data checksums.  A page with an LSN
 * at or past the backup's start is being written while we read it: WAL
 * replay rewrites it at restore, so it is skipped.  A page that fails is read
 * once more before it counts: the first read may have caught it half written.
 *
 * This file compiles the server's checksum implementation; on x86-64 the
 * same code built for AVX2 (page_checksum_avx2.c) is used when the CPU has
 * it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <unistd.h>

#include "storage/bufpage.h"
#include "storage/checksum.h"
#include "storage/checksum_impl.h"

#include "worker/page_verify.h"

#ifdef __x86_64__
extern uint16 sb_page_checksum_avx2(char *page, BlockNumber blkno);
#endif

typedef uint16 (*PageChecksumFn) (char *page, BlockNumber blkno);

/* the checksum this CPU computes fastest (the same value either way) */
static PageChecksumFn
page_checksum_fn(void)
{
	static PageChecksumFn fn = NULL;

	if (fn == NULL)
	{
		fn = pg_checksum_page;
#ifdef __x86_64__
		if (__builtin_cpu_supports("avx2"))
			fn = sb_page_checksum_avx2;
#endif
	}
	return fn;
}

/* digits, then optionally _fsm, _vm or _init, then optionally .N */
static bool
segment_name(const char *name, unsigned int *segno)
{
	const char *p = name;
	const char *forks[] = {"_fsm", "_vm", "_init"};

	if (!isdigit((unsigned char) *p))
		return false;
	while (isdigit((unsigned char) *p))
		p++;
	if (*p == '_')
	{
		bool		known = false;

		for (int i = 0; i < lengthof(forks); i++)
		{
			size_t		n = strlen(forks[i]);

			if (strncmp(p, forks[i], n) == 0)
			{
				p += n;
				known = true;
				break;
			}
		}
		if (!known)
			return false;
	}
	*segno = 0;
	if (*p == '.')
	{
		unsigned long n = 0;

		p++;
		if (!isdigit((unsigned char) *p))
			return false;
		while (isdigit((unsigned char) *p))
		{
			n = n * 10 + (*p - '0');
			if (n > UINT_MAX / RELSEG_SIZE)
				return false;
			p++;
		}
		*segno = (unsigned int) n;
	}
	return *p == '\0';
}

bool
sb_relation_segment(const char *relpath, unsigned int *segno)
{
	const char *name = strrchr(relpath, '/');

	if (name == NULL)
		return false;
	if (strncmp(relpath, "base/", 5) != 0 &&
		strncmp(relpath, "global/", 7) != 0 &&
		strncmp(relpath, "pg_tblspc/", 10) != 0)
		return false;
	return segment_name(name + 1, segno);
}

void
sb_page_verify_init(SbPageVerify *pv, const char *relpath, bool checksums,
					XLogRecPtr start_lsn)
{
	unsigned int segno = 0;

	memset(pv, 0, sizeof(*pv));
	pv->path = relpath;
	pv->start_lsn = start_lsn;
	pv->active = checksums && sb_relation_segment(relpath, &segno);
	pv->first_block = (BlockNumber) segno * RELSEG_SIZE;
	pv->checksum = page_checksum_fn();
}

static bool
all_zero(const char *page)
{
	for (int i = 0; i < BLCKSZ; i++)
		if (page[i] != 0)
			return false;
	return true;
}

/*
 * Is the page fine?  *computed gets its checksum when it was computed.
 * New pages must be all zero; pages written since the backup started pass.
 */
static bool
page_ok(SbPageVerify *pv, char *page, BlockNumber blkno, uint16 *computed)
{
	*computed = 0;
	if (PageIsNew((Page) page))
		return all_zero(page);
	if (PageGetLSN((Page) page) >= pv->start_lsn)
	{
		pv->skipped++;
		return true;
	}
	*computed = pv->checksum(page, blkno);
	return *computed == ((PageHeader) page)->pd_checksum;
}

static void
report_page(SbPageVerify *pv, char *page, BlockNumber blkno, uint16 computed)
{
	XLogRecPtr	lsn = PageGetLSN((Page) page);

	pv->failures++;
	if (pv->failures > SB_PAGE_WARNINGS_PER_FILE)
		return;
	if (PageIsNew((Page) page))
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page verification failed in file \"%s\", block %u",
						pv->path, blkno),
				 errdetail("The page header is empty but the page is not all zeros.")));
	else
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page checksum verification failed in file \"%s\", block %u",
						pv->path, blkno),
				 errdetail("Expected checksum %u, found %u; page LSN %X/%X.",
						   computed, ((PageHeader) page)->pd_checksum,
						   LSN_FORMAT_ARGS(lsn))));
	if (pv->failures == SB_PAGE_WARNINGS_PER_FILE)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("further page checksum failures in file \"%s\" are counted but not reported",
						pv->path)));
}

uint32
sb_page_verify_chunk(SbPageVerify *pv, int fd, char *buf, size_t len,
					 uint64 offset)
{
	static union
	{
		char		data[BLCKSZ];
		pg_attribute_aligned(4096) char align;
	}			reread;

	uint32		before = pv->failures;
	size_t		pos;

	if (!pv->active)
		return 0;
	/* whole pages only: a partial last page is being extended */
	for (pos = (BLCKSZ - offset % BLCKSZ) % BLCKSZ; pos + BLCKSZ <= len; pos += BLCKSZ)
	{
		char	   *page = buf + pos;
		BlockNumber blkno = pv->first_block + (BlockNumber) ((offset + pos) / BLCKSZ);
		uint16		computed;
		ssize_t		n;

		if (page_ok(pv, page, blkno, &computed))
			continue;

		/*
		 * Read it again: it may have been half written on the first read.
		 * Into a buffer aligned for a file read with O_DIRECT
		 * (safebackup.backup_read = direct), then over the first copy.
		 */
		n = pread(fd, reread.data, BLCKSZ, (off_t) (offset + pos));
		if (n != BLCKSZ)
			continue;			/* truncated meanwhile: WAL replay restores it */
		memcpy(page, reread.data, BLCKSZ);
		if (page_ok(pv, page, blkno, &computed))
			continue;
		report_page(pv, page, blkno, computed);
	}
	return pv->failures - before;
}
