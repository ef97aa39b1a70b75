/*-------------------------------------------------------------------------
 *
 * expire.h
 *		Retention: remove the backups beyond the newest N full ones, the WAL
 *		no kept backup needs, and the leftovers of interrupted backups.
 *
 * Rules (see README "Retention and expire"):
 *
 * - Backups are kept from the retention_full-th newest full backup on
 *   (labels sort in time order); older ones are removed, manifest first, so
 *   an interrupted expire never leaves a listed backup with missing files.
 *   retention_full = 0 keeps every backup and all WAL.  Differential and
 *   incremental backups are not counted: they go with the full backup
 *   they build on, and a kept one keeps every backup it depends on (its
 *   base and the backups its files are referenced in), so a chain is
 *   never cut.
 * - WAL: a file (segment, partial segment, backup history file) is removed
 *   when its segment number is below the oldest start segment of the kept
 *   backups, or its timeline is below every kept backup's timeline.
 *   Timeline history files are always kept.  Everything a kept backup
 *   needs for consistency and for point-in-time recovery up to now (its
 *   start segment onwards, on its timeline and every later one) stays.
 * - Leftovers: a backup directory without a manifest is removed unless it
 *   may belong to a backup in progress: the server passes the label of the
 *   running backup (from shared memory); the CLI cannot know, so it never
 *   removes an incomplete directory newer than the newest complete backup.
 *   Neither removes one newer than the newest complete backup that holds a
 *   resume list: the next backup of its type resumes it.
 *   The manifest is looked for once more just before removing, so a backup
 *   that completed meanwhile is never taken for a leftover.
 * - Any manifest that cannot be read stops expire before it removes
 *   anything: it cannot tell what that backup needs.
 * - Temporary files left by writers that died (see temp_leftovers.h) are
 *   removed once SB_TEMP_SAFE_AGE_S old, whatever retention_full says.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_EXPIRE_H
#define SB_EXPIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"
#include "name_list.h"
#include "sb_error.h"
#include "storage.h"
#include "temp_leftovers.h"

typedef struct SbExpireOptions
{
	const char *stanza;
	int			retention_full; /* full backups to keep; 0 = keep all */
	/* the backup in progress ("" or NULL when none or unknown) */
	const char *running_label;
	/*
	 * Server: asked about each incomplete directory after the listing (so a
	 * backup started meanwhile is seen); true when that backup is running.
	 */
	bool		(*is_running) (const char *label, void *arg);
	void	   *is_running_arg;
	/* CLI: which backup runs is unknown; spare the newest incomplete dirs */
	bool		running_unknown;
	bool		dry_run;		/* report, remove nothing */

	/*
	 * Never remove a backup whose label time (UTC) is at or after this
	 * (seconds since the epoch; 0: no floor), nor the WAL it needs.  The
	 * repository server's own retention sets it (retention_min_days): an
	 * append-only client that uploads forged "newer" full backups can then
	 * push out of retention_full only backups older than the floor.
	 */
	int64_t		keep_newer_than;
} SbExpireOptions;

typedef struct SbExpireResult
{
	int			backups_kept;
	int			nexpired;		/* backups removed */
	char	  **expired;		/* their labels, oldest first */
	int			nleftovers;		/* incomplete backup directories removed */
	char	  **leftovers;
	int			nskipped;		/* incomplete directories spared (may be running) */
	uint64_t	wal_removed;	/* WAL files removed */
	char		wal_first[SB_WALNAME_MAX];	/* smallest name removed ("" if none) */
	char		wal_last[SB_WALNAME_MAX];	/* largest name removed */
	char		wal_keep_from[SB_WALNAME_MAX];	/* oldest kept backup's start */
	/* temporary files of writers that died (removed when SB_TEMP_SAFE_AGE_S old) */
	SbTempLeftovers temp;
} SbExpireResult;

extern SbStatus sb_expire(SbStorage *st, const SbExpireOptions *o,
						  SbExpireResult *res, SbError *err);
extern void sb_expire_result_free(SbExpireResult *res);

/*
 * sb_expire() refuses a client whose repository is append-only
 * (sb_storage_mode()): this error, status SB_ERR_PERMISSION.
 */
extern SbStatus sb_expire_append_only_error(const char *stanza, SbError *err);

/* Does the WAL file name (segment, .partial, .backup) go, given the horizon? */
extern bool sb_expire_wal_removable(const char *walname, const char *keep_from,
									unsigned int min_tli);

/*
 * The backup directories of the stanza (names like labels), sorted; none
 * when it has no backup directory.  Free out with sb_name_list_free.
 */
extern SbStatus sb_expire_list_backup_dirs(SbStorage *st, const char *stanza,
										   SbNameList *out, SbError *err);

/* "YYYYMMDD-HHMMSS" followed by one upper-case letter */
extern bool sb_expire_label_like(const char *name);

#endif							/* SB_EXPIRE_H */
