# Whole-system test of the S3 repository against a real S3 server: Ceph's
# RADOS Gateway (radosgw, standalone dbstore backend) on loopback, HTTPS
# with a throwaway CA, a user with an access key and a bucket.  WAL is
# archived under load while the gateway is killed (SIGKILL) and started
# again, and every segment arrives exactly once and intact; a base backup
# is taken through S3, restored to a named restore point (PITR) with the
# data compared, verified, and expired; wrong credentials and a CA that did
# not sign the gateway's certificate are refused with clear errors; an
# encrypted stanza in the same bucket archives and fetches back.
#
# The gateway is started (as root) by scripts/run-suite.sh, which passes its
# directory in SB_S3_HARNESS; see scripts/rgw-start.sh.
use strict;
use warnings;
use File::Compare;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my ($harness, $s3) = SbTest::harness('SB_S3_HARNESS', 'S3 test server');
my %s3 = %$s3;
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $stanza = 's3t' . $$;

sub harness_request { SbTest::harness_request($harness, @_); }

# The keys below PREFIX in the bucket, listed with curl (SigV4), as
# { key => size }.
sub bucket_keys
{
	my ($prefix) = @_;
	my %keys;
	my $token = '';
	(my $enc = $prefix) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord($1))/ge;
	for (;;)
	{
		my $query = ($token ne '' ? "continuation-token=$token&" : '')
		  . "list-type=2&prefix=$enc";
		my ($out, $err) = ('', '');
		IPC::Run::run(
			[
				'curl', '-sS', '--cacert', $s3{S3_CA_FILE}, '--aws-sigv4',
				"aws:amz:$s3{S3_REGION}:s3", '-u',
				"$s3{S3_ACCESS_KEY}:$s3{S3_SECRET_KEY}", '-H',
				'x-amz-content-sha256: UNSIGNED-PAYLOAD',
				"https://$s3{S3_ENDPOINT}/$s3{S3_BUCKET}?$query"
			],
			'>', \$out, '2>', \$err) or die "curl failed: $err";
		die "listing failed: $out" unless $out =~ /<ListBucketResult/;
		while ($out =~ m{<Key>([^<]*)</Key>.*?<Size>(\d+)</Size>}g)
		{
			$keys{$1} = $2;
		}
		last unless $out =~ m{<IsTruncated>true</IsTruncated>};
		($token) = $out =~ m{<NextContinuationToken>([^<]*)<};
		$token =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord($1))/ge;
	}
	return \%keys;
}

# Options that reach the repository through S3, for the CLI.
my @cli_s3 = SbTest::s3_options(\%s3, $stanza);

# --- a cluster (1 MB segments) archiving into the bucket
my $node = SbTest::new_node(
	'primary',
	wal_segsize => 1,
	settings => [
		wal_keep_size => '1GB',
		SbTest::s3_settings(\%s3, $stanza),
		'safebackup.io_timeout' => '10s',
	]);
my $first = SbTest::switch_and_wait($node);
$node->command_ok([ 'pgbench', '-i', '-s', '1', 'postgres' ], 'pgbench init');

# --- archive under load while the gateway is killed and started again.
# The gateway stays down until a push has failed (the driver retries one
# request for ~3 s first): a segment is completed on purpose while it is
# down, since under a slow machine pgbench alone may complete none then.
my ($out, $err) = ('', '');
my $log_offset = -s $node->logfile;
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	my $bench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', '9', 'postgres' ],
		'>', \$out, '2>', \$err);
	sleep 2;
	harness_request('kill');
	SbTest::force_switch($node);
	ok( $node->wait_for_log(
			qr/could not reach S3 endpoint "\Q$s3{S3_ENDPOINT}\E"/,
			$log_offset),
		'pushes failed while the gateway was down, and said why');
	harness_request('start');
	sleep 1;
	harness_request('restart');
	$bench->finish;
	is($bench->result(0), 0, 'pgbench ran while the gateway was killed and restarted');
}
my $last = SbTest::switch_and_wait($node);
cmp_ok($last, 'gt', $first, "segments $first to $last archived");

# every segment from first to last exactly once under a final name
my $keys = bucket_keys("$stanza/wal/");
my %stored;
foreach my $key (keys %$keys)
{
	next
	  unless $key =~
	  m{^\Q$stanza\E/wal/[0-9A-F]{16}/([0-9A-F]{24})-(?:[0-9a-f]{32}|[0-9a-f]{64})(?:\.gz|\.lz4|\.zst)?$};
	$stored{$1}++;
}
my @want = SbTest::segments_between($first, $last, 1);
my @missing = grep { !$stored{$_} } @want;
my @twice = grep { $stored{$_} > 1 } keys %stored;
is_deeply(\@missing, [], scalar(@want) . ' segments all in the bucket');
is_deeply(\@twice, [], 'no segment stored twice');

# intact: each comes back through S3 (checksum verified) identical to pg_wal
my $bad_count = 0;
foreach my $seg (@want)
{
	my $dest = "$tmp/fetched";
	unlink $dest;
	my $rc = system('pg_safebackup', 'archive-get', @cli_s3, $seg, $dest);
	my $orig = $node->data_dir . "/pg_wal/$seg";
	$bad_count++ if $rc != 0 || (-f $orig && compare($orig, $dest) != 0);
}
is($bad_count, 0, 'every archived segment comes back intact');

# --- base backup through S3, a restore point, more writes
my $state_query = q{SELECT (SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts)
	|| ':' || (SELECT coalesce(sum(g), 0) FROM after_backup)};
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($label, qr/^\d{8}-\d{6}F$/, "backup $label taken through S3");
$keys = bucket_keys("$stanza/backup/$label/");
ok(exists $keys->{"$stanza/backup/$label/backup.manifest"}, 'manifest stored in the bucket');
$node->safe_psql('postgres', 'CREATE TABLE after_backup AS SELECT g FROM generate_series(1, 5000) g');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '100', 'postgres' ], 'writes after the backup');
my $expect = $node->safe_psql('postgres', $state_query);
$node->safe_psql('postgres', "SELECT pg_create_restore_point('s3_point')");
$node->safe_psql('postgres', 'INSERT INTO after_backup SELECT g FROM generate_series(1, 777) g');
isnt($node->safe_psql('postgres', $state_query), $expect, 'more writes after the restore point');
SbTest::switch_and_wait($node);

# --- PITR through S3: to the restore point, data compared
my $restored = PostgreSQL::Test::Cluster->new('restored');
SbTest::restore_ok($restored, [ @cli_s3, '--target-name=s3_point' ],
	'restore through S3 to a restore point');
like(slurp_file($restored->data_dir . '/postgresql.auto.conf'),
	qr/restore_command = .*--repo-type=s3.*--s3-endpoint=/,
	'restore_command reaches the same S3 repository');
SbTest::start_restored($restored);
is($restored->safe_psql('postgres', $state_query), $expect,
	'restored cluster matches the original at the restore point (WAL replayed from S3)');
$restored->stop;

# --- verify and expire through S3
command_ok([ 'pg_safebackup', 'verify', @cli_s3 ], 'verify through S3');
my $label2 = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
isnt($label2, $label, "second backup $label2");
command_ok([ 'pg_safebackup', 'expire', @cli_s3, '--retention-full=1' ],
	'expire through S3');
$keys = bucket_keys("$stanza/backup/");
ok(!grep({ m{^\Q$stanza\E/backup/\Q$label\E/} } keys %$keys), "expired backup $label is gone");
ok(exists $keys->{"$stanza/backup/$label2/backup.manifest"}, "backup $label2 is kept");
my @old = grep { $_ le $first } map { m{/([0-9A-F]{24})-} ? $1 : () }
  keys %{ bucket_keys("$stanza/wal/") };
is_deeply(\@old, [], 'WAL older than the kept backup is gone');
command_ok([ 'pg_safebackup', 'info', @cli_s3 ], 'info through S3');

# --- wrong credentials, wrong CA: clear errors
my $badcred = "$tmp/badcred";
open(my $bfh, '>', $badcred) or die;
print $bfh "access_key_id = $s3{S3_ACCESS_KEY}\nsecret_access_key = wrong\n";
close($bfh);
chmod 0600, $badcred;
command_fails_like(
	[ 'pg_safebackup', 'info', @cli_s3, "--s3-credentials-file=$badcred" ],
	qr/refused the credentials \(SignatureDoesNotMatch\).*\n.*hint: Check the access key and secret/,
	'wrong secret: refused with a clear error');
chmod 0644, $badcred;
command_fails_like(
	[ 'pg_safebackup', 'info', @cli_s3, "--s3-credentials-file=$badcred" ],
	qr/S3 credentials file ".*" has group or world access/,
	'credentials file others can read: refused');
command_fails_like(
	[ 'pg_safebackup', 'info', @cli_s3, "--s3-ca-file=$s3{S3_OTHER_CA_FILE}" ],
	qr/could not verify the certificate of S3 endpoint.*\n.*hint: Set safebackup.s3_ca_file/,
	'wrong CA: refused with a clear error');

# the archiver says the same in its log, and catches up once fixed
my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "safebackup.s3_ca_file = '$s3{S3_OTHER_CA_FILE}'\n");
$node->reload;
my $failed = SbTest::failed_count($node);
SbTest::force_switch($node);
ok(SbTest::wait_for_failure($node, $failed), 'archiving fails with the wrong CA');
ok($node->wait_for_log(qr/could not verify the certificate of S3 endpoint/, $offset),
	'the server log names the certificate problem');
$node->append_conf('postgresql.conf', "safebackup.s3_ca_file = '$s3{S3_CA_FILE}'\n");
$node->reload;
SbTest::switch_and_wait($node);
pass('archiving resumes with the right CA');

# --- a hung gateway never holds a server process: waits are latch-aware
# (safebackup.io_timeout is 10s; a canceled query must end long before)
harness_request('freeze');
my ($qout, $qerr) = ('', '');
my $query = IPC::Run::start(
	[ 'psql', '-XAt', '-d', $node->connstr('postgres'), '-c',
		'SELECT count(*) FROM safebackup.safebackup_backups()' ],
	'>', \$qout, '2>', \$qerr);
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
			WHERE query LIKE '%safebackup.safebackup_backups()%' AND pid <> pg_backend_pid()}),
	'a query waits on the frozen gateway');
sleep 1;
my $t0 = time();
$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE query LIKE '%safebackup.safebackup_backups()%' AND pid <> pg_backend_pid()});
$query->finish;
my $waited = time() - $t0;
cmp_ok($waited, '<', 8, "canceled query ended after ${waited}s, not after the I/O timeout");
like($qerr, qr/interrupted|cancel/, 'it reports that it was interrupted');
harness_request('thaw');

# --- encryption above the driver: an encrypted stanza in the same bucket
my $pass = "$tmp/pass";
open(my $pfh, '>', $pass) or die;
print $pfh "s3 test passphrase\n";
close($pfh);
chmod 0600, $pass;
$node->append_conf('postgresql.conf',
	"safebackup.stanza = '${stanza}e'\nsafebackup.cipher_type = 'aes-256-gcm'\n"
	  . "safebackup.cipher_pass_file = '$pass'\n");
$node->reload;
my $encseg = SbTest::switch_and_wait($node);
my $enc_info = bucket_keys("${stanza}e/");
ok(exists $enc_info->{"${stanza}e/stanza.info"}, 'encrypted stanza created in the bucket');
my $dest = "$tmp/encfetched";
command_ok(
	[
		'pg_safebackup', 'archive-get', @cli_s3, "--stanza=${stanza}e",
		'--cipher-type=aes-256-gcm', "--cipher-pass-file=$pass", $encseg, $dest
	],
	'an encrypted segment comes back through S3');
is(compare($node->data_dir . "/pg_wal/$encseg", $dest), 0, 'and is identical to pg_wal');
$node->stop;

done_testing();
