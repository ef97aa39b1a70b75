# Whole-system test of in-process WAL archiving into a posix repository:
# many segments under a pgbench load come back byte-identical through
# archive-get; identical re-archiving succeeds; conflicting content is
# refused without touching the stored copy; an unwritable repository keeps
# WAL in pg_wal until it is writable again, with no segment missing; a
# second cluster pointed at the same stanza is refused.
use strict;
use warnings;
use File::Compare;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();

# every stored WAL file, as { walname => repository path }
sub stored_files
{
	my %files;
	foreach my $w (SbTest::wal_files($repo))
	{
		die "$w->[0] stored twice" if exists $files{ $w->[0] };
		$files{ $w->[0] } = $w->[1];
	}
	return \%files;
}

my @repo_settings = ('safebackup.repo_path' => $repo, wal_keep_size => '1GB');
my $node = SbTest::new_node('primary', wal_segsize => 1, settings => \@repo_settings);

# --- many segments under load, fetched back byte-identical
$node->command_ok([ 'pgbench', '-i', '-s', '3', 'postgres' ], 'pgbench init');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '300', 'postgres' ],
	'pgbench run');
my $last = SbTest::switch_and_wait($node);

my $pgwal = $node->data_dir . '/pg_wal';
my @done = sort map { /^([0-9A-F]{24})\.done$/ ? $1 : () }
  do { opendir(my $d, "$pgwal/archive_status") or die; readdir($d) };
cmp_ok(scalar(@done), '>=', 20, 'at least 20 segments archived under load');

my $stored = stored_files();
my $mismatch = 0;
foreach my $seg (@done)
{
	next unless -f "$pgwal/$seg";    # recycled before we looked
	if (!exists $stored->{$seg}) { $mismatch++; diag("$seg missing"); next; }
	my $rc = system('pg_safebackup', 'archive-get', $seg, "$tmp/$seg",
		"--repo-path=$repo");
	if ($rc != 0 || compare("$pgwal/$seg", "$tmp/$seg") != 0)
	{
		$mismatch++;
		diag("$seg differs after archive-get");
	}
	unlink("$tmp/$seg");
}
is($mismatch, 0, 'every archived segment comes back byte-identical');

# stored files are zstd (the default), and named with the XXH3-128 digest of
# the original (a new stanza is of repository format 2)
my ($one) = grep { -f "$pgwal/$_" } @done;
like($stored->{$one}, qr/\.zst$/, 'segments are stored compressed');
my ($sha) = $stored->{$one} =~ /-([0-9a-f]{32})\.zst$/;
my $local_sha = `xxhsum -H2 $pgwal/$one`;
is(substr($local_sha, 0, 32), $sha, 'stored name carries the content XXH3-128 digest');

# archive-get of an unknown segment: exit code 3, nothing written
my $rc = system('pg_safebackup', 'archive-get', 'FFFFFFFF0000000000000001',
	"$tmp/none", "--repo-path=$repo");
is($rc >> 8, 3, 'archive-get of a missing segment exits with 3');
ok(!-e "$tmp/none", 'nothing written for a missing segment');

# --- identical re-archive (as after a crash) succeeds
my $log_offset = -s $node->logfile;
my $failed_before = SbTest::failed_count($node);
rename("$pgwal/archive_status/$one.done", "$pgwal/archive_status/$one.ready")
  or die;
SbTest::force_switch($node);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f = '$one.ready'"
	),
	'identical re-archive succeeds');
ok($node->log_contains(qr/WAL file "$one" was already in the repository with identical content/, $log_offset),
	'identical re-archive is logged');
is(SbTest::failed_count($node), $failed_before, 'identical re-archive is not a failure');

# the CLI does the same
command_ok([ 'pg_safebackup', 'archive-push', "$pgwal/$one", '-D', $node->data_dir,
	"--repo-path=$repo" ], 'archive-push of an identical segment succeeds');

# --- conflicting content is refused and overwrites nothing
my $stored_copy = "$tmp/stored-before";
copy($stored->{$one}, $stored_copy) or die;
copy("$pgwal/$one", "$tmp/original") or die;
open(my $fh, '+<', "$pgwal/$one") or die;
seek($fh, 4096, 0);
print $fh "conflicting bytes";
close($fh);
$log_offset = -s $node->logfile;
rename("$pgwal/archive_status/$one.done", "$pgwal/archive_status/$one.ready")
  or die;
SbTest::force_switch($node);
ok(SbTest::wait_for_failure($node, $failed_before),
	'conflicting content counts as an archive failure');
ok($node->log_contains(qr/WAL file "$one" is already in the repository with different content/, $log_offset),
	'conflict is logged with a clear message');
ok(-f "$pgwal/archive_status/$one.ready", 'conflicting segment stays ready in pg_wal');
is(compare($stored->{$one}, $stored_copy), 0, 'stored copy is unchanged');
is(scalar(grep { $_ eq $one } keys %{ stored_files() }), 1, 'no second copy stored');
my $status = $node->safe_psql('postgres',
	'SELECT last_failed_wal, last_error FROM safebackup.safebackup_status()');
like($status, qr/^$one\|WAL file "$one" is already in the repository with different content/,
	'safebackup.safebackup_status() shows the last error');
command_fails_like([ 'pg_safebackup', 'archive-push', "$pgwal/$one", '-D', $node->data_dir,
	"--repo-path=$repo" ], qr/different content/, 'archive-push refuses conflicting content');

# put the original back: archiving resumes
copy("$tmp/original", "$pgwal/$one") or die;
SbTest::force_switch($node);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f = '$one.ready'"
	),
	'archiving resumes once the conflict is gone');

# --- unwritable repository: WAL stays in pg_wal, then catches up
SKIP:
{
	skip 'permission tests need a non-root user', 6 if $> == 0;

	my $before = SbTest::switch_and_wait($node);
	$failed_before = SbTest::failed_count($node);
	my @dirs = ("$repo/main/wal", glob("$repo/main/wal/*"));
	chmod 0500, @dirs;
	my $first_blocked = SbTest::current_segment($node);
	$node->safe_psql('postgres', 'CREATE TABLE blocked AS SELECT generate_series(1, 50000) g');
	SbTest::force_switch($node);
	my $blocked_last = SbTest::current_segment($node);
	ok(SbTest::wait_for_failure($node, $failed_before),
		'archiving fails while the repository is unwritable');
	ok(-f "$pgwal/archive_status/$first_blocked.ready", 'blocked segment is kept ready in pg_wal');
	ok(-f "$pgwal/$first_blocked", 'blocked segment file is still in pg_wal');
	like($node->safe_psql('postgres', 'SELECT last_error FROM safebackup.safebackup_status()'),
		qr/Permission denied/, 'the status names the cause');

	chmod 0750, @dirs;
	SbTest::force_switch($node);
	ok( $node->poll_query_until(
			'postgres',
			"SELECT last_archived_wal >= '$blocked_last' FROM pg_stat_archiver"),
		'archiving catches up once the repository is writable');

	# no gap: every segment from the first archived to the last is stored
	my $all = stored_files();
	my @segs = sort grep { /^[0-9A-F]{24}$/ } keys %$all;
	my $missing = grep { !exists $all->{$_} }
	  SbTest::segments_between($segs[0], $blocked_last, 1);
	is($missing, 0, 'no segment is missing after catching up');
}

# --- the launcher reloads on SIGHUP, exits on SIGTERM and is restarted
my $launcher = $node->safe_psql('postgres', 'SELECT launcher_pid FROM safebackup.safebackup_status()');
$log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', 'safebackup.compress_level = 2');
$node->reload;
$node->wait_for_log(qr/parameter "safebackup.compress_level" changed to "2"/, $log_offset);
is($node->safe_psql('postgres', 'SELECT launcher_pid FROM safebackup.safebackup_status()'),
	$launcher, 'launcher keeps running across a reload');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok($node->poll_query_until('postgres',
		"SELECT launcher_state = 'idle' AND launcher_pid <> $launcher FROM safebackup.safebackup_status()"),
	'a terminated launcher is replaced');
ok($node->log_contains(qr/pg_safebackup launcher shutting down/, $log_offset),
	'launcher exits cleanly on SIGTERM');

$node->stop;

# --- a second cluster pointed at the same stanza is refused
my $before_listing = join(',', sort keys %{ stored_files() });
my $other = SbTest::new_node('other', wal_segsize => 1, settings => \@repo_settings,
	start => 0);
$other->start;
SbTest::force_switch($other);
ok(SbTest::wait_for_failure($other), 'second cluster: archiving fails');
ok($other->log_contains(qr/stanza "main" belongs to another cluster/),
	'second cluster: clear error');
ok($other->log_contains(qr/The repository records system identifier \d+, this cluster has \d+/),
	'second cluster: detail names both system identifiers');
is(join(',', sort keys %{ stored_files() }), $before_listing,
	'second cluster wrote nothing into the stanza');

# --- a missing repository is reported by the configuration check
my $offset = -s $other->logfile;
$other->append_conf('postgresql.conf', "safebackup.repo_path = '$repo/does-not-exist'");
$other->reload;
SbTest::force_switch($other);
ok( $other->wait_for_log(
		qr/pg_safebackup cannot archive WAL yet|"?archive_mode"? enabled, yet archiving is not configured/,
		$offset),
	'missing repository: archiving reported as not configured');
ok($other->log_contains(qr/could not access repository directory ".*does-not-exist": No such file or directory/, $offset),
	'missing repository: the log says which directory is missing');
$other->stop;

done_testing();
