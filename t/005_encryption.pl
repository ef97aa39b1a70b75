# Whole-system test of repository encryption (aes-256-gcm, posix repository).
#
# A marker string inserted into a table reaches the WAL and a base backup;
# with encryption off it is found in the repository (so the search can
# fail), with encryption on it appears in no repository file, and every file
# but the stanza info is in the encrypted format.  Restore with the right
# passphrase brings the data back (recovery through archive-get, also
# encrypted); a wrong passphrase, a loose passphrase file and missing
# encryption settings are refused; a flipped byte, a truncated file and two
# swapped files are refused by restore and by archive-get; after rekey the
# new passphrase restores and the old one is refused; encryption cannot be
# turned on for an unencrypted stanza nor off for an encrypted one.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use File::Copy;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SbTest;
use Test::More;

my $repo = PostgreSQL::Test::Utils::tempdir();
my $secrets = PostgreSQL::Test::Utils::tempdir();
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $marker = 'SB-MARKER-' . join('', map { ('a' .. 'z')[ int(rand(26)) ] } 1 .. 20);

sub pass_file
{
	my ($name, $text, $mode) = @_;
	my $path = "$secrets/$name";
	open(my $fh, '>', $path) or die "could not write $path: $!";
	print $fh "$text\n";
	close($fh);
	chmod($mode, $path) or die "chmod $path: $!";
	return $path;
}
my $pass1 = pass_file('pass1', 'first repository passphrase', 0600);
my $pass2 = pass_file('pass2', 'second repository passphrase', 0600);
my $wrong = pass_file('wrong', 'not the passphrase', 0600);
my $loose = pass_file('loose', 'first repository passphrase', 0644);

# Every file under $dir whose content contains $needle.
sub files_containing
{
	my ($dir, $needle) = @_;
	my @hits;
	find(
		{
			no_chdir => 1,
			wanted => sub {
				return unless -f $_;
				open(my $fh, '<:raw', $_) or die "could not read $_: $!";
				local $/;
				my $data = <$fh>;
				close($fh);
				push @hits, $_ if index($data, $needle) >= 0;
			}
		},
		$dir);
	return @hits;
}

sub all_files
{
	my ($dir) = @_;
	my @files;
	find({ no_chdir => 1, wanted => sub { push @files, $_ if -f $_ } }, $dir);
	return sort @files;
}

my $node = SbTest::new_node(
	'primary',
	settings => [
		'safebackup.repo_path' => $repo,
		'safebackup.stanza' => 'plain',
		'safebackup.compress_type' => 'none',
		wal_keep_size => '1GB'
	]);

sub reconfigure
{
	my ($settings) = @_;
	$node->safe_psql('postgres',
		join('', map { "ALTER SYSTEM SET safebackup.$_ = '$settings->{$_}';" } sort keys %$settings)
		  . 'SELECT pg_reload_conf()');
	# every process has the new values before we go on
	$node->poll_query_until('postgres',
		"SELECT current_setting('safebackup.stanza') = '$settings->{stanza}'")
	  or die 'reload not seen';
}

# bad values are refused when set
$node->psql('postgres', "ALTER SYSTEM SET safebackup.cipher_type = 'aes-128-cbc'", stderr => \my $e1);
like($e1, qr/invalid value for parameter "safebackup.cipher_type"/, 'unknown cipher refused');
$node->psql('postgres', "ALTER SYSTEM SET safebackup.cipher_pass_file = 'relative/pass'", stderr => \my $e2);
like($e2, qr/cipher_pass_file must be an absolute path/, 'relative passphrase file refused');

# --- control: without encryption the marker is visible in the repository
# (in two rows, two WAL records: a record may straddle a WAL page boundary,
# whose page header then splits the marker, but two in a row cannot both)
$node->safe_psql('postgres',
	"CREATE TABLE secret (id int, v text); INSERT INTO secret VALUES (0, '$marker'), (1, '$marker')");
SbTest::switch_and_wait($node);
ok(scalar(files_containing("$repo/plain", $marker)) > 0,
	'without encryption the marker is found in the repository (the search works)');

# --- encryption cannot be turned on for the existing unencrypted stanza
reconfigure({ stanza => 'plain', cipher_type => 'aes-256-gcm', cipher_pass_file => $pass1 });
my ($stdout, $stderr);
$node->psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)', stderr => \$stderr);
like($stderr, qr/stanza "plain" is not encrypted/, 'backup into an unencrypted stanza with encryption on is refused');
SbTest::force_switch($node, 'y');
$node->poll_query_until('postgres',
	"SELECT last_error LIKE '%stanza \"plain\" is not encrypted%' FROM safebackup.safebackup_status()")
  or die 'archiving into the unencrypted stanza was not refused';
pass('archiving into an unencrypted stanza with encryption on is refused');
# the error is shared before it is logged: wait for the line
ok($node->wait_for_log(qr/HINT:  Encryption cannot be turned on for an existing stanza: start a new stanza/),
	'the hint says to start a new stanza');

# --- an encrypted stanza
reconfigure({ stanza => 'enc', cipher_type => 'aes-256-gcm', cipher_pass_file => $pass1 });
SbTest::switch_and_wait($node);
ok(-f "$repo/enc/stanza.info", 'encrypted stanza created');
$node->safe_psql('postgres',
	"INSERT INTO secret SELECT g, '$marker' || g FROM generate_series(2, 5000) g");
my $label = $node->safe_psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)');
like($label, qr/^\d{8}-\d{6}F$/, "encrypted backup $label");
$node->safe_psql('postgres', "INSERT INTO secret VALUES (5001, '$marker-after-backup')");
my $expected = $node->safe_psql('postgres',
	'SELECT count(*) || \':\' || md5(string_agg(id || v, \',\' ORDER BY id)) FROM secret');
SbTest::switch_and_wait($node);
$node->safe_psql('postgres', 'CHECKPOINT');

# the marker did reach the WAL and the data files
ok(scalar(files_containing($node->data_dir . '/pg_wal', $marker)) > 0, 'the marker is in the WAL');
ok(scalar(files_containing($node->data_dir . '/base', $marker)) > 0, 'the marker is in the data files');
ok(-f "$repo/enc/backup/$label/backup.manifest", 'the backup has a manifest');

my @leaks = files_containing("$repo/enc", $marker);
is(scalar(@leaks), 0, 'with encryption the marker appears in no repository file')
  or diag("found in: @leaks");
is(scalar(files_containing("$repo/enc", 'pg_safebackup manifest')), 0, 'manifests are not in clear');
my @clear;
my $nfiles = 0;
foreach my $f (all_files("$repo/enc"))
{
	next if $f =~ m{/enc/stanza\.info(\.copy)?$};
	$nfiles++;
	open(my $fh, '<:raw', $f) or die;
	my $head = '';
	read($fh, $head, 7);
	close($fh);
	push @clear, $f if $head ne 'PGSBENC';
}
ok($nfiles > 100, "the stanza holds $nfiles files");
is(scalar(@clear), 0, 'every file but the stanza info is in the encrypted format')
  or diag("not encrypted: @clear");

my $stanza_info = slurp_file("$repo/enc/stanza.info");
like($stanza_info, qr/^cipher_type=aes-256-gcm$/m, 'stanza info records the cipher');
like($stanza_info, qr/^cipher_kdf=scrypt$/m, 'and the KDF');
unlike($stanza_info, qr/first repository passphrase/, 'the passphrase is not stored');

my @enc = ('--repo-path=' . $repo, '--stanza=enc', '--cipher-type=aes-256-gcm');

# --- restore with the right passphrase
sub restore_and_check
{
	my ($name, $pass) = @_;
	my $restored = PostgreSQL::Test::Cluster->new($name);
	command_ok(
		[
			'pg_safebackup', 'restore', @enc, "--cipher-pass-file=$pass",
			'--target-dir=' . $restored->data_dir, '--target-action=promote'
		],
		"$name: restore with the right passphrase");
	SbTest::start_restored($restored, $name);
	is($restored->safe_psql('postgres',
			'SELECT count(*) || \':\' || md5(string_agg(id || v, \',\' ORDER BY id)) FROM secret'),
		$expected, "$name: restored data (backup plus archived WAL) matches");
	$restored->stop;
}
restore_and_check('restored1', $pass1);

# --- refused: wrong passphrase, loose file, no encryption settings
# (a refused restore may leave files behind: each gets a directory of its own)
my $refused_restores = 0;
sub restore_fails_like
{
	my ($args, $re, $what) = @_;
	my $target = "$tmp/refused" . ++$refused_restores;
	command_fails_like([ 'pg_safebackup', 'restore', @$args, "--target-dir=$target" ], $re, $what);
}
restore_fails_like([ @enc, "--cipher-pass-file=$wrong" ], qr/wrong passphrase/,
	'restore with a wrong passphrase is refused');
restore_fails_like([ @enc, "--cipher-pass-file=$loose" ], qr/group or world access/,
	'a passphrase file readable by others is refused');
restore_fails_like([ "--repo-path=$repo", '--stanza=enc' ], qr/stanza "enc" is encrypted/,
	'restore without encryption settings is refused');

# the WAL segments holding the marker, by name
my %wal;
find(
	{
		no_chdir => 1,
		wanted => sub {
			$wal{$1} = $_ if m{/([0-9A-F]{24})-[0-9a-f]{64}$};
		}
	},
	"$repo/enc/wal");
my @segs = sort keys %wal;
ok(@segs >= 2, 'several WAL segments stored');

sub archive_get
{
	my ($walname, $pass) = @_;
	my ($out, $err);
	my $dest = "$tmp/$walname";
	unlink $dest;
	my $ok = IPC::Run::run(
		[ 'pg_safebackup', 'archive-get', @enc, "--cipher-pass-file=$pass", $walname, $dest ],
		'>', \$out, '2>', \$err);
	return ($ok, $err);
}
my ($ok, $err) = archive_get($segs[-2], $pass1);
ok($ok, 'archive-get with the right passphrase') or diag($err);
ok(slurp_file("$tmp/$segs[-2]") eq slurp_file($node->data_dir . "/pg_wal/$segs[-2]"),
	'the segment comes back identical to the one in pg_wal');
# its name carries a MAC, not the SHA-256 of its content
my $plain_sha = sha256_hex(slurp_file($node->data_dir . "/pg_wal/$segs[-2]"));
ok($wal{ $segs[-2] } !~ /\Q$plain_sha\E/, 'the stored name does not reveal the SHA-256 of the segment');

command_like([ 'pg_safebackup', 'info', @enc, "--cipher-pass-file=$pass1" ],
	qr/encryption: aes-256-gcm.*\Q$label\E \(full\)/s, 'info reads the encrypted manifests');
# the same settings from a --config file
open(my $cf, '>', "$tmp/sb.conf") or die;
print $cf "repo_path = $repo\nstanza = enc\ncipher_type = aes-256-gcm\ncipher_pass_file = $pass1\n";
close($cf);
command_like([ 'pg_safebackup', 'info', "--config=$tmp/sb.conf" ],
	qr/encryption: aes-256-gcm.*\Q$label\E \(full\)/s, 'encryption settings in a --config file');
($ok, $err) = archive_get($segs[-2], $wrong);
ok(!$ok && $err =~ /wrong passphrase/, 'archive-get with a wrong passphrase is refused');

# verify reads the encrypted repository: healthy, then damaged below
command_like([ 'pg_safebackup', 'verify', @enc, "--cipher-pass-file=$pass1" ],
	qr/^\Q$label\E: ok /m, 'verify: the encrypted backup and its WAL are ok');
command_fails_like([ 'pg_safebackup', 'verify', @enc, "--cipher-pass-file=$wrong" ],
	qr/wrong passphrase/, 'verify with a wrong passphrase is refused');
sub verify_reports
{
	my ($re, $what) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_safebackup', 'verify', @enc, "--cipher-pass-file=$pass1" ],
		'>', \$out, '2>', \$err);
	ok($? >> 8 == 1 && "$out$err" =~ $re, $what) or diag("$out$err");
}

# --- damaged repository files are refused by restore and archive-get
# the largest data file of the backup (several chunks)
my ($big) = sort { -s $b <=> -s $a } grep { m{/data/base/} } all_files("$repo/enc/backup/$label/data");
ok(-s $big > 3 * 65552, "a data file of several chunks: $big");
my ($other) = grep { $_ ne $big && -s $_ > 100 } sort { -s $b <=> -s $a }
  grep { m{/data/base/} } all_files("$repo/enc/backup/$label/data");

sub save { my ($f) = @_; copy($f, "$f.save") or die; }
sub put_back { my ($f) = @_; unlink $f; rename("$f.save", $f) or die; }

sub flip_byte
{
	my ($f, $at) = @_;
	open(my $fh, '+<:raw', $f) or die;
	seek($fh, $at, 0);
	my $c;
	read($fh, $c, 1);
	seek($fh, $at, 0);
	print $fh chr(ord($c) ^ 0x10);
	close($fh);
}

# flipped byte
save($big);
flip_byte($big, int((-s $big) / 2));
restore_fails_like([ @enc, "--cipher-pass-file=$pass1" ], qr/could not decrypt repository file ".*\Q$label\E.*failed authentication/,
	'restore refuses a backup file with a flipped byte');
verify_reports(qr/^\Q$label\E: error .*\n(?s:.*)(?:decrypt|authentication)/m, 'verify reports the flipped byte');
put_back($big);
my $wal_path_a = $wal{ $segs[-2] };
my $wal_path_b = $wal{ $segs[-1] };
save($wal_path_a);
flip_byte($wal_path_a, 1000);
($ok, $err) = archive_get($segs[-2], $pass1);
ok(!$ok && $err =~ /could not decrypt repository file/, 'archive-get refuses a WAL file with a flipped byte')
  or diag($err);
put_back($wal_path_a);

# truncated at a chunk boundary (header + 2 sealed chunks)
save($big);
truncate($big, 44 + 2 * 65552) or die;
restore_fails_like([ @enc, "--cipher-pass-file=$pass1" ], qr/failed authentication|truncated/,
	'restore refuses a truncated backup file');
verify_reports(qr/^\Q$label\E: error .*\n(?s:.*)(?:truncated|size|authentication)/m, 'verify reports the truncated file');
put_back($big);
save($wal_path_a);
truncate($wal_path_a, (-s $wal_path_a) - 100) or die;
($ok, $err) = archive_get($segs[-2], $pass1);
ok(!$ok && $err =~ /failed authentication|truncated/, 'archive-get refuses a truncated WAL file')
  or diag($err);
put_back($wal_path_a);

# two files swapped
sub swap
{
	my ($x, $y) = @_;
	rename($x, "$x.swap") or die;
	rename($y, $x) or die;
	rename("$x.swap", $y) or die;
}
swap($big, $other);
restore_fails_like([ @enc, "--cipher-pass-file=$pass1" ], qr/could not decrypt repository file/,
	'restore refuses two swapped backup files');
verify_reports(qr/^\Q$label\E: error .*\n(?s:.*)(?:decrypt|authentication|size)/m, 'verify reports the swapped files');
swap($big, $other);
# WAL files: swap the contents, keep the names
copy($wal_path_a, "$tmp/wal_a") or die;
copy($wal_path_b, "$tmp/wal_b") or die;
copy("$tmp/wal_b", $wal_path_a) or die;
copy("$tmp/wal_a", $wal_path_b) or die;
($ok, $err) = archive_get($segs[-2], $pass1);
ok(!$ok && $err =~ /could not decrypt repository file/, 'archive-get refuses swapped WAL files (first)');
($ok, $err) = archive_get($segs[-1], $pass1);
ok(!$ok && $err =~ /could not decrypt repository file/, 'archive-get refuses swapped WAL files (second)');
copy("$tmp/wal_a", $wal_path_a) or die;
copy("$tmp/wal_b", $wal_path_b) or die;
($ok, $err) = archive_get($segs[-1], $pass1);
ok($ok, 'archive-get works again once the files are back') or diag($err);

# --- rekey: the new passphrase works, the old one no longer does
command_ok([ 'pg_safebackup', 'rekey', @enc, "--cipher-pass-file=$pass1", "--new-cipher-pass-file=$pass2" ],
	'rekey');
restore_fails_like([ @enc, "--cipher-pass-file=$pass1" ], qr/wrong passphrase/,
	'after rekey the old passphrase is refused');
restore_and_check('restored2', $pass2);

# the server keeps archiving once pointed at the new passphrase file
reconfigure({ stanza => 'enc', cipher_type => 'aes-256-gcm', cipher_pass_file => $pass2 });
SbTest::switch_and_wait($node);
pass('archiving continues after rekey with the new passphrase file');

# --- encryption cannot be turned off for the encrypted stanza
reconfigure({ stanza => 'enc', cipher_type => 'none', cipher_pass_file => '' });
$node->psql('postgres', 'SELECT safebackup.safebackup_start(wait => true)', stderr => \$stderr);
like($stderr, qr/stanza "enc" is encrypted/, 'a backup without encryption into the encrypted stanza is refused');

$node->stop;
done_testing();
