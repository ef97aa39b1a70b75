# String settings have one limit each, the same in the server (check hooks
# of the safebackup.* settings) and in the pg_safebackup program (command
# line and --config file): the longest value is accepted by both, one byte
# more is refused by both with the same detail, and nothing is cut short.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $node = SbTest::new_node('limits');
my $dir = PostgreSQL::Test::Utils::tempdir();

# setting => longest value in bytes
my %limits = (
	repo_path => 767,
	sftp_host => 255,
	sftp_user => 63,
	sftp_private_key_file => 1023,
	sftp_public_key_file => 1023,
	sftp_private_key_passphrase_file => 1023,
	sftp_known_hosts_file => 1023,
	cipher_pass_file => 1023,
	tls_host => 255,
	tls_cert_file => 1023,
	tls_key_file => 1023,
	tls_ca_file => 1023,
	tls_server_name => 255);

sub value_of
{
	my ($setting, $len) = @_;
	# file names and repo_path are absolute
	return $setting =~ /(_file|_path)$/ ? '/' . ('x' x ($len - 1)) : 'x' x $len;
}

foreach my $setting (sort keys %limits)
{
	my $max = $limits{$setting};
	(my $option = $setting) =~ tr/_/-/;
	my $expect_detail = "The value is " . ($max + 1) . " bytes long; the limit is $max bytes.";

	# the server
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"ALTER SYSTEM SET safebackup.$setting = '" . value_of($setting, $max + 1) . "'");
	like($stderr, qr/ERROR:  value of "safebackup\.$setting" is too long\nDETAIL:  \Q$expect_detail\E/,
		"server refuses $setting of " . ($max + 1) . " bytes");
	($ret, $stdout, $stderr) = $node->psql('postgres',
		"ALTER SYSTEM SET safebackup.$setting = '" . value_of($setting, $max) . "'");
	is($ret, 0, "server accepts $setting of $max bytes");
	$node->safe_psql('postgres', "ALTER SYSTEM RESET safebackup.$setting");

	# the command line
	command_fails_like(
		[ 'pg_safebackup', 'info', "--$option=" . value_of($setting, $max + 1) ],
		qr/error: value of "--$option" is too long\n.*detail: \Q$expect_detail\E/,
		"pg_safebackup refuses --$option of " . ($max + 1) . " bytes");
	my ($out, $err);
	IPC::Run::run([ 'pg_safebackup', 'info', "--$option=" . value_of($setting, $max) ],
		'>', \$out, '2>', \$err);
	unlike($err, qr/value of .* is too long/, "pg_safebackup accepts --$option of $max bytes");

	# a --config file
	open(my $fh, '>', "$dir/limits.conf") or die;
	print $fh "$setting = '" . value_of($setting, $max + 1) . "'\n";
	close($fh);
	command_fails_like([ 'pg_safebackup', 'info', "--config=$dir/limits.conf" ],
		qr/error: value of "$setting \(file .* line 1\)" is too long\n.*detail: \Q$expect_detail\E/,
		"pg_safebackup refuses $setting of " . ($max + 1) . " bytes in a --config file");
}

done_testing();
