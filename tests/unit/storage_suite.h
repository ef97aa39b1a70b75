/*-------------------------------------------------------------------------
 *
 * storage_suite.h
 *		A driver-independent test suite for the storage interface.
 *
 * Every repository driver (posix, sftp, tls) must pass this suite.  It
 * exercises each operation of core/storage.h through the checked entry
 * points, working in a fresh subdirectory of the repository that it removes
 * again at the end.
 *
 * cfg describes the repository to test.  backing_dir is the local directory
 * where that repository's root physically lives, which lets the suite check
 * files on disk and inject faults (for instance a read-only directory); pass
 * NULL when the root is not reachable locally, and those cases are skipped.
 *
 * Results are recorded with SB_CHECK (sb_test.h); the caller defines the
 * counters and prints the summary.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_STORAGE_SUITE_H
#define SB_STORAGE_SUITE_H

#include "sb_config.h"

/* Run the suite; returns the number of failed checks it added. */
extern int	sb_storage_suite_run(const SbRepoConfig *cfg,
								 const char *backing_dir);

#endif							/* SB_STORAGE_SUITE_H */
