# The command line as the pg_* tools have it: "COMMAND --help" (and -?)
# for every command, showing that command's options and not another's;
# the short options -c, -D, -j, -P, -q, -v; messages named
# "pg_safebackup:", not the path the program was run as; an unknown option
# is a usage error (exit 2), but 255 for archive-get (restore_command must
# stop recovery, not end it).
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

# run(ARGS...): (exit code, stdout, stderr)
sub run
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_safebackup', @_ ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# --- per-command help: its own options, not another command's
my @help = (
	[ ['archive-get'], [qw(--pgdata --repo-path)], [qw(--target-dir --retention-full)] ],
	[ ['archive-push'], [qw(--pgdata --compress-type)], [qw(--target-dir --output)] ],
	[ ['restore'], [qw(--target-dir --pgdata --jobs --progress --target-time --repo-path)],
		[qw(--output --retention-full --new-cipher-pass-file)] ],
	[ ['info'], [qw(--output --repo-path --quiet)], [qw(--target-dir --retention-full --jobs)] ],
	[ ['expire'], [qw(--retention-full --dry-run)], [qw(--target-dir --output)] ],
	[ ['verify'], [qw(--backup --output)], [qw(--target-dir --retention-full)] ],
	[ ['rekey'], [qw(--new-cipher-pass-file --cipher-kdf-log2n)], [qw(--target-dir --output)] ],
	[ ['server'], [qw(--config)], [qw(--repo-path --target-dir --sftp-host)] ],
	[ [qw(setup sftp)], [qw(--host --user --host-key-fingerprint --known-hosts-file)],
		[qw(--server-name --client --repo-type --target-dir)] ],
	[ [qw(setup tls)], [qw(--dir --server-name --client)],
		[qw(--host-key-fingerprint --repo-type --target-dir)] ]);
foreach my $h (@help)
{
	my ($cmd, $has, $hasnot) = @$h;
	my $name = join(' ', @$cmd);
	foreach my $flag ('--help', '-?')
	{
		my ($rc, $out, $err) = run(@$cmd, $flag);
		is($rc, 0, "$name $flag exits 0");
		like($out, qr/^Usage:\n  pg_safebackup \Q$name\E /, "$name $flag: its synopsis");
		is($err, '', "$name $flag: nothing on stderr");
		next if $flag eq '-?';
		foreach my $o (@$has)
		{
			like($out, qr/\Q$o\E\b/, "$name --help names $o");
		}
		foreach my $o (@$hasnot)
		{
			unlike($out, qr/\Q$o\E\b(?!-)/, "$name --help does not name $o");
		}
	}
}
my ($rc, $out, $err) = run('--help');
is($rc, 0, 'global --help exits 0');
foreach my $o (qw(--target-dir --output --retention-full --host-key-fingerprint --server-name))
{
	like($out, qr/\Q$o\E\b/, "global --help names $o");
}
like($out, qr/^  setup tls /m, 'global --help lists setup tls');
# every long option the parsers know is in the help table (setup: in the
# help of that setup command)
foreach my $p ([ 'cli/options.c', $out ],
	[ 'cli/cmd_setup_sftp.c', (run('setup', 'sftp', '--help'))[1] ],
	[ 'cli/cmd_setup_tls.c', (run('setup', 'tls', '--help'))[1] ])
{
	my ($src, $help) = @$p;
	my $code = slurp_file($src);
	my @names = ($code =~ /^\t+\{"([a-z0-9-]+)", (?:required|no)_argument/mg);
	ok(scalar(@names) > 2, "$src: its option table is found");
	foreach my $n (@names)
	{
		like($help, qr/--\Q$n\E\b/, "help names --$n ($src)");
	}
}
($rc, $out, $err) = run('help', 'expire');
ok($rc == 0 && $out =~ /--retention-full/ && $out !~ /--target-dir/, 'help expire: the command\'s help');

# --- unknown options: usage error, named by the program name
($rc, $out, $err) = run('info', '--no-such-option');
is($rc, 2, 'unknown option: exit 2');
like($err, qr/^pg_safebackup: unrecognized option/, 'unknown option: the message names pg_safebackup');
($rc, $out, $err) = run('archive-get', '--no-such-option', '000000010000000000000001', 'x');
is($rc, 255, 'archive-get with an unknown option: exit 255');
($rc, $out, $err) = run('setup', 'tls', '--no-such-option');
is($rc, 2, 'setup tls with an unknown option: exit 2');
like($err, qr/^pg_safebackup: unrecognized option/, 'setup tls: the message names pg_safebackup');
($rc, $out, $err) = run('info', '-j');
is($rc, 2, '-j without a value: exit 2');

# --- short options against a real backup
my $repo = PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $node = SbTest::new_node('primary', settings => [ 'safebackup.repo_path' => $repo ]);
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
SbTest::switch_and_wait($node);

my $conf = "$tmp/sb.conf";
open(my $fh, '>', $conf) or die;
print $fh "repo_path = $repo\nstanza = main\n";
close($fh);

# -c FILE: the repository from the file
($rc, $out, $err) = run('info', '-c', $conf);
is($rc, 0, 'info -c FILE');
like($out, qr/\Q$label\E/, 'info -c FILE shows the backup');

# -D DIR -j 2 -P: restore into DIR, the progress line although stderr is a pipe
my $copy = PostgreSQL::Test::Cluster->new('copy');
($rc, $out, $err) = run('restore', '-c', $conf, '-D', $copy->data_dir, '-j', '2', '-P',
	'--target-action=promote');
is($rc, 0, 'restore -c FILE -D DIR -j 2 -P');
like($out, qr/restored backup \Q$label\E/, 'restore -D: restored');
like($err, qr/^pg_safebackup: .* of .* \(100%\).*files$/m, 'restore -P: a progress line without a terminal');
SbTest::start_restored($copy, 'restore -D');
is($copy->safe_psql('postgres', 'SELECT count(*) FROM t'), '1000', 'restore -D: the data is there');
$copy->stop;

# without -P and without a terminal: no progress line; -v: more messages
my $copy2 = PostgreSQL::Test::Cluster->new('copy2');
($rc, $out, $err) = run('restore', '-c', $conf, '--pgdata', $copy2->data_dir, '-v');
is($rc, 0, 'restore --pgdata DIR -v');
unlike($err, qr/\(\d+%\)/, 'restore without -P and without a terminal: no progress line');
like($err, qr/restore_command will be: /, 'restore -v: says the restore_command');

# -D and --target-dir naming two directories
($rc, $out, $err) = run('restore', '-c', $conf, '-D', "$tmp/a", "--target-dir=$tmp/b");
is($rc, 2, 'restore -D and another --target-dir: usage error');

# -q: errors only
($rc, $out, $err) = run('expire', '-c', $conf, '--dry-run');
like($err, qr/retention_full is 0/, 'expire without retention says so');
($rc, $out, $err) = run('expire', '-c', $conf, '--dry-run', '-q');
is($rc, 0, 'expire -q exits 0');
is($err, '', 'expire -q: no message on stderr');
($rc, $out, $err) = run('info', '-c', $conf, '--stanza=nosuch', '-q');
isnt($rc, 0, 'info -q of a missing stanza fails');
like($err, qr/^pg_safebackup: error: /, 'info -q: errors are still shown');

done_testing();
