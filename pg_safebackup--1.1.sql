/* pg_safebackup--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_safebackup" to load this file. \quit

-- Everything is created in schema safebackup (pg_safebackup.control), which
-- CREATE EXTENSION creates when it does not exist.

CREATE FUNCTION safebackup_status(
	OUT launcher_pid integer,
	OUT launcher_state text,
	OUT last_archived_wal text,
	OUT last_archived_time timestamptz,
	OUT last_failed_wal text,
	OUT last_error text,
	OUT last_error_time timestamptz,
	OUT archived_count bigint,
	OUT failed_count bigint,
	OUT archived_bytes bigint,
	OUT stored_bytes bigint,
	OUT backup_label text,
	OUT backup_phase text,
	OUT backup_started timestamptz,
	OUT backup_finished timestamptz,
	OUT backup_bytes_done bigint,
	OUT backup_bytes_total bigint,
	OUT backup_files_done bigint,
	OUT backup_files_total bigint,
	OUT backup_error text,
	OUT next_scheduled_backup timestamptz,
	OUT wal_gaps_repaired bigint,
	OUT last_wal_gap text,
	OUT backup_checksum_failures bigint,
	OUT repository_mode text)
RETURNS record
AS 'MODULE_PATHNAME', 'safebackup_status'
LANGUAGE C STRICT VOLATILE;

REVOKE EXECUTE ON FUNCTION safebackup_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup_status() TO pg_monitor;

CREATE FUNCTION safebackup_push_workers(
	OUT worker integer,
	OUT pid integer,
	OUT state text,
	OUT current_wal text,
	OUT pushed_count bigint,
	OUT failed_count bigint,
	OUT last_pushed_time timestamptz,
	OUT last_error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'safebackup_push_workers'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_push_workers() IS
	'state of each WAL push-ahead worker (safebackup.archive_push_workers) since it started: files pushed ahead, failures, the file being pushed';

REVOKE EXECUTE ON FUNCTION safebackup_push_workers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup_push_workers() TO pg_monitor;

CREATE FUNCTION safebackup_start(type text DEFAULT 'full', wait boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'safebackup_start'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_start(text, boolean) IS
	'take a base backup into the repository; returns its label';

CREATE FUNCTION safebackup_cancel()
RETURNS boolean
AS 'MODULE_PATHNAME', 'safebackup_cancel'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_cancel() IS
	'stop the running base backup; returns false when none was running';

CREATE FUNCTION safebackup_backups(
	OUT label text,
	OUT type text,
	OUT status text,
	OUT start_time timestamptz,
	OUT stop_time timestamptz,
	OUT start_lsn pg_lsn,
	OUT stop_lsn pg_lsn,
	OUT start_wal text,
	OUT stop_wal text,
	OUT database_size bigint,
	OUT stored_size bigint,
	OUT file_count integer,
	OUT checksum_failures bigint,
	OUT base text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'safebackup_backups'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_backups() IS
	'the complete backups in the repository, oldest first';

REVOKE EXECUTE ON FUNCTION safebackup_start(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION safebackup_cancel() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION safebackup_backups() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup_backups() TO pg_monitor;

CREATE FUNCTION safebackup_expire(
	OUT retention_full integer,
	OUT backups_kept integer,
	OUT expired_backups text[],
	OUT removed_incomplete text[],
	OUT wal_removed bigint,
	OUT wal_first_removed text,
	OUT wal_last_removed text,
	OUT wal_kept_from text,
	OUT temp_files_removed integer)
RETURNS record
AS 'MODULE_PATHNAME', 'safebackup_expire'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_expire() IS
	'remove backups beyond safebackup.retention_full, the WAL only they needed, and leftovers of interrupted backups';

REVOKE EXECUTE ON FUNCTION safebackup_expire() FROM PUBLIC;

CREATE FUNCTION safebackup_verify(
	label text DEFAULT NULL,
	OUT backup_label text,
	OUT status text,
	OUT detail text,
	OUT files_checked integer,
	OUT bytes_checked bigint,
	OUT wal_first text,
	OUT wal_last text,
	OUT wal_checked integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'safebackup_verify'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

COMMENT ON FUNCTION safebackup_verify(text) IS
	're-read every file of the backups (all, or the one labeled) and their WAL, and report per backup ok or what is wrong';

REVOKE EXECUTE ON FUNCTION safebackup_verify(text) FROM PUBLIC;

-- ----------------------------------------------------------------
-- 1.1: views a DBA can query and join, and the functions behind them.
-- safebackup_status() stays for compatibility; the views split it by
-- subject.  Names are qualified: the update script runs with the schema
-- the extension had before (1.0) on its search_path.
-- ----------------------------------------------------------------

COMMENT ON FUNCTION safebackup.safebackup_status() IS
	'kept for compatibility: every state in one row; the views safebackup.archiving, safebackup.backup_progress, safebackup.launcher and safebackup.repository show the same split by subject';

CREATE FUNCTION safebackup.safebackup_archive_lag(
	OUT current_lsn pg_lsn,
	OUT pending_files integer,
	OUT oldest_pending_wal text,
	OUT oldest_pending_time timestamptz,
	OUT lag_bytes bigint,
	OUT lag_seconds double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'safebackup_archive_lag'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup.safebackup_archive_lag() IS
	'how far WAL archiving lags behind the current WAL position, in bytes and seconds (see the view safebackup.archiving)';

REVOKE EXECUTE ON FUNCTION safebackup.safebackup_archive_lag() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup.safebackup_archive_lag() TO pg_monitor;

CREATE FUNCTION safebackup.safebackup_repository(
	OUT repo_type text,
	OUT location text,
	OUT stanza text,
	OUT mode text,
	OUT reachable boolean,
	OUT encryption text,
	OUT system_identifier bigint,
	OUT pg_version integer,
	OUT wal_first text,
	OUT wal_last text,
	OUT error text)
RETURNS record
AS 'MODULE_PATHNAME', 'safebackup_repository'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup.safebackup_repository() IS
	'the repository of the safebackup.* settings as it answers now: its stanza, encryption and WAL range (see the view safebackup.repository)';

REVOKE EXECUTE ON FUNCTION safebackup.safebackup_repository() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup.safebackup_repository() TO pg_monitor;

-- WAL archiving
CREATE VIEW safebackup.archiving AS
SELECT s.last_archived_wal,
       s.last_archived_time,
       s.last_failed_wal,
       s.last_error_time AS last_failed_time,
       s.last_error,
       s.archived_count,
       s.failed_count,
       s.archived_bytes,
       s.stored_bytes,
       l.pending_files,
       l.oldest_pending_wal,
       l.oldest_pending_time,
       l.current_lsn,
       l.lag_bytes,
       l.lag_seconds,
       w.push_workers,
       w.pushed_ahead_count,
       s.wal_gaps_repaired,
       s.last_wal_gap
  FROM safebackup.safebackup_status() s,
       safebackup.safebackup_archive_lag() l,
       (SELECT (count(*) FILTER (WHERE p.pid IS NOT NULL))::integer AS push_workers,
               coalesce(sum(p.pushed_count), 0)::bigint AS pushed_ahead_count
          FROM safebackup.safebackup_push_workers() p) w;

COMMENT ON VIEW safebackup.archiving IS
	'WAL archiving by pg_safebackup since the server started: last archived and failed file, files waiting, and the archive lag (recovery point objective)';
COMMENT ON COLUMN safebackup.archiving.last_archived_wal IS 'last WAL file archived since the server started';
COMMENT ON COLUMN safebackup.archiving.last_archived_time IS 'when last_archived_wal was archived';
COMMENT ON COLUMN safebackup.archiving.last_failed_wal IS 'last WAL file whose archiving failed since the server started';
COMMENT ON COLUMN safebackup.archiving.last_failed_time IS 'when archiving last_failed_wal failed';
COMMENT ON COLUMN safebackup.archiving.last_error IS 'the error of that failure';
COMMENT ON COLUMN safebackup.archiving.archived_count IS 'WAL files archived since the server started';
COMMENT ON COLUMN safebackup.archiving.failed_count IS 'failed archive attempts since the server started';
COMMENT ON COLUMN safebackup.archiving.archived_bytes IS 'bytes of WAL newly stored in the repository, before compression';
COMMENT ON COLUMN safebackup.archiving.stored_bytes IS 'bytes written to the repository for them, after compression and encryption';
COMMENT ON COLUMN safebackup.archiving.pending_files IS 'WAL files completed and waiting to be archived (.ready in pg_wal/archive_status)';
COMMENT ON COLUMN safebackup.archiving.oldest_pending_wal IS 'the waiting file completed first';
COMMENT ON COLUMN safebackup.archiving.oldest_pending_time IS 'when it was completed';
COMMENT ON COLUMN safebackup.archiving.current_lsn IS 'the current WAL insert position (the replay position during recovery)';
COMMENT ON COLUMN safebackup.archiving.lag_bytes IS 'WAL written that is not in the repository yet: current_lsn minus the start of the oldest segment not archived';
COMMENT ON COLUMN safebackup.archiving.lag_seconds IS 'archive lag: seconds since the oldest waiting file was completed, or, when none waits but WAL was written after the last archived segment, since that segment was archived; 0 when everything written is archived; NULL when unknown';
COMMENT ON COLUMN safebackup.archiving.push_workers IS 'push-ahead workers running (safebackup.archive_push_workers)';
COMMENT ON COLUMN safebackup.archiving.pushed_ahead_count IS 'WAL files the running push-ahead workers pushed ahead of the archiver';
COMMENT ON COLUMN safebackup.archiving.wal_gaps_repaired IS 'completed WAL segments found without archive status and queued for archiving';
COMMENT ON COLUMN safebackup.archiving.last_wal_gap IS 'the last of those segments';

-- the launcher
CREATE VIEW safebackup.launcher AS
SELECT s.launcher_pid AS pid,
       s.launcher_state AS state,
       s.next_scheduled_backup
  FROM safebackup.safebackup_status() s;

COMMENT ON VIEW safebackup.launcher IS
	'the pg_safebackup launcher: the background worker that starts scheduled backups, keeps the push-ahead workers running, repairs WAL gaps and watches the archive lag';
COMMENT ON COLUMN safebackup.launcher.pid IS 'process ID of the launcher (NULL when it is not running)';
COMMENT ON COLUMN safebackup.launcher.state IS 'starting, idle or stopped';
COMMENT ON COLUMN safebackup.launcher.next_scheduled_backup IS 'when safebackup.backup_schedule starts the next backup (NULL: no schedule)';

-- the running backup (or the last one since the server started)
CREATE VIEW safebackup.backup_progress AS
SELECT s.backup_label AS label,
       s.backup_phase AS phase,
       s.backup_phase NOT IN ('done', 'failed', 'canceled') AS running,
       s.backup_started AS start_time,
       s.backup_finished AS stop_time,
       s.backup_bytes_done AS bytes_done,
       s.backup_bytes_total AS bytes_total,
       round(100.0 * s.backup_bytes_done / nullif(s.backup_bytes_total, 0), 1) AS percent_done,
       s.backup_files_done AS files_done,
       s.backup_files_total AS files_total,
       s.backup_checksum_failures AS checksum_failures,
       s.backup_error AS error
  FROM safebackup.safebackup_status() s
 WHERE s.backup_label IS NOT NULL;

COMMENT ON VIEW safebackup.backup_progress IS
	'the running base backup, or the last one since the server started when none runs; no row when none has run';
COMMENT ON COLUMN safebackup.backup_progress.label IS 'the backup''s label (safebackup.backups.label once complete)';
COMMENT ON COLUMN safebackup.backup_progress.phase IS 'starting, waiting for checkpoint, copying files, waiting for WAL archiving, writing manifest, done, failed or canceled';
COMMENT ON COLUMN safebackup.backup_progress.running IS 'true until the backup is done, failed or canceled';
COMMENT ON COLUMN safebackup.backup_progress.start_time IS 'when the backup was requested';
COMMENT ON COLUMN safebackup.backup_progress.stop_time IS 'when it ended (NULL while running)';
COMMENT ON COLUMN safebackup.backup_progress.bytes_done IS 'bytes of the cluster copied so far';
COMMENT ON COLUMN safebackup.backup_progress.bytes_total IS 'bytes of the cluster to copy (known once the file list is made)';
COMMENT ON COLUMN safebackup.backup_progress.percent_done IS '100 * bytes_done / bytes_total';
COMMENT ON COLUMN safebackup.backup_progress.files_done IS 'files copied so far';
COMMENT ON COLUMN safebackup.backup_progress.files_total IS 'files to copy';
COMMENT ON COLUMN safebackup.backup_progress.checksum_failures IS 'pages found with a wrong checksum so far';
COMMENT ON COLUMN safebackup.backup_progress.error IS 'why the backup failed';

-- the backups in the repository
CREATE VIEW safebackup.backups AS
SELECT b.label,
       b.type,
       b.base,
       b.status,
       b.start_time,
       b.stop_time,
       b.start_lsn,
       b.stop_lsn,
       b.start_wal,
       b.stop_wal,
       b.database_size,
       b.stored_size,
       b.file_count,
       b.checksum_failures
  FROM safebackup.safebackup_backups() b;

COMMENT ON VIEW safebackup.backups IS
	'one row per complete backup in the repository, oldest first (read from the repository at each query)';
COMMENT ON COLUMN safebackup.backups.label IS 'the backup''s label: its start time in UTC and its type letter (F: full, D: differential, I: incremental)';
COMMENT ON COLUMN safebackup.backups.type IS 'full, diff (differential: the files changed since the newest full backup) or incr (incremental: the files changed since the newest backup)';
COMMENT ON COLUMN safebackup.backups.base IS 'the backup an incremental or differential backup builds on; NULL for a full backup';
COMMENT ON COLUMN safebackup.backups.status IS 'complete: the backup has its manifest (incomplete backups are not listed)';
COMMENT ON COLUMN safebackup.backups.start_time IS 'when the backup started';
COMMENT ON COLUMN safebackup.backups.stop_time IS 'when it stopped: the earliest time a restore of it can recover to';
COMMENT ON COLUMN safebackup.backups.start_lsn IS 'WAL position of the backup start checkpoint';
COMMENT ON COLUMN safebackup.backups.stop_lsn IS 'WAL position where the backup stopped';
COMMENT ON COLUMN safebackup.backups.start_wal IS 'first WAL segment a restore needs';
COMMENT ON COLUMN safebackup.backups.stop_wal IS 'last WAL segment a restore needs to become consistent';
COMMENT ON COLUMN safebackup.backups.database_size IS 'bytes of the cluster copied';
COMMENT ON COLUMN safebackup.backups.stored_size IS 'bytes stored in the repository, after compression and encryption';
COMMENT ON COLUMN safebackup.backups.file_count IS 'files in the backup';
COMMENT ON COLUMN safebackup.backups.checksum_failures IS 'pages with a wrong checksum found while copying (NULL: the cluster has no data checksums)';

-- the repository
CREATE VIEW safebackup.repository AS
SELECT r.repo_type,
       r.location,
       r.stanza,
       r.mode,
       r.reachable,
       r.encryption,
       r.system_identifier,
       r.pg_version,
       r.wal_first,
       r.wal_last,
       r.error
  FROM safebackup.safebackup_repository() r;

COMMENT ON VIEW safebackup.repository IS
	'the repository of the safebackup.* settings, asked at each query: its mode, the stanza''s encryption and cluster, and the WAL range it holds';
COMMENT ON COLUMN safebackup.repository.repo_type IS 'posix, sftp or tls (safebackup.repo_type)';
COMMENT ON COLUMN safebackup.repository.location IS 'where it is: a directory, sftp://user@host:port/path or tls://host:port/path';
COMMENT ON COLUMN safebackup.repository.stanza IS 'this cluster''s stanza (safebackup.stanza)';
COMMENT ON COLUMN safebackup.repository.mode IS 'what this host may do there: admin, append-only, or unknown (an SFTP server does not say)';
COMMENT ON COLUMN safebackup.repository.reachable IS 'whether the repository could be opened just now';
COMMENT ON COLUMN safebackup.repository.encryption IS 'the stanza''s cipher type (none or aes-256-gcm); NULL until the stanza exists';
COMMENT ON COLUMN safebackup.repository.system_identifier IS 'the system identifier of the cluster the stanza belongs to';
COMMENT ON COLUMN safebackup.repository.pg_version IS 'the PostgreSQL major version the stanza was created for';
COMMENT ON COLUMN safebackup.repository.wal_first IS 'oldest WAL segment stored (lowest timeline first)';
COMMENT ON COLUMN safebackup.repository.wal_last IS 'newest WAL segment stored (highest timeline)';
COMMENT ON COLUMN safebackup.repository.error IS 'why the repository or the stanza could not be read';

-- who may read: the views are pg_monitor's like the functions behind
-- them; the schema is usable by everyone (every object in it has its own
-- grants, and roles granted EXECUTE on a function must reach it)
GRANT USAGE ON SCHEMA safebackup TO PUBLIC;
GRANT SELECT ON safebackup.archiving, safebackup.launcher,
	safebackup.backup_progress, safebackup.backups, safebackup.repository
	TO pg_monitor;
