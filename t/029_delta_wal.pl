# Delta restore by the WAL's change list.
#
# A cluster with data checksums and a tablespace is backed up; a restore
# point is made; then it changes: rows of a large table updated (about 2%
# of its pages), a table truncated by VACUUM, rows appended, a table and a
# database created.  Stopped cleanly, it is delta-restored to the backup
# (recovering to the restore point): the blocks to compare come from the
# WAL between the backup's start and the last checkpoint, so a fraction of
# the changed files is read (not the blocks changed after the backup
# ended: they surely differ and are fetched).  Every file of the data
# directory and the tablespace is then byte for byte the same as a full
# restore of the same backup into an empty directory, and the cluster has
# the data of the restore point.  A target that was not shut down
# cleanly, one promoted since the backup (another timeline), and
# --delta-checksum compare by content instead and say so.  In an encrypted stanza the WAL is read
# through the cipher and the differing files are patched from their
# stream (no ranged reads), with the same result as a full restore.
use strict;
use warnings;
use File::Copy;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $tsdir = PostgreSQL::Test::Utils::tempdir();
my $node = SbTest::new_node('primary', checksums => 1,
	settings => [ 'safebackup.repo_path' => $repo ]);
is($node->safe_psql('postgres', 'SHOW data_checksums'), 'on', 'cluster has data checksums');

my $state_query = q{SELECT count(*) || ':' || sum(abalance) || ':' || (SELECT count(*) || ':' || sum(g) FROM t) FROM pgbench_accounts};
$node->safe_psql('postgres', "CREATE TABLESPACE ts LOCATION '$tsdir'");
my $ts_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'");
$node->command_ok([ 'pgbench', '-i', '-s', '3', 'postgres' ], 'pgbench init');
$node->safe_psql('postgres',
	'CREATE TABLE t TABLESPACE ts AS SELECT g FROM generate_series(1, 100000) g; CHECKPOINT');
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
$node->safe_psql('postgres', q{SELECT pg_create_restore_point('after_backup')});
my $at_backup = $node->safe_psql('postgres', $state_query);

# the changes: updated pages at the front and new row versions at the end
# of pgbench_accounts, its index, a truncated table in the tablespace, a
# new table and a new database (copied without block references)
$node->safe_psql('postgres',
	"UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 6000;
	 DELETE FROM t WHERE g > 50000;");
$node->safe_psql('postgres', 'VACUUM t');
$node->safe_psql('postgres',
	"INSERT INTO pgbench_history SELECT 1, 1, g, 1, now() FROM generate_series(1, 1000) g;
	 CREATE TABLE only_after AS SELECT 1 AS x;
	 CREATE DATABASE later STRATEGY FILE_COPY;");
isnt($node->safe_psql('postgres', $state_query), $at_backup, 'the cluster changed after the backup');
my $accounts_rel = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('pgbench_accounts')});
my $accounts_size = -s $node->data_dir . "/$accounts_rel";
SbTest::switch_and_wait($node);
$node->stop;

# --- a full restore of the backup into an empty directory, to compare with
my $full = PostgreSQL::Test::Cluster->new('full');
my $full_ts = PostgreSQL::Test::Utils::tempdir();
command_ok([ 'pg_safebackup', 'restore', "--repo-path=$repo", '--target-dir=' . $full->data_dir,
	"--backup=$label", "--tablespace-map=$ts_oid=$full_ts", '--target-name=after_backup',
	'--target-action=promote' ], 'full restore');

# a segment as PostgreSQL recycles them (an older segment's pages under a
# name past the end of the WAL) is left by the delta restore; the others
# in pg_wal are recycled the same way (renamed past every segment there)
my $waldir = $node->data_dir . '/pg_wal';
sub wal_segments
{
	return sort grep { /^[0-9A-F]{24}$/ } do { opendir(my $d, $waldir) or die; readdir($d) };
}
my @segs = wal_segments();
my $n = hex(substr($segs[-1], 8, 8)) * 256 + hex(substr($segs[-1], 16, 8)) + 50;
my $recycled = sprintf('%s%08X%08X', substr($segs[-1], 0, 8), int($n / 256), $n % 256);
copy("$waldir/$segs[0]", "$waldir/$recycled") or die "copy: $!";
my $nsegs = scalar(@segs) + 1;
# the segment of the target's last checkpoint (a shutdown checkpoint: its redo)
my ($control) = run_command([ 'pg_controldata', $node->data_dir ]);
my ($end_seg) = $control =~ /Latest checkpoint's REDO WAL file:\s+([0-9A-F]{24})/;
my $upto_end = grep { $_ le $end_seg } @segs;
cmp_ok($upto_end, '>', 0, "pg_wal holds segments up to the last checkpoint's, $end_seg");

# --- the delta restore by the WAL
my @delta = ('pg_safebackup', 'restore', "--repo-path=$repo", '--target-dir=' . $node->data_dir,
	"--backup=$label", '--delta', '--accept-tablespace-locations', '--target-name=after_backup',
	'--target-action=promote');
my ($out, $err) = run_command([ @delta, '--jobs=2' ]);
like($out, qr/restored backup \Q$label\E/, 'delta restore') or diag($err);
my ($read_mb, $fetched, $unread) = $out =~ /delta: the blocks to compare come from the WAL: WAL from \S+ to \S+ read\b.*; ([\d.]+) MB of local files read, (\d+) blocks? fetched by ranged reads, (\d+) not compared \(changed after the backup ended\)/;
ok(defined $read_mb, 'the blocks to compare came from the WAL') or diag($out . $err);
cmp_ok($read_mb // 1e9, '<', $accounts_size / 1048576 / 3,
	"a fraction of the changed files was read ($read_mb MB; pgbench_accounts alone has "
	  . sprintf('%.1f', $accounts_size / 1048576) . ' MB)');
like($out, qr/delta: \d+ changed files? updated in place/, 'changed files updated in place');
cmp_ok($fetched // 0, '>', 0, "the differing blocks were fetched by ranged reads ($fetched)");
# every change was made after the backup ended: the changed blocks were
# fetched without reading them first (a block the WAL names only through
# the visibility map, or that only a file-level record changed, is read)
cmp_ok($unread // 0, '>', 0, "blocks changed after the backup were not compared ($unread)");
cmp_ok($unread // 1e9, '<=', $fetched // 0, 'those were all fetched');
ok(-f "$waldir/$recycled", "the recycled segment $recycled was left");
my @after = wal_segments();
is(scalar(grep { $_ le $end_seg } @after), 0, "no segment up to $end_seg is left under its name");
is(scalar(@after), $nsegs, 'the segments were recycled, not removed');
is(scalar(grep { $_ gt $recycled } @after), $upto_end, "the $upto_end up to $end_seg were recycled past $recycled");

# every file of the backup is the same after both restores
sub files_under
{
	my ($dir) = @_;
	my %f;
	find({ wanted => sub { $f{ substr($File::Find::name, length($dir) + 1) } = 1 if -f $_ },
		no_chdir => 1 }, $dir);
	return %f;
}
my ($same, $differ, $missing) = (0, 0, 0);
for my $pair ([ $full->data_dir, $node->data_dir, [ 'base', 'global' ] ], [ $full_ts, $tsdir, [''] ])
{
	my ($a_root, $b_root, $subs) = @$pair;
	for my $sub (@$subs)
	{
		my $a_dir = $sub eq '' ? $a_root : "$a_root/$sub";
		my %a = files_under($a_dir);
		my %b = files_under($sub eq '' ? $b_root : "$b_root/$sub");
		for my $rel (sort keys %a)
		{
			if (!exists $b{$rel}) { $missing++; diag("missing after the delta restore: $sub/$rel"); next; }
			if (slurp_file("$a_dir/$rel") eq slurp_file(($sub eq '' ? $b_root : "$b_root/$sub") . "/$rel")) { $same++; }
			else { $differ++; diag("differs after the delta restore: $sub/$rel"); }
		}
		for my $rel (sort keys %b)
		{
			next if exists $a{$rel};
			$missing++;
			diag("left over after the delta restore: $sub/$rel");
		}
	}
}
cmp_ok($same, '>', 500, "$same files compared");
is($differ, 0, 'no file differs from a full restore');
is($missing, 0, 'the same files as a full restore');

SbTest::start_restored($node, 'delta restore');
is($node->safe_psql('postgres', $state_query), $at_backup, 'the delta-restored cluster has the data of the restore point');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname = 'later'}), '0',
	'the database created after the backup is gone');

# --- a target not shut down cleanly is compared by content
$node->safe_psql('postgres', 'UPDATE pgbench_accounts SET abalance = abalance + 5 WHERE aid <= 100');
$node->stop('immediate');
($out, $err) = run_command([@delta]);
like($out, qr/delta: files compared by content, not by the WAL's change list: the target was not shut down cleanly/,
	'a target not shut down cleanly is compared by content') or diag($out . $err);
SbTest::start_restored($node, 'delta restore after a crash');
is($node->safe_psql('postgres', $state_query), $at_backup, 'and has the data of the restore point');
$node->stop;

($out, $err) = run_command([ @delta, '--delta-checksum' ]);
like($out, qr/delta: files compared by content, not by the WAL's change list: --delta-checksum compares every file/,
	'--delta-checksum compares by content') or diag($out . $err);
SbTest::start_restored($node, 'delta-checksum restore');
is($node->safe_psql('postgres', $state_query), $at_backup, 'and has the data of the restore point');

# --- a target promoted since the backup (a new timeline) replayed WAL:
# compared by content
$node->safe_psql('postgres', 'UPDATE pgbench_accounts SET abalance = abalance + 9 WHERE aid <= 100');
$node->stop;
($out, $err) = run_command([@delta]);
like($out, qr/delta: files compared by content, not by the WAL's change list: the target is on another timeline than the backup/,
	'a target on another timeline is compared by content') or diag($out . $err);
SbTest::start_restored($node, 'delta restore of a promoted target');
is($node->safe_psql('postgres', $state_query), $at_backup, 'and has the data of the restore point');

# --- an encrypted stanza: the WAL is read through the cipher (by the
# threads fetching ahead, on sessions sharing the key); its files cannot
# be read by ranges, so the differing ones are patched from their stream
my $secrets = PostgreSQL::Test::Utils::tempdir();
my $pass = "$secrets/pass";
open(my $pfh, '>', $pass) or die "could not write $pass: $!";
print $pfh "delta restore passphrase\n";
close($pfh);
chmod(0600, $pass) or die "chmod $pass: $!";
$node->append_conf('postgresql.conf',
	"archive_mode = on\nsafebackup.stanza = 'enc'\nsafebackup.cipher_type = 'aes-256-gcm'\nsafebackup.cipher_pass_file = '$pass'\n");
$node->restart;
my $enc_label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
$node->safe_psql('postgres', q{SELECT pg_create_restore_point('after_enc_backup')});
my $at_enc_backup = $node->safe_psql('postgres', $state_query);
$node->safe_psql('postgres', 'UPDATE pgbench_accounts SET abalance = abalance + 11 WHERE aid <= 3000');
SbTest::switch_and_wait($node);
$node->stop;
my @enc = ('--repo-path=' . $repo, '--stanza=enc', '--cipher-type=aes-256-gcm', "--cipher-pass-file=$pass",
	"--backup=$enc_label", '--target-name=after_enc_backup', '--target-action=promote');
($out, $err) = run_command([ 'pg_safebackup', 'restore', @enc, '--target-dir=' . $node->data_dir,
	'--delta', '--accept-tablespace-locations' ]);
like($out, qr/delta: the blocks to compare come from the WAL: .*, 0 blocks fetched by ranged reads/,
	'encrypted stanza: the blocks to compare came from the WAL') or diag($out . $err);
like($out, qr/delta: \d+ changed files? updated in place/, 'encrypted stanza: changed files updated in place');
my $full_enc = PostgreSQL::Test::Utils::tempdir();
my $full_enc_ts = PostgreSQL::Test::Utils::tempdir();
command_ok([ 'pg_safebackup', 'restore', @enc, "--target-dir=$full_enc/data",
	"--tablespace-map=$ts_oid=$full_enc_ts" ], 'encrypted stanza: full restore');
my $enc_differ = 0;
for my $sub ('base', 'global')
{
	my %a = files_under("$full_enc/data/$sub");
	for my $rel (keys %a)
	{
		next if -f $node->data_dir . "/$sub/$rel"
		  && slurp_file("$full_enc/data/$sub/$rel") eq slurp_file($node->data_dir . "/$sub/$rel");
		$enc_differ++;
		diag("encrypted stanza: differs after the delta restore: $sub/$rel");
	}
}
is($enc_differ, 0, 'encrypted stanza: no file differs from a full restore');
SbTest::start_restored($node, 'encrypted delta restore');
is($node->safe_psql('postgres', $state_query), $at_enc_backup,
	'encrypted stanza: the cluster has the data of the restore point');
$node->stop;
done_testing();
