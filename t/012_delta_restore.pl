# Parallel and delta restores.
#
# A backup of a pgbench cluster with a tablespace is restored with
# --jobs=3 and compared.  That restored cluster then runs and changes (rows
# updated, a table created, junk files planted in its data directory and
# tablespace); the primary changes a few rows too.  "restore --delta" into
# the stopped directory keeps the files that match the backup, rewrites the
# rest, removes what the backup does not have (but never another version's
# directory in the tablespace location), and the cluster recovers to the
# primary's latest state.  A delta restore into a running cluster, into
# another cluster's data directory and into a directory that is not a data
# directory is refused.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $tsdir = PostgreSQL::Test::Utils::tempdir();
my $node = SbTest::new_node('primary', settings => [ 'safebackup.repo_path' => $repo ]);

my $state_query = q{SELECT count(*) || ':' || sum(abalance) || ':' || (SELECT count(*) FROM t) FROM pgbench_accounts};
$node->safe_psql('postgres', "CREATE TABLESPACE ts LOCATION '$tsdir'");
my $ts_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'");
$node->command_ok([ 'pgbench', '-i', '-s', '5', 'postgres' ], 'pgbench init');
$node->safe_psql('postgres',
	'CREATE TABLE t TABLESPACE ts AS SELECT g FROM generate_series(1, 10000) g');
# the files are written out, then older than the backup by two seconds: the
# modification time a delta restore may trust (see below)
$node->safe_psql('postgres', 'CHECKPOINT');
sleep 2;
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
my $at_backup = $node->safe_psql('postgres', $state_query);
SbTest::switch_and_wait($node);

# --- a parallel restore
my $copy = PostgreSQL::Test::Cluster->new('copy');
my $copy_ts = PostgreSQL::Test::Utils::tempdir();
my @restore = ('pg_safebackup', 'restore', "--repo-path=$repo", '--target-dir=' . $copy->data_dir,
	"--tablespace-map=$ts_oid=$copy_ts", '--target-action=promote');
command_like([ @restore, '--jobs=3' ], qr/restored backup \Q$label\E/, 'restore with --jobs=3');
SbTest::start_restored($copy, 'parallel restore');
is($copy->safe_psql('postgres', $state_query), $at_backup, 'the parallel restore has the data');

# the restored cluster runs on and changes; junk appears in its directories
$copy->safe_psql('postgres',
	"UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid % 50 = 0;
	 CREATE TABLE only_in_copy AS SELECT 1 AS x;
	 DELETE FROM t WHERE g > 9000; CHECKPOINT");
my $ts_version = (grep { !/^\./ } do { opendir(my $d, $copy_ts) or die; readdir($d) })[0];
like($ts_version, qr/^PG_/, "tablespace version directory $ts_version");
my $copy_dir = $copy->data_dir;

# more changes on the primary, archived
$node->safe_psql('postgres', 'UPDATE pgbench_accounts SET abalance = abalance - 3 WHERE aid % 100 = 1');
my $latest = $node->safe_psql('postgres', $state_query);
isnt($latest, $at_backup, 'the primary changed after the backup');
SbTest::switch_and_wait($node);

# --- refusals
command_fails_like([ @restore, '--delta' ], qr/a server seems to be running/,
	'delta into a running cluster refused');
$copy->stop;

open(my $fh, '>', "$copy_dir/base/junk_file") or die;
print $fh "junk\n";
close($fh);
mkdir("$copy_dir/junk_dir") or die;
mkdir("$copy_dir/junk_dir/sub") or die;
open($fh, '>', "$copy_ts/$ts_version/junk_in_ts") or die;
close($fh);
mkdir("$copy_ts/PG_99_000000000") or die;    # another version's directory

my $other = PostgreSQL::Test::Cluster->new('other');
$other->init;
command_fails_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--target-dir=' . $other->data_dir,
		"--tablespace-map=$ts_oid=$copy_ts", '--delta'
	],
	qr/belongs to another cluster/, 'delta into another cluster refused');
my $plain = PostgreSQL::Test::Utils::tempdir();
mkdir("$plain/some_dir") or die;
command_fails_like(
	[ 'pg_safebackup', 'restore', "--repo-path=$repo", "--target-dir=$plain", '--delta' ],
	qr/is not empty and is not a data directory/, 'delta into a non-data directory refused');
command_fails_like([@restore], qr/is not empty/, 'without --delta the directory must be empty');

# --- the delta restore
my ($out, $err) = run_command([ @restore, '--delta', '--jobs=2' ]);
like($out, qr/restored backup \Q$label\E/, 'delta restore');
my ($kept, $written, $removed) =
  $out =~ /delta: (\d+) files \([\d.]+ MB\) already matched the backup and were kept, (\d+) written, (\d+) not in the backup removed/;
ok(defined $kept && $kept > 0, "delta kept unchanged files ($kept kept, $written written)");
ok(defined $written && $written < $kept, 'and wrote fewer than it kept');
cmp_ok($removed // 0, '>=', 3, "removed files the backup does not have ($removed)");
ok(!-e "$copy_dir/base/junk_file" && !-e "$copy_dir/junk_dir", 'junk in the data directory is gone');
ok(!-e "$copy_ts/$ts_version/junk_in_ts", 'junk in the tablespace is gone');
ok(-d "$copy_ts/PG_99_000000000", "another version's tablespace directory is untouched");
ok(-f "$copy_dir/recovery.signal", 'recovery.signal written');

SbTest::start_restored($copy, 'delta restore');
is($copy->safe_psql('postgres', $state_query), $latest,
	'after a delta restore the cluster has the primary\'s latest data');
is($copy->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'only_in_copy'}),
	'0', 'the table created after the restore is gone');
my $rel = $copy->safe_psql('postgres', q{SELECT pg_relation_filepath('pgbench_branches')});
$copy->stop;

# a file changed behind the server's back, size and modification time kept:
# --delta trusts them, --delta-checksum does not (first a delta restore, so
# that every file has the time the backup recorded)
command_ok([ @restore, '--delta' ], 'delta restore of a stopped restored cluster');
my $file = "$copy_dir/$rel";
my @st = stat($file) or die "stat $file: $!";
open(my $rfh, '+<', $file) or die;
binmode($rfh);
seek($rfh, 8192 - 100, 0);
print $rfh 'garbage!';
close($rfh);
utime($st[8], $st[9], $file) or die;
command_ok([ @restore, '--delta' ], 'delta restore over a file changed behind the server\'s back');
like(slurp_file($file), qr/garbage!/, '--delta trusts an unchanged size and modification time');
command_ok([ @restore, '--delta-checksum' ], 'delta restore with --delta-checksum');
unlike(slurp_file($file), qr/garbage!/, '--delta-checksum rewrites that file');
SbTest::start_restored($copy, 'delta-checksum restore');
is($copy->safe_psql('postgres', $state_query), $latest, 'after --delta-checksum the data is right');
$copy->stop;
$node->stop;
done_testing();
