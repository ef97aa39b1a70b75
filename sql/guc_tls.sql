--
-- safebackup.tls_* settings (repo_type = 'tls'): defaults, and bad values
-- refused when set
--
SHOW safebackup.tls_host;
SHOW safebackup.tls_port;
SHOW safebackup.tls_cert_file;
SHOW safebackup.tls_key_file;
SHOW safebackup.tls_ca_file;
SHOW safebackup.tls_server_name;

-- server-wide settings cannot be changed per session
SET safebackup.tls_host = 'backup.example.com';

-- refused at ALTER SYSTEM time
ALTER SYSTEM SET safebackup.tls_port = 0;
ALTER SYSTEM SET safebackup.tls_port = 65536;
ALTER SYSTEM SET safebackup.tls_host = 'hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh';

-- good values are accepted
ALTER SYSTEM SET safebackup.tls_port = 18432;
ALTER SYSTEM SET safebackup.tls_server_name = 'backup.example.com';
ALTER SYSTEM RESET safebackup.tls_port;
ALTER SYSTEM RESET safebackup.tls_server_name;
