/*-------------------------------------------------------------------------
 *
 * manifest.h
 *		Backup manifests: what a backup holds, written last.
 *
 * A backup lives in <stanza>/backup/<label>/:
 *
 *   data/<path>[.gz]       every file of the data directory, by its path
 *                          relative to the data directory; tablespace files
 *                          under data/pg_tblspc/<oid>/...; backup_label and
 *                          tablespace_map as produced by the server
 *   backup.manifest        this manifest, written last: a backup without a
 *                          manifest is not a backup
 *
 * The manifest is text: a first line "pg_safebackup manifest", then one
 * record per line, then "checksum=<sha256 of all lines before>":
 *
 *   key=value                          header fields (see SbManifest)
 *   tablespace=<oid>\t<original path>
 *   dir=<path>\t<mode octal>
 *   file=<path>\t<size>\t<mtime>\t<mode octal>\t<sha256>\t<stored size>
 *   checksum_failures=<n>              header, only when page checksums
 *                                      were verified (total of the files)
 *   page_checksum_failures=<path>\t<n> after the file records, one per
 *                                      file with failing pages
 *   block_size=<bytes>                 header, only when block sums follow
 *   blocks=<path>\t<sums>              after the file records, for files
 *                                      larger than one block: the sum of
 *                                      each block_size block of the file's
 *                                      content, in order, each 16 lower-case
 *                                      hex digits (64-bit XXH3, see
 *                                      block_sum.h), ceil(size / block_size)
 *                                      of them, no separator
 *   stop_timeline=<tli>                header, optional: the timeline of
 *                                      stop_lsn (absent: "timeline")
 *   backup_from=primary|standby        header, optional: where the backup
 *                                      was taken (absent: primary)
 *   base=<label>                       header, differential and incremental
 *                                      backups: the backup they build on
 *   ref=<path>\t<label>\t<compress>     after the file records: the file's
 *                                      content is not stored here but in
 *                                      backup <label>, under data/<path>
 *                                      with <compress>'s suffix (always the
 *                                      backup that holds the bytes, one of
 *                                      the chain of base backups)
 *   resumed_files=<n>                  header: files reused from the
 *                                      interrupted attempt this one resumed
 *   chunk_size=<bytes>                 header, with chunks records: the
 *                                      unit of their lists (the cluster's
 *                                      page size), a divisor of block_size
 *   chunks=<path>\t<size>\t<list>       after the file records: the file's
 *                                      stored content holds only the listed
 *                                      chunk_size chunks (<size> bytes); a
 *                                      block-incremental file
 *   part=<path>\t<label>\t<compress>\t<size>\t<sha256>\t<stored size>\t<list|*>
 *                                      after them: an older layer of a
 *                                      block-incremental file, oldest first
 *                                      ("*": the whole file)
 *   read_size=<bytes>                  header, optional: bytes the backup
 *                                      read from the data directory
 *   block_incremental_files=<n>        header, optional: files stored by
 *                                      their changed chunks only
 *
 * A manifest with base or ref records has format_version 2, so that a
 * reader that does not know them refuses it instead of missing files; one
 * with chunks records has format_version 3 (see manifest_layers.c).
 *
 * The block sums let a delta restore find the blocks of an existing file
 * that differ from the backup without fetching the file, and are meant for
 * incremental backups (which blocks changed since); a manifest without
 * them (older writers, files of one block) is read as before, and the
 * file's sha256 stays its integrity check.
 *
 * Readers ignore keys they do not know, so older readers read newer
 * manifests; a manifest without checksum_failures was not verified.
 *
 * Paths never contain tab, newline or "..".  The manifest is stored through
 * the codec uncompressed, so one tool can read it for inspection (in an
 * encrypted stanza it is encrypted like every other file).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_MANIFEST_H
#define SB_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "block_sum.h"
#include "codec.h"
#include "sb_config.h"
#include "sb_error.h"
#include "storage.h"
#include "sum_store.h"

#define SB_LABEL_LEN		32
#define SB_LSN_LEN			24
#define SB_WALNAME_MAX		25

/*
 * An older layer of a block-incremental file (a "part" record): the
 * content one backup of the chain stored for it, the whole file or only
 * some of its block_size chunks.
 */
typedef struct SbManifestPart
{
	char		label[SB_LABEL_LEN];	/* the backup holding it */
	SbCompressType compress;	/* how that backup stored it */
	uint64_t	size;			/* plain size of what is stored */
	char		digest[SB_SHA256_HEX_LEN + 1];	/* of that content */
	uint64_t	stored_size;
	uint32_t	nchunks;		/* 0: the whole file */
	uint32_t   *chunks;			/* the chunks it holds, ascending */
} SbManifestPart;

typedef struct SbManifestFile
{
	char	   *path;			/* relative to the data directory */
	uint64_t	size;
	int64_t		mtime;
	unsigned int mode;
	char		digest[SB_SHA256_HEX_LEN + 1];	/* hex, of its kind (SbDigestKind) */
	uint64_t	stored_size;
	uint32_t	checksum_failures;	/* pages whose checksum did not match */
	uint64_t	nblocks;		/* block sums recorded, 0 when none */
	/*
	 * The sums of the file's nblocks SbManifest.block_size blocks: given to
	 * sb_manifest_add_file in block_sums, which copies them into the
	 * manifest's store; a manifest's entries have block_sums NULL and their
	 * sums at index sums_at of it (sb_manifest_file_sums reads them).
	 */
	const uint64_t *block_sums;
	uint64_t	sums_at;
	/* "": stored in this backup; else the backup holding the content */
	char		ref_label[SB_LABEL_LEN];
	SbCompressType ref_compress;	/* how that backup stored it */

	/*
	 * Block-incremental files ("chunks" and "part" records): nchunks > 0
	 * when the stored content (here or at ref_label; sha256 and stored_size
	 * describe it) holds only these chunk_size chunks of the file, in order,
	 * chunks_size bytes in all; the file is its parts, oldest first (a whole
	 * file), each laid over the one before, then these chunks, cut to size.
	 * Always with block sums of the whole result.  Copied by
	 * sb_manifest_add_file.
	 */
	uint32_t	nchunks;
	uint32_t   *chunks;
	uint64_t	chunks_size;
	int			nparts;
	SbManifestPart *parts;
} SbManifestFile;

typedef struct SbManifestDir
{
	char	   *path;
	unsigned int mode;
} SbManifestDir;

typedef struct SbManifestTablespace
{
	unsigned int oid;
	char	   *path;			/* link target on the backed-up host */
} SbManifestTablespace;

typedef struct SbManifest
{
	int			format_version;
	char		label[SB_LABEL_LEN];	/* e.g. 20261123-112437F */
	char		type[16];		/* "full", "diff" or "incr" */
	char		base[SB_LABEL_LEN];	/* "" for a full backup */
	char		start_lsn[SB_LSN_LEN];	/* "0/2000028" */
	char		stop_lsn[SB_LSN_LEN];
	char		start_wal[SB_WALNAME_MAX];	/* segment holding start_lsn */
	char		stop_wal[SB_WALNAME_MAX];	/* segment holding stop_lsn */
	unsigned int timeline;		/* of start_lsn */
	unsigned int stop_timeline; /* of stop_lsn (0 when read from a manifest
								 * without it: timeline) */
	char		backup_from[16];	/* "primary" or "standby" ("" when read
									 * from a manifest without it: primary) */
	int64_t		start_time;		/* seconds since the epoch */
	int64_t		stop_time;
	uint64_t	system_identifier;
	int			pg_version;
	SbCompressType compress_type;	/* of the data files */
	uint64_t	database_size;	/* sum of file sizes */
	uint64_t	stored_size;	/* sum of stored sizes */
	bool		checksums_verified; /* page checksums were checked */
	uint64_t	checksum_failures;	/* sum of the files' failures */
	uint32_t	block_size;		/* of the files' block sums, 0: none */
	uint32_t	chunk_size;		/* unit of chunks and part lists (a
								 * divisor of block_size); 0: none */
	uint64_t	resumed_files;	/* reused from an interrupted attempt */
	uint64_t	read_size;		/* bytes read from the data directory, 0:
								 * not recorded */
	uint64_t	block_incremental_files;	/* stored by changed chunks */

	int			nfiles;
	int			files_cap;
	SbManifestFile *files;
	SbSumStore	sums;			/* the files' block sums */
	bool		sums_skipped;	/* read with SB_MANIFEST_SKIP_SUMS: the
								 * entries' nblocks are known, their sums
								 * are not */
	int			ndirs;
	int			dirs_cap;
	SbManifestDir *dirs;
	int			ntablespaces;
	int			tablespaces_cap;
	SbManifestTablespace *tablespaces;
} SbManifest;

extern void sb_manifest_init(SbManifest *m);
extern void sb_manifest_free(SbManifest *m);

/*
 * Append entries (strings and block sums are copied); false when out of
 * memory, a path is invalid or the block sums cannot be stored.
 * sb_manifest_add is sb_manifest_add_file saying why it failed.
 */
extern bool sb_manifest_add_file(SbManifest *m, const SbManifestFile *f);
extern SbStatus sb_manifest_add(SbManifest *m, const SbManifestFile *f,
								SbError *err);
extern bool sb_manifest_add_dir(SbManifest *m, const char *path, unsigned int mode);
extern bool sb_manifest_add_tablespace(SbManifest *m, unsigned int oid,
									   const char *path);

/*
 * The block sums of f, an entry of m: all f->nblocks of them into out
 * (room for that many), or, with the _dup form, into a malloc'd array
 * (NULL with err set on failure).
 */
extern SbStatus sb_manifest_file_sums(const SbManifest *m,
									  const SbManifestFile *f, uint64_t *out,
									  SbError *err);
extern uint64_t *sb_manifest_file_sums_dup(const SbManifest *m,
										   const SbManifestFile *f,
										   SbError *err);

/* Repository paths of a backup's pieces. */
extern void sb_backup_dir(const char *stanza, const char *label, char *out);
extern void sb_backup_manifest_path(const char *stanza, const char *label,
									char *out);
/* Stored name of a data file (adds the type's suffix: ".gz", ".lz4", ".zst"). */
extern void sb_backup_file_path(const char *stanza, const char *label,
								const char *relpath, SbCompressType ct,
								char *out);

/*
 * Where a file's content is stored: its own backup's data/ or, for a
 * referenced file, the backup named by ref_label; *ct is how it is stored.
 */
extern void sb_manifest_file_location(const char *stanza, const SbManifest *m,
									  const SbManifestFile *f, char *out,
									  SbCompressType *ct);

/*
 * manifest_layers.c: block-incremental files.  Where part p of f is
 * stored; the chunk list text ("0-3,7"; malloc'd, NULL when out of
 * memory) and its parser (strictly ascending, each below limit); deep
 * copies and frees of f's chunks and parts; and, for a backup storing
 * only some chunks of a file whose base entry is be (in manifest base),
 * the parts the new entry inherits: be's parts and be's own content.
 */
extern void sb_manifest_part_location(const char *stanza,
									  const SbManifestFile *f,
									  const SbManifestPart *p, char *out);
extern char *sb_chunk_list_text(const uint32_t *chunks, uint32_t n);
extern bool sb_chunk_list_parse(const char *s, uint32_t limit,
								uint32_t **chunks, uint32_t *n);
extern bool sb_manifest_file_copy_layers(SbManifestFile *dst,
										 const SbManifestFile *src);
extern void sb_manifest_file_free_layers(SbManifestFile *f);
extern bool sb_manifest_inherit_parts(SbManifestFile *dst,
									  const SbManifest *base,
									  const SbManifestFile *be);
/* Does f's content come from more than one stored object? */
#define sb_manifest_file_layered(f)	((f)->nchunks > 0)

/*
 * Render / parse the text form (checksum verified: SB_ERR_CORRUPT), in
 * memory (for tests and small manifests).
 */
extern char *sb_manifest_render(const SbManifest *m, size_t *len);
extern SbStatus sb_manifest_parse(SbManifest *m, const char *text, size_t len,
								  SbError *err);

/*
 * The same without the whole text in memory.  sb_manifest_reader_new: a
 * sink filter that parses what is pushed into it into m (initialized
 * here; on failure the caller frees it).  sb_manifest_store: write m's
 * text to path in st through cfg's codec (flags as for
 * sb_storage_write_open), as it is rendered.  sb_manifest_fetch: read the
 * manifest-form file path into m (freed on failure); *failure says what
 * failed: the storage or codec, the text, or the text being encrypted
 * while st has no key.
 */
typedef enum SbManifestFetchFailure
{
	SB_MANIFEST_FETCH_STORAGE,
	SB_MANIFEST_FETCH_TEXT,
	SB_MANIFEST_FETCH_ENCRYPTED
} SbManifestFetchFailure;

/*
 * flags: SB_MANIFEST_SKIP_SUMS reads the block sums records without keeping
 * the sums (for what lists, expires, verifies or checks a chain of backups:
 * nothing to decode or to put in a temporary file); reading the sums of
 * such a manifest's entries fails.
 */
#define SB_MANIFEST_SKIP_SUMS	0x01

extern SbFilter *sb_manifest_reader_new(SbManifest *m, int flags);
extern SbStatus sb_manifest_store(SbStorage *st, const SbRepoConfig *cfg,
								  const SbManifest *m, const char *path,
								  int flags, SbError *err);
extern SbStatus sb_manifest_fetch(SbStorage *st, const char *path,
								  SbManifest *m, int flags,
								  SbManifestFetchFailure *failure,
								  SbError *err);

/* Write the manifest durably (never overwriting) / read it back. */
extern SbStatus sb_manifest_save(SbStorage *st, const SbRepoConfig *cfg,
								 const SbManifest *m, SbError *err);
/* SB_ERR_NOT_FOUND when the backup has no manifest (incomplete). */
extern SbStatus sb_manifest_load(SbStorage *st, const char *stanza,
								 const char *label, SbManifest *m,
								 SbError *err);
/* The same with sb_manifest_reader_new's flags. */
extern SbStatus sb_manifest_load_flags(SbStorage *st, const char *stanza,
									   const char *label, SbManifest *m,
									   int flags, SbError *err);

/*
 * List the complete backups of a stanza (those with a manifest), oldest
 * first.  *labels is a malloc'd array of malloc'd strings.
 */
extern SbStatus sb_backup_list(SbStorage *st, const char *stanza,
							   char ***labels, int *nlabels, SbError *err);
extern void sb_backup_list_free(char **labels, int nlabels);

/* Parse "X/Y" into a 64-bit LSN; false when malformed. */
extern bool sb_lsn_parse(const char *s, uint64_t *lsn);

#endif							/* SB_MANIFEST_H */
