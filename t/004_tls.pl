# Whole-system test of the mutual-TLS repository server and the tls
# repository type: a throwaway CA (tests/tls/make-certs.sh, openssl command)
# signs the server and client certificates; "pg_safebackup server" runs on
# 127.0.0.1.  WAL is archived under a pgbench load through TLS, a backup is
# taken and restored through TLS (CLI restore + archive-get as
# restore_command) and the data compared.  Clients with a certificate from
# another CA, an expired one, or a CN not in the authorization map are
# refused and write nothing.  A crafted client sending ../ and absolute
# paths and an oversized frame is refused while others are served.  SIGHUP
# with an edited authorization map applies to new connections.  kill -9 of
# the server while segments are archived, then a restart: every segment
# arrives exactly once and intact.
use strict;
use warnings;
use File::Compare;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $work = PostgreSQL::Test::Utils::tempdir();
my $repo = "$work/repo";
my $pki = "$work/pki";
my $conf = "$work/server.conf";
my $log = "$work/server.log";
mkdir $repo or die;
system('tests/tls/make-certs.sh', $pki) == 0 or die 'could not make certificates';
my $port = PostgreSQL::Test::Cluster::get_free_port();

sub write_server_conf
{
	my ($auth) = @_;
	open(my $fh, '>', $conf) or die;
	print $fh qq{listen = 127.0.0.1
port = $port
repo_path = $repo
cert_file = $pki/server.crt
key_file = $pki/server.key
ca_file = $pki/ca.crt
log_file = $log
log_level = info
idle_timeout = 120
[auth]
$auth};
	close($fh);
}

my $server_pid;
sub start_server
{
	$server_pid = fork();
	die "fork: $!" unless defined $server_pid;
	if ($server_pid == 0)
	{
		setpgrp(0, 0);			# its own process group, to crash it whole
		exec('pg_safebackup', 'server', '--config', $conf) or die "exec: $!";
	}
	# wait until it accepts connections
	for (1 .. 250)
	{
		return 1 if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Proto => 'tcp');
		select(undef, undef, undef, 0.02);
	}
	die 'repository server did not start';
}
sub stop_server
{
	my ($sig) = @_;
	return undef unless $server_pid;
	kill $sig, $server_pid;
	waitpid($server_pid, 0);
	my $status = $?;
	$server_pid = undef;
	return $status;
}
END { kill 'KILL', $server_pid if $server_pid; }

sub slurp_log { open(my $fh, '<', $log) or return ''; local $/; return <$fh>; }

write_server_conf("pg1 = main\n");
start_server();

# the client side: five settings, plus repo_type
my $node = SbTest::new_node(
	'primary',
	settings => [
		'safebackup.repo_type' => 'tls',
		'safebackup.tls_host' => '127.0.0.1',
		'safebackup.tls_port' => $port,
		'safebackup.tls_cert_file' => "$pki/pg1.crt",
		'safebackup.tls_key_file' => "$pki/pg1.key",
		'safebackup.tls_ca_file' => "$pki/ca.crt",
		wal_keep_size => '1GB'
	]);

sub tls_opts
{
	my ($who) = @_;
	$who //= 'pg1';
	return ('--repo-type=tls', '--tls-host=127.0.0.1', "--tls-port=$port",
		"--tls-cert-file=$pki/$who.crt", "--tls-key-file=$pki/$who.key",
		"--tls-ca-file=$pki/ca.crt");
}

# every stored WAL segment name, with the number of times it is stored
sub stored { return SbTest::segment_counts($repo); }

sub all_repo_files
{
	my @all;
	my @dirs = ($repo);
	while (my $d = shift @dirs)
	{
		opendir(my $dh, $d) or die;
		foreach my $e (grep { !/^\.\.?$/ } readdir($dh))
		{
			push @all, "$d/$e";
			push @dirs, "$d/$e" if -d "$d/$e";
		}
		closedir($dh);
	}
	return join("\n", sort @all);
}

# --- archive under load, back up, restore through TLS
$node->command_ok([ 'pgbench', '-i', '-s', '2', 'postgres' ], 'pgbench init');
my $bg = IPC::Run::start([ 'pgbench', '-n', '-c', '4', '-T', '4', '-h', $node->host,
	'-p', $node->port, 'postgres' ], '>', \my $bg_out, '2>', \my $bg_err);
# six segments completed whatever pgbench wrote by then (force_switch
# writes a record first)
for (1 .. 6) { SbTest::force_switch($node); sleep 0.5; }
$bg->finish;
my $last = SbTest::switch_and_wait($node);
my $files = stored();
ok(exists $files->{$last}, "segment $last archived through TLS");
ok(scalar(keys %$files) >= 5, scalar(keys %$files) . ' segments stored');
is(SbTest::failed_count($node), '0',
	'no archive failure');
like(slurp_log(), qr/authenticated as CN "pg1", stanza main/, 'server logged the archiver connection');

my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($label, qr/^\d{8}-\d{6}F$/, "backup $label taken through TLS");
ok(-f "$repo/main/backup/$label/backup.manifest", 'manifest stored on the server');
$node->safe_psql('postgres', 'CREATE TABLE after_backup AS SELECT g FROM generate_series(1, 1000) g');
my @queries = ('SELECT count(*) || \':\' || sum(abalance) FROM pgbench_accounts',
	'SELECT sum(g) FROM after_backup');
my $expect = SbTest::query_state($node, @queries);
SbTest::switch_and_wait($node);

command_like([ 'pg_safebackup', 'info', tls_opts() ], qr/$label/, 'info lists the backup through TLS');

my $restored = PostgreSQL::Test::Cluster->new('restored');
SbTest::restore_ok($restored, [ tls_opts() ], 'restore through TLS');
SbTest::start_restored($restored);
is(SbTest::query_state($restored, @queries),
	$expect, 'restored data (backup + WAL through archive-get) matches');
$restored->stop;

# --- refused clients write nothing
my $seg_path = $node->data_dir . "/pg_wal/$last";
my $before = all_repo_files();
foreach my $case ([ 'otherca', 'certificate from another CA' ],
	[ 'expired', 'expired certificate' ],
	[ 'intruder', 'CN not in the authorization map' ])
{
	my ($who, $what) = @$case;
	my ($out, $err);
	my $ok = IPC::Run::run([ 'pg_safebackup', 'archive-push', tls_opts($who),
		'-D', $node->data_dir, $seg_path ], '>', \$out, '2>', \$err);
	ok(!$ok, "$what: archive-push refused");
	like($err, $who eq 'intruder' ? qr/access denied to stanza main for CN intruder/
		: qr/error: repository server "127.0.0.1" refused this client/, "$what: clear error");
}
is(all_repo_files(), $before, 'nothing written by refused clients');
my $slog = slurp_log();
like($slog, qr/rejected client 127\.0\.0\.1:\d+: certificate verification failed: unable to get local issuer certificate \(subject "\/CN=pg1"\)/,
	'server logged the other-CA client with its subject and address');
like($slog, qr/rejected client 127\.0\.0\.1:\d+: certificate verification failed: certificate has expired/,
	'server logged the expired certificate');
like($slog, qr/rejected client 127\.0\.0\.1:\d+ \(subject "\/CN=intruder"\): common name not in the authorization map/,
	'server logged the unknown CN');

# --- a crafted client: ../ and absolute paths, then an oversized frame
sub frame { my ($type, $payload) = @_; return pack('N C x3', length($payload), $type) . $payload; }
my $input = frame(0x01, pack('n', 1) . pack('n/a*', 'main'))
  . frame(0x10, pack('n/a*', '../../etc/passwd'))
  . frame(0x10, pack('n/a*', '/etc/passwd'))
  . frame(0x20, pack('C', 0) . pack('n/a*', 'main/../../escape'))
  . frame(0x10, pack('n/a*', 'main'))
  . pack('N C x3', 0x7fffffff, 0x10);
my ($craft_out, $craft_err) = ('', '');
IPC::Run::run([ 'openssl', 's_client', '-quiet', '-connect', "127.0.0.1:$port",
	'-cert', "$pki/pg1.crt", '-key', "$pki/pg1.key", '-CAfile', "$pki/ca.crt",
	'-verify_return_error' ], '<', \$input, '>', \$craft_out, '2>', \$craft_err,
	IPC::Run::timeout(30));
my @denied = ($craft_out =~ /invalid repository path/g);
is(scalar(@denied), 3, 'crafted ../ and absolute paths refused');
like($craft_out, qr/exceeds the limit/, 'oversized frame refused');
ok(!-e "$work/escape" && !-e "$repo/../escape", 'nothing written outside the repository');
like(slurp_log(), qr/refused frame from 127\.0\.0\.1:\d+ \(CN "pg1"\): frame of 2147483647 bytes exceeds/,
	'server logged the oversized frame');
$last = SbTest::switch_and_wait($node);
ok(stored()->{$last}, 'the server keeps serving the archiver');

# --- SIGHUP: an edited authorization map applies to new connections
command_fails_like([ 'pg_safebackup', 'info', tls_opts('pg2') ],
	qr/access denied to stanza main for CN pg2/, 'pg2 refused before the reload');
write_server_conf("pg1 = main\npg2 = main\n");
kill 'HUP', $server_pid;
my $reloaded = 0;
for (1 .. 100) { if (slurp_log() =~ /configuration reloaded/) { $reloaded = 1; last; } select(undef, undef, undef, 0.05); }
ok($reloaded, 'server reloaded on SIGHUP');
command_like([ 'pg_safebackup', 'info', tls_opts('pg2') ], qr/$label/, 'pg2 allowed after the reload');
$last = SbTest::switch_and_wait($node);
ok(stored()->{$last}, 'archiving continues across the reload');

# --- kill -9 while segments are being archived, restart: exactly once, intact
# The whole server (listener and connection processes) is killed, as in a
# crash of the repository host's service, while pgbench writes and WAL is
# switched every 0.2 s; the server comes back about a second later.
my $first = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
my $failed_before = SbTest::failed_count($node);
$bg = IPC::Run::start([ 'pgbench', '-n', '-c', '2', '-T', '5', '-h', $node->host,
	'-p', $node->port, 'postgres' ], '>', \$bg_out, '2>', \$bg_err);
for my $i (1 .. 20)
{
	$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
	select(undef, undef, undef, 0.2);
	if ($i == 8)
	{
		kill 'KILL', -$server_pid;
		waitpid($server_pid, 0);
		$server_pid = undef;
	}
	start_server() if $i == 14;	# down for about 1.2 s of WAL switches
}
$bg->finish;
$last = SbTest::switch_and_wait($node);
$files = stored();
my ($missing, $twice) = (0, 0);
my @segs = sort grep { $_ ge $first && $_ le $last } keys %$files;
foreach my $seg (@segs) { $twice++ if $files->{$seg} != 1; }
# every segment name between first and last (same timeline, 16 MB segments)
$missing = grep { !$files->{$_} } SbTest::segments_between($first, $last);
ok(SbTest::failed_count($node) > $failed_before,
	'the archiver saw the outage (archiving failed while the server was down)');
is($missing, 0, "no segment missing from $first to $last after kill -9 and restart");
is($twice, 0, 'no segment stored twice');
my $bad = 0;
foreach my $seg (@segs)
{
	my $rc = system('pg_safebackup', 'archive-get', tls_opts(), $seg, "$work/$seg");
	$bad++ if $rc != 0;
	my $orig = $node->data_dir . "/pg_wal/$seg";
	$bad++ if -f $orig && compare($orig, "$work/$seg") != 0;
	unlink "$work/$seg";
}
is($bad, 0, scalar(@segs) . ' segments read back intact (checksum verified, equal to pg_wal)');
my @tmp = grep { /\.tmp\.\d+\.\d+$/ } split /\n/, all_repo_files();
note('temporary files left by the killed server: ' . scalar(@tmp));

# --- SIGTERM: finishes and exits 0
is(stop_server('TERM'), 0, 'SIGTERM: server exits 0');
$node->stop;
done_testing();
