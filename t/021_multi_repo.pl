# Several repositories at once: two posix repositories, repository 1 with
# today's settings (safebackup.repo_path) and repository 2 with
# safebackup.repo2_*.  Every WAL segment goes to both; while repository 2
# cannot be written, archiving stops (the strict rule: a segment counts as
# archived only once it is in every repository) and nothing is lost, and
# once it is writable again it receives what it missed.  archive-get looks
# in each repository in order and says where it found a segment: a
# segment missing from repository 1 comes from repository 2 during a
# restore, whose data is compared with the original's.  Backups go to the
# repository safebackup_start(repo => N) names, each repository keeps its
# own retention, and restore takes a backup from the repository --repo
# names or from the first that has it.
use strict;
use warnings;
use File::Find;
use Time::HiRes qw(sleep);
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
IPC::Run::run(
	[
		'pg_safebackup', 'archive-get', '000000010000000000000099', "$tmp/seg4",
		"--repo-path=$repo1", "--repo2-path=$tmp/nothere", "--pgdata=$tmp"
	],
	'>', \$out, '2>', \$err);
is($? >> 8, 255,
	'not in repository 1 and repository 2 cannot be read: a failure (255), not the end of the archive');
like($err, qr/could not fetch WAL file "000000010000000000000099" from repository 2/,
	'naming repository 2');

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

# --- backups into repository 2, with its own retention
my ($ret, $sout, $serr) = $node->psql('postgres', 'SELECT safebackup.safebackup_start(repo => 3)');
like($serr, qr/repository 3 is not configured/, 'a backup into an unconfigured repository is refused');
$node->safe_psql('postgres',
	"ALTER SYSTEM SET safebackup.repo2_retention_full = 1; SELECT pg_reload_conf()");
$node->poll_query_until('postgres', 'SHOW safebackup.repo2_retention_full', '1')
  or die 'repo2_retention_full not in force';
my $old2 = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true, repo => 2)');
ok(-f "$repo2/main/backup/$old2/backup.manifest", "backup $old2 in repository 2");
ok(!-e "$repo1/main/backup/$old2", 'and not in repository 1');
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'repo2' FROM generate_series(4001, 5000) g");
my $new2 = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true, repo => 2)');
ok(-f "$repo2/main/backup/$new2/backup.manifest", "backup $new2 in repository 2");
# the retention after a backup may finish after safebackup_start() returns
my $waited = 0;
while (-e "$repo2/main/backup/$old2/backup.manifest"
	&& $waited++ < 10 * $PostgreSQL::Test::Utils::timeout_default)
{
	sleep(0.1);
}
ok(!-e "$repo2/main/backup/$old2/backup.manifest",
	'repository 2 keeps one full backup (repo2_retention_full = 1)');
ok(-f "$repo1/main/backup/$label/backup.manifest",
	'repository 1 keeps its backup (its retention_full is 0)');
like(slurp_file($node->logfile), qr/base backup "$new2" completed in repository 2/,
	'the log says which repository the backup went to');
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'end' FROM generate_series(5001, 5500) g");
SbTest::switch_and_wait($node);
$expected = $node->safe_psql('postgres', $state_query);

# restore --repo=2
my $restored2 = PostgreSQL::Test::Cluster->new('restored2');
SbTest::restore_ok($restored2,
	[ "--repo-path=$repo1", "--repo2-path=$repo2", '--repo=2' ],
	'restore --repo=2');
SbTest::start_restored($restored2, 'restored2');
is($restored2->safe_psql('postgres', $state_query), $expected,
	'data restored from repository 2 matches');
$restored2->stop;

# a backup repository 1 does not have: found in repository 2
my $restored3 = PostgreSQL::Test::Cluster->new('restored3');
($out, $err) = ('', '');
IPC::Run::run(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo1", "--repo2-path=$repo2",
		"--backup=$new2", '--target-dir=' . $restored3->data_dir,
		'--target-action=promote'
	],
	'>', \$out, '2>', \$err);
is($? >> 8, 0, "restore --backup=$new2 without --repo");
like($err, qr/restoring from repository 2/, 'says it restores from repository 2');
SbTest::start_restored($restored3, 'restored3');
is($restored3->safe_psql('postgres', $state_query), $expected,
	'data restored from the repository that has the backup matches');
$restored3->stop;

done_testing();
