/*-------------------------------------------------------------------------
 *
 * restore_delta.c
 *		Delta restore: bring an existing, stopped data directory of the same
 *		cluster to the state of a backup, rewriting only what differs.
 *
 * Rules (see README "Delta restore"):
 *
 * - The target must be a data directory (global/pg_control) of the
 *   backup's cluster (same system identifier) with no postmaster.pid; an
 *   empty or missing target is an ordinary restore.
 * - When the WAL between the backup's start and the target's last
 *   checkpoint lists the relation blocks it touched (restore_delta_wal.c),
 *   a relation file of the backup's size that it did not touch is kept
 *   unread, and of one it touched only the touched blocks (and those past
 *   the smaller size) are compared and, where they differ, fetched by
 *   ranges (restore_delta_blocks.c).  Other files, or every file when the
 *   list cannot be used, are compared by content:
 * - A file whose size and content match the manifest is kept: only its
 *   mode and modification time are set.  The content is compared through
 *   the manifest's block sums (block_sum.h) when it has them, else through
 *   the file's checksum (SHA-256, or the stanza's HMAC when it is
 *   encrypted).  Any other regular file is patched: only the blocks that
 *   differ from the backup are written (restore_blocks.c).
 *   The checksum is not computed (the file is not even read) when its size
 *   and modification time are those of the manifest and that time is more
 *   than a second before the backup started: the file has not been written
 *   since it was backed up (a server writing to it moves its modification
 *   time; one written in the very second the backup read it is checked),
 *   unless o->delta_checksum asks to check every file.
 * - Everything the backup does not have is removed: files, directories,
 *   symbolic links, WAL in pg_wal (but segments recycled for later use,
 *   when the WAL's change list is used: recycled_segment(); the segments
 *   up to the last checkpoint's are then recycled too, recycle_segment()),
 *   signal files; in each tablespace only
 *   the backup's version directory (PG_<version>_<catversion>) is looked
 *   at, so another cluster's version directory in the same location is
 *   never touched.  A tablespace link pointing elsewhere is replaced.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "block_sum.h"
#include "codec.h"
#include "wal_changes.h"
#include "wal_timeline.h"

/* What a path of the target is to the backup. */
typedef enum PathKind
{
	PATH_ABSENT,				/* not in the backup: remove */
	PATH_FILE,					/* a file of the backup */
	PATH_DIR					/* a directory of the backup */
} PathKind;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The backup's paths, sorted, for lookups during the walk. */
static SbStatus
index_paths(Restore *r, SbError *err)
{
	int			n = 0;

	r->delta_files = malloc(sizeof(char *) * (size_t) (r->m.nfiles + 1));
	r->delta_dirs = malloc(sizeof(char *) * (size_t) (r->m.ndirs + 1));
	if (r->delta_files == NULL || r->delta_dirs == NULL)
		return sb_error_oom(err);
	for (int i = 0; i < r->m.nfiles; i++)
		if (!sb_restore_file_skipped(r, r->m.files[i].path))
			r->delta_files[n++] = r->m.files[i].path;
	r->ndelta_files = n;
	for (int i = 0; i < r->m.ndirs; i++)
		r->delta_dirs[i] = r->m.dirs[i].path;
	r->ndelta_dirs = r->m.ndirs;
	qsort(r->delta_files, (size_t) r->ndelta_files, sizeof(char *), cmp_str);
	qsort(r->delta_dirs, (size_t) r->ndelta_dirs, sizeof(char *), cmp_str);
	return SB_OK;
}

static PathKind
path_kind(const Restore *r, const char *rel)
{
	if (bsearch(&rel, r->delta_files, (size_t) r->ndelta_files, sizeof(char *),
				cmp_str) != NULL)
		return PATH_FILE;
	if (bsearch(&rel, r->delta_dirs, (size_t) r->ndelta_dirs, sizeof(char *),
				cmp_str) != NULL)
		return PATH_DIR;
	return PATH_ABSENT;
}

/* Index of the backup's tablespace whose link is rel ("pg_tblspc/<oid>"). */
static int
tablespace_of_link(const Restore *r, const char *rel)
{
	char		name[32];

	for (int i = 0; i < r->m.ntablespaces; i++)
	{
		snprintf(name, sizeof(name), "pg_tblspc/%u", r->m.tablespaces[i].oid);
		if (strcmp(rel, name) == 0)
			return i;
	}
	return -1;
}

/* Remove full (a file, a link, or a directory and all below it). */
static SbStatus
remove_path(Restore *r, const char *full, bool is_dir, SbError *err)
{
	if (is_dir)
	{
		DIR		   *d = opendir(full);
		struct dirent *de;
		SbStatus	rc = SB_OK;

		if (d == NULL)
			return sb_error_errno(err, errno, "could not open directory \"%s\"", full);
		while (rc == SB_OK && (de = readdir(d)) != NULL)
		{
			char		child[RESTORE_PATH_LEN];
			struct stat sb;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(child, sizeof(child), "%s/%s", full, de->d_name);
			if (lstat(child, &sb) != 0)
				rc = sb_error_errno(err, errno, "could not stat file \"%s\"", child);
			else
				rc = remove_path(r, child, S_ISDIR(sb.st_mode), err);
		}
		closedir(d);
		if (rc == SB_OK && rmdir(full) != 0)
			rc = sb_error_errno(err, errno, "could not remove directory \"%s\"", full);
		return rc;
	}
	if (unlink(full) != 0 && errno != ENOENT)
		return sb_error_errno(err, errno, "could not remove file \"%s\"", full);
	r->delta_removed++;
	return SB_OK;
}

/*
 * Is rel a WAL segment PostgreSQL recycled for later use: in pg_wal, named
 * after a segment past the one holding the target's last checkpoint
 * (r->delta_wal_end_segno, known when the WAL's change list is used)?
 * Such a file holds an older segment's pages, which PostgreSQL refuses at
 * this position (their page addresses differ) and overwrites when it gets
 * there; removing a few GB of them would cost more than the rest of a
 * delta restore, so they are left for PostgreSQL to reuse.
 */
static bool
recycled_segment(const Restore *r, const char *rel)
{
	unsigned int tli;
	uint64_t	segno;

	return r->delta_wal_end_segno > 0 &&
		strncmp(rel, "pg_wal/", 7) == 0 && strlen(rel + 7) == SB_WAL_SEG_NAME_LEN &&
		sb_wal_parse_segment(rel + 7, r->delta_wal_segsize, &tli, &segno) &&
		segno > r->delta_wal_end_segno;
}

/* The highest segment number named in the target's pg_wal (0: none). */
static uint64_t
highest_segment(const Restore *r)
{
	char		path[RESTORE_PATH_LEN];
	DIR		   *d;
	struct dirent *de;
	uint64_t	highest = 0;

	snprintf(path, sizeof(path), "%s/pg_wal", r->target);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
	{
		unsigned int tli;
		uint64_t	segno;

		if (strlen(de->d_name) == SB_WAL_SEG_NAME_LEN &&
			sb_wal_parse_segment(de->d_name, r->delta_wal_segsize, &tli, &segno) &&
			segno > highest)
			highest = segno;
	}
	closedir(d);
	return highest;
}

/*
 * Recycle the WAL segment rel (full is its path) instead of removing it:
 * a whole segment in pg_wal named up to the one holding the target's last
 * checkpoint gets the name of a free segment past that one, as PostgreSQL
 * itself recycles segments it no longer needs (recycled_segment() then
 * leaves it).  Its pages keep their old addresses, which PostgreSQL
 * refuses at the new position.  Removing it costs more: freeing a 16 MB
 * segment took 3 ms on the test machine, a rename nothing to speak of.
 * False when rel is no such segment or could not be renamed (it is then
 * removed).
 */
static bool
recycle_segment(Restore *r, const char *full, const char *rel)
{
	unsigned int tli;
	uint64_t	segno;
	struct stat sb;

	if (r->delta_wal_end_segno == 0 || strncmp(rel, "pg_wal/", 7) != 0 ||
		strlen(rel + 7) != SB_WAL_SEG_NAME_LEN ||
		!sb_wal_parse_segment(rel + 7, r->delta_wal_segsize, &tli, &segno) ||
		segno > r->delta_wal_end_segno ||
		lstat(full, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		(uint64_t) sb.st_size != r->delta_wal_segsize)
		return false;
#ifdef RENAME_NOREPLACE
	/* past every segment there (recycled ones too): the first time, look */
	if (r->delta_recycle_segno == 0)
	{
		r->delta_recycle_segno = highest_segment(r);
		if (r->delta_recycle_segno < r->delta_wal_end_segno)
			r->delta_recycle_segno = r->delta_wal_end_segno;
	}
	for (int tries = 0; tries < 16; tries++)
	{
		char		name[SB_WAL_SEG_NAME_LEN + 1];
		char		to[RESTORE_PATH_LEN];

		sb_wal_segment_name(tli, ++r->delta_recycle_segno, r->delta_wal_segsize, name);
		snprintf(to, sizeof(to), "%s/pg_wal/%s", r->target, name);
		if (renameat2(AT_FDCWD, full, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		{
			r->delta_removed++;
			return true;
		}
		if (errno != EEXIST)
			return false;
	}
#endif
	return false;
}

/*
 * Remove what the backup does not have below rel (a directory of the
 * backup, "" for the target itself).  ts_root: rel is a tablespace link,
 * where only the backup's version directory is ours.
 */
static SbStatus
clean_dir(Restore *r, const char *rel, bool ts_root, SbError *err)
{
	char		full[RESTORE_PATH_LEN];
	DIR		   *d;
	struct dirent *de;
	SbStatus	rc = SB_OK;

	if (rel[0] == '\0')
		snprintf(full, sizeof(full), "%s", r->target);
	else
		snprintf(full, sizeof(full), "%s/%s", r->target, rel);
	d = opendir(full);
	if (d == NULL)
	{
		if (errno == ENOENT)
			return SB_OK;
		return sb_error_errno(err, errno, "could not open directory \"%s\"", full);
	}
	while (rc == SB_OK && (de = readdir(d)) != NULL)
	{
		char		child_rel[SB_PATH_MAX];
		char		child[RESTORE_PATH_LEN];
		struct stat sb;
		PathKind	kind;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(child_rel, sizeof(child_rel), "%s%s%s", rel,
					 rel[0] ? "/" : "", de->d_name) >= (int) sizeof(child_rel))
		{
			rc = sb_error_set(err, SB_ERR_IO, "path \"%s/%s\" is too long", full, de->d_name);
			break;
		}
		snprintf(child, sizeof(child), "%s/%s", full, de->d_name);
		kind = path_kind(r, child_rel);
		/* the entry's type from the directory: no inode read (cold) */
		if (de->d_type == DT_REG || de->d_type == DT_DIR)
			sb.st_mode = de->d_type == DT_REG ? S_IFREG : S_IFDIR;
		else if (lstat(child, &sb) != 0)
		{
			if (errno == ENOENT)
				continue;
			rc = sb_error_errno(err, errno, "could not stat file \"%s\"", child);
			break;
		}

		if (ts_root)
		{
			/* another cluster's version directory in a shared location */
			if (kind == PATH_DIR && S_ISDIR(sb.st_mode))
				rc = clean_dir(r, child_rel, false, err);
			continue;
		}
		if (kind == PATH_ABSENT && S_ISREG(sb.st_mode) &&
			(recycled_segment(r, child_rel) || recycle_segment(r, child, child_rel)))
			continue;
		if (S_ISLNK(sb.st_mode) && tablespace_of_link(r, child_rel) >= 0)
			rc = clean_dir(r, child_rel, true, err);
		else if (kind == PATH_DIR && S_ISDIR(sb.st_mode))
			rc = clean_dir(r, child_rel, false, err);
		else if (kind == PATH_FILE && S_ISREG(sb.st_mode))
			continue;			/* compared when the files are restored */
		else
			rc = remove_path(r, child, S_ISDIR(sb.st_mode), err);
	}
	closedir(d);
	return rc;
}

SbStatus
sb_restore_delta_check_target(Restore *r, bool *delta, SbError *err)
{
	bool		exists;
	SbStatus	rc;
	char		path[RESTORE_PATH_LEN];
	SbError		ignore;
	struct stat sb;

	*delta = false;
	rc = sb_restore_check_empty_dir(r->target, "target directory", true, &exists, err);
	if (rc == SB_OK)
		return SB_OK;			/* missing or empty: an ordinary restore */
	/* refused for another reason than being in use by the cluster's files */
	if (rc != SB_ERR_EXISTS || stat(r->target, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return rc;
	rc = sb_restore_join_path(path, r->target, "postmaster.pid", err);
	if (rc != SB_OK || access(path, F_OK) == 0)
		return SB_ERR_EXISTS;	/* "a server seems to be running" */
	sb_error_clear(err);

	rc = sb_restore_join_path(path, r->target, "global/pg_control", err);
	if (rc != SB_OK)
		return rc;
	if (access(path, F_OK) != 0 ||
		sb_cluster_read_info(r->target, &r->target_cluster, &ignore) != SB_OK)
	{
		sb_error_set(err, SB_ERR_EXISTS,
					 "target directory \"%s\" is not empty and is not a data directory",
					 r->target);
		sb_error_detail(err, "A delta restore needs the data directory of the backup's cluster (with global/pg_control).");
		sb_error_hint(err, "Restore into a new or empty directory without --delta.");
		return SB_ERR_EXISTS;
	}
	*delta = true;
	return SB_OK;
}

SbStatus
sb_restore_delta_check_cluster(Restore *r, SbError *err)
{
	if (r->target_cluster.system_identifier != r->m.system_identifier)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "target directory \"%s\" belongs to another cluster",
					 r->target);
		sb_error_detail(err, "Its system identifier is %" PRIu64 ", backup \"%s\" has %" PRIu64 ".",
						r->target_cluster.system_identifier, r->m.label,
						r->m.system_identifier);
		sb_error_hint(err, "A delta restore rewrites a data directory of the same cluster; restore into a new or empty directory instead.");
		return SB_ERR_MISMATCH;
	}
	return SB_OK;
}

SbStatus
sb_restore_delta_clean(Restore *r, SbError *err)
{
	SbStatus	rc = index_paths(r, err);

	if (rc == SB_OK)
		rc = clean_dir(r, "", false, err);
	return rc;
}

/* What the WAL's change list says about one file */
typedef struct WalAnswer
{
	SbWalFileChange change;
	uint32_t   *pages;			/* SB_WAL_FILE_PAGES: the pages that may differ */
	uint32_t	npages;
	uint32_t   *later;			/* of those, the ones that surely differ */
	uint32_t	nlater;
} WalAnswer;

static void
wal_answer(Restore *r, const SbManifestFile *f, WalAnswer *a)
{
	memset(a, 0, sizeof(*a));
	a->change = sb_wal_changes_file(r->delta_changes, f->path, r->delta_blcksz,
									r->delta_relseg_size, &a->pages, &a->npages);
	if (a->change == SB_WAL_FILE_PAGES)
		sb_wal_changes_file_later(r->delta_changes, f->path, r->delta_blcksz,
								  r->delta_relseg_size, &a->later, &a->nlater);
}

static void
wal_answer_free(WalAnswer *a)
{
	free(a->pages);
	free(a->later);
	a->pages = a->later = NULL;
}

void
sb_restore_delta_plan_free(SbDeltaPlan *plan)
{
	free(plan->blocks);
	free(plan->differs);
	plan->blocks = NULL;
	plan->differs = NULL;
	plan->nblocks = 0;
}

/*
 * The blocks of f to compare, from the change list's answer about f (a,
 * which this frees): those the WAL touched below the smaller of the two
 * sizes, and every block from there to the backup's size.  A block holding
 * a page that a record after the backup's end changed (a->later) surely
 * differs: plan->differs says so, and it is fetched without being read.
 * *use is false when the list does not apply to f (not a relation file, a
 * relation the WAL truncated or copied whole, or a file the restore cannot
 * patch by block).
 */
static SbStatus
blocks_from_change(Restore *r, const SbManifestFile *f, uint64_t local_size,
				   WalAnswer *a, bool *use, SbDeltaPlan *plan, SbError *err)
{
	uint64_t	common = local_size < f->size ? local_size : f->size;
	uint64_t	first_tail;
	uint64_t	nblocks = sb_block_count(f->size, SB_BLOCK_SIZE);
	uint64_t	cap;
	uint32_t	npages = a->npages;
	uint32_t	k = 0;

	*use = false;
	plan->nblocks = 0;
	if (a->change == SB_WAL_FILE_NOT_RELATION || a->change == SB_WAL_FILE_WHOLE)
	{
		wal_answer_free(a);
		return SB_OK;
	}
	if (a->change == SB_WAL_FILE_UNTOUCHED && local_size == f->size)
	{
		wal_answer_free(a);
		*use = true;			/* nothing to compare */
		return SB_OK;
	}
	/*
	 * blocks are compared and fetched by the manifest's block sums; a
	 * block-incremental file is rebuilt from its layers whole
	 */
	if (f->nblocks != nblocks || r->m.block_size != SB_BLOCK_SIZE ||
		sb_manifest_file_layered(f))
	{
		wal_answer_free(a);
		return SB_OK;
	}
	if (a->change == SB_WAL_FILE_UNTOUCHED)
		npages = 0;
	first_tail = common / SB_BLOCK_SIZE;
	cap = (uint64_t) npages + (nblocks > first_tail ? nblocks - first_tail : 0);
	if (cap > 0)
	{
		plan->blocks = malloc(sizeof(uint32_t) * (size_t) cap);
		plan->differs = calloc((size_t) cap, 1);
		if (plan->blocks == NULL || plan->differs == NULL)
		{
			sb_restore_delta_plan_free(plan);
			wal_answer_free(a);
			return sb_error_oom(err);
		}
	}
	for (uint32_t i = 0; i < npages; i++)
	{
		uint64_t	b = (uint64_t) a->pages[i] * r->delta_blcksz / SB_BLOCK_SIZE;

		if (b >= first_tail)
			break;				/* pages ascend; the tail follows */
		if (plan->nblocks == 0 || plan->blocks[plan->nblocks - 1] != b)
			plan->blocks[plan->nblocks++] = (uint32_t) b;
		/* a->later is a sorted subset of a->pages */
		while (k < a->nlater && a->later[k] < a->pages[i])
			k++;
		if (k < a->nlater && a->later[k] == a->pages[i])
			plan->differs[plan->nblocks - 1] = 1;
	}
	wal_answer_free(a);
	for (uint64_t b = first_tail; b < nblocks; b++)
		plan->blocks[plan->nblocks++] = (uint32_t) b;
	*use = true;
	return SB_OK;
}

/* blocks_from_change for f, looked up in the WAL's change list */
static SbStatus
blocks_from_wal(Restore *r, const SbManifestFile *f, uint64_t local_size,
				bool *use, SbDeltaPlan *plan, SbError *err)
{
	WalAnswer	a;

	*use = false;
	plan->nblocks = 0;
	if (r->delta_changes == NULL)
		return SB_OK;
	wal_answer(r, f, &a);
	return blocks_from_change(r, f, local_size, &a, use, plan, err);
}

/*
 * Ask the kernel to read the blocks the delta restore will compare (those
 * of the WAL's change list, blocks_from_change) while the target is cleaned
 * and the files are examined, instead of when each job reads them.  Only
 * advice: nothing fails here.
 */
void
sb_restore_delta_read_ahead(Restore *r)
{
	char		full[RESTORE_PATH_LEN];

	if (r->delta_changes == NULL)
		return;
	for (int i = 0; i < r->m.nfiles; i++)
	{
		const SbManifestFile *f = &r->m.files[i];
		SbDeltaPlan plan;
		struct stat sb;
		SbError		ignore;
		WalAnswer	a;
		bool		use = false;
		int			fd = -1;

		/* only files the WAL touched some pages of */
		wal_answer(r, f, &a);
		if (a.change == SB_WAL_FILE_PAGES &&
			snprintf(full, sizeof(full), "%s/%s", r->target, f->path) < (int) sizeof(full))
			fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		{
			wal_answer_free(&a);
			if (fd >= 0)
				close(fd);
			continue;
		}
		memset(&plan, 0, sizeof(plan));
		if (blocks_from_change(r, f, (uint64_t) sb.st_size, &a, &use, &plan,
							   &ignore) != SB_OK)
			use = false;
		/* runs of consecutive blocks to read (not those surely differing) */
		for (uint32_t k = 0; use && k < plan.nblocks;)
		{
			uint32_t	first = plan.blocks[k];
			uint32_t	n = 1;

			if (plan.differs[k])
			{
				k++;
				continue;
			}
			while (k + n < plan.nblocks && plan.blocks[k + n] == first + n &&
				   !plan.differs[k + n])
				n++;
			(void) posix_fadvise(fd, (off_t) first * SB_BLOCK_SIZE,
								 (off_t) n * SB_BLOCK_SIZE, POSIX_FADV_WILLNEED);
			k += n;
		}
		sb_restore_delta_plan_free(&plan);
		close(fd);
	}
}

/*
 * Give the kept local file fd (sb: its status) the mode and modification
 * time of f (to the second), where they differ.
 */
static SbStatus
keep_file(const SbManifestFile *f, int fd, const struct stat *sb,
		  const char *full, SbError *err)
{
	struct timespec times[2];
	SbStatus	rc = SB_OK;

	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1].tv_sec = (time_t) f->mtime;
	times[1].tv_nsec = 0;
	if ((sb->st_mode & 07777) != (f->mode & 07777) &&
		fchmod(fd, (mode_t) (f->mode & 07777)) != 0)
		rc = sb_error_errno(err, errno, "could not set permissions of file \"%s\"", full);
	else if (sb->st_mtim.tv_sec != (time_t) f->mtime && futimens(fd, times) != 0)
		rc = sb_error_errno(err, errno, "could not set modification time of file \"%s\"", full);
	close(fd);
	return rc;
}

/*
 * What to do with the local file full for f: keep it (its mode and
 * modification time are set), patch it (plan->fd is left open for reading
 * and writing, plan->local_size is its size: restore_blocks.c writes the
 * blocks that differ, or restore_delta_blocks.c only those of plan->blocks
 * that differ), or create it (it was not there, or was not a regular file
 * and was removed).
 *
 * Kept: a relation file of the backup's size whose blocks the WAL did not
 * touch since the backup (restore_delta_wal.c); a file of the backup's
 * size whose modification time says it was not written since the backup
 * (unless --delta-checksum); or one whose content matches: every block sum
 * of the manifest, or, for files without block sums, the SHA-256.  Of a
 * relation file the WAL touched, only the touched blocks (and those past
 * the smaller of the two sizes) are compared.
 */
SbStatus
sb_restore_delta_examine(Restore *r, SbStorage *st, const SbManifestFile *f,
						 const char *full, SbDeltaPlan *plan, SbError *err)
{
	struct stat sb;
	char		hex[SB_SHA256_HEX_LEN + 1];
	uint64_t	size;
	SbStatus	rc = SB_OK;
	int			fd;
	bool		match;
	bool		use_wal;

	memset(plan, 0, sizeof(*plan));
	plan->action = SB_DELTA_CREATE;
	plan->fd = -1;

	/* a file the WAL did not touch, mode and time right: not even opened */
	if (r->delta_changes != NULL && lstat(full, &sb) == 0 &&
		S_ISREG(sb.st_mode) && (uint64_t) sb.st_size == f->size &&
		(sb.st_mode & 07777) == (f->mode & 07777) &&
		(int64_t) sb.st_mtime == f->mtime)
	{
		rc = blocks_from_wal(r, f, f->size, &use_wal, plan, err);
		if (rc != SB_OK)
			return rc;
		if (use_wal && plan->nblocks == 0)
		{
			sb_restore_delta_plan_free(plan);
			plan->action = SB_DELTA_KEEP;
			return SB_OK;
		}
		sb_restore_delta_plan_free(plan);
	}

	fd = open(full, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return SB_OK;
		return sb_error_errno(err, errno, "could not open file \"%s\"", full);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto replace;
	plan->local_size = (uint64_t) sb.st_size;

	rc = blocks_from_wal(r, f, plan->local_size, &use_wal, plan, err);
	if (rc != SB_OK)
	{
		close(fd);
		return rc;
	}
	if (use_wal)
	{
		if (plan->nblocks == 0 && plan->local_size == f->size)
		{
			sb_restore_delta_plan_free(plan);
			goto keep;
		}
		plan->action = SB_DELTA_PATCH_BLOCKS;
		plan->fd = fd;
		return SB_OK;
	}

	if (plan->local_size != f->size)
		goto patch;
	if (!r->o->delta_checksum && (int64_t) sb.st_mtime == f->mtime &&
		f->mtime < r->m.start_time - 1)
		goto keep;

	if (f->nblocks > 0)
		rc = sb_restore_blocks_match(r, fd, full, f, &match, err);
	else
	{
		rc = sb_codec_digest_fd(st, sb_digest_kind_of(f->digest), fd, full,
								hex, &size, err);
		match = (rc == SB_OK && strcasecmp(hex, f->digest) == 0);
	}
	if (rc != SB_OK)
	{
		close(fd);
		return rc;
	}
	if (!match)
		goto patch;

keep:
	/* the same content: only what a restore sets besides it */
	rc = keep_file(f, fd, &sb, full, err);
	if (rc == SB_OK)
		plan->action = SB_DELTA_KEEP;
	return rc;

patch:
	plan->action = SB_DELTA_PATCH;
	plan->fd = fd;
	return SB_OK;

replace:
	close(fd);
	if (unlink(full) != 0 && errno != ENOENT)
		return sb_error_errno(err, errno, "could not remove file \"%s\"", full);
	return SB_OK;
}
