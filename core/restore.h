/*-------------------------------------------------------------------------
 *
 * restore.h
 *		Restore a backup from the repository into a new data directory,
 *		ready for archive recovery.
 *
 * sb_restore() chooses a backup (the one named, or the newest that can
 * reach the recovery target), checks that it belongs to the stanza,
 * checks every tablespace location (one outside the target directory only
 * when mapped or accepted: see accept_tablespace_locations) and reports it
 * through notice, recreates its directories, tablespace links and files
 * (every file's size and content verified while it is written: by its
 * block sums when the manifest has them, else by its SHA-256), and
 * finally configures
 * recovery: restore_command and the recovery target in
 * postgresql.auto.conf, then recovery.signal.  recovery.signal is written
 * only when everything before it succeeded, so a failed restore never
 * leaves a directory that PostgreSQL would start recovering from.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_RESTORE_H
#define SB_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"
#include "sb_config.h"
#include "sb_error.h"
#include "storage.h"

typedef enum SbTargetKind
{
	SB_TARGET_NONE = 0,			/* recover to the end of the archived WAL */
	SB_TARGET_TIME,				/* recovery_target_time */
	SB_TARGET_LSN,				/* recovery_target_lsn */
	SB_TARGET_XID,				/* recovery_target_xid */
	SB_TARGET_NAME				/* recovery_target_name (restore point) */
} SbTargetKind;

typedef enum SbTargetAction
{
	SB_ACTION_PAUSE = 0,		/* PostgreSQL's default */
	SB_ACTION_PROMOTE,
	SB_ACTION_SHUTDOWN
} SbTargetAction;

typedef struct SbTablespaceMap
{
	unsigned int oid;
	char		dir[SB_PATH_MAX];	/* absolute directory to restore it into */
} SbTablespaceMap;

/* What a restore did; filled as far as it got. */
typedef struct SbRestoreResult
{
	char		label[SB_LABEL_LEN];	/* backup chosen ("" before that) */
	int			files;			/* files written (or kept, by a delta restore) */
	uint64_t	bytes;			/* bytes written (or kept) */
	int			files_kept;		/* delta: files already right, kept */
	uint64_t	bytes_kept;
	int			files_removed;	/* delta: files the backup does not have, removed */
	int			files_patched;	/* delta: files that differed, updated in place */
	uint64_t	bytes_patched;	/* delta: their size (as in the backup) */
	uint64_t	bytes_patch_written;	/* delta: bytes written into them */
	int			files_rebuilt;	/* block-incremental: rebuilt from layers */
	int			files_in_parts; /* cut into parts that several jobs wrote */
	int			file_parts;		/* those parts */

	/*
	 * delta: whether the WAL from the backup's start to the target's last
	 * checkpoint told which blocks to compare (restore_delta_wal.c), and
	 * what was read, or why it was not used
	 */
	bool		delta_wal_used;
	char		delta_wal_note[512];
	uint64_t	bytes_delta_read;	/* delta: local bytes read to compare */
	uint64_t	blocks_fetched; /* delta: blocks fetched by ranged reads */
	uint64_t	blocks_unread;	/* delta: of those, changed after the backup
								 * (the WAL says so) and not read locally */

	/*
	 * Recovery settings of an earlier restore found in the backup's
	 * postgresql.auto.conf and removed: one line each, '\n'-terminated (cut
	 * at the buffer's end, nremoved still counts them all).
	 */
	int			nremoved;
	char		removed[2048];
} SbRestoreResult;

/* A line for the user (the CLI prints it on stdout) */
typedef void (*SbRestoreNoticeFn) (const char *msg, void *arg);

typedef struct SbRestoreOptions
{
	const char *stanza;
	const char *target_dir;		/* new data directory */
	const char *backup_label;	/* NULL or "" to choose */
	SbTargetKind target_kind;
	const char *target_value;	/* for every kind but SB_TARGET_NONE */
	SbTargetAction target_action;
	const char *target_timeline;	/* "latest" (NULL or ""), "current" or an ID */
	bool		standby;		/* standby.signal instead of recovery.signal */
	int			jobs;			/* files restored in parallel (0 or 1: one) */
	/*
	 * With jobs > 1, large files are cut into parts of about this many
	 * bytes that the jobs share (restore_parts.c); 0: the default, 64 MiB.
	 * Tests set it smaller.
	 */
	uint64_t	part_size;
	bool		delta;			/* into an existing data directory, see restore_delta.c */
	bool		delta_checksum; /* delta: checksum every file, never trust times */
	int			ntablespace_map;
	const SbTablespaceMap *tablespace_map;

	/*
	 * Restore tablespaces that are not mapped to the location the backup
	 * records even when it is outside target_dir.  Without it, such a
	 * tablespace is refused: whoever can write to the repository chooses
	 * those locations.
	 */
	bool		accept_tablespace_locations;
	SbRestoreNoticeFn notice;	/* may be NULL: every tablespace location */
	void	   *notice_arg;
	const char *restore_command;	/* written as is into postgresql.auto.conf */
	SbRestoreResult *result;	/* may be NULL */
} SbRestoreOptions;

/*
 * Progress: called at the start, at most about four times a second while
 * files are written, and once at the end; never by two threads at once,
 * but not always by the thread that called sb_restore().
 */
typedef void (*SbRestoreProgressFn) (uint64_t bytes_done, uint64_t bytes_total,
									 int files_done, int files_total,
									 void *arg);

extern SbStatus sb_restore(SbStorage *st, const SbRestoreOptions *o,
						   SbRestoreProgressFn progress, void *arg,
						   SbError *err);

/*
 * Choose the backup sb_restore() would restore for o (backup_label and the
 * target), and load its manifest into m.  Errors say what exists.
 */
extern SbStatus sb_restore_choose_backup(SbStorage *st,
										 const SbRestoreOptions *o,
										 SbManifest *m, SbError *err);

/*
 * A recovery target time: "YYYY-MM-DD HH:MM:SS[.fraction]" (or with 'T'
 * between date and time), optionally followed by a zone: "Z", "UTC",
 * "GMT", or a numeric offset "+HH", "+HHMM", "+HH:MM" (or "-").  Without
 * a zone the time is taken as UTC and *zone_given is false.  On success
 * *epoch is seconds since 1970-01-01 00:00:00 UTC, *usec the fraction in
 * microseconds (further digits are dropped).
 */
extern bool sb_parse_target_time(const char *s, int64_t *epoch, int *usec,
								 bool *zone_given);

/* "latest", "current" or a timeline ID (decimal, 1 to 2^32-1). */
extern bool sb_target_timeline_valid(const char *value);

/* Syntax checks of the other target kinds, as PostgreSQL would accept them. */
extern bool sb_target_value_valid(SbTargetKind kind, const char *value);

extern const char *sb_target_kind_name(SbTargetKind kind);	/* "time", ... */
extern const char *sb_target_action_name(SbTargetAction action);
extern bool sb_target_action_parse(const char *name, SbTargetAction *out);

#endif							/* SB_RESTORE_H */
