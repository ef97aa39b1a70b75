--
-- A PostgreSQL error caught inside the archive callback is reported with
-- its SQLSTATE, detail and hint (sb_report_caught(), through a test hook
-- that is not part of the extension)
--
CREATE FUNCTION sb_test_report_caught() RETURNS void
	AS 'pg_safebackup', 'sb_test_report_caught' LANGUAGE C;
SELECT sb_test_report_caught();
\set VERBOSITY sqlstate
SELECT sb_test_report_caught();
\set VERBOSITY default
DROP FUNCTION sb_test_report_caught();
