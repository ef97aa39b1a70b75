# The blocks WAL touched, from a real cluster (PostgreSQL's own WAL).
#
# A cluster with data checksums notes a checkpoint's redo point, then
# updates the rows of one block of one table and leaves another table
# alone, and stops cleanly.  "pg_safebackup wal-changes" (a developer's
# diagnostic over core/wal_changes.c) reads pg_control and pg_wal from the
# redo point to the last checkpoint: the updated block is listed, the other
# table is not, and every block reference pg_waldump sees in that range is
# in the list.  A missing segment makes the list unusable, by name.  A
# standby promoted after the start point reads timeline 1's WAL, then
# timeline 2's (its history file says where).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('wal_changes');
$node->init(extra => ['--data-checksums'], allows_streaming => 1);
# keep the WAL from the start point in pg_wal (the standby inherits this)
$node->append_conf('postgresql.conf', "wal_keep_size = '1GB'");
$node->start;
my $pgdata = $node->data_dir;

# two tables of several blocks each, frozen so that reading them later
# sets no hint bits; fillfactor 50 keeps the updates on their block (HOT)
$node->safe_psql('postgres', q{
	CREATE TABLE touched (id int, pad text) WITH (fillfactor = 50);
	CREATE TABLE untouched (id int, pad text);
	INSERT INTO touched SELECT g, repeat('t', 200) FROM generate_series(1, 2000) g;
	INSERT INTO untouched SELECT g, repeat('u', 200) FROM generate_series(1, 2000) g;
});
$node->safe_psql('postgres', 'VACUUM (FREEZE) touched');
$node->safe_psql('postgres', 'VACUUM (FREEZE) untouched');
$node->safe_psql('postgres', 'CHECKPOINT');
my ($redo, $tli) = split /\|/,
  $node->safe_psql('postgres', 'SELECT redo_lsn, timeline_id FROM pg_control_checkpoint()');
my $touched = $node->safe_psql('postgres', "SELECT pg_relation_filepath('touched')");
my $untouched = $node->safe_psql('postgres', "SELECT pg_relation_filepath('untouched')");

my $n = $node->safe_psql('postgres',
	q{WITH u AS (UPDATE touched SET id = -id WHERE ctid >= '(3,0)' AND ctid < '(4,0)' RETURNING 1)
	  SELECT count(*) FROM u});
cmp_ok($n, '>', 0, "$n rows of block 3 updated");
$node->safe_psql('postgres', 'CHECKPOINT');
$node->stop;

my @cmd = ('pg_safebackup', 'wal-changes', "--pgdata=$pgdata", "--start-lsn=$redo",
	"--start-timeline=$tli");
my ($out, $err);
IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
is($?, 0, 'wal-changes succeeds') or diag($err);
like($out, qr/^\Q$touched\E pages (\d+,)*3(,\d+)*$/m, "$touched: block 3 is listed");
unlike($out, qr/^\Q$untouched\E /m, "$untouched: not listed");
like($out, qr/^\Q${touched}\E_vm pages 0$/m, 'the visibility map page covering block 3 is listed');
like($out, qr/^summary: records \d+, block references (\d+)/m, 'a summary line');
my ($refs) = $out =~ /block references (\d+)/;

# every block reference pg_waldump decodes in the range is in the list
my ($dump, $dump_err);
IPC::Run::run([ 'pg_waldump', '-p', "$pgdata/pg_wal", '-s', $redo ], '>', \$dump, '2>', \$dump_err);
my %listed;
for my $line (split /\n/, $out)
{
	next unless $line =~ /^(\S+) pages (\S+)$/;
	$listed{"$1:$_"} = 1 for split /,/, $2;
}
my ($seen, $missing) = (0, 0);
while ($dump =~ /blkref #\d+: rel (\d+)\/(\d+)\/(\d+)(?: fork (\w+))? blk (\d+)/g)
{
	my ($spc, $db, $rel, $fork, $blk) = ($1, $2, $3, $4 // 'main', $5);
	$seen++;
	next unless $spc == 1663 && $blk < 131072;
	my $file = "base/$db/$rel" . ($fork eq 'main' ? '' : "_$fork");
	next unless -e "$pgdata/$file";
	$missing++, diag("not listed: $file block $blk") unless $listed{"$file:$blk"};
}
cmp_ok($seen, '>', 0, "pg_waldump shows $seen block references");
is($refs, $seen, 'as many block references as pg_waldump decodes');
is($missing, 0, 'every block pg_waldump shows is listed');

# a segment of the range missing: unusable, the segment named
my $seg = sprintf('%08X%08X%08X', $tli, hex((split m{/}, $redo)[0]),
	hex((split m{/}, $redo)[1]) >> 24);
rename("$pgdata/pg_wal/$seg", "$pgdata/$seg.away") or die "rename $seg: $!";
IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
isnt($?, 0, 'wal-changes fails without a segment');
like($err, qr/WAL segment \Q$seg\E is not available/, 'the missing segment is named');
rename("$pgdata/$seg.away", "$pgdata/pg_wal/$seg") or die;

# --- a standby promoted after the start: timeline 2 and its history
$node->start;
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('wal_changes_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->safe_psql('postgres', 'CHECKPOINT');
my $redo2 = $node->safe_psql('postgres', 'SELECT redo_lsn FROM pg_control_checkpoint()');
$node->safe_psql('postgres',
	q{UPDATE touched SET id = -id WHERE ctid >= '(5,0)' AND ctid < '(6,0)'});
# the switch point in a later segment than the start: both timelines' files are read
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->safe_psql('postgres', 'CREATE TABLE after_switch (x int)');
$node->wait_for_catchup($standby);
$standby->promote;
$standby->safe_psql('postgres',
	q{UPDATE touched SET id = -id WHERE ctid >= '(7,0)' AND ctid < '(8,0)'});
$standby->stop;
my $sdata = $standby->data_dir;
ok(-e "$sdata/pg_wal/00000002.history", 'the standby is on timeline 2');
IPC::Run::run([ 'pg_safebackup', 'wal-changes', "--pgdata=$sdata", "--start-lsn=$redo2",
	'--start-timeline=1' ], '>', \$out, '2>', \$err);
is($?, 0, 'wal-changes across the timeline switch succeeds') or diag($err);
like($out, qr/^\Q$touched\E pages (\d+,)*5,(\d+,)*7(,\d+)*$/m,
	'blocks changed before (5) and after (7) the switch are listed');
unlike($out, qr/^\Q$untouched\E /m, "$untouched: not listed");

done_testing();
