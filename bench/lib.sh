# shellcheck shell=bash disable=SC2154,SC2034
# Helpers shared by the benchmark scripts of bench/ (sourced, not run).
# They expect $bin (PostgreSQL's bindir), $dir (the work directory: the
# server's socket and its data in $dir/data), $port and $limit (seconds
# allowed for one timed command).

as_pg() { runuser -u postgres -- "$@"; }
# as postgres, by exec (so that $! of "as_pg_exec ... &" is the program's own pid)
as_pg_exec() { exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
psql_b() { as_pg "$bin/psql" -X -q -h "$dir" -p "$port" -d postgres "$@"; }
# psql as a timed command (through setpriv, as every timed command: timed_pg)
psql_timed() { timed_pg "$bin/psql" -X -q -h "$dir" -p "$port" -d postgres "$@"; }
now() { date +%s.%N; }
# seconds since $1, to the millisecond: a delta restore takes under 0.1 s,
# where hundredths would round by up to 5%
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# Drop the page cache, then run the harness of a timed command once with
# `true` in place of the program: from a dropped cache setpriv, env,
# timeout and time cost 13-15 ms to start, which would be counted against
# every measured program (a delta restore takes under 0.1 s); the measured
# program's own files stay cold.
#
# Before that, with recycle_mb set (MB), write that much to a file in
# /dev/shm and delete it: on a virtual machine that hands its free memory
# back to the host (free page reporting), the first use of a page the host
# took back costs a fault in the host, and a timed command that fills the
# page cache would pay for what the one before it left free.  After a
# backup that read the data directory past the page cache, a cat of the
# 3014 MB took 2.3-5.4 s, and 1.6-1.9 s with 4 GB written and freed just
# before it.  Every timed command now starts with that much memory the
# machine has just used.
recycle_mb=0
drop_caches() {
	sync
	if [ "$recycle_mb" -gt 0 ]; then
		head -c "${recycle_mb}M" /dev/zero > /dev/shm/sb-bench-recycle
		rm -f /dev/shm/sb-bench-recycle
	fi
	echo 3 > /proc/sys/vm/drop_caches
	timed_pg /usr/bin/time -o /dev/null true
}
# /usr/bin/time -v output file -> MiB
maxrss() { awk -F: '/Maximum resident set size/ { printf "%d", ($2 + 1023) / 1024 }' "$1"; }
# a timed command, as postgres, bounded in time; by setpriv, not runuser,
# whose PAM session costs 10-20 ms of a 0.2 s measurement (for every tool)
pg_home=$(getent passwd postgres | cut -d: -f6)
timed_pg() {
	setpriv --reuid=postgres --regid=postgres --init-groups \
		env HOME="$pg_home" USER=postgres LOGNAME=postgres timeout "$limit" "$@"
}
need_time() {
	if ! [ -x /usr/bin/time ]; then
		apt-get install -y time >/dev/null 2>&1 || true
	fi
	[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
}

# the settings of a cluster archiving with pg_safebackup, on a Unix socket
# in $dir only, appended to DATADIR/postgresql.conf
pg_conf_local() {
	cat >> "$1/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$dir'
listen_addresses = ''
shared_preload_libraries = 'pg_safebackup'
archive_mode = on
archive_library = 'pg_safebackup'
CONF
}

# peak RSS of the "pg_safebackup backup" workers: a sampler writes the
# highest VmHWM seen (kB) to $dir/backup-rss until it is stopped
sampler_pid=
start_sampler()
{
	local pm
	pm=$(head -1 "$dir/data/postmaster.pid")
	echo 0 > "$dir/backup-rss"
	(
		best=0
		for _ in $(seq $((limit * 5))); do
			for p in $(ps -o pid=,args= --ppid "$pm" | awk '/pg_safebackup backup/ { print $1 }'); do
				kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
				if [ -n "$kb" ] && [ "$kb" -gt "$best" ]; then
					best=$kb
					echo "$best" > "$dir/backup-rss"
				fi
			done
			sleep 0.2
		done
	) &
	sampler_pid=$!
}
# stops it and sets backup_rss (MiB); not in a subshell, so that
# sampler_pid is cleared here
stop_sampler()
{
	kill "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=
	backup_rss=$(( ($(cat "$dir/backup-rss") + 1023) / 1024 ))
}

# the first steps of a benchmark's cleanup: the sampler, then the cluster
# in $dir/data (by its pid file)
stop_sampler_and_cluster()
{
	if [ -n "$sampler_pid" ]; then
		kill "$sampler_pid" 2>/dev/null
		wait "$sampler_pid" 2>/dev/null
	fi
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -t 30 stop >/dev/null 2>&1
	fi
}
