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
	OUT stored_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'safebackup_status'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_status() IS
	'state of the pg_safebackup launcher and of WAL archiving since server start';

REVOKE EXECUTE ON FUNCTION safebackup_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup_status() TO pg_monitor;
