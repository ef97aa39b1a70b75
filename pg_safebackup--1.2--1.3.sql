/* pg_safebackup--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_safebackup UPDATE TO '1.3'" to load this file. \quit

-- 1.3: repositories that fall behind (safebackup.archive_repo_hold).  One
-- row per repository WAL is archived into: whether it fails or is behind,
-- and the WAL files it misses.
CREATE FUNCTION safebackup.safebackup_archive_repos(
	OUT repo integer,
	OUT configured boolean,
	OUT state text,
	OUT failing_since timestamptz,
	OUT missed_wal bigint,
	OUT oldest_missed_wal text,
	OUT newest_missed_wal text,
	OUT caught_up_wal bigint,
	OUT last_error text,
	OUT last_error_time timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'safebackup_archive_repos'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup.safebackup_archive_repos() IS
	'each repository WAL is archived into: current, failing or behind, and the WAL files it misses (see the view safebackup.archive_repositories)';

REVOKE EXECUTE ON FUNCTION safebackup.safebackup_archive_repos() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION safebackup.safebackup_archive_repos() TO pg_monitor;

CREATE VIEW safebackup.archive_repositories AS
SELECT r.repo,
       r.configured,
       r.state,
       r.failing_since,
       r.missed_wal,
       r.oldest_missed_wal,
       r.newest_missed_wal,
       r.caught_up_wal,
       r.last_error,
       r.last_error_time
  FROM safebackup.safebackup_archive_repos() r;

COMMENT ON VIEW safebackup.archive_repositories IS
	'each repository WAL is archived into (configured, or behind with a record of missed files): current, failing, or behind and catching up (safebackup.archive_repo_hold)';
COMMENT ON COLUMN safebackup.archive_repositories.repo IS 'the repository: 1 for safebackup.repo_*, N for safebackup.repoN_*';
COMMENT ON COLUMN safebackup.archive_repositories.configured IS 'false for a repository that is behind but no longer configured: its record is kept until it is configured again';
COMMENT ON COLUMN safebackup.archive_repositories.state IS 'current (has every archived file), failing (its last push failed; it holds archiving back) or behind (WAL files are archived without it and copied into it later)';
COMMENT ON COLUMN safebackup.archive_repositories.failing_since IS 'the first failure of the pushes into it that failed in a row (NULL after a success)';
COMMENT ON COLUMN safebackup.archive_repositories.missed_wal IS 'WAL files archived without it and not copied into it yet';
COMMENT ON COLUMN safebackup.archive_repositories.oldest_missed_wal IS 'the next of them to copy';
COMMENT ON COLUMN safebackup.archive_repositories.newest_missed_wal IS 'the last of them recorded';
COMMENT ON COLUMN safebackup.archive_repositories.caught_up_wal IS 'WAL files the catch-up worker copied into it since the server started';
COMMENT ON COLUMN safebackup.archive_repositories.last_error IS 'why the last copy into it failed (NULL after a success)';
COMMENT ON COLUMN safebackup.archive_repositories.last_error_time IS 'when';

-- safebackup.archiving counts them
CREATE OR REPLACE VIEW safebackup.archiving AS
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
       s.last_wal_gap,
       b.repositories_behind,
       b.missed_wal
  FROM safebackup.safebackup_status() s,
       safebackup.safebackup_archive_lag() l,
       (SELECT (count(*) FILTER (WHERE p.pid IS NOT NULL))::integer AS push_workers,
               coalesce(sum(p.pushed_count), 0)::bigint AS pushed_ahead_count
          FROM safebackup.safebackup_push_workers() p) w,
       (SELECT (count(*) FILTER (WHERE r.state = 'behind'))::integer AS repositories_behind,
               coalesce(sum(r.missed_wal), 0)::bigint AS missed_wal
          FROM safebackup.safebackup_archive_repos() r) b;

COMMENT ON COLUMN safebackup.archiving.repositories_behind IS 'repositories that fell behind (safebackup.archive_repo_hold): WAL files are archived without them and copied into them later';
COMMENT ON COLUMN safebackup.archiving.missed_wal IS 'WAL files those repositories miss, all together (safebackup.archive_repositories)';

-- pg_monitor's, like the other views and the function behind it
GRANT SELECT ON safebackup.archive_repositories TO pg_monitor;
