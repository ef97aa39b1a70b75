/*-------------------------------------------------------------------------
 *
 * wal_list_text.h
 *		The WAL change list as text, for the tests that build one
 *		(test_wal_changes.c, test_wal_source.c): a file's pages as
 *		"1,2,3", and whether the list is unusable for a given reason.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TEST_WAL_LIST_TEXT_H
#define SB_TEST_WAL_LIST_TEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "wal_changes.h"

/* pages[0..n) as "1,2,3" (a static buffer); frees pages */
extern const char *wl_page_list(uint32_t *pages, uint32_t n);

/*
 * The pages of relpath (8 kB pages, 1 GB segments) as "1,2,3",
 * "untouched", "whole" or "not relation" (a static buffer).
 */
extern const char *wl_pages_of(const SbWalChanges *ch, const char *relpath);

/* Is ch unusable with a reason containing text?  (Prints the reason when not.) */
extern bool wl_unusable_with(const SbWalChanges *ch, const char *text);

#endif							/* SB_TEST_WAL_LIST_TEXT_H */
