# Whole-system test of block-level incremental backups (PostgreSQL 17+
# with summarize_wal = on; skipped before 17, where t/020 covers the file
# level).
#
# A full backup of a table of about 30 MB, then a few rows changed: the
# incremental reads from the WAL summaries which 128 kB chunks changed and
# stores only those (the manifest's chunks record for the table, read_size
# and stored_size far below the table's size, the log line saying so).  A
# second incremental stacks on the first (two parts: the full backup's
# whole file, the first incremental's chunks); a table cut by VACUUM (a
# limit block in the summaries) and a table created after the full backup
# are copied whole.  Point-in-time restore from the last incremental to a
# time and to the latest gives the original's data (row counts and md5 of
# the tables), and so does a delta restore over the restored cluster.  verify checks every layer: a damaged chunk file of the first
# incremental is reported by verify of the second and refused by restore.
# Without a usable summary database the next incremental works at file
# level, logged, and restores too; the same in an encrypted stanza works
# (verify, restore, data); a table with more than 4096 changed pages in its
# segment (a bitmap in the map of the summaries) is stored by those pages
# and restores; a scheduled incremental (started by the launcher, which is
# connected to no database) takes the block level.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SbTest;
use Test::More;

my $repo = PostgreSQL::Test::Utils::tempdir();

my $node = SbTest::new_node(
	'primary',
	start => 0,
	settings => [
		'safebackup.repo_path' => $repo,
		'safebackup.stanza' => 'main',
		autovacuum => 'off',
		wal_keep_size => '1GB'
	]);
if ($node->pg_version < 17)
{
	plan skip_all => 'block-level incremental backups need the WAL summaries of PostgreSQL 17 or later (this is '
	  . $node->pg_version
	  . '); t/020_incremental.pl covers the file level';
}
$node->append_conf('postgresql.conf', "summarize_wal = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_safebackup');

# What a restored cluster is compared on: row counts and md5 of the tables.
# The original is never read for it: a scan of the original prunes pages
# with dead rows, logging a full-page image of each, and replaying those
# would repair a page a backup had missed.  So the expected values are
# computed from what the test wrote (expected_state), without reading the
# tables.
my $state_query = 'SELECT ' . join(" || '/' || ",
	map { "(SELECT count(*) || ':' || coalesce(md5(string_agg(id || v, ',' ORDER BY id)), '-') FROM $_)" }
	  qw(big shrink newt));
my @touched;		# ids of big whose v was set to upper(v)
my @appended;		# rows added to big: [id, v]
my $shrink_rows = 20000;
my $newt_rows = 0;

sub expected_state
{
	my $touched = @touched ? join(',', @touched) : '0';
	my $appended = join('', map { " UNION ALL SELECT $_->[0], '$_->[1]'" } @appended);
	my $agg = q{count(*) || ':' || coalesce(md5(string_agg(id || v, ',' ORDER BY id)), '-')};
	return $node->safe_psql('postgres', qq{
		SELECT (SELECT $agg FROM (SELECT g AS id, CASE WHEN g IN ($touched)
				THEN upper(repeat(md5(g::text), 3)) ELSE repeat(md5(g::text), 3) END AS v
				FROM generate_series(1, 200000) g$appended) s)
		  || '/' || (SELECT $agg FROM (SELECT g AS id, repeat(md5(g::text), 3) AS v
				FROM generate_series(1, $shrink_rows) g) s)
		  || '/' || (SELECT $agg FROM (SELECT g AS id, md5(g::text) AS v
				FROM generate_series(1, $newt_rows) g) s)});
}
$node->safe_psql('postgres', q{
	CREATE TABLE big (id int PRIMARY KEY, v text);
	INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 200000) g;
	CREATE TABLE shrink (id int, v text);
	INSERT INTO shrink SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 20000) g;
	CREATE TABLE newt (id int, v text);
	DROP TABLE newt;
	VACUUM (FREEZE, ANALYZE);
	CHECKPOINT});
my $big_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('big')});
my $shrink_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('shrink')});
my $big_size = $node->safe_psql('postgres', q{SELECT pg_relation_size('big')});
note("table big: $big_file, $big_size bytes");

sub backup
{
	my ($type) = @_;
	return $node->safe_psql('postgres', "SELECT safebackup.safebackup_start('$type', wait => true)");
}

sub manifest
{
	my ($label) = @_;
	return slurp_file("$repo/main/backup/$label/backup.manifest");
}

# a header value of a manifest (0 when absent)
sub header
{
	my ($text, $key) = @_;
	return $text =~ /^\Q$key\E=(\d+)$/m ? $1 : 0;
}

# a few rows changed across the table (ten, 20000 rows apart: each
# backup's rows are in other pages and chunks than the others', so that no
# full-page image replayed after a later backup's start can hide a chunk
# the backup missed)
sub touch_rows
{
	my ($n) = @_;
	my @ids = map { $n + 20000 * $_ } 0 .. 9;
	my $ids = join(',', @ids);
	push @touched, @ids;
	# by the index: a scan of every page would prune them all, logging a
	# full-page image of each, which replay would then restore
	$node->safe_psql('postgres',
		"SET enable_seqscan = off; UPDATE big SET v = upper(v) WHERE id IN ($ids); CHECKPOINT");
}

# (the freeze sets every hint bit now: with data checksums a later scan
# setting them would log a full-page image of every page, a change the
# summaries rightly report); files written within 2 s of a backup's start
# are compared whole by the next one (the file-level rule), which would
# count in the bytes read: the full backup starts later
sleep 3;
my $full = backup('full');
like($full, qr/^\d{8}-\d{6}F$/, "full backup $full");
like(manifest($full), qr/^blocks=\Q$big_file\E\t/m, 'the full backup has the block sums of the table');

# --- first incremental: ten rows changed, a table created
touch_rows(7);
$node->safe_psql('postgres', q{
	CREATE TABLE newt (id int, v text);
	INSERT INTO newt SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
	CHECKPOINT});
$newt_rows = 5000;
my $offset = -s $node->logfile;
my $incr1 = backup('incr');
like($incr1, qr/^\d{8}-\d{6}I$/, "incremental backup $incr1");
ok($node->log_contains(qr/base backup "\Q$incr1\E" copies relation files by their changed blocks/, $offset),
	'the incremental takes the block-level path, logged');
my $log = substr(slurp_file($node->logfile), $offset);
my ($copied, $by_blocks) = $log =~ /base backup "\Q$incr1\E" files: (\d+) copied, (\d+) by changed blocks/;
my ($read, $stored) = $log =~ /Read (\d+) bytes from the data directory, stored (\d+) bytes/;
ok(defined $by_blocks && $by_blocks >= 1, "files taken by their changed blocks: $by_blocks (copied whole: $copied)");
ok(defined $read && $read < $big_size / 5,
	"bytes read $read are far below the table's $big_size bytes");

my $m1 = manifest($incr1);
like($m1, qr/^format_version=3$/m, 'a manifest with block-incremental files is format 3');
my ($chunk_bytes, $chunks) = $m1 =~ /^chunks=\Q$big_file\E\t(\d+)\t(\S+)$/m;
ok(defined $chunk_bytes, "the table is stored by its changed pages $chunks");
# ten rows changed: their ten pages, the page(s) their new versions went to
ok($chunk_bytes <= 16 * 8192, "those pages are $chunk_bytes bytes of its $big_size");
like($m1, qr/^part=\Q$big_file\E\t\Q$full\E\t\w+\t$big_size\t[0-9a-f]{32}\t\d+\t\*$/m,
	'its one part is the whole file in the full backup');
is(header($m1, 'read_size'), $read, 'the manifest records the bytes read');
ok(header($m1, 'stored_size') < $big_size / 20,
	'stored bytes ' . header($m1, 'stored_size') . ' are far below the table size');
ok(header($m1, 'block_incremental_files') >= 1, 'the manifest counts the block-incremental files');
my $newt_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('newt')});
unlike($m1, qr/^chunks=\Q$newt_file\E\t/m, 'a table created after the base is copied whole');
like($m1, qr/^file=\Q$newt_file\E\t/m, 'and is in the manifest');
note("incr1: read $read bytes, stored " . header($m1, 'stored_size') . " bytes, table chunks $chunk_bytes of $big_size bytes");

# --- second incremental: more rows changed, a table truncated by VACUUM
touch_rows(5011);
$node->safe_psql('postgres', q{DELETE FROM shrink WHERE id > 5000; VACUUM shrink; CHECKPOINT});
$shrink_rows = 5000;
my $incr2 = backup('incr');
my $m2 = manifest($incr2);
like($m2, qr/^chunks=\Q$big_file\E\t\d+\t\S+$/m, 'the second incremental takes the table by chunks too');
my @parts = $m2 =~ /^part=\Q$big_file\E\t([^\t]+)\t/mg;
is_deeply(\@parts, [ $full, $incr1 ], 'its parts: the full backup, then the first incremental');
unlike($m2, qr/^chunks=\Q$shrink_file\E\t/m, 'a truncated table is copied whole');
unlike($m2, qr/^ref=\Q$shrink_file\E\t/m, 'and not referenced');

command_like([ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main' ],
	qr/\Q$incr2\E: ok/, 'verify checks every layer of the chain');
command_like([ 'pg_safebackup', 'info', "--repo-path=$repo", '--stanza=main' ],
	qr/\Q$incr1\E \(incr, base \Q$full\E.*\n.*\n.*\n.*\n\s+\d+ files? stored by (its|their) changed pages; [\d.]+ \w+ read from the data directory/,
	'info shows the files stored by changed pages and the bytes read');

# --- point-in-time restores from the last incremental
my %expect;
$node->safe_psql('postgres', q{INSERT INTO big VALUES (300001, 'after'); CHECKPOINT});
push @appended, [ 300001, 'after' ];
touch_rows(12013);
$expect{time} = expected_state();
sleep 1;
my $target_time = $node->safe_psql('postgres', 'SELECT now()');
sleep 1;
touch_rows(14017);
$expect{latest} = expected_state();
SbTest::switch_and_wait($node);

my %targets = (latest => [], time => ["--target-time=$target_time"]);
foreach my $kind (sort keys %targets)
{
	my $restored = PostgreSQL::Test::Cluster->new("restored_$kind");
	SbTest::restore_ok($restored, [ "--repo-path=$repo", '--stanza=main', @{ $targets{$kind} } ],
		"restore to $kind");
	like(slurp_file($restored->data_dir . '/backup_label'), qr/^LABEL: $incr2$/m,
		"$kind restores the last incremental");
	SbTest::start_restored($restored, $kind);
	is($restored->safe_psql('postgres', $state_query), $expect{$kind},
		"$kind: row counts and md5 of the tables match the original");
	is($restored->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM big WHERE id BETWEEN 1 AND 200000}),
		'200000', "$kind: the index finds every row");
	next if $kind ne 'latest';
	# a delta restore over it: the rows written there are undone, the
	# block-incremental files rebuilt where they differ
	$restored->safe_psql('postgres', q{UPDATE big SET v = 'local' WHERE id < 100; CHECKPOINT});
	$restored->stop;
	my ($out, $err) = run_command([ 'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main',
		'--target-dir=' . $restored->data_dir, '--target-action=promote', '--delta' ]);
	like($out, qr/files stored by changed blocks rebuilt from their chain/, 'a delta restore rebuilds the changed block-incremental files');
	# (its postgresql.conf is the backup's again)
	SbTest::start_restored($restored, 'delta');
	is($restored->safe_psql('postgres', $state_query), $expect{$kind},
		"$kind after a delta restore: the data matches the original again");
	$restored->stop;
}

# --- a damaged chunk file of the first incremental
my ($held) = grep { m{/\Q$big_file\E(\.gz|\.lz4|\.zst)?$} } glob("$repo/main/backup/$incr1/data/$big_file*");
ok(defined $held, 'the first incremental stores the table\'s chunks');
copy($held, "$held.saved") or die "copy: $!";
{
	open(my $fh, '+<:raw', $held) or die "could not open $held: $!";
	my $size = -s $held;
	seek($fh, int($size / 2), 0);
	read($fh, my $c, 1);
	seek($fh, int($size / 2), 0);
	print $fh chr(ord($c) ^ 0x55);
	close($fh);
}
command_checks_all(
	[ 'pg_safebackup', 'verify', "--repo-path=$repo", '--stanza=main', "--backup=$incr2" ],
	1, [qr/\Q$incr2\E: error.*\n.*\Q$big_file\E/], [qr/1 of 1 backups has problems/],
	'verify of the second incremental reports the damaged layer of the first');
my $refused = PostgreSQL::Test::Cluster->new('refused');
command_fails_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=main',
		"--backup=$incr2", '--target-dir=' . $refused->data_dir
	],
	qr/damaged|checksum mismatch|decompress/i,
	'restore refuses the damaged layer');
move("$held.saved", $held) or die "move: $!";

# --- no summary database: the next incremental works at file level
$node->safe_psql('postgres',
	q{ALTER SYSTEM SET safebackup.summary_database = 'nosuchdb'; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT current_setting('safebackup.summary_database') = 'nosuchdb'})
  or die 'reload not seen';
touch_rows(16017);
$offset = -s $node->logfile;
my $incr3 = backup('incr');
ok($node->log_contains(qr/database "nosuchdb" of safebackup.summary_database does not exist; the backup works at file level/,
		$offset), 'a missing summary database is logged');
my $m3 = manifest($incr3);
unlike($m3, qr/^chunks=\Q$big_file\E\t/m, 'at file level the changed table is copied whole');
$expect{latest} = expected_state();
SbTest::switch_and_wait($node);
my $restored = PostgreSQL::Test::Cluster->new('restored_file_level');
SbTest::restore_ok($restored, [ "--repo-path=$repo", '--stanza=main' ], 'restore the file-level incremental');
SbTest::start_restored($restored, 'file level');
is($restored->safe_psql('postgres', $state_query), $expect{latest},
	'file level after block level: the data matches the original');
$restored->stop;

# --- an encrypted stanza: the layers are decrypted under their own names
my $pass = PostgreSQL::Test::Utils::tempdir() . '/pass';
{
	open(my $fh, '>', $pass) or die "could not write $pass: $!";
	print $fh "block incremental passphrase\n";
	close($fh);
	chmod(0600, $pass) or die "chmod $pass: $!";
}
$node->safe_psql('postgres', qq{
	ALTER SYSTEM RESET safebackup.summary_database;
	ALTER SYSTEM SET safebackup.stanza = 'enc';
	ALTER SYSTEM SET safebackup.cipher_type = 'aes-256-gcm';
	ALTER SYSTEM SET safebackup.cipher_pass_file = '$pass';
	SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT current_setting('safebackup.stanza') = 'enc'})
  or die 'reload not seen';
SbTest::switch_and_wait($node);
my $enc_full = backup('full');
touch_rows(18019);
$offset = -s $node->logfile;
my $enc_incr = backup('incr');
$log = substr(slurp_file($node->logfile), $offset);
my ($enc_blocks) = $log =~ /base backup "\Q$enc_incr\E" files: \d+ copied, (\d+) by changed blocks/;
ok(defined $enc_blocks && $enc_blocks >= 1, "encrypted: the incremental stores $enc_blocks files by their changed pages");
$expect{latest} = expected_state();
SbTest::switch_and_wait($node);
my @enc_opts = ("--repo-path=$repo", '--stanza=enc', '--cipher-type=aes-256-gcm', "--cipher-pass-file=$pass");
command_like([ 'pg_safebackup', 'verify', @enc_opts ], qr/\Q$enc_incr\E: ok/,
	'encrypted: verify checks the layers');
$restored = PostgreSQL::Test::Cluster->new('restored_enc');
SbTest::restore_ok($restored, \@enc_opts, 'encrypted: restore the block-level incremental');
SbTest::start_restored($restored, 'encrypted');
is($restored->safe_psql('postgres', $state_query), $expect{latest},
	'encrypted: the data matches the original');
$restored->stop;

# --- more changed pages in one segment than a list of them is worth: the
# map of the summaries keeps a bitmap of the segment from 4096 pages on (16
# kB, 1 GB segments), and the incremental still stores only those pages.
# A table of about 11,500 pages (fillfactor 45, so that the updates stay in
# their pages), its first 120,000 rows (about 4,450 pages) updated.
$node->safe_psql('postgres', q{
	ALTER SYSTEM RESET safebackup.stanza;
	ALTER SYSTEM RESET safebackup.cipher_type;
	ALTER SYSTEM RESET safebackup.cipher_pass_file;
	SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{SELECT current_setting('safebackup.stanza') = 'main'})
  or die 'reload not seen';
$node->safe_psql('postgres', q{
	CREATE TABLE dense (id int PRIMARY KEY, v text) WITH (fillfactor = 45);
	INSERT INTO dense SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 300000) g;
	VACUUM (FREEZE, ANALYZE) dense;
	CHECKPOINT});
my $dense_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('dense')});
my $dense_size = $node->safe_psql('postgres', q{SELECT pg_relation_size('dense')});
my $dense_query = q{SELECT count(*) || ':' || md5(string_agg(id || v, ',' ORDER BY id)) FROM dense};
my $dense_expect = $node->safe_psql('postgres', q{
	SELECT count(*) || ':' || md5(string_agg(id || v, ',' ORDER BY id)) FROM
	(SELECT g AS id, CASE WHEN g <= 120000 THEN upper(repeat(md5(g::text), 3))
		ELSE repeat(md5(g::text), 3) END AS v FROM generate_series(1, 300000) g) s});
sleep 3;
SbTest::switch_and_wait($node);
my $dense_full = backup('full');
$node->safe_psql('postgres',
	'SET enable_seqscan = off; UPDATE dense SET v = upper(v) WHERE id <= 120000; CHECKPOINT');
$offset = -s $node->logfile;
my $dense_incr = backup('incr');
$log = substr(slurp_file($node->logfile), $offset);
my ($named) = $log =~ /The WAL summaries from \S+ to \S+ name (\d+) changed pages/;
ok(defined $named && $named >= 4096, 'the summaries name ' . ($named // '?') . ' changed pages (a bitmap of the segment)');
my ($dense_bytes) = manifest($dense_incr) =~ /^chunks=\Q$dense_file\E\t(\d+)\t\S+$/m;
ok(defined $dense_bytes && $dense_bytes >= 4096 * 8192 && $dense_bytes < $dense_size / 2,
	'the table is stored by its ' . ($dense_bytes // 0) / 8192 . " changed pages, of $dense_size bytes");
SbTest::switch_and_wait($node);
$restored = PostgreSQL::Test::Cluster->new('restored_dense');
SbTest::restore_ok($restored, [ "--repo-path=$repo", '--stanza=main' ], 'restore the incremental of many changed pages');
SbTest::start_restored($restored, 'many changed pages');
is($restored->safe_psql('postgres', $dense_query), $dense_expect,
	'many changed pages: the table matches what was written');
$restored->stop;

# --- a scheduled incremental: the launcher finds the summary database
$offset = -s $node->logfile;
$node->safe_psql('postgres',
	q{ALTER SYSTEM SET safebackup.backup_schedule = 'incr: * * * * *'; SELECT pg_reload_conf()});
$node->wait_for_log(qr/scheduled backup "\d{8}-\d{6}I" started/, $offset);
my ($scheduled) = substr(slurp_file($node->logfile), $offset) =~ /scheduled backup "(\d{8}-\d{6}I)" started/;
$node->wait_for_log(qr/base backup "\Q$scheduled\E" completed/, $offset);
ok($node->log_contains(qr/base backup "\Q$scheduled\E" copies relation files by their changed blocks/, $offset),
	"the scheduled incremental $scheduled takes the block-level path too");
$node->safe_psql('postgres',
	q{ALTER SYSTEM RESET safebackup.backup_schedule; SELECT pg_reload_conf()});

$node->stop;
done_testing();
