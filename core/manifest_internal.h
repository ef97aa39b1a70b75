/*-------------------------------------------------------------------------
 *
 * manifest_internal.h
 *		The words of the manifest's text form, shared by its reader
 *		(manifest.c) and its writer (manifest_render.c); see manifest.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_MANIFEST_INTERNAL_H
#define SB_MANIFEST_INTERNAL_H

#define MANIFEST_MAGIC			"pg_safebackup manifest"
#define MANIFEST_CHECKSUM_KEY	"checksum="
#define CHECKSUM_FAILURES_KEY	"checksum_failures"
#define PAGE_FAILURES_KEY		"page_checksum_failures"
#define BLOCK_SIZE_KEY			"block_size"
#define BLOCKS_KEY				"blocks"
#define BASE_KEY				"base"
#define REF_KEY					"ref"
#define RESUMED_KEY				"resumed_files"
#define CHUNKS_KEY				"chunks"
#define CHUNK_SIZE_KEY			"chunk_size"
#define PART_KEY				"part"
#define READ_SIZE_KEY			"read_size"
#define BLOCK_FILES_KEY			"block_incremental_files"
/* 2: base and ref records (differential and incremental backups) */
#define MANIFEST_FORMAT_CHAINED	2
/* 3: chunks and part records (block-incremental files) */
#define MANIFEST_FORMAT_VERSION	3
#define MANIFEST_FORMAT_PLAIN	1

#endif							/* SB_MANIFEST_INTERNAL_H */
