/*-------------------------------------------------------------------------
 *
 * repo_behind.h
 *		Repositories that fell behind (safebackup.archive_repo_hold): the
 *		WAL files a failing repository missed, recorded durably in the data
 *		directory until the catch-up worker (worker/wal_catchup.c) has
 *		copied them into it, and each repository's failure clock.
 *
 * The record of repository N is two files in DataDir/pg_safebackup:
 *
 *   repoN.missed	the names of the WAL files it missed, one a line, in
 *					the order they were archived (append only)
 *   repoN.done		how many bytes of repoN.missed are copied already
 *
 * A name is appended and fsynced before the file is reported archived;
 * the catch-up worker copies the names after the "done" offset, oldest
 * first, and moves the offset on; when it reaches the end both files are
 * removed and the repository is current again.  A crash between a copy
 * and the offset's update only copies that file again, which the WAL
 * store accepts (identical content).  The shared state below is loaded
 * from the files on first use after each (re)start.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_REPO_BEHIND_H
#define SB_REPO_BEHIND_H

#include "datatype/timestamp.h"

#include "settings.h"
#include "shmem.h"

#define SB_BEHIND_DIR		"pg_safebackup"
#define SB_BEHIND_ERROR_LEN	256

/* One repository's state, as safebackup_archive_repos() shows it. */
typedef struct SbRepoBehindInfo
{
	bool		behind;			/* it has a record of missed files */
	int64		missed;			/* files in the record not copied yet */
	char		oldest[SB_WALNAME_LEN]; /* the next to copy ("" if none) */
	char		newest[SB_WALNAME_LEN]; /* the last recorded */
	TimestampTz failing_since;	/* first failure since the last success; 0 */
	int64		caught_up;		/* files copied into it since the start */
	char		last_error[SB_BEHIND_ERROR_LEN];	/* of the catch-up */
	TimestampTz last_error_time;
} SbRepoBehindInfo;

/* shared memory (called from shmem.c's hooks) */
extern void sb_behind_shmem_request(void);
extern void sb_behind_shmem_init(void);

/* safebackup.archive_repo_hold in seconds; 0: a failing repository holds */
extern int	sb_archive_repo_hold;

/* Bit (1 << (r - 1)) set for each repository r that is behind. */
extern int	sb_behind_mask(void);

/*
 * A push into repository r succeeded or failed: its failure clock stops or
 * starts (a failure keeps the time of the first one in a row).
 */
extern void sb_behind_note_push(int repo, bool ok);

/*
 * Has repository r failed continuously for safebackup.archive_repo_hold
 * or longer (never when the setting is 0)?  *seconds is for how long.
 */
extern bool sb_behind_hold_expired(int repo, long *seconds);

/*
 * Record "file" as missed by repository r, durably, before it is reported
 * archived.  expect_behind says whether the caller saw r behind; when it
 * did, but r has caught up since, nothing is recorded and *caught_up is
 * set: the caller must push the file into r itself.  False (with errno
 * and *what set) when the record could not be written.
 */
extern bool sb_behind_record(int repo, const char *file, bool expect_behind,
							 bool *caught_up, const char **what);

/*
 * The catch-up worker's side: the next missed file of repository r into
 * name (false when there is none), and the offset to pass to
 * sb_behind_copied() once it is in r.
 */
extern bool sb_behind_next(int repo, char *name, int64 *next_offset);

/*
 * Repository r has every recorded file before next_offset.  When that is
 * all of them, the record is removed, r is current again and *current is
 * set (the caller logs it).  False (errno, *what) when the record could
 * not be updated.
 */
extern bool sb_behind_copied(int repo, int64 next_offset, bool *current,
							 const char **what);

/* The catch-up of repository r failed: remember why, for the status. */
extern void sb_behind_note_error(int repo, const char *message);

extern void sb_behind_info(int repo, SbRepoBehindInfo *info);

#endif							/* SB_REPO_BEHIND_H */
