# Whole-system test of base backups and point-in-time restore: a pgbench
# cluster with a tablespace is backed up by the worker; writes after the
# backup are recorded with times, an LSN and a named restore point; the
# backup is restored into new data directories to the latest WAL, a time, an
# LSN and a restore point; each restored cluster is started and its data
# compared with what the original held at that moment.  A backup whose
# worker is terminated, and one interrupted by a server crash, leave no
# manifest and are not listed; the next backup succeeds.
#
# The repository mixes compression types: the backup is taken with zlib,
# the type is switched by reload to lz4 and then to zstd while WAL is
# archived, so every restore below reads .gz data files and .lz4 WAL, and
# the latest also .zst WAL; a last backup with zstd has seekable data
# files, which are verified and restored.  A level outside the type's range is refused by
# the setting's check and by the CLI.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $tsdir = PostgreSQL::Test::Utils::tempdir();

my $node = SbTest::new_node('primary',
	settings => [
		'safebackup.repo_path' => $repo, restart_after_crash => 'on',
		'safebackup.compress_type' => 'zlib'
	]);

# set_compress_type(TYPE): ALTER SYSTEM and reload, and wait until a new
# session sees it (the postmaster has then signalled the archiver, which
# rereads its settings before the next segment)
sub set_compress_type
{
	my ($type) = @_;
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET safebackup.compress_type = '$type'; SELECT pg_reload_conf()");
	$node->poll_query_until('postgres', 'SHOW safebackup.compress_type', $type)
	  or die "compress_type $type not in force";
}

my $state_query = q{SELECT count(*) || ':' || coalesce(md5(string_agg(g::text || h, ',' ORDER BY g)), '')
	FROM t};
my $bench_query = q{SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts};

# data: pgbench tables, and table t in a tablespace
$node->safe_psql('postgres', "CREATE TABLESPACE ts LOCATION '$tsdir'");
my $ts_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'");
$node->command_ok([ 'pgbench', '-i', '-s', '2', 'postgres' ], 'pgbench init');
$node->safe_psql('postgres',
	"CREATE TABLE t (g int, h text) TABLESPACE ts;
	 INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '200', 'postgres' ], 'pgbench run');

# --- backup with wait => true
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($label, qr/^\d{8}-\d{6}F$/, "backup label $label");
is($node->safe_psql('postgres', "SELECT status || ' ' || type FROM safebackup.safebackup_backups() WHERE label = '$label'"),
	'complete full', 'safebackup.safebackup_backups() lists the backup');
is($node->safe_psql('postgres', 'SELECT backup_phase, backup_error IS NULL FROM safebackup.safebackup_status()'),
	'done|t', 'safebackup.safebackup_status() shows the finished backup');
ok(-f "$repo/main/backup/$label/backup.manifest", 'manifest written');
ok(-f "$repo/main/backup/$label/data/global/pg_control.gz", 'pg_control stored');
ok(!-e $node->data_dir . '/backup_label', 'no backup_label in the live data directory');
ok(-f "$repo/main/backup/$label/data/backup_label.gz", 'backup_label stored in the backup');

like(slurp_file("$repo/main/backup/$label/backup.manifest"), qr/^compress_type=zlib$/m,
	'the manifest records the backup\'s compression type');

# --- switch to lz4 by reload: the level is checked against the type
set_compress_type('lz4');
my ($ret, $out, $err) = $node->psql('postgres',
	'ALTER SYSTEM SET safebackup.compress_level = 13');
like($err, qr/compression level 13 is outside the valid range for safebackup.compress_type "lz4"/,
	'a level beyond lz4\'s range is refused');
like($err, qr/DETAIL:  Valid levels for lz4 are 1 to 12\./, 'with the range in the detail');
command_fails_like(
	[
		'pg_safebackup', 'info', "--repo-path=$repo", '--compress-type=lz4',
		'--compress-level=13'
	],
	qr/compression level 13 is outside the valid range for compress-type lz4.*\n.*Valid levels for lz4 are 1 to 12/,
	'the CLI refuses the same level with the same range');
command_fails_like(
	[
		'pg_safebackup', 'info', "--repo-path=$repo", '--compress-level=13',
		'--compress-type=lz4'
	],
	qr/Valid levels for lz4 are 1 to 12/,
	'whatever the order of the options');

# --- writes after the backup, with the moments we will restore to
my %expect;
$node->safe_psql('postgres', "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1001, 2000) g");
$expect{time} = $node->safe_psql('postgres', $state_query);
sleep 1;
my $target_time = $node->safe_psql('postgres', 'SELECT now()');
sleep 1;
$node->safe_psql('postgres', "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(2001, 3000) g");
$expect{lsn} = $node->safe_psql('postgres', $state_query);
my $target_lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $lz4_seg = SbTest::switch_and_wait($node);
like(SbTest::stored_path($repo, $lz4_seg), qr/-[0-9a-f]{32}\.lz4$/,
	"WAL archived after the switch to lz4 is .lz4 ($lz4_seg)");
set_compress_type('zstd');
$node->safe_psql('postgres', "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(3001, 4000) g");
$expect{name} = $node->safe_psql('postgres', $state_query);
$node->safe_psql('postgres', "SELECT pg_create_restore_point('before_last_batch')");
$node->safe_psql('postgres', "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(4001, 5000) g");
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '100', 'postgres' ], 'more pgbench');
$expect{latest} = $node->safe_psql('postgres', $state_query);
my $bench_latest = $node->safe_psql('postgres', $bench_query);
my $zstd_seg = SbTest::switch_and_wait($node);
like(SbTest::stored_path($repo, $zstd_seg), qr/-[0-9a-f]{32}\.zst$/,
	"WAL archived after the switch to zstd is .zst ($zstd_seg)");
my %suffixes = map { $_->[1] =~ /(\.gz|\.lz4|\.zst)$/ ? ($1 => 1) : () } SbTest::wal_files($repo);
is(join(',', sort keys %suffixes), '.gz,.lz4,.zst',
	'the repository holds WAL of all three compression types');

# --- restore to each target into a new data directory, start, compare
my %targets = (
	latest => [],
	time => [ "--target-time=$target_time" ],
	lsn => [ "--target-lsn=$target_lsn" ],
	name => [ '--target-name=before_last_batch' ]);
foreach my $kind (sort keys %targets)
{
	my $restored = PostgreSQL::Test::Cluster->new("restored_$kind");
	my $newts = PostgreSQL::Test::Utils::tempdir();
	SbTest::restore_ok(
		$restored,
		[
			"--repo-path=$repo", '--stanza=main',
			"--tablespace-map=$ts_oid=$newts", @{ $targets{$kind} }
		],
		"restore to $kind");
	ok(-f $restored->data_dir . '/recovery.signal', "$kind: recovery.signal written");
	is(readlink($restored->data_dir . "/pg_tblspc/$ts_oid"), $newts,
		"$kind: tablespace relocated");
	SbTest::start_restored($restored, $kind);
	is($restored->safe_psql('postgres', $state_query), $expect{$kind},
		"$kind: table contents match the original at that moment");
	if ($kind eq 'latest')
	{
		is($restored->safe_psql('postgres', $bench_query), $bench_latest,
			'latest: pgbench data matches');
	}
	$restored->stop;
}

# a tablespace goes outside the target directory only when asked for, and
# restore names every location it uses
my $elsewhere = PostgreSQL::Test::Utils::tempdir();
command_fails_like(
	[ 'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main', "--target-dir=$elsewhere/data" ],
	qr/tablespace $ts_oid would be restored outside the target directory, into "\Q$tsdir\E".*--accept-tablespace-locations/s,
	'restore refuses the recorded tablespace location unless asked');
ok(!-e "$elsewhere/data", 'refused restore wrote nothing');
command_fails_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main',
		"--target-dir=$elsewhere/data", '--accept-tablespace-locations'
	],
	qr/tablespace directory "\Q$tsdir\E" exists and is not empty/,
	'--accept-tablespace-locations uses the recorded location');
my $newts = PostgreSQL::Test::Utils::tempdir();
command_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main',
		"--target-dir=$elsewhere/data", "--tablespace-map=$ts_oid=$newts"
	],
	qr/^tablespace $ts_oid: restoring into "\Q$newts\E" \(given with --tablespace-map\)$/m,
	'restore names the tablespace location');

# restore refuses a non-empty target directory
my $busy = PostgreSQL::Test::Utils::tempdir();
open(my $fh, '>', "$busy/somefile") or die;
close($fh);
command_fails_like(
	[ 'pg_safebackup', 'restore', "--repo-path=$repo", "--target-dir=$busy" ],
	qr/not empty/, 'restore refuses a non-empty directory');

# --- interrupted backups leave no manifest; the next one succeeds
$node->command_ok([ 'pgbench', '-i', '-s', '10', 'postgres' ], 'bigger database');
# at 1 MB/s the 150 MB of this database take minutes to copy: every check
# below finds the backup copying, however fast the machine
$node->safe_psql('postgres', "ALTER SYSTEM SET safebackup.backup_max_rate = '1MB'; SELECT pg_reload_conf()");

sub start_and_wait_copying
{
	my $l = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start()');
	$node->poll_query_until('postgres',
		"SELECT backup_phase = 'copying files' AND backup_bytes_done > 0 FROM safebackup.safebackup_status()")
	  or die 'backup did not start copying';
	return $l;
}

my $killed = start_and_wait_copying();

# the rate holds: what was read is within 1 MB per second since the start
# (plus what the two copiers may read ahead of it, a few MB at most)
my ($read, $secs) = split /\|/, $node->safe_psql('postgres',
	"SELECT backup_bytes_done, extract(epoch FROM now() - backup_started) FROM safebackup.safebackup_status()");
cmp_ok($read, '<=', ($secs + 1) * 1024 * 1024 + 8 * 1024 * 1024,
	"safebackup.backup_max_rate holds the backup to 1 MB/s ($read bytes in $secs s)");
my ($stderr);
$node->psql('postgres', 'SELECT safebackup.safebackup_start()', stderr => \$stderr);
like($stderr, qr/backup "$killed" is already running/, 'second backup while one runs is refused');
is($node->safe_psql('postgres', 'SELECT phase FROM pg_stat_progress_basebackup'),
	'streaming database files', 'pg_stat_progress_basebackup shows the backup');
$node->safe_psql('postgres',
	'SELECT pg_terminate_backend(backup_pid) FROM (SELECT pid AS backup_pid FROM pg_stat_activity WHERE backend_type = \'pg_safebackup backup\') s');
$node->poll_query_until('postgres', "SELECT backup_phase = 'failed' FROM safebackup.safebackup_status()")
  or die 'terminated backup not reported';
ok(!-e "$repo/main/backup/$killed/backup.manifest", 'terminated backup: no manifest');
is($node->safe_psql('postgres', "SELECT count(*) FROM safebackup.safebackup_backups() WHERE label = '$killed'"),
	'0', 'terminated backup is not listed');

# safebackup.safebackup_cancel() stops a running backup cleanly
my $canceled = start_and_wait_copying();
is($node->safe_psql('postgres', 'SELECT safebackup.safebackup_cancel()'), 't', 'cancel returns true');
$node->poll_query_until('postgres', "SELECT backup_phase = 'canceled' FROM safebackup.safebackup_status()")
  or die 'canceled backup not reported';
ok(!-e "$repo/main/backup/$canceled/backup.manifest", 'canceled backup: no manifest');

# a server crash in the middle of a backup
my $crashed = start_and_wait_copying();
my $worker_pid = $node->safe_psql('postgres', 'SELECT backup_pid FROM (SELECT pid AS backup_pid FROM pg_stat_activity WHERE backend_type = \'pg_safebackup backup\') s');
SbTest::kill_and_wait_restart($node, $worker_pid);
ok(!-e "$repo/main/backup/$crashed/backup.manifest", 'crashed backup: no manifest');
is($node->safe_psql('postgres', "SELECT count(*) FROM safebackup.safebackup_backups() WHERE label = '$crashed'"),
	'0', 'crashed backup is not listed');

$node->safe_psql('postgres', 'ALTER SYSTEM RESET safebackup.backup_max_rate; SELECT pg_reload_conf()');
my $next = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM safebackup.safebackup_backups()'),
	'2', "the next backup ($next) succeeds and is listed with the first");

# info lists the backups without a server
command_like([ 'pg_safebackup', 'info', "--repo-path=$repo", '--output=json' ],
	qr/"$next"/, 'info --output=json lists the new backup');

# --- the next backup was taken with zstd: its large data files are
# seekable (a frame per MiB and a seek table, docs/repository-format.md),
# which "zstd -t" reads as one file, verify accepts, and restore reads
my $accounts = $node->safe_psql('postgres', "SELECT pg_relation_filepath('pgbench_accounts')");
my $bench_next = $node->safe_psql('postgres', $bench_query);
my $stored = "$repo/main/backup/$next/data/$accounts.zst";
ok(-f $stored, 'pgbench_accounts is stored by the next backup');
open(my $sf, '<:raw', $stored) or die "could not open $stored: $!";
seek($sf, -4, 2) or die;
read($sf, my $magic, 4) == 4 or die;
close($sf);
is(sprintf('%08x', unpack('V', $magic)), '8f92eab1', 'a data file of several MiB ends with a seek table');
is(system('zstd', '-tq', $stored), 0, 'zstd -t reads the seekable file');
command_ok([ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main' ],
	'verify accepts the seekable backup files');
my $restored_next = PostgreSQL::Test::Cluster->new('restored_next');
my $nextts = PostgreSQL::Test::Utils::tempdir();
SbTest::restore_ok($restored_next,
	[ "--repo-path=$repo", '--stanza=main', "--tablespace-map=$ts_oid=$nextts" ],
	'restore of the seekable backup');
SbTest::start_restored($restored_next, 'next');
is($restored_next->safe_psql('postgres', $bench_query), $bench_next,
	'seekable backup: pgbench data matches');
$restored_next->stop;

$node->stop;
done_testing();
