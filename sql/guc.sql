--
-- safebackup.* settings: bad values are refused when set, not replaced
--
CREATE EXTENSION pg_safebackup;

SHOW safebackup.repo_type;
SHOW safebackup.stanza;
SHOW safebackup.compress_type;
SHOW safebackup.compress_level;

-- server-wide settings cannot be changed per session
SET safebackup.repo_path = '/tmp';

-- refused at ALTER SYSTEM time
ALTER SYSTEM SET safebackup.repo_type = 'ftp';
ALTER SYSTEM SET safebackup.repo_path = 'relative/dir';
ALTER SYSTEM SET safebackup.stanza = 'bad/name';
ALTER SYSTEM SET safebackup.stanza = '.hidden';
ALTER SYSTEM SET safebackup.stanza = '';
ALTER SYSTEM SET safebackup.compress_type = 'brotli';
ALTER SYSTEM SET safebackup.compress_level = 20;
ALTER SYSTEM SET safebackup.compress_level = -1;
-- (a level outside the range of the type in force: t/001_archive.pl)

-- the prefix is reserved: a typo is an error, not a silent placeholder
SET safebackup.repo_pth = '/tmp';

-- good values are accepted
-- zstd, the default type, goes up to level 19
ALTER SYSTEM SET safebackup.compress_level = 19;
ALTER SYSTEM SET safebackup.compress_level = 6;
ALTER SYSTEM SET safebackup.compress_type = 'lz4';
ALTER SYSTEM RESET safebackup.compress_type;
ALTER SYSTEM SET safebackup.stanza = 'db-1.prod_A';
ALTER SYSTEM RESET safebackup.compress_level;
ALTER SYSTEM RESET safebackup.stanza;

-- how base backups are copied
SHOW safebackup.backup_workers;
SHOW safebackup.checksum_failure;
SHOW safebackup.backup_read;
SET safebackup.backup_workers = 4;
ALTER SYSTEM SET safebackup.backup_read = 'buffered';
ALTER SYSTEM SET safebackup.backup_read = 'page_cache';
ALTER SYSTEM RESET safebackup.backup_read;
ALTER SYSTEM SET safebackup.backup_workers = 0;
ALTER SYSTEM SET safebackup.backup_workers = 17;
ALTER SYSTEM SET safebackup.checksum_failure = 'ignore';
ALTER SYSTEM SET safebackup.backup_workers = 16;
ALTER SYSTEM SET safebackup.checksum_failure = 'fail';
ALTER SYSTEM RESET safebackup.backup_workers;
ALTER SYSTEM RESET safebackup.checksum_failure;

-- how long a backup waits for its WAL; scheduled backups on a standby
SHOW safebackup.backup_wal_timeout;
SHOW safebackup.schedule_on_standby;
-- its range and unit (a refusal's words differ between versions)
SELECT unit, min_val, max_val FROM pg_settings
 WHERE name = 'safebackup.backup_wal_timeout';
ALTER SYSTEM SET safebackup.schedule_on_standby = 'always';
ALTER SYSTEM SET safebackup.backup_wal_timeout = '90s';
ALTER SYSTEM SET safebackup.schedule_on_standby = 'only';
ALTER SYSTEM RESET safebackup.backup_wal_timeout;
ALTER SYSTEM RESET safebackup.schedule_on_standby;
