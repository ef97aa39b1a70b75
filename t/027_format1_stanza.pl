# A stanza created by a version before repository format 2 (format 1)
# keeps working as it was written: this version archives into it under
# SHA-256 names, which the versions before read, takes backups whose
# manifests list SHA-256 digests, and restores and verifies them; the
# stanza is not upgraded behind the user's back.  (A new stanza gets
# XXH3-128 names: t/001_archive.pl.)
use strict;
use warnings;
use Digest::SHA;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $node = SbTest::new_node(
	'format1',
	wal_segsize => 1,
	settings => [ 'safebackup.repo_path' => $repo ],
	start => 0);

# the stanza info file a format-1 version wrote for this cluster: key=value
# lines, then the SHA-256 of those bytes (both copies)
my ($controldata) = run_command([ 'pg_controldata', $node->data_dir ]);
my ($sysid) = $controldata =~ /^Database system identifier:\s+(\d+)$/m
  or die 'no system identifier in pg_controldata output';
my $major = $node->pg_version->major;
my $info = "format_version=1\nsystem_identifier=$sysid\npg_version=$major\ncipher_type=none\n";
$info .= 'checksum=' . Digest::SHA::sha256_hex($info) . "\n";
mkdir "$repo/main" or die "mkdir: $!";
foreach my $f ('stanza.info', 'stanza.info.copy')
{
	open(my $fh, '>', "$repo/main/$f") or die "$f: $!";
	print $fh $info;
	close($fh);
}

$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_safebackup');
$node->safe_psql('postgres',
	'CREATE TABLE t (g int, h text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 3000) g');
my $seg = SbTest::switch_and_wait($node);

# --- WAL: SHA-256 names, the digest of the segment's content
my @names = map { $_->[1] } SbTest::wal_files($repo);
cmp_ok(scalar(@names), '>=', 1, 'WAL archived into the format-1 stanza');
is(scalar(grep { !/-[0-9a-f]{64}(?:\.gz|\.lz4|\.zst)?$/ } @names), 0,
	'every WAL file of the format-1 stanza has a SHA-256 name')
  or diag(join("\n", @names));
my $stored = SbTest::stored_path($repo, $seg);
my ($name_digest) = $stored =~ /-([0-9a-f]{64})\.zst$/;
my $local = $node->data_dir . "/pg_wal/$seg";
SKIP:
{
	skip "$seg was recycled before it was read", 1 unless -f $local;
	is($name_digest, Digest::SHA->new(256)->addfile($local)->hexdigest,
		'the name carries the SHA-256 of the segment');
}

# --- a backup: its manifest lists SHA-256 digests
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
my $manifest = slurp_file("$repo/main/backup/$label/backup.manifest");
my @digests = $manifest =~ /^file=[^\t]*\t[^\t]*\t[^\t]*\t[^\t]*\t([^\t]*)\t/mg;
cmp_ok(scalar(@digests), '>', 100, 'the manifest lists the files');
is(scalar(grep { !/^[0-9a-f]{64}$/ } @digests), 0,
	'every file of the backup is listed with a SHA-256 digest');

$node->safe_psql('postgres', 'INSERT INTO t SELECT g, md5(g::text) FROM generate_series(3001, 5000) g');
my $expect = $node->safe_psql('postgres',
	q{SELECT count(*) || ':' || md5(string_agg(g::text || h, ',' ORDER BY g)) FROM t});
SbTest::switch_and_wait($node);

command_ok([ 'pg_safebackup', 'verify', "--repo-path=$repo" ],
	'verify checks the format-1 stanza');

# --- restore: the backup and the WAL after it
my $restored = PostgreSQL::Test::Cluster->new('format1_restored');
SbTest::restore_ok($restored, [ "--repo-path=$repo", '--stanza=main' ],
	'restore from the format-1 stanza');
SbTest::start_restored($restored, 'format-1 restore');
is( $restored->safe_psql('postgres',
		q{SELECT count(*) || ':' || md5(string_agg(g::text || h, ',' ORDER BY g)) FROM t}),
	$expect,
	'the restored table matches the original');
$restored->stop;

# --- the stanza is still of format 1
like(slurp_file("$repo/main/stanza.info"), qr/^format_version=1$/m,
	'the stanza info file still says format 1');

$node->stop;
done_testing();
