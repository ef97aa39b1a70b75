--
-- safebackup.safebackup_start(), safebackup.safebackup_cancel(), safebackup.safebackup_backups(): argument
-- errors and privileges (backups themselves are tested by t/002)
--
SELECT safebackup.safebackup_start(type => 'bogus');
SELECT safebackup.safebackup_start(type => 'incr');
SELECT safebackup.safebackup_cancel();

-- without a repository there is nothing to back up into
SELECT safebackup.safebackup_start();

-- EXECUTE is revoked from PUBLIC
CREATE ROLE sb_backup_user;
SET ROLE sb_backup_user;
SELECT safebackup.safebackup_start();
SELECT safebackup.safebackup_cancel();
SELECT * FROM safebackup.safebackup_backups();
RESET ROLE;

-- EXECUTE is all it takes (no role attribute is checked): this role gets
-- as far as the configuration (the privileges test takes a real backup)
GRANT EXECUTE ON FUNCTION safebackup.safebackup_start(text, boolean) TO sb_backup_user;
SET ROLE sb_backup_user;
SELECT safebackup.safebackup_start();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION safebackup.safebackup_start(text, boolean) FROM sb_backup_user;
DROP ROLE sb_backup_user;
