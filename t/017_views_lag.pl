# The archive lag and safebackup.archive_lag_warning: with the repository
# unwritable, a completed segment waits, the view safebackup.archiving
# shows it and a lag that grows, and the launcher logs one WARNING when the
# lag passes 1 s (not one per check); once the repository is writable again
# and the segment archived, one LOG says the lag is back within.
#
# And ALTER EXTENSION pg_safebackup UPDATE from 1.0: an install of 1.0 in
# schema public (with a grant made by the administrator) moves into schema
# safebackup and ends up the same as a fresh install of 1.1.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $node = SbTest::new_node('primary', wal_segsize => 1,
	settings => [ 'safebackup.repo_path' => $repo ]);
my $pgwal = $node->data_dir . '/pg_wal';

# --- the lag: nothing waits once a segment is archived
my $archived = SbTest::switch_and_wait($node);
is( $node->safe_psql(
		'postgres',
		'SELECT pending_files, lag_bytes >= 0, lag_seconds >= 0 FROM safebackup.archiving'),
	'0|t|t',
	'archiving: nothing waits, the lag is measured');

SKIP:
{
	skip 'permission tests need a non-root user', 12 if $> == 0;

	# the repository becomes unwritable: the next segment waits
	my @dirs = ("$repo/main/wal", glob("$repo/main/wal/*"));
	my $failed_before = SbTest::failed_count($node);
	chmod 0500, @dirs;
	my $blocked = SbTest::current_segment($node);
	SbTest::force_switch($node);
	ok(SbTest::wait_for_failure($node, $failed_before),
		'archiving fails while the repository is unwritable');
	is( $node->safe_psql(
			'postgres',
			'SELECT pending_files >= 1, oldest_pending_wal, last_failed_wal, '
			  . "lag_bytes >= 1024 * 1024, oldest_pending_time <= now() FROM safebackup.archiving"),
		"t|$blocked|$blocked|t|t",
		'archiving: the segment waits, completed a whole segment ago in bytes');

	# the warning: on by reload, once when the lag passes 1 s
	my $offset = -s $node->logfile;
	$node->append_conf('postgresql.conf', "safebackup.archive_lag_warning = '1s'");
	$node->reload;
	$node->wait_for_log(
		qr/WARNING:  archive lag of \d+ s exceeds safebackup.archive_lag_warning \(1 s\)/,
		$offset);
	my $log = slurp_file($node->logfile, $offset);
	like(
		$log,
		qr/DETAIL:  1 WAL file waits to be archived, completed at [^\n]+\. Archiving "$blocked" last failed at [^\n]+: .*Permission denied/,
		'the warning says what waits and why');
	like($log, qr/HINT:  Make the repository reachable and writable again/,
		'the warning says what to do');

	# the lag keeps growing past several checks (one per second): no repeat
	ok( $node->poll_query_until(
			'postgres', 'SELECT lag_seconds > 4 FROM safebackup.archiving'),
		'archiving: the lag grows while the segment waits');
	ok( $node->poll_query_until(
			'postgres', 'SELECT lag_seconds > 6 FROM safebackup.archiving'),
		'archiving: still growing');
	$log = slurp_file($node->logfile, $offset);
	my @warnings = ($log =~ /WARNING:  archive lag of/g);
	is(scalar(@warnings), 1, 'one warning for one crossing, not one per check');
	unlike($log, qr/archive lag is back/, 'no recovery logged while it lags');

	# writable again: the segment is archived, the lag drops, one LOG
	chmod 0750, @dirs;
	SbTest::force_switch($node);
	$node->wait_for_log(
		qr/LOG:  archive lag is back to \d+ s, within safebackup.archive_lag_warning \(1 s\)/,
		$offset);
	$log = slurp_file($node->logfile, $offset);
	my ($before_back) = split(/archive lag is back/, $log, 2);
	@warnings = ($before_back =~ /WARNING:  archive lag of/g);
	is(scalar(@warnings), 1, 'still one warning when the lag is back within');
	ok( $node->poll_query_until(
			'postgres',
			"SELECT last_archived_wal >= '$blocked' FROM safebackup.archiving"),
		'the waiting segment is archived');
	ok( $node->poll_query_until(
			'postgres',
			"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f = '$blocked.ready'"),
		'it no longer waits');
	is($node->safe_psql('postgres', "SELECT setting FROM pg_settings WHERE name = 'safebackup.archive_lag_warning'"),
		'1', 'the setting is in seconds');
	pass('the lag warning was raised and lowered once');
}

# --- the views read the same state as the compatibility function
is( $node->safe_psql(
		'postgres',
		'SELECT a.last_archived_wal = s.last_archived_wal, a.archived_count = s.archived_count, '
		  . 'l.pid = s.launcher_pid FROM safebackup.archiving a, safebackup.launcher l, '
		  . 'safebackup.safebackup_status() s'),
	't|t|t',
	'archiving and launcher agree with safebackup_status()');

# --- ALTER EXTENSION UPDATE from 1.0
#
# 1.0 had no schema in its control file, so it lived where CREATE EXTENSION
# put it: public by default.  The control file now names schema safebackup
# for every version, so a 1.0 install in public is made the way PostgreSQL
# would have made it: installed, then moved to public with the catalog
# state 1.0 had (not relocatable).
$node->safe_psql('postgres', 'CREATE DATABASE upd');
$node->safe_psql(
	'upd', q{
CREATE EXTENSION pg_safebackup VERSION '1.0';
UPDATE pg_extension SET extrelocatable = true WHERE extname = 'pg_safebackup';
ALTER EXTENSION pg_safebackup SET SCHEMA public;
UPDATE pg_extension SET extrelocatable = false WHERE extname = 'pg_safebackup';
DROP SCHEMA safebackup;
CREATE ROLE sb_backup_role;
GRANT EXECUTE ON FUNCTION public.safebackup_start(text, boolean) TO sb_backup_role;
});
is( $node->safe_psql(
		'upd',
		"SELECT extversion, extnamespace::regnamespace FROM pg_extension WHERE extname = 'pg_safebackup'"),
	'1.0|public',
	'1.0 is installed in public');

$node->safe_psql('upd', 'ALTER EXTENSION pg_safebackup UPDATE');

# everything a DBA can see of the extension, to compare with a fresh install
my $describe = q{
SELECT 'extension ' || extversion || ' ' || extnamespace::regnamespace || ' ' || extrelocatable
  FROM pg_extension WHERE extname = 'pg_safebackup'
UNION ALL
SELECT 'depends on schema ' || refobjid::regnamespace
  FROM pg_depend
 WHERE classid = 'pg_extension'::regclass
   AND objid = (SELECT oid FROM pg_extension WHERE extname = 'pg_safebackup')
   AND refclassid = 'pg_namespace'::regclass
UNION ALL
SELECT 'schema ' || nspname || ' ' || array_to_string(nspacl, ',')
       || ' member ' || EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_namespace'::regclass
                                   AND d.objid = n.oid AND d.deptype = 'e')
  FROM pg_namespace n WHERE nspname = 'safebackup'
UNION ALL
SELECT 'member ' || pg_describe_object(classid, objid, objsubid)
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_safebackup')
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' ' || pg_get_functiondef(p.oid)
       || ' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
       || ' acl ' || coalesce(array_to_string(p.proacl, ','), '-')
       || ' initprivs ' || coalesce((SELECT array_to_string(i.initprivs, ',') FROM pg_init_privs i
                                      WHERE i.objoid = p.oid AND i.classoid = 'pg_proc'::regclass), '-')
  FROM pg_proc p WHERE p.pronamespace = 'safebackup'::regnamespace
UNION ALL
SELECT 'view ' || c.oid::regclass || ' ' || pg_get_viewdef(c.oid)
       || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
       || ' acl ' || coalesce(array_to_string(c.relacl, ','), '-')
       || ' initprivs ' || coalesce((SELECT array_to_string(i.initprivs, ',') FROM pg_init_privs i
                                      WHERE i.objoid = c.oid AND i.classoid = 'pg_class'::regclass
                                        AND i.objsubid = 0), '-')
  FROM pg_class c WHERE c.relnamespace = 'safebackup'::regnamespace
UNION ALL
SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' comment ' || coalesce(col_description(c.oid, a.attnum), '-')
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE c.relnamespace = 'safebackup'::regnamespace
ORDER BY 1
};
my $fresh = $node->safe_psql('postgres', $describe);
my $updated = $node->safe_psql('upd', $describe);
# the grant made on 1.0, carried to 1.2's (and 1.3's) safebackup_start (also as an
# initial privilege, since the update script made it)
$updated =~ s/,sb_backup_role=X\/\w+//g;
is($updated, $fresh, 'the updated extension is the same as a fresh install of 1.3');
like($fresh, qr/^extension 1\.3 safebackup false$/m, 'in schema safebackup, not relocatable');
like($fresh, qr/^schema safebackup \S+ member false$/m,
	'the schema is not a member: DROP EXTENSION leaves it');
unlike($node->safe_psql('upd', "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'safebackup%'"),
	qr/[1-9]/, 'nothing is left in public');

# the grant made on 1.0 still works, through the new schema
is( $node->safe_psql(
		'upd', q{
SELECT has_schema_privilege('sb_backup_role', 'safebackup', 'USAGE'),
       has_function_privilege('sb_backup_role', 'safebackup.safebackup_start(text, boolean, integer)', 'EXECUTE'),
       has_function_privilege('sb_backup_role', 'safebackup.safebackup_cancel()', 'EXECUTE')}),
	't|t|f',
	'the grant made on 1.0 is kept, and nothing more is granted');

# and the extension goes away cleanly, leaving the schema
$node->safe_psql('upd', 'DROP EXTENSION pg_safebackup');
is($node->safe_psql('upd', "SELECT count(*) FROM pg_namespace WHERE nspname = 'safebackup'"),
	'1', 'DROP EXTENSION leaves the schema');

$node->stop;
done_testing();
