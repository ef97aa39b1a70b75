# Append-only repositories (README "Append-only repositories").
#
# TLS: the database host's certificate (CN pg1) has the append right on
# stanza "main", CN pg2 the admin right.  Archiving, backups and restores
# work through pg1; pg_safebackup info and safebackup.safebackup_status() say
# "append-only"; safebackup.safebackup_expire(), "pg_safebackup expire" with pg1, and
# a crafted client asking to replace stanza.info, to remove a file and to
# remove the stanza recursively are refused and change nothing (listing and
# checksums compared).  The server's own retention ([retention] main = 2)
# runs after each completed backup and removes the oldest backup and the
# WAL only it needed; PITR from the oldest kept backup works; expire with
# the admin certificate works; the retention timer removes what a lowered
# retention_full says, but never a backup younger than retention_min_days.
#
# SFTP: the sshd harness's second account (append-only: internal-sftp -P
# denying remove, rmdir, setstat, fsetstat, posix-rename and hardlink)
# archives and backs up; it cannot remove or overwrite a committed file;
# expire on the repository host's posix path (the admin path) works.
use strict;
use warnings;
use Digest::SHA;
use File::Find;
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
	my ($retention, $interval, $min_days) = @_;
	$min_days //= 0;
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
retention_interval = $interval
retention_min_days = $min_days
[auth]
pg1 = main
pg2 = main:admin
[retention]
main = $retention
};
	close($fh);
}

my $server_pid;
sub start_server
{
	$server_pid = fork();
	die "fork: $!" unless defined $server_pid;
	if ($server_pid == 0)
	{
		exec('pg_safebackup', 'server', '--config', $conf) or die "exec: $!";
	}
	for (1 .. 250)
	{
		return 1 if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Proto => 'tcp');
		select(undef, undef, undef, 0.02);
	}
	die 'repository server did not start';
}
END { kill 'KILL', $server_pid if $server_pid; }

sub slurp { my ($f) = @_; open(my $fh, '<', $f) or return ''; local $/; return <$fh>; }

# every file and directory under a root, with the SHA-256 of each file
sub listing
{
	my ($root) = @_;
	my @all;
	find({ no_chdir => 1, wanted => sub {
		my $rel = substr($File::Find::name, length($root));
		push @all, -f $_ ? "$rel " . Digest::SHA->new(256)->addfile($_)->hexdigest : "$rel/";
	} }, $root);
	return join("\n", sort @all);
}

# wait until cond returns true (at most 60 s)
sub wait_for
{
	my ($cond) = @_;
	for (1 .. 600)
	{
		return 1 if $cond->();
		select(undef, undef, undef, 0.1);
	}
	return 0;
}

sub tls_opts
{
	my ($who) = @_;
	return ('--repo-type=tls', '--tls-host=127.0.0.1', "--tls-port=$port",
		"--tls-cert-file=$pki/$who.crt", "--tls-key-file=$pki/$who.key",
		"--tls-ca-file=$pki/ca.crt", '--stanza=main');
}

write_server_conf(2, 0);
start_server();

my $node = SbTest::new_node(
	'primary',
	settings => [
		'safebackup.repo_type' => 'tls',
		'safebackup.tls_host' => '127.0.0.1',
		'safebackup.tls_port' => $port,
		'safebackup.tls_cert_file' => "$pki/pg1.crt",
		'safebackup.tls_key_file' => "$pki/pg1.key",
		'safebackup.tls_ca_file' => "$pki/ca.crt",
		'safebackup.retention_full' => '1',
		wal_keep_size => '1GB'
	]);

# --- archiving and a backup through the append-only identity
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
my $seg = SbTest::switch_and_wait($node);
ok(SbTest::segment_counts($repo)->{$seg}, "segment $seg archived with the append right");
is(SbTest::failed_count($node), '0', 'no archive failure');
like(slurp($log), qr/authenticated as CN "pg1", stanza main, right append/,
	'server logged the right of the archiver');
is($node->safe_psql('postgres', 'SELECT repository_mode FROM safebackup.safebackup_status()'),
	'append-only', 'safebackup.safebackup_status() says append-only');

my @labels;
push @labels, $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($labels[0], qr/^\d{8}-\d{6}F$/, "backup $labels[0] taken with the append right");
ok(-f "$repo/main/backup/$labels[0]/backup.manifest", 'its manifest is stored');
ok(wait_for(sub { slurp($node->logfile) =~ /pg_safebackup expire skipped: the repository is append-only for this host/ }),
	'the automatic expire after the backup says the repository is append-only');

command_like([ 'pg_safebackup', 'info', tls_opts('pg1') ],
	qr/repository mode: append-only/, 'info shows the append-only mode');
command_like([ 'pg_safebackup', 'info', tls_opts('pg2') ],
	qr/repository mode: admin/, 'info with the admin certificate shows admin');

# --- refusals: nothing changes
# (the server's own retention after the backup runs in a process of its own:
# wait until it is done, or it may remove old WAL between the two listings)
ok(wait_for(sub { slurp($log) =~ /retention of stanza "main" \(after a backup\): retention_full 2, 1 backups kept/ }),
	'the server applied its retention after the first backup');
my $before = listing($repo);
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT * FROM safebackup.safebackup_expire()');
isnt($ret, 0, 'safebackup.safebackup_expire() fails with the append right');
like($stderr, qr/the repository is append-only for this client: expire of stanza "main" runs on the repository/,
	'safebackup.safebackup_expire() says expire runs on the repository');
command_fails_like([ 'pg_safebackup', 'expire', '--retention-full=1', tls_opts('pg1') ],
	qr/the repository is append-only for this client/, 'pg_safebackup expire with pg1 refused');

sub frame { my ($type, $payload) = @_; return pack('N C x3', length($payload), $type) . $payload; }
my $input = frame(0x01, pack('n', 1) . pack('n/a*', 'main'))
  . frame(0x20, pack('C', 1) . pack('n/a*', 'main/stanza.info'))
  . frame(0x13, pack('C', 0) . pack('n/a*', "main/backup/$labels[0]/backup.manifest"))
  . frame(0x13, pack('C', 1) . pack('n/a*', 'main'))
  . frame(0x10, pack('n/a*', 'main/stanza.info'))
  . frame(0x01, pack('n', 1) . pack('n/a*', 'main'));	# a second HELLO: the server hangs up
my ($craft_out, $craft_err) = ('', '');
IPC::Run::run([ 'openssl', 's_client', '-quiet', '-connect', "127.0.0.1:$port",
	'-cert', "$pki/pg1.crt", '-key', "$pki/pg1.key", '-CAfile', "$pki/ca.crt",
	'-verify_return_error' ], '<', \$input, '>', \$craft_out, '2>', \$craft_err,
	IPC::Run::timeout(30));
like($craft_out, qr/permission denied to replace "main\/stanza.info": this client has the append right/,
	'replace refused');
like($craft_out, qr/permission denied to remove "main\/backup\/$labels[0]\/backup.manifest"/,
	'remove of a file refused');
like($craft_out, qr/permission denied to remove "main": this client has the append right/,
	'recursive remove of the stanza refused');
like($craft_out, qr/\x82/, 'the connection goes on after the refusals (STAT answered)');
is(listing($repo), $before, 'nothing changed in the repository');
my $slog = slurp($log);
like($slog, qr/refused WRITE_OPEN \(replace\) "main\/stanza.info" from 127\.0\.0\.1:\d+: CN "pg1" has the append right on stanza "main"/,
	'replace logged with CN, stanza and path');
like($slog, qr/refused recursive REMOVE "main" from 127\.0\.0\.1:\d+: CN "pg1"/,
	'recursive remove logged');

# --- server-side retention after each completed backup: 2 full backups kept
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1001, 2000) g');
SbTest::switch_and_wait($node);
push @labels, $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
ok(wait_for(sub { slurp($log) =~ /retention of stanza "main" \(after a backup\): retention_full 2, 2 backups kept, 0 removed/ }),
	'retention ran after the second backup and kept both');
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(2001, 3000) g');
my $target_state = $node->safe_psql('postgres', 'SELECT count(*) || \':\' || sum(g) FROM t');
my $target_lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(3001, 4000) g');
SbTest::switch_and_wait($node);
push @labels, $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
ok(wait_for(sub { !-d "$repo/main/backup/$labels[0]" }),
	"server retention removed the oldest backup $labels[0]");
ok(wait_for(sub { slurp($log) =~ /retention of stanza "main": removed backup $labels[0]/ }),
	'the server logged it');
ok(-f "$repo/main/backup/$labels[1]/backup.manifest" && -f "$repo/main/backup/$labels[2]/backup.manifest",
	'the two newest backups are kept');

# the WAL only the removed backup needed is gone; from the oldest kept on it stays
my $info = `pg_safebackup info --repo-path=$repo --stanza=main`;
my ($keep_from) = $info =~ /\Q$labels[1]\E \([^)]*\)\n\s+start: [^\n]*WAL ([0-9A-F]{24})/;
ok(defined $keep_from, "oldest kept backup starts in $keep_from");
my @segs = SbTest::stored_segments($repo);
ok(@segs && $segs[0] ge $keep_from, "no segment older than $keep_from is kept (oldest: $segs[0])");
ok(!SbTest::segment_counts($repo)->{$seg} || $seg ge $keep_from,
	"segment $seg (before the first kept backup) was removed");

# PITR from the oldest kept backup, through the append-only identity
my $pitr = PostgreSQL::Test::Cluster->new('pitr');
SbTest::restore_ok($pitr, [ tls_opts('pg1'), "--backup=$labels[1]", "--target-lsn=$target_lsn" ],
	'restore of the oldest kept backup to a point in time with the append right');
SbTest::start_restored($pitr, 'PITR');
is($pitr->safe_psql('postgres', 'SELECT count(*) || \':\' || sum(g) FROM t'),
	$target_state, 'PITR from the oldest kept backup reached the target');
$pitr->stop;

# --- expire with the admin certificate
command_like([ 'pg_safebackup', 'expire', '--retention-full=1', tls_opts('pg2') ],
	qr/removed backup \Q$labels[1]\E/, 'expire with the admin certificate removes a backup');
ok(!-d "$repo/main/backup/$labels[1]", 'it is gone');

# --- the retention timer: a lowered retention_full applies without a backup
write_server_conf(5, 0);
kill 'HUP', $server_pid;
ok(wait_for(sub { scalar(() = slurp($log) =~ /configuration reloaded/g) >= 1 }), 'reloaded');
push @labels, $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
ok(wait_for(sub { slurp($log) =~ /retention_full 5, 2 backups kept/ }), 'retention 5 keeps both');
# with the floor (retention_min_days) these young backups stay whatever
# retention_full says: forged newer backups cannot push recent ones out
write_server_conf(1, 1, 1);
kill 'HUP', $server_pid;
ok(wait_for(sub { slurp($log) =~ /retention of stanza "main" \(timer\): retention_full 1, 2 backups kept, 0 removed/ }),
	'retention_min_days = 1 keeps backups younger than a day');
ok(-d "$repo/main/backup/$labels[2]", "$labels[2] is still there");
write_server_conf(1, 1, 0);
kill 'HUP', $server_pid;
ok(wait_for(sub { !-d "$repo/main/backup/$labels[2]" }),
	"the timer removed $labels[2] (retention_full lowered to 1)");
like(slurp($log), qr/retention of stanza "main" \(timer\)/, 'the timer run is logged');
ok(-f "$repo/main/backup/$labels[3]/backup.manifest", "the newest backup $labels[3] is kept");

kill 'TERM', $server_pid;
waitpid($server_pid, 0);
$server_pid = undef;
$node->stop;

# ---------------------------------------------------------------------
# SFTP: the harness's append-only account
# ---------------------------------------------------------------------
my $harness = $ENV{SB_SFTP_HARNESS} // '';
my %sftp;
if ($harness ne '' && open(my $envfh, '<', "$harness/env"))
{
	while (<$envfh>) { chomp; $sftp{$1} = $2 if /^(\w+)=(.*)$/; }
	close($envfh);
}
SKIP:
{
	skip 'no SFTP test server with an append-only account (scripts/run-suite.sh starts one)', 1
	  unless $sftp{SFTP_APPEND_USER};

	# ask the root-side watcher of the harness for something, wait for it
	my $harness_request = sub {
		my ($what, $content) = @_;
		my $req = "$harness/control/$what";
		open(my $fh, '>', "$req.tmp") or die "could not create $req: $!";
		print $fh $content // '';
		close($fh);
		rename("$req.tmp", $req) or die;
		wait_for(sub { !-e $req }) or die "the SFTP harness did not serve \"$what\"";
	};
	my $append_listing = sub {
		$harness_request->('list-append');
		return slurp("$harness/control/listing-append");
	};

	# a stanza of its own: the append-only account cannot clean up after runs
	my $sstanza = 'append' . $$;
	my $snode = SbTest::new_node(
		'sftp_append',
		wal_segsize => 1,
		settings => [
			wal_keep_size => '1GB',
			'safebackup.stanza' => $sstanza,
			'safebackup.repo_type' => 'sftp',
			'safebackup.repo_path' => $sftp{SFTP_APPEND_REPO},
			'safebackup.sftp_host' => $sftp{SFTP_HOST},
			'safebackup.sftp_port' => $sftp{SFTP_PORT},
			'safebackup.sftp_user' => $sftp{SFTP_APPEND_USER},
			'safebackup.sftp_private_key_file' => $sftp{SFTP_KEY},
			'safebackup.sftp_known_hosts_file' => $sftp{SFTP_KNOWN_HOSTS},
			'safebackup.io_timeout' => '20s'
		]);
	my @sftp_cli = (
		'--repo-type=sftp', "--repo-path=$sftp{SFTP_APPEND_REPO}",
		"--sftp-host=$sftp{SFTP_HOST}", "--sftp-port=$sftp{SFTP_PORT}",
		"--sftp-user=$sftp{SFTP_APPEND_USER}", "--sftp-private-key-file=$sftp{SFTP_KEY}",
		"--sftp-known-hosts-file=$sftp{SFTP_KNOWN_HOSTS}", "--stanza=$sstanza");

	# archiving and backups work without remove, setstat or posix-rename
	$snode->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
	my $sseg = SbTest::switch_and_wait($snode);
	is(SbTest::failed_count($snode), '0', "SFTP append-only account: segment $sseg archived");
	my @slabels;
	push @slabels, $snode->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
	like($slabels[0], qr/^\d{8}-\d{6}F$/, "SFTP append-only account: backup $slabels[0] taken");
	$snode->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1001, 2000) g');
	SbTest::switch_and_wait($snode);
	push @slabels, $snode->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
	like($slabels[1], qr/^\d{8}-\d{6}F$/, "SFTP append-only account: backup $slabels[1] taken");
	is($snode->safe_psql('postgres', 'SELECT repository_mode FROM safebackup.safebackup_status()'),
		'unknown', 'safebackup.safebackup_status() says the SFTP mode is unknown');
	command_like([ 'pg_safebackup', 'info', @sftp_cli ],
		qr/repository mode: unknown/, 'info says unknown for SFTP');

	my $sbefore = $append_listing->();
	like($sbefore, qr/^f 440 [0-9a-f]{64} $sstanza\/stanza\.info$/m,
		'committed files are read-only (mode 0440)');

	# the account cannot remove, overwrite, rename over or chmod
	my $local = "$work/evil";
	open(my $efh, '>', $local) or die;
	print $efh "evil\n";
	close($efh);
	my $r = "$sftp{SFTP_APPEND_REPO}/$sstanza";
	my $batch = join('', map { "-$_\n" }
		"rm $r/stanza.info",
		"rm $r/backup/$slabels[0]/backup.manifest",
		"put $local $r/stanza.info",
		"rename $r/stanza.info.copy $r/stanza.info",
		"chmod 0640 $r/stanza.info",
		"rmdir $r/backup/$slabels[0]");
	my ($sout, $serr) = ('', '');
	IPC::Run::run([ 'sftp', '-F', '/dev/null', '-i', $sftp{SFTP_KEY},
		'-o', "UserKnownHostsFile=$sftp{SFTP_KNOWN_HOSTS}",
		'-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
		'-P', $sftp{SFTP_PORT}, '-b', '-', "$sftp{SFTP_APPEND_USER}\@$sftp{SFTP_HOST}" ],
		'<', \$batch, '>', \$sout, '2>', \$serr, IPC::Run::timeout(60));
	like($serr, qr/remote delete "?\Q$r\E\/stanza\.info"?: Permission denied/,
		'remove of stanza.info refused');
	like($serr, qr/remote delete "?\Q$r\E\/backup\/\Q$slabels[0]\E\/backup\.manifest"?: Permission denied/,
		'remove of a backup manifest refused');
	like($serr, qr/dest open "?\Q$r\E\/stanza\.info"?: Permission denied/,
		'overwriting stanza.info refused (the file is read-only)');
	like($serr, qr/remote rename "?\Q$r\E\/stanza\.info\.copy"? to "?\Q$r\E\/stanza\.info"?: (?:Failure|Permission denied)/,
		'rename over stanza.info refused');
	like($serr, qr/remote setstat "?\Q$r\E\/stanza\.info"?: Permission denied/,
		'chmod refused');
	like($serr, qr/remote rmdir "?\Q$r\E\/backup\/\Q$slabels[0]\E"?: Permission denied/,
		'rmdir refused');
	is($append_listing->(), $sbefore, 'nothing changed in the SFTP repository');

	# expire through the append-only account fails and removes nothing
	command_fails_like([ 'pg_safebackup', 'expire', '--retention-full=1', @sftp_cli ],
		qr/could not remove|permission denied/i, 'expire through the append-only account fails');
	is($append_listing->(), $sbefore, 'and changes nothing');

	# the admin path: expire on the repository host's posix path
	my ($program) = grep { -x $_ } map { "$_/pg_safebackup" } split(/:/, $ENV{PATH});
	$harness_request->('expire-append', "1 $sstanza $program\n");
	my $eout = slurp("$harness/control/expire-append.out");
	like($eout, qr/removed backup \Q$slabels[0]\E/, 'expire on the posix path (admin) removed the older backup')
	  or diag($eout);
	unlike($append_listing->(), qr/ $sstanza\/backup\/\Q$slabels[0]\E/, 'it is gone');

	# archiving goes on, and the remaining backup restores
	my $slast = SbTest::switch_and_wait($snode);
	is(SbTest::failed_count($snode), '0', 'archiving goes on after the admin expire');
	my $srestored = PostgreSQL::Test::Cluster->new('sftp_restored');
	SbTest::restore_ok($srestored, [ @sftp_cli ], 'restore through the append-only SFTP account');
	SbTest::start_restored($srestored, 'SFTP restore');
	is($srestored->safe_psql('postgres', 'SELECT count(*) FROM t'), '2000',
		'the restored cluster has the data');
	$srestored->stop;
	$snode->stop;
}

done_testing();
