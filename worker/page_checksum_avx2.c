/*-------------------------------------------------------------------------
 *
 * page_checksum_avx2.c
 *		The server's page checksum (storage/checksum_impl.h, which the
 *		server ships for programs that check pages themselves) compiled a
 *		second time, for CPUs with AVX2; page_verify.c calls it when the
 *		CPU has them.
 *
 * The server's own build targets the baseline x86-64 (SSE2): its checksum
 * of 32 lanes vectorizes four lanes at a time, AVX2 eight.  On the project
 * machine, 256 MiB of a pgbench table checked page by page: 13.4 GB/s as
 * the server builds it, 30 GB/s here; a backup of a scale-200 cluster
 * checks 3 GB of pages.  The Makefile builds this file with -mavx2 (and,
 * as the server builds its checksum, loops unrolled and vectorized) and
 * only on x86-64.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/block.h"

extern uint16 sb_page_checksum_avx2(char *page, BlockNumber blkno);

#define pg_checksum_page sb_page_checksum_avx2
#include "storage/checksum_impl.h"
