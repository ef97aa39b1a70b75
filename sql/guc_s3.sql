--
-- safebackup.s3_* settings (repo_type = 's3'): defaults, and bad values
-- refused when set
--
SHOW safebackup.s3_bucket;
SHOW safebackup.s3_region;
SHOW safebackup.s3_endpoint;
SHOW safebackup.s3_uri_style;
SHOW safebackup.s3_credentials_file;
SHOW safebackup.s3_ca_file;
SHOW safebackup.s3_credentials_source;

-- server-wide settings cannot be changed per session
SET safebackup.s3_bucket = 'backups';

-- refused at ALTER SYSTEM time
ALTER SYSTEM SET safebackup.repo_type = 'S4';
ALTER SYSTEM SET safebackup.s3_uri_style = 'vhost';
ALTER SYSTEM SET safebackup.s3_endpoint = 'https://s3.example.com';
ALTER SYSTEM SET safebackup.s3_endpoint = 's3.example.com/path';
ALTER SYSTEM SET safebackup.s3_credentials_file = 'relative/cred';
ALTER SYSTEM SET safebackup.s3_credentials_source = 'imds';
ALTER SYSTEM SET safebackup.s3_bucket = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

-- good values are accepted
ALTER SYSTEM SET safebackup.repo_type = 's3';
ALTER SYSTEM SET safebackup.s3_bucket = 'pg-backups';
ALTER SYSTEM SET safebackup.s3_endpoint = 'rgw.example.net:7480';
ALTER SYSTEM SET safebackup.s3_uri_style = 'path';
ALTER SYSTEM SET safebackup.s3_credentials_file = '/etc/postgresql/s3.cred';
ALTER SYSTEM SET safebackup.s3_credentials_source = 'instance';
ALTER SYSTEM RESET safebackup.repo_type;
ALTER SYSTEM RESET safebackup.s3_bucket;
ALTER SYSTEM RESET safebackup.s3_endpoint;
ALTER SYSTEM RESET safebackup.s3_uri_style;
ALTER SYSTEM RESET safebackup.s3_credentials_file;
ALTER SYSTEM RESET safebackup.s3_credentials_source;

-- the credentials file's name is for superusers only
SELECT name, context FROM pg_settings WHERE name LIKE 'safebackup.s3%' ORDER BY name;
CREATE ROLE sb_s3_reader;
SET ROLE sb_s3_reader;
SELECT name FROM pg_settings WHERE name LIKE 'safebackup.s3%' ORDER BY name;
RESET ROLE;
DROP ROLE sb_s3_reader;
