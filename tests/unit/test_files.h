/*-------------------------------------------------------------------------
 *
 * test_files.h
 *		Local file helpers shared by the unit tests.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TEST_FILES_H
#define SB_TEST_FILES_H

#include <stddef.h>

#include "storage.h"

/* Whole file into a malloc'd NUL-terminated buffer; NULL if unreadable. */
extern char *sb_test_read_file(const char *path, size_t *len);
/* Write a whole file; exits the test program on failure. */
extern void sb_test_write_file(const char *path, const void *buf, size_t len);
/*
 * Open a posix repository at <root>/repo (created if missing) with default
 * settings in cfg; exits the test program on failure.
 */
extern SbStorage *sb_test_open_repo(const char *root, SbRepoConfig *cfg);
/* Remove a directory tree (making read-only directories removable). */
extern void sb_test_rm_tree(const char *path);

#endif							/* SB_TEST_FILES_H */
