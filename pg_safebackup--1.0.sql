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
	OUT next_scheduled_backup timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'safebackup_status'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_status() IS
	'state of the pg_safebackup launcher, of WAL archiving since server start, of the current or last base backup, and the next scheduled backup';

REVOKE EXECUTE ON FUNCTION safebackup_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup_status() TO pg_monitor;

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
	OUT file_count integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'safebackup_backups'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_backups() IS
	'the complete backups in the repository, oldest first';

REVOKE EXECUTE ON FUNCTION safebackup_start(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION safebackup_cancel() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION safebackup_backups() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup_backups() TO pg_monitor;
