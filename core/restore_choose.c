/*-------------------------------------------------------------------------
 *
 * restore_choose.c
 *		Choosing the backup to restore: the one named, or the newest complete
 *		backup that reaches the recovery target.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stanza.h"

/* ----------------------------------------------------------------
 *		Choosing the backup
 * ----------------------------------------------------------------
 */

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

	/*
	 * newest first: the first one that ended before the target (without
	 * the block sums of those passed over: read again once chosen)
	 */
	for (i = n - 1; i >= 0; i--)
	{
		rc = sb_manifest_load_flags(st, o->stanza, labels[i], m,
									o->target_kind == SB_TARGET_NONE ? 0 :
									SB_MANIFEST_SKIP_SUMS, err);
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
		if (m->sums_skipped)
		{
			sb_manifest_free(m);
			rc = sb_manifest_load(st, o->stanza, labels[i], m, err);
		}
		sb_backup_list_free(labels, n);
		return rc;
	}

	/* every backup ended after the target: describe the oldest */
	rc = sb_manifest_load_flags(st, o->stanza, labels[0], m,
								SB_MANIFEST_SKIP_SUMS, err);
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
