/*-------------------------------------------------------------------------
 *
 * backup_walk.c
 *		List what a base backup copies, with the exclusions of PostgreSQL's
 *		own base backup: runtime-only directories are kept empty, WAL is
 *		left out (the repository has it), unlogged and temporary relations
 *		are skipped except for the init forks, and files that only make
 *		sense in a running server are not copied.  global/pg_control goes
 *		last so that it is the newest file of the backup.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/relpath.h"
#include "storage/fd.h"

#include "worker/backup_walk.h"

/* directories whose contents are not copied (the directory itself is) */
static const char *const skip_contents[] = {
	"pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial",
	"pg_snapshots", "pg_subtrans", "pg_wal",
	"pg_safebackup",			/* this server's archiving state: repo_behind.h */
	NULL
};

/* files never copied */
static const char *const skip_files[] = {
	"postgresql.auto.conf.tmp", "current_logfiles.tmp", "backup_label",
	"tablespace_map", "backup_manifest", "postmaster.pid", "postmaster.opts",
	NULL
};

static bool
in_list(const char *name, const char *const *list)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* relfilenode prefix of a relation file name ("1234", "1234_fsm.1"), or 0 */
static size_t
relfile_prefix_len(const char *name)
{
	size_t		n = strspn(name, "0123456789");

	if (n == 0)
		return 0;
	if (name[n] == '\0' || name[n] == '_' || name[n] == '.')
		return n;
	return 0;
}

static bool
is_temp_relation(const char *name)
{
	size_t		n;

	if (name[0] != 't')
		return false;
	n = strspn(name + 1, "0123456789");
	return n > 0 && name[1 + n] == '_' && relfile_prefix_len(name + 2 + n) > 0;
}

/*
 * Within a database directory, an unlogged relation is one with an _init
 * fork: only that fork is copied.
 */
static bool
is_unlogged_non_init(const char *dir, const char *name)
{
	size_t		n = relfile_prefix_len(name);
	char		initpath[MAXPGPATH];
	struct stat st;

	if (n == 0)
		return false;
	if (strncmp(name + n, "_init", 5) == 0)
		return false;
	snprintf(initpath, sizeof(initpath), "%s/%.*s_init", dir, (int) n, name);
	return lstat(initpath, &st) == 0;
}

static void add_entry(List **entries, const char *path, const char *local,
					  const struct stat *st);
static void walk_dir(List **entries, const char *relpath, const char *local,
					 bool in_database_dir);

static void
add_entry(List **entries, const char *path, const char *local,
		  const struct stat *st)
{
	SbWalkEntry *e = palloc0(sizeof(SbWalkEntry));

	e->path = pstrdup(path);
	e->local_path = pstrdup(local);
	e->is_dir = S_ISDIR(st->st_mode);
	e->size = e->is_dir ? 0 : (uint64) st->st_size;
	e->mtime = (int64) st->st_mtime;
	e->mode = st->st_mode & 07777;
	*entries = lappend(*entries, e);
}

static void
walk_dir(List **entries, const char *relpath, const char *local,
		 bool in_database_dir)
{
	DIR		   *dir;
	struct dirent *de;

	dir = AllocateDir(local);
	while ((de = ReadDir(dir, local)) != NULL)
	{
		char		rel[MAXPGPATH];
		char		loc[MAXPGPATH];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, PG_TEMP_FILE_PREFIX, strlen(PG_TEMP_FILE_PREFIX)) == 0)
			continue;
		if (strncmp(de->d_name, "pg_internal.init", 16) == 0)
			continue;
		if (in_list(de->d_name, skip_files) && relpath[0] == '\0')
			continue;
		if (in_database_dir &&
			(is_temp_relation(de->d_name) || is_unlogged_non_init(local, de->d_name)))
			continue;

		snprintf(rel, sizeof(rel), "%s%s%s", relpath, relpath[0] ? "/" : "", de->d_name);
		snprintf(loc, sizeof(loc), "%s/%s", local, de->d_name);

		if (lstat(loc, &st) != 0)
		{
			if (errno == ENOENT)
				continue;		/* removed while we looked */
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not stat file \"%s\": %m", loc)));
		}

		/* the root of a tablespace: follow the link, take our version dir */
		if (strcmp(relpath, "pg_tblspc") == 0 && S_ISLNK(st.st_mode))
			continue;			/* handled by sb_backup_walk */

		if (S_ISDIR(st.st_mode))
		{
			bool		dbdir;

			add_entry(entries, rel, loc, &st);
			if (relpath[0] == '\0' && in_list(de->d_name, skip_contents))
			{
				/* keep pg_wal/archive_status, empty */
				if (strcmp(de->d_name, "pg_wal") == 0)
				{
					char		sub[MAXPGPATH];
					struct stat st2;

					snprintf(sub, sizeof(sub), "%s/archive_status", loc);
					if (lstat(sub, &st2) == 0)
						add_entry(entries, "pg_wal/archive_status", sub, &st2);
				}
				continue;
			}
			/* base/<db> and <tablespace>/<version>/<db> hold relations */
			dbdir = (strcmp(relpath, "base") == 0) ||
				(strncmp(relpath, "pg_tblspc/", 10) == 0 &&
				 strchr(relpath + 10, '/') != NULL &&
				 strchr(strchr(relpath + 10, '/') + 1, '/') == NULL);
			walk_dir(entries, rel, loc, dbdir);
		}
		else if (S_ISREG(st.st_mode))
		{
			if (strcmp(rel, "global/pg_control") == 0)
				continue;		/* added last */
			add_entry(entries, rel, loc, &st);
		}
		/* other symlinks, sockets, ... are not copied */
	}
	FreeDir(dir);
}

List *
sb_backup_walk(List **tablespaces)
{
	List	   *entries = NIL;
	DIR		   *dir;
	struct dirent *de;
	struct stat st;

	walk_dir(&entries, "", ".", false);

	/* tablespaces: pg_tblspc/<oid> -> target; copy our version directory */
	dir = AllocateDir("pg_tblspc");
	while ((de = ReadDir(dir, "pg_tblspc")) != NULL)
	{
		char		link[MAXPGPATH];
		char		target[MAXPGPATH];
		char		rel[MAXPGPATH];
		char		loc[MAXPGPATH];
		ssize_t		len;
		SbWalkTablespace *ts;
		unsigned int oid;
		char	   *end;

		oid = (unsigned int) strtoul(de->d_name, &end, 10);
		if (*end != '\0' || oid == 0)
			continue;
		snprintf(link, sizeof(link), "pg_tblspc/%s", de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;			/* in-place tablespace: walked as a directory */
		target[len] = '\0';

		ts = palloc0(sizeof(SbWalkTablespace));
		ts->oid = oid;
		ts->path = pstrdup(target);
		*tablespaces = lappend(*tablespaces, ts);

		snprintf(rel, sizeof(rel), "%s/%s", link, TABLESPACE_VERSION_DIRECTORY);
		snprintf(loc, sizeof(loc), "%s/%s", target, TABLESPACE_VERSION_DIRECTORY);
		if (lstat(loc, &st) == 0 && S_ISDIR(st.st_mode))
		{
			add_entry(&entries, rel, loc, &st);
			walk_dir(&entries, rel, loc, false);
		}
	}
	FreeDir(dir);

	if (lstat("global/pg_control", &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", "global/pg_control")));
	add_entry(&entries, "global/pg_control", "global/pg_control", &st);
	return entries;
}
