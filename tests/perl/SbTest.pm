# Helpers shared by the TAP tests in t/: a cluster set up for pg_safebackup,
# WAL switches waited for until archived, the WAL files a posix repository
# holds, and a restored data directory started until recovery ends.
#
# The Makefile puts this directory on prove's include path; a test says
# "use SbTest;" and calls the functions by their full name (SbTest::...).
package SbTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# configure(NODE, NAME => VALUE, ...)
#
# Appends to NODE's postgresql.conf what pg_safebackup needs to archive WAL
# (the library preloaded and used as archive_library, wal_level replica,
# archive_mode on), then each NAME = 'VALUE' setting in the order given.
sub configure
{
	my ($node, @settings) = @_;
	my $conf = "
shared_preload_libraries = 'pg_safebackup'
wal_level = replica
archive_mode = on
archive_library = 'pg_safebackup'
";
	while (my ($name, $value) = splice(@settings, 0, 2))
	{
		die "no value for setting \"$name\"" unless defined $value;
		$value =~ s/'/''/g;
		$conf .= "$name = '$value'\n";
	}
	$node->append_conf('postgresql.conf', $conf);
}

# new_node(NAME, settings => [NAME => VALUE, ...], wal_segsize => MB,
#          checksums => 1, start => 0)
#
# A new cluster, initialized (with WAL segments of wal_segsize MB if given,
# with data checksums if checksums is true)
# and configured as configure() does with the settings given.  It is started
# and the extension created in its database "postgres", unless start => 0:
# then it is left stopped.
sub new_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	my @extra;
	push @extra, "--wal-segsize=$opts{wal_segsize}" if $opts{wal_segsize};
	push @extra, '--data-checksums' if $opts{checksums};
	$node->init(@extra ? (extra => \@extra) : ());
	configure($node, @{ $opts{settings} // [] });
	if ($opts{start} // 1)
	{
		$node->start;
		$node->safe_psql('postgres', 'CREATE EXTENSION pg_safebackup');
	}
	return $node;
}

# current_segment(NODE): the WAL segment the next record goes into
# (pg_walfile_name() of a position exactly on a segment boundary names the
# previous segment, hence the + 1).
sub current_segment
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		'SELECT pg_walfile_name(pg_current_wal_insert_lsn() + 1)');
}

# force_switch(NODE [, TEXT]): writes a record (a logical message TEXT,
# default 'x') and switches WAL, so that a segment is always completed; this
# also wakes the archiver.
sub force_switch
{
	my ($node, $text) = @_;
	$text //= 'x';
	$node->safe_psql('postgres',
		"SELECT pg_logical_emit_message(false, 'sb', '$text'); SELECT pg_switch_wal()");
}

# switch_and_wait(NODE): completes the current segment (force_switch) and
# waits until pg_stat_archiver says it is archived; dies on a timeout.
# Returns the segment's name.
sub switch_and_wait
{
	my ($node) = @_;
	my $seg = current_segment($node);
	force_switch($node);
	$node->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")
	  or die "timed out waiting for $seg to be archived";
	return $seg;
}

# failed_count(NODE): pg_stat_archiver's count of failed archive attempts.
sub failed_count
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		'SELECT failed_count FROM pg_stat_archiver');
}

# wait_for_failure(NODE [, BEFORE]): waits until the archiver has failed
# more than BEFORE (default 0) times; true if it did before the timeout.
sub wait_for_failure
{
	my ($node, $before) = @_;
	$before //= 0;
	return $node->poll_query_until('postgres',
		"SELECT failed_count > $before FROM pg_stat_archiver");
}

# wal_files(REPO [, STANZA]): every WAL file stored in the posix repository
# REPO for STANZA (default "main"), as [ name, path ] pairs sorted by name:
# the name is the WAL file's own (segment, backup history file or timeline
# history file), the path the stored file's.  A name stored twice appears
# twice.
sub wal_files
{
	my ($repo, $stanza) = @_;
	my $root = "$repo/" . ($stanza // 'main') . '/wal';
	my @found;
	return @found unless -d $root;
	opendir(my $dh, $root) or die "could not open $root: $!";
	foreach my $dir (grep { !/^\./ } readdir($dh))
	{
		opendir(my $sub, "$root/$dir") or die "could not open $root/$dir: $!";
		foreach my $f (grep { !/^\./ } readdir($sub))
		{
			next
			  unless $f =~
			  /^([0-9A-F]{24}(?:\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)-(?:[0-9a-f]{32}|[0-9a-f]{64})(?:\.gz|\.lz4|\.zst)?$/;
			push @found, [ $1, "$root/$dir/$f" ];
		}
		closedir($sub);
	}
	closedir($dh);
	return sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @found;
}

# stored_segments(REPO [, STANZA]): the names of the WAL segments stored
# (no history files), sorted; a segment stored twice appears twice.
sub stored_segments
{
	my ($repo, $stanza) = @_;
	return grep { /^[0-9A-F]{24}$/ } map { $_->[0] } wal_files($repo, $stanza);
}

# segment_counts(REPO [, STANZA]): { segment name => times it is stored }.
sub segment_counts
{
	my ($repo, $stanza) = @_;
	my %count;
	$count{$_}++ foreach stored_segments($repo, $stanza);
	return \%count;
}

# stored_path(REPO, NAME [, STANZA]): the path of the stored WAL file NAME,
# or undef when it is not stored.
sub stored_path
{
	my ($repo, $name, $stanza) = @_;
	my ($file) = grep { $_->[0] eq $name } wal_files($repo, $stanza);
	return $file ? $file->[1] : undef;
}

# segments_between(FIRST, LAST [, SEGSIZE_MB]): the name of every segment
# from FIRST to LAST, both included, on FIRST's timeline, for segments of
# SEGSIZE_MB MB (default 16): 4096 / SEGSIZE_MB segments per "log" number
# (the middle 8 hex digits), the last 8 hex digits counting within it.
sub segments_between
{
	my ($first, $last, $segsize_mb) = @_;
	my $per_log = 4096 / ($segsize_mb // 16);
	my $segno =
	  sub { hex(substr($_[0], 8, 8)) * $per_log + hex(substr($_[0], 16, 8)) };
	my $tli = substr($first, 0, 8);
	return map { sprintf('%s%08X%08X', $tli, int($_ / $per_log), $_ % $per_log) }
	  $segno->($first) .. $segno->($last);
}

# restore_ok(RESTORED, [ OPTION, ... ], TEST_NAME)
#
# One test: "pg_safebackup restore" with the options given (repository,
# target, ...) into RESTORED's data directory, promoting at the end of
# recovery, succeeds.
sub restore_ok
{
	my ($restored, $options, $test_name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return command_ok(
		[
			'pg_safebackup', 'restore', @$options,
			'--target-dir=' . $restored->data_dir, '--target-action=promote'
		],
		$test_name);
}

# start_restored(RESTORED [, WHAT]): starts a cluster made by restore, on
# its own port (its postgresql.conf is the original's) and without
# archiving, and waits until recovery has ended; dies, naming WHAT, if it
# does not.
sub start_restored
{
	my ($restored, $what) = @_;
	$restored->append_conf('postgresql.conf',
		"\nport = " . $restored->port . "\narchive_mode = off\n");
	$restored->start;
	$restored->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die(($what ? "$what: " : '') . 'recovery did not finish');
}

# kill_and_wait_restart(NODE, PID): kills server process PID with SIGKILL
# and waits until the postmaster has restarted every process and accepts
# connections again (restart_after_crash).  Polling with a query instead
# could reach the server before it even noticed the death.
sub kill_and_wait_restart
{
	my ($node, $pid) = @_;
	my $offset = -s $node->logfile;
	kill 'KILL', $pid or die "could not kill $pid: $!";
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
	$node->wait_for_log(qr/database system is ready to accept connections/, $offset);
	$node->poll_query_until('postgres', 'SELECT true')
	  or die 'server did not come back after the crash restart';
}

# query_state(NODE, QUERY, ...): the results of the queries in database
# "postgres", joined with "/": what a restored cluster is compared on.
sub query_state
{
	my ($node, @queries) = @_;
	return join('/', map { $node->safe_psql('postgres', $_) } @queries);
}


# harness(VAR, WHAT): the directory of a test server that scripts/run-suite.sh
# started (an sshd, an S3 gateway) and passed in the environment variable
# VAR, and the NAME=VALUE lines of its "env" file as a hash reference; the
# test is skipped, saying that WHAT is missing, when there is none.
sub harness
{
	my ($var, $what) = @_;
	my $dir = $ENV{$var} // '';
	my %env;

	plan skip_all => "no $what (scripts/run-suite.sh starts one)"
	  unless $dir ne '' && -f "$dir/env";
	open(my $fh, '<', "$dir/env") or die "could not open $dir/env: $!";
	while (<$fh>)
	{
		chomp;
		$env{$1} = $2 if /^(\w+)=(.*)$/;
	}
	close($fh);
	return ($dir, \%env);
}

# harness_request(DIR, WHAT): asks the root-side watcher of the harness in
# DIR for WHAT (kill, start, restart, freeze, thaw) and waits until it is
# done; dies after a minute.
sub harness_request
{
	my ($dir, $what) = @_;
	my $req = "$dir/control/$what";
	open(my $fh, '>', $req) or die "could not create $req: $!";
	close($fh);
	for (my $i = 0; $i < 600 && -e $req; $i++)
	{
		select(undef, undef, undef, 0.1);
	}
	die "the test harness in $dir did not serve \"$what\"" if -e $req;
	return;
}

# s3_options(S3, STANZA): the CLI options that reach stanza STANZA in the
# bucket of the S3 gateway whose env is S3 (see harness), path style.
sub s3_options
{
	my ($s3, $stanza) = @_;
	return (
		'--repo-type=s3', '--repo-path=/',
		"--stanza=$stanza", "--s3-endpoint=$s3->{S3_ENDPOINT}",
		"--s3-bucket=$s3->{S3_BUCKET}", "--s3-region=$s3->{S3_REGION}",
		'--s3-uri-style=path', "--s3-credentials-file=$s3->{S3_CREDENTIALS_FILE}",
		"--s3-ca-file=$s3->{S3_CA_FILE}");
}

# s3_settings(S3, STANZA): the same as settings, for new_node.
sub s3_settings
{
	my ($s3, $stanza) = @_;
	return (
		'safebackup.stanza' => $stanza,
		'safebackup.repo_type' => 's3',
		'safebackup.repo_path' => '/',
		'safebackup.s3_endpoint' => $s3->{S3_ENDPOINT},
		'safebackup.s3_bucket' => $s3->{S3_BUCKET},
		'safebackup.s3_region' => $s3->{S3_REGION},
		'safebackup.s3_uri_style' => 'path',
		'safebackup.s3_credentials_file' => $s3->{S3_CREDENTIALS_FILE},
		'safebackup.s3_ca_file' => $s3->{S3_CA_FILE});
}

1;
