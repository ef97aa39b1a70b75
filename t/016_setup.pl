# The setup helpers, end to end.
#
# "setup tls" makes a CA, the repository server's certificate and a client
# certificate (keys mode 0600); the repository server runs with the
# configuration lines it printed and a cluster archives through it with the
# safebackup.tls_* settings it printed.  Run again for another client, it
# keeps the CA and the server certificate and issues the new client's.
#
# "setup sftp" against the test sshd (tests/sftp/sshd-harness.sh, started
# by scripts/run-suite.sh): without a confirmation (no terminal, no
# --host-key-fingerprint) and with a wrong fingerprint it is refused and
# writes nothing; with the right fingerprint it writes the known_hosts line,
# and a cluster archives through SFTP with the settings it printed.  A new
# key pair is made by ssh-keygen with mode 0600.
use strict;
use warnings;
use File::Compare;
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $tmp = PostgreSQL::Test::Utils::tempdir();

# run(ARGS...): (exit code, stdout, stderr), stdin not a terminal
sub run
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_safebackup', @_ ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# the "safebackup.NAME = 'VALUE'" lines of a printed block, as a list
sub printed_settings
{
	my ($text) = @_;
	my @settings;
	while ($text =~ /^(safebackup\.\w+) = '?([^'\n]*)'?$/mg)
	{
		push @settings, $1, $2;
	}
	return @settings;
}

sub mode_of { return (stat($_[0]))[2] & 07777; }

# --- setup tls
my $pki = "$tmp/pki";
my $repo = "$tmp/repo";
mkdir $repo or die;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my ($rc, $out, $err) = run('setup', 'tls', "--dir=$pki", '--server-name=127.0.0.1',
	'--server-name=localhost', '--client=pg1', "--port=$port");
is($rc, 0, 'setup tls exits 0') or diag($err);
foreach my $f (qw(ca server pg1))
{
	ok(-f "$pki/$f.crt", "$f.crt made");
	is(mode_of("$pki/$f.key"), 0600, "$f.key has mode 0600");
}
like($out, qr/^\[auth\]\npg1 = main$/m, 'setup tls prints the [auth] line');

# the server's part of the output, up to the first empty line
my ($server_part) = split(/\n\n/, $out);
$server_part =~ s/^#.*\n//mg;
$server_part =~ s/^listen = .*$/listen = 127.0.0.1/m;
$server_part =~ s/^repo_path = .*$/repo_path = $repo/m;
my $log = "$tmp/server.log";
my $conf = "$tmp/server.conf";
open(my $fh, '>', $conf) or die;
print $fh "log_file = $log\nlog_level = info\n$server_part\n";
close($fh);

my $server_pid = fork();
die "fork: $!" unless defined $server_pid;
if ($server_pid == 0)
{
	exec('pg_safebackup', 'server', '-c', $conf) or die "exec: $!";
}
END { kill 'TERM', $server_pid if $server_pid; }
my $up = 0;
for (1 .. 250)
{
	if (IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Proto => 'tcp'))
	{
		$up = 1;
		last;
	}
	select(undef, undef, undef, 0.02);
}
ok($up, 'the repository server runs with the printed configuration');

my @tls_settings = printed_settings($out);
my %tls = @tls_settings;
is($tls{'safebackup.tls_cert_file'}, "$pki/pg1.crt", 'the printed client certificate');
my $node = SbTest::new_node('tls', settings => [ @tls_settings, wal_keep_size => '1GB' ]);
my $seg = SbTest::switch_and_wait($node);
ok(exists SbTest::segment_counts($repo)->{$seg},
	"segment $seg archived through TLS with the printed settings");
$node->stop;

# again, for another client: the CA and the server certificate are kept
my $ca_before = slurp_file("$pki/ca.crt");
my $server_before = slurp_file("$pki/server.crt");
($rc, $out, $err) = run('setup', 'tls', "--dir=$pki", '--server-name=127.0.0.1',
	'--client=pg2', "--port=$port", '--stanza=second');
is($rc, 0, 'setup tls again for pg2');
is(slurp_file("$pki/ca.crt"), $ca_before, 'the CA is kept');
is(slurp_file("$pki/server.crt"), $server_before, 'the server certificate is kept');
is(mode_of("$pki/pg2.key"), 0600, 'pg2.key has mode 0600');
like($err, qr/using the CA/, 'setup tls says it uses the existing CA');
my ($ok_verify) = IPC::Run::run([ 'openssl', 'verify', '-CAfile', "$pki/ca.crt", "$pki/pg2.crt" ],
	'>', \my $vout, '2>', \my $verr);
ok($ok_verify, 'the CA signed pg2.crt');
($rc, $out, $err) = run('setup', 'tls', "--dir=$pki", '--server-name=127.0.0.1',
	'--client=../x');
is($rc, 2, 'a client name that is not a plain name is refused');

# --- setup sftp
my $harness = $ENV{SB_SFTP_HARNESS} // '';
SKIP:
{
	skip 'no SFTP test server (scripts/run-suite.sh starts one)', 1
	  unless $harness ne '' && -f "$harness/env";

	my %sftp;
	open(my $envfh, '<', "$harness/env") or die;
	while (<$envfh>)
	{
		chomp;
		$sftp{$1} = $2 if /^(\w+)=(.*)$/;
	}
	close($envfh);

	my $kh = "$tmp/known_hosts";
	my @setup = ('setup', 'sftp', "--host=$sftp{SFTP_HOST}", "--port=$sftp{SFTP_PORT}",
		"--user=$sftp{SFTP_USER}", "--known-hosts-file=$kh",
		"--repo-path=$sftp{SFTP_REPO}");

	# not confirmed: refused, nothing written
	($rc, $out, $err) = run(@setup, "--key-file=$tmp/unconfirmed");
	is($rc, 1, 'setup sftp without a terminal or a fingerprint fails');
	like($out, qr/\Q$sftp{SFTP_FINGERPRINT}\E/, 'setup sftp shows the host key fingerprint');
	like($err, qr/was not confirmed/, 'setup sftp: the host key was not confirmed');
	ok(!-e $kh && !-e "$tmp/unconfirmed", 'not confirmed: no known_hosts, no key written');

	# a wrong fingerprint: refused, nothing written
	my $rsa_fp = (split(/ /, `ssh-keygen -lf $harness/ssh_host_rsa_key.pub`))[1];
	($rc, $out, $err) = run(@setup, "--key-file=$tmp/wrong", "--host-key-fingerprint=$rsa_fp");
	is($rc, 1, 'setup sftp with a wrong fingerprint fails');
	like($err, qr/does not match the fingerprint given/, 'wrong fingerprint: says so');
	ok(!-e $kh && !-e "$tmp/wrong", 'wrong fingerprint: no known_hosts, no key written');

	# confirmed, with the account's authorized key
	($rc, $out, $err) = run(@setup, "--key-file=$sftp{SFTP_KEY}",
		"--host-key-fingerprint=$sftp{SFTP_FINGERPRINT}");
	is($rc, 0, 'setup sftp with the right fingerprint') or diag($err);
	like(slurp_file($kh), qr/^\[\Q$sftp{SFTP_HOST}\E\]:$sftp{SFTP_PORT} ssh-ed25519 /m,
		'the known_hosts line is written');
	like($out, qr/^Match User \Q$sftp{SFTP_USER}\E\n(?:    .*\n)*    ForceCommand internal-sftp$/m,
		'setup sftp prints the sshd Match block');
	my @sftp_settings = printed_settings($out);
	my %s = @sftp_settings;
	is($s{'safebackup.sftp_known_hosts_file'}, $kh, 'the printed known_hosts setting');

	my $snode = SbTest::new_node('sftp', wal_segsize => 1,
		settings => [ @sftp_settings, 'safebackup.stanza' => 'setupsftp',
			wal_keep_size => '1GB' ]);
	my $sseg = SbTest::switch_and_wait($snode);
	is(SbTest::failed_count($snode), '0', "segment $sseg archived through SFTP with the printed settings");
	$snode->stop;

	# again: the line is there already, not written twice
	($rc, $out, $err) = run(@setup, "--key-file=$sftp{SFTP_KEY}",
		"--host-key-fingerprint=$sftp{SFTP_FINGERPRINT}");
	is($rc, 0, 'setup sftp again');
	my @lines = grep { /\S/ } split(/\n/, slurp_file($kh));
	is(scalar(@lines), 1, 'the known_hosts line is not repeated');

	# a new key pair, by ssh-keygen, mode 0600
	($rc, $out, $err) = run(@setup, "--key-file=$tmp/newkey",
		"--host-key-fingerprint=$sftp{SFTP_FINGERPRINT}");
	is($rc, 0, 'setup sftp with a new key file');
	is(mode_of("$tmp/newkey"), 0600, 'the new private key has mode 0600');
	like(`ssh-keygen -lf $tmp/newkey.pub`, qr/ \(ED25519\)$/m, 'the new key is Ed25519');
	like($out, qr/^ssh-ed25519 \S+ pg_safebackup$/m, 'its public key is printed for authorized_keys');
}

done_testing();
