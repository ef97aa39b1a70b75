# Whole-system test of S3 multipart uploads: a base backup whose relation
# file is larger than one part (16.25 MiB) is stored through S3 in several
# parts, restored, and the restored data compared with the original.
#
# It needs a gateway that returns a multipart object's bytes as uploaded.
# The standalone gateway of t/023_s3.pl (dbstore) does not (see
# scripts/rgw-start.sh: tests/unit/test_s3 proves by the ETag what it
# received), so scripts/run-suite.sh starts a second one with the "posix"
# backend, passed in SB_S3_POSIX_HARNESS.  That backend mangles the upload
# id of a key with a dot in its last part, so this cluster stores files
# without compression (no ".zst" suffix); the parts are cut, sent and
# committed by the same code whatever the compression.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my ($harness, $s3) = SbTest::harness('SB_S3_POSIX_HARNESS',
	'S3 test server with the posix backend');
my %s3 = %$s3;
my $stanza = 's3mp' . $$;
my @cli_s3 = SbTest::s3_options(\%s3, $stanza);

# The ETag the gateway gives KEY: "MD5-N" for an object of N parts.
sub object_etag
{
	my ($key) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'curl', '-sS', '-I', '--cacert', $s3{S3_CA_FILE}, '--aws-sigv4',
			"aws:amz:$s3{S3_REGION}:s3", '-u',
			"$s3{S3_ACCESS_KEY}:$s3{S3_SECRET_KEY}", '-H',
			'x-amz-content-sha256: UNSIGNED-PAYLOAD',
			"https://$s3{S3_ENDPOINT}/$s3{S3_BUCKET}/$key"
		],
		'>', \$out, '2>', \$err) or die "curl failed: $err";
	return $out =~ /^etag:\s*"?([^"\r\n]*)/mi ? $1 : '';
}

my $node = SbTest::new_node(
	'primary',
	wal_segsize => 1,
	settings => [
		SbTest::s3_settings(\%s3, $stanza),
		'safebackup.compress_type' => 'none',
	]);
SbTest::switch_and_wait($node);

# about 40 MB in one relation file: three parts (16.25 + 16.25 + the rest)
$node->safe_psql('postgres',
	q{CREATE TABLE big AS SELECT g, md5(g::text) || md5((g * 7)::text) AS t
	  FROM generate_series(1, 420000) g});
my $size = $node->safe_psql('postgres', q{SELECT pg_relation_size('big')});
cmp_ok($size, '>', 2 * (16 * 1024 * 1024 + 256 * 1024), "table file of $size bytes needs three parts");
my $relpath = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('big')});
my $state_query = q{SELECT count(*) || ':' || md5(string_agg(t, '' ORDER BY g)) FROM big};
my $expect = $node->safe_psql('postgres', $state_query);

my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($label, qr/^\d{8}-\d{6}F$/, "backup $label taken through S3");
like(object_etag("$stanza/backup/$label/data/$relpath"), qr/^[0-9a-f]{32}-3$/,
	"$relpath stored as one object of three parts");
SbTest::switch_and_wait($node);
$node->stop;

my $restored = PostgreSQL::Test::Cluster->new('restored');
SbTest::restore_ok($restored, \@cli_s3, 'restore through S3');
SbTest::start_restored($restored);
is($restored->safe_psql('postgres', $state_query), $expect,
	'the restored table is identical to the original');
$restored->stop;

done_testing();
