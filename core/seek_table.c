/*-------------------------------------------------------------------------
 *
 * seek_table.c
 *		Writing and parsing the seek table of a seekable backup file
 *		(seek_table.h), written from the public description of the
 *		Zstandard seekable format.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "seek_table.h"

#include <stdlib.h>
#include <string.h>

uint32_t
sb_le32_get(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

void
sb_le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

bool
sb_seek_list_add(SbSeekList *l, uint64_t stored, uint64_t plain)
{
	if (stored > UINT32_MAX || plain > UINT32_MAX || l->n == UINT32_MAX)
		return false;
	if (l->n == l->cap)
	{
		uint32_t	cap = l->cap ? (l->cap < UINT32_MAX / 2 ? l->cap * 2 : UINT32_MAX) : 64;
		SbSeekEntry *e = realloc(l->e, sizeof(SbSeekEntry) * (size_t) cap);

		if (e == NULL)
			return false;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n].stored = (uint32_t) stored;
	l->e[l->n].plain = (uint32_t) plain;
	l->n++;
	return true;
}

void
sb_seek_list_free(SbSeekList *l)
{
	free(l->e);
	memset(l, 0, sizeof(SbSeekList));
}

uint64_t
sb_seek_table_len(uint64_t n, size_t entry_len)
{
	return SB_SEEK_HEADER_LEN + n * entry_len + SB_SEEK_FOOTER_LEN;
}

void
sb_seek_table_encode(const SbSeekList *l, uint8_t *out)
{
	uint8_t    *p = out;

	sb_le32_put(p, SB_SEEK_SKIPPABLE_MAGIC);
	/* the skippable frame's size counts what follows its header */
	sb_le32_put(p + 4, (uint32_t) (sb_seek_table_len(l->n, SB_SEEK_ENTRY_LEN) -
								   SB_SEEK_HEADER_LEN));
	p += SB_SEEK_HEADER_LEN;
	for (uint32_t i = 0; i < l->n; i++)
	{
		sb_le32_put(p, l->e[i].stored);
		sb_le32_put(p + 4, l->e[i].plain);
		p += SB_SEEK_ENTRY_LEN;
	}
	sb_le32_put(p, l->n);
	p[4] = 0;					/* descriptor: no checksums */
	sb_le32_put(p + 5, SB_SEEK_MAGIC);
}

bool
sb_seek_footer_parse(const uint8_t *footer, uint32_t *n, size_t *entry_len,
					 const char **detail)
{
	uint8_t		desc = footer[4];

	*n = 0;
	*entry_len = SB_SEEK_ENTRY_LEN;
	*detail = NULL;
	if (sb_le32_get(footer + 5) != SB_SEEK_MAGIC)
		return false;
	if (desc & SB_SEEK_DESC_RESERVED)
	{
		*detail = "seek table descriptor has reserved bits set";
		return true;
	}
	/* entries with a checksum (other writers) carry 4 bytes more */
	if (desc & SB_SEEK_DESC_CHECKSUM)
		*entry_len = SB_SEEK_ENTRY_LEN + 4;
	*n = sb_le32_get(footer);
	if (*n == 0)
		*detail = "seek table lists no frames";
	return true;
}

const char *
sb_seek_table_parse(const uint8_t *table, size_t len, SbSeekList *l)
{
	const uint8_t *footer;
	const char *detail;
	uint32_t	n;
	size_t		entry_len;

	memset(l, 0, sizeof(SbSeekList));
	if (len < SB_SEEK_HEADER_LEN + SB_SEEK_FOOTER_LEN)
		return "seek table too short";
	footer = table + len - SB_SEEK_FOOTER_LEN;
	if (!sb_seek_footer_parse(footer, &n, &entry_len, &detail))
		return "seek table has no seekable magic number";
	if (detail != NULL)
		return detail;
	if (sb_seek_table_len(n, entry_len) != len)
		return "seek table length does not match its number of frames";
	if (sb_le32_get(table) != SB_SEEK_SKIPPABLE_MAGIC)
		return "seek table does not start with its skippable frame magic number";
	if (sb_le32_get(table + 4) != len - SB_SEEK_HEADER_LEN)
		return "seek table frame size does not match its number of frames";
	for (uint32_t i = 0; i < n; i++)
	{
		const uint8_t *p = table + SB_SEEK_HEADER_LEN + (size_t) i * entry_len;

		if (!sb_seek_list_add(l, sb_le32_get(p), sb_le32_get(p + 4)))
		{
			sb_seek_list_free(l);
			return "out of memory";
		}
	}
	return NULL;
}
