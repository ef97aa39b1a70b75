# Whole-system test of the SFTP repository against a real sshd with the
# hardened setup the README describes: a chrooted "ForceCommand
# internal-sftp" account reached with an Ed25519 key, host key checked
# against a hashed known_hosts file.  The account gets no shell; a wrong
# pinned fingerprint, an unknown host and a changed known_hosts key are
# refused with nothing written; WAL is archived under load while sshd is
# restarted and its sessions dropped, and every segment arrives exactly once
# and intact; a base backup is taken and restored through SFTP, and the
# restored cluster holds the same data.
#
# The sshd is started (as root) by scripts/run-suite.sh, which passes its
# directory in SB_SFTP_HARNESS; see tests/sftp/sshd-harness.sh.
use strict;
use warnings;
use File::Compare;
use IPC::Run;
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my ($harness, $sftp) = SbTest::harness('SB_SFTP_HARNESS', 'SFTP test server');
my %sftp = %$sftp;

my $tmp = PostgreSQL::Test::Utils::tempdir();

sub harness_request { SbTest::harness_request($harness, @_); }

# The repository as the SFTP account sees it: { path => size } of files.
sub repo_files
{
	harness_request('list');
	my %files;
	open(my $fh, '<', "$harness/control/listing") or die;
	while (<$fh>)
	{
		chomp;
		my ($type, $size, $path) = split(/ /, $_, 3);
		$files{$path} = $size if $type eq 'f';
	}
	close($fh);
	return \%files;
}

# Options that reach the repository through SFTP, for the CLI.
my @cli_sftp = (
	'--repo-type=sftp', "--repo-path=$sftp{SFTP_REPO}",
	"--sftp-host=$sftp{SFTP_HOST}", "--sftp-port=$sftp{SFTP_PORT}",
	"--sftp-user=$sftp{SFTP_USER}", "--sftp-private-key-file=$sftp{SFTP_KEY}");

# A cluster (1 MB segments) archiving into STANZA through SFTP, with the
# host key setting given; started with the extension created unless
# start => 0.
sub sftp_node
{
	my ($name, $stanza, $hostkey_setting, $hostkey_value, %opts) = @_;
	return SbTest::new_node(
		$name,
		wal_segsize => 1,
		start => $opts{start},
		settings => [
			wal_keep_size => '1GB',
			'safebackup.stanza' => $stanza,
			'safebackup.repo_type' => 'sftp',
			'safebackup.repo_path' => $sftp{SFTP_REPO},
			'safebackup.sftp_host' => $sftp{SFTP_HOST},
			'safebackup.sftp_port' => $sftp{SFTP_PORT},
			'safebackup.sftp_user' => $sftp{SFTP_USER},
			'safebackup.sftp_private_key_file' => $sftp{SFTP_KEY},
			'safebackup.io_timeout' => '20s',
			$hostkey_setting => $hostkey_value
		]);
}

# --- the account is SFTP only, chrooted
my ($out, $err) = ('', '');
my @ssh_opts = (
	'-F', '/dev/null', '-i', $sftp{SFTP_KEY},
	'-o', "UserKnownHostsFile=$sftp{SFTP_KNOWN_HOSTS}",
	'-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
	'-o', 'IdentitiesOnly=yes');
IPC::Run::run(
	[
		'ssh', '-n', @ssh_opts, '-p', $sftp{SFTP_PORT},
		"$sftp{SFTP_USER}\@$sftp{SFTP_HOST}", 'echo SHELL_MARKER_$((6*7))'
	],
	'>', \$out, '2>', \$err);
unlike($out, qr/SHELL_MARKER_42/, 'ssh to the SFTP account runs no command');
my $batch = "$tmp/sftp-batch";
open(my $bfh, '>', $batch) or die;
print $bfh "pwd\n";
close($bfh);
($out, $err) = ('', '');
IPC::Run::run(
	[
		'sftp', @ssh_opts, '-P', $sftp{SFTP_PORT}, '-b', $batch,
		"$sftp{SFTP_USER}\@$sftp{SFTP_HOST}"
	],
	'>', \$out, '2>', \$err);
like($out, qr{Remote working directory: /upload\b},
	'the same key gets an SFTP session, in the chroot');

# --- host keys: wrong pinned fingerprint, unknown host, changed key
my $rsa_fp = `ssh-keygen -lf $harness/ssh_host_rsa_key.pub`;
$rsa_fp = (split(/ /, $rsa_fp))[1];
like($rsa_fp, qr/^SHA256:/, 'fingerprint of the other host key');

my $bad = sftp_node('wrong_fingerprint', 'wrongfp',
	'safebackup.sftp_host_key_fingerprint' => $rsa_fp, start => 0);
$bad->start;
SbTest::force_switch($bad);
ok(SbTest::wait_for_failure($bad), 'wrong pinned fingerprint: archiving fails');
ok( $bad->log_contains(
		qr/host key for ".*" has changed/),
	'wrong pinned fingerprint: the log says the host key has changed');
ok($bad->log_contains(qr/\Q$sftp{SFTP_FINGERPRINT}\E/),
	'wrong pinned fingerprint: the offered key\'s fingerprint is shown');
$bad->stop('immediate');

# unknown host: a known_hosts file without this host
my $empty_kh = "$tmp/known_hosts_other";
open(my $kfh, '>', $empty_kh) or die;
my $pub = `cat $harness/ssh_host_ed25519_key.pub`;
my ($ktype, $kdata) = split(/ /, $pub);
print $kfh "[127.0.0.2]:$sftp{SFTP_PORT} $ktype $kdata\n";
close($kfh);
command_fails_like(
	[ 'pg_safebackup', 'info', @cli_sftp, '--stanza=unknownhost',
		"--sftp-known-hosts-file=$empty_kh" ],
	qr/host key for ".*" is not known.*\n(?s:.*)\Q$sftp{SFTP_FINGERPRINT}\E/,
	'unknown host: refused, the offered fingerprint is shown');

# changed key: known_hosts holds another Ed25519 key for this host
system('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', "$tmp/other_host_key") == 0
  or die "ssh-keygen failed";
my $other_pub = `cat $tmp/other_host_key.pub`;
($ktype, $kdata) = split(/ /, $other_pub);
my $changed_kh = "$tmp/known_hosts_changed";
open($kfh, '>', $changed_kh) or die;
print $kfh "[127.0.0.1]:$sftp{SFTP_PORT} $ktype $kdata\n";
close($kfh);
command_fails_like(
	[ 'pg_safebackup', 'info', @cli_sftp, '--stanza=changedkey',
		"--sftp-known-hosts-file=$changed_kh" ],
	qr/host key for ".*" has changed/,
	'changed host key: refused');

my $files = repo_files();
is_deeply([ grep { m{^(wrongfp|unknownhost|changedkey)(/|$)} } keys %$files ],
	[], 'nothing was written for the refused connections');

# --- archive under load through SFTP, while sshd restarts
my $node = sftp_node('primary', 'main',
	'safebackup.sftp_known_hosts_file' => $sftp{SFTP_KNOWN_HOSTS_HASHED});
my $first = SbTest::current_segment($node);
$node->command_ok([ 'pgbench', '-i', '-s', '2', 'postgres' ], 'pgbench init');

# logins seen by sshd (only the archiver connects while pgbench runs)
sub sshd_logins
{
	my $log = slurp_file("$harness/sshd.log");
	my @logins = ($log =~ /Accepted publickey for \Q$sftp{SFTP_USER}\E/g);
	return scalar(@logins);
}
my $logins_before = sshd_logins();
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	my $bench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', '8', 'postgres' ],
		'>', \$out, '2>', \$err);
	# after each blow a segment is archived (so the archiver had to log in
	# again), whatever the machine's speed
	SbTest::switch_and_wait($node);
	harness_request('restart');
	SbTest::switch_and_wait($node);
	harness_request('drop');
	SbTest::switch_and_wait($node);
	harness_request('restart');
	$bench->finish;
	is($bench->result(0), 0, 'pgbench ran while sshd restarted');
}
my $last = SbTest::switch_and_wait($node);
cmp_ok($last, 'gt', $first, "segments $first to $last archived");
# one login after each restart and after the drop
cmp_ok(sshd_logins() - $logins_before, '>=', 3,
	'the archiver reconnected after sshd dropped it');
# every segment from first to last exactly once under a final name
$files = repo_files();
my %stored;
foreach my $path (keys %$files)
{
	next unless $path =~ m{^main/wal/[0-9A-F]{16}/([0-9A-F]{24})-(?:[0-9a-f]{32}|[0-9a-f]{64})(?:\.gz|\.lz4|\.zst)?$};
	$stored{$1}++;
}
my @want = SbTest::segments_between($first, $last, 1);
my @missing = grep { !$stored{$_} } @want;
my @twice = grep { $stored{$_} > 1 } keys %stored;
is_deeply(\@missing, [], scalar(@want) . ' segments all in the repository');
is_deeply(\@twice, [], 'no segment stored twice');

# intact: each comes back through SFTP (checksum verified) identical to pg_wal
my $bad_count = 0;
foreach my $seg (@want)
{
	my $dest = "$tmp/fetched";
	unlink $dest;
	my $rc = system('pg_safebackup', 'archive-get', @cli_sftp, '--stanza=main',
		"--sftp-known-hosts-file=$sftp{SFTP_KNOWN_HOSTS}", $seg, $dest);
	my $orig = $node->data_dir . "/pg_wal/$seg";
	$bad_count++ if $rc != 0 || (-f $orig && compare($orig, $dest) != 0);
}
is($bad_count, 0, 'every archived segment is intact');

# the right pinned fingerprint is accepted, as ssh-keygen prints it and in hex
command_ok(
	[ 'pg_safebackup', 'info', @cli_sftp, '--stanza=main',
		"--sftp-host-key-fingerprint=$sftp{SFTP_FINGERPRINT}" ],
	'pinned SHA256 fingerprint accepted');
my $b64 = substr($sftp{SFTP_FINGERPRINT}, 7);
$b64 .= '=' x ((4 - length($b64) % 4) % 4);
my $hexfp = unpack('H*', MIME::Base64::decode_base64($b64));
is(length($hexfp), 64, 'hex form of the fingerprint');
command_ok(
	[ 'pg_safebackup', 'info', @cli_sftp, '--stanza=main',
		"--sftp-host-key-fingerprint=$hexfp" ],
	'pinned hex fingerprint accepted');

# --- base backup through SFTP, more writes, restore through SFTP
my $state_query = q{SELECT (SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts)
	|| ':' || (SELECT sum(g) FROM after_backup)};
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($label, qr/^\d{8}-\d{6}F$/, "backup $label taken through SFTP");
$files = repo_files();
ok(exists $files->{"main/backup/$label/backup.manifest"}, 'manifest stored on the SFTP server');
$node->safe_psql('postgres', 'CREATE TABLE after_backup AS SELECT g FROM generate_series(1, 5000) g');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '100', 'postgres' ], 'writes after the backup');
my $expect = $node->safe_psql('postgres', $state_query);
SbTest::switch_and_wait($node);

my $restored = PostgreSQL::Test::Cluster->new('restored');
SbTest::restore_ok(
	$restored,
	[
		@cli_sftp, '--stanza=main',
		"--sftp-known-hosts-file=$sftp{SFTP_KNOWN_HOSTS_HASHED}"
	],
	'restore through SFTP');
like(slurp_file($restored->data_dir . '/postgresql.auto.conf'),
	qr/restore_command = .*--sftp-host=127\.0\.0\.1.*--sftp-known-hosts-file=/,
	'restore_command reaches the same SFTP repository');
SbTest::start_restored($restored);
is($restored->safe_psql('postgres', $state_query), $expect,
	'restored cluster matches the original (WAL replayed from SFTP)');
$restored->stop;

# --- a dead server never holds a server process: waits are latch-aware
# (safebackup.io_timeout is 20s; a canceled query must end long before)
harness_request('freeze');
my ($qout, $qerr) = ('', '');
my $query = IPC::Run::start(
	[ 'psql', '-XAt', '-d', $node->connstr('postgres'), '-c',
		'SELECT count(*) FROM safebackup.safebackup_backups()' ],
	'>', \$qout, '2>', \$qerr);
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
			WHERE query LIKE '%safebackup.safebackup_backups()%' AND pid <> pg_backend_pid()}),
	'a query waits on the frozen SFTP server');
sleep 1;
my $t0 = time();
$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE query LIKE '%safebackup.safebackup_backups()%' AND pid <> pg_backend_pid()});
$query->finish;
my $waited = time() - $t0;
cmp_ok($waited, '<', 10, "canceled query ended after ${waited}s, not after the I/O timeout");
like($qerr, qr/interrupted|cancel/, 'it reports that it was interrupted');
harness_request('thaw');
$node->stop;

done_testing();
