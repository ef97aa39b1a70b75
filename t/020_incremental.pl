# Whole-system test of differential and incremental backups and of resume.
#
# A chain full -> diff -> incr -> incr is taken with writes between the
# backups; files unchanged since the base are referenced (the manifest's
# ref records name the backup that holds them, the full one for a table
# never written), changed ones are copied.  Point-in-time restore from the
# last incremental to a time and to the latest gives the original's data
# (row counts and md5 of the table contents); the same in an encrypted
# stanza, whose first backup, asked for as incr, becomes a full one.  verify checks the chain; a corrupted file of the full backup is
# reported by verify of the incremental and refused by restore, and a
# missing link (the diff's manifest gone) too.  A backup interrupted halfway
# (a file it cannot read) leaves a resume list; the next backup of the same
# type resumes it under the same label, reuses the files whose stored
# checksum verifies (not one that was damaged meanwhile) and copies only the
# rest; a backup killed (SIGKILL, crash restart) while it waits for its WAL
# is resumed the same way.  expire with retention_full = 1 keeps the whole chain of the newest
# full backup and removes an older chain with its full backup.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SbTest;
use Test::More;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $secrets = PostgreSQL::Test::Utils::tempdir();
my $pass = "$secrets/pass";
{
	open(my $fh, '>', $pass) or die "could not write $pass: $!";
	print $fh "incremental test passphrase\n";
	close($fh);
	chmod(0600, $pass) or die "chmod $pass: $!";
}

my $node = SbTest::new_node(
	'primary',
	settings => [
		'safebackup.repo_path' => $repo,
		'safebackup.stanza' => 'main',
		autovacuum => 'off',
		restart_after_crash => 'on',
		wal_keep_size => '1GB'
	]);

# the data: "t" is written between backups, "still" never after the full
my $state_query = q{SELECT (SELECT count(*) || ':' || md5(string_agg(id || v, ',' ORDER BY id)) FROM t)
	|| '/' || (SELECT count(*) || ':' || md5(string_agg(id || v, ',' ORDER BY id)) FROM still)};
$node->safe_psql('postgres', q{
	CREATE TABLE t (id int, v text);
	CREATE TABLE still (id int, v text);
	INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
	INSERT INTO still SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
	CHECKPOINT});
my $still_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('still')});
my $t_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('t')});

sub reconfigure
{
	my ($settings) = @_;
	$node->safe_psql('postgres',
		join('', map { "ALTER SYSTEM SET safebackup.$_ = '$settings->{$_}';" } sort keys %$settings)
		  . 'SELECT pg_reload_conf()');
	$node->poll_query_until('postgres',
		"SELECT current_setting('safebackup.stanza') = '$settings->{stanza}'")
	  or die 'reload not seen';
}

sub backup
{
	my ($type) = @_;
	return $node->safe_psql('postgres', "SELECT safebackup.safebackup_start('$type', wait => true)");
}

sub add_rows
{
	my ($from, $to) = @_;
	$node->safe_psql('postgres',
		"INSERT INTO t SELECT g, md5(g::text) FROM generate_series($from, $to) g; CHECKPOINT");
}

# The manifest of a backup in an unencrypted stanza, as text.
sub manifest
{
	my ($stanza, $label) = @_;
	return slurp_file("$repo/$stanza/backup/$label/backup.manifest");
}

# { path => holder label } of a manifest's ref records
sub refs
{
	my ($text) = @_;
	my %r;
	$r{$1} = $2 while $text =~ /^ref=([^\t\n]+)\t([^\t\n]+)\t[^\t\n]+$/mg;
	return \%r;
}

# The stored name of a data file in a backup (any compression suffix).
sub stored_file
{
	my ($stanza, $label, $relpath) = @_;
	my @hits = glob("$repo/$stanza/backup/$label/data/$relpath*");
	@hits = grep { m{/\Q$relpath\E(\.gz|\.lz4|\.zst)?$} } @hits;
	die "no stored file for $relpath in $label" unless @hits == 1;
	return $hits[0];
}

sub flip_byte
{
	my ($path) = @_;
	open(my $fh, '+<:raw', $path) or die "could not open $path: $!";
	my $size = -s $path;
	seek($fh, int($size / 2), 0);
	read($fh, my $c, 1);
	seek($fh, int($size / 2), 0);
	print $fh chr(ord($c) ^ 0x55);
	close($fh);
}

# full, writes, diff, writes, incr, writes, incr, writes; restores from
# the last incremental to a time and to the latest.  Returns the labels.
sub chain_scenario
{
	my ($stanza, $first_type, $first_row, @repo_opts) = @_;
	my %expect;
	my $log_offset = -s $node->logfile;
	my $full = backup($first_type);
	like($full, qr/^\d{8}-\d{6}F$/, "$stanza: full backup $full (asked for $first_type)");
	if ($first_type ne 'full')
	{
		ok($node->log_contains(
				qr/no backup to base the $first_type backup on in stanza "$stanza": taking a full backup/,
				$log_offset),
			"$stanza: a $first_type without a base becomes a full backup, logged");
	}
	add_rows($first_row, $first_row + 999);
	$log_offset = -s $node->logfile;
	my $diff = backup('diff');
	like($diff, qr/^\d{8}-\d{6}D$/, "$stanza: differential backup $diff");
	my ($copied, $referenced) = substr(slurp_file($node->logfile), $log_offset) =~
	  /base backup "\Q$diff\E" files: (\d+) copied, \d+ by changed blocks, (\d+) referenced in the base backup/;
	ok($copied <= 10 && $referenced > 900,
		"$stanza: the differential copies only what changed ($copied copied, $referenced referenced)");
	add_rows($first_row + 1000, $first_row + 1999);
	my $incr1 = backup('incr');
	like($incr1, qr/^\d{8}-\d{6}I$/, "$stanza: incremental backup $incr1");
	add_rows($first_row + 2000, $first_row + 2999);
	my $incr2 = backup('incr');

	my $listed = $node->safe_psql('postgres',
		"SELECT string_agg(type || ':' || coalesce(base, '-'), ',' ORDER BY label) FROM safebackup.safebackup_backups()"
		  . " WHERE label IN ('$full', '$diff', '$incr1', '$incr2')");
	is($listed, "full:-,diff:$full,incr:$diff,incr:$incr1",
		"$stanza: safebackup.safebackup_backups() shows the types and bases");

	add_rows($first_row + 3000, $first_row + 3999);
	$expect{time} = $node->safe_psql('postgres', $state_query);
	sleep 1;
	my $target_time = $node->safe_psql('postgres', 'SELECT now()');
	sleep 1;
	add_rows($first_row + 4000, $first_row + 4999);
	$expect{latest} = $node->safe_psql('postgres', $state_query);
	SbTest::switch_and_wait($node);

	my %targets = (latest => [], time => ["--target-time=$target_time"]);
	foreach my $kind (sort keys %targets)
	{
		my $restored = PostgreSQL::Test::Cluster->new("restored_${stanza}_$kind");
		SbTest::restore_ok($restored,
			[ "--repo-path=$repo", "--stanza=$stanza", @repo_opts, @{ $targets{$kind} } ],
			"$stanza: restore to $kind");
		like(slurp_file($restored->data_dir . '/backup_label'), qr/^LABEL: $incr2$/m,
			"$stanza: $kind restores the last incremental");
		SbTest::start_restored($restored, "$stanza $kind");
		is($restored->safe_psql('postgres', $state_query), $expect{$kind},
			"$stanza: $kind: row counts and md5 of the tables match the original");
		$restored->stop;
	}
	return ($full, $diff, $incr1, $incr2);
}

# --- the chain, unencrypted
my ($full, $diff, $incr1, $incr2) = chain_scenario('main', 'full', 1001);

my $m_diff = manifest('main', $diff);
like($m_diff, qr/^format_version=2$/m, 'a differential manifest is format 2');
like($m_diff, qr/^type=diff$/m, 'its type is diff');
like($m_diff, qr/^base=\Q$full\E$/m, 'its base is the full backup');
my $r_diff = refs($m_diff);
is($r_diff->{$still_file}, $full, 'the unchanged table is referenced in the full backup');
ok(!exists $r_diff->{$t_file}, 'the written table is copied');
ok(!-e "$repo/main/backup/$diff/data/$still_file.zst" && !-e "$repo/main/backup/$diff/data/$still_file",
	'the referenced file is not stored in the differential');
my $r_incr2 = refs(manifest('main', $incr2));
is($r_incr2->{$still_file}, $full,
	'the last incremental references the unchanged table in the backup that holds it');
ok(scalar(keys %$r_incr2) > 100, scalar(keys %$r_incr2) . ' files referenced by the last incremental');
like(manifest('main', $full), qr/^format_version=1$/m, 'a full manifest stays format 1');

my $info = `pg_safebackup info --repo-path=$repo --stanza=main`;
like($info, qr/\Q$incr2\E \(incr, base \Q$incr1\E, \d+ of its files in the base's chain\)/,
	'info shows the type and base');

command_like([ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main' ],
	qr/\Q$incr2\E: ok/, 'verify checks every backup of the chain');

# --- a corrupted file of the full backup breaks the incrementals on it
my $held = stored_file('main', $full, $still_file);
copy($held, "$held.saved") or die "copy: $!";
flip_byte($held);
command_checks_all(
	[ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main', "--backup=$incr2" ],
	1, [qr/\Q$incr2\E: error.*\n.*\Q$still_file\E/], [qr/1 of 1 backups has problems/],
	'verify of the last incremental reports the corrupted file of the full backup');
my $refused = PostgreSQL::Test::Cluster->new('refused');
command_fails_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main',
		"--backup=$incr2", '--target-dir=' . $refused->data_dir
	],
	qr/checksum mismatch|SHA-256|corrupt|decompress/i,
	'restore of the last incremental refuses the corrupted file');
move("$held.saved", $held) or die "move: $!";

# --- a missing link: the diff's manifest gone
my $dm = "$repo/main/backup/$diff/backup.manifest";
move($dm, "$dm.away") or die "move: $!";
command_checks_all(
	[ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main', "--backup=$incr2" ],
	1, [qr/broken chain: backup "\Q$incr1\E" depends on backup "\Q$diff\E"/],
	[qr/1 of 1 backups has problems/], 'verify reports the broken link');
command_fails_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main',
		"--backup=$incr2", '--target-dir=' . $refused->data_dir . '2'
	],
	qr/depends on backup "\Q$diff\E", which is not usable/,
	'restore refuses a chain with a missing link');
move("$dm.away", $dm) or die "move: $!";

# --- the same chain in an encrypted stanza
reconfigure({ stanza => 'enc', cipher_type => 'aes-256-gcm', cipher_pass_file => $pass });
SbTest::switch_and_wait($node);
my @enc = chain_scenario('enc', 'incr', 10001, '--cipher-type=aes-256-gcm', "--cipher-pass-file=$pass");
command_like(
	[
		'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=enc',
		'--cipher-type=aes-256-gcm', "--cipher-pass-file=$pass"
	],
	qr/\Q$enc[3]\E: ok/, 'encrypted: verify checks the chain');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM safebackup.backups WHERE base IS NOT NULL"),
	'3', 'encrypted: three backups with a base in the view safebackup.backups');
reconfigure({ stanza => 'main', cipher_type => 'none', cipher_pass_file => '' });

# --- resume: a full backup interrupted halfway by a file it cannot read
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET safebackup.backup_workers = 1; SELECT pg_reload_conf();
	CREATE TABLE blocker (id int); INSERT INTO blocker VALUES (1); CHECKPOINT});
$node->poll_query_until('postgres', "SELECT current_setting('safebackup.backup_workers') = '1'")
  or die 'reload not seen';
my $blocker = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('blocker')});
chmod(0, $blocker) or die "chmod $blocker: $!";
my ($out, $err);
$node->psql('postgres', "SELECT safebackup.safebackup_start('full', wait => true)", stdout => \$out, stderr => \$err);
like($err, qr/backup "(\d{8}-\d{6}F)" failed: could not open file/, 'the interrupted backup failed');
my ($broken) = $err =~ /backup "(\d{8}-\d{6}F)" failed/;
chmod(0600, $blocker) or die "chmod $blocker: $!";
ok(!-e "$repo/main/backup/$broken/backup.manifest", 'it has no manifest');
my $resume_list = slurp_file("$repo/main/backup/$broken/backup.resume");
my @listed = $resume_list =~ /^file=([^\t]+)\t/mg;
ok(@listed > 50, scalar(@listed) . ' files listed in the resume list');

# a damaged stored file of the attempt is not trusted
my ($damaged) = grep { m{^base/} && -s stored_file('main', $broken, $_) > 100 } @listed;
flip_byte(stored_file('main', $broken, $damaged));

my $log_offset = -s $node->logfile;
my $resumed = backup('full');
is($resumed, $broken, 'the next full backup resumes the interrupted one under its label');
my $log = substr(slurp_file($node->logfile), $log_offset);
my ($copied, $referenced, $reused) =
  $log =~ /base backup "\Q$resumed\E" files: (\d+) copied, \d+ by changed blocks, (\d+) referenced in the base backup, (\d+) reused/;
my $m_resumed = manifest('main', $resumed);
my $nfiles = () = $m_resumed =~ /^file=/mg;
ok($reused > 0, "$reused files reused from the interrupted attempt");
ok($reused <= @listed - 1, 'not more than it listed, less the damaged one');
ok($reused >= @listed - 10, 'nearly all the files it listed (a few changed meanwhile)');
# every file but backup_label (stored apart) was copied or reused
is($copied + $reused, $nfiles - 1, "only the rest is copied ($copied of $nfiles files)");
like($m_resumed, qr/^resumed_files=$reused$/m, 'the manifest records the reused files');
command_like([ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main', "--backup=$resumed" ],
	qr/\Q$resumed\E: ok/, 'the resumed backup verifies (the damaged file was copied again)');
add_rows(100001, 100010);
my $expect_resumed = $node->safe_psql('postgres', $state_query);
SbTest::switch_and_wait($node);
my $from_resumed = PostgreSQL::Test::Cluster->new('from_resumed');
SbTest::restore_ok($from_resumed, [ "--repo-path=$repo", '--stanza=main', "--backup=$resumed" ],
	'restore from the resumed backup');
SbTest::start_restored($from_resumed, 'resumed');
is($from_resumed->safe_psql('postgres', $state_query), $expect_resumed,
	'the resumed backup restores the original data');
$from_resumed->stop;

# --- resume after a crash: the backup worker killed (SIGKILL) while it
# waits for its WAL, which cannot be archived (the WAL directories of the
# repository are read-only meanwhile); every file is stored by then
my @wal_dirs = ("$repo/main/wal", glob("$repo/main/wal/*"));
chmod(0500, @wal_dirs) or die "chmod: $!";
my $killed = $node->safe_psql('postgres', "SELECT safebackup.safebackup_start('full')");
$node->poll_query_until('postgres',
	"SELECT backup_phase = 'waiting for WAL archiving' FROM safebackup.safebackup_status()")
  or die 'the backup did not reach the WAL wait';
my $worker_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_safebackup backup'");
ok(-f "$repo/main/backup/$killed/backup.resume", 'the running backup has written its resume list');
SbTest::kill_and_wait_restart($node, $worker_pid);
chmod(0700, @wal_dirs) or die "chmod: $!";
SbTest::switch_and_wait($node);
ok(!-e "$repo/main/backup/$killed/backup.manifest", 'the killed backup has no manifest');
my @listed_killed = slurp_file("$repo/main/backup/$killed/backup.resume") =~ /^file=/mg;
$log_offset = -s $node->logfile;
my $after_crash = backup('full');
is($after_crash, $killed, 'the next full backup resumes the killed one');
($copied, $referenced, $reused) = substr(slurp_file($node->logfile), $log_offset) =~
  /base backup "\Q$after_crash\E" files: (\d+) copied, \d+ by changed blocks, (\d+) referenced in the base backup, (\d+) reused/;
ok($reused >= @listed_killed - 20 && $reused > 0,
	"after the crash $reused of the " . scalar(@listed_killed) . " listed files are reused, $copied copied");
command_like([ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main', "--backup=$after_crash" ],
	qr/\Q$after_crash\E: ok/, 'the backup resumed after the crash verifies');

# --- expire: retention_full = 1 keeps the newest full backup's chain
my $incr3 = backup('incr');
is($node->safe_psql('postgres', "SELECT base FROM safebackup.safebackup_backups() WHERE label = '$incr3'"),
	$after_crash, 'an incremental after the resumed full builds on it');
$node->safe_psql('postgres', "ALTER SYSTEM SET safebackup.retention_full = 1; SELECT pg_reload_conf()");
$node->poll_query_until('postgres', "SELECT current_setting('safebackup.retention_full') = '1'")
  or die 'reload not seen';
my $expired = $node->safe_psql('postgres', q{SELECT array_to_string(expired_backups, ',') FROM safebackup.safebackup_expire()});
is($expired, join(',', $full, $diff, $incr1, $incr2, $resumed),
	'expire removes the older full backups, the first with its whole chain');
is($node->safe_psql('postgres', q{SELECT string_agg(label, ',' ORDER BY label) FROM safebackup.safebackup_backups()}),
	"$after_crash,$incr3", 'the newest full backup and its incremental stay');
command_like([ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main' ],
	qr/\Q$incr3\E: ok/, 'the kept chain verifies');

done_testing();
