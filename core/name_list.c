/*-------------------------------------------------------------------------
 *
 * name_list.c
 *		A growable list of malloc'd strings (see name_list.h).
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "name_list.h"

bool
sb_name_list_add(SbNameList *l, const char *name)
{
	char	   *copy;

	if (l->n == l->cap)
	{
		int			cap = l->cap ? l->cap * 2 : 32;
		char	  **p = realloc(l->names, sizeof(char *) * (size_t) cap);

		if (p == NULL)
			return false;
		l->names = p;
		l->cap = cap;
	}
	copy = strdup(name);
	if (copy == NULL)
		return false;
	l->names[l->n++] = copy;
	return true;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
sb_name_list_sort(SbNameList *l)
{
	if (l->n > 1)
		qsort(l->names, (size_t) l->n, sizeof(char *), cmp_names);
}

void
sb_name_list_free(SbNameList *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}
