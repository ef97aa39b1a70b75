# No hole in the archive after crashes.
#
# PostgreSQL marks a completed WAL segment ready for archiving only after the
# process that completed it has flushed it; a crash in between leaves a
# complete segment with no archive status, which the archiver never looks at
# (PostgreSQL notices it only when a checkpoint is about to remove it).  The
# launcher finds such segments and queues them (backend/wal_gaps.c).
#
# First the gap is made on purpose, so that the repair is tested every time:
# an archived segment loses its .done file and its stored copy; the launcher
# must log the segment, count it in safebackup.safebackup_status() and get it archived
# again.  Then the faults that left such a
# gap in the field: kill -9 of the archiver and of the postmaster at random
# moments under a pgbench load with WAL switches, several times; afterwards
# every segment from the backup's start to the last switch must be in the
# repository and come back byte-identical.
use strict;
use warnings;
use File::Compare;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();

my $node = SbTest::new_node(
	'primary',
	wal_segsize => 1,
	settings => [
		'safebackup.repo_path' => $repo,
		wal_keep_size => '2GB',
		wal_recycle => 'off',
		restart_after_crash => 'on',
		log_statement => 'none'
	]);
my $pgwal = $node->data_dir . '/pg_wal';

$node->command_ok([ 'pgbench', '-i', '-s', '2', 'postgres' ], 'pgbench init');
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
my $first = $node->safe_psql('postgres',
	"SELECT start_wal FROM safebackup.safebackup_backups() WHERE label = '$label'");
like($first, qr/^[0-9A-F]{24}$/, "backup $label starts in $first");

# --- a gap made on purpose: an archived segment loses its status and its
# stored copy, as if it had been completed just before a crash
my $gap = SbTest::switch_and_wait($node);
SbTest::switch_and_wait($node);
my $stored = SbTest::stored_path($repo, $gap);
ok(defined $stored && -f "$pgwal/archive_status/$gap.done", "$gap archived");
unlink("$pgwal/archive_status/$gap.done") or die "could not remove $gap.done: $!";
unlink($stored) or die "could not remove $stored: $!";
ok( $node->poll_query_until(
		'postgres',
		"SELECT wal_gaps_repaired >= 1 AND last_wal_gap = '$gap' FROM safebackup.safebackup_status()"),
	'safebackup.safebackup_status() counts the repaired gap');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_ls_dir('pg_wal/archive_status') f WHERE f = '$gap.done'"),
	'the segment without status is archived');
ok(defined SbTest::stored_path($repo, $gap), "$gap is in the repository");
ok($node->wait_for_log(
		qr/WARNING:  WAL file "$gap" is complete but was never marked ready for archiving/),
	'the server log names it');

# --- faults at random moments under load
sub start_load
{
	my $out = '';
	return IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', '30', '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \$out, '2>', \$out);
}

sub postmaster_pid
{
	open(my $fh, '<', $node->data_dir . '/postmaster.pid') or return undef;
	my $pid = <$fh>;
	close($fh);
	chomp $pid;
	return $pid;
}

# is process PID gone (or a zombie nobody has reaped yet)?
sub process_gone
{
	my ($pid) = @_;
	return 1 unless kill(0, $pid);
	open(my $fh, '<', "/proc/$pid/stat") or return 1;
	my $stat = <$fh>;
	close($fh);
	return $stat =~ /^\d+ \(.*\) Z/ ? 1 : 0;
}

# start the server after its postmaster PID was killed: wait until it is
# gone, then start; the orphaned children need a moment to notice and
# exit before the shared memory is free, so a failed start is retried
sub restart_after_kill
{
	my ($pid) = @_;
	for (my $i = 0; $i < 300 && !process_gone($pid); $i++)
	{
		select(undef, undef, undef, 0.1);
	}
	for (my $i = 0; $i < 60; $i++)
	{
		# the node object still believes the killed postmaster runs
		$node->{_pid} = undef;
		# a zombie's pid file would make the new postmaster refuse to start
		unlink($node->data_dir . '/postmaster.pid') if process_gone($pid) && (postmaster_pid() // '') eq $pid;
		return 1 if $node->start(fail_ok => 1);
		sleep 1;
	}
	return 0;
}

my $rounds = 8;
my $switcher_sql = q{SELECT pg_switch_wal() FROM (SELECT pg_logical_emit_message(false, 'sb', 'x')) m};
for my $round (1 .. $rounds)
{
	my $load = start_load();
	# some WAL switches, then a fault at a random moment
	for (1 .. 3 + int(rand(4)))
	{
		$node->psql('postgres', $switcher_sql);
		select(undef, undef, undef, 0.05 + rand(0.2));
	}
	if ($round % 2)
	{
		$node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'archiver'")
		  or die 'no archiver';
		my $pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver'");
		# the postmaster restarts everything by itself (restart_after_crash)
		SbTest::kill_and_wait_restart($node, $pid);
		$load->finish;
	}
	else
	{
		my $pid = postmaster_pid() or die 'no postmaster.pid';
		kill 'KILL', $pid;
		$load->finish;
		restart_after_kill($pid) or die "round $round: server did not start again";
	}
}
pass("$rounds faults injected under load");

# let archiving catch up, then look for holes
my $last = SbTest::switch_and_wait($node);
# a gap needs two scans of the launcher to be repaired
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('pg_wal') f
		  WHERE f ~ '^[0-9A-F]{24}\$' AND f < '$last'
		    AND NOT EXISTS (SELECT 1 FROM pg_ls_dir('pg_wal/archive_status') s
		                     WHERE s = f || '.done')"),
	'every completed segment in pg_wal is archived');

my @want = SbTest::segments_between($first, $last, 1);
my $counts = SbTest::segment_counts($repo);
my @missing = grep { !$counts->{$_} } @want;
is(scalar(@missing), 0,
	'every segment from the backup start to the last switch is in the repository')
  or diag("missing: @missing");
my @twice = grep { ($counts->{$_} // 0) > 1 } @want;
is(scalar(@twice), 0, 'no segment is stored twice') or diag("twice: @twice");

my $differ = 0;
foreach my $seg (@want)
{
	next unless -f "$pgwal/$seg";
	my $rc = system('pg_safebackup', 'archive-get', $seg, "$tmp/$seg", "--repo-path=$repo");
	if ($rc != 0 || compare("$pgwal/$seg", "$tmp/$seg") != 0)
	{
		$differ++;
		diag("$seg differs from pg_wal after archive-get");
	}
	unlink("$tmp/$seg");
}
is($differ, 0, 'every segment comes back byte-identical');
note('gaps repaired after the faults: '
	  . $node->safe_psql('postgres', 'SELECT wal_gaps_repaired FROM safebackup.safebackup_status()'));

$node->stop;
done_testing();
