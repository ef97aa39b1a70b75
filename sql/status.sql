--
-- safebackup.safebackup_status(): launcher state and archive counters; privileges
--
CREATE FUNCTION wait_for_launcher() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF (SELECT launcher_state FROM safebackup.safebackup_status()) = 'idle' THEN
			RETURN 'idle';
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN (SELECT launcher_state FROM safebackup.safebackup_status());
END
$$;

SELECT wait_for_launcher();

-- the launcher is a real process, visible in pg_stat_activity
SELECT s.launcher_pid = a.pid AS launcher_listed, a.backend_type
  FROM safebackup.safebackup_status() s JOIN pg_stat_activity a ON a.pid = s.launcher_pid;

SELECT archived_count >= 0 AS counted, failed_count >= 0 AS failures_counted
  FROM safebackup.safebackup_status();

-- not callable by ordinary users; pg_monitor may read it
CREATE ROLE sb_regress_user;
CREATE ROLE sb_regress_monitor IN ROLE pg_monitor;
SET ROLE sb_regress_user;
SELECT launcher_state FROM safebackup.safebackup_status();
RESET ROLE;
SET ROLE sb_regress_monitor;
SELECT launcher_state FROM safebackup.safebackup_status();
RESET ROLE;
DROP ROLE sb_regress_user;
DROP ROLE sb_regress_monitor;

-- no completed WAL segment without archive status was found
SELECT wal_gaps_repaired = 0 AS no_gaps, last_wal_gap IS NULL AS none_named
  FROM safebackup.safebackup_status();

-- the repository's mode: a posix repository gives this host every right
SELECT repository_mode FROM safebackup.safebackup_status();

--
-- safebackup.safebackup_push_workers(): the launcher starts safebackup.archive_push_workers
-- (default 2) push-ahead workers, visible in pg_stat_activity
--
CREATE FUNCTION wait_for_push_workers(n int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF (SELECT count(*) FROM safebackup.safebackup_push_workers() WHERE pid IS NOT NULL) = n
		   AND (SELECT count(*) FROM safebackup.safebackup_push_workers()) = n THEN
			RETURN n;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN (SELECT count(*) FROM safebackup.safebackup_push_workers() WHERE pid IS NOT NULL);
END
$$;
SHOW safebackup.archive_push_workers;
SELECT wait_for_push_workers(4);
SELECT w.worker, w.state IN ('idle', 'pushing') AS running, a.backend_type
  FROM safebackup.safebackup_push_workers() w JOIN pg_stat_activity a ON a.pid = w.pid
 ORDER BY w.worker;

-- pg_monitor may read it, others may not
CREATE ROLE sb_regress_user;
CREATE ROLE sb_regress_monitor IN ROLE pg_monitor;
SET ROLE sb_regress_user;
SELECT count(*) FROM safebackup.safebackup_push_workers();
RESET ROLE;
SET ROLE sb_regress_monitor;
SELECT count(*) FROM safebackup.safebackup_push_workers();
RESET ROLE;
DROP ROLE sb_regress_user;
DROP ROLE sb_regress_monitor;
