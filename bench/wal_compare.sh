#!/usr/bin/env bash
# Benchmark: WAL archiving side by side, in one run, on the same backlog.
# Not part of the test suite (a benchmark prints figures; it checks nothing).
#
#   bench/wal_compare.sh [NSEG]                  (as root, after "make install")
#
# NSEG (default 64) 16 MiB segments of pgbench WAL are made once, in a
# stopped template cluster whose archiving is not configured, so they wait in
# pg_wal as .ready files.  Each measurement copies that template, starts it,
# configures one archiver with a reload and times how long it takes until no
# .ready file is left (segments/s).  Methods (METHODS, default all of them):
#
#   sb-posix    pg_safebackup, the server's default settings, local directory
#   sb-enc      the same with an encrypted stanza (cipher_type aes-256-gcm;
#               not in the default METHODS)
#   sb-tls      pg_safebackup through "pg_safebackup server" on 127.0.0.1
#               (throwaway CA of tests/tls/make-certs.sh)
#   sb-sftp     pg_safebackup through the private sshd of
#               tests/sftp/sshd-harness.sh (127.0.0.1, chrooted internal-sftp)
#   sb-s3       pg_safebackup, repo_type 's3', into a bucket of the private
#               Ceph RADOS Gateway of scripts/rgw-start.sh (HTTPS on
#               127.0.0.1, path style, its throwaway CA; the gateway is
#               started afresh, empty, before each of its drains); left out
#               with a line saying so when the gateway's root is not there
#   basic       contrib basic_archive (archive_library = 'basic_archive')
#   pgbr-sync   pgBackRest archive-push, synchronous, lz4, posix repository
#   pgbr-async  pgBackRest archive-push, asynchronous, process-max 2, lz4
#   pgbr-tls    the same asynchronous push to "pgbackrest server" on localhost
#               (repo1-host-type=tls, the same throwaway CA)
#   pgbr-s3     the same asynchronous push into the gateway of sb-s3
#               (repo1-type=s3, path style, endpoint "localhost": pgBackRest
#               2.45 does not match an IP address against the certificate)
#
# The pgBackRest methods need the pgbackrest command; without it the script
# runs "apt-get install -y pgbackrest" (PGBR_INSTALL=0 skips them instead).
# PASSES (default 3) interleaves the methods: every pass runs each method once,
# starting at a different one, and the figure printed is the median over the
# passes.  After each drain it reads the peak RSS (VmHWM) of the archiver and
# of every "pg_safebackup push worker", and for sb-posix, basic and
# pgbr-async (LATENCY_METHODS) the archive latency of 20 single switches
# (pg_switch_wal() until pg_stat_archiver reports the segment), p50 and p95.
# It also prints the CPU time the whole machine spent per segment during the
# drain (user + system, without the time of nice'd processes, so that the
# tests others run at low priority on the machine do not count): on a
# machine whose cores are all busy, segments/s is cores * 1000 / that.
# For the TLS and S3 methods it also gives the CPU time of the repository
# server process (pg_safebackup or pgBackRest server, radosgw) within that.
# It ends with the ratio lines of the targets of issues 12 and 17 (S3).
#
# Every method starts alike: the copied backlog written back to disk (sync)
# but still in the page cache.  pgBackRest's stanza-create and the start of
# its TLS server happen before the clock starts; pg_safebackup creates its
# stanza inside the timed drain.  A full run (NSEG 64, 3 passes, 7 methods)
# takes about 10-15 minutes on the 2-core machine.
#
# Environment: PG_CONFIG (default the system PostgreSQL 15), BENCH_DIR
# (default /tmp/sb-compare, removed at the end), BENCH_PORT (default 54396;
# the two next ports are used by the TLS servers), COMPRESS_TYPE,
# COMPRESS_LEVEL, PUSH_WORKERS (passed to pg_safebackup when set; otherwise
# its defaults apply), BENCH_KEEP=1 (keep BENCH_DIR to look at its logs).
# Every server is started here, listens on loopback
# only and is stopped by its process ID on exit; waits are bounded.
set -euo pipefail

NSEG=${1:-64}
PASSES=${PASSES:-3}
METHODS=${METHODS:-"sb-posix sb-tls sb-sftp sb-s3 basic pgbr-sync pgbr-async pgbr-tls pgbr-s3"}
LATENCY_METHODS=${LATENCY_METHODS:-"sb-posix basic pgbr-async"}
here=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bin=$("$PG_CONFIG" --bindir)
dir=${BENCH_DIR:-/tmp/sb-compare}
port=${BENCH_PORT:-54396}
sb_tls_port=$((port + 1))
pgbr_port=$((port + 2))
drain_limit=$((120 + NSEG * 10))	# seconds before a drain counts as stuck

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
# CPU time of the whole machine in clock ticks, without "nice" time (the
# nice'd work of others on the machine): user, system, irq, softirq
cpu_ticks() { awk '/^cpu / { print $2 + $4 + $7 + $8 }' /proc/stat; }
# CPU time of a process and all its descendants (live, or ended and waited
# for) in clock ticks, 0 without a pid: the repository server's share of a
# drain (the TLS servers fork a process per connection)
proc_ticks()
{
	local t=0 c
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
	t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0)
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		t=$((t + $(proc_ticks "$c")))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
has() { [[ " $1 " == *" $2 "* ]]; }

# pgBackRest: install it when missing, or leave its methods out
if [[ $METHODS == *pgbr* ]] && ! command -v pgbackrest >/dev/null; then
	if [ "${PGBR_INSTALL:-1}" = 1 ]; then
		apt-get install -y pgbackrest >/dev/null 2>&1 || true
	fi
	if ! command -v pgbackrest >/dev/null; then
		echo "pgbackrest is not installed: its methods are left out"
		METHODS=$(for m in $METHODS; do [[ $m == pgbr* ]] || echo "$m"; done | xargs)
	fi
fi

# the S3 gateway: only when its cached root is there
rgw_root=${SB_RGW_ROOT:-/var/cache/pg_safebackup/rgw-root}
if [[ $METHODS == *-s3* ]] && ! [ -x "$rgw_root/usr/bin/radosgw" ]; then
	echo "no radosgw root (scripts/rgw-start.sh prepare): sb-s3 and pgbr-s3 left out"
	METHODS=$(for m in $METHODS; do [[ $m == *-s3 ]] || echo "$m"; done | xargs)
fi

# processes started here, stopped by pid
server_pid=			# pg_safebackup server or pgbackrest server of the current pass
harness=$dir/sftp-harness
harness_started=
rgw=$dir/rgw-harness
rgw_started=

# pgbackrest's asynchronous archive-push forks a process that outlives the
# command; find ours by the configuration file under $dir on its command line
pgbr_pids() { pgrep -u postgres -f -- "--config=$dir/pgbr-" || true; }

stop_cluster()
{
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$bin/pg_ctl" -D "$dir/data" -m "${1:-fast}" -t 60 stop >/dev/null 2>&1 ||
			as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -t 30 stop >/dev/null 2>&1 || true
	fi
}

stop_server()
{
	local i
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		for i in $(seq 100); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}

# let pgbackrest's async process finish (it exits once its queue is empty),
# then kill what is still there, by pid
stop_pgbr()
{
	local i p
	for i in $(seq 100); do
		[ -z "$(pgbr_pids)" ] && return 0
		sleep 0.1
	done
	for p in $(pgbr_pids); do kill "$p" 2>/dev/null || true; done
}

cleanup()
{
	set +e
	stop_cluster immediate
	if [ -f "$dir/template/postmaster.pid" ]; then
		as_pg "$bin/pg_ctl" -D "$dir/template" -m immediate -t 30 stop >/dev/null 2>&1 || true
	fi
	stop_server
	stop_pgbr
	if [ -n "$harness_started" ]; then
		"$here/tests/sftp/sshd-harness.sh" stop "$harness" >/dev/null 2>&1
	fi
	if [ -n "$rgw_started" ]; then
		"$here/scripts/rgw-start.sh" stop "$rgw" >/dev/null 2>&1
	fi
	# BENCH_KEEP=1 keeps the logs and data to look at
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

rm -rf "$dir"; mkdir -p "$dir"; chown postgres "$dir"
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the backlog, made once --------------------------------------------
echo "making the backlog: $NSEG segments of pgbench WAL ..."
as_pg "$bin/initdb" -D "$dir/template" -A trust >/dev/null
pg_conf_local "$dir/template"
cat >> "$dir/template/postgresql.conf" <<CONF
max_wal_size = 16GB
checkpoint_timeout = 1h
include_if_exists = 'bench_archiver.conf'
CONF
as_pg "$bin/pg_ctl" -D "$dir/template" -l "$dir/template.log" -w start >/dev/null
ready() { find "$dir/${1:-data}/pg_wal/archive_status" -name '*.ready' | wc -l; }
as_pg "$bin/pgbench" -q -i -s 10 -h "$dir" -p "$port" postgres >/dev/null 2>&1
until [ "$(ready template)" -ge "$NSEG" ]; do
	psql_b -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 3 = 0"
done
as_pg "$bin/pg_ctl" -D "$dir/template" -m fast -t 120 stop >/dev/null
n=$(ready template)
echo "backlog: $n segments ($(du -sm "$dir/template/pg_wal" | cut -f1) MB of pg_wal)"

# ---- what the methods need ------------------------------------------------
if [[ $METHODS == *tls* ]]; then
	as_pg "$here/tests/tls/make-certs.sh" "$dir/pki" >/dev/null
fi
if has "$METHODS" sb-sftp; then
	"$here/tests/sftp/sshd-harness.sh" start "$harness" >/dev/null
	harness_started=1
	# shellcheck disable=SC1091
	. "$harness/env"
fi

# pgBackRest configuration files: sync, async (posix), async over TLS, the
# TLS server
pgbr_common="log-path=$dir/pgbr-log
lock-path=$dir/pgbr-lock
spool-path=$dir/pgbr-spool
log-level-console=error
log-level-file=off
compress-type=lz4
process-max=2
archive-timeout=60"
pgbr_stanza="[bench]
pg1-path=$dir/data
pg1-port=$port
pg1-socket-path=$dir"
if [[ $METHODS == *pgbr* ]]; then
	for a in sync async; do
		cat > "$dir/pgbr-$a.conf" <<CONF
[global]
repo1-path=$dir/pgbr-repo
repo1-retention-full=1
archive-async=$([ $a = async ] && echo y || echo n)
$pgbr_common
$pgbr_stanza
CONF
	done
	cat > "$dir/pgbr-tls.conf" <<CONF
[global]
repo1-host=localhost
repo1-host-type=tls
repo1-host-port=$pgbr_port
repo1-host-config=$dir/pgbr-server.conf
repo1-host-ca-file=$dir/pki/ca.crt
repo1-host-cert-file=$dir/pki/pg1.crt
repo1-host-key-file=$dir/pki/pg1.key
repo1-retention-full=1
archive-async=y
$pgbr_common
$pgbr_stanza
CONF
	cat > "$dir/pgbr-server.conf" <<CONF
[global]
repo1-path=$dir/pgbr-repo
tls-server-address=localhost
tls-server-port=$pgbr_port
tls-server-cert-file=$dir/pki/server.crt
tls-server-key-file=$dir/pki/server.key
tls-server-ca-file=$dir/pki/ca.crt
tls-server-auth=pg1=bench
log-path=$dir/pgbr-log
lock-path=$dir/pgbr-server-lock
log-level-console=error
log-level-file=off
CONF
	chown postgres "$dir"/pgbr-*.conf
fi

# the archiver settings of each method: $1 = method, $2 = idle (archiving
# not configured yet) or on
method_conf()
{
	local sbdefaults
	# shellcheck disable=SC2016
	sbdefaults="${COMPRESS_TYPE:+safebackup.compress_type = '$COMPRESS_TYPE'
}${COMPRESS_LEVEL:+safebackup.compress_level = $COMPRESS_LEVEL
}${PUSH_WORKERS:+safebackup.archive_push_workers = $PUSH_WORKERS
}"
	case "$1:$2" in
		sb-*:idle) echo "archive_library = 'pg_safebackup'" ;;
		sb-posix:on)
			printf "archive_library = 'pg_safebackup'\n%ssafebackup.repo_path = '%s'\n" \
				"$sbdefaults" "$dir/repo" ;;
		sb-enc:on)
			printf "archive_library = 'pg_safebackup'\n%ssafebackup.repo_path = '%s'\n" \
				"$sbdefaults" "$dir/repo"
			printf "safebackup.cipher_type = 'aes-256-gcm'\nsafebackup.cipher_pass_file = '%s'\n" \
				"$dir/cipher-pass" ;;
		sb-tls:on)
			printf "archive_library = 'pg_safebackup'\n%s" "$sbdefaults"
			cat <<CONF
safebackup.repo_type = 'tls'
safebackup.tls_host = '127.0.0.1'
safebackup.tls_port = $sb_tls_port
safebackup.tls_cert_file = '$dir/pki/pg1.crt'
safebackup.tls_key_file = '$dir/pki/pg1.key'
safebackup.tls_ca_file = '$dir/pki/ca.crt'
CONF
			;;
		sb-s3:on)
			printf "archive_library = 'pg_safebackup'\n%s" "$sbdefaults"
			cat "$rgw/safebackup.conf"
			;;
		sb-sftp:on)
			printf "archive_library = 'pg_safebackup'\n%s" "$sbdefaults"
			cat <<CONF
safebackup.repo_type = 'sftp'
safebackup.repo_path = '$SFTP_REPO'
safebackup.sftp_host = '$SFTP_HOST'
safebackup.sftp_port = $SFTP_PORT
safebackup.sftp_user = '$SFTP_USER'
safebackup.sftp_private_key_file = '$SFTP_KEY'
safebackup.sftp_known_hosts_file = '$SFTP_KNOWN_HOSTS'
CONF
			;;
		basic:idle) printf "archive_library = 'basic_archive'\nbasic_archive.archive_directory = ''\n" ;;
		basic:on)
			printf "archive_library = 'basic_archive'\nbasic_archive.archive_directory = '%s'\n" \
				"$dir/basic" ;;
		pgbr-*:idle) printf "archive_library = ''\narchive_command = ''\n" ;;
		pgbr-*:on)
			printf "archive_library = ''\narchive_command = 'pgbackrest --config=%s --stanza=bench archive-push %%p'\n" \
				"$dir/$1.conf" ;;
	esac
}

# the latency function, created in each copy
latency_sql()
{
	psql_b >/dev/null <<'SQL'
CREATE TABLE lat_fill (x int);
CREATE FUNCTION archive_latency_ms() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	seg text;
	t0 timestamptz;
BEGIN
	INSERT INTO lat_fill VALUES (1);
	seg := pg_walfile_name(pg_current_wal_insert_lsn());
	t0 := clock_timestamp();
	PERFORM pg_switch_wal();
	LOOP
		PERFORM pg_stat_clear_snapshot();
		EXIT WHEN (SELECT last_archived_wal >= seg FROM pg_stat_archiver);
		PERFORM pg_sleep(0.001);
		IF clock_timestamp() - t0 > interval '60 s' THEN
			RAISE EXCEPTION 'segment % not archived within 60 s', seg;
		END IF;
	END LOOP;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
SQL
}

# peak RSS in MiB (VmHWM) of the server processes of one backend_type
peak_rss()
{
	local p kb out=
	for p in $(psql_b -Atc "SELECT pid FROM pg_stat_activity WHERE backend_type = '$1' ORDER BY pid"); do
		kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$kb" ] && out="$out${out:+/}$(( (kb + 1023) / 1024 ))"
	done
	echo "${out:--}"
}

# one measurement: sets result to "method segments/s p50 p95 archiverMiB workersMiB"
run_one()
{
	local m=$1 t secs got p50=- p95=- lat i rss_a rss_w
	stop_cluster
	rm -rf "$dir/data" "$dir/repo" "$dir/basic" "$dir/sbtls-repo" "$dir"/pgbr-repo "$dir"/pgbr-spool \
		"$dir"/pgbr-log "$dir"/pgbr-lock "$dir"/pgbr-server-lock
	cp -a "$dir/template" "$dir/data"
	# every method starts with the copy on disk, not being written back
	sync -f "$dir/data"
	rm -f "$dir/data/postmaster.pid" "$dir/data/log"
	mkdir -p "$dir/repo" "$dir/basic" "$dir/sbtls-repo" "$dir/pgbr-repo"
	chown postgres "$dir/repo" "$dir/basic" "$dir/sbtls-repo" "$dir/pgbr-repo"
	if [ "$m" = sb-enc ]; then
		# the stanza's passphrase: the server's OS user's, 0600
		head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/cipher-pass"
		chmod 600 "$dir/cipher-pass"; chown postgres "$dir/cipher-pass"
	fi
	if [ "$m" = sb-sftp ]; then
		find "$SFTP_BACKING" -mindepth 1 -delete
	fi
	# an empty gateway for each drain (stop removes its data)
	if [[ $m == *-s3 ]]; then
		"$here/scripts/rgw-start.sh" stop "$rgw" >/dev/null 2>&1 || true
		rgw_started=1
		"$here/scripts/rgw-start.sh" start "$rgw" >/dev/null
		# shellcheck disable=SC1091
		. "$rgw/env"
	fi
	if [ "$m" = pgbr-s3 ]; then
		cat > "$dir/pgbr-s3.conf" <<CONF
[global]
repo1-type=s3
repo1-path=/pgbr
repo1-s3-bucket=$S3_BUCKET
repo1-s3-endpoint=localhost
repo1-storage-port=${S3_ENDPOINT##*:}
repo1-s3-region=$S3_REGION
repo1-s3-key=$S3_ACCESS_KEY
repo1-s3-key-secret=$S3_SECRET_KEY
repo1-s3-uri-style=path
repo1-storage-ca-file=$S3_CA_FILE
repo1-retention-full=1
archive-async=y
$pgbr_common
$pgbr_stanza
CONF
		chmod 600 "$dir/pgbr-s3.conf"
		chown postgres "$dir/pgbr-s3.conf"
	fi
	method_conf "$m" idle > "$dir/data/bench_archiver.conf"
	chown postgres:postgres "$dir/data/bench_archiver.conf"
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/log" -w -t 120 start >/dev/null

	case "$m" in
		sb-tls)
			cat > "$dir/sbtls-server.conf" <<CONF
listen = 127.0.0.1
port = $sb_tls_port
repo_path = $dir/sbtls-repo
cert_file = $dir/pki/server.crt
key_file = $dir/pki/server.key
ca_file = $dir/pki/ca.crt
log_file = $dir/sbtls-server.log
[auth]
pg1 = main
CONF
			chown postgres "$dir/sbtls-server.conf"
			as_pg_exec "$bin/pg_safebackup" server --config "$dir/sbtls-server.conf" \
				>> "$dir/sbtls-server.out" 2>&1 &
			server_pid=$!
			;;
		pgbr-tls)
			as_pg_exec pgbackrest --config="$dir/pgbr-server.conf" server \
				>> "$dir/pgbr-server.out" 2>&1 &
			server_pid=$!
			;;
	esac
	if [[ $m == pgbr* ]]; then
		local sc=pgbr-async
		[ "$m" = pgbr-s3 ] && sc=pgbr-s3
		as_pg pgbackrest --config="$dir/$sc.conf" --stanza=bench stanza-create >/dev/null
	fi
	# give a network server up to 10 s to listen
	if [ -n "$server_pid" ]; then
		local p=$sb_tls_port
		[ "$m" = pgbr-tls ] && p=$pgbr_port
		for _ in $(seq 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
			kill -0 "$server_pid" 2>/dev/null || { echo "$m: server did not start" >&2; return 1; }
			sleep 0.1
		done
	fi

	# the process serving the repository on this machine, if any
	srv=
	case "$m" in
		sb-tls | pgbr-tls) srv=$server_pid ;;
		*-s3) srv=$(cat "$rgw/radosgw.pid") ;;
	esac
	t=$(now)
	c0=$(cpu_ticks)
	s0=$(proc_ticks "$srv")
	method_conf "$m" on > "$dir/data/bench_archiver.conf"
	psql_b -c "SELECT pg_reload_conf()" >/dev/null
	i=0
	while [ "$(ready)" -gt 0 ]; do
		sleep 0.1
		# a misconfigured archiver fails at once: stop waiting after 5 failures
		i=$((i + 1))
		if [ $((i % 10)) = 0 ] && [ "$(psql_b -Atc "SELECT failed_count FROM pg_stat_archiver")" -ge 5 ]; then
			echo "$m: archiving fails; the end of the server log:" >&2
			tail -n 20 "$dir/data/log" >&2
			return 1
		fi
		if awk -v a="$t" -v b="$(now)" -v l="$drain_limit" 'BEGIN { exit !(b - a > l) }'; then
			echo "$m: $(ready) segments still not archived after $drain_limit s (see $dir/data/log)" >&2
			return 1
		fi
	done
	# the drain ended when the archiver renamed the last .ready to .done:
	# that file's ctime, not the poll that saw it (up to 0.1 s later, which
	# was up to 8% of a 64-segment drain)
	t_end=$(find "$dir/data/pg_wal/archive_status" -name '*.done' -printf '%C@\n' | sort -n | tail -n 1)
	[ -n "$t_end" ] || t_end=$(now)
	secs=$(awk -v a="$t" -v b="$t_end" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v a="$c0" -v b="$(cpu_ticks)" -v n="$n" -v hz="$hz" 'BEGIN { printf "%.0f", (b - a) * 1000 / hz / n }')
	srv_cpu=-
	[ -n "$srv" ] && srv_cpu=$(awk -v a="$s0" -v b="$(proc_ticks "$srv")" -v n="$n" -v hz="$hz" 'BEGIN { printf "%.0f", (b - a) * 1000 / hz / n }')
	rss_a=$(peak_rss archiver)
	rss_w=$(peak_rss "pg_safebackup push worker")

	if has "$LATENCY_METHODS" "$m"; then
		latency_sql
		lat=$(for _ in $(seq 20); do psql_b -Atc "SELECT archive_latency_ms()"; done | sort -n)
		p50=$(echo "$lat" | sed -n 10p)
		p95=$(echo "$lat" | sed -n 19p)
	fi
	got=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.2f", n / s }')
	stop_cluster
	stop_server
	[[ $m == pgbr* ]] && stop_pgbr
	result="$m $got $p50 $p95 $rss_a $rss_w $cpu $srv_cpu"
}

# ---- interleaved passes ---------------------------------------------------
read -r -a mlist <<< "$METHODS"
nm=${#mlist[@]}
: > "$dir/results"
for pass in $(seq "$PASSES"); do
	for k in $(seq 0 $((nm - 1))); do
		m=${mlist[$(((k + pass - 1) % nm))]}
		run_one "$m"
		echo "$result" >> "$dir/results"
		read -r _ got p50 p95 rss_a rss_w cpu srv_cpu <<< "$result"
		printf '  pass %d %-11s %8s segments/s  CPU %s ms/segment (server %s)  latency p50/p95 %s/%s ms  peak RSS archiver %s MiB, push workers %s MiB\n' \
			"$pass" "$m" "$got" "$cpu" "$srv_cpu" "${p50%.*}" "${p95%.*}" "$rss_a" "$rss_w"
	done
done

# ---- summary --------------------------------------------------------------
# median of column $2 for method $1 ("-" when absent)
median()
{
	awk -v m="$1" -v c="$2" '$1 == m && $c != "-" { print $c }' "$dir/results" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
maxrss()
{
	awk -v m="$1" -v c="$2" '$1 == m { n = split($c, a, "/"); for (i = 1; i <= n; i++) if (a[i] != "-" && a[i] + 0 > x) x = a[i] + 0 } END { print x ? x : "-" }' "$dir/results"
}
label()
{
	case "$1" in
		sb-posix) echo "pg_safebackup, defaults, posix" ;;
		sb-enc) echo "pg_safebackup, encrypted, posix" ;;
		sb-tls) echo "pg_safebackup, defaults, TLS" ;;
		sb-sftp) echo "pg_safebackup, defaults, SFTP" ;;
		sb-s3) echo "pg_safebackup, defaults, S3 (RGW)" ;;
		basic) echo "basic_archive (contrib)" ;;
		pgbr-sync) echo "pgBackRest sync, lz4" ;;
		pgbr-async) echo "pgBackRest async, lz4, 2 proc" ;;
		pgbr-tls) echo "pgBackRest async over TLS" ;;
		pgbr-s3) echo "pgBackRest async, S3 (RGW)" ;;
	esac
}
echo
echo "$n segments of 16 MiB, median of $PASSES interleaved passes ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '%-32s %11s %11s %11s %15s %15s %14s\n' "method" "segments/s" "CPU ms/seg" "server ms" "latency p50 ms" "latency p95 ms" "peak RSS MiB"
for m in $METHODS; do
	printf '%-32s %11s %11s %11s %15s %15s %14s\n' "$(label "$m")" "$(median "$m" 2)" "$(median "$m" 7)" "$(median "$m" 8)" \
		"$(median "$m" 3)" "$(median "$m" 4)" "$(maxrss "$m" 5)/$(maxrss "$m" 6)"
done
echo "(CPU ms/seg: CPU time of the whole machine during the drain, nice'd work of"
echo "others left out, per segment; $(nproc) cores give $(nproc)000 ms per second.  Peak RSS:"
echo "archiver / largest push worker, highest over the passes.  Server ms: the part of"
echo "CPU ms/seg spent by the repository server on this machine (TLS server, S3 gateway))"
echo
ratio()
{
	local a b
	a=$(median "$2" "$4"); b=$(median "$3" "$4")
	if [ "$a" = - ] || [ "$b" = - ]; then
		printf '%-52s %s\n' "$1:" "not measured"
	else
		awk -v a="$a" -v b="$b" -v l="$1" -v t="$5" 'BEGIN { printf "%-52s %.2f (target %s)\n", l ":", a / b, t }'
	fi
}
ratio "pg_safebackup posix / pgBackRest async" sb-posix pgbr-async 2 ">= 2.0"
ratio "pg_safebackup posix / basic_archive" sb-posix basic 2 ">= 1.0"
ratio "pg_safebackup TLS / pgBackRest async over TLS" sb-tls pgbr-tls 2 ">= 3"
printf '%-52s %s (target >= 25)\n' "pg_safebackup SFTP segments/s:" "$(median sb-sftp 2)"
ratio "S3 / posix, segments/s" sb-s3 sb-posix 2 \
	"S3 within 1.5 x posix, i.e. ratio of times <= 1.5 / of rates >= 0.67"
ratio "pgBackRest S3 / pgBackRest async posix, segments/s" pgbr-s3 pgbr-async 2 "none, for comparison"
ratio "pg_safebackup S3 / pgBackRest async S3, segments/s" sb-s3 pgbr-s3 2 "none, for comparison"
ratio "latency p50 pg_safebackup / basic_archive" sb-posix basic 3 "<= 1.0"
rss=$( { maxrss sb-posix 5; maxrss sb-posix 6; maxrss sb-tls 5; maxrss sb-tls 6; maxrss sb-sftp 5; maxrss sb-sftp 6;
	maxrss sb-s3 5; maxrss sb-s3 6; } |
	grep -v '^-$' | sort -n | tail -1)
printf '%-52s %s MiB (target <= 64)\n' "peak RSS, archiver or push worker (pg_safebackup):" "${rss:--}"
