/*-------------------------------------------------------------------------
 *
 * restore.c
 *		Restore a backup from the repository into a new data directory;
 *		see restore.h.
 *
 * Order of work, so that nothing is written before every check passed and
 * nothing marks the directory ready before everything is written:
 *
 *   1. check the options, the target directory (missing or empty, no
 *      postmaster.pid), the stanza, the backup (chosen or named) and its
 *      tablespace directories;
 *   2. create the target directory, the tablespace directories and their
 *      links pg_tblspc/<oid>, then every directory of the manifest;
 *   3. write every file through the codec into a new file (O_EXCL), with
 *      its SHA-256 and size verified, then its mode and mtime, fsync;
 *   4. tablespace_map, directory modes, postgresql.auto.conf, fsync of
 *      every directory, and last recovery.signal.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "stanza.h"

/* room for a target directory joined with a relative path */
#define RESTORE_PATH_LEN		(2 * SB_PATH_MAX + 64)

/* smallest interval between two progress reports */
#define PROGRESS_INTERVAL_MS	250

typedef struct Restore
{
	SbStorage  *st;
	const SbRestoreOptions *o;
	SbManifest	m;
	char		target[SB_PATH_MAX];	/* target dir, no trailing '/' */
	char	   *ts_dirs;		/* final dir of each tablespace, SB_PATH_MAX each */

	SbRestoreProgressFn progress;
	void	   *progress_arg;
	uint64_t	bytes_total;
	uint64_t	bytes_done;
	int			files_total;
	int			files_done;
	struct timespec last_report;
	SbRestoreResult dummy_result;
	SbRestoreResult *result;
} Restore;

#define TS_DIR(r, i)	((r)->ts_dirs + (size_t) (i) * SB_PATH_MAX)

/* Files of a backup that are never restored: server state and our marker. */
static const char *const skipped_files[] = {
	"postmaster.pid",
	"postmaster.opts",
	"recovery.signal",
	"standby.signal",
	NULL
};

/* ----------------------------------------------------------------
 *		Names and target values
 * ----------------------------------------------------------------
 */

const char *
sb_target_kind_name(SbTargetKind kind)
{
	switch (kind)
	{
		case SB_TARGET_NONE:
			return "none";
		case SB_TARGET_TIME:
			return "time";
		case SB_TARGET_LSN:
			return "lsn";
		case SB_TARGET_XID:
			return "xid";
		case SB_TARGET_NAME:
			return "name";
	}
	return "unknown";
}

const char *
sb_target_action_name(SbTargetAction action)
{
	switch (action)
	{
		case SB_ACTION_PAUSE:
			return "pause";
		case SB_ACTION_PROMOTE:
			return "promote";
		case SB_ACTION_SHUTDOWN:
			return "shutdown";
	}
	return "unknown";
}

bool
sb_target_action_parse(const char *name, SbTargetAction *out)
{
	if (strcasecmp(name, "pause") == 0)
		*out = SB_ACTION_PAUSE;
	else if (strcasecmp(name, "promote") == 0)
		*out = SB_ACTION_PROMOTE;
	else if (strcasecmp(name, "shutdown") == 0)
		*out = SB_ACTION_SHUTDOWN;
	else
		return false;
	return true;
}

/* Exactly n decimal digits; advances *s. */
static bool
take_digits(const char **s, int n, int *out)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) (*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= (m <= 2);
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : days[m - 1];
}

bool
sb_parse_target_time(const char *s, int64_t *epoch, int *usec,
					 bool *zone_given)
{
	int			year,
				mon,
				day,
				hour,
				min,
				sec;
	int			frac = 0;
	int			ndigits = 0;
	int			offset = 0;		/* seconds east of UTC */

	*zone_given = false;
	while (isspace((unsigned char) *s))
		s++;
	if (!take_digits(&s, 4, &year) || *s++ != '-' ||
		!take_digits(&s, 2, &mon) || *s++ != '-' ||
		!take_digits(&s, 2, &day))
		return false;
	if (*s != ' ' && *s != 'T' && *s != 't')
		return false;
	s++;
	if (!take_digits(&s, 2, &hour) || *s++ != ':' ||
		!take_digits(&s, 2, &min) || *s++ != ':' ||
		!take_digits(&s, 2, &sec))
		return false;
	if (*s == '.')
	{
		s++;
		if (!isdigit((unsigned char) *s))
			return false;
		while (isdigit((unsigned char) *s))
		{
			if (ndigits < 6)
			{
				frac = frac * 10 + (*s - '0');
				ndigits++;
			}
			s++;
		}
		for (; ndigits < 6; ndigits++)
			frac *= 10;
	}
	while (*s == ' ')
		s++;
	if (*s == 'Z' || *s == 'z')
	{
		*zone_given = true;
		s++;
	}
	else if (strncasecmp(s, "UTC", 3) == 0 || strncasecmp(s, "GMT", 3) == 0)
	{
		*zone_given = true;
		s += 3;
	}
	else if (*s == '+' || *s == '-')
	{
		int			sign = (*s == '-') ? -1 : 1;
		int			oh;
		int			om = 0;

		s++;
		if (!take_digits(&s, 2, &oh))
			return false;
		if (*s == ':')
		{
			s++;
			if (!take_digits(&s, 2, &om))
				return false;
		}
		else if (isdigit((unsigned char) *s) && !take_digits(&s, 2, &om))
			return false;
		if (oh > 15 || om > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60);
		*zone_given = true;
	}
	while (isspace((unsigned char) *s))
		s++;
	if (*s != '\0')
		return false;

	if (year < 1900 || mon < 1 || mon > 12 || day < 1 ||
		day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 59)
		return false;

	*epoch = days_from_civil(year, mon, day) * 86400 +
		hour * 3600 + min * 60 + sec - offset;
	*usec = frac;
	return true;
}

bool
sb_target_value_valid(SbTargetKind kind, const char *value)
{
	int64_t		epoch;
	int			usec;
	bool		zone;
	uint64_t	lsn;
	const char *p;

	if (kind == SB_TARGET_NONE)
		return true;
	if (value == NULL || value[0] == '\0' || strpbrk(value, "\n\r") != NULL)
		return false;
	switch (kind)
	{
		case SB_TARGET_NONE:
			return true;
		case SB_TARGET_TIME:
			return sb_parse_target_time(value, &epoch, &usec, &zone);
		case SB_TARGET_LSN:
			return sb_lsn_parse(value, &lsn);
		case SB_TARGET_XID:
			/* a transaction ID, possibly with its epoch (64 bits) */
			for (p = value; *p; p++)
				if (!isdigit((unsigned char) *p))
					return false;
			return strlen(value) < 20 ||
				(strlen(value) == 20 && strcmp(value, "18446744073709551615") <= 0);
		case SB_TARGET_NAME:
			/* restore point names are shorter than 64 bytes */
			return strlen(value) < 64;
	}
	return false;
}

/* "2026-11-23 11:24:37 UTC" */
static void
format_time(int64_t t, char *out, size_t len)
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	if (gmtime_r(&tt, &tm) == NULL ||
		strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, len, "%" PRId64, t);
}

/* ----------------------------------------------------------------
 *		Choosing the backup
 * ----------------------------------------------------------------
 */

/* "Complete backups of stanza "s": a, b, c." into the hint. */
static void
hint_list_backups(SbError *err, const char *stanza, char **labels, int n,
				  const char *prefix)
{
	char		list[SB_ERROR_HINT_LEN];
	size_t		pos = 0;
	int			i;

	if (n == 0)
	{
		sb_error_hint(err, "%sStanza \"%s\" has no complete backup.", prefix, stanza);
		return;
	}
	list[0] = '\0';
	/* newest first, as many as fit */
	for (i = n - 1; i >= 0; i--)
	{
		size_t		need = strlen(labels[i]) + 2;

		if (pos + need + 32 >= sizeof(list) / 2)
		{
			pos += snprintf(list + pos, sizeof(list) - pos, ", and %d older", i + 1);
			break;
		}
		pos += snprintf(list + pos, sizeof(list) - pos, "%s%s",
						pos > 0 ? ", " : "", labels[i]);
	}
	sb_error_hint(err, "%sComplete backups of stanza \"%s\": %s.", prefix, stanza, list);
}

/* Did the backup end at or before a time or LSN target (any other: yes)? */
static bool
reaches_target(const SbManifest *m, SbTargetKind kind, int64_t target_time,
			   uint64_t target_lsn)
{
	uint64_t	stop_lsn;

	if (kind == SB_TARGET_TIME)
		return m->stop_time <= target_time;
	if (kind == SB_TARGET_LSN)
		return sb_lsn_parse(m->stop_lsn, &stop_lsn) && stop_lsn <= target_lsn;
	return true;
}

SbStatus
sb_restore_choose_backup(SbStorage *st, const SbRestoreOptions *o,
						 SbManifest *m, SbError *err)
{
	char	  **labels;
	int			n;
	int			i;
	SbStatus	rc;
	int64_t		target_time = 0;
	int			usec;
	bool		zone;
	uint64_t	target_lsn = 0;
	char		when[64];

	sb_manifest_init(m);
	rc = sb_backup_list(st, o->stanza, &labels, &n, err);
	if (rc != SB_OK)
		return rc;

	if (o->target_kind == SB_TARGET_TIME &&
		!sb_parse_target_time(o->target_value, &target_time, &usec, &zone))
	{
		sb_backup_list_free(labels, n);
		return sb_error_set(err, SB_ERR_CONFIG,
							"invalid recovery target time \"%s\"", o->target_value);
	}
	if (o->target_kind == SB_TARGET_LSN &&
		!sb_lsn_parse(o->target_value, &target_lsn))
	{
		sb_backup_list_free(labels, n);
		return sb_error_set(err, SB_ERR_CONFIG,
							"invalid recovery target LSN \"%s\"", o->target_value);
	}

	if (o->backup_label != NULL && o->backup_label[0] != '\0')
	{
		rc = sb_manifest_load(st, o->stanza, o->backup_label, m, err);
		if (rc == SB_ERR_NOT_FOUND)
			hint_list_backups(err, o->stanza, labels, n, "");
		sb_backup_list_free(labels, n);
		if (rc == SB_OK && !reaches_target(m, o->target_kind, target_time, target_lsn))
		{
			/* recovery would stop before the backup is even consistent */
			format_time(m->stop_time, when, sizeof(when));
			sb_error_set(err, SB_ERR_CONFIG,
						 "backup \"%s\" ended after recovery target %s \"%s\"",
						 m->label, sb_target_kind_name(o->target_kind),
						 o->target_value);
			sb_error_detail(err, "The backup ended at %s (LSN %s).", when, m->stop_lsn);
			sb_error_hint(err, "Restore an older backup, or choose a later target.");
			sb_manifest_free(m);
			rc = SB_ERR_CONFIG;
		}
		return rc;
	}

	if (n == 0)
	{
		sb_backup_list_free(labels, n);
		sb_error_set(err, SB_ERR_NOT_FOUND,
					 "stanza \"%s\" has no complete backup", o->stanza);
		sb_error_hint(err, "Take a backup of the cluster first.");
		return SB_ERR_NOT_FOUND;
	}

	/* newest first: the first one that ended before the target */
	for (i = n - 1; i >= 0; i--)
	{
		rc = sb_manifest_load(st, o->stanza, labels[i], m, err);
		if (rc != SB_OK)
		{
			if (err->hint[0] == '\0')
				sb_error_hint(err, "Name the backup to restore explicitly to use another one.");
			sb_backup_list_free(labels, n);
			return rc;
		}
		if (!reaches_target(m, o->target_kind, target_time, target_lsn))
		{
			sb_manifest_free(m);
			continue;
		}
		sb_backup_list_free(labels, n);
		return SB_OK;
	}

	/* every backup ended after the target: describe the oldest */
	rc = sb_manifest_load(st, o->stanza, labels[0], m, err);
	if (rc == SB_OK)
	{
		format_time(m->stop_time, when, sizeof(when));
		sb_error_set(err, SB_ERR_NOT_FOUND,
					 "no backup of stanza \"%s\" ended before recovery target %s \"%s\"",
					 o->stanza, sb_target_kind_name(o->target_kind),
					 o->target_value);
		sb_error_detail(err, "The oldest complete backup, \"%s\", ended at %s (LSN %s).",
						labels[0], when, m->stop_lsn);
		sb_error_hint(err, "Recovery can only reach a point after the end of the backup it starts from: choose a later target.");
		sb_manifest_free(m);
		rc = SB_ERR_NOT_FOUND;
	}
	sb_backup_list_free(labels, n);
	return rc;
}

/* ----------------------------------------------------------------
 *		Local file system helpers
 * ----------------------------------------------------------------
 */

static SbStatus
join_path(char *out, const char *dir, const char *rel, SbError *err)
{
	int			n = snprintf(out, RESTORE_PATH_LEN, "%s/%s", dir, rel);

	if (n < 0 || n >= RESTORE_PATH_LEN)
		return sb_error_errno(err, ENAMETOOLONG, "could not create \"%s/%s\"",
							  dir, rel);
	return SB_OK;
}

/* Create path and its missing parents with mode; existing dirs are fine. */
static SbStatus
mkdir_p(const char *path, mode_t mode, SbError *err)
{
	char		buf[RESTORE_PATH_LEN];
	char	   *p;
	struct stat sb;

	if (strlen(path) >= sizeof(buf))
		return sb_error_errno(err, ENAMETOOLONG,
							  "could not create directory \"%s\"", path);
	strcpy(buf, path);
	for (p = buf + 1;; p++)
	{
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/')
		{
			char		save = *p;

			*p = '\0';
			if (stat(buf, &sb) == 0)
			{
				if (!S_ISDIR(sb.st_mode))
					return sb_error_errno(err, ENOTDIR,
										  "could not create directory \"%s\"", buf);
			}
			else if (errno != ENOENT)
				return sb_error_errno(err, errno,
									  "could not access directory \"%s\"", buf);
			else if (mkdir(buf, mode) != 0 && errno != EEXIST)
				return sb_error_errno(err, errno,
									  "could not create directory \"%s\"", buf);
			*p = save;
		}
		if (*p == '\0')
			break;
	}
	return SB_OK;
}

static SbStatus
fsync_path(const char *path, bool is_dir, SbError *err)
{
	int			fd;

	fd = open(path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open \"%s\"", path);
	/* as in PostgreSQL, some file systems cannot fsync a directory */
	if (fsync(fd) != 0 && !(is_dir && (errno == EBADF || errno == EINVAL)))
	{
		int			save = errno;

		close(fd);
		return sb_error_errno(err, save, "could not fsync \"%s\"", path);
	}
	close(fd);
	return SB_OK;
}

static SbStatus
fsync_parent(const char *path, SbError *err)
{
	char		buf[RESTORE_PATH_LEN];
	char	   *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return fsync_path(".", true, err);
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fsync_path(buf, true, err);
}

/* fsync every directory under path (buffer of RESTORE_PATH_LEN), then path. */
static SbStatus
fsync_dirs(char *path, SbError *err)
{
	DIR		   *dir;
	struct dirent *de;
	size_t		len = strlen(path);
	SbStatus	rc = SB_OK;

	dir = opendir(path);
	if (dir == NULL)
		return sb_error_errno(err, errno, "could not open directory \"%s\"", path);
	while (rc == SB_OK)
	{
		struct stat sb;

		errno = 0;
		de = readdir(dir);
		if (de == NULL)
		{
			if (errno != 0)
				rc = sb_error_errno(err, errno, "could not read directory \"%s\"", path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (len + 1 + strlen(de->d_name) >= RESTORE_PATH_LEN)
		{
			rc = sb_error_errno(err, ENAMETOOLONG, "could not open \"%s/%s\"",
								path, de->d_name);
			break;
		}
		path[len] = '/';
		strcpy(path + len + 1, de->d_name);
		/* never follows links: tablespaces are synced on their own */
		if (lstat(path, &sb) != 0)
			rc = sb_error_errno(err, errno, "could not stat \"%s\"", path);
		else if (S_ISDIR(sb.st_mode))
			rc = fsync_dirs(path, err);
		path[len] = '\0';
	}
	closedir(dir);
	if (rc == SB_OK)
		rc = fsync_path(path, true, err);
	return rc;
}

/*
 * Check that dir is missing or an empty directory (*exists tells which).
 * what names it in messages ("target directory", "tablespace directory").
 */
static SbStatus
check_empty_dir(const char *dir, const char *what, bool check_pid,
				bool *exists, SbError *err)
{
	struct stat sb;
	DIR		   *d;
	struct dirent *de;
	bool		has_entries = false;
	bool		has_pid = false;

	*exists = false;
	if (stat(dir, &sb) != 0)
	{
		if (errno == ENOENT)
			return SB_OK;
		return sb_error_errno(err, errno, "could not access %s \"%s\"", what, dir);
	}
	if (!S_ISDIR(sb.st_mode))
	{
		sb_error_set(err, SB_ERR_EXISTS, "%s \"%s\" exists and is not a directory",
					 what, dir);
		sb_error_hint(err, "Restore into a new or empty directory.");
		return SB_ERR_EXISTS;
	}
	*exists = true;
	d = opendir(dir);
	if (d == NULL)
		return sb_error_errno(err, errno, "could not open %s \"%s\"", what, dir);
	for (;;)
	{
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		has_entries = true;
		if (strcmp(de->d_name, "postmaster.pid") == 0)
			has_pid = true;
	}
	if (errno != 0)
	{
		int			save = errno;

		closedir(d);
		return sb_error_errno(err, save, "could not read %s \"%s\"", what, dir);
	}
	closedir(d);

	if (check_pid && has_pid)
	{
		sb_error_set(err, SB_ERR_EXISTS,
					 "a server seems to be running in %s \"%s\"", what, dir);
		sb_error_detail(err, "The directory contains a postmaster.pid file.");
		sb_error_hint(err, "Stop that server, and restore into a new or empty directory.");
		return SB_ERR_EXISTS;
	}
	if (has_entries)
	{
		sb_error_set(err, SB_ERR_EXISTS, "%s \"%s\" exists and is not empty",
					 what, dir);
		sb_error_hint(err, "Restore into a new or empty directory, or empty this one first.");
		return SB_ERR_EXISTS;
	}
	return SB_OK;
}

/*
 * Write data to path: create (or truncate) it, or append when append is
 * true, making sure the appended text starts on a new line.  fsync'd.
 */
static SbStatus
write_local_file(const char *path, const char *data, size_t len, bool append,
				 SbError *err)
{
	int			fd;
	int			flags = O_CREAT | O_CLOEXEC | (append ? O_RDWR | O_APPEND : O_WRONLY | O_TRUNC);
	struct stat sb;
	char		last;
	SbStatus	rc = SB_OK;

	fd = open(path, flags, 0600);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open file \"%s\"", path);

	if (append)
	{
		errno = 0;
		if (fstat(fd, &sb) != 0)
			rc = sb_error_errno(err, errno, "could not stat file \"%s\"", path);
		else if (sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) != 1)
			rc = sb_error_errno(err, errno ? errno : EIO,
								"could not read file \"%s\"", path);
		else if (sb.st_size > 0 && last != '\n' && write(fd, "\n", 1) != 1)
			rc = sb_error_errno(err, errno ? errno : ENOSPC,
								"could not write file \"%s\"", path);
	}
	while (rc == SB_OK && len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			rc = sb_error_errno(err, n < 0 ? errno : ENOSPC,
								"could not write file \"%s\"", path);
			break;
		}
		data += n;
		len -= (size_t) n;
	}
	if (rc == SB_OK && fsync(fd) != 0)
		rc = sb_error_errno(err, errno, "could not fsync file \"%s\"", path);
	if (close(fd) != 0 && rc == SB_OK)
		rc = sb_error_errno(err, errno, "could not close file \"%s\"", path);
	return rc;
}

/* ----------------------------------------------------------------
 *		Progress
 * ----------------------------------------------------------------
 */

static void
report_progress(Restore *r, bool force)
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
	rc = sb_filter_write(f->next, buf, len, err);
	if (rc != SB_OK)
	{
		p->write_failed = true;
		return rc;
	}
	p->written += len;
	p->r->bytes_done += len;
	if (p->r->result != NULL)
		p->r->result->bytes = p->r->bytes_done;
	report_progress(p->r, false);
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

/* ----------------------------------------------------------------
 *		Restoring
 * ----------------------------------------------------------------
 */

static bool
file_skipped(const Restore *r, const char *path)
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

/* Resolve and check every tablespace's final directory. */
static SbStatus
check_tablespaces(Restore *r, SbError *err)
{
	const SbRestoreOptions *o = r->o;
	int			i,
				j;
	bool		exists;
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
	if (r->ts_dirs == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");

	for (i = 0; i < r->m.ntablespaces; i++)
	{
		const char *dir = r->m.tablespaces[i].path;
		size_t		len;

		for (j = 0; j < o->ntablespace_map; j++)
			if (o->tablespace_map[j].oid == r->m.tablespaces[i].oid)
				dir = o->tablespace_map[j].dir;
		snprintf(TS_DIR(r, i), SB_PATH_MAX, "%s", dir);
		len = strlen(TS_DIR(r, i));
		while (len > 1 && TS_DIR(r, i)[len - 1] == '/')
			TS_DIR(r, i)[--len] = '\0';

		if (strcmp(TS_DIR(r, i), r->target) == 0)
			return sb_error_set(err, SB_ERR_CONFIG,
								"tablespace %u cannot be restored into the target directory itself",
								r->m.tablespaces[i].oid);
		for (j = 0; j < i; j++)
			if (strcmp(TS_DIR(r, i), TS_DIR(r, j)) == 0)
				return sb_error_set(err, SB_ERR_CONFIG,
									"tablespaces %u and %u would both be restored into \"%s\"",
									r->m.tablespaces[j].oid,
									r->m.tablespaces[i].oid, TS_DIR(r, i));

		rc = check_empty_dir(TS_DIR(r, i), "tablespace directory", false,
							 &exists, err);
		if (rc == SB_ERR_EXISTS)
			sb_error_hint(err, "Restore tablespace %u into another directory with a tablespace mapping (--tablespace-map=%u=DIR).",
						  r->m.tablespaces[i].oid, r->m.tablespaces[i].oid);
		if (rc != SB_OK)
			return rc;
	}
	return SB_OK;
}

/* Tablespace directories and the links pg_tblspc/<oid> to them. */
static SbStatus
create_tablespaces(Restore *r, SbError *err)
{
	char		link[RESTORE_PATH_LEN];
	char		rel[32];
	SbStatus	rc;
	int			i;

	if (r->m.ntablespaces == 0)
		return SB_OK;
	rc = join_path(link, r->target, "pg_tblspc", err);
	if (rc == SB_OK)
		rc = mkdir_p(link, 0700, err);
	for (i = 0; i < r->m.ntablespaces && rc == SB_OK; i++)
	{
		rc = mkdir_p(TS_DIR(r, i), 0700, err);
		if (rc != SB_OK)
			break;
		snprintf(rel, sizeof(rel), "pg_tblspc/%u", r->m.tablespaces[i].oid);
		rc = join_path(link, r->target, rel, err);
		if (rc == SB_OK && symlink(TS_DIR(r, i), link) != 0)
			rc = sb_error_errno(err, errno,
								"could not create symbolic link \"%s\" to \"%s\"",
								link, TS_DIR(r, i));
	}
	return rc;
}

static SbStatus
create_dirs(Restore *r, SbError *err)
{
	char		full[RESTORE_PATH_LEN];
	SbStatus	rc = SB_OK;
	int			i;

	for (i = 0; i < r->m.ndirs && rc == SB_OK; i++)
	{
		if (is_tablespace_link(r, r->m.dirs[i].path))
			continue;
		rc = join_path(full, r->target, r->m.dirs[i].path, err);
		if (rc == SB_OK)
			rc = mkdir_p(full, 0700, err);
	}
	return rc;
}

/* Reword an error of fetching file f into its local path full. */
static void
file_error(Restore *r, const SbManifestFile *f, const char *full,
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

static SbStatus
restore_file(Restore *r, const SbManifestFile *f, SbError *err)
{
	char		full[RESTORE_PATH_LEN];
	char		repo_path[SB_PATH_MAX];
	ProgressFilter *pf;
	SbFilter   *sink;
	struct timespec times[2];
	SbStatus	rc;
	int			fd;

	rc = join_path(full, r->target, f->path, err);
	if (rc != SB_OK)
		return rc;
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT)
	{
		/* a parent the manifest does not list: create it */
		char	   *slash = strrchr(full, '/');

		*slash = '\0';
		rc = mkdir_p(full, 0700, err);
		*slash = '/';
		if (rc != SB_OK)
			return rc;
		fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return sb_error_errno(err, errno, "could not create file \"%s\"", full);

	sink = sb_filter_fd_sink_new(fd);
	pf = calloc(1, sizeof(ProgressFilter));
	if (sink == NULL || pf == NULL)
	{
		if (sink != NULL)
			sb_filter_free_chain(sink);
		free(pf);
		close(fd);
		unlink(full);
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
	}
	pf->base.write = progress_write;
	pf->base.finish = progress_finish;
	pf->base.free = progress_free;
	pf->base.next = sink;
	pf->r = r;
	pf->expected = f->size;

	sb_backup_file_path(r->o->stanza, r->m.label, f->path, r->m.compress_type,
						repo_path);
	rc = sb_codec_fetch(r->st, repo_path, r->m.compress_type, &pf->base,
						f->sha256, f->size, NULL, err);
	if (rc != SB_OK)
		file_error(r, f, full, pf->write_failed, err);
	sb_filter_free_chain(&pf->base);

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
	if (rc == SB_OK && fsync(fd) != 0)
		rc = sb_error_errno(err, errno, "could not fsync file \"%s\"", full);
	if (close(fd) != 0 && rc == SB_OK)
		rc = sb_error_errno(err, errno, "could not close file \"%s\"", full);
	if (rc != SB_OK)
		unlink(full);
	return rc;
}

/* tablespace_map: "<oid> <directory>" lines, escaped as PostgreSQL does. */
static SbStatus
write_tablespace_map(Restore *r, SbError *err)
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
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
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
	rc = join_path(path, r->target, "tablespace_map", err);
	if (rc == SB_OK)
		rc = write_local_file(path, text, pos, false, err);
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

static SbStatus
set_dir_modes(Restore *r, SbError *err)
{
	SbManifestDir **dirs;
	char		full[RESTORE_PATH_LEN];
	SbStatus	rc = SB_OK;
	int			i;

	if (r->m.ndirs == 0)
		return SB_OK;
	dirs = malloc(sizeof(SbManifestDir *) * (size_t) r->m.ndirs);
	if (dirs == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
	for (i = 0; i < r->m.ndirs; i++)
		dirs[i] = &r->m.dirs[i];
	qsort(dirs, (size_t) r->m.ndirs, sizeof(SbManifestDir *), cmp_dirs_desc);
	for (i = 0; i < r->m.ndirs && rc == SB_OK; i++)
	{
		if (is_tablespace_link(r, dirs[i]->path))
			continue;
		rc = join_path(full, r->target, dirs[i]->path, err);
		if (rc == SB_OK && chmod(full, (mode_t) (dirs[i]->mode & 07777)) != 0)
			rc = sb_error_errno(err, errno,
								"could not set permissions of directory \"%s\"", full);
	}
	free(dirs);
	return rc;
}

/* Append value to buf quoted for a PostgreSQL configuration file. */
static size_t
quote_conf_value(char *buf, const char *value)
{
	size_t		pos = 0;

	buf[pos++] = '\'';
	for (; *value; value++)
	{
		if (*value == '\'' || *value == '\\')
			buf[pos++] = *value;
		buf[pos++] = *value;
	}
	buf[pos++] = '\'';
	buf[pos] = '\0';
	return pos;
}

static SbStatus
write_recovery_conf(Restore *r, SbError *err)
{
	const SbRestoreOptions *o = r->o;
	char		path[RESTORE_PATH_LEN];
	char		value[64];
	const char *target = o->target_value;
	char	   *text;
	size_t		pos = 0;
	size_t		vlen;
	SbStatus	rc;

	if (o->target_kind == SB_TARGET_TIME)
	{
		int64_t		epoch;
		int			usec;
		bool		zone;
		time_t		tt;
		struct tm	tm;

		/* normalized to UTC, so that the server reads what we chose by */
		if (!sb_parse_target_time(o->target_value, &epoch, &usec, &zone))
			return sb_error_set(err, SB_ERR_CONFIG,
								"invalid recovery target time \"%s\"", o->target_value);
		tt = (time_t) epoch;
		if (gmtime_r(&tt, &tm) == NULL)
			return sb_error_set(err, SB_ERR_CONFIG,
								"invalid recovery target time \"%s\"", o->target_value);
		vlen = strftime(value, sizeof(value), "%Y-%m-%d %H:%M:%S", &tm);
		if (usec > 0)
			vlen += snprintf(value + vlen, sizeof(value) - vlen, ".%06d", usec);
		snprintf(value + vlen, sizeof(value) - vlen, "+00");
		target = value;
	}

	text = malloc(256 + strlen(r->m.label) + 2 * strlen(o->restore_command) +
				  (target ? 2 * strlen(target) : 0));
	if (text == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
	pos += sprintf(text + pos, "# added by pg_safebackup restore of backup %s\n",
				   r->m.label);
	pos += sprintf(text + pos, "restore_command = ");
	pos += quote_conf_value(text + pos, o->restore_command);
	text[pos++] = '\n';
	if (o->target_kind != SB_TARGET_NONE)
	{
		pos += sprintf(text + pos, "recovery_target_%s = ",
					   sb_target_kind_name(o->target_kind));
		pos += quote_conf_value(text + pos, target);
		pos += sprintf(text + pos, "\nrecovery_target_action = '%s'\n",
					   sb_target_action_name(o->target_action));
	}
	rc = join_path(path, r->target, "postgresql.auto.conf", err);
	if (rc == SB_OK)
		rc = write_local_file(path, text, pos, true, err);
	free(text);
	return rc;
}

static SbStatus
check_options(const SbRestoreOptions *o, SbError *err)
{
	if (o->stanza == NULL || !sb_stanza_name_valid(o->stanza))
		return sb_error_set(err, SB_ERR_CONFIG, "invalid stanza name \"%s\"",
							o->stanza ? o->stanza : "");
	if (o->target_dir == NULL || o->target_dir[0] == '\0')
		return sb_error_set(err, SB_ERR_CONFIG, "no target directory given");
	if (strlen(o->target_dir) >= SB_PATH_MAX)
		return sb_error_set(err, SB_ERR_CONFIG, "target directory path is too long");
	if (o->restore_command == NULL || o->restore_command[0] == '\0' ||
		strpbrk(o->restore_command, "\n\r") != NULL)
		return sb_error_set(err, SB_ERR_CONFIG,
							"a restore_command without line breaks is needed to restore");
	if ((int) o->target_kind < (int) SB_TARGET_NONE ||
		(int) o->target_kind > (int) SB_TARGET_NAME ||
		(int) o->target_action < (int) SB_ACTION_PAUSE ||
		(int) o->target_action > (int) SB_ACTION_SHUTDOWN)
		return sb_error_set(err, SB_ERR_CONFIG, "invalid recovery target options");
	if (!sb_target_value_valid(o->target_kind, o->target_value))
	{
		sb_error_set(err, SB_ERR_CONFIG, "invalid recovery target %s \"%s\"",
					 sb_target_kind_name(o->target_kind),
					 o->target_value ? o->target_value : "");
		if (o->target_kind == SB_TARGET_TIME)
			sb_error_hint(err, "Write the time as YYYY-MM-DD HH:MM:SS, optionally with a fraction and a time zone offset such as +02:00 or Z.");
		else if (o->target_kind == SB_TARGET_LSN)
			sb_error_hint(err, "Write the LSN as two hexadecimal numbers separated by a slash, such as 0/1A2B3C4.");
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

SbStatus
sb_restore(SbStorage *st, const SbRestoreOptions *o,
		   SbRestoreProgressFn progress, void *arg, SbError *err)
{
	Restore		r;
	SbStanzaInfo stanza;
	char		path[RESTORE_PATH_LEN];
	bool		target_exists;
	bool		started = false;
	size_t		len;
	SbStatus	rc;
	int			i;

	memset(&r, 0, sizeof(r));
	sb_manifest_init(&r.m);
	r.st = st;
	r.o = o;
	r.progress = progress;
	r.progress_arg = arg;
	r.result = o->result ? o->result : &r.dummy_result;
	memset(r.result, 0, sizeof(SbRestoreResult));

	/* 1. checks, before anything is written */
	rc = check_options(o, err);
	if (rc != SB_OK)
		return rc;
	snprintf(r.target, sizeof(r.target), "%s", o->target_dir);
	len = strlen(r.target);
	while (len > 1 && r.target[len - 1] == '/')
		r.target[--len] = '\0';

	rc = check_empty_dir(r.target, "target directory", true, &target_exists, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_stanza_load(st, o->stanza, &stanza, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_restore_choose_backup(st, o, &r.m, err);
	if (rc != SB_OK)
		return rc;
	snprintf(r.result->label, sizeof(r.result->label), "%s", r.m.label);

	if (r.m.system_identifier != stanza.system_identifier)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "backup \"%s\" does not belong to the cluster of stanza \"%s\"",
					 r.m.label, o->stanza);
		sb_error_detail(err, "The stanza records system identifier %" PRIu64 ", the backup has %" PRIu64 ".",
						stanza.system_identifier, r.m.system_identifier);
		rc = SB_ERR_MISMATCH;
		goto done;
	}
	if (r.m.pg_version != stanza.pg_version)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "backup \"%s\" is of PostgreSQL %d, stanza \"%s\" of PostgreSQL %d",
					 r.m.label, r.m.pg_version, o->stanza, stanza.pg_version);
		rc = SB_ERR_MISMATCH;
		goto done;
	}
	rc = check_tablespaces(&r, err);
	if (rc != SB_OK)
		goto done;

	for (i = 0; i < r.m.nfiles; i++)
	{
		if (file_skipped(&r, r.m.files[i].path))
			continue;
		r.files_total++;
		r.bytes_total += r.m.files[i].size;
	}
	clock_gettime(CLOCK_MONOTONIC, &r.last_report);
	report_progress(&r, true);

	/* 2. directories and tablespace links */
	started = true;
	rc = mkdir_p(r.target, 0700, err);
	if (rc == SB_OK && chmod(r.target, 0700) != 0)
		rc = sb_error_errno(err, errno, "could not set permissions of directory \"%s\"",
							r.target);
	if (rc == SB_OK)
		rc = create_tablespaces(&r, err);
	if (rc == SB_OK)
		rc = create_dirs(&r, err);

	/* 3. files */
	for (i = 0; i < r.m.nfiles && rc == SB_OK; i++)
	{
		if (file_skipped(&r, r.m.files[i].path))
			continue;
		rc = restore_file(&r, &r.m.files[i], err);
		if (rc == SB_OK)
		{
			r.files_done++;
			r.result->files = r.files_done;
			report_progress(&r, false);
		}
	}

	/* 4. recovery configuration, durability, and the signal file last */
	if (rc == SB_OK)
		rc = write_tablespace_map(&r, err);
	if (rc == SB_OK)
		rc = set_dir_modes(&r, err);
	if (rc == SB_OK)
		rc = write_recovery_conf(&r, err);
	if (rc == SB_OK)
	{
		snprintf(path, sizeof(path), "%s", r.target);
		rc = fsync_dirs(path, err);
	}
	for (i = 0; i < r.m.ntablespaces && rc == SB_OK; i++)
	{
		snprintf(path, sizeof(path), "%s", TS_DIR(&r, i));
		rc = fsync_dirs(path, err);
		if (rc == SB_OK)
			rc = fsync_parent(path, err);
	}
	if (rc == SB_OK)
		rc = fsync_parent(r.target, err);
	if (rc == SB_OK)
		rc = join_path(path, r.target, "recovery.signal", err);
	if (rc == SB_OK)
		rc = write_local_file(path, "", 0, false, err);
	if (rc == SB_OK)
		rc = fsync_path(r.target, true, err);
	if (rc == SB_OK)
		report_progress(&r, true);
	else if (started)
	{
		/* say that what is there is not a usable data directory */
		char		hint[SB_ERROR_HINT_LEN];

		snprintf(hint, sizeof(hint), "%s", err->hint);
		sb_error_hint(err, "%s%sThe target directory \"%s\" is incomplete: empty it before restoring again.",
					  hint, hint[0] ? "  " : "", r.target);
	}

done:
	free(r.ts_dirs);
	sb_manifest_free(&r.m);
	return rc;
}
