--
-- Privileges: EXECUTE alone decides who may call the functions, as for
-- PostgreSQL's own pg_backup_start().  A role without it is refused; a
-- role granted it, with neither SUPERUSER nor REPLICATION, takes, lists,
-- verifies and expires backups.
--
\getenv abs_builddir PG_ABS_BUILDDIR
SELECT :'abs_builddir' || '/tmp_check' AS repo \gset

ALTER SYSTEM SET safebackup.repo_path = :'repo';
ALTER SYSTEM SET safebackup.stanza = 'privileges';
SELECT pg_reload_conf();
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN current_setting('safebackup.stanza') = 'privileges';
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

CREATE ROLE sb_priv_none;
CREATE ROLE sb_priv_backup;
SELECT rolsuper, rolreplication FROM pg_roles WHERE rolname = 'sb_priv_backup';

-- nothing is executable by PUBLIC but the status, granted to pg_monitor
SELECT p.oid::regprocedure AS function,
       has_function_privilege('sb_priv_none', p.oid, 'EXECUTE') AS unprivileged,
       has_function_privilege('pg_monitor', p.oid, 'EXECUTE') AS pg_monitor
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
  JOIN pg_extension e ON d.refobjid = e.oid AND e.extname = 'pg_safebackup'
 ORDER BY p.proname;

-- a role without EXECUTE is refused by PostgreSQL itself
SET ROLE sb_priv_none;
SELECT safebackup.safebackup_start(wait => true);
SELECT safebackup.safebackup_cancel();
SELECT * FROM safebackup.safebackup_backups();
SELECT * FROM safebackup.safebackup_verify();
SELECT * FROM safebackup.safebackup_expire();
SELECT * FROM safebackup.safebackup_status();
RESET ROLE;

-- a backup role: EXECUTE granted, no role attribute
GRANT EXECUTE ON FUNCTION safebackup.safebackup_start(text, boolean), safebackup.safebackup_cancel(),
	safebackup.safebackup_backups(), safebackup.safebackup_verify(text), safebackup.safebackup_expire(),
	safebackup.safebackup_status() TO sb_priv_backup;
SET ROLE sb_priv_backup;
SELECT safebackup.safebackup_start(wait => true) AS label \gset
SELECT :'label' ~ '^\d{8}-\d{6}F$' AS label_ok;
SELECT label = :'label' AS listed, status FROM safebackup.safebackup_backups();
SELECT backup_label = :'label' AS verified, status FROM safebackup.safebackup_verify(:'label');
SELECT retention_full, backups_kept FROM safebackup.safebackup_expire();
SELECT safebackup.safebackup_cancel();
SELECT backup_label = :'label' AS status_label, backup_phase FROM safebackup.safebackup_status();
RESET ROLE;

-- revoked again: refused again
REVOKE EXECUTE ON FUNCTION safebackup.safebackup_start(text, boolean) FROM sb_priv_backup;
SET ROLE sb_priv_backup;
SELECT safebackup.safebackup_start();
RESET ROLE;

REVOKE EXECUTE ON FUNCTION safebackup.safebackup_cancel(), safebackup.safebackup_backups(),
	safebackup.safebackup_verify(text), safebackup.safebackup_expire(), safebackup.safebackup_status()
	FROM sb_priv_backup;
DROP ROLE sb_priv_none;
DROP ROLE sb_priv_backup;
ALTER SYSTEM RESET safebackup.stanza;
ALTER SYSTEM RESET safebackup.repo_path;
SELECT pg_reload_conf();
