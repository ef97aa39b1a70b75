--
-- safebackup.retention_full, safebackup.safebackup_expire(), safebackup.safebackup_verify():
-- setting, errors and privileges (expire and verify themselves are tested
-- by t/006 and the unit tests)
--
SHOW safebackup.retention_full;
SET safebackup.retention_full = 3;
ALTER SYSTEM SET safebackup.retention_full = -1;
ALTER SYSTEM SET safebackup.retention_full = 10000;

-- without a repository there is nothing to expire or verify
SELECT * FROM safebackup.safebackup_expire();
SELECT * FROM safebackup.safebackup_verify();

-- EXECUTE is revoked from PUBLIC
CREATE ROLE sb_expire_user;
SET ROLE sb_expire_user;
SELECT * FROM safebackup.safebackup_expire();
SELECT * FROM safebackup.safebackup_verify();
SELECT * FROM safebackup.safebackup_verify('20261123-112437F');
RESET ROLE;

-- EXECUTE is all it takes: this role gets as far as the configuration
GRANT EXECUTE ON FUNCTION safebackup.safebackup_expire() TO sb_expire_user;
SET ROLE sb_expire_user;
SELECT * FROM safebackup.safebackup_expire();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION safebackup.safebackup_expire() FROM sb_expire_user;
DROP ROLE sb_expire_user;
