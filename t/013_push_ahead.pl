# Push-ahead archiving (safebackup.archive_push_workers): under a pgbench
# load with WAL switches every segment is stored once and comes back
# byte-identical; the workers push segments ahead of a held-up archiver,
# which then takes them without pushing them again; killing a push worker
# and the archiver (crash restarts) while the repository is unwritable and
# then writable again loses nothing and archiving catches up by itself;
# a reload turns the workers off and on again; a promoted standby archives
# its timeline history file, the .partial segment and the new timeline.
use strict;
use warnings;
use File::Compare;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();

my $node = SbTest::new_node(
	'push',
	wal_segsize => 1,
	settings => [
		'safebackup.repo_path' => $repo,
		wal_keep_size => '1GB',
		restart_after_crash => 'on',
		max_wal_senders => '4',
		'safebackup.archive_push_workers' => '2'
	]);
my $pgwal = $node->data_dir . '/pg_wal';
my @dirs;

sub psql { return $node->safe_psql('postgres', $_[0]); }

# wait until exactly N push workers are listed, all of them running
sub wait_workers
{
	my ($n) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = $n AND count(pid) = $n FROM safebackup.safebackup_push_workers()");
}

sub wait_drained
{
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'"
	);
}

sub pushed_total
{
	return psql('SELECT coalesce(sum(pushed_count), 0) FROM safebackup.safebackup_push_workers()');
}

# force_switch N times; the first and last segment completed
sub switch_n
{
	my ($n) = @_;
	my ($first, $last);
	for (1 .. $n)
	{
		$last = SbTest::current_segment($node);
		$first //= $last;
		SbTest::force_switch($node);
	}
	return ($first, $last);
}

# every segment FIRST..LAST is stored exactly once and fetched back
# byte-identical by archive-get
sub check_archive
{
	my ($first, $last, $what) = @_;
	my $counts = SbTest::segment_counts($repo);
	my (@missing, @twice, @differ);
	foreach my $seg (SbTest::segments_between($first, $last, 1))
	{
		my $c = $counts->{$seg} // 0;
		push @missing, $seg if $c == 0;
		push @twice, $seg if $c > 1;
		next unless $c == 1;
		my $rc = system('pg_safebackup', 'archive-get', $seg, "$tmp/$seg",
			"--repo-path=$repo");
		push @differ, $seg
		  if $rc != 0 || compare("$pgwal/$seg", "$tmp/$seg") != 0;
		unlink("$tmp/$seg");
	}
	is("@missing", '', "$what: no segment is missing");
	is("@twice", '', "$what: no segment is stored twice");
	is("@differ", '', "$what: every segment comes back byte-identical");
}

# Hold the archiver up on a backup history file it cannot read (push
# workers leave those to the archiver), complete N segments after it and
# wait until the workers have pushed them all; then let the archiver go.
# Checks that it archives them without pushing any of them again.
sub push_ahead_of_held_archiver
{
	my ($n, $what) = @_;
	my $held = SbTest::switch_and_wait($node);
	my $blocker = "$held.00000028.backup";
	open(my $fh, '>', "$pgwal/$blocker") or die;
	print $fh "START WAL LOCATION: 0/0 (file $held)\n";
	close($fh);
	chmod 0000, "$pgwal/$blocker";
	open($fh, '>', "$pgwal/archive_status/$blocker.ready") or die;
	close($fh);

	my $log_offset = -s $node->logfile;
	my $pushed_before = pushed_total();
	my ($first, $last) = switch_n($n);
	ok( $node->poll_query_until(
			'postgres',
			"SELECT sum(pushed_count) >= $pushed_before + $n FROM safebackup.safebackup_push_workers()"
		),
		"$what: the workers push the segments after the held-up file");
	my $counts = SbTest::segment_counts($repo);
	is(scalar(grep { !$counts->{$_} } SbTest::segments_between($first, $last, 1)),
		0, "$what: all of them are in the repository");
	is(psql('SELECT last_archived_wal FROM pg_stat_archiver'),
		$held, "$what: while the archiver has not got past the held-up file");
	ok(-f "$pgwal/archive_status/$first.ready",
		"$what: and they are still waiting for the archiver");

	chmod 0600, "$pgwal/$blocker";
	SbTest::force_switch($node);
	ok(wait_drained(), "$what: the archiver catches up once the file is readable");
	my @repushed = grep {
		$node->log_contains(
			qr/WAL file "$_" was already in the repository with identical content/,
			$log_offset)
	} SbTest::segments_between($first, $last, 1);
	is("@repushed", '',
		"$what: the archiver takes the pushed segments without pushing them again");
	check_archive($first, $last, $what);
}

ok(wait_workers(2), 'the launcher starts two push workers');
is( psql(
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_safebackup push worker'"
	),
	2,
	'push workers are listed in pg_stat_activity');

# --- a pgbench load with WAL switches: everything archived once, identical
my $first = SbTest::current_segment($node);
$node->command_ok([ 'pgbench', '-i', '-s', '2', 'postgres' ], 'pgbench init');
open(my $sw, '>', "$tmp/switch.sql") or die;
print $sw "SELECT pg_switch_wal();\n";
close($sw);
$node->command_ok(
	[
		'pgbench', '-n', '-c', '2', '-t', '150', '-b', 'tpcb-like@9',
		'-f', "$tmp/switch.sql\@1", 'postgres'
	],
	'pgbench run with WAL switches');
my $last = SbTest::switch_and_wait($node);
ok(wait_drained(), 'under load: nothing is left ready');
check_archive($first, $last, 'under load');
is(psql('SELECT failed_count FROM pg_stat_archiver'), 0,
	'under load: no archive failures');

# --- workers push ahead; the archiver takes their files
push_ahead_of_held_archiver(6, 'push-ahead');
is(psql("SELECT count(*) FROM safebackup.safebackup_push_workers() WHERE state = 'idle'"),
	2, 'both workers are idle afterwards');

# --- unwritable repository, a push worker and the archiver killed: nothing lost
@dirs = ("$repo/main/wal", glob("$repo/main/wal/*"));
chmod 0500, @dirs;
END { chmod 0750, @dirs if @dirs; }    # so that the temporary directory can go
my $from = SbTest::current_segment($node);
my $worker_failures = psql('SELECT sum(failed_count) FROM safebackup.safebackup_push_workers()');
$node->command_ok(
	[
		'pgbench', '-n', '-c', '2', '-t', '60', '-b', 'tpcb-like@4',
		'-f', "$tmp/switch.sql\@1", 'postgres'
	],
	'pgbench run while the repository is unwritable');
my (undef, $to) = switch_n(1);
ok(SbTest::wait_for_failure($node), 'the archiver fails while the repository is unwritable');
ok( $node->poll_query_until(
		'postgres',
		"SELECT sum(failed_count) > $worker_failures FROM safebackup.safebackup_push_workers()"),
	'push workers fail too');
ok(-f "$pgwal/archive_status/$from.ready", 'the first blocked segment stays ready');
ok(!defined SbTest::stored_path($repo, $from), 'and is not in the repository');

my $log_offset = -s $node->logfile;
my $victim = psql('SELECT pid FROM safebackup.safebackup_push_workers() WHERE worker = 0');
kill 'KILL', $victim;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
ok(wait_workers(2), 'after the crash restart two push workers run again');
ok(-f "$pgwal/archive_status/$from.ready",
	'after the crash restart the blocked segment is still ready');

chmod 0750, @dirs;
# the archiver counts anew after the crash restart; kill it once it has
# archived something (or nothing is left: either way nothing may be lost)
$node->poll_query_until('postgres',
	"SELECT archived_count > 0 OR NOT EXISTS (SELECT FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready') FROM pg_stat_archiver"
) or die 'archiving did not resume';
$log_offset = -s $node->logfile;
my $archiver = psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver'");
kill 'KILL', $archiver;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
ok(wait_drained(), 'archiving catches up by itself after the crashes');
check_archive($from, $to, 'after the crashes');

# --- reload: workers off, archiving goes on, workers on again
psql('ALTER SYSTEM SET safebackup.archive_push_workers = 0');
$node->reload;
ok(wait_workers(0), 'a reload to 0 stops the push workers');
is( psql(
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_safebackup push worker'"
	),
	0,
	'no push worker process is left');
my ($off_first, $off_last) = switch_n(3);
ok(wait_drained(), 'without push workers the archiver archives alone');
check_archive($off_first, $off_last, 'workers off');

psql('ALTER SYSTEM SET safebackup.archive_push_workers = 2');
$node->reload;
ok(wait_workers(2), 'a reload to 2 starts two push workers again');
push_ahead_of_held_archiver(4, 'after the reload');

# --- timeline switch: a standby promoted with push workers on
$node->backup('tl');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'tl', has_streaming => 1);
$standby->start;
$node->safe_psql('postgres', "SELECT pg_logical_emit_message(false, 'sb', 'last on 1')");
$node->wait_for_catchup($standby);
$node->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'promotion did not finish';
ok( $standby->poll_query_until(
		'postgres', 'SELECT count(*) = 2 AND count(pid) = 2 FROM safebackup.safebackup_push_workers()'),
	'the promoted standby runs two push workers');
my $tl2_first = SbTest::current_segment($standby);
SbTest::force_switch($standby);
my $tl2_last = SbTest::switch_and_wait($standby);
ok( $standby->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'"
	),
	'the promoted standby archives everything');
my $swal = $standby->data_dir . '/pg_wal';
my @partial = map { s{.*/}{}r } glob("$swal/*.partial");
is(scalar(@partial), 1, 'promotion left one .partial segment');
foreach my $f ('00000002.history', @partial, $tl2_first, $tl2_last)
{
	my $rc = system('pg_safebackup', 'archive-get', $f, "$tmp/$f", "--repo-path=$repo");
	ok($rc == 0 && compare("$swal/$f", "$tmp/$f") == 0,
		"timeline switch: $f is stored and comes back byte-identical");
	unlink("$tmp/$f");
}

$standby->stop;
done_testing();
