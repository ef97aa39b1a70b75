# Backups from a hot standby.  A primary archives into the repository, a
# streaming standby (same stanza, same repository) takes the backups.
#
# 1. With pgbench running on the primary, safebackup.safebackup_start()
#    on the standby copies the standby's files, stops (the standby cannot
#    switch WAL) and completes once the primary has archived its last
#    segment.  The manifest, info and the backup_label say it was taken on
#    a standby; restored to the latest WAL and to a time, the data match
#    the primary's.
# 2. The primary stops archiving: a standby backup fails after
#    safebackup.backup_wal_timeout with the error and hint, and is not
#    listed.
# 3. The standby archives itself (archive_mode = always, with push-ahead
#    workers) while the primary does not: a standby backup waits until the
#    primary completes its last segment (nothing else completes it), then
#    completes with the standby's WAL; then the primary archives the same
#    segments, each is confirmed as identical and stored once, and the
#    backup restores.
# 4. safebackup.schedule_on_standby = only: at the scheduled minute the
#    standby takes the backup, the primary skips it and says why.
# 5. The standby is promoted while a backup waits for its WAL: the backup
#    fails at once, saying so, and is not listed.
use strict;
use warnings;
use POSIX qw(floor);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $scratch = PostgreSQL::Test::Utils::tempdir();
# a file where a directory is expected: a repository nobody can write into
my $not_a_repo = "$scratch/not-a-directory";
open(my $fh, '>', $not_a_repo) or die "could not create $not_a_repo: $!";
close($fh);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# no autovacuum: after a checkpoint its full-page images filled the rest of
# the primary's segment in a second, which completed the segment a standby
# backup of section 5 must still be waiting for when the standby is promoted
SbTest::configure($primary, 'safebackup.repo_path' => $repo, timezone => 'UTC',
	autovacuum => 'off');
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pg_safebackup');

my $state_query = q{SELECT count(*) || ':' || coalesce(md5(string_agg(g::text || h, ',' ORDER BY g)), '')
	FROM t};
my @compare = (
	$state_query,
	'SELECT count(*) || \':\' || sum(abalance) FROM pgbench_accounts',
	'SELECT count(*) || \':\' || coalesce(sum(delta), 0) FROM pgbench_history');

$primary->command_ok([ 'pgbench', '-i', '-s', '2', 'postgres' ], 'pgbench init');
$primary->safe_psql('postgres',
	"CREATE TABLE t (g int, h text);
	 INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
SbTest::switch_and_wait($primary);

$primary->backup('for_standby');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'for_standby', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
$standby->poll_query_until('postgres',
	"SELECT launcher_state = 'idle' FROM safebackup.safebackup_status()")
  or die 'the launcher does not run on the standby';
pass('the launcher runs on the hot standby');
my $push_workers = q{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'pg_safebackup push worker'};
is($standby->safe_psql('postgres', $push_workers), '0',
	'no push-ahead workers on a standby that does not archive');

# switch_primary([TEXT]): the primary completes its segment, and writes a
# commit into the next one: a standby's WAL receiver marks a received
# segment ready for its own archiver (archive_mode = always) when it closes
# it, which it may do only on data of the next segment.
sub switch_primary
{
	my ($text) = @_;
	SbTest::force_switch($primary, $text);
	$primary->safe_psql('postgres', 'SELECT txid_current()');
}

# settle(): a checkpoint on the primary, replayed by the standby.  The
# standby's next backup starts at a restartpoint there, so it stops in the
# primary's current segment, which is archived only once the primary
# completes it: without a WAL switch on the primary the backup must wait.
sub settle
{
	$primary->safe_psql('postgres', 'CHECKPOINT');
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
}

# standby_backup_to_wal_wait(): starts a backup on the standby and waits
# until it waits for WAL (or has ended); returns its label
sub standby_backup_to_wal_wait
{
	my $label = $standby->safe_psql('postgres', 'SELECT safebackup.safebackup_start()');
	$standby->poll_query_until('postgres',
		"SELECT backup_phase IN ('waiting for WAL archiving', 'done', 'failed')
		   FROM safebackup.safebackup_status()")
	  or die "backup $label did not reach the WAL wait";
	return $label;
}

sub wait_backup_end
{
	$standby->poll_query_until('postgres',
		"SELECT backup_phase IN ('done', 'failed') FROM safebackup.safebackup_status()")
	  or die 'the standby backup did not end';
	return $standby->safe_psql('postgres',
		'SELECT backup_phase || coalesce(\': \' || backup_error, \'\') FROM safebackup.safebackup_status()');
}

# listed(): the complete backups, as "label backup_from timeline" (from
# their manifests), joined with ","
sub listed
{
	my @labels = split /\n/, $standby->safe_psql('postgres',
		'SELECT label FROM safebackup.safebackup_backups() ORDER BY label');
	return join(',', map {
		my $m = slurp_file("$repo/main/backup/$_/backup.manifest");
		my ($from) = $m =~ /^backup_from=(\w+)$/m;
		my ($tli) = $m =~ /^timeline=(\d+)$/m;
		"$_ " . ($from // 'none') . ' ' . ($tli // 'none');
	} @labels);
}

# ---------------------------------------------------------------------
# 1. a backup on the standby while the primary is under load
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '2', '-t', '1500', '-h', $primary->host,
		'-p', $primary->port, 'postgres'
	],
	'>', \my $bench_out, '2>', \my $bench_err);

my $offset = -s $standby->logfile;
my $label1 = standby_backup_to_wal_wait();
$bench->finish;
is($bench->result(0), 0, 'pgbench ran on the primary during the backup')
  or diag($bench_err);
SbTest::force_switch($primary);
is(wait_backup_end(), 'done', "standby backup $label1 completes once the primary archived the segment");
ok($standby->log_contains(qr/base backup "$label1" is taken on a standby, from [0-9A-F]+\/[0-9A-F]+ on timeline 1/, $offset),
	'the log says the backup is taken on a standby');
is(listed(), "$label1 standby 1", 'safebackup_backups() on the standby lists it; its manifest says standby, timeline 1');
is($primary->safe_psql('postgres', 'SELECT label FROM safebackup.safebackup_backups()'),
	$label1, 'the primary sees the same backup in the same repository');
my $manifest = slurp_file("$repo/main/backup/$label1/backup.manifest");
like($manifest, qr/^backup_from=standby$/m, 'the manifest records backup_from=standby');
like($manifest, qr/^timeline=1$/m, 'and the timeline');
like($manifest, qr/^stop_timeline=1$/m, 'and the stop timeline');
command_like([ 'pg_safebackup', 'info', "--repo-path=$repo" ],
	qr/\Q$label1\E \(full\)\n.*\n.*\n\s+timeline 1, taken on a standby,/,
	'pg_safebackup info shows where the backup was taken');

# after the backup: a batch, the target time, another batch
$primary->safe_psql('postgres', "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1001, 2000) g");
my $expect_time = SbTest::query_state($primary, @compare);
sleep 1;
my $target_time = $primary->safe_psql('postgres', 'SELECT now()');
sleep 1;
$primary->safe_psql('postgres', "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(2001, 3000) g");
my $expect_latest = SbTest::query_state($primary, @compare);
SbTest::switch_and_wait($primary);

my %targets = (latest => [], time => ["--target-time=$target_time"]);
my %expect = (latest => $expect_latest, time => $expect_time);
foreach my $kind (sort keys %targets)
{
	my $restored = PostgreSQL::Test::Cluster->new("restored_$kind");
	SbTest::restore_ok($restored,
		[ "--repo-path=$repo", '--stanza=main', @{ $targets{$kind} } ],
		"restore the standby backup to $kind");
	ok(!-e $restored->data_dir . '/standby.signal', "$kind: the standby's standby.signal is not restored");
	like(slurp_file($restored->data_dir . '/backup_label'), qr/^BACKUP FROM: standby$/m,
		"$kind: the restored backup_label says BACKUP FROM: standby");
	SbTest::start_restored($restored, $kind);
	is(SbTest::query_state($restored, @compare), $expect{$kind},
		"$kind: data restored from the standby backup match the primary's");
	$restored->stop;
}

# ---------------------------------------------------------------------
# 2. the primary stops archiving: the standby backup times out
my ($ret, $out, $err);
$primary->safe_psql('postgres',
	"ALTER SYSTEM SET safebackup.repo_path = '$not_a_repo'; SELECT pg_reload_conf()");
$primary->poll_query_until('postgres', 'SHOW safebackup.repo_path', $not_a_repo)
  or die 'repo_path not changed';
$standby->append_conf('postgresql.conf', "safebackup.backup_wal_timeout = 10\n");
$standby->reload;
$standby->poll_query_until('postgres', 'SHOW safebackup.backup_wal_timeout', '10s')
  or die 'timeout not in force';
settle();
$offset = -s $standby->logfile;
my $failed = standby_backup_to_wal_wait();
# the primary completes the segment, but cannot archive it
switch_primary('unarchived');
like(wait_backup_end(),
	qr/^failed: WAL file "[0-9A-F]{24}" needed by the backup did not reach the repository within 10 seconds$/,
	'a standby backup fails when the primary does not archive, naming the WAL file and the timeout');
ok($standby->log_contains(qr/DETAIL:  The backup was taken on a standby/, $offset),
	'the server log says why');
ok($standby->log_contains(qr/HINT:  Check archiving on the primary.*set archive_timeout on the primary, or run pg_switch_wal\(\) there/, $offset),
	'and what to do');
# the SQL error of a waiting caller carries the same message
($ret, $out, $err) = $standby->psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
isnt($ret, 0, 'safebackup.safebackup_start(wait => true) fails too');
like($err, qr/backup "[^"]+" failed: WAL file "[0-9A-F]{24}" needed by the backup did not reach the repository within 10 seconds/,
	'with the same error');
is(listed(), "$label1 standby 1", 'the failed backup is not listed');

# ---------------------------------------------------------------------
# 3. the standby archives its own WAL (archive_mode = always); the primary
#    still does not
$standby->append_conf('postgresql.conf', "archive_mode = always\nsafebackup.backup_wal_timeout = 120\n");
$standby->restart;
ok($standby->poll_query_until('postgres', "SELECT ($push_workers) > 0"),
	'the standby that archives runs push-ahead workers');
settle();
$offset = -s $standby->logfile;
my $label2 = standby_backup_to_wal_wait();
# nothing completes the primary's current segment (no archive_timeout, no
# load): the backup can only wait, until the primary switches
ok($standby->wait_for_log(qr/base backup waits for WAL file "[0-9A-F]{24}" to reach the repository/, $offset),
	'the standby backup waits for its last WAL segment');
is($standby->safe_psql('postgres', 'SELECT backup_phase FROM safebackup.safebackup_status()'),
	'waiting for WAL archiving', 'and is still waiting');
switch_primary('for the standby archiver');
is(wait_backup_end(), 'done', "standby backup $label2 completes with WAL archived by the standby");
is(listed(), "$label1 standby 1,$label2 standby 1", 'listed as taken on a standby');
my $standby_archived = $standby->safe_psql('postgres', 'SELECT archived_count FROM pg_stat_archiver');
cmp_ok($standby_archived, '>', 0, "the standby archived $standby_archived files");

# the primary archives again: the same segments, already stored by the standby
my $primary_failed = SbTest::failed_count($primary);
my $primary_offset = -s $primary->logfile;
$primary->safe_psql('postgres',
	"ALTER SYSTEM RESET safebackup.repo_path; SELECT pg_reload_conf()");
$primary->poll_query_until('postgres', 'SHOW safebackup.repo_path', $repo)
  or die 'repo_path not restored';
my $last = SbTest::switch_and_wait($primary);
ok($primary->log_contains(qr/WAL file "[0-9A-F]{24}" was already in the repository with identical content/, $primary_offset),
	'the primary finds segments the standby stored, with identical content');
is(SbTest::failed_count($primary), $primary_failed, 'and no archive attempt of the primary failed');
$standby->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
  or die "the standby did not archive $last";
is($standby->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'),
	'0', 'no archive attempt of the standby failed either');
my $counts = SbTest::segment_counts($repo);
is(join(',', grep { $counts->{$_} != 1 } sort keys %$counts), '',
	'every segment archived by both is stored once');

$primary->safe_psql('postgres', "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(3001, 4000) g");
my $expect_always = SbTest::query_state($primary, @compare);
SbTest::switch_and_wait($primary);
{
	my $restored = PostgreSQL::Test::Cluster->new('restored_always');
	SbTest::restore_ok($restored, [ "--repo-path=$repo", '--stanza=main', "--backup=$label2" ],
		"restore $label2");
	SbTest::start_restored($restored, 'always');
	is(SbTest::query_state($restored, @compare), $expect_always,
		'data restored from the backup with standby-archived WAL match the primary\'s');
	$restored->stop;
}

# ---------------------------------------------------------------------
# 4. scheduled backups: "only" runs on the standby and not on the primary
my $now = $primary->safe_psql('postgres', 'SELECT extract(epoch FROM now())');
my $target = (floor($now / 60) + 1) * 60;
$target += 60 if $target - $now < 15;
my $fields = $primary->safe_psql('postgres',
	"SELECT to_char(to_timestamp($target) AT TIME ZONE 'UTC', 'FMMI FMHH24 FMDD FMMM')");
my $schedule = "$fields *";
note "schedule \"$schedule\", due at epoch $target, now $now";
$offset = -s $standby->logfile;
$primary_offset = -s $primary->logfile;
foreach my $node ($primary, $standby)
{
	$node->append_conf('postgresql.conf',
		"safebackup.backup_schedule = '$schedule'\nsafebackup.schedule_on_standby = only\n");
	$node->reload;
	$node->poll_query_until('postgres',
		"SELECT next_scheduled_backup = to_timestamp($target) FROM safebackup.safebackup_status()")
	  or die $node->name . ': the schedule is not planned';
}
ok($standby->wait_for_log(qr/scheduled backup "[^"]+" started/, $offset),
	'the standby starts the scheduled backup');
$standby->poll_query_until('postgres',
	"SELECT backup_started >= to_timestamp($target)
	        AND backup_phase IN ('waiting for WAL archiving', 'done', 'failed')
	   FROM safebackup.safebackup_status()")
  or die 'the scheduled backup did not reach the WAL wait';
switch_primary('for the scheduled backup');
is(wait_backup_end(), 'done', 'the scheduled standby backup completes');
ok($primary->wait_for_log(qr/skipping the scheduled backup of .*: this server is not a standby/, $primary_offset),
	'the primary skips it and says why');
is($primary->safe_psql('postgres',
		"SELECT count(*) FROM safebackup.safebackup_backups() WHERE start_time >= to_timestamp($target)"),
	'1', 'one backup at the scheduled minute, taken on the standby');
foreach my $node ($primary, $standby)
{
	$node->append_conf('postgresql.conf', "safebackup.backup_schedule = ''\n");
	$node->reload;
}
my $listed_before = listed();

# ---------------------------------------------------------------------
# 5. the standby is promoted while a backup waits for its WAL: the primary
# starts a new segment first, so the one the backup stops in is far from full
switch_primary('before the promoted backup');
settle();
$offset = -s $standby->logfile;
my $label3 = standby_backup_to_wal_wait();
is($standby->safe_psql('postgres', 'SELECT backup_phase FROM safebackup.safebackup_status()'),
	'waiting for WAL archiving', 'a standby backup waits for its WAL');
$standby->promote;
like(wait_backup_end(), qr/^failed: the standby was promoted while the backup waited for its WAL$/,
	'promoting the standby fails the waiting backup at once');
ok($standby->log_contains(qr/HINT:  Take a new backup on the promoted server\./, $offset),
	'with a hint');
is(listed(), $listed_before, "backup $label3 is not listed");

$standby->stop;
$primary->stop;
done_testing();
