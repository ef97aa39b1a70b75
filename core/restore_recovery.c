/*-------------------------------------------------------------------------
 *
 * restore_recovery.c
 *		Writing the recovery settings of a restore into postgresql.auto.conf:
 *		restore_command, the recovery target and its timeline.
 *
 * A restore owns the recovery settings.  A backup of a cluster that was
 * itself restored carries that restore's settings in postgresql.auto.conf
 * (recovery_target_time of an old PITR, say): left there, they would stop
 * the new recovery at the old target and silently lose later data.  So
 * every restore_command and recovery_target* line is removed from the
 * file (and reported, see SbRestoreResult.removed), and the settings we
 * write set every recovery target parameter, the unused ones to '', so
 * that no value from postgresql.conf can add a second target either.  The
 * empty ones come first: PostgreSQL refuses a target parameter assigned
 * after another kind of target was set, even an empty one.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* a postgresql.auto.conf larger than this is not one we should rewrite */
#define AUTO_CONF_MAX	(4 * 1024 * 1024)

/* the first line of the block we write; earlier ones are removed too */
#define OUR_MARKER		"# recovery settings written by pg_safebackup restore"
#define OLD_MARKER		"# added by pg_safebackup restore"

/* every recovery target kind, all of them written so none is inherited */
static const SbTargetKind target_kinds[] = {
	SB_TARGET_LSN, SB_TARGET_NAME, SB_TARGET_TIME, SB_TARGET_XID
};

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

/*
 * Does this postgresql.auto.conf line set a recovery setting a restore
 * owns (restore_command, recovery_target, recovery_target_*), or is it
 * the marker comment of an earlier restore?
 */
static bool
is_owned_line(const char *line, size_t len)
{
	size_t		i = 0;
	size_t		start;
	size_t		namelen;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i >= strlen(OUR_MARKER) &&
		strncmp(line + i, OUR_MARKER, strlen(OUR_MARKER)) == 0)
		return true;
	if (len - i >= strlen(OLD_MARKER) &&
		strncmp(line + i, OLD_MARKER, strlen(OLD_MARKER)) == 0)
		return true;
	start = i;
	while (i < len && (isalnum((unsigned char) line[i]) || line[i] == '_' ||
					   line[i] == '.'))
		i++;
	namelen = i - start;
	if (namelen == 0)
		return false;
	/* a name must be followed by '=', blanks or the value */
	if (namelen == strlen("restore_command") &&
		strncasecmp(line + start, "restore_command", namelen) == 0)
		return true;
	if (namelen >= strlen("recovery_target") &&
		strncasecmp(line + start, "recovery_target", strlen("recovery_target")) == 0 &&
		(namelen == strlen("recovery_target") ||
		 line[start + strlen("recovery_target")] == '_'))
		return true;
	return false;
}

static void
note_removed(SbRestoreResult *res, const char *line, size_t len)
{
	size_t		used = strlen(res->removed);

	res->nremoved++;
	if (used + len + 2 > sizeof(res->removed))
		return;
	memcpy(res->removed + used, line, len);
	res->removed[used + len] = '\n';
	res->removed[used + len + 1] = '\0';
}

/*
 * Read postgresql.auto.conf (if there is one) into a malloc'd buffer,
 * without the lines a restore owns; *len is the length kept.
 */
static SbStatus
read_kept_settings(Restore *r, const char *path, char **out, size_t *len,
				   SbError *err)
{
	char	   *data;
	char	   *kept;
	size_t		size = 0;
	size_t		klen = 0;
	size_t		pos;
	struct stat sb;
	int			fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return SB_OK;
		return sb_error_errno(err, errno, "could not open file \"%s\"", path);
	}
	if (fstat(fd, &sb) != 0)
	{
		int			save = errno;

		close(fd);
		return sb_error_errno(err, save, "could not stat file \"%s\"", path);
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > AUTO_CONF_MAX)
	{
		close(fd);
		return sb_error_set(err, SB_ERR_CORRUPT,
							"file \"%s\" of the backup is not a configuration file a restore can edit",
							path);
	}
	data = malloc((size_t) sb.st_size + 1);
	kept = malloc((size_t) sb.st_size + 2);
	if (data == NULL || kept == NULL)
	{
		free(data);
		free(kept);
		close(fd);
		return sb_error_oom(err);
	}
	while (size < (size_t) sb.st_size)
	{
		ssize_t		n = read(fd, data + size, (size_t) sb.st_size - size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			save = n < 0 ? errno : EIO;

			free(data);
			free(kept);
			close(fd);
			return sb_error_errno(err, save, "could not read file \"%s\"", path);
		}
		size += (size_t) n;
	}
	close(fd);

	for (pos = 0; pos < size;)
	{
		const char *nl = memchr(data + pos, '\n', size - pos);
		size_t		linelen = nl ? (size_t) (nl - (data + pos)) : size - pos;

		if (is_owned_line(data + pos, linelen))
			note_removed(r->result, data + pos, linelen);
		else
		{
			memcpy(kept + klen, data + pos, linelen);
			klen += linelen;
			kept[klen++] = '\n';
		}
		pos += linelen + 1;
	}
	free(data);
	*out = kept;
	*len = klen;
	return SB_OK;
}

/* The target value as written: a time normalized to UTC. */
static SbStatus
target_value(const SbRestoreOptions *o, char *value, size_t size,
			 const char **target, SbError *err)
{
	int64_t		epoch;
	int			usec;
	bool		zone;
	time_t		tt;
	struct tm	tm;
	size_t		vlen;

	*target = o->target_value;
	if (o->target_kind != SB_TARGET_TIME)
		return SB_OK;
	/* normalized to UTC, so that the server reads what we chose by */
	if (!sb_parse_target_time(o->target_value, &epoch, &usec, &zone))
		return sb_error_set(err, SB_ERR_CONFIG,
							"invalid recovery target time \"%s\"", o->target_value);
	tt = (time_t) epoch;
	if (gmtime_r(&tt, &tm) == NULL)
		return sb_error_set(err, SB_ERR_CONFIG,
							"invalid recovery target time \"%s\"", o->target_value);
	vlen = strftime(value, size, "%Y-%m-%d %H:%M:%S", &tm);
	if (usec > 0)
		vlen += snprintf(value + vlen, size - vlen, ".%06d", usec);
	snprintf(value + vlen, size - vlen, "+00");
	*target = value;
	return SB_OK;
}

SbStatus
sb_restore_write_recovery_conf(Restore *r, SbError *err)
{
	const SbRestoreOptions *o = r->o;
	const char *timeline = (o->target_timeline && o->target_timeline[0]) ?
		o->target_timeline : "latest";
	char		path[RESTORE_PATH_LEN];
	char		value[64];
	const char *target;
	char	   *kept;
	size_t		klen;
	char	   *text;
	size_t		pos;
	size_t		i;
	SbStatus	rc;

	rc = target_value(o, value, sizeof(value), &target, err);
	if (rc == SB_OK)
		rc = sb_restore_join_path(path, r->target, "postgresql.auto.conf", err);
	if (rc == SB_OK)
		rc = read_kept_settings(r, path, &kept, &klen, err);
	if (rc != SB_OK)
		return rc;

	text = malloc(klen + 1024 + strlen(r->m.label) + 2 * strlen(o->restore_command) +
				  2 * strlen(timeline) + (target ? 2 * strlen(target) : 0));
	if (text == NULL)
	{
		free(kept);
		return sb_error_oom(err);
	}
	memcpy(text, kept ? kept : "", klen);
	pos = klen;
	free(kept);

	pos += sprintf(text + pos, "%s of backup %s\n", OUR_MARKER, r->m.label);
	pos += sprintf(text + pos, "restore_command = ");
	pos += quote_conf_value(text + pos, o->restore_command);
	text[pos++] = '\n';
	/* the unused target kinds first, cleared (see the top of this file) */
	pos += sprintf(text + pos, "recovery_target = ''\n");
	for (i = 0; i < sizeof(target_kinds) / sizeof(target_kinds[0]); i++)
		if (target_kinds[i] != o->target_kind)
			pos += sprintf(text + pos, "recovery_target_%s = ''\n",
						   sb_target_kind_name(target_kinds[i]));
	if (o->target_kind != SB_TARGET_NONE)
	{
		pos += sprintf(text + pos, "recovery_target_%s = ",
					   sb_target_kind_name(o->target_kind));
		pos += quote_conf_value(text + pos, target);
		pos += sprintf(text + pos, "\nrecovery_target_action = '%s'\n",
					   sb_target_action_name(o->target_action));
	}
	pos += sprintf(text + pos, "recovery_target_timeline = ");
	pos += quote_conf_value(text + pos, timeline);
	text[pos++] = '\n';

	rc = sb_restore_write_local_file(path, text, pos, false, err);
	free(text);
	return rc;
}
