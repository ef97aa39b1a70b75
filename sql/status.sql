--
-- safebackup_status(): launcher state and archive counters; privileges
--
CREATE FUNCTION wait_for_launcher() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF (SELECT launcher_state FROM safebackup_status()) = 'idle' THEN
			RETURN 'idle';
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN (SELECT launcher_state FROM safebackup_status());
END
$$;

SELECT wait_for_launcher();

-- the launcher is a real process, visible in pg_stat_activity
SELECT s.launcher_pid = a.pid AS launcher_listed, a.backend_type
  FROM safebackup_status() s JOIN pg_stat_activity a ON a.pid = s.launcher_pid;

SELECT archived_count >= 0 AS counted, failed_count >= 0 AS failures_counted
  FROM safebackup_status();

-- not callable by ordinary users; pg_monitor may read it
CREATE ROLE sb_regress_user;
CREATE ROLE sb_regress_monitor IN ROLE pg_monitor;
SET ROLE sb_regress_user;
SELECT launcher_state FROM safebackup_status();
RESET ROLE;
SET ROLE sb_regress_monitor;
SELECT launcher_state FROM safebackup_status();
RESET ROLE;
DROP ROLE sb_regress_user;
DROP ROLE sb_regress_monitor;

-- no completed WAL segment without archive status was found
SELECT wal_gaps_repaired = 0 AS no_gaps, last_wal_gap IS NULL AS none_named
  FROM safebackup_status();
