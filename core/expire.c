/*-------------------------------------------------------------------------
 *
 * expire.c
 *		Remove expired backups, the WAL no kept backup needs, and the
 *		leftovers of interrupted backups; see expire.h for the rules.
 *
 * Everything is decided before anything is removed: the manifests of all
 * complete backups are read first (one unreadable manifest stops expire),
 * then backups go oldest first (manifest first, then the directory), then
 * leftovers, then WAL, oldest first, so an interruption at any point leaves
 * a repository whose remaining backups are whole and whose WAL has no hole
 * in what they need.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "expire.h"
#include "temp_leftovers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup_chain.h"
#include "name_list.h"
#include "wal.h"

#define WAL_DIR_LEN		16
#define WAL_SEG_LEN		24


static bool
upper_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char) s[i]) || islower((unsigned char) s[i]))
			return false;
	return true;
}

bool
sb_expire_label_like(const char *name)
{
	int			i;

	if (strlen(name) != 16 || name[8] != '-' || !isupper((unsigned char) name[15]))
		return false;
	for (i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char) name[i]))
			return false;
	return true;
}

bool
sb_expire_wal_removable(const char *walname, const char *keep_from,
						unsigned int min_tli)
{
	unsigned int tli;
	char		tlihex[9];

	if (!sb_wal_name_valid(walname) || strlen(walname) < WAL_SEG_LEN ||
		!upper_hex(walname, WAL_SEG_LEN))
		return false;			/* timeline history files are never removed */
	memcpy(tlihex, walname, 8);
	tlihex[8] = '\0';
	tli = (unsigned int) strtoul(tlihex, NULL, 16);
	if (tli < min_tli)
		return true;
	return strncmp(walname + 8, keep_from + 8, WAL_SEG_LEN - 8) < 0;
}

/* ----------------------------------------------------------------
 *		Backups and leftovers
 * ----------------------------------------------------------------
 */

typedef struct BackupHead
{
	char		label[SB_LABEL_LEN];
	bool		full;
	unsigned int timeline;
	char		start_wal[SB_WALNAME_MAX];
	/* the oldest backup it takes anything from ("" for a full backup) */
	char		oldest_dep[SB_LABEL_LEN];
} BackupHead;

static bool
dir_cb(const char *name, const SbStat *st, void *arg)
{
	SbNameList *l = arg;

	if (st->is_dir && sb_expire_label_like(name) && !sb_name_list_add(l, name))
	{
		l->oom = true;
		return false;
	}
	return true;
}

SbStatus
sb_expire_list_backup_dirs(SbStorage *st, const char *stanza,
						   SbNameList *out, SbError *err)
{
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/backup", stanza);
	rc = sb_storage_list(st, path, dir_cb, out, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_error_clear(err);
		return SB_OK;
	}
	if (rc == SB_OK && out->oom)
		rc = sb_error_oom(err);
	if (rc == SB_OK)
		sb_name_list_sort(out);
	return rc;
}

/* Backup directories without a manifest, sorted. */
static SbStatus
list_incomplete(SbStorage *st, const char *stanza, SbNameList *out, SbError *err)
{
	SbNameList	all;
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	rc = sb_expire_list_backup_dirs(st, stanza, &all, err);
	for (int i = 0; i < all.n && rc == SB_OK; i++)
	{
		SbStat		sst;
		SbStatus	src;

		sb_backup_manifest_path(stanza, all.names[i], path);
		src = sb_storage_stat(st, path, &sst, err);
		if (src == SB_ERR_NOT_FOUND)
		{
			sb_error_clear(err);
			if (!sb_name_list_add(out, all.names[i]))
				rc = sb_error_oom(err);
		}
		else if (src != SB_OK)
			rc = src;
	}
	sb_name_list_free(&all);
	if (rc == SB_OK && out->n > 1)
		sb_name_list_sort(out);
	return rc;
}

static SbStatus
remove_path(SbStorage *st, const char *path, bool recursive, SbError *err)
{
	SbStatus	rc = sb_storage_remove(st, path, recursive, err);

	if (rc == SB_ERR_NOT_FOUND)
	{
		/* gone already (another expire): that is what we wanted */
		sb_error_clear(err);
		return SB_OK;
	}
	return rc;
}

static SbStatus
remove_backup(SbStorage *st, const char *stanza, const char *label,
			  bool has_manifest, SbError *err)
{
	char		path[SB_PATH_MAX];
	SbStatus	rc = SB_OK;

	/* the manifest first: from then on it is no longer a usable backup */
	if (has_manifest)
	{
		sb_backup_manifest_path(stanza, label, path);
		rc = remove_path(st, path, false, err);
	}
	if (rc == SB_OK)
	{
		sb_backup_dir(stanza, label, path);
		rc = remove_path(st, path, true, err);
	}
	if (rc != SB_OK)
		sb_error_detail(err, "While removing backup \"%s\".", label);
	return rc;
}

/* ----------------------------------------------------------------
 *		WAL
 * ----------------------------------------------------------------
 */

static bool
wal_dir_cb(const char *name, const SbStat *st, void *arg)
{
	SbNameList *l = arg;

	if (st->is_dir && strlen(name) == WAL_DIR_LEN && upper_hex(name, WAL_DIR_LEN) &&
		!sb_name_list_add(l, name))
	{
		l->oom = true;
		return false;
	}
	return true;
}

typedef struct WalDirScan
{
	const char *keep_from;
	unsigned int min_tli;
	SbNameList	remove;			/* file names to remove */
	int			others;			/* entries that stay */
	bool		oom;
} WalDirScan;

static bool
wal_file_cb(const char *name, const SbStat *st, void *arg)
{
	WalDirScan *s = arg;
	char		walname[64];
	const char *dash = strchr(name, '-');
	size_t		len = dash ? (size_t) (dash - name) : 0;

	if (st->is_dir || dash == NULL || len >= sizeof(walname))
	{
		s->others++;
		return true;
	}
	memcpy(walname, name, len);
	walname[len] = '\0';
	if (!sb_expire_wal_removable(walname, s->keep_from, s->min_tli))
	{
		s->others++;
		return true;
	}
	if (!sb_name_list_add(&s->remove, name))
	{
		s->oom = true;
		return false;
	}
	return true;
}

static void
note_wal(SbExpireResult *res, const char *name)
{
	if (res->wal_first[0] == '\0' || strncmp(name, res->wal_first, WAL_SEG_LEN) < 0)
		snprintf(res->wal_first, sizeof(res->wal_first), "%.24s", name);
	if (res->wal_last[0] == '\0' || strncmp(name, res->wal_last, WAL_SEG_LEN) > 0)
		snprintf(res->wal_last, sizeof(res->wal_last), "%.24s", name);
	res->wal_removed++;
}

static SbStatus
expire_wal(SbStorage *st, const SbExpireOptions *o, const char *keep_from,
		   unsigned int min_tli, SbExpireResult *res, SbError *err)
{
	SbNameList	dirs;
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	memset(&dirs, 0, sizeof(dirs));
	snprintf(path, sizeof(path), "%s/wal", o->stanza);
	rc = sb_storage_list(st, path, wal_dir_cb, &dirs, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		sb_error_clear(err);
		return SB_OK;
	}
	if (rc == SB_OK && dirs.oom)
		rc = sb_error_oom(err);
	if (rc == SB_OK && dirs.n > 1)
		sb_name_list_sort(&dirs);

	for (int i = 0; i < dirs.n && rc == SB_OK; i++)
	{
		const char *d = dirs.names[i];
		char		tlihex[9];
		WalDirScan	s;

		memcpy(tlihex, d, 8);
		tlihex[8] = '\0';
		/* a directory wholly at or after the horizon: nothing to do */
		if ((unsigned int) strtoul(tlihex, NULL, 16) >= min_tli &&
			strncmp(d + 8, keep_from + 8, 8) > 0)
			continue;

		memset(&s, 0, sizeof(s));
		s.keep_from = keep_from;
		s.min_tli = min_tli;
		snprintf(path, sizeof(path), "%s/wal/%s", o->stanza, d);
		rc = sb_storage_list(st, path, wal_file_cb, &s, err);
		if (rc == SB_ERR_NOT_FOUND)
		{
			sb_error_clear(err);
			rc = SB_OK;
			sb_name_list_free(&s.remove);
			continue;
		}
		if (rc == SB_OK && s.oom)
			rc = sb_error_oom(err);
		if (rc == SB_OK && s.remove.n > 1)
			sb_name_list_sort(&s.remove);
		for (int j = 0; j < s.remove.n && rc == SB_OK; j++)
		{
			snprintf(path, sizeof(path), "%s/wal/%s/%s", o->stanza, d, s.remove.names[j]);
			if (!o->dry_run)
				rc = remove_path(st, path, false, err);
			if (rc == SB_OK)
				note_wal(res, s.remove.names[j]);
		}
		if (rc == SB_OK && !o->dry_run && s.others == 0 && s.remove.n > 0)
		{
			SbError		ignore;

			/* empty now; a temporary file left by a crash keeps it, harmless */
			snprintf(path, sizeof(path), "%s/wal/%s", o->stanza, d);
			sb_storage_remove(st, path, false, &ignore);
		}
		sb_name_list_free(&s.remove);
	}
	sb_name_list_free(&dirs);
	return rc;
}

/* ----------------------------------------------------------------
 *		Entry point
 * ----------------------------------------------------------------
 */

static bool
add_label(char ***v, int *n, const char *label)
{
	char	  **p = realloc(*v, sizeof(char *) * (size_t) (*n + 1));

	if (p == NULL)
		return false;
	*v = p;
	if ((p[*n] = strdup(label)) == NULL)
		return false;
	(*n)++;
	return true;
}

/* The UTC time a label "YYYYMMDD-HHMMSSX" names; INT64_MAX if it names none. */
static int64_t
label_time(const char *label)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(label, "%4d%2d%2d-%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return INT64_MAX;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t) timegm(&tm);
}

/* The oldest backup m takes anything from: its base or a referenced one. */
static void
oldest_dependency(const SbManifest *m, char *out)
{
	snprintf(out, SB_LABEL_LEN, "%s", m->base);
	for (int i = 0; i < m->nfiles; i++)
	{
		const char *l = m->files[i].ref_label;

		if (l[0] != '\0' && (out[0] == '\0' || strcmp(l, out) < 0))
			snprintf(out, SB_LABEL_LEN, "%s", l);
		/* the layers of a block-incremental file */
		for (int k = 0; k < m->files[i].nparts; k++)
		{
			l = m->files[i].parts[k].label;
			if (out[0] == '\0' || strcmp(l, out) < 0)
				snprintf(out, SB_LABEL_LEN, "%s", l);
		}
	}
}

/*
 * Move first_kept back until no kept backup depends on one before it:
 * a kept differential or incremental keeps its whole chain.
 */
static int
keep_chains(const BackupHead *heads, int nlabels, int first_kept)
{
	bool		moved = true;

	while (moved)
	{
		moved = false;
		for (int i = first_kept; i < nlabels && !moved; i++)
		{
			if (heads[i].oldest_dep[0] == '\0' ||
				strcmp(heads[i].oldest_dep, heads[first_kept].label) >= 0)
				continue;
			for (int j = 0; j < first_kept; j++)
				if (strcmp(heads[j].label, heads[i].oldest_dep) >= 0)
				{
					first_kept = j;
					moved = true;
					break;
				}
		}
	}
	return first_kept;
}

/*
 * An incomplete backup newer than every complete one that left a resume
 * list: the next backup of its type resumes it, so it stays.
 */
static bool
resumable(SbStorage *st, const char *stanza, const char *label,
		  const char *newest)
{
	char		path[SB_PATH_MAX];
	SbStat		sst;
	SbError		ignore;

	if (newest != NULL && strcmp(label, newest) <= 0)
		return false;
	sb_backup_dir(stanza, label, path);
	strncat(path, "/" SB_RESUME_NAME, sizeof(path) - strlen(path) - 1);
	return sb_storage_stat(st, path, &sst, &ignore) == SB_OK && !sst.is_dir;
}

/*
 * This client may not remove anything: expire belongs to the repository
 * (the server's own retention, an admin certificate, or the repository
 * host's posix path).
 */
SbStatus
sb_expire_append_only_error(const char *stanza, SbError *err)
{
	sb_error_set(err, SB_ERR_PERMISSION,
				 "the repository is append-only for this client: expire of stanza \"%s\" runs on the repository",
				 stanza);
	sb_error_detail(err, "The repository server gives this client's certificate the append right, which never removes anything.");
	sb_error_hint(err, "Set retention_full for the stanza in the repository server's [retention] section, or run \"pg_safebackup expire\" with an admin certificate or on the repository host; see \"Append-only repositories\" in the README.");
	return SB_ERR_PERMISSION;
}

SbStatus
sb_expire(SbStorage *st, const SbExpireOptions *o, SbExpireResult *res,
		  SbError *err)
{
	char	  **labels = NULL;
	int			nlabels = 0;
	BackupHead *heads = NULL;
	SbNameList	incomplete;
	int			first_kept = 0;
	char		keep_from[SB_WALNAME_MAX] = "";
	unsigned int min_tli = 0;
	SbStatus	rc;
	int			i;

	memset(res, 0, sizeof(*res));
	memset(&incomplete, 0, sizeof(incomplete));
	if (o->retention_full < 0)
		return sb_error_set(err, SB_ERR_CONFIG, "retention_full must not be negative");
	if (!o->dry_run && sb_storage_mode(st) == SB_REPO_MODE_APPEND)
		return sb_expire_append_only_error(o->stanza, err);

	rc = sb_backup_list(st, o->stanza, &labels, &nlabels, err);
	if (rc != SB_OK)
		return rc;
	if (nlabels > 0 && (heads = calloc((size_t) nlabels, sizeof(BackupHead))) == NULL)
		rc = sb_error_oom(err);

	/* read every manifest before deciding anything */
	for (i = 0; i < nlabels && rc == SB_OK; i++)
	{
		SbManifest	m;

		rc = sb_manifest_load_flags(st, o->stanza, labels[i], &m,
									SB_MANIFEST_SKIP_SUMS, err);
		if (rc != SB_OK)
		{
			sb_error_detail(err, "Expire reads every manifest before removing anything: nothing was removed.");
			sb_error_hint(err, "Check the backup with \"pg_safebackup verify --backup=%s\"; remove a damaged backup directory by hand.",
						  labels[i]);
			break;
		}
		snprintf(heads[i].label, sizeof(heads[i].label), "%s", labels[i]);
		heads[i].full = strcmp(m.type, "full") == 0;
		heads[i].timeline = m.timeline;
		snprintf(heads[i].start_wal, sizeof(heads[i].start_wal), "%s", m.start_wal);
		oldest_dependency(&m, heads[i].oldest_dep);
		sb_manifest_free(&m);
		if (strlen(heads[i].start_wal) != WAL_SEG_LEN ||
			!upper_hex(heads[i].start_wal, WAL_SEG_LEN))
		{
			rc = sb_error_set(err, SB_ERR_CORRUPT,
							  "backup \"%s\" has an invalid start WAL segment \"%s\"",
							  labels[i], heads[i].start_wal);
			break;
		}
	}
	if (rc == SB_OK)
		rc = list_incomplete(st, o->stanza, &incomplete, err);
	if (rc != SB_OK)
		goto done;

	/* which backups stay: from the retention_full-th newest full one on */
	if (o->retention_full > 0)
	{
		int			fulls = 0;

		for (i = nlabels - 1; i >= 0; i--)
			if (heads[i].full && ++fulls == o->retention_full)
				break;
		first_kept = i > 0 ? i : 0;
	}
	/* the floor: recent backups stay whatever newer ones claim */
	if (o->keep_newer_than > 0)
		for (i = 0; i < first_kept; i++)
			if (label_time(heads[i].label) >= o->keep_newer_than)
			{
				first_kept = i;
				break;
			}
	first_kept = keep_chains(heads, nlabels, first_kept);
	res->backups_kept = nlabels - first_kept;

	for (i = 0; i < first_kept && rc == SB_OK; i++)
	{
		if (!o->dry_run)
			rc = remove_backup(st, o->stanza, heads[i].label, true, err);
		if (rc == SB_OK && !add_label(&res->expired, &res->nexpired, heads[i].label))
			rc = sb_error_oom(err);
	}

	for (i = 0; i < incomplete.n && rc == SB_OK; i++)
	{
		const char *l = incomplete.names[i];

		char		path[SB_PATH_MAX];
		SbStat		sst;
		SbStatus	src;

		if ((o->running_label != NULL && strcmp(l, o->running_label) == 0) ||
			(o->is_running != NULL && o->is_running(l, o->is_running_arg)) ||
			(o->running_unknown &&
			 (nlabels == 0 || strcmp(l, heads[nlabels - 1].label) > 0)) ||
			resumable(st, o->stanza, l, nlabels > 0 ? heads[nlabels - 1].label : NULL))
		{
			res->nskipped++;
			continue;
		}
		/* not running now: if it has a manifest now, it completed meanwhile */
		sb_backup_manifest_path(o->stanza, l, path);
		src = sb_storage_stat(st, path, &sst, err);
		if (src == SB_OK)
			continue;
		if (src != SB_ERR_NOT_FOUND)
		{
			rc = src;
			break;
		}
		sb_error_clear(err);
		if (!o->dry_run)
			rc = remove_backup(st, o->stanza, l, false, err);
		if (rc == SB_OK && !add_label(&res->leftovers, &res->nleftovers, l))
			rc = sb_error_oom(err);
	}

	/* WAL: only with retention on and a backup to anchor it */
	if (rc == SB_OK && o->retention_full > 0 && res->backups_kept > 0)
	{
		for (i = first_kept; i < nlabels; i++)
		{
			if (keep_from[0] == '\0' ||
				strncmp(heads[i].start_wal + 8, keep_from + 8, WAL_SEG_LEN - 8) < 0)
				snprintf(keep_from, sizeof(keep_from), "%s", heads[i].start_wal);
			if (min_tli == 0 || heads[i].timeline < min_tli)
				min_tli = heads[i].timeline;
		}
		snprintf(res->wal_keep_from, sizeof(res->wal_keep_from), "%s", keep_from);
		rc = expire_wal(st, o, keep_from, min_tli, res, err);
	}

	/* temporary files of writers that died, whatever the retention */
	if (rc == SB_OK)
		rc = sb_temp_leftovers_scan(st, o->stanza, (int64_t) time(NULL),
								SB_TEMP_SAFE_AGE_S, !o->dry_run, &res->temp, err);

done:
	sb_name_list_free(&incomplete);
	sb_backup_list_free(labels, nlabels);
	free(heads);
	return rc;
}

void
sb_expire_result_free(SbExpireResult *res)
{
	sb_backup_list_free(res->expired, res->nexpired);
	sb_backup_list_free(res->leftovers, res->nleftovers);
	memset(res, 0, sizeof(*res));
}
