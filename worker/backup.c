/*-------------------------------------------------------------------------
 *
 * backup.c
 *		The base backup worker, started by safebackup_start().
 *
 * It runs a non-exclusive backup through the server's own start/stop
 * functions, streams every file through the codec into the repository
 * (<stanza>/backup/<label>/data/...) with the copy workers of
 * backup_copy.c, global/pg_control last, waits until
 * the WAL that makes the backup consistent is archived (on a primary by our
 * own archive module: we hold nothing it needs) and is in the repository
 * (backup_wal.c: on a standby the primary archives it), and only then
 * writes the manifest.  Anything that stops it earlier leaves
 * no manifest, so the backup is never listed as usable.
 *
 * A differential or incremental backup loads its base's manifest (the base
 * was chosen with the request, see backup_sql.c) and checks the base's
 * chain first; a resumed backup loads the resume list its interrupted
 * attempt left (backup_chain.h).
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/backend_progress.h"
#include "utils/timestamp.h"

#include "backend/expire_sql.h"
#include "backend/guc.h"
#include "backend/guc_backup.h"
#include "backend/report.h"
#include "backend/shmem.h"
#include "backend/storage_wait.h"
#include "backup_chain.h"
#include "manifest.h"
#include "stanza.h"
#include "storage.h"
#include "wal.h"
#include "worker/backup.h"
#include "worker/backup_copy.h"
#include "worker/backup_wal.h"
#include "worker/backup_walk.h"
#include "worker/block_map.h"
#include "worker/worker.h"

bool
sb_backup_launch(BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;

	sb_worker_describe(&worker, "sb_backup_main", "pg_safebackup backup",
					   BGW_NEVER_RESTART);
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, handle);
}

/* Raise the core's error as ERROR, prefixed with what we were doing. */
static void
fail(const SbError *err, const char *context)
{
	sb_report(ERROR, err, context, NULL);
}

static void
check_cancel(void)
{
	bool		cancel;

	CHECK_FOR_INTERRUPTS();
	LWLockAcquire(sb_shared->lock, LW_SHARED);
	cancel = sb_shared->backup_cancel;
	LWLockRelease(sb_shared->lock);
	if (cancel)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("backup canceled by safebackup.safebackup_cancel()")));
}

static void
set_phase(SbBackupPhase phase, int progress_phase)
{
	sb_backup_set_phase(phase, NULL);
	if (progress_phase > 0)
		pgstat_progress_update_param(PROGRESS_BASEBACKUP_PHASE, progress_phase);
}

static void
lsn_text(XLogRecPtr lsn, char *out, size_t size)
{
	snprintf(out, size, "%X/%X", LSN_FORMAT_ARGS(lsn));
}

static void
store_buffer(SbStorage *st, const SbRepoConfig *cfg, SbManifest *m,
			 const char *relpath, const char *data, size_t len, int flags)
{
	char		path[SB_PATH_MAX];
	SbStoreResult res;
	SbManifestFile f;
	SbError		err;

	sb_backup_file_path(cfg->stanza, m->label, relpath, cfg->compress_type, path);
	if (sb_codec_store_buffer(st, cfg, data, len, path, flags, &res, &err) != SB_OK)
		fail(&err, "could not store backup file");
	memset(&f, 0, sizeof(f));
	f.path = (char *) relpath;
	f.size = res.plain_size;
	f.mtime = (int64) time(NULL);
	f.mode = 0600;
	memcpy(f.digest, res.digest, sizeof(f.digest));
	f.stored_size = res.stored_size;
	if (!sb_manifest_add_file(m, &f))
		elog(ERROR, "could not add \"%s\" to the manifest", relpath);
	m->database_size += res.plain_size;
	m->stored_size += res.stored_size;
}

/* Make the backup's directories, before any copier writes into them. */
static void
make_dirs(SbStorage *st, const SbRepoConfig *cfg, SbManifest *m,
		  List *entries)
{
	ListCell   *lc;
	char		path[SB_PATH_MAX];
	SbError		err;

	foreach(lc, entries)
	{
		SbWalkEntry *e = lfirst(lc);

		if (!e->is_dir)
			continue;
		check_cancel();
		sb_backup_dir(cfg->stanza, m->label, path);
		strlcat(path, "/data/", sizeof(path));
		strlcat(path, e->path, sizeof(path));
		if (sb_storage_mkdir(st, path, &err) != SB_OK)
			fail(&err, "could not create backup directory");
		if (!sb_manifest_add_dir(m, e->path, e->mode))
			elog(ERROR, "could not add \"%s\" to the manifest", e->path);
	}
}

/*
 * Load what this backup may take files from: its base (whose chain must be
 * whole) and the resume list of the attempt it resumes.
 */
static void
load_reuse_sources(SbStorage *st, const SbRepoConfig *cfg, SbManifest *m,
				   const char *base, bool resume, SbReuseSources *src)
{
	SbError		err;

	memset(src, 0, sizeof(*src));
	if (base[0] != '\0')
	{
		src->base = palloc(sizeof(SbManifest));
		if (sb_manifest_load(st, cfg->stanza, base, src->base, &err) != SB_OK)
			sb_report(ERROR, &err, "could not read the manifest of the base backup",
					  "Take a full backup: safebackup_start(type => 'full').");
		if (sb_backup_chain_check(st, cfg->stanza, src->base, &err) != SB_OK)
			sb_report(ERROR, &err, "the base backup's chain is broken",
					  "Take a full backup: safebackup_start(type => 'full').");
		if (src->base->system_identifier != m->system_identifier)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("base backup \"%s\" is of another database system", base)));
		strlcpy(m->base, base, sizeof(m->base));
	}
	if (resume)
	{
		src->resume = palloc(sizeof(SbManifest));
		if (sb_backup_resume_load(st, cfg->stanza, m->label, src->resume, &err) != SB_OK)
		{
			sb_report(LOG, &err, "the interrupted backup's resume list is not usable; every file is copied", NULL);
			pfree(src->resume);
			src->resume = NULL;
		}
		else if (src->resume->compress_type != cfg->compress_type ||
				 src->resume->system_identifier != m->system_identifier)
		{
			ereport(LOG,
					(errmsg("backup \"%s\" was interrupted with other settings; every file is copied",
							m->label)));
			sb_manifest_free(src->resume);
			pfree(src->resume);
			src->resume = NULL;
		}
	}
	sb_reuse_prepare(src);
}

/*
 * Which pages of the relation files changed since the base backup
 * started, from the WAL summaries (PostgreSQL 17 and later); NULL, logged,
 * when they cannot tell: the backup then works at file level.
 */
static SbBlockMap *
load_block_map(const SbManifest *base, const SbBackupRun *run,
			   const char *label)
{
	uint64_t	base_start;
	char	   *why = NULL;
	SbBlockMap *map = NULL;

	if (!sb_lsn_parse(base->start_lsn, &base_start))
		why = psprintf("The base backup's start_lsn \"%s\" is not valid.",
					   base->start_lsn);
	else if (base->timeline != run->start_tli)
		why = psprintf("The base backup started on timeline %u, this one on timeline %u.",
					   base->timeline, run->start_tli);
	else if (base->block_size != SB_BLOCK_SIZE)
		why = pstrdup("The base backup has no block sums.");
	else
		map = sb_block_map_build(run->start_tli, (XLogRecPtr) base_start,
								 run->start_lsn, &why);
	if (map == NULL)
	{
		ereport(LOG,
				(errmsg("base backup \"%s\" copies changed files whole: the WAL summaries cannot tell which blocks changed",
						label),
				 errdetail("%s", why)));
		return NULL;
	}
	{
		uint64		npages;
		uint64		nfiles;

		sb_block_map_counts(map, &npages, &nfiles);
		ereport(LOG,
				(errmsg("base backup \"%s\" copies relation files by their changed blocks",
						label),
				 errdetail("The WAL summaries from %X/%X to %X/%X name %llu changed pages in %llu relation files.",
						   LSN_FORMAT_ARGS((XLogRecPtr) base_start),
						   LSN_FORMAT_ARGS(run->start_lsn),
						   (unsigned long long) npages,
						   (unsigned long long) nfiles)));
	}
	return map;
}

static void
run_backup(const char *label)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	SbStanzaInfo mine;
	SbManifest	m;
	SbBackupRun run;
	SbError		err;
	List	   *entries;
	List	   *tablespaces = NIL;
	ListCell   *lc;
	int64		total = 0;
	int64		nfiles = 0;
	TimestampTz started = GetCurrentTimestamp();
	int			repo;
	SbBackupType type;
	char		base[SB_LABEL_LEN];
	bool		resume;
	SbReuseSources reuse;
	SbCopyCounts counts;

	LWLockAcquire(sb_shared->lock, LW_SHARED);
	repo = sb_shared->backup_repo;
	LWLockRelease(sb_shared->lock);
	if (!sb_guc_repo_config_n(repo, &cfg))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("repository %d is not configured", repo)));
	if (cfg.repo_path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("safebackup.repo_path is not set")));
	if (sb_backend_storage_create(&cfg, &st, &err) != SB_OK ||
		sb_storage_open(st, &err) != SB_OK)
		fail(&err, "could not open the repository");

	mine.format_version = SB_REPO_FORMAT_VERSION;
	mine.system_identifier = GetSystemIdentifier();
	mine.pg_version = PG_VERSION_NUM / 10000;
	if (sb_stanza_ensure(st, cfg.stanza, &mine, &err) != SB_OK)
		fail(&err, "could not use the stanza");

	sb_manifest_init(&m);
	strlcpy(m.label, label, sizeof(m.label));
	m.system_identifier = mine.system_identifier;
	m.pg_version = mine.pg_version;
	m.compress_type = cfg.compress_type;
	/* the time the backup was requested at, which its label shows */
	LWLockAcquire(sb_shared->lock, LW_SHARED);
	m.start_time = (int64) timestamptz_to_time_t(sb_shared->backup_started);
	type = (SbBackupType) sb_shared->backup_type;
	strlcpy(base, sb_shared->backup_base, sizeof(base));
	resume = sb_shared->backup_resume;
	LWLockRelease(sb_shared->lock);
	strlcpy(m.type, sb_backup_type_name(type), sizeof(m.type));
	load_reuse_sources(st, &cfg, &m, base, resume, &reuse);

	pgstat_progress_start_command(PROGRESS_COMMAND_BASEBACKUP, InvalidOid);
	set_phase(SB_BACKUP_CHECKPOINT, PROGRESS_BASEBACKUP_PHASE_WAIT_CHECKPOINT);

	/* on any exit from here on, the server forgets the backup */
	register_persistent_abort_backup_handler();
	sb_backup_start(label, &run);
	m.timeline = run.start_tli;
	strlcpy(m.backup_from, run.from_standby ? "standby" : "primary",
			sizeof(m.backup_from));
	if (run.from_standby)
		ereport(LOG,
				(errmsg("base backup \"%s\" is taken on a standby, from %X/%X on timeline %u",
						label, LSN_FORMAT_ARGS(run.start_lsn), run.start_tli)));
	lsn_text(run.start_lsn, m.start_lsn, sizeof(m.start_lsn));
	if (reuse.base != NULL)
		reuse.blocks = load_block_map(reuse.base, &run, label);

	pgstat_progress_update_param(PROGRESS_BASEBACKUP_PHASE,
								 PROGRESS_BASEBACKUP_PHASE_ESTIMATE_BACKUP_SIZE);
	entries = sb_backup_walk(&tablespaces);
	foreach(lc, entries)
	{
		SbWalkEntry *e = lfirst(lc);

		if (!e->is_dir)
		{
			total += e->size;
			nfiles++;
		}
	}
	foreach(lc, tablespaces)
	{
		SbWalkTablespace *ts = lfirst(lc);

		if (!sb_manifest_add_tablespace(&m, ts->oid, ts->path))
			elog(ERROR, "could not add tablespace %u to the manifest", ts->oid);
	}
	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->backup_bytes_total = total;
	sb_shared->backup_files_total = nfiles;
	LWLockRelease(sb_shared->lock);
	{
		const int	index[] = {PROGRESS_BASEBACKUP_BACKUP_TOTAL,
			PROGRESS_BASEBACKUP_TBLSPC_TOTAL};
		const int64 val[] = {total, list_length(tablespaces) + 1};

		pgstat_progress_update_multi_param(2, index, val);
	}

	set_phase(SB_BACKUP_COPYING, PROGRESS_BASEBACKUP_PHASE_STREAM_BACKUP);
	make_dirs(st, &cfg, &m, entries);
	sb_copy_files(st, &cfg, &m, entries, run.start_lsn, sb_backup_workers,
				  &reuse, &counts);
	m.resumed_files = counts.resumed;
	m.read_size = counts.bytes_read;
	pgstat_progress_update_param(PROGRESS_BASEBACKUP_TBLSPC_STREAMED,
								 list_length(tablespaces) + 1);

	/* the backup is consistent only with the WAL up to its stop point */
	set_phase(SB_BACKUP_WAITING_WAL, PROGRESS_BASEBACKUP_PHASE_WAIT_WAL_ARCHIVE);
	/*
	 * On a primary the stop switches WAL; then we wait for the repository
	 * ourselves, not with PostgreSQL's wait for the archiver, which looks
	 * once a second (a standby cannot switch WAL at all).
	 */
	sb_backup_stop(&run, false);
	lsn_text(run.stop_lsn, m.stop_lsn, sizeof(m.stop_lsn));
	m.stop_timeline = run.stop_tli;
	m.stop_time = (int64) time(NULL);
	check_cancel();
	sb_backup_wait_wal(st, cfg.stanza, &run, &m, check_cancel);

	/* every file the copiers stored, durable at once */
	if (sb_storage_sync(st, &err) != SB_OK)
		fail(&err, "could not flush the backup's files");
	store_buffer(st, &cfg, &m, "backup_label", run.label_file->data,
				 run.label_file->len, resume ? SB_WRITE_REPLACE : SB_WRITE_UNIQUE_NAME);
	if (run.tablespace_map->len > 0)
		store_buffer(st, &cfg, &m, "tablespace_map", run.tablespace_map->data,
					 run.tablespace_map->len, resume ? SB_WRITE_REPLACE : SB_WRITE_UNIQUE_NAME);

	/* last: the manifest makes it a backup */
	check_cancel();
	set_phase(SB_BACKUP_MANIFEST, -1);
	if (sb_manifest_save(st, &cfg, &m, &err) != SB_OK)
		fail(&err, "could not write the backup manifest");

	ereport(LOG,
			(errmsg("base backup \"%s\" completed in repository %d: %d files, %lld bytes (%lld stored) in %.1f s",
					label, repo, m.nfiles, (long long) m.database_size,
					(long long) m.stored_size,
					(double) (GetCurrentTimestamp() - started) / 1000000.0),
			 errdetail("Type %s%s%s, start %s, stop %s, WAL %s to %s.",
					   m.type, m.base[0] ? ", base " : "", m.base,
					   m.start_lsn, m.stop_lsn, m.start_wal, m.stop_wal)));
	ereport(LOG,
			(errmsg("base backup \"%s\" files: %llu copied, %llu by changed blocks, %llu referenced in the base backup, %llu reused from the interrupted attempt",
					label, (unsigned long long) counts.copied,
					(unsigned long long) counts.blocks,
					(unsigned long long) counts.referenced,
					(unsigned long long) counts.resumed),
			 counts.blocks > 0 ?
			 errdetail("Read %llu bytes from the data directory, stored %llu bytes (%llu bytes of changed pages before compression).",
					   (unsigned long long) counts.bytes_read,
					   (unsigned long long) m.stored_size,
					   (unsigned long long) counts.chunk_bytes) :
			 errdetail("Read %llu bytes from the data directory, stored %llu bytes.",
					   (unsigned long long) counts.bytes_read,
					   (unsigned long long) m.stored_size)));

	if (m.checksum_failures > 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg_plural("base backup \"%s\" found %llu page with a wrong checksum",
							   "base backup \"%s\" found %llu pages with a wrong checksum",
							   (unsigned long) m.checksum_failures,
							   label, (unsigned long long) m.checksum_failures),
				 errhint("The pages are listed in the server log; the backup holds them as read.")));

	/* retention: a failure here leaves this backup complete and usable */
	{
		SbExpireResult res;

		if (sb_server_expire(st, &cfg, &res, &err) != SB_OK)
			sb_report(WARNING, &err, "could not expire old backups", NULL);
		sb_expire_result_free(&res);
	}

	sb_manifest_free(&m);
	sb_storage_close(st);
	sb_storage_free(st);
	pgstat_progress_end_command();
}

/* The worker is leaving: whatever happened, no backup is running any more. */
static void
backup_worker_exit(int code, Datum arg)
{
	bool		mine;

	LWLockAcquire(sb_shared->lock, LW_SHARED);
	mine = sb_shared->backup_running && sb_shared->backup_pid == MyProcPid;
	LWLockRelease(sb_shared->lock);
	/* the copiers stop before the backup is reported as over */
	sb_copy_terminate_workers();
	if (mine)
		sb_backup_set_phase(SB_BACKUP_FAILED, "the backup worker exited before the backup completed");
}

void
sb_backup_main(Datum main_arg)
{
	char		label[SB_BACKUP_LABEL_LEN];
	MemoryContext oldcxt;
	Oid			dboid;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* a database only to read the WAL summaries (sb_backup_request) */
	LWLockAcquire(sb_shared->lock, LW_SHARED);
	dboid = sb_shared->backup_dboid;
	LWLockRelease(sb_shared->lock);
	if (OidIsValid(dboid))
		BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid,
												  BGWORKER_BYPASS_ALLOWCONN);
	else
		BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	LWLockAcquire(sb_shared->lock, LW_EXCLUSIVE);
	sb_shared->backup_pid = MyProcPid;
	strlcpy(label, sb_shared->backup_label, sizeof(label));
	LWLockRelease(sb_shared->lock);
	before_shmem_exit(backup_worker_exit, (Datum) 0);

	ereport(LOG, (errmsg("base backup \"%s\" started", label)));
	oldcxt = CurrentMemoryContext;
	PG_TRY();
	{
		run_backup(label);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		/* no copier may write on once the backup is given up */
		sb_copy_terminate_workers();
		sb_backup_set_phase(SB_BACKUP_FAILED, edata->message);
		PG_RE_THROW();
	}
	PG_END_TRY();

	sb_backup_set_phase(SB_BACKUP_DONE, NULL);
	proc_exit(0);
}
