# A repository that fails stops holding the others back once it has failed
# for safebackup.archive_repo_hold, and catches up by itself.  Two posix
# repositories, the second with its own compression and encryption; the
# second is made unwritable: archiving goes on into the first, the
# segments the second misses are recorded (and survive a restart), verify
# and archive-get of the second say what is missing; once it is writable
# again every missed segment reaches it, stored its own way, and reads back
# byte for byte the same as from the first; the record is gone.  If the
# first fails too, archiving stops: a segment is never archived nowhere.
use strict;
use warnings;
use File::Compare;
use File::Find;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo1 = PostgreSQL::Test::Utils::tempdir();
my $repo2 = PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $pass = "$tmp/pass2";
open(my $fh, '>', $pass) or die "open $pass: $!";
print $fh "the second repository's passphrase\n";
close($fh);
chmod(0600, $pass) or die "chmod $pass: $!";

my $node = SbTest::new_node('primary',
	settings => [
		'safebackup.repo_path' => $repo1,
		'safebackup.repo2_path' => $repo2,
		'safebackup.repo2_compress_type' => 'lz4',
		'safebackup.repo2_cipher_type' => 'aes-256-gcm',
		'safebackup.repo2_cipher_pass_file' => $pass,
		'safebackup.archive_repo_hold' => '1s',
	]);
my $record = $node->data_dir . '/pg_safebackup/repo2.missed';
my @both = (
	"--repo-path=$repo1", "--repo2-path=$repo2",
	'--repo2-cipher-type=aes-256-gcm', "--repo2-cipher-pass-file=$pass");

sub set_writable
{
	my ($root, $writable) = @_;
	find(sub { chmod($writable ? 0700 : 0500, $_) if -d $_ }, $root);
}

sub repo_state
{
	return $node->safe_psql('postgres',
		"SELECT state || ' ' || missed_wal FROM safebackup.archive_repositories WHERE repo = 2");
}

sub record_lines
{
	return () unless -f $record;
	my @lines = split /\n/, slurp_file($record);
	my $done = 0;
	my $done_file = $node->data_dir . '/pg_safebackup/repo2.done';
	$done = slurp_file($done_file) + 0 if -f $done_file;
	my $off = 0;
	return grep { my $skip = $off < $done; $off += length($_) + 1; !$skip } @lines;
}

# archive-get of $seg from repository $n alone; returns (exit code, file)
sub get_from
{
	my ($n, $seg) = @_;
	my $dest = "$tmp/$seg.repo$n";
	unlink($dest);
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_safebackup', 'archive-get', $seg, $dest, @both, "--repo=$n",
			"--pgdata=$tmp" ], '>', \$out, '2>', \$err);
	return ($? >> 8, $dest, $err);
}

$node->safe_psql('postgres',
	"CREATE TABLE t (g int, h text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
my $first = SbTest::switch_and_wait($node);
ok(defined SbTest::stored_path($repo2, $first), "$first in repository 2 while it works");
is(repo_state(), 'current 0', 'repository 2 is current');
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true, repo => 2)');
like($label, qr/^\d{8}-\d{6}F$/, "backup $label in repository 2");

# --- repository 2 unwritable: it falls behind, archiving goes on
set_writable("$repo2/main", 0);
my @missed;
foreach my $i (1 .. 4)
{
	$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'behind$i' FROM generate_series(1, 500) g");
	push @missed, SbTest::switch_and_wait($node);
}
pass('four segments archived while repository 2 is unwritable');
like(slurp_file($node->logfile),
	qr/WARNING:  repository 2 fell behind: WAL file "[0-9A-F]{24}" is archived without it/,
	'the log says repository 2 fell behind');
like(repo_state(), qr/^behind [1-9]/, 'safebackup.archive_repositories: repository 2 is behind');
my @recorded = record_lines();
foreach my $seg (@missed)
{
	ok(defined SbTest::stored_path($repo1, $seg), "$seg in repository 1");
	ok(!defined SbTest::stored_path($repo2, $seg), "$seg not in repository 2");
	ok((grep { $_ eq $seg } @recorded), "$seg recorded as missed by repository 2");
}
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'"),
	'0', 'nothing waits in pg_wal: repository 2 does not hold archiving back');
is($node->safe_psql('postgres', 'SELECT repositories_behind || \' \' || (missed_wal > 0) FROM safebackup.archiving'),
	'1 true', 'safebackup.archiving counts the repository behind');

# what a restore from repository 2 alone sees, and with both
my ($rc, $file, $err) = get_from(2, $missed[0]);
is($rc, 3, "archive-get --repo=2 of a missed segment: not in repository 2 (exit 3)");
my ($out, $verr) = ('', '');
# repository 2 misses the newest segments only, oldest first: no hole
IPC::Run::run([ 'pg_safebackup', 'verify', @both, '--repo=2' ], '>', \$out, '2>', \$verr);
is($? >> 8, 0, 'verify --repo=2 passes while repository 2 is behind: no hole, only a missing end');
my ($wal_end) = $out =~ /WAL \S+ to (\S+),/;
ok(defined $wal_end && $wal_end lt $missed[0],
	'its WAL ends before the first segment it missed') or diag($out . $verr);
IPC::Run::run([ 'pg_safebackup', 'archive-get', $missed[0], "$tmp/seg", @both, "--pgdata=$tmp" ],
	'>', \$out, '2>', \$err);
like($err, qr/fetched WAL file "$missed[0]" from repository 1/,
	'archive-get with both repositories takes it from repository 1');

# --- a restart keeps the record, and repository 2 stays behind; a line
# torn by a crash during an append (of a file never reported archived) is
# cut off when the record is read again
my $before_restart = join(',', record_lines());
$node->stop;
open(my $rf, '>>', $record) or die "open $record: $!";
print $rf '00000001000000000000';
close($rf);
$node->start;
# (a segment completed at the shutdown may have been added)
is(substr(join(',', record_lines()), 0, length($before_restart)), $before_restart,
	'the record survives a restart');
like(repo_state(), qr/^behind [1-9]/, 'repository 2 is still behind after the restart');
unlike(slurp_file($record), qr/[^\n]\z/, 'the torn line is cut off');
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'restarted' FROM generate_series(1, 500) g");
push @missed, SbTest::switch_and_wait($node);
ok((grep { $_ eq $missed[-1] } record_lines()), "$missed[-1], archived after the restart, is recorded too");

# --- repository 1 fails as well: never archived nowhere
set_writable("$repo1/main/wal", 0);
my $failed = SbTest::failed_count($node);
my $stuck = SbTest::current_segment($node);
SbTest::force_switch($node);
# three failed attempts are a second apart: past the hold of 1s
$node->poll_query_until('postgres', "SELECT failed_count >= $failed + 3 FROM pg_stat_archiver")
  or die 'archiving did not fail';
ok(-f $node->data_dir . "/pg_wal/archive_status/$stuck.ready",
	"with both repositories failing $stuck stays ready in pg_wal");
ok($node->safe_psql('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver') lt $stuck,
	"and is not reported archived");
is($node->safe_psql('postgres',
		"SELECT state FROM safebackup.archive_repositories WHERE repo = 1"),
	'failing', 'repository 1 is failing, never behind: it is the only one left');
set_writable("$repo1/main/wal", 1);
$node->poll_query_until('postgres', "SELECT last_archived_wal >= '$stuck' FROM pg_stat_archiver")
  or die "timed out waiting for $stuck";
push @missed, $stuck;

# --- repository 2 writable again: it catches up by itself
my $caught_offset = -s $node->logfile;
set_writable("$repo2/main", 1);
$node->poll_query_until('postgres',
	"SELECT state FROM safebackup.archive_repositories WHERE repo = 2", 'current')
  or die 'repository 2 did not catch up';
pass('repository 2 caught up');
ok(!-e $record, 'the record is gone');
# the state is shared before the message is written: wait for the line
ok($node->wait_for_log(qr/LOG:  repository 2 has caught up/, $caught_offset),
	'the log says so');
foreach my $seg (@missed)
{
	my $stored = SbTest::stored_path($repo2, $seg);
	ok(defined $stored && $stored =~ /\.lz4$/, "$seg in repository 2, with its own compression");
	my ($rc1, $f1) = get_from(1, $seg);
	my ($rc2, $f2) = get_from(2, $seg);
	ok($rc1 == 0 && $rc2 == 0 && compare($f1, $f2) == 0,
		"$seg reads back from repository 2 byte for byte as from repository 1");
}
IPC::Run::run([ 'pg_safebackup', 'verify', @both, '--repo=2' ], '>', \$out, '2>', \$verr);
is($? >> 8, 0, 'verify --repo=2 passes once it has caught up');
($wal_end) = $out =~ /WAL \S+ to (\S+),/;
ok(defined $wal_end && $wal_end ge $missed[-1], 'and its WAL reaches the last segment it had missed')
  or diag($out . $verr);

# new segments go straight to both again
my $after = SbTest::switch_and_wait($node);
ok(defined SbTest::stored_path($repo2, $after), "$after archived into repository 2 directly");
ok(!-e $record, 'nothing recorded');

done_testing();
