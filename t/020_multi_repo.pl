# Several repositories at once: two posix repositories, repository 1 with
# today's settings (safebackup.repo_path) and repository 2 with
# safebackup.repo2_*.  Every WAL segment goes to both; while repository 2
# cannot be written, archiving stops (the strict rule: a segment counts as
# archived only once it is in every repository) and nothing is lost, and
# once it is writable again it receives what it missed.  archive-get looks
# in each repository in order and says where it found a segment: a
# segment missing from repository 1 comes from repository 2 during a
# restore, whose data is compared with the original's.
use strict;
use warnings;
use File::Find;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo1 = PostgreSQL::Test::Utils::tempdir();
my $repo2 = PostgreSQL::Test::Utils::tempdir();

my $node = SbTest::new_node('primary',
	settings => [
		'safebackup.repo_path' => $repo1,
		'safebackup.repo2_path' => $repo2,
		'safebackup.repo2_compress_type' => 'lz4',
	]);
my $state_query = q{SELECT count(*) || ':' || coalesce(md5(string_agg(g::text || h, ',' ORDER BY g)), '')
	FROM t};

# --- every segment goes to both repositories
$node->safe_psql('postgres',
	"CREATE TABLE t (g int, h text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
my @segs = map { SbTest::switch_and_wait($node) } 1 .. 3;
foreach my $seg (@segs)
{
	ok(defined SbTest::stored_path($repo1, $seg), "$seg in repository 1");
	my $in2 = SbTest::stored_path($repo2, $seg);
	ok(defined $in2 && $in2 =~ /\.lz4$/,
		"$seg in repository 2, with repository 2's own compression");
}

# --- repository 2 unwritable: archiving stops, nothing is lost
sub set_writable
{
	my ($root, $writable) = @_;
	find(sub { chmod($writable ? 0700 : 0500, $_) if -d $_ }, $root);
}
set_writable("$repo2/main/wal", 0);
my $failed_before = SbTest::failed_count($node);
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'during' FROM generate_series(1001, 1100) g");
my $stuck = SbTest::current_segment($node);
SbTest::force_switch($node);
ok(SbTest::wait_for_failure($node, $failed_before), 'archiving fails while repository 2 is unwritable');
my $log = slurp_file($node->logfile);
like($log, qr/could not archive WAL file "$stuck" to repository 2/,
	'the failure names the file and repository 2');
ok(-f $node->data_dir . "/pg_wal/archive_status/$stuck.ready",
	"$stuck stays ready in pg_wal");
ok($node->safe_psql('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver') lt $stuck,
	"$stuck is not reported archived");
ok(!defined SbTest::stored_path($repo2, $stuck), "$stuck is not in repository 2");

# writable again: the segment reaches both, archiving goes on
set_writable("$repo2/main/wal", 1);
$node->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$stuck' FROM pg_stat_archiver")
  or die "timed out waiting for $stuck to be archived";
ok(defined SbTest::stored_path($repo1, $stuck) && defined SbTest::stored_path($repo2, $stuck),
	"$stuck in both repositories once repository 2 is writable again");

# --- archive-get: each repository in order, says where it found the file
my $tmp = PostgreSQL::Test::Utils::tempdir();
unlink(SbTest::stored_path($repo1, $segs[1])) or die "unlink: $!";
my ($out, $err) = ('', '');
my $rc = IPC::Run::run(
	[
		'pg_safebackup', 'archive-get', $segs[1], "$tmp/seg",
		"--repo-path=$repo1", "--repo2-path=$repo2", "--pgdata=$tmp"
	],
	'>', \$out, '2>', \$err);
ok($rc, 'archive-get finds a segment missing from repository 1');
like($err, qr/fetched WAL file "$segs[1]" from repository 2/, 'and says it came from repository 2');
is(-s "$tmp/seg", 16 * 1024 * 1024, 'the whole segment');
IPC::Run::run(
	[
		'pg_safebackup', 'archive-get', $segs[1], "$tmp/seg2",
		"--repo-path=$repo1", "--repo2-path=$repo2", '--repo=1', "--pgdata=$tmp"
	],
	'>', \$out, '2>', \$err);
is($? >> 8, 3, 'archive-get --repo=1: not in repository 1 (exit 3)');
IPC::Run::run(
	[
		'pg_safebackup', 'archive-get', '000000010000000000000099', "$tmp/seg3",
		"--repo-path=$repo1", "--repo2-path=$repo2", "--pgdata=$tmp"
	],
	'>', \$out, '2>', \$err);
is($? >> 8, 3, 'a segment in no repository: exit 3');
like($err, qr/WAL file "000000010000000000000099" is in no repository/, 'and says so');

# --- restore from repository 1, a segment of the recovery missing there
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($label, qr/^\d{8}-\d{6}F$/, "backup $label into repository 1");
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'after' FROM generate_series(2001, 3000) g");
my $gone = SbTest::switch_and_wait($node);
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'later' FROM generate_series(3001, 3500) g");
SbTest::switch_and_wait($node);
my $expected = $node->safe_psql('postgres', $state_query);
unlink(SbTest::stored_path($repo1, $gone)) or die "unlink: $!";

my $restored = PostgreSQL::Test::Cluster->new('restored1');
SbTest::restore_ok($restored, [ "--repo-path=$repo1", "--repo2-path=$repo2" ],
	'restore with both repositories');
like(slurp_file($restored->data_dir . '/postgresql.auto.conf'),
	qr/restore_command = .*--repo-path=.*--repo2-path=/,
	'restore_command names both repositories');
SbTest::start_restored($restored, 'restored1');
is($restored->safe_psql('postgres', $state_query), $expected,
	'restored data matches, with a segment fetched from repository 2');
like(slurp_file($restored->logfile), qr/fetched WAL file "$gone" from repository 2/,
	'the restored server\'s log says where the segment came from');
$restored->stop;

done_testing();
