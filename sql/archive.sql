--
-- A forced WAL switch: the segment arrives in the repository, compressed,
-- named with its checksum, and the stanza records this cluster
--
\getenv abs_builddir PG_ABS_BUILDDIR
SELECT :'abs_builddir' || '/tmp_check' AS repo \gset

ALTER SYSTEM SET safebackup.repo_path = :'repo';
ALTER SYSTEM SET safebackup.stanza = 'regress';
SELECT pg_reload_conf();

CREATE FUNCTION wait_archived(seg text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..600 LOOP
		PERFORM pg_stat_clear_snapshot();
		IF EXISTS (SELECT 1 FROM pg_stat_archiver WHERE last_archived_wal >= seg) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END
$$;

CREATE TABLE archive_test AS SELECT g, md5(g::text) AS h FROM generate_series(1, 10000) g;
SELECT pg_walfile_name(pg_current_wal_lsn()) AS seg \gset
SELECT pg_switch_wal() IS NOT NULL AS switched;
SELECT wait_archived(:'seg');

-- stored once, as <segment>-<XXH3-128>.zst (zstd, the default) under wal/<first 16 digits>/
SELECT count(*) AS stored
  FROM pg_ls_dir(:'repo' || '/regress/wal/' || substr(:'seg', 1, 16)) f
 WHERE f ~ ('^' || :'seg' || '-[0-9a-f]{32}\.zst$');

-- compressed: far smaller than the 16 MB segment
SELECT (pg_stat_file(:'repo' || '/regress/wal/' || substr(:'seg', 1, 16) || '/' || f)).size < 16 * 1024 * 1024 AS compressed
  FROM pg_ls_dir(:'repo' || '/regress/wal/' || substr(:'seg', 1, 16)) f
 WHERE f LIKE :'seg' || '-%';

-- the stanza records this cluster and version, in two copies
SELECT pg_read_file(:'repo' || '/regress/stanza.info') ~
       ('system_identifier=' || (SELECT system_identifier FROM pg_control_system()) || E'\n') AS stanza_sysid,
       pg_read_file(:'repo' || '/regress/stanza.info') ~
       ('pg_version=' || current_setting('server_version_num')::int / 10000 || E'\n') AS stanza_version,
       pg_read_file(:'repo' || '/regress/stanza.info') =
       pg_read_file(:'repo' || '/regress/stanza.info.copy') AS copy_identical;

-- safebackup.safebackup_status() agrees with pg_stat_archiver
SELECT s.last_archived_wal >= :'seg' AS status_last,
       s.archived_count > 0 AS status_count,
       s.stored_bytes > 0 AND s.stored_bytes < s.archived_bytes AS status_bytes
  FROM safebackup.safebackup_status() s;

ALTER SYSTEM RESET safebackup.stanza;
ALTER SYSTEM RESET safebackup.repo_path;
SELECT pg_reload_conf();
