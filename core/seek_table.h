/*-------------------------------------------------------------------------
 *
 * seek_table.h
 *		The seek table of a seekable backup file: where each compressed
 *		frame starts in the stored file and in the plain content, so that
 *		a range of a large file can be fetched without decoding all of it
 *		(docs/repository-format.md, "Backup files").
 *
 * The layout is the Zstandard "seekable format": a skippable frame
 * (magic 0x184D2A5E, which LZ4's frame format also skips) holding one entry
 * per frame, compressed and decompressed size as little-endian u32, then a
 * 9-byte footer: number of frames (u32), a descriptor byte (0: no
 * per-frame checksums) and the seekable magic 0x8F92EAB1.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SEEK_TABLE_H
#define SB_SEEK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_SEEK_SKIPPABLE_MAGIC	UINT32_C(0x184D2A5E)
#define SB_SEEK_MAGIC			UINT32_C(0x8F92EAB1)
#define SB_SEEK_HEADER_LEN		8	/* skippable magic, frame size */
#define SB_SEEK_ENTRY_LEN		8	/* compressed, decompressed size */
#define SB_SEEK_FOOTER_LEN		9	/* frames, descriptor, seekable magic */
/*
 * The most frames a seek table may list: 16 TiB in frames of 1 MiB (so a
 * damaged file cannot make a reader allocate more than 128 MiB for one)
 */
#define SB_SEEK_MAX_FRAMES		(UINT32_C(1) << 24)
/* descriptor: bit 7 says entries carry a checksum; bits 2-6 are reserved */
#define SB_SEEK_DESC_CHECKSUM	0x80
#define SB_SEEK_DESC_RESERVED	0x7C

typedef struct SbSeekEntry
{
	uint32_t	stored;			/* compressed size of the frame */
	uint32_t	plain;			/* decompressed size */
} SbSeekEntry;

/* A growing list of frames (malloc'd). */
typedef struct SbSeekList
{
	SbSeekEntry *e;
	uint32_t	n;
	uint32_t	cap;
} SbSeekList;

/* Add a frame; false when out of memory or a size does not fit 32 bits. */
extern bool sb_seek_list_add(SbSeekList *l, uint64_t stored, uint64_t plain);
extern void sb_seek_list_free(SbSeekList *l);

/* Length of the whole table (skippable frame) for n frames with entry_len-byte entries. */
extern uint64_t sb_seek_table_len(uint64_t n, size_t entry_len);
/* Write the table of l into out (sb_seek_table_len(l->n, SB_SEEK_ENTRY_LEN) bytes). */
extern void sb_seek_table_encode(const SbSeekList *l, uint8_t *out);

/*
 * Read the footer (the last SB_SEEK_FOOTER_LEN bytes of a file): false
 * when it is no seek table's footer (no seekable magic).  When it is, true,
 * with the number of frames and the length of each entry; *detail is set
 * (and *n is 0) when the descriptor is one no writer makes.
 */
extern bool sb_seek_footer_parse(const uint8_t *footer, uint32_t *n,
								 size_t *entry_len, const char **detail);

/*
 * Parse a whole table (header, entries, footer: len bytes) into l.  NULL
 * when it is well formed, else what is wrong with it (out of memory is
 * "out of memory").
 */
extern const char *sb_seek_table_parse(const uint8_t *table, size_t len,
									   SbSeekList *l);

/* little-endian u32 */
extern uint32_t sb_le32_get(const uint8_t *p);
extern void sb_le32_put(uint8_t *p, uint32_t v);

#endif							/* SB_SEEK_TABLE_H */
