/*-------------------------------------------------------------------------
 *
 * restore.c
 *		Restore a backup from the repository into a new data directory:
 *		the checks of the options and the order of the steps; see restore.h.
 *
 * The steps live in restore_target.c (recovery target values),
 * restore_choose.c (choosing the backup), restore_write.c (tablespaces,
 * directories and files), restore_recovery.c (postgresql.auto.conf) and
 * restore_fs.c (local file system helpers).
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
 *      its SHA-256 and size verified, then its mode and mtime;
 *   4. tablespace_map, directory modes, postgresql.auto.conf, syncfs() of
 *      the target's and each tablespace's file system (every file and
 *      directory), and last recovery.signal (standby.signal for a
 *      standby).
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "restore.h"
#include "restore_internal.h"
#include "wal_changes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backup_chain.h"
#include "fs_sync.h"
#include "stanza.h"

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
	if (o->target_timeline != NULL && o->target_timeline[0] != '\0' &&
		!sb_target_timeline_valid(o->target_timeline))
	{
		sb_error_set(err, SB_ERR_CONFIG, "invalid recovery target timeline \"%s\"",
					 o->target_timeline);
		sb_error_hint(err, "Use \"latest\", \"current\" or a timeline ID such as 2.");
		return SB_ERR_CONFIG;
	}
	if (o->standby && o->target_kind != SB_TARGET_NONE)
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "a standby cannot have a recovery target (found target_%s)",
					 sb_target_kind_name(o->target_kind));
		sb_error_hint(err, "A standby replays the archived WAL to its end and keeps following it; restore without --standby to stop at a target.");
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

	if (o->delta)
		rc = sb_restore_delta_check_target(&r, &r.delta, err);
	else
		rc = sb_restore_check_empty_dir(r.target, "target directory", true,
										&target_exists, err);
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
	if (r.delta)
	{
		rc = sb_restore_delta_check_cluster(&r, err);
		/* read the WAL's change list before pg_wal is cleaned */
		if (rc == SB_OK)
			rc = sb_restore_delta_wal(&r, err);
		if (rc != SB_OK)
			goto done;
		/* the disk reads what will be compared while the target is cleaned */
		sb_restore_delta_read_ahead(&r);
	}
	if (r.m.pg_version != stanza.pg_version)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "backup \"%s\" is of PostgreSQL %d, stanza \"%s\" of PostgreSQL %d",
					 r.m.label, r.m.pg_version, o->stanza, stanza.pg_version);
		rc = SB_ERR_MISMATCH;
		goto done;
	}
	/* a differential or incremental backup needs its whole chain */
	rc = sb_backup_chain_check(st, o->stanza, &r.m, err);
	if (rc != SB_OK)
		goto done;
	rc = sb_restore_check_tablespaces(&r, err);
	if (rc != SB_OK)
		goto done;

	for (i = 0; i < r.m.nfiles; i++)
	{
		if (sb_restore_file_skipped(&r, r.m.files[i].path))
			continue;
		r.files_total++;
		r.bytes_total += r.m.files[i].size;
	}
	clock_gettime(CLOCK_MONOTONIC, &r.last_report);
	sb_restore_report_progress(&r, true);

	/* 2. directories and tablespace links */
	started = true;
	rc = sb_restore_mkdir_p(r.target, 0700, err);
	if (rc == SB_OK && chmod(r.target, 0700) != 0)
		rc = sb_error_errno(err, errno, "could not set permissions of directory \"%s\"",
							r.target);
	if (rc == SB_OK)
		rc = sb_restore_create_tablespaces(&r, err);
	if (rc == SB_OK && r.delta)
		rc = sb_restore_delta_clean(&r, err);
	if (rc == SB_OK)
		rc = sb_restore_create_dirs(&r, err);

	/* 3. files, by o->jobs threads */
	if (rc == SB_OK)
		rc = sb_restore_files(&r, err);

	/* 4. recovery configuration, durability, and the signal file last */
	if (rc == SB_OK)
		rc = sb_restore_write_tablespace_map(&r, err);
	if (rc == SB_OK)
		rc = sb_restore_set_dir_modes(&r, err);
	if (rc == SB_OK)
		rc = sb_restore_write_recovery_conf(&r, err);
	/*
	 * Every file and directory written, flushed at once per file system:
	 * syncfs() writes the directories too, so they are not walked (links
	 * other than the tablespaces' are never followed or kept, so nothing
	 * written lies on another file system).  The directories holding the
	 * target and the tablespace directories may be on another one.
	 */
	if (rc == SB_OK)
		rc = sb_sync_file_system(r.target, err);
	for (i = 0; i < r.m.ntablespaces && rc == SB_OK; i++)
	{
		rc = sb_sync_file_system(TS_DIR(&r, i), err);
		if (rc == SB_OK)
			rc = sb_restore_fsync_parent(TS_DIR(&r, i), err);
	}
	if (rc == SB_OK)
		rc = sb_restore_fsync_parent(r.target, err);
	if (rc == SB_OK)
		rc = sb_restore_join_path(path, r.target,
								  o->standby ? "standby.signal" : "recovery.signal",
								  err);
	if (rc == SB_OK)
		rc = sb_restore_write_local_file(path, "", 0, false, err);
	if (rc == SB_OK)
		rc = sb_restore_fsync_path(r.target, true, err);
	if (rc == SB_OK)
		sb_restore_report_progress(&r, true);
	else if (started)
	{
		/* say that what is there is not a usable data directory */
		char		hint[SB_ERROR_HINT_LEN];

		snprintf(hint, sizeof(hint), "%s", err->hint);
		sb_error_hint(err, "%s%sThe target directory \"%s\" is incomplete: empty it before restoring again.",
					  hint, hint[0] ? "  " : "", r.target);
	}

done:
	r.result->files_removed = r.delta_removed;
	free(r.delta_files);
	free(r.delta_dirs);
	sb_wal_changes_free(r.delta_changes);
	free(r.order);
	free(r.ts_dirs);
	sb_manifest_free(&r.m);
	return rc;
}
