--
-- safebackup.backup_schedule: bad schedules are refused, the next run time
-- is shown by safebackup.safebackup_status() in the server's time zone
--
SELECT current_setting('safebackup.backup_schedule') = '' AS empty_by_default;

-- no schedule: no next run
SELECT next_scheduled_backup IS NULL AS off FROM safebackup.safebackup_status();

-- refused at ALTER SYSTEM time, naming the bad field
ALTER SYSTEM SET safebackup.backup_schedule = '0 2 * *';
ALTER SYSTEM SET safebackup.backup_schedule = '60 2 * * *';
ALTER SYSTEM SET safebackup.backup_schedule = '0 24 * * *';
ALTER SYSTEM SET safebackup.backup_schedule = '*/0 * * * *';
ALTER SYSTEM SET safebackup.backup_schedule = '0 2 * * someday';
ALTER SYSTEM SET safebackup.backup_schedule = '0 0 31 2 *';
-- typed entries: a weekly full and nightly incrementals
ALTER SYSTEM SET safebackup.backup_schedule = 'weekly: 0 2 * * 0';
ALTER SYSTEM SET safebackup.backup_schedule = 'full: 0 2 * * 0;';
ALTER SYSTEM SET safebackup.backup_schedule = 'full: 0 2 * * 0; incr: 0 25 * * *';
ALTER SYSTEM SET safebackup.backup_schedule = 'full: 0 2 * * 0; incr: 0 2 * * 1-6';
ALTER SYSTEM RESET safebackup.backup_schedule;
-- and per session it cannot be changed at all
SET safebackup.backup_schedule = '0 2 * * *';

-- the next run is computed by the launcher in the timezone setting
CREATE FUNCTION wait_for_next_run(previous timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF (SELECT next_scheduled_backup IS DISTINCT FROM previous
			  FROM safebackup.safebackup_status()) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END
$$;

ALTER SYSTEM SET timezone = 'Asia/Kolkata';
ALTER SYSTEM SET safebackup.backup_schedule = '0 0 29 feb *';
SELECT pg_reload_conf();
SELECT wait_for_next_run(NULL);
SELECT to_char(next_scheduled_backup AT TIME ZONE 'Asia/Kolkata', 'MM-DD HH24:MI') AS local,
       to_char(next_scheduled_backup AT TIME ZONE 'UTC', 'MM-DD HH24:MI') AS utc,
       next_scheduled_backup > now() AS ahead
  FROM safebackup.safebackup_status();

-- another time zone: the same local time, another instant
SELECT next_scheduled_backup AS previous FROM safebackup.safebackup_status() \gset
ALTER SYSTEM SET timezone = 'America/New_York';
SELECT pg_reload_conf();
SELECT wait_for_next_run(:'previous');
SELECT to_char(next_scheduled_backup AT TIME ZONE 'America/New_York', 'MM-DD HH24:MI') AS local,
       to_char(next_scheduled_backup AT TIME ZONE 'UTC', 'MM-DD HH24:MI') AS utc
  FROM safebackup.safebackup_status();

-- off again
SELECT next_scheduled_backup AS previous FROM safebackup.safebackup_status() \gset
ALTER SYSTEM RESET safebackup.backup_schedule;
ALTER SYSTEM RESET timezone;
SELECT pg_reload_conf();
SELECT wait_for_next_run(:'previous');
SELECT next_scheduled_backup IS NULL AS off FROM safebackup.safebackup_status();
DROP FUNCTION wait_for_next_run(timestamptz);
