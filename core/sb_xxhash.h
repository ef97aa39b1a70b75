/*-------------------------------------------------------------------------
 *
 * sb_xxhash.h
 *		The one way the core includes libxxhash.  On x86 the library also
 *		exports XXH3 functions that pick AVX2 or AVX-512 when the CPU has
 *		them (xxh_x86dispatch.h renames the plain calls to those); the
 *		plain ones of Debian's build use SSE2 only.  Same hashes either
 *		way, so files written by one are read by the other.
 *
 * On the project machine (AMD EPYC, AVX-512), 256 MiB of a table hashed in
 * 128 kB blocks: XXH3-64 14 -> 20-24 GB/s; XXH3-128 streamed in 256 kB
 * pieces (a file's digest) 5.4 -> 26.5 GB/s.  A backup of a pgbench
 * scale-200 cluster hashes its 3 GB twice (digest and block sums).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_XXHASH_H
#define SB_XXHASH_H

#if (defined(__x86_64__) || defined(__i386__)) && defined(__has_include)
#if __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#define SB_XXHASH_DISPATCH 1
#endif
#endif

#ifndef SB_XXHASH_DISPATCH
#include <xxhash.h>
#endif

#endif							/* SB_XXHASH_H */
