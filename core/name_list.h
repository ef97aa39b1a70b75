/*-------------------------------------------------------------------------
 *
 * name_list.h
 *		A growable list of malloc'd strings: the names a directory listing
 *		collects before they are sorted and walked.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_NAME_LIST_H
#define SB_NAME_LIST_H

#include <stdbool.h>

typedef struct SbNameList
{
	char	  **names;
	int			n;
	int			cap;
	bool		oom;			/* set by callers whose add failed */
} SbNameList;

/* Append a copy of name; false when out of memory (the list is unchanged). */
extern bool sb_name_list_add(SbNameList *l, const char *name);
/* Sort the names in strcmp() order. */
extern void sb_name_list_sort(SbNameList *l);
/* Free every name and the array; the list is empty again. */
extern void sb_name_list_free(SbNameList *l);

#endif							/* SB_NAME_LIST_H */
