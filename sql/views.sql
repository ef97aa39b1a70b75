--
-- The views in schema safebackup: every view and column commented, what
-- each shows after a WAL switch and a backup, who may read them, and the
-- functions still reachable unqualified through search_path
--
\getenv abs_builddir PG_ABS_BUILDDIR
SELECT :'abs_builddir' || '/tmp_check' AS repo \gset

ALTER SYSTEM SET safebackup.repo_path = :'repo';
ALTER SYSTEM SET safebackup.stanza = 'views';
SELECT pg_reload_conf();
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN current_setting('safebackup.stanza') = 'views';
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

-- the extension lives in its schema
SELECT extnamespace::regnamespace AS schema, extrelocatable FROM pg_extension
 WHERE extname = 'pg_safebackup';

-- the views and their columns
SELECT table_name, string_agg(column_name, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
 WHERE table_schema = 'safebackup'
 GROUP BY table_name
 ORDER BY table_name;

-- nothing without a comment: views, their columns, functions
SELECT c.relname AS uncommented_view
  FROM pg_class c
 WHERE c.relnamespace = 'safebackup'::regnamespace AND c.relkind = 'v'
   AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT c.relname, a.attname AS uncommented_column
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE c.relnamespace = 'safebackup'::regnamespace AND c.relkind = 'v'
   AND col_description(c.oid, a.attnum) IS NULL;
SELECT p.oid::regprocedure AS uncommented_function
  FROM pg_proc p
 WHERE p.pronamespace = 'safebackup'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL;

-- a completed segment is archived; archiving shows it and measures the lag
CREATE FUNCTION views_wait_archived(seg text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..600 LOOP
		IF (SELECT last_archived_wal >= seg FROM safebackup.archiving) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END
$$;
SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS seg \gset
SELECT pg_switch_wal() IS NOT NULL AS switched;
SELECT views_wait_archived(:'seg');
SELECT last_archived_time IS NOT NULL AS has_time,
       archived_count > 0 AS counted,
       pending_files >= 0 AS pending_counted,
       current_lsn <= pg_current_wal_insert_lsn() AS position,
       lag_bytes >= 0 AS lag_bytes_known,
       lag_seconds >= 0 AS lag_seconds_known,
       push_workers >= 0 AS push_workers_counted,
       pushed_ahead_count >= 0 AS pushed_counted,
       repositories_behind, missed_wal
  FROM safebackup.archiving;

-- one repository, current: nothing missed
SELECT repo, configured, state, failing_since, missed_wal, oldest_missed_wal,
       caught_up_wal, last_error
  FROM safebackup.archive_repositories;

-- the repository: this cluster's stanza and the WAL just archived
SELECT repo_type, location = :'repo' AS location_is_repo_path, stanza, mode,
       reachable, encryption,
       system_identifier = (SELECT system_identifier FROM pg_control_system()) AS same_cluster,
       pg_version = current_setting('server_version_num')::int / 10000 AS same_version,
       wal_first <= :'seg' AND wal_last >= :'seg' AS holds_segment,
       error
  FROM safebackup.repository;

-- a backup: listed by backups (as by the function), shown by backup_progress
SELECT safebackup.safebackup_start(wait => true) AS label \gset
-- (checksum_failures is NULL without data checksums, 0 with: 18's initdb
-- turns them on)
SELECT label = :'label' AS same_label, type, base, status,
       coalesce(checksum_failures, 0) AS checksum_failures,
       stop_time >= start_time AS times, stop_lsn >= start_lsn AS lsns,
       file_count > 0 AS has_files, database_size > 0 AS has_size
  FROM safebackup.backups;
SELECT count(*) AS differs_from_function FROM (
	SELECT label, type, status, start_time, stop_time, start_lsn, stop_lsn,
	       start_wal, stop_wal, database_size, stored_size, file_count,
	       checksum_failures, base
	  FROM safebackup.backups
	EXCEPT
	SELECT * FROM safebackup.safebackup_backups()) d;
SELECT label = :'label' AS same_label, phase, running, percent_done,
       bytes_done = bytes_total AS all_bytes, files_done = files_total AS all_files,
       stop_time IS NOT NULL AS stopped, error
  FROM safebackup.backup_progress;

-- the launcher, as pg_stat_activity lists it
SELECT l.pid = a.pid AS launcher_listed, l.state, l.next_scheduled_backup
  FROM safebackup.launcher l JOIN pg_stat_activity a ON a.pid = l.pid;

-- a stanza that does not exist: reachable, nothing known about it
ALTER SYSTEM SET safebackup.stanza = 'views_none';
SELECT pg_reload_conf();
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN current_setting('safebackup.stanza') = 'views_none';
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT stanza, reachable, encryption, system_identifier, wal_first, wal_last, error
  FROM safebackup.repository;
SELECT count(*) AS backups FROM safebackup.backups;

-- no repository at all: a row that says so, not an error
ALTER SYSTEM RESET safebackup.repo_path;
SELECT pg_reload_conf();
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN current_setting('safebackup.repo_path') = '';
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT repo_type, location, mode, reachable, error FROM safebackup.repository;

-- pg_monitor reads every view; a role without it reads none
CREATE ROLE sb_views_user;
CREATE ROLE sb_views_monitor IN ROLE pg_monitor;
SET ROLE sb_views_user;
SELECT count(*) FROM safebackup.archiving;
SELECT count(*) FROM safebackup.archive_repositories;
SELECT count(*) FROM safebackup.launcher;
SELECT count(*) FROM safebackup.backup_progress;
SELECT count(*) FROM safebackup.backups;
SELECT count(*) FROM safebackup.repository;
RESET ROLE;
SET ROLE sb_views_monitor;
SELECT count(*) FROM safebackup.archiving;
SELECT count(*) FROM safebackup.archive_repositories;
SELECT count(*) FROM safebackup.launcher;
SELECT count(*) FROM safebackup.backup_progress;
SELECT reachable FROM safebackup.repository;
RESET ROLE;
DROP ROLE sb_views_user;
DROP ROLE sb_views_monitor;

-- with safebackup on search_path the functions and views need no schema
SET search_path = public, safebackup;
SELECT launcher_state FROM safebackup_status();
SELECT state FROM launcher;
RESET search_path;

-- safebackup.archive_lag_warning: seconds, 0 (the default) is off
SHOW safebackup.archive_lag_warning;
-- its range and unit (the refusal's words differ between versions)
SELECT unit, min_val, max_val, context FROM pg_settings
 WHERE name = 'safebackup.archive_lag_warning';
ALTER SYSTEM SET safebackup.archive_lag_warning = '90min';
SELECT pg_reload_conf();
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN current_setting('safebackup.archive_lag_warning') = '90min';
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SHOW safebackup.archive_lag_warning;
ALTER SYSTEM RESET safebackup.archive_lag_warning;

ALTER SYSTEM RESET safebackup.stanza;
ALTER SYSTEM RESET safebackup.repo_path;
SELECT pg_reload_conf();
DROP FUNCTION views_wait_archived(text);
