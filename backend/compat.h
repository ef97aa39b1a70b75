/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL version difference the server module depends on.
 *
 * The rest of the module is written against version-neutral names; this
 * header (and compat.c, which holds the archive module entry points) is
 * the only place with PG_VERSION_NUM tests.  Supported: 15 to 18.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_COMPAT_H
#define SB_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "pg_safebackup requires PostgreSQL 15 or later"
#endif

#include "fmgr.h"

/* _PG_init is declared by fmgr.h only from 16 on */
#if PG_VERSION_NUM < 160000
extern void _PG_init(void);
#endif

/* 16 moved the archive module API to its own header and added a state */
#if PG_VERSION_NUM >= 160000
#include "archive/archive_module.h"
#else
#include "postmaster/pgarch.h"
extern void _PG_archive_module_init(ArchiveModuleCallbacks *cb);
#endif

#include "access/xlogdefs.h"
#include "lib/stringinfo.h"

/* PG_TEMP_FILE_PREFIX moved from storage/fd.h to common/file_utils.h */
#include "storage/fd.h"
#ifndef PG_TEMP_FILE_PREFIX
#include "common/file_utils.h"
#endif

/*
 * Non-exclusive base backup start/stop: 15 returns LSNs and fills label
 * text; 16+ keep them in a BackupState.  SbBackupRun hides the difference.
 */
typedef struct SbBackupRun
{
	XLogRecPtr	start_lsn;
	XLogRecPtr	stop_lsn;
	TimeLineID	start_tli;
	TimeLineID	stop_tli;
	bool		from_standby;	/* started during recovery */
	StringInfo	label_file;		/* backup_label content, after stop */
	StringInfo	tablespace_map; /* tablespace_map content */
	void	   *state;			/* BackupState on 16+ */
} SbBackupRun;

/*
 * Start a backup (fast checkpoint, or restartpoint on a standby); the caller
 * registers the abort handler.
 */
extern void sb_backup_start(const char *label, SbBackupRun *run);

/*
 * Stop it.  With wait_archiver, the server first waits (without a time
 * limit) until its own archiver has archived the last segment the backup
 * needs; a standby cannot switch WAL, so its backups stop without waiting
 * and the caller waits for the repository instead.
 */
extern void sb_backup_stop(SbBackupRun *run, bool wait_archiver);

/*
 * WAL summaries (17 and later, with summarize_wal = on): which blocks of
 * which relation forks WAL between two LSNs modified.  They are read
 * through the server's SQL functions (the C API's header is not installed
 * by every distribution), so the caller must be connected to a database.
 */
#define SB_HAVE_WAL_SUMMARIES	(PG_VERSION_NUM >= 170000)

/* One block (or, with is_limit, a truncation or creation to limit blocks). */
typedef void (*SbSummaryBlockFn) (void *arg, Oid spc, Oid db, Oid relnumber,
								  int fork, uint32 block, bool is_limit);

/*
 * Wait up to wait_ms for the WAL summarizer to reach end_lsn, check that
 * the summaries of timeline tli cover [start_lsn, end_lsn) without a gap,
 * and call fn for every block they record (a superset of those modified
 * in the range).  false, with *why (palloc'd, a sentence) saying why, when
 * the summaries cannot tell; errors of the SQL functions become a false
 * too.  Runs its own transactions: call it outside one.
 */
extern bool sb_wal_summary_blocks(TimeLineID tli, XLogRecPtr start_lsn,
								  XLogRecPtr end_lsn, int wait_ms,
								  SbSummaryBlockFn fn, void *arg, char **why);

/*
 * Version-neutral archive callbacks (archive.c); compat.c wraps them in the
 * signatures of the running version.  check_configured may set *detail to
 * a palloc'd explanation.
 */
extern bool sb_archive_check_configured(char **detail);
extern bool sb_archive_file(const char *file, const char *path);
extern void sb_archive_shutdown(void);

#endif							/* SB_COMPAT_H */
