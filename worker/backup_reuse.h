/*-------------------------------------------------------------------------
 *
 * backup_reuse.h
 *		What a backup need not copy: files unchanged since its base backup
 *		(referenced there) and files an interrupted attempt of the same
 *		backup already stored (reused after their checksums verify).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_REUSE_H
#define SB_BACKUP_REUSE_H

#include "postgres.h"

#include "manifest.h"
#include "worker/block_map.h"

/*
 * A file is "in doubt" when its mtime is this close to (or after) the
 * start of the backup it would be taken from: it may have changed in the
 * same second after that backup read it, so its content is compared.
 */
#define SB_REUSE_MTIME_SLACK_S	2

typedef enum SbReuseKind
{
	SB_REUSE_NONE = 0,			/* copy it */
	SB_REUSE_BASE,				/* reference it in the base's chain */
	SB_REUSE_RESUME,			/* stored by the interrupted attempt */
	SB_REUSE_BLOCKS				/* outcome only: its changed pages stored */
} SbReuseKind;

/* One candidate, as the copy queue carries it. */
typedef struct SbReuseCandidate
{
	int			kind;			/* SbReuseKind */
	bool		in_doubt;		/* compare the source's checksum first */
	char		digest[SB_SHA256_HEX_LEN + 1];
	uint64		size;
	uint64		stored_size;
	uint32		checksum_failures;
	char		ref_label[SB_LABEL_LEN];	/* SB_REUSE_BASE: holder */
	int			ref_compress;	/* SbCompressType of the holder */
} SbReuseCandidate;

/* The manifests a backup may take files from (each may be NULL). */
typedef struct SbReuseSources
{
	SbManifest *base;
	SbManifest *resume;			/* the interrupted attempt's resume list */
	SbManifestFile **base_sorted;	/* by path, for lookups */
	SbManifestFile **resume_sorted;
	SbBlockMap *blocks;			/* changed pages, or NULL: file level */
} SbReuseSources;

/* Index the sources (palloc'd arrays). */
extern void sb_reuse_prepare(SbReuseSources *src);

/*
 * The candidate for the file path whose walk saw size and mtime: the base
 * when it lists the same size and mtime, else the resume list when it
 * does.  Sets out->kind = SB_REUSE_NONE when neither.
 */
extern void sb_reuse_lookup(const SbReuseSources *src, const char *path,
							uint64 size, int64 mtime, SbReuseCandidate *out);

/* The base's entry for path, or NULL. */
extern const SbManifestFile *sb_reuse_base_entry(const SbReuseSources *src,
												 const char *path);

/*
 * The backup holding the content of the base's entry be (label holds
 * SB_LABEL_LEN bytes) and how it is stored there.
 */
extern void sb_reuse_holder(const SbReuseSources *src, const SbManifestFile *be,
							char *label, int *compress);

#endif							/* SB_BACKUP_REUSE_H */
