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

my $repo = PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();

sub repo_conf
{
	my ($node) = @_;
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'pg_safebackup'
wal_level = replica
archive_mode = on
archive_library = 'pg_safebackup'
safebackup.repo_path = '$repo'
wal_keep_size = '1GB'
});
}

# every stored WAL file, as { walname => repository path }
sub stored_files
{
	my %files;
	my $root = "$repo/main/wal";
	return \%files unless -d $root;
	opendir(my $dh, $root) or die "could not open $root: $!";
	foreach my $dir (grep { !/^\./ } readdir($dh))
	{
		opendir(my $sub, "$root/$dir") or die;
		foreach my $f (grep { !/^\./ } readdir($sub))
		{
			next unless $f =~ /^([0-9A-F]{24}(?:\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)-[0-9a-f]{64}(\.gz)?$/;
			die "$1 stored twice" if exists $files{$1};
			$files{$1} = "$root/$dir/$f";
		}
		closedir($sub);
	}
	closedir($dh);
	return \%files;
}

# the segment the next WAL record goes into (pg_walfile_name() of a
# position exactly on a segment boundary names the previous segment)
sub current_segment
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		'SELECT pg_walfile_name(pg_current_wal_insert_lsn() + 1)');
}

# write a record and switch, so that a new segment is always completed
# (this also wakes the archiver)
sub force_switch
{
	my ($node) = @_;
	$node->safe_psql('postgres',
		"SELECT pg_logical_emit_message(false, 'sb', 'x'); SELECT pg_switch_wal()");
}

sub switch_and_wait
{
	my ($node) = @_;
	my $seg = current_segment($node);
	force_switch($node);
	$node->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")
	  or die "timed out waiting for $seg to be archived";
	return $seg;
}

sub archiver_failures
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		'SELECT failed_count FROM pg_stat_archiver');
}

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(extra => ['--wal-segsize=1']);
repo_conf($node);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_safebackup');

# --- many segments under load, fetched back byte-identical
$node->command_ok([ 'pgbench', '-i', '-s', '3', 'postgres' ], 'pgbench init');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '300', 'postgres' ],
	'pgbench run');
my $last = switch_and_wait($node);

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

# stored files are gzip, and named with the SHA-256 of the original
my ($one) = grep { -f "$pgwal/$_" } @done;
like($stored->{$one}, qr/\.gz$/, 'segments are stored compressed');
my ($sha) = $stored->{$one} =~ /-([0-9a-f]{64})\.gz$/;
my $local_sha = `sha256sum $pgwal/$one`;
is(substr($local_sha, 0, 64), $sha, 'stored name carries the content SHA-256');

# archive-get of an unknown segment: exit code 3, nothing written
my $rc = system('pg_safebackup', 'archive-get', 'FFFFFFFF0000000000000001',
	"$tmp/none", "--repo-path=$repo");
is($rc >> 8, 3, 'archive-get of a missing segment exits with 3');
ok(!-e "$tmp/none", 'nothing written for a missing segment');

# --- identical re-archive (as after a crash) succeeds
my $log_offset = -s $node->logfile;
my $failed_before = archiver_failures($node);
rename("$pgwal/archive_status/$one.done", "$pgwal/archive_status/$one.ready")
  or die;
force_switch($node);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f = '$one.ready'"
	),
	'identical re-archive succeeds');
ok($node->log_contains(qr/WAL file "$one" was already in the repository with identical content/, $log_offset),
	'identical re-archive is logged');
is(archiver_failures($node), $failed_before, 'identical re-archive is not a failure');

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
force_switch($node);
ok( $node->poll_query_until(
		'postgres', "SELECT failed_count > $failed_before FROM pg_stat_archiver"),
	'conflicting content counts as an archive failure');
ok($node->log_contains(qr/WAL file "$one" is already in the repository with different content/, $log_offset),
	'conflict is logged with a clear message');
ok(-f "$pgwal/archive_status/$one.ready", 'conflicting segment stays ready in pg_wal');
is(compare($stored->{$one}, $stored_copy), 0, 'stored copy is unchanged');
is(scalar(grep { $_ eq $one } keys %{ stored_files() }), 1, 'no second copy stored');
my $status = $node->safe_psql('postgres',
	'SELECT last_failed_wal, last_error FROM safebackup_status()');
like($status, qr/^$one\|WAL file "$one" is already in the repository with different content/,
	'safebackup_status() shows the last error');
command_fails_like([ 'pg_safebackup', 'archive-push', "$pgwal/$one", '-D', $node->data_dir,
	"--repo-path=$repo" ], qr/different content/, 'archive-push refuses conflicting content');

# put the original back: archiving resumes
copy("$tmp/original", "$pgwal/$one") or die;
force_switch($node);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f = '$one.ready'"
	),
	'archiving resumes once the conflict is gone');

# --- unwritable repository: WAL stays in pg_wal, then catches up
SKIP:
{
	skip 'permission tests need a non-root user', 6 if $> == 0;

	my $before = switch_and_wait($node);
	$failed_before = archiver_failures($node);
	my @dirs = ("$repo/main/wal", glob("$repo/main/wal/*"));
	chmod 0500, @dirs;
	my $first_blocked = current_segment($node);
	$node->safe_psql('postgres', 'CREATE TABLE blocked AS SELECT generate_series(1, 50000) g');
	force_switch($node);
	my $blocked_last = current_segment($node);
	ok( $node->poll_query_until(
			'postgres', "SELECT failed_count > $failed_before FROM pg_stat_archiver"),
		'archiving fails while the repository is unwritable');
	ok(-f "$pgwal/archive_status/$first_blocked.ready", 'blocked segment is kept ready in pg_wal');
	ok(-f "$pgwal/$first_blocked", 'blocked segment file is still in pg_wal');
	like($node->safe_psql('postgres', 'SELECT last_error FROM safebackup_status()'),
		qr/Permission denied/, 'the status names the cause');

	chmod 0750, @dirs;
	force_switch($node);
	ok( $node->poll_query_until(
			'postgres',
			"SELECT last_archived_wal >= '$blocked_last' FROM pg_stat_archiver"),
		'archiving catches up once the repository is writable');

	# no gap: every segment from the first archived to the last is stored
	my $all = stored_files();
	my @segs = sort grep { /^[0-9A-F]{24}$/ } keys %$all;
	# 1 MB segments: 4096 per "log" number
	my $segno = sub { hex(substr($_[0], 8, 8)) * 4096 + hex(substr($_[0], 16, 8)) };
	my $tli = substr($segs[0], 0, 8);
	my $missing = 0;
	for (my $i = $segno->($segs[0]); $i <= $segno->($blocked_last); $i++)
	{
		my $name = sprintf('%s%08X%08X', $tli, int($i / 4096), $i % 4096);
		$missing++ unless exists $all->{$name};
	}
	is($missing, 0, 'no segment is missing after catching up');
}

# --- the launcher reloads on SIGHUP, exits on SIGTERM and is restarted
my $launcher = $node->safe_psql('postgres', 'SELECT launcher_pid FROM safebackup_status()');
$log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', 'safebackup.compress_level = 2');
$node->reload;
$node->wait_for_log(qr/parameter "safebackup.compress_level" changed to "2"/, $log_offset);
is($node->safe_psql('postgres', 'SELECT launcher_pid FROM safebackup_status()'),
	$launcher, 'launcher keeps running across a reload');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok($node->poll_query_until('postgres',
		"SELECT launcher_state = 'idle' AND launcher_pid <> $launcher FROM safebackup_status()"),
	'a terminated launcher is replaced');
ok($node->log_contains(qr/pg_safebackup launcher shutting down/, $log_offset),
	'launcher exits cleanly on SIGTERM');

$node->stop;

# --- a second cluster pointed at the same stanza is refused
my $before_listing = join(',', sort keys %{ stored_files() });
my $other = PostgreSQL::Test::Cluster->new('other');
$other->init(extra => ['--wal-segsize=1']);
repo_conf($other);
$other->start;
force_switch($other);
ok( $other->poll_query_until('postgres',
		'SELECT failed_count > 0 FROM pg_stat_archiver'),
	'second cluster: archiving fails');
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
force_switch($other);
ok( $other->wait_for_log(
		qr/pg_safebackup cannot archive WAL yet|"?archive_mode"? enabled, yet archiving is not configured/,
		$offset),
	'missing repository: archiving reported as not configured');
ok($other->log_contains(qr/could not access repository directory ".*does-not-exist": No such file or directory/, $offset),
	'missing repository: the log says which directory is missing');
$other->stop;

done_testing();
