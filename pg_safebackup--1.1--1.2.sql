/* pg_safebackup--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_safebackup UPDATE TO '1.2'" to load this file. \quit

-- 1.2: several repositories.  safebackup_start() takes the repository the
-- backup goes to (safebackup.repo_* is 1, safebackup.repoN_* is N).  The
-- function is replaced; EXECUTE granted on the old one to roles is granted
-- on the new one.  Made by this script, those grants count as the
-- extension's initial privileges, which pg_dump leaves out (README,
-- "Several repositories").
CREATE FUNCTION safebackup_start(type text DEFAULT 'full', wait boolean DEFAULT false,
								 repo integer DEFAULT 1)
RETURNS text
AS 'MODULE_PATHNAME', 'safebackup_start'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION safebackup_start(text, boolean, integer) IS
	'take a base backup into repository repo (1 to 4); returns its label';

REVOKE EXECUTE ON FUNCTION safebackup_start(text, boolean, integer) FROM PUBLIC;

DO $$
DECLARE
	grantee regrole;
BEGIN
	FOR grantee IN
		SELECT a.grantee::regrole
		  FROM pg_proc p, aclexplode(p.proacl) a
		 WHERE p.oid = 'safebackup_start(text, boolean)'::regprocedure
		   AND a.privilege_type = 'EXECUTE'
		   AND a.grantee <> 0 AND a.grantee <> p.proowner
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION safebackup_start(text, boolean, integer) TO %s',
					   grantee);
	END LOOP;
END
$$;

DROP FUNCTION safebackup_start(text, boolean);
