/*-------------------------------------------------------------------------
 *
 * wal_list_text.c
 *		The WAL change list as text, for its tests; see wal_list_text.h.
 *
 *-------------------------------------------------------------------------
 */
#include "wal_list_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
wl_page_list(uint32_t *pages, uint32_t n)
{
	static char out[4096];
	size_t		len = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < n && len < sizeof(out) - 16; i++)
		len += (size_t) snprintf(out + len, sizeof(out) - len, "%s%u", i ? "," : "", pages[i]);
	free(pages);
	return out;
}

const char *
wl_pages_of(const SbWalChanges *ch, const char *relpath)
{
	uint32_t   *pages;
	uint32_t	n;

	switch (sb_wal_changes_file(ch, relpath, 8192, 131072, &pages, &n))
	{
		case SB_WAL_FILE_NOT_RELATION:
			return "not relation";
		case SB_WAL_FILE_UNTOUCHED:
			return "untouched";
		case SB_WAL_FILE_WHOLE:
			return "whole";
		case SB_WAL_FILE_PAGES:
			break;
	}
	return wl_page_list(pages, n);
}

bool
wl_unusable_with(const SbWalChanges *ch, const char *text)
{
	const char *reason;

	if (ch == NULL || sb_wal_changes_usable(ch, &reason))
		return false;
	if (strstr(reason, text) == NULL)
	{
		fprintf(stderr, "reason: %s\n", reason);
		return false;
	}
	return true;
}
