# Retention, expire and verify, end to end on a posix repository.
#
# With safebackup.retention_full = 2, four backups are taken with WAL in
# between: after the fourth, the backup worker's own expire leaves the two
# newest plus the WAL they need (older WAL is gone, timeline history files
# stay), and removes an interrupted backup's leftover directory; a
# point-in-time restore from the oldest kept backup still works and its data
# matches.  safebackup.safebackup_expire() and "pg_safebackup expire" clean further
# leftovers (the CLI spares one that may be running).  Verify reports ok on
# the healthy repository, then a flipped byte, a truncated file, a missing
# file and a WAL gap, each as its own problem, through SQL and the CLI (exit
# code 1), while the backup that is not damaged stays ok.
use strict;
use warnings;
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();

my $node = SbTest::new_node('primary',
	settings => [ 'safebackup.repo_path' => $repo, 'safebackup.retention_full' => 2 ]);

my $state_query = q{SELECT count(*) || ':' || md5(string_agg(g::text || h, ',' ORDER BY g)) FROM t};
$node->safe_psql('postgres', 'CREATE TABLE t (g int, h text)');

my @labels;
my ($target_lsn, $expect_at_target);
foreach my $i (1 .. 4)
{
	$node->safe_psql('postgres',
		"INSERT INTO t SELECT g, md5(g::text) FROM generate_series($i * 1000 + 1, $i * 1000 + 1000) g");
	SbTest::switch_and_wait($node);
	if ($i == 4)
	{
		# the moment to restore to, after the third backup
		$expect_at_target = $node->safe_psql('postgres', $state_query);
		$target_lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
		$node->safe_psql('postgres', "INSERT INTO t VALUES (-1, 'after the target')");
		SbTest::switch_and_wait($node);
		# an interrupted backup's leftover: a directory without a manifest
		make_path("$repo/main/backup/20200101-000000F/data/base");
		open(my $fh, '>', "$repo/main/backup/20200101-000000F/data/PG_VERSION.gz") or die;
		close($fh);
	}
	push @labels, $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
	SbTest::switch_and_wait($node);
}
my %start;
foreach my $row (split /\n/, $node->safe_psql('postgres',
	'SELECT label, start_wal FROM safebackup.safebackup_backups()'))
{
	my ($l, $w) = split /\|/, $row;
	$start{$l} = $w;
}

# --- what the fourth backup's expire left
is(join(',', sort keys %start), "$labels[2],$labels[3]",
	'retention_full = 2: the two newest backups remain');
ok(!-e "$repo/main/backup/$labels[0]" && !-e "$repo/main/backup/$labels[1]",
	'the two oldest backup directories are gone');
ok(!-e "$repo/main/backup/20200101-000000F", 'the interrupted backup leftover is gone');
my @segs = SbTest::stored_segments($repo);
my $keep = $start{ $labels[2] };
ok(scalar(grep { substr($_, 8) lt substr($keep, 8) } @segs) == 0,
	"no WAL segment older than $keep (oldest kept backup's start) remains");
ok(defined SbTest::stored_path($repo, $keep), "the oldest kept backup's start segment $keep remains");
my $prev = '';
my $contiguous = 1;
foreach my $s (grep { $_ ge $keep } @segs)
{
	$contiguous = 0 if $prev ne '' && hex(substr($s, 16)) != hex(substr($prev, 16)) + 1;
	$prev = $s;
}
ok($contiguous && $prev ge $start{ $labels[3] }, "WAL from $keep to $prev is all there");
ok($node->log_contains('pg_safebackup expire removed 1 backups, 1 incomplete backups'),
	'the server log says what expire removed');

# --- point-in-time restore from the oldest kept backup
my $restored = PostgreSQL::Test::Cluster->new('restored');
SbTest::restore_ok($restored,
	[ "--repo-path=$repo", "--backup=$labels[2]", "--target-lsn=$target_lsn" ],
	'restore the oldest kept backup to an LSN');
SbTest::start_restored($restored);
is($restored->safe_psql('postgres', $state_query), $expect_at_target,
	'restored data matches the original at the target LSN');
$restored->stop;

# --- expire through SQL and the CLI
make_path("$repo/main/backup/20200102-000000F/data");
make_path("$repo/main/backup/29991231-235959F/data");
command_like(
	[ 'pg_safebackup', 'expire', "--repo-path=$repo", '--retention-full=2' ],
	qr/removed incomplete backup 20200102-000000F\n.*kept 1 incomplete/s,
	'CLI expire removes an old leftover and spares a newer one');
ok(!-e "$repo/main/backup/20200102-000000F" && -e "$repo/main/backup/29991231-235959F",
	'CLI expire: directories as reported');
is($node->safe_psql('postgres',
	'SELECT backups_kept, expired_backups, removed_incomplete, wal_removed FROM safebackup.safebackup_expire()'),
	'2|{}|{29991231-235959F}|0',
	'safebackup.safebackup_expire() knows no backup runs and removes the newer leftover');
is($node->safe_psql('postgres', 'SELECT count(*) FROM safebackup.safebackup_backups()'), '2',
	'both kept backups are still listed');

# --- verify a healthy repository
is($node->safe_psql('postgres',
	"SELECT string_agg(backup_label || ' ' || status, ',' ORDER BY backup_label) FROM safebackup.safebackup_verify()"),
	"$labels[2] ok,$labels[3] ok", 'safebackup.safebackup_verify(): every backup ok');
is($node->safe_psql('postgres',
	"SELECT status, files_checked > 500, wal_first = '$start{$labels[3]}' FROM safebackup.safebackup_verify('$labels[3]')"),
	'ok|t|t', 'safebackup.safebackup_verify(label): one backup');
command_like([ 'pg_safebackup', 'verify', "--repo-path=$repo" ],
	qr/^$labels[2]: ok .*\n$labels[3]: ok /, 'CLI verify: ok, exit 0');

# --- damage the oldest kept backup four ways
my $dir = "$repo/main/backup/$labels[2]/data";
my $tfile = $node->safe_psql('postgres', "SELECT pg_relation_filepath('t')");
my $cfile = $node->safe_psql('postgres', "SELECT pg_relation_filepath('pg_class')");
{
	open(my $fh, '+<', "$dir/$tfile.zst") or die "$dir/$tfile.zst: $!";
	binmode $fh;
	my $size = -s $fh;
	seek($fh, int($size / 2), 0);
	read($fh, my $byte, 1);
	seek($fh, int($size / 2), 0);
	print $fh chr(ord($byte) ^ 0x55);
	close($fh);
}
truncate("$dir/$cfile.zst", 40) or die "truncate: $!";
unlink("$dir/PG_VERSION.zst") or die "unlink: $!";
# a WAL segment in the middle: after the third backup's start, before the fourth's
my ($gap) = grep { $_ gt $start{ $labels[2] } && $_ lt $start{ $labels[3] } } SbTest::stored_segments($repo);
ok(defined $gap, "a segment between the two backups' starts ($gap)");
unlink(SbTest::stored_path($repo, $gap)) or die "unlink: $!";

my $detail = $node->safe_psql('postgres',
	"SELECT detail FROM safebackup.safebackup_verify() WHERE backup_label = '$labels[2]'");
like($detail, qr/^checksum mismatch in \Q$tfile\E: /m, 'SQL: flipped byte reported as a checksum mismatch');
like($detail, qr/^truncated file \Q$cfile\E: 40 of \d+ stored bytes$/m, 'SQL: truncated file reported');
like($detail, qr/^missing file PG_VERSION$/m, 'SQL: missing file reported');
like($detail, qr/^WAL gap from $gap to $gap$/m, 'SQL: WAL gap reported');
is(scalar(split /\n/, $detail), 4, 'SQL: four problems, one line each');
is($node->safe_psql('postgres',
	"SELECT status || ' ' || coalesce(detail, '') FROM safebackup.safebackup_verify('$labels[3]')"),
	'ok ', 'SQL: the undamaged newer backup is still ok');

my ($out, $err);
IPC::Run::run([ 'pg_safebackup', 'verify', "--repo-path=$repo" ], '>', \$out, '2>', \$err);
is($? >> 8, 1, 'CLI verify exits with 1');
like($out, qr/^$labels[2]: error \(4 problems\)$/m, 'CLI: the damaged backup has four problems');
like($out, qr/^    checksum mismatch in \Q$tfile\E: /m, 'CLI: flipped byte');
like($out, qr/^    truncated file \Q$cfile\E: /m, 'CLI: truncated file');
like($out, qr/^    missing file PG_VERSION$/m, 'CLI: missing file');
like($out, qr/^    WAL gap from $gap to $gap$/m, 'CLI: WAL gap');
like($out, qr/^$labels[3]: ok /m, 'CLI: the other backup is ok');
like($err, qr/1 of 2 backups has problems/, 'CLI: summary on stderr');

IPC::Run::run([ 'pg_safebackup', 'verify', "--repo-path=$repo", "--backup=$labels[3]", '--output=json' ],
	'>', \$out, '2>', \$err);
is($? >> 8, 0, 'CLI verify of the undamaged backup exits with 0');
like($out, qr/"temporary_files": 0,\n  "status": "ok"\n}\n$/, 'CLI verify --output=json');

# --- temporary files of writers killed in the middle of a write
my ($waldir) = glob("$repo/main/wal/0*");
my $old_tmp = "$waldir/$gap-0123.gz.tmp.4242.1";
my $new_tmp = "$waldir/$gap-4567.gz.tmp.4243.2";
foreach my $f ($old_tmp, $new_tmp)
{
	open(my $tfh, '>', $f) or die "could not create $f: $!";
	print $tfh 'half a segment';
	close($tfh);
}
my $three_hours_ago = time() - 3 * 3600;
utime($three_hours_ago, $three_hours_ago, $old_tmp) or die "utime: $!";
IPC::Run::run([ 'pg_safebackup', 'info', "--repo-path=$repo" ], '>', \$out, '2>', \$err);
like($out, qr/^2 temporary files left by interrupted writes \(oldest modified .*\);\n    1 old enough for expire to remove them/m,
	'info counts temporary files');
IPC::Run::run([ 'pg_safebackup', 'verify', "--repo-path=$repo", "--backup=$labels[3]" ], '>', \$out, '2>', \$err);
like($out, qr/^2 temporary files left by interrupted writes/m, 'verify counts them');
IPC::Run::run([ 'pg_safebackup', 'expire', "--repo-path=$repo", '--dry-run' ], '>', \$out, '2>', \$err);
like($out, qr/would remove 1 temporary file left by an interrupted write/, 'expire --dry-run would remove the old one');
ok(-f $old_tmp, '... and removes nothing');
is($node->safe_psql('postgres', 'SELECT temp_files_removed FROM safebackup.safebackup_expire()'),
	'1', 'safebackup.safebackup_expire() removes the old one');
ok(!-e $old_tmp && -f $new_tmp, 'only the old one is gone; a recent one may still be written');

$node->stop;
done_testing();
