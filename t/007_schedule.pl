# Scheduled backups: a bad safebackup.backup_schedule is refused by ALTER
# SYSTEM and by a reload (the old value stays); a schedule for one minute
# a little ahead, in a server time zone that is not UTC, is shown by
# safebackup.safebackup_status() before it runs, and the launcher takes exactly one
# backup in that minute, then moves the next run a year on.  A second
# cluster with the same schedule has a backup in progress at that minute
# (held waiting for WAL archiving by a read-only WAL directory): its
# scheduled run is skipped and logged, and its own backup still completes.
use strict;
use warnings;
use POSIX qw(floor);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SbTest;

my $repo = PostgreSQL::Test::Utils::tempdir();
# a half-hour offset: local minute and hour fields differ from UTC's
my $zone = 'Asia/Kolkata';

my $repo_busy = PostgreSQL::Test::Utils::tempdir();
# read-only directories hold back only an unprivileged user
my $can_hold = $> != 0;

sub start_node
{
	my ($name, $dir) = @_;
	my $n = SbTest::new_node($name,
		settings => [ 'safebackup.repo_path' => $dir, timezone => $zone ]);
	$n->poll_query_until('postgres',
		"SELECT launcher_state = 'idle' FROM safebackup.safebackup_status()")
	  or die 'launcher not idle';
	return $n;
}

# chmod every directory of the WAL store
sub wal_dirs_mode
{
	my ($dir, $mode) = @_;
	my @dirs = ("$dir/main/wal");
	opendir(my $dh, "$dir/main/wal") or die "no WAL directory in $dir: $!";
	push @dirs, map { "$dir/main/wal/$_" } grep { !/^\./ } readdir($dh);
	closedir($dh);
	chmod($mode, grep { -d } @dirs) or die "chmod: $!";
}

# never leave a directory the test cleanup cannot remove
END { eval { wal_dirs_mode($repo_busy, 0700) if -d "$repo_busy/main/wal"; }; }

my $node = start_node('sched', $repo);
my $busy = start_node('busy', $repo_busy);

# the busy cluster's WAL store exists (one segment archived), then is
# made read-only so that its backup waits for WAL archiving
if ($can_hold)
{
	SbTest::switch_and_wait($busy);
}

is($node->safe_psql('postgres',
		'SELECT next_scheduled_backup IS NULL FROM safebackup.safebackup_status()'),
	't', 'no schedule: next_scheduled_backup is NULL');

# --- refused by ALTER SYSTEM, with the field named
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"ALTER SYSTEM SET safebackup.backup_schedule = '0 0 31 2 *'");
isnt($ret, 0, 'ALTER SYSTEM refuses a schedule that never runs');
like($stderr,
	qr/invalid value for parameter "safebackup.backup_schedule": invalid day-of-month field "31"/,
	'the message names the day-of-month field');
like($stderr, qr/HINT:  Give five fields/, 'with a hint');
($ret, $stdout, $stderr) = $node->psql('postgres',
	"ALTER SYSTEM SET safebackup.backup_schedule = '0 2 * * * *'");
like($stderr, qr/cron schedule "0 2 \* \* \* \*" has 6 fields, not 5/,
	'six fields are refused');

# --- refused on reload: the previous value stays
my $log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "safebackup.backup_schedule = '61 * * * *'");
$node->reload;
ok( $node->wait_for_log(
		qr/invalid value for parameter "safebackup.backup_schedule": invalid minute field "61"/,
		$log_offset),
	'a reload with a bad schedule is refused with the field named');
is($node->safe_psql('postgres', 'SHOW safebackup.backup_schedule'), '',
	'the schedule stays off');
is($node->safe_psql('postgres',
		'SELECT next_scheduled_backup IS NULL FROM safebackup.safebackup_status()'),
	't', 'and no run is planned');

# --- the busy cluster: a backup held waiting for WAL archiving
my $busy_offset = -s $busy->logfile;
my $busy_label;
if ($can_hold)
{
	wal_dirs_mode($repo_busy, 0500);
	$busy_label = $busy->safe_psql('postgres', 'SELECT safebackup.safebackup_start()');
	$busy->poll_query_until('postgres',
		"SELECT backup_phase = 'waiting for WAL archiving' FROM safebackup.safebackup_status()")
	  or die 'the held backup did not reach the WAL wait';
}

# --- one run, the next minute (or the one after if that is too close)
my $now = $node->safe_psql('postgres', 'SELECT extract(epoch FROM now())');
my $target = (floor($now / 60) + 1) * 60;
$target += 60 if $target - $now < 15;
my $fields = $node->safe_psql('postgres',
	"SELECT to_char(to_timestamp($target) AT TIME ZONE '$zone', 'FMMI FMHH24 FMDD FMMM')");
my $schedule = "$fields *";
note "schedule \"$schedule\" ($zone), due at epoch $target, now $now";

$log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	"ALTER SYSTEM SET safebackup.backup_schedule = '$schedule'; SELECT pg_reload_conf()");
$busy->safe_psql('postgres',
	"ALTER SYSTEM SET safebackup.backup_schedule = '$schedule'; SELECT pg_reload_conf()");
ok( $node->poll_query_until('postgres',
		"SELECT next_scheduled_backup = to_timestamp($target) FROM safebackup.safebackup_status()"),
	'safebackup.safebackup_status() shows the next scheduled backup before it runs');
ok($node->log_contains(qr/backup schedule changed: next scheduled backup at/, $log_offset),
	'the launcher logs the planned time');
is($node->safe_psql('postgres', 'SELECT count(*) FROM safebackup.safebackup_backups()'),
	'0', 'no backup yet');

# the run: a backup appears, started within the scheduled minute
ok( $node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM safebackup.safebackup_backups()"),
	'the scheduled backup completes');
$node->poll_query_until('postgres',
	"SELECT next_scheduled_backup > to_timestamp($target) FROM safebackup.safebackup_status()")
  or die 'next run not planned';
is($node->safe_psql('postgres',
		"SELECT count(*) FROM safebackup.safebackup_backups()
		  WHERE start_time >= to_timestamp($target)
		    AND start_time < to_timestamp($target + 60)"),
	'1', 'exactly one backup, started in the scheduled minute');
is($node->safe_psql('postgres', 'SELECT count(*) FROM safebackup.safebackup_backups()'),
	'1', 'and no other backup');
my $label = $node->safe_psql('postgres', 'SELECT label FROM safebackup.safebackup_backups()');
# one timestamp for the decision, the label and the manifest
is($node->safe_psql('postgres',
		"SELECT to_char(start_time AT TIME ZONE 'UTC', 'YYYYMMDD-HH24MISS') || 'F' = label
		        AND label >= to_char(to_timestamp($target) AT TIME ZONE 'UTC', 'YYYYMMDD-HH24MISS')
		   FROM safebackup.safebackup_backups()"),
	't', "label $label is the manifest's start time, in the scheduled minute");
ok($node->log_contains(qr/scheduled backup "$label" started/, $log_offset),
	"the launcher logged the start of $label");
my @starts = (slurp_file($node->logfile) =~ /scheduled backup "[^"]+" started/g);
is(scalar(@starts), 1, 'one scheduled start in the log');

# after the run, the same local minute of the same date a year on
is($node->safe_psql('postgres',
		"SELECT to_char(next_scheduled_backup AT TIME ZONE '$zone', 'FMMI FMHH24 FMDD FMMM') || ' ' ||
		        (next_scheduled_backup > to_timestamp($target) + interval '300 days')
		   FROM safebackup.safebackup_status()"),
	"$fields true", 'the next run is the same minute a year later');

# --- the cluster whose backup was still running skipped its run
SKIP:
{
	skip 'running as root: a read-only directory does not hold the backup back', 5
	  unless $can_hold;

	ok( $busy->wait_for_log(
			qr/skipping the scheduled backup of .*: backup "$busy_label" is already running/,
			$busy_offset),
		'a run that finds a backup in progress is skipped with a LOG line');
	ok( $busy->poll_query_until('postgres',
			"SELECT next_scheduled_backup > to_timestamp($target) FROM safebackup.safebackup_status()"),
		'and the next run is planned');
	is($busy->safe_psql('postgres', "SELECT backup_label, backup_phase FROM safebackup.safebackup_status()"),
		"$busy_label|waiting for WAL archiving", 'the running backup is untouched');
	wal_dirs_mode($repo_busy, 0700);
	# a new segment wakes the archiver at once
	SbTest::force_switch($busy, 'y');
	ok( $busy->poll_query_until('postgres',
			"SELECT backup_phase = 'done' FROM safebackup.safebackup_status()"),
		'the held backup completes once WAL can be archived');
	is($busy->safe_psql('postgres', 'SELECT string_agg(label, \',\') FROM safebackup.safebackup_backups()'),
		$busy_label, 'only that backup is in its repository');
}
$busy->stop;

# --- turned off again
$node->safe_psql('postgres',
	"ALTER SYSTEM SET safebackup.backup_schedule = ''; SELECT pg_reload_conf()");
ok( $node->poll_query_until('postgres',
		'SELECT next_scheduled_backup IS NULL FROM safebackup.safebackup_status()'),
	'an empty schedule turns scheduled backups off');

$node->stop;
done_testing();
