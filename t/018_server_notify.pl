# systemd readiness notification of the repository server (Type=notify in
# docs/pg_safebackup-server.service): run with NOTIFY_SOCKET pointing at a
# datagram socket this test listens on, the server sends READY=1 only once
# its port accepts connections; SIGHUP gives RELOADING=1 then READY=1;
# SIGTERM gives STOPPING=1 and a clean exit.  A server that cannot start
# (a certificate file missing) exits non-zero without READY=1.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $work = PostgreSQL::Test::Utils::tempdir();
my $repo = "$work/repo";
my $pki = "$work/pki";
mkdir $repo or die;
system('tests/tls/make-certs.sh', $pki) == 0 or die 'could not make certificates';
my $port = PostgreSQL::Test::Cluster::get_free_port();

sub write_conf
{
	my ($file, $cert) = @_;
	open(my $fh, '>', $file) or die;
	print $fh qq{listen = 127.0.0.1
port = $port
repo_path = $repo
cert_file = $cert
key_file = $pki/server.key
ca_file = $pki/ca.crt
log_file = $work/server.log
log_level = info
[auth]
pg1 = main
};
	close($fh);
}

my $sock_path = "$work/notify.sock";
my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $sock_path)
  or die "could not make $sock_path: $!";
my $select = IO::Select->new($sock);

# next_message(): the next datagram the server sent; undef after the
# default test timeout
sub next_message
{
	return undef unless $select->can_read($PostgreSQL::Test::Utils::timeout_default);
	my $msg;
	defined($sock->recv($msg, 4096)) or die "recv: $!";
	return $msg;
}

my $server_pid;
sub start_server
{
	my ($conf) = @_;
	$server_pid = fork();
	die "fork: $!" unless defined $server_pid;
	if ($server_pid == 0)
	{
		$ENV{NOTIFY_SOCKET} = $sock_path;
		exec('pg_safebackup', 'server', '--config', $conf) or die "exec: $!";
	}
}
END { kill 'KILL', $server_pid if $server_pid; }

# --- a good configuration: READY=1 once it listens
write_conf("$work/good.conf", "$pki/server.crt");
start_server("$work/good.conf");
my $msg = next_message();
like($msg, qr/^READY=1$/m, 'the server says READY=1');
like($msg, qr/^STATUS=listening on port $port \(1 socket\)$/m, 'with a status line');
ok(IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Proto => 'tcp'),
	'its port accepts connections as soon as it said so');

# --- a reload
kill 'HUP', $server_pid;
is(next_message(), 'RELOADING=1', 'SIGHUP: RELOADING=1');
is(next_message(), 'READY=1', 'then READY=1 when the configuration is reloaded');

# --- a shutdown
kill 'TERM', $server_pid;
is(next_message(), 'STOPPING=1', 'SIGTERM: STOPPING=1');
waitpid($server_pid, 0);
is($?, 0, 'and a clean exit');
$server_pid = undef;

# --- a configuration that cannot start: no READY=1
write_conf("$work/bad.conf", "$pki/missing.crt");
start_server("$work/bad.conf");
waitpid($server_pid, 0);
isnt($?, 0, 'a server that cannot load its certificate exits non-zero');
$server_pid = undef;
# the process is gone: whatever it sent is already queued
ok(!$select->can_read(0), 'and says nothing to systemd');

done_testing();
