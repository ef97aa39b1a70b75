--
-- String settings are refused beyond the limit of the field that holds
-- them (the table in core/sb_config.c, shared with the CLI), never cut
-- short: the longest value is accepted, one byte more is refused.
--
SELECT repeat('u', 63) AS u63, repeat('u', 64) AS u64,
       repeat('h', 255) AS h255, repeat('h', 256) AS h256,
       '/' || repeat('r', 766) AS r767, '/' || repeat('r', 767) AS r768,
       '/' || repeat('f', 1022) AS f1023, '/' || repeat('f', 1023) AS f1024 \gset

ALTER SYSTEM SET safebackup.sftp_user = :'u63';
ALTER SYSTEM SET safebackup.sftp_user = :'u64';
ALTER SYSTEM SET safebackup.sftp_host = :'h255';
ALTER SYSTEM SET safebackup.sftp_host = :'h256';
ALTER SYSTEM SET safebackup.tls_host = :'h256';
ALTER SYSTEM SET safebackup.tls_server_name = :'h256';
ALTER SYSTEM SET safebackup.repo_path = :'r767';
ALTER SYSTEM SET safebackup.repo_path = :'r768';
ALTER SYSTEM SET safebackup.sftp_known_hosts_file = :'f1023';
ALTER SYSTEM SET safebackup.sftp_known_hosts_file = :'f1024';
ALTER SYSTEM SET safebackup.sftp_private_key_file = :'f1024';
ALTER SYSTEM SET safebackup.sftp_public_key_file = :'f1024';
ALTER SYSTEM SET safebackup.sftp_private_key_passphrase_file = :'f1024';
ALTER SYSTEM SET safebackup.cipher_pass_file = :'f1024';
ALTER SYSTEM SET safebackup.tls_cert_file = :'f1024';
ALTER SYSTEM SET safebackup.tls_key_file = :'f1024';
ALTER SYSTEM SET safebackup.tls_ca_file = :'f1024';

-- the accepted values were written whole
SELECT name, length(setting)
  FROM pg_file_settings
 WHERE name IN ('safebackup.sftp_user', 'safebackup.sftp_host',
                'safebackup.repo_path', 'safebackup.sftp_known_hosts_file')
 ORDER BY name;

ALTER SYSTEM RESET safebackup.sftp_user;
ALTER SYSTEM RESET safebackup.sftp_host;
ALTER SYSTEM RESET safebackup.repo_path;
ALTER SYSTEM RESET safebackup.sftp_known_hosts_file;
