/*-------------------------------------------------------------------------
 *
 * restore_write.c
 *		Writing the backup into the target: tablespace directories and their
 *		links, the directories of the manifest, every file through the codec
 *		(verified, with progress reports), tablespace_map and the directory
 *		modes.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"

/* smallest interval between two progress reports */
#define PROGRESS_INTERVAL_MS	250

/* Files of a backup that are never restored: server state and our marker. */
static const char *const skipped_files[] = {
	"postmaster.pid",
	"postmaster.opts",
	"recovery.signal",
	"standby.signal",
	NULL
};

/* ----------------------------------------------------------------
 *		Progress
 * ----------------------------------------------------------------
 */

void
sb_restore_report_progress(Restore *r, bool force)
{
	struct timespec now;
	int64_t		elapsed_ms;

	if (r->progress == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed_ms = (int64_t) (now.tv_sec - r->last_report.tv_sec) * 1000 +
		(now.tv_nsec - r->last_report.tv_nsec) / 1000000;
	if (!force && elapsed_ms < PROGRESS_INTERVAL_MS)
		return;
	r->last_report = now;
	r->progress(r->bytes_done, r->bytes_total, r->files_done, r->files_total,
				r->progress_arg);
}

/*
 * A pass-through filter in front of the fd sink: counts the bytes written
 * for the progress report, refuses a file growing past its recorded size
 * (so a damaged stream cannot fill the disk), and tells local write errors
 * apart from repository ones.
 */
typedef struct ProgressFilter
{
	SbFilter	base;
	Restore    *r;
	uint64_t	written;
	uint64_t	expected;
	bool		write_failed;
} ProgressFilter;

static SbStatus
progress_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ProgressFilter *p = (ProgressFilter *) f;
	SbStatus	rc;

	if (len > p->expected - p->written)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"content is larger than the %" PRIu64 " bytes recorded in the manifest",
							p->expected);
	/* another thread failed: stop here (its error is the one reported) */
	if (sb_restore_failed(p->r))
		return sb_error_set(err, SB_ERR_INTERNAL, "restore stopped");
	rc = sb_filter_write(f->next, buf, len, err);
	if (rc != SB_OK)
	{
		/* the block check in between reports damage, not a failed write */
		p->write_failed = (rc != SB_ERR_CORRUPT);
		return rc;
	}
	p->written += len;
	pthread_mutex_lock(&p->r->lock);
	p->r->bytes_done += len;
	if (p->r->result != NULL)
		p->r->result->bytes = p->r->bytes_done;
	sb_restore_report_progress(p->r, false);
	pthread_mutex_unlock(&p->r->lock);
	return SB_OK;
}

static SbStatus
progress_finish(SbFilter *f, SbError *err)
{
	return sb_filter_finish(f->next, err);
}

static void
progress_free(SbFilter *f)
{
	free(f);
}

static SbFilter *
progress_new(Restore *r, uint64_t expected, SbFilter *next)
{
	ProgressFilter *p = calloc(1, sizeof(ProgressFilter));

	if (p == NULL)
		return NULL;
	p->base.write = progress_write;
	p->base.space = sb_filter_space_next;
	p->base.finish = progress_finish;
	p->base.free = progress_free;
	p->base.next = next;
	p->r = r;
	p->expected = expected;
	return &p->base;
}

SbFilter *
sb_restore_front_new(Restore *r, uint64_t expected, SbFilter *sink,
					 bool by_blocks, SbFilter *check, int fd,
					 const char *full, SbError *err)
{
	SbFilter   *pf = NULL;
	bool		check_failed = sink != NULL && by_blocks && check == NULL;

	if (sink != NULL && !check_failed)
		pf = progress_new(r, expected, by_blocks ? check : sink);
	if (pf != NULL)
		return pf;
	if (check != NULL)
		check->free(check);
	if (sink != NULL)
		sb_filter_free_chain(sink);
	close(fd);
	if (full != NULL)
		unlink(full);
	/* the check sets err itself: its sums are read from the manifest */
	if (!check_failed)
		sb_error_oom(err);
	return NULL;
}

bool
sb_restore_progress_write_failed(const SbFilter *f)
{
	return ((const ProgressFilter *) f)->write_failed;
}

/* ----------------------------------------------------------------
 *		Restoring
 * ----------------------------------------------------------------
 */

bool
sb_restore_file_skipped(const Restore *r, const char *path)
{
	int			i;

	for (i = 0; skipped_files[i] != NULL; i++)
		if (strcmp(path, skipped_files[i]) == 0)
			return true;
	/* we write our own, naming the directories the tablespaces go to */
	if (r->m.ntablespaces > 0 && strcmp(path, "tablespace_map") == 0)
		return true;
	return false;
}

/* Is path "pg_tblspc/<oid>" of a tablespace of the backup (made a link)? */
static bool
is_tablespace_link(const Restore *r, const char *path)
{
	char		name[32];
	int			i;

	for (i = 0; i < r->m.ntablespaces; i++)
	{
		snprintf(name, sizeof(name), "pg_tblspc/%u", r->m.tablespaces[i].oid);
		if (strcmp(path, name) == 0)
			return true;
	}
	return false;
}

/*
 * Is dir inside target (a directory below it, by name)?  A "." or ".."
 * component makes the answer no: the name alone must show it.
 */
static bool
path_inside(const char *dir, const char *target)
{
	size_t		tlen = strlen(target);
	const char *p;

	if (strcmp(target, "/") == 0)
		tlen = 0;
	else if (strncmp(dir, target, tlen) != 0 || dir[tlen] != '/')
		return false;
	for (p = dir + tlen; *p != '\0';)
	{
		size_t		len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
	}
	return dir[tlen + 1] != '\0';
}

/*
 * A tablespace the user did not map goes to the location the backup
 * records.  Anyone who can write to the repository can record any
 * location, so one outside the target directory is used only when the
 * user accepted the recorded locations.
 */
static SbStatus
check_recorded_location(Restore *r, int i, SbError *err)
{
	unsigned int oid = r->m.tablespaces[i].oid;

	if (path_inside(TS_DIR(r, i), r->target) ||
		r->o->accept_tablespace_locations)
		return SB_OK;
	sb_error_set(err, SB_ERR_CONFIG,
				 "tablespace %u would be restored outside the target directory, into \"%s\"",
				 oid, TS_DIR(r, i));
	sb_error_detail(err, "That is the location backup \"%s\" records for it.  Whoever can write to the repository chooses the recorded locations, so they are used outside the target directory only when asked for.",
					r->m.label);
	sb_error_hint(err, "Choose its directory with --tablespace-map=%u=DIR, or, after checking the location, restore every tablespace to the location the backup records with --accept-tablespace-locations.",
				  oid);
	return SB_ERR_CONFIG;
}

/* Tell the user where each tablespace goes, once all of them are checked. */
static void
notice_tablespaces(Restore *r, const bool *mapped)
{
	char		msg[SB_PATH_MAX + 128];
	int			i;

	if (r->o->notice == NULL)
		return;
	for (i = 0; i < r->m.ntablespaces; i++)
	{
		unsigned int oid = r->m.tablespaces[i].oid;

		if (mapped[i])
			snprintf(msg, sizeof(msg), "tablespace %u: restoring into \"%s\" (given with --tablespace-map)",
					 oid, TS_DIR(r, i));
		else if (path_inside(TS_DIR(r, i), r->target))
			snprintf(msg, sizeof(msg), "tablespace %u: restoring into \"%s\" (recorded in the backup, inside the target directory)",
					 oid, TS_DIR(r, i));
		else
			snprintf(msg, sizeof(msg), "tablespace %u: restoring into \"%s\" (recorded in the backup, accepted with --accept-tablespace-locations)",
					 oid, TS_DIR(r, i));
		r->o->notice(msg, r->o->notice_arg);
	}
}

/* Resolve and check every tablespace's final directory. */
SbStatus
sb_restore_check_tablespaces(Restore *r, SbError *err)
{
	const SbRestoreOptions *o = r->o;
	int			i,
				j;
	bool		exists;
	bool	   *mapped;
	SbStatus	rc;

	for (i = 0; i < o->ntablespace_map; i++)
	{
		const SbTablespaceMap *map = &o->tablespace_map[i];
		bool		found = false;

		for (j = 0; j < r->m.ntablespaces; j++)
			if (r->m.tablespaces[j].oid == map->oid)
				found = true;
		if (!found)
		{
			sb_error_set(err, SB_ERR_CONFIG,
						 "backup \"%s\" has no tablespace with OID %u",
						 r->m.label, map->oid);
			if (r->m.ntablespaces == 0)
				sb_error_hint(err, "The backup has no tablespace besides the data directory.");
			else
			{
				char		list[256] = "";
				size_t		pos = 0;

				for (j = 0; j < r->m.ntablespaces && pos < sizeof(list) - 16; j++)
					pos += snprintf(list + pos, sizeof(list) - pos, "%s%u",
									j > 0 ? ", " : "", r->m.tablespaces[j].oid);
				sb_error_hint(err, "Tablespace OIDs in the backup: %s.", list);
			}
			return SB_ERR_CONFIG;
		}
		for (j = 0; j < i; j++)
			if (o->tablespace_map[j].oid == map->oid)
				return sb_error_set(err, SB_ERR_CONFIG,
									"tablespace %u is mapped more than once", map->oid);
		if (map->dir[0] != '/' || strpbrk(map->dir, "\t\n\r") != NULL)
			return sb_error_set(err, SB_ERR_CONFIG,
								"tablespace directory \"%s\" is not an absolute path",
								map->dir);
	}

	if (r->m.ntablespaces == 0)
		return SB_OK;
	r->ts_dirs = calloc((size_t) r->m.ntablespaces, SB_PATH_MAX);
	mapped = calloc((size_t) r->m.ntablespaces, sizeof(bool));
	if (r->ts_dirs == NULL || mapped == NULL)
	{
		free(mapped);
		return sb_error_oom(err);
	}

	for (i = 0; i < r->m.ntablespaces; i++)
	{
		const char *dir = r->m.tablespaces[i].path;
		size_t		len;

		for (j = 0; j < o->ntablespace_map; j++)
			if (o->tablespace_map[j].oid == r->m.tablespaces[i].oid)
			{
				dir = o->tablespace_map[j].dir;
				mapped[i] = true;
			}
		snprintf(TS_DIR(r, i), SB_PATH_MAX, "%s", dir);
		len = strlen(TS_DIR(r, i));
		while (len > 1 && TS_DIR(r, i)[len - 1] == '/')
			TS_DIR(r, i)[--len] = '\0';

		if (strcmp(TS_DIR(r, i), r->target) == 0)
		{
			rc = sb_error_set(err, SB_ERR_CONFIG,
							  "tablespace %u cannot be restored into the target directory itself",
							  r->m.tablespaces[i].oid);
			goto done;
		}
		for (j = 0; j < i; j++)
			if (strcmp(TS_DIR(r, i), TS_DIR(r, j)) == 0)
			{
				rc = sb_error_set(err, SB_ERR_CONFIG,
								  "tablespaces %u and %u would both be restored into \"%s\"",
								  r->m.tablespaces[j].oid,
								  r->m.tablespaces[i].oid, TS_DIR(r, i));
				goto done;
			}

		if (!mapped[i])
		{
			rc = check_recorded_location(r, i, err);
			if (rc != SB_OK)
				goto done;
		}

		/* a delta restore rewrites the cluster's own tablespaces */
		rc = r->delta ? SB_OK :
			sb_restore_check_empty_dir(TS_DIR(r, i), "tablespace directory",
									   false, &exists, err);
		if (rc == SB_ERR_EXISTS)
			sb_error_hint(err, "Restore tablespace %u into another directory with a tablespace mapping (--tablespace-map=%u=DIR).",
						  r->m.tablespaces[i].oid, r->m.tablespaces[i].oid);
		if (rc != SB_OK)
			goto done;
	}
	notice_tablespaces(r, mapped);
	rc = SB_OK;

done:
	free(mapped);
	return rc;
}

/* Tablespace directories and the links pg_tblspc/<oid> to them. */
SbStatus
sb_restore_create_tablespaces(Restore *r, SbError *err)
{
	char		link[RESTORE_PATH_LEN];
	char		rel[32];
	SbStatus	rc;
	int			i;

	if (r->m.ntablespaces == 0)
		return SB_OK;
	rc = sb_restore_join_path(link, r->target, "pg_tblspc", err);
	if (rc == SB_OK)
		rc = sb_restore_mkdir_p(link, 0700, err);
	for (i = 0; i < r->m.ntablespaces && rc == SB_OK; i++)
	{
		rc = sb_restore_mkdir_p(TS_DIR(r, i), 0700, err);
		if (rc != SB_OK)
			break;
		snprintf(rel, sizeof(rel), "pg_tblspc/%u", r->m.tablespaces[i].oid);
		rc = sb_restore_join_path(link, r->target, rel, err);
		if (rc == SB_OK && r->delta)
		{
			char		old[SB_PATH_MAX];
			ssize_t		n = readlink(link, old, sizeof(old) - 1);

			if (n >= 0)
			{
				old[n] = '\0';
				if (strcmp(old, TS_DIR(r, i)) == 0)
					continue;	/* already the right link */
			}
			/* a link elsewhere, or anything else there: replaced */
			if (unlink(link) != 0 && errno != ENOENT && errno != EISDIR)
				rc = sb_error_errno(err, errno, "could not remove \"%s\"", link);
		}
		if (rc == SB_OK && symlink(TS_DIR(r, i), link) != 0)
			rc = sb_error_errno(err, errno,
								"could not create symbolic link \"%s\" to \"%s\"",
								link, TS_DIR(r, i));
	}
	return rc;
}

SbStatus
sb_restore_create_dirs(Restore *r, SbError *err)
{
	char		full[RESTORE_PATH_LEN];
	SbStatus	rc = SB_OK;
	int			i;

	for (i = 0; i < r->m.ndirs && rc == SB_OK; i++)
	{
		if (is_tablespace_link(r, r->m.dirs[i].path))
			continue;
		rc = sb_restore_join_path(full, r->target, r->m.dirs[i].path, err);
		if (rc == SB_OK)
			rc = sb_restore_mkdir_p(full, 0700, err);
	}
	return rc;
}

/* Reword an error of fetching file f into its local path full. */
void
sb_restore_file_error(Restore *r, const SbManifestFile *f, const char *full,
		   bool write_failed, SbError *err)
{
	char		msg[SB_ERROR_MSG_LEN];

	if (write_failed)
	{
		sb_error_errno(err, err->sys_errno ? err->sys_errno : EIO,
					   "could not write file \"%s\"", full);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", err->msg);
	if (err->status == SB_ERR_CORRUPT)
	{
		sb_error_set(err, SB_ERR_CORRUPT,
					 "file \"%s\" of backup \"%s\" is damaged in the repository",
					 f->path, r->m.label);
		sb_error_detail(err, "%s", msg);
		sb_error_hint(err, "This backup cannot be restored as it is: restore another backup, and check the repository's storage.");
	}
	else
		snprintf(err->msg, sizeof(err->msg), "could not restore file \"%s\": %s",
				 f->path, msg);
}

SbStatus
sb_restore_create_file(const char *full, int *fd, SbError *err)
{
	char		parent[RESTORE_PATH_LEN];
	char	   *slash;
	SbStatus	rc;

	/* read back too: a block-incremental file is checked once rebuilt */
	*fd = open(full, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0 && errno == ENOENT)
	{
		/* a parent the manifest does not list: create it */
		if (strlen(full) >= sizeof(parent))
			return sb_error_set(err, SB_ERR_INTERNAL, "path too long: \"%s\"", full);
		strcpy(parent, full);
		slash = strrchr(parent, '/');
		if (slash != NULL)
		{
			*slash = '\0';
			rc = sb_restore_mkdir_p(parent, 0700, err);
			if (rc != SB_OK)
				return rc;
		}
		*fd = open(full, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (*fd < 0)
		return sb_error_errno(err, errno, "could not create file \"%s\"", full);
	return SB_OK;
}

/* A delta restore found the local file right: count it as done. */
static void
count_kept(Restore *r, const SbManifestFile *f)
{
	pthread_mutex_lock(&r->lock);
	r->bytes_done += f->size;
	r->result->bytes = r->bytes_done;
	r->result->files_kept++;
	r->result->bytes_kept += f->size;
	pthread_mutex_unlock(&r->lock);
}

SbStatus
sb_restore_finish_file(const SbManifestFile *f, int fd, const char *full,
					   SbStatus rc, SbError *err)
{
	struct timespec times[2];

	if (rc == SB_OK && fchmod(fd, (mode_t) (f->mode & 07777)) != 0)
		rc = sb_error_errno(err, errno, "could not set permissions of file \"%s\"", full);
	if (rc == SB_OK)
	{
		times[0].tv_sec = 0;
		times[0].tv_nsec = UTIME_OMIT;
		times[1].tv_sec = (time_t) f->mtime;
		times[1].tv_nsec = 0;
		if (futimens(fd, times) != 0)
			rc = sb_error_errno(err, errno, "could not set modification time of file \"%s\"", full);
	}
	/* flushed with every other file at the end (sb_sync_file_system) */
	if (close(fd) != 0 && rc == SB_OK)
		rc = sb_error_errno(err, errno, "could not close file \"%s\"", full);
	/* a file left half written or half patched is not the backup's */
	if (rc != SB_OK)
		unlink(full);
	return rc;
}

/* A delta restore patched the local file by some of its blocks: count it. */
static void
count_patched(Restore *r, const SbManifestFile *f, uint64_t written,
			  bool progress)
{
	pthread_mutex_lock(&r->lock);
	if (progress)
	{
		r->bytes_done += f->size;
		r->result->bytes = r->bytes_done;
	}
	r->result->files_patched++;
	r->result->bytes_patched += f->size;
	r->result->bytes_patch_written += written;
	pthread_mutex_unlock(&r->lock);
}

/*
 * sink, written (or compared) by a thread of its own while the next buffer
 * decompresses, unless it keeps writes in flight itself; NULL when out of
 * memory (sink freed) or when sink is NULL
 */
static SbFilter *
overlapped(SbFilter *sink)
{
	SbFilter   *async;

	if (sink == NULL || sb_filter_direct_sink_overlaps(sink))
		return sink;
	async = sb_filter_async_new(sink);
	if (async == NULL)
		sb_filter_free_chain(sink);
	return async;
}

SbFilter *
sb_restore_writer_new(int fd, uint64_t len)
{
	/* a large file goes to the disk past the page cache (O_DIRECT) */
	return overlapped(sb_filter_direct_sink_new(fd, len));
}

SbStatus
sb_restore_one_file(Restore *r, SbStorage *st, const SbManifestFile *f,
					SbError *err)
{
	char		full[RESTORE_PATH_LEN];
	char		repo_path[SB_PATH_MAX];
	SbCompressType ct;
	SbFilter   *pf = NULL;
	SbFilter   *sink;
	SbFilter   *check = NULL;
	SbFilter   *async = NULL;
	bool		by_blocks;
	SbStatus	rc;
	int			fd = -1;
	SbDeltaAction action = SB_DELTA_CREATE;
	uint64_t	local_size = 0;

	rc = sb_restore_join_path(full, r->target, f->path, err);
	if (rc != SB_OK)
		return rc;
	if (r->delta)
	{
		SbDeltaPlan plan;
		uint64_t	written = 0;

		rc = sb_restore_delta_examine(r, st, f, full, &plan, err);
		if (rc != SB_OK)
			return rc;
		action = plan.action;
		fd = plan.fd;
		local_size = plan.local_size;
		if (action == SB_DELTA_KEEP)
		{
			count_kept(r, f);
			return SB_OK;
		}
		if (action == SB_DELTA_PATCH_BLOCKS)
		{
			rc = sb_restore_patch_blocks(r, st, f, &plan, full, &written, err);
			sb_restore_delta_plan_free(&plan);
			if (rc == SB_OK)
				count_patched(r, f, written, true);
			if (rc != SB_ERR_UNSUPPORTED)
			{
				if (rc != SB_OK)
					sb_restore_file_error(r, f, full, false, err);
				return sb_restore_finish_file(f, fd, full, rc, err);
			}
			/* not stored seekably: compared through its whole stream */
			sb_error_clear(err);
			action = SB_DELTA_PATCH;
		}
	}
	if (action == SB_DELTA_CREATE &&
		(rc = sb_restore_create_file(full, &fd, err)) != SB_OK)
		return rc;
	if (sb_manifest_file_layered(f))
		return sb_restore_finish_file(f, fd, full,
									  sb_restore_layers(r, st, f, fd, full, err),
									  err);

	if (action == SB_DELTA_PATCH)
		sink = async = overlapped(sb_restore_patch_sink_new(fd, full, local_size));
	else
		sink = sb_restore_writer_new(fd, f->size);
	/* in this backup or, referenced, in one of its chain */
	sb_manifest_file_location(r->o->stanza, &r->m, f, repo_path, &ct);
	/* checked block by block when the manifest has sums, else by SHA-256 */
	by_blocks = sb_restore_can_check_blocks(r, f);
	if (by_blocks && sink != NULL)
		check = sb_restore_block_check_new(r, f, repo_path, sink, err);
	pf = sb_restore_front_new(r, f->size, sink, by_blocks, check, fd, full, err);
	if (pf == NULL)
		return err->status;
	rc = sb_codec_fetch(st, repo_path, ct, pf,
						by_blocks ? NULL : f->digest, f->size, NULL, err);
	if (rc != SB_OK)
		sb_restore_file_error(r, f, full, sb_restore_progress_write_failed(pf),
							  err);
	else if (action == SB_DELTA_PATCH)
		count_patched(r, f, sb_restore_patch_sink_written(async->next), false);
	sb_filter_free_chain(pf);
	return sb_restore_finish_file(f, fd, full, rc, err);
}

/* tablespace_map: "<oid> <directory>" lines, escaped as PostgreSQL does. */
SbStatus
sb_restore_write_tablespace_map(Restore *r, SbError *err)
{
	char		path[RESTORE_PATH_LEN];
	char	   *text;
	size_t		pos = 0;
	size_t		cap = 0;
	SbStatus	rc;
	int			i;

	if (r->m.ntablespaces == 0)
		return SB_OK;
	for (i = 0; i < r->m.ntablespaces; i++)
		cap += 16 + 2 * strlen(TS_DIR(r, i));
	text = malloc(cap + 1);
	if (text == NULL)
		return sb_error_oom(err);
	for (i = 0; i < r->m.ntablespaces; i++)
	{
		const char *s;

		pos += sprintf(text + pos, "%u ", r->m.tablespaces[i].oid);
		for (s = TS_DIR(r, i); *s; s++)
		{
			if (*s == '\\' || *s == '\n' || *s == '\r')
				text[pos++] = '\\';
			text[pos++] = *s;
		}
		text[pos++] = '\n';
	}
	rc = sb_restore_join_path(path, r->target, "tablespace_map", err);
	if (rc == SB_OK)
		rc = sb_restore_write_local_file(path, text, pos, false, err);
	free(text);
	return rc;
}

/* Apply the manifest's directory modes, deepest first. */
static int
cmp_dirs_desc(const void *a, const void *b)
{
	return -strcmp((*(SbManifestDir *const *) a)->path,
				   (*(SbManifestDir *const *) b)->path);
}

SbStatus
sb_restore_set_dir_modes(Restore *r, SbError *err)
{
	SbManifestDir **dirs;
	char		full[RESTORE_PATH_LEN];
	SbStatus	rc = SB_OK;
	int			i;

	if (r->m.ndirs == 0)
		return SB_OK;
	dirs = malloc(sizeof(SbManifestDir *) * (size_t) r->m.ndirs);
	if (dirs == NULL)
		return sb_error_oom(err);
	for (i = 0; i < r->m.ndirs; i++)
		dirs[i] = &r->m.dirs[i];
	qsort(dirs, (size_t) r->m.ndirs, sizeof(SbManifestDir *), cmp_dirs_desc);
	for (i = 0; i < r->m.ndirs && rc == SB_OK; i++)
	{
		if (is_tablespace_link(r, dirs[i]->path))
			continue;
		rc = sb_restore_join_path(full, r->target, dirs[i]->path, err);
		if (rc == SB_OK && chmod(full, (mode_t) (dirs[i]->mode & 07777)) != 0)
			rc = sb_error_errno(err, errno,
								"could not set permissions of directory \"%s\"", full);
	}
	free(dirs);
	return rc;
}

/* Append value to buf quoted for a PostgreSQL configuration file. */
