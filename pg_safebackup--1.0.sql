/* pg_safebackup--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_safebackup" to load this file. \quit

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

COMMENT ON FUNCTION safebackup_status() IS
	'state of the pg_safebackup launcher, of WAL archiving since server start, of the current or last base backup, and the next scheduled backup';

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
	OUT checksum_failures bigint)
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
