# Parallel base backups and page checksums checked while copying.  A cluster
# with data checksums is backed up by two copiers (the backup worker and one
# copy worker), restored, started and compared.  A byte corrupted in a table
# page is reported (log, safebackup.safebackup_backups(), safebackup.safebackup_status(), manifest)
# and, with safebackup.checksum_failure = fail, fails the backup.  A copy
# worker killed mid-backup (a crash restart) and safebackup.safebackup_cancel() leave
# no listed backup, stop every copier, and the next backup works; the
# copiers' block sums file is removed in every case.  Last, a restore by
# two jobs shares a 256 MB table out in parts (core/restore_parts.c), and
# the restored cluster's data match.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(extra => ['--data-checksums']);
SbTest::configure($node,
	'safebackup.repo_path' => $repo,
	'safebackup.backup_workers' => '2',
	restart_after_crash => 'on');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_safebackup');
is($node->safe_psql('postgres', 'SHOW data_checksums'), 'on', 'cluster has data checksums');

my $bench_query = q{SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts};
my $copy_workers = q{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'pg_safebackup backup copy'};

$node->command_ok([ 'pgbench', '-i', '-s', '2', 'postgres' ], 'pgbench init');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '100', 'postgres' ], 'pgbench run');

# A table of md5 digests in hex (20 MB, about half its size once
# compressed) is copied before pgbench_accounts (larger, but its rows
# compress to a few percent): the copiers take the longest job first.
$node->safe_psql('postgres', q{CREATE TABLE noise AS
	SELECT md5(i::text) || md5((i + 1)::text) AS t FROM generate_series(1, 200000) i});
my $noise_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('noise')});
cmp_ok(-s $node->data_dir . "/$noise_file", '>=', 16 * 1024 * 1024,
	'the md5 table is large enough to be sampled');
cmp_ok(-s $node->data_dir . "/$noise_file", '<',
	-s $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('pgbench_accounts')}),
	'pgbench_accounts is larger than the md5 table');
$node->safe_psql('postgres', 'ALTER SYSTEM SET log_min_messages = debug1');
$node->reload;

# the copiers' block sums go to a temporary file of the leader's (not
# shared memory), removed when it is done or fails
sub sums_files
{
	my @f = glob($node->data_dir . '/base/pgsql_tmp/pgsql_tmpsafebackup_sums.*');
	return scalar @f;
}
# bounded: the leader removes it as it exits, after it reports the end
sub no_sums_file_left
{
	for (1 .. 600)
	{
		return 1 if sums_files() == 0;
		usleep(100_000);
	}
	return 0;
}

# --- a clean backup by two copiers, restored and compared
my $log_offset = -s $node->logfile;
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like(slurp_file($node->logfile, $log_offset),
	qr/base backup copies "\Q$noise_file\E" first \([1-9]\d* large files sampled/,
	'the file that compresses worst per byte is copied first');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET log_min_messages');
$node->reload;
is($node->safe_psql('postgres',
		"SELECT status, checksum_failures FROM safebackup.safebackup_backups() WHERE label = '$label'"),
	'complete|0', 'parallel backup listed, no checksum failures');
is($node->safe_psql('postgres', 'SELECT backup_files_done = backup_files_total, backup_checksum_failures FROM safebackup.safebackup_status()'),
	't|0', 'safebackup.safebackup_status() shows one total for all copiers');
ok(no_sums_file_left(), 'the block sums file is removed after the backup');
like(slurp_file($node->logfile, $log_offset),
	qr/base backup copy worker copied \d+ files? \(\d+ bytes\)/,
	'a copy worker copied files');
my $manifest = slurp_file("$repo/main/backup/$label/backup.manifest");
like($manifest, qr/^checksum_failures=0$/m, 'manifest: page checksums verified');
unlike($manifest, qr/^page_checksum_failures=/m, 'manifest: no failing file');
like($manifest, qr/\nfile=global\/pg_control\t[^\n]*\nfile=backup_label\t/,
	'manifest: pg_control copied after every other data file');

my $bench_before = $node->safe_psql('postgres', $bench_query);
SbTest::switch_and_wait($node);
my $restored = PostgreSQL::Test::Cluster->new('restored');
SbTest::restore_ok($restored, [ "--repo-path=$repo", '--stanza=main' ],
	'restore the parallel backup');
SbTest::start_restored($restored, 'parallel backup');
is($restored->safe_psql('postgres', $bench_query), $bench_before,
	'restored pgbench data matches');
$restored->stop;

# --- a corrupt page is reported
$node->safe_psql('postgres',
	"CREATE TABLE victim WITH (autovacuum_enabled = false) AS SELECT g, md5(g::text) AS h FROM generate_series(1, 2000) g;
	 SELECT count(*) FROM victim; CHECKPOINT");
my $relpath = $node->safe_psql('postgres', "SELECT pg_relation_filepath('victim')");
$node->stop;
{
	# a byte in the middle of block 1, far from the page header
	open(my $fh, '+<', $node->data_dir . "/$relpath") or die "open $relpath: $!";
	binmode $fh;
	sysseek($fh, 8192 + 4000, 0) or die;
	my $byte;
	sysread($fh, $byte, 1) == 1 or die;
	sysseek($fh, 8192 + 4000, 0) or die;
	syswrite($fh, chr(ord($byte) ^ 0xff), 1) == 1 or die;
	close($fh);
}
$node->start;

$log_offset = -s $node->logfile;
my $bad = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like(slurp_file($node->logfile, $log_offset),
	qr/WARNING: .*page checksum verification failed in file "\Q$relpath\E", block 1\n.*DETAIL:  Expected checksum \d+, found \d+; page LSN [0-9A-F]+\/[0-9A-F]+\./,
	'log names the file, block, checksums and page LSN');
is($node->safe_psql('postgres',
		"SELECT status, checksum_failures FROM safebackup.safebackup_backups() WHERE label = '$bad'"),
	'complete|1', 'safebackup.safebackup_backups() counts the bad page');
is($node->safe_psql('postgres', 'SELECT backup_checksum_failures FROM safebackup.safebackup_status()'),
	'1', 'safebackup.safebackup_status() counts the bad page');
$manifest = slurp_file("$repo/main/backup/$bad/backup.manifest");
like($manifest, qr/^page_checksum_failures=\Q$relpath\E\t1$/m, 'manifest names the file');
like($manifest, qr/^checksum_failures=1$/m, 'manifest total');
command_like([ 'pg_safebackup', 'info', "--repo-path=$repo" ], qr/\Q$bad\E/,
	'info still reads the manifest');

# --- safebackup.checksum_failure = fail
$node->safe_psql('postgres',
	"ALTER SYSTEM SET safebackup.checksum_failure = 'fail'; SELECT pg_reload_conf()");
my ($stdout, $stderr);
$node->psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)',
	stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/page checksum verification failed in file "\Q$relpath\E"/,
	'checksum_failure = fail: the backup fails');
my $failed = $node->safe_psql('postgres', 'SELECT backup_label FROM safebackup.safebackup_status()');
is($node->safe_psql('postgres', 'SELECT backup_phase FROM safebackup.safebackup_status()'),
	'failed', 'status shows the failure');
ok(!-e "$repo/main/backup/$failed/backup.manifest", 'failed backup: no manifest');
is($node->safe_psql('postgres', "SELECT count(*) FROM safebackup.safebackup_backups() WHERE label = '$failed'"),
	'0', 'failed backup is not listed');
is($node->safe_psql('postgres', $copy_workers), '0', 'no copy worker left');
ok(no_sums_file_left(), 'failed backup: the block sums file is removed');
$node->safe_psql('postgres',
	'DROP TABLE victim; ALTER SYSTEM RESET safebackup.checksum_failure; SELECT pg_reload_conf()');

# --- interrupted parallel backups: two big tables, so both copiers are busy
$node->command_ok([ 'pgbench', '-i', '-s', '10', 'postgres' ], 'bigger database');
# accounts2, twice pgbench_accounts (256 MB): restored in parts below
$node->safe_psql('postgres',
	'CREATE TABLE accounts2 AS SELECT * FROM pgbench_accounts
	   UNION ALL SELECT * FROM pgbench_accounts;
	 ALTER SYSTEM SET safebackup.compress_level = 9; SELECT pg_reload_conf()');

sub start_and_wait_copy_worker
{
	my $l = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start()');
	$node->poll_query_until('postgres',
		"SELECT backup_phase = 'copying files' AND backup_bytes_done > 0
			AND ($copy_workers) = 1 FROM safebackup.safebackup_status()")
	  or die 'backup did not start copying with a copy worker';
	return $l;
}

# safebackup.safebackup_cancel() stops every copier
my $canceled = start_and_wait_copy_worker();
is(sums_files(), 1, 'while the backup runs, its block sums are in a temporary file');
is($node->safe_psql('postgres', 'SELECT safebackup.safebackup_cancel()'), 't', 'cancel returns true');
$node->poll_query_until('postgres', "SELECT backup_phase = 'canceled' FROM safebackup.safebackup_status()")
  or die 'canceled backup not reported';
is($node->safe_psql('postgres', $copy_workers), '0',
	'cancel: the copy worker has exited when the backup is reported canceled');
ok(!-e "$repo/main/backup/$canceled/backup.manifest", 'canceled backup: no manifest');
ok(no_sums_file_left(), 'canceled backup: the block sums file is removed');

# kill -9 of a copy worker: the server restarts, the backup is not listed
my $crashed = start_and_wait_copy_worker();
my $copy_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_safebackup backup copy'");
$log_offset = -s $node->logfile;
is(kill('KILL', $copy_pid), 1, 'copy worker killed');
# the crash restart, then the server back
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
ok(!-e "$repo/main/backup/$crashed/backup.manifest", 'crashed backup: no manifest');
ok(no_sums_file_left(), 'crashed backup: the restart removes the block sums file');
is($node->safe_psql('postgres', "SELECT count(*) FROM safebackup.safebackup_backups() WHERE label = '$crashed'"),
	'0', 'crashed backup is not listed');

$node->safe_psql('postgres', 'ALTER SYSTEM RESET safebackup.compress_level; SELECT pg_reload_conf()');
my $next = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
is($node->safe_psql('postgres', "SELECT status FROM safebackup.safebackup_backups() WHERE label = '$next'"),
	'complete', "the next backup ($next) succeeds");

# --- a restore by two jobs shares the large files out in parts: accounts2
# (256 MB, one file) is cut into four or five of about 64 MB, and
# pgbench_accounts (just about 128 MB) into two or three or not at all
my $big_query = q{SELECT count(*) || ':' || sum(abalance) || ':' || sum(aid) FROM accounts2};
my $big_before = $node->safe_psql('postgres', $big_query);
$bench_before = $node->safe_psql('postgres', $bench_query);
SbTest::switch_and_wait($node);
my $parts = PostgreSQL::Test::Cluster->new('parts');
command_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main', '--jobs=2',
		'--target-dir=' . $parts->data_dir, '--target-action=promote'
	],
	qr/^(1 large file|2 large files) written in [4-9] parts shared by 2 jobs$/m,
	'a restore by two jobs writes the large table in parts');
SbTest::start_restored($parts, 'restore in parts');
is($parts->safe_psql('postgres', $big_query), $big_before,
	'the table restored in parts matches');
is($parts->safe_psql('postgres', $bench_query), $bench_before,
	'and so does pgbench_accounts');
$parts->stop;

$node->stop;
done_testing();
