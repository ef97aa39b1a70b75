# restore owns the recovery settings, and archive-get never lets recovery
# end early by mistake.
#
# A cluster restored to a point in time keeps that restore's
# recovery_target_time in postgresql.auto.conf; a backup of it, restored
# without a target, must recover everything (the old target removed and
# said so), and a restore as a standby (--standby) must follow the archive.
# archive-get exits 3 only for a WAL file that is not in the archive; a
# missing stanza, another cluster's stanza, a missing repository or a bad
# option make it exit above 125, so that PostgreSQL stops recovery instead
# of promoting a cluster short of its data.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd qw(getcwd);
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $count_query = 'SELECT count(*) || \':\' || coalesce(string_agg(g::text, \',\' ORDER BY g), \'\') FROM t';

my $node = SbTest::new_node('primary', settings => [ 'safebackup.repo_path' => $repo ]);
$node->safe_psql('postgres', 'CREATE TABLE t (g int)');
my $label1 = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');

# row 1, a moment, row 2: the first restore stops at that moment
$node->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
sleep 1;
my $target_time = $node->safe_psql('postgres', 'SELECT now()');
sleep 1;
$node->safe_psql('postgres', 'INSERT INTO t VALUES (2)');
SbTest::switch_and_wait($node);

# --- first restore: point in time; it archives to a stanza of its own
my $first = PostgreSQL::Test::Cluster->new('first');
SbTest::restore_ok($first,
	[ "--repo-path=$repo", '--stanza=main', "--target-time=$target_time" ],
	'point-in-time restore');
$first->append_conf('postgresql.conf',
	"\nport = " . $first->port . "\nsafebackup.stanza = 'first'\n");
$first->start;
$first->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'first restore did not finish recovery';
is($first->safe_psql('postgres', $count_query), '1:1', 'first restore stopped at the target');
like(slurp_file($first->data_dir . '/postgresql.auto.conf'),
	qr/^recovery_target_time = '.+'$/m, 'its postgresql.auto.conf holds the target');

# a backup of the restored cluster, then more rows in it
my $label2 = $first->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
$first->safe_psql('postgres', 'INSERT INTO t VALUES (3), (4)');
SbTest::switch_and_wait($first);

# --- second restore, no target: everything, the old target removed
my $second = PostgreSQL::Test::Cluster->new('second');
my ($out, $err) = run_command(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=first',
		'--target-dir=' . $second->data_dir
	]);
like($out, qr/removed \d+ earlier recovery settings? from postgresql.auto.conf:\n(    .*\n)*    recovery_target_time = /,
	'restore says which earlier settings it removed');
my $auto = slurp_file($second->data_dir . '/postgresql.auto.conf');
is(scalar(() = $auto =~ /^restore_command\b/mg), 1, 'one restore_command line');
unlike($auto, qr/^recovery_target_time = '.+'$/m, 'no earlier recovery_target_time remains');
like($auto, qr/^recovery_target_timeline = 'latest'$/m, 'target timeline latest written');
SbTest::start_restored($second, 'second restore');
is($second->safe_psql('postgres', $count_query), '3:1,3,4',
	'second restore recovered every row written after its backup');
$second->stop;

# --- a standby from the same backup follows the archive
my $standby = PostgreSQL::Test::Cluster->new('standby');
command_fails_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=first',
		'--target-dir=' . $standby->data_dir, '--standby', "--target-time=$target_time"
	],
	qr/a standby cannot have a recovery target/, '--standby with a target refused');
command_fails_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=first',
		'--target-dir=' . $standby->data_dir, '--target-timeline=sideways'
	],
	qr/invalid value "sideways" for option "--target-timeline"/, 'bad --target-timeline refused');
command_like(
	[
		'pg_safebackup', 'restore', "--repo-path=$repo", '--stanza=first',
		'--target-dir=' . $standby->data_dir, '--standby', '--target-timeline=current'
	],
	qr/standby\.signal written/, 'restore as a standby');
ok(-f $standby->data_dir . '/standby.signal', 'standby.signal written');
ok(!-e $standby->data_dir . '/recovery.signal', 'no recovery.signal');
like(slurp_file($standby->data_dir . '/postgresql.auto.conf'),
	qr/^recovery_target_timeline = 'current'$/m, 'target timeline current written');
$standby->append_conf('postgresql.conf',
	"\nport = " . $standby->port . "\narchive_mode = off\nhot_standby = on\n");
$standby->start;
$standby->poll_query_until('postgres', q{SELECT count(*) = 3 FROM t})
  or die 'standby did not replay the archive';
$first->safe_psql('postgres', 'INSERT INTO t VALUES (5)');
SbTest::switch_and_wait($first);
ok($standby->poll_query_until('postgres', q{SELECT count(*) = 4 FROM t}),
	'standby replays WAL archived after it started');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'still a standby');
$standby->stop;

# --- archive-get exit codes
my $seg = SbTest::current_segment($node);
SbTest::switch_and_wait($node);
my $dest = PostgreSQL::Test::Utils::tempdir() . '/seg';
my @get = ('pg_safebackup', 'archive-get', "--repo-path=$repo");

sub exit_code
{
	my ($cmd, $dir) = @_;
	my $cwd = getcwd();
	chdir($dir) if $dir;
	my ($stdout, $stderr) = run_command($cmd);
	my $rc = $? >> 8;
	chdir($cwd);
	return ($rc, $stderr);
}

my ($rc, $msg) = exit_code([ @get, '--stanza=main', $seg, $dest ]);
is($rc, 0, 'archive-get of an archived segment exits 0');
($rc, $msg) = exit_code([ @get, '--stanza=main', '0000000100000099000000FE', $dest ]);
is($rc, 3, 'archive-get of a segment not in the archive exits 3');
($rc, $msg) = exit_code([ @get, '--stanza=mian', $seg, $dest ]);
is($rc, 255, 'archive-get with a stanza that does not exist exits 255');
like($msg, qr/stanza "mian" does not exist in the repository.*\n.*hint: Check the stanza/,
	'... with the reason and a hint');
($rc, $msg) = exit_code([ 'pg_safebackup', 'archive-get', "--repo-path=$repo/nothere",
	'--stanza=main', $seg, $dest ]);
is($rc, 255, 'archive-get with a missing repository exits 255');
($rc, $msg) = exit_code([ @get, '--stanza=main', '--bogus-option', $seg, $dest ]);
is($rc, 255, 'archive-get with an unknown option exits 255');

# run in the data directory of another cluster, as restore_command is
my $other = PostgreSQL::Test::Cluster->new('other');
$other->init;
($rc, $msg) = exit_code([ @get, '--stanza=main', $seg, $dest ], $other->data_dir);
is($rc, 255, 'archive-get for another cluster exits 255');
like($msg, qr/stanza "main" belongs to another cluster/, '... saying so');
($rc, $msg) = exit_code([ @get, '--stanza=main', $seg, $dest ], $node->data_dir);
is($rc, 0, 'archive-get in the data directory of the stanza\'s cluster works');

# a repository that cannot be reached: a standby retries (1), recovery stops (255)
my $pki = PostgreSQL::Test::Utils::tempdir();
system('tests/tls/make-certs.sh', $pki) == 0 or die 'could not make certificates';
my $port = PostgreSQL::Test::Cluster::get_free_port();
my @unreachable = (
	'pg_safebackup', 'archive-get', '--repo-type=tls', '--tls-host=127.0.0.1',
	"--tls-port=$port", "--tls-cert-file=$pki/pg1.crt", "--tls-key-file=$pki/pg1.key",
	"--tls-ca-file=$pki/ca.crt", '--stanza=main', '--io-timeout=2s', $seg, $dest);
my $recovering = PostgreSQL::Test::Utils::tempdir();
($rc, $msg) = exit_code(\@unreachable, $recovering);
is($rc, 255, 'unreachable repository during archive recovery exits 255');
like($msg, qr/connect/i, '... saying it could not connect');
open(my $sfh, '>', "$recovering/standby.signal") or die;
close($sfh);
($rc, $msg) = exit_code(\@unreachable, $recovering);
is($rc, 1, 'unreachable repository from a standby exits 1 (PostgreSQL retries)');

# --- end to end: a typo in restore_command stops recovery with its message
my $typo = PostgreSQL::Test::Cluster->new('typo');
SbTest::restore_ok($typo, [ "--repo-path=$repo", '--stanza=main', "--backup=$label1" ],
	'restore for the typo test');
my $typo_auto = slurp_file($typo->data_dir . '/postgresql.auto.conf');
$typo_auto =~ s/--stanza=main/--stanza=mian/ or die 'no --stanza in restore_command';
open(my $fh, '>', $typo->data_dir . '/postgresql.auto.conf') or die;
print $fh $typo_auto;
close($fh);
$typo->append_conf('postgresql.conf',
	"\nport = " . $typo->port . "\narchive_mode = off\n");
my $started = $typo->start(fail_ok => 1);
my $log = slurp_file($typo->logfile);
ok(!$started || !$typo->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()', 't'),
	'a cluster whose restore_command names a missing stanza does not finish recovery');
like($log, qr/stanza "mian" does not exist in the repository/,
	'the server log says why');
$typo->stop('immediate') if $started && -f $typo->data_dir . '/postmaster.pid';

$first->stop;
$node->stop;
done_testing();
