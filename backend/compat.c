/*-------------------------------------------------------------------------
 *
 * compat.c
 *		Archive module entry points in the shape each PostgreSQL version
 *		expects, wrapping the version-neutral functions of archive.c.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "access/xlog.h"
#if PG_VERSION_NUM >= 160000
#include "access/xlogbackup.h"
#endif

void
sb_backup_start(const char *label, SbBackupRun *run)
{
	run->label_file = makeStringInfo();
	run->tablespace_map = makeStringInfo();
	run->from_standby = RecoveryInProgress();
#if PG_VERSION_NUM >= 160000
	{
		BackupState *state = palloc0(sizeof(BackupState));

		do_pg_backup_start(label, true, NULL, state, run->tablespace_map);
		run->state = state;
		run->start_lsn = state->startpoint;
		run->start_tli = state->starttli;
	}
#else
	run->start_lsn = do_pg_backup_start(label, true, &run->start_tli,
										run->label_file, NULL,
										run->tablespace_map);
	run->state = NULL;
#endif
}

void
sb_backup_stop(SbBackupRun *run, bool wait_archiver)
{
#if PG_VERSION_NUM >= 160000
	BackupState *state = (BackupState *) run->state;

	do_pg_backup_stop(state, wait_archiver);
	run->stop_lsn = state->stoppoint;
	run->stop_tli = state->stoptli;
	appendStringInfoString(run->label_file, build_backup_content(state, false));
#else
	run->stop_lsn = do_pg_backup_stop(run->label_file->data, wait_archiver,
									  &run->stop_tli);
#endif
}

#if PG_VERSION_NUM < 170000
/*
 * Before 17 the archiver only says "archiving is not configured": log why,
 * so the DBA sees what to fix.
 */
static void
report_not_configured(const char *detail)
{
	ereport(WARNING,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("pg_safebackup cannot archive WAL yet"),
			 errdetail("%s", detail),
			 errhint("WAL files are kept in pg_wal until archiving succeeds.")));
}
#endif

#if PG_VERSION_NUM >= 160000

static bool
check_configured_cb(ArchiveModuleState *state)
{
	char	   *detail = NULL;
	bool		ok = sb_archive_check_configured(&detail);

#if PG_VERSION_NUM >= 170000
	if (!ok && detail != NULL)
		arch_module_check_errdetail("%s", detail);
#else
	if (!ok && detail != NULL)
		report_not_configured(detail);
#endif
	return ok;
}

static bool
archive_file_cb(ArchiveModuleState *state, const char *file, const char *path)
{
	return sb_archive_file(file, path);
}

static void
shutdown_cb(ArchiveModuleState *state)
{
	sb_archive_shutdown();
}

static const ArchiveModuleCallbacks sb_archive_callbacks = {
	.startup_cb = NULL,
	.check_configured_cb = check_configured_cb,
	.archive_file_cb = archive_file_cb,
	.shutdown_cb = shutdown_cb
};

const ArchiveModuleCallbacks *
_PG_archive_module_init(void)
{
	return &sb_archive_callbacks;
}

#else							/* PostgreSQL 15 */

static bool
check_configured_cb(void)
{
	char	   *detail = NULL;
	bool		ok = sb_archive_check_configured(&detail);

	if (!ok && detail != NULL)
		report_not_configured(detail);
	return ok;
}

void
_PG_archive_module_init(ArchiveModuleCallbacks *cb)
{
	cb->check_configured_cb = check_configured_cb;
	cb->archive_file_cb = sb_archive_file;
	cb->shutdown_cb = sb_archive_shutdown;
}

#endif
