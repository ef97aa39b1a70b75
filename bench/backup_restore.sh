#!/usr/bin/env bash
# Benchmark: full backup, restore and delta restore of a pgbench database,
# side by side in one run.  Not part of the test suite (it prints figures and
# checks nothing).  Run as root after "make install":
#
#   bench/backup_restore.sh [SCALE]...          (default 50; e.g. "50 200")
#
# With several scales it runs once for each, then prints how each time (and
# peak RSS) grew from the first scale to the last, beside the growth of the
# data directory.  RUNS=N (default 1) runs each scale N times, one run after
# the other, and then prints every measurement of the N runs, their median
# and the ratio lines of the medians (peak RSS: the highest); the growth
# between scales is then that of the medians.  This virtual disk's times
# vary by up to half from one run to the next, so single runs mislead.
# pg_safebackup's and pgBackRest's full backups and restores take turns
# going first: pg_safebackup's in odd runs (and in a single run),
# pgBackRest's in even ones.
#
# For each pgbench SCALE it makes a cluster with data checksums (initdb
# --data-checksums, pg_safebackup archiving into a local repository) and
# prints, with the page cache dropped before each timed run (after as much
# memory as the data directory was written to /dev/shm and freed, so that
# no run pays for the host taking back memory the run before left free;
# and the harness that starts a timed program, setpriv, env, timeout and
# time, run once after that, so that its own cold start is not counted:
# lib.sh):
#
#   - cat of every file of the data directory (without pg_wal) to /dev/null:
#     the cold read limit;
#   - dd of as many random bytes as the data directory from memory to the
#     disk, with O_DIRECT (1 MiB writes) and flushed: the write limit of a
#     restore;
#   - pg_safebackup full backup (safebackup.safebackup_start(wait => true), the server's
#     default settings) and pg_safebackup restore (its default --jobs), into a
#     local directory, through "pg_safebackup server" (TLS, 127.0.0.1, the
#     throwaway CA of tests/tls/make-certs.sh) and through the private sshd of
#     tests/sftp/sshd-harness.sh (SFTP, 127.0.0.1) and into a bucket of the
#     private Ceph RADOS Gateway of scripts/rgw-start.sh (S3, HTTPS on
#     127.0.0.1, path style, its throwaway CA; left out with a line saying
#     so when the gateway's root is not there);
#   - pgBackRest full backup (compress-type lz4, process-max 1 and 2,
#     start-fast, --no-archive-check since the cluster archives with
#     pg_safebackup) and restore (process-max 2), when the pgbackrest command
#     is there (the script runs "apt-get install -y pgbackrest" if it is
#     missing; PGBR_INSTALL=0 leaves pgBackRest out instead, and PGBR=0
#     leaves it out in any case), and with S3 in SB_REPOS its full backup
#     (process-max 2) into an empty bucket of the same kind of gateway;
#   - pg_basebackup -Ftar --compress=server-lz4 --checkpoint=fast;
#   - a pg_safebackup incremental backup (posix) after about 1% of
#     pgbench_accounts was updated (a contiguous range of rows) and
#     checkpointed: its wall time, the bytes it read from the data directory
#     and stored (the manifest's read_size and stored_size), and the changed
#     pages it stored (the manifest's chunks records); block level on
#     PostgreSQL 17+ (the cluster runs with summarize_wal = on there), file
#     level before;
#   - pg_safebackup restore --delta of the latest posix backup (the
#     incremental one) onto the stopped cluster after about 1% of
#     pgbench_accounts was updated (a contiguous range of rows, so about 1%
#     of its pages) and checkpointed, with where it took the blocks to
#     compare from (the WAL since the backup, or their content);
#   - the peak RSS (VmHWM, sampled every 0.2 s) of the "pg_safebackup backup"
#     background workers and the maximum resident set size of the restore
#     command (/usr/bin/time -v; the package "time" is installed if missing);
#
# then the ratio lines of the targets of issues 13 and 17 (S3).  Environment: PG_CONFIG
# (default the system PostgreSQL 15), BENCH_DIR (default /tmp/sb-bench,
# removed at the end), BENCH_PORT (default 54399; the next port is the TLS
# server's), SB_REPOS (default "posix tls sftp s3"), BENCH_KEEP=1 (keep BENCH_DIR
# to look at its logs), COMPRESS_TYPE (pg_safebackup's, for every repository;
# with SB_RGW_BACKEND=posix and COMPRESS_TYPE=none the S3 restore can be
# measured: that gateway backend keeps multipart objects intact but fails
# keys with a suffix such as ".zst", see scripts/rgw-start.sh).  Every process started here
# listens on loopback only and is stopped by its process ID; waits are
# bounded.
set -euo pipefail

# several scales: one run each, then how time and memory grew from the
# first scale to the last (the figures of each run are kept in a file)
if [ $# -gt 1 ]; then
	all=$(mktemp /tmp/sb-bench-scales.XXXXXX)
	trap 'rm -f "$all"' EXIT
	for s in "$@"; do BENCH_SCALES_FILE=$all "$0" "$s"; echo; done
	first=$1; last=${!#}
	echo "from scale $first to scale $last (data directory size, then each measurement):"
	awk -v f="$first" -v l="$last" '
		$1 == f { t[$2] = $3; m[$2] = $4; if (!seen[$2]++) order[++n] = $2 }
		$1 == l { t2[$2] = $3; m2[$2] = $4 }
		END {
			for (i = 1; i <= n; i++) {
				k = order[i]
				if (!(k in t2) || t[k] <= 0) continue
				printf "  %-20s x %.2f", k, t2[k] / t[k]
				if (m[k] > 0 && m2[k] != "") printf ", peak RSS x %.2f (%d -> %d MiB)", m2[k] / m[k], m[k], m2[k]
				printf "\n"
			}
		}' "$all"
	exit 0
fi
SCALE=${1:-50}

# ---- ratios ----------------------------------------------------------------
# print_ratios FILE: the target ratio lines from a results file ("key value
# [peak RSS MiB]" lines)
print_ratios()
{
	local results=$1
	get() { awk -v k="$1" -v c="${2:-2}" '$1 == k { print $c }' "$results"; }
	ratio()
	{
		local a b
		a=$(get "$2"); b=$(get "$3")
		if [ -z "$a" ] || [ -z "$b" ]; then
			printf '%-52s %s\n' "$1:" "not measured"
		else
			awk -v a="$a" -v b="$b" -v l="$1" -v t="$4" 'BEGIN { printf "%-52s %.2f (target %s)\n", l ":", (b > 0 ? a / b : 0), t }'
		fi
	}
	echo
	ratio "backup posix / pgBackRest backup process-max 2" sb-backup-posix pgbr-backup-2 "<= 0.5"
	ratio "backup posix / cold read" sb-backup-posix cat "<= 1.5"
	ratio "restore posix / pgBackRest restore process-max 2" sb-restore-posix pgbr-restore "<= 0.5"
	ratio "delta restore / full restore (posix)" sb-delta sb-restore-posix "<= 0.2"
	ratio "incremental / full backup time (posix)" sb-incr sb-backup-posix "<= 0.1"
	ratio "incremental bytes stored / changed pages" sb-incr-stored sb-incr-pages "<= 2 (block level)"
	ratio "incremental / pgBackRest incremental (process-max 2)" sb-incr pgbr-incr "<= 0.5"
	ratio "incremental / pgBackRest block incremental" sb-incr pgbr-incr-block "<= 0.5"
	ratio "incremental bytes stored / pgBackRest's incremental" sb-incr-stored pgbr-incr-stored "none, for comparison"
	ratio "incremental bytes stored / pgBackRest's block incremental" sb-incr-stored pgbr-incr-block-stored "none, for comparison"
	ratio "S3 / posix, full backup time" sb-backup-s3 sb-backup-posix \
		"S3 within 1.5 x posix, i.e. ratio of times <= 1.5 / of rates >= 0.67"
	ratio "S3 / posix, restore time" sb-restore-s3 sb-restore-posix \
		"S3 within 1.5 x posix, i.e. ratio of times <= 1.5 / of rates >= 0.67"
	ratio "pgBackRest S3 / pgBackRest posix, full backup (process-max 2)" pgbr-backup-s3 pgbr-backup-2 "none, for comparison"
	ratio "pg_safebackup S3 / pgBackRest S3, full backup time" sb-backup-s3 pgbr-backup-s3 "none, for comparison"
	ratio "restore posix / dd write of as many bytes" sb-restore-posix write ">= 1, the disk's limit"
	# a restore writes every byte: where dd alone takes more than half of
	# pgBackRest's restore, meeting the restore target means writing faster
	# than dd's one 1 MiB write at a time
	ratio "dd write of as many bytes / pgBackRest restore" write pgbr-restore \
		"none; above 0.5 the restore target needs more than dd's write rate"
	rss=$(awk 'NF >= 3 && $1 ~ /^sb-/ { print $3 }' "$results" | sort -n | tail -1)
	printf '%-52s %s MiB (target <= 64)\n' "peak RSS, backup worker or restore:" "${rss:--}"
}

# RUNS=N: N runs of this scale, then the medians (see the top)
if [ "${RUNS:-1}" -gt 1 ] && [ -z "${BENCH_RUNS_FILE:-}" ]; then
	runs_file=$(mktemp /tmp/sb-bench-runs.XXXXXX)
	trap 'rm -f "$runs_file"' EXIT
	for i in $(seq "$RUNS"); do
		echo "=== run $i of $RUNS, scale $SCALE"
		BENCH_RUN_NO=$i BENCH_RUNS_FILE=$runs_file BENCH_SCALES_FILE='' "$0" "$SCALE"
		echo
	done
	medians=$(mktemp /tmp/sb-bench-medians.XXXXXX)
	trap 'rm -f "$runs_file" "$medians"' EXIT
	# key: every run's value in order, the median (the mean of the middle
	# two for an even count), the highest peak RSS
	awk '
		{ if (!($1 in n)) order[++k] = $1; v[$1, ++n[$1]] = $2
		  if (NF >= 3 && $3 > rss[$1]) rss[$1] = $3 }
		END {
			for (i = 1; i <= k; i++) {
				key = order[i]; c = n[key]; line = ""
				for (j = 1; j <= c; j++) { a[j] = v[key, j]; line = line " " a[j] }
				for (x = 2; x <= c; x++) for (y = x; y > 1 && a[y - 1] + 0 > a[y] + 0; y--) { t = a[y]; a[y] = a[y - 1]; a[y - 1] = t }
				med = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
				printf "%s %s%s #%s\n", key, med, (key in rss) ? " " rss[key] : "", line
			}
		}' "$runs_file" > "$medians"
	echo "scale $SCALE, $RUNS runs: each measurement (seconds, or bytes for *-stored/*-pages), run by run, and its median"
	awk '{ printf "  %-24s %s  median %s\n", $1, substr($0, index($0, "#") + 1), $2 }' "$medians"
	sed -i 's/ #.*//' "$medians"
	if [ -n "${BENCH_SCALES_FILE:-}" ]; then sed "s/^/$SCALE /" "$medians" >> "$BENCH_SCALES_FILE"; fi
	echo
	echo "ratios of the medians of $RUNS runs:"
	print_ratios "$medians"
	exit 0
fi
SB_REPOS=${SB_REPOS:-"posix tls sftp s3"}
here=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bin=$("$PG_CONFIG" --bindir)
dir=${BENCH_DIR:-/tmp/sb-bench}
port=${BENCH_PORT:-54399}
tls_port=$((port + 1))
limit=$((600 + SCALE * 20))		# seconds allowed for one timed command

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
# the S3 gateway: only when its cached root is there
if [[ " $SB_REPOS " == *" s3 "* ]] && ! [ -x "${SB_RGW_ROOT:-/var/cache/pg_safebackup/rgw-root}/usr/bin/radosgw" ]; then
	echo "no radosgw root (scripts/rgw-start.sh prepare): S3 left out"
	SB_REPOS=$(for r in $SB_REPOS; do [ "$r" = s3 ] || echo "$r"; done | xargs)
fi
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
need_time
pgbr=1
if [ "${PGBR:-1}" = 0 ]; then
	pgbr=
elif ! command -v pgbackrest >/dev/null; then
	if [ "${PGBR_INSTALL:-1}" = 1 ]; then
		apt-get install -y pgbackrest >/dev/null 2>&1 || true
	fi
	command -v pgbackrest >/dev/null || { pgbr=; echo "pgbackrest is not installed: left out"; }
fi

server_pid=
harness=$dir/sftp-harness
harness_started=
rgw=$dir/rgw-harness
rgw_started=
cleanup()
{
	set +e
	stop_sampler_and_cluster
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if [ -n "$harness_started" ]; then
		"$here/tests/sftp/sshd-harness.sh" stop "$harness" >/dev/null 2>&1
	fi
	if [ -n "$rgw_started" ]; then
		"$here/scripts/rgw-start.sh" stop "$rgw" >/dev/null 2>&1
	fi
	rm -f /dev/shm/sb-bench-recycle /dev/shm/sb-bench-random
	# BENCH_KEEP=1 keeps the logs and data to look at
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}
rm -rf "$dir"; mkdir -p "$dir/repo"; chown -R postgres "$dir"
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$bin/initdb" -D "$dir/data" -A trust --data-checksums >/dev/null
pg_conf_local "$dir/data"
cat >> "$dir/data/postgresql.conf" <<CONF
max_wal_size = 4GB
include_if_exists = 'bench_repo.conf'
CONF
sb_settings=defaults
if [ -n "${COMPRESS_TYPE:-}" ]; then
	sb_settings="compress_type $COMPRESS_TYPE"
	echo "safebackup.compress_type = '$COMPRESS_TYPE'" >> "$dir/data/postgresql.conf"
fi
# block-level incremental backups need the WAL summaries (17+)
pg_major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
if [ "$pg_major" -ge 17 ]; then
	echo "summarize_wal = on" >> "$dir/data/postgresql.conf"
fi
echo "safebackup.repo_path = '$dir/repo'" > "$dir/data/bench_repo.conf"
chown postgres:postgres "$dir/data/bench_repo.conf"
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
psql_b -c "CREATE EXTENSION pg_safebackup"
as_pg "$bin/pgbench" -q -i -s "$SCALE" -h "$dir" -p "$port" postgres >/dev/null 2>&1
psql_b -c "CHECKPOINT"
size=$(du -sm --exclude=pg_wal "$dir/data" | cut -f1)
# every timed command starts with as much memory just used and freed
# as the data directory and its copy's buffers take (lib.sh, drop_caches)
recycle_mb=$((size + 256))
if [ -n "${BENCH_SCALES_FILE:-}" ]; then echo "$SCALE data-MB $size" >> "$BENCH_SCALES_FILE"; fi

# wait (bounded) until the archiver has stored every ready segment
drain()
{
	psql_b -c "SELECT pg_switch_wal()" >/dev/null
	for _ in $(seq $((limit * 5))); do
		[ -z "$(find "$dir/data/pg_wal/archive_status" -name '*.ready' -print -quit)" ] && return 0
		sleep 0.2
	done
	echo "WAL not archived within $limit s (see $dir/log)" >&2
	exit 1
}
drain

# results: "key seconds [MiB]" lines
: > "$dir/results"
result()
{
	echo "$*" >> "$dir/results"
	if [ -n "${BENCH_SCALES_FILE:-}" ]; then echo "$SCALE $*" >> "$BENCH_SCALES_FILE"; fi
	if [ -n "${BENCH_RUNS_FILE:-}" ]; then echo "$*" >> "$BENCH_RUNS_FILE"; fi
}

echo "pgbench scale $SCALE, data checksums: data directory $size MB (without pg_wal); page cache dropped before each timed run, the harness started once after"

# ---- the read limit --------------------------------------------------------
drop_caches
t=$(now)
find "$dir/data" -path "$dir/data/pg_wal" -prune -o -type f -print0 | xargs -0 cat > /dev/null
s=$(elapsed "$t"); result cat "$s"
printf '%-52s %8s s\n' "cat of the data directory to /dev/null (cold read)" "$s"

# ---- the write limit: as many random bytes as the data directory, from
# memory to the disk the restores write to, past the page cache (O_DIRECT, as
# pg_safebackup restore writes large files) and flushed ----------------------
head -c "${size}M" /dev/urandom > /dev/shm/sb-bench-random
drop_caches
t=$(now)
dd if=/dev/shm/sb-bench-random of="$dir/write-limit" bs=1M oflag=direct conv=fsync status=none
s=$(elapsed "$t"); result write "$s"
rm -f /dev/shm/sb-bench-random "$dir/write-limit"
printf '%-52s %8s s\n' "dd of $size MB of random data, O_DIRECT, flushed (write)" "$s"

# ---- pg_safebackup, one repository type after the other ---------------------
repo_conf()
{
	case "$1" in
		posix) echo "safebackup.repo_path = '$dir/repo'" ;;
		tls)
			cat <<CONF
safebackup.repo_type = 'tls'
safebackup.tls_host = '127.0.0.1'
safebackup.tls_port = $tls_port
safebackup.tls_cert_file = '$dir/pki/pg1.crt'
safebackup.tls_key_file = '$dir/pki/pg1.key'
safebackup.tls_ca_file = '$dir/pki/ca.crt'
CONF
			;;
		sftp)
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
		s3)
			cat "$rgw/safebackup.conf"
			;;
	esac
}
cli_repo()
{
	case "$1" in
		posix) echo "--repo-path=$dir/repo" ;;
		tls) echo "--repo-type=tls --tls-host=127.0.0.1 --tls-port=$tls_port --tls-cert-file=$dir/pki/pg1.crt --tls-key-file=$dir/pki/pg1.key --tls-ca-file=$dir/pki/ca.crt" ;;
		sftp) echo "--repo-type=sftp --repo-path=$SFTP_REPO --sftp-host=$SFTP_HOST --sftp-port=$SFTP_PORT --sftp-user=$SFTP_USER --sftp-private-key-file=$SFTP_KEY --sftp-known-hosts-file=$SFTP_KNOWN_HOSTS" ;;
		s3) echo "--repo-type=s3 --repo-path=/ --s3-endpoint=$S3_ENDPOINT --s3-bucket=$S3_BUCKET --s3-region=$S3_REGION --s3-uri-style=path --s3-credentials-file=$S3_CREDENTIALS_FILE --s3-ca-file=$S3_CA_FILE" ;;
	esac
}
posix_label=
incr_label=
# ---- pg_safebackup full backup and restore, into each repository of SB_REPOS
sb_full_runs()
{
	for r in $SB_REPOS; do
		case "$r" in
			tls)
				as_pg "$here/tests/tls/make-certs.sh" "$dir/pki" >/dev/null
				mkdir -p "$dir/tls-repo"; chown postgres "$dir/tls-repo"
				cat > "$dir/server.conf" <<CONF
listen = 127.0.0.1
port = $tls_port
repo_path = $dir/tls-repo
cert_file = $dir/pki/server.crt
key_file = $dir/pki/server.key
ca_file = $dir/pki/ca.crt
log_file = $dir/server.log
[auth]
pg1 = main
CONF
				chown postgres "$dir/server.conf"
				as_pg_exec "$bin/pg_safebackup" server --config "$dir/server.conf" >> "$dir/server.out" 2>&1 &
				server_pid=$!
				for _ in $(seq 100); do
					(exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null && break
					sleep 0.1
				done
				;;
			sftp)
				"$here/tests/sftp/sshd-harness.sh" start "$harness" >/dev/null
				harness_started=1
				# shellcheck disable=SC1091
				. "$harness/env"
				;;
			s3)
				rgw_started=1
				"$here/scripts/rgw-start.sh" start "$rgw" >/dev/null
				# shellcheck disable=SC1091
				. "$rgw/env"
				;;
		esac
		repo_conf "$r" > "$dir/data/bench_repo.conf"
		psql_b -c "SELECT pg_reload_conf()" >/dev/null
		drain

		drop_caches
		start_sampler
		t=$(now)
		label=$(psql_timed -Atc "SET statement_timeout = '${limit}s'; SELECT safebackup.safebackup_start(wait => true)" | tail -1)
		s=$(elapsed "$t"); stop_sampler; rss=$backup_rss
		[ "$r" = posix ] && posix_label=$label
		result "sb-backup-$r" "$s" "$rss"
		printf '%-52s %8s s, backup worker peak RSS %s MiB\n' "pg_safebackup full backup, $sb_settings, $r" "$s" "$rss"

		drop_caches
		t=$(now)
		# shellcheck disable=SC2046
		# a failed restore is reported and the run goes on (with Ceph 20.2's
		# dbstore gateway an S3 restore fails: it returns wrong bytes for the
		# multipart objects of files over 16 MiB, see scripts/rgw-start.sh)
		if timed_pg /usr/bin/time -v -o "$dir/time.out" "$bin/pg_safebackup" restore $(cli_repo "$r") \
			--target-dir="$dir/restored" >/dev/null; then
			s=$(elapsed "$t"); rss=$(maxrss "$dir/time.out")
			result "sb-restore-$r" "$s" "$rss"
			printf '%-52s %8s s, peak RSS %s MiB\n' "pg_safebackup restore, $sb_settings, $r" "$s" "$rss"
		else
			printf '%-52s %8s\n' "pg_safebackup restore, $sb_settings, $r" "FAILED (the error is above)"
		fi
		rm -rf "$dir/restored"

		if [ "$r" = tls ]; then
			kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
		fi
		if [ "$r" = sftp ]; then
			"$here/tests/sftp/sshd-harness.sh" stop "$harness" >/dev/null 2>&1; harness_started=
		fi
		if [ "$r" = s3 ]; then
			"$here/scripts/rgw-start.sh" stop "$rgw" >/dev/null 2>&1; rgw_started=
		fi
	done
	repo_conf posix > "$dir/data/bench_repo.conf"
	psql_b -c "SELECT pg_reload_conf()" >/dev/null
}

# ---- pgBackRest ------------------------------------------------------------
pgbr_full_runs()
{
	if [ -n "$pgbr" ]; then
		cat > "$dir/pgbr.conf" <<CONF
[global]
repo1-path=$dir/pgbr-repo
repo1-retention-full=9
log-path=$dir/pgbr-log
lock-path=$dir/pgbr-lock
log-level-console=error
log-level-file=off
compress-type=lz4
start-fast=y
archive-check=n
[bench]
pg1-path=$dir/data
pg1-port=$port
pg1-socket-path=$dir
CONF
		chown postgres "$dir/pgbr.conf"
		# pgbr_full CONF KEY WHAT: stanza-create, then a timed full backup
		# (process-max 2) into the empty repository of CONF
		pgbr_full()
		{
			local s
			as_pg pgbackrest --config="$1" --stanza=bench stanza-create >/dev/null
			drop_caches
			t=$(now)
			timed_pg pgbackrest --config="$1" --stanza=bench --type=full --process-max=2 backup
			s=$(elapsed "$t"); result "$2" "$s"
			printf '%-52s %8s s\n' "$3" "$s"
		}
		for pm in 1 2; do
			rm -rf "$dir/pgbr-repo"; mkdir "$dir/pgbr-repo"; chown postgres "$dir/pgbr-repo"
			as_pg pgbackrest --config="$dir/pgbr.conf" --stanza=bench stanza-create >/dev/null
			drop_caches
			t=$(now)
			timed_pg pgbackrest --config="$dir/pgbr.conf" --stanza=bench --type=full --process-max=$pm backup
			s=$(elapsed "$t"); result "pgbr-backup-$pm" "$s"
			printf '%-52s %8s s\n' "pgBackRest full backup, lz4, process-max $pm" "$s"
		done
		mkdir -m 700 "$dir/pgbr-restored"; chown postgres "$dir/pgbr-restored"
		drop_caches
		t=$(now)
		timed_pg pgbackrest --config="$dir/pgbr.conf" --stanza=bench --process-max=2 \
			--pg1-path="$dir/pgbr-restored" restore
		s=$(elapsed "$t"); result pgbr-restore "$s"
		printf '%-52s %8s s\n' "pgBackRest restore, process-max 2" "$s"
		# pgbr-repo keeps its full backup (process-max 2): the base of
		# pgBackRest's incremental below
		rm -rf "$dir/pgbr-restored"

		# block incremental: a full backup with bundles and block maps, the
		# base of its block incremental below (a beta feature in 2.45, which
		# then wants beta=y; later versions accept the option)
		if pgbackrest help backup 2>/dev/null | grep -q 'repo-block'; then
			sed -e "s|^repo1-path=.*|repo1-path=$dir/pgbr-block-repo|" \
				-e "s|^\[global\]|[global]\nbeta=y\nrepo1-bundle=y\nrepo1-block=y|" \
				"$dir/pgbr.conf" > "$dir/pgbr-block.conf"
			chown postgres "$dir/pgbr-block.conf"
			mkdir "$dir/pgbr-block-repo"; chown postgres "$dir/pgbr-block-repo"
			pgbr_full "$dir/pgbr-block.conf" pgbr-backup-block "pgBackRest full backup, lz4, process-max 2, bundle+block"
		else
			echo "pgBackRest $(pgbackrest version | awk '{ print $2 }') has no block incremental: its row is left out"
		fi

		# into the same kind of gateway as pg_safebackup's S3 row, empty
		if [[ " $SB_REPOS " == *" s3 "* ]]; then
			rgw_started=1
			"$here/scripts/rgw-start.sh" start "$rgw" >/dev/null
			# shellcheck disable=SC1091
			. "$rgw/env"
			sed -e "s|^repo1-path=.*|repo1-path=/pgbr|" "$dir/pgbr.conf" > "$dir/pgbr-s3.conf"
			sed -i "s|^\[global\]|[global]\nrepo1-type=s3\nrepo1-s3-bucket=$S3_BUCKET\nrepo1-s3-endpoint=localhost\nrepo1-storage-port=${S3_ENDPOINT##*:}\nrepo1-s3-region=$S3_REGION\nrepo1-s3-key=$S3_ACCESS_KEY\nrepo1-s3-key-secret=$S3_SECRET_KEY\nrepo1-s3-uri-style=path\nrepo1-storage-ca-file=$S3_CA_FILE|" \
				"$dir/pgbr-s3.conf"
			chmod 600 "$dir/pgbr-s3.conf"; chown postgres "$dir/pgbr-s3.conf"
			pgbr_full "$dir/pgbr-s3.conf" pgbr-backup-s3 "pgBackRest full backup, lz4, process-max 2, s3"
			"$here/scripts/rgw-start.sh" stop "$rgw" >/dev/null 2>&1; rgw_started=
		fi
	fi
}

# the first timed backup after the load (and the dd above) met a slow
# spell of this virtual disk more often than the later ones: the two
# tools take turns going first, run by run (BENCH_RUN_NO, set by RUNS)
if [ $(( ${BENCH_RUN_NO:-1} % 2 )) -eq 0 ]; then
	pgbr_full_runs
	sb_full_runs
else
	sb_full_runs
	pgbr_full_runs
fi

# ---- pg_basebackup ---------------------------------------------------------
drop_caches
t=$(now)
timed_pg "$bin/pg_basebackup" -h "$dir" -p "$port" -D "$dir/basebackup" -Ftar --compress=server-lz4 \
	--checkpoint=fast
s=$(elapsed "$t"); result basebackup "$s"
printf '%-52s %8s s, %s MB\n' "pg_basebackup -Ftar --compress=server-lz4" "$s" "$(du -sm "$dir/basebackup" | cut -f1)"
rm -rf "$dir/basebackup"

# ---- incremental backup after 1% of the rows changed (posix) ---------------
if [ -n "$posix_label" ]; then
	rows=$((SCALE * 100000 / 100))
	psql_b -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $rows"
	psql_b -c "CHECKPOINT"
	# 17+: on a running server the WAL summarizer keeps up with the WAL
	# in the background; here the whole change was written a moment ago,
	# so let it summarize the change first (the time it took is printed)
	if [ "$pg_major" -ge 17 ]; then
		redo=$(psql_b -Atc "SELECT redo_lsn FROM pg_control_checkpoint()")
		t=$(now)
		for _ in $(seq $((limit * 50))); do
			[ "$(psql_b -Atc "SELECT summarized_lsn >= '$redo' FROM pg_get_wal_summarizer_state()")" = t ] && break
			sleep 0.02
		done
		printf '%-52s %8s s\n' "WAL summarizer: the change summarized (not timed below)" "$(elapsed "$t")"
	fi
	drop_caches
	t=$(now)
	label=$(psql_timed -Atc "SET statement_timeout = '${limit}s'; SELECT safebackup.safebackup_start('incr', wait => true)" | tail -1)
	s=$(elapsed "$t")
	incr_label=$label
	result sb-incr "$s"
	man="$dir/repo/main/backup/$label/backup.manifest"
	read_b=$(awk -F= '$1 == "read_size" { print $2 }' "$man")
	stored_b=$(awk -F= '$1 == "stored_size" { print $2 }' "$man")
	pages_b=$(awk -F'\t' '/^chunks=/ { n += $2 } END { print n + 0 }' "$man")
	level=$(grep -q '^chunks=' "$man" && echo "block level" || echo "file level")
	result sb-incr-read "${read_b:-0}"
	result sb-incr-stored "${stored_b:-0}"
	result sb-incr-pages "$pages_b"
	printf '%-52s %8s s, %s\n' "pg_safebackup incremental (1% of rows changed), posix" "$s" "$level"
	printf '  (read %.1f MB from the data directory, stored %.1f MB; changed pages stored %.1f MB before compression)\n' \
		"$(awk -v b="${read_b:-0}" 'BEGIN { print b / 1048576 }')" \
		"$(awk -v b="${stored_b:-0}" 'BEGIN { print b / 1048576 }')" \
		"$(awk -v b="$pages_b" 'BEGIN { print b / 1048576 }')"
fi

# ---- pgBackRest's incrementals of the same change --------------------------
# each on its own full backup above; bytes stored: the size of the new
# backup's directory in the repository
pgbr_incr()
{
	local conf=$1 repo=$2 key=$3 what=$4 s stored
	[ -f "$conf" ] || return 0
	drop_caches
	t=$(now)
	timed_pg pgbackrest --config="$conf" --stanza=bench --type=incr --process-max=2 backup
	s=$(elapsed "$t")
	stored=$(du -sb "$(ls -d "$repo"/backup/bench/*I | tail -1)" | cut -f1)
	result "$key" "$s"
	result "$key-stored" "$stored"
	printf '%-52s %8s s, stored %.1f MB\n' "$what" "$s" "$(awk -v b="$stored" 'BEGIN { print b / 1048576 }')"
}
if [ -n "$posix_label" ] && [ -n "$pgbr" ]; then
	pgbr_incr "$dir/pgbr.conf" "$dir/pgbr-repo" pgbr-incr "pgBackRest incremental, lz4, process-max 2"
	pgbr_incr "$dir/pgbr-block.conf" "$dir/pgbr-block-repo" pgbr-incr-block \
		"pgBackRest block incremental, process-max 2"
fi
rm -rf "$dir/pgbr-repo" "$dir/pgbr-block-repo"

# ---- delta restore of the latest posix backup onto the changed cluster -----
# (the incremental one: the cluster archived into the other repositories
# while their backups were measured, so the WAL since the full backup is
# not all in the posix repository, and a delta restore of that backup
# would compare by content; it says so)
delta_label=${incr_label:-$posix_label}
if [ -n "$delta_label" ]; then
	rows=$((SCALE * 100000 / 100))
	psql_b -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $rows"
	psql_b -c "CHECKPOINT"
	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -t 120 stop >/dev/null
	drop_caches
	t=$(now)
	timed_pg /usr/bin/time -v -o "$dir/time.out" "$bin/pg_safebackup" restore --repo-path="$dir/repo" \
		--backup="$delta_label" --delta --target-dir="$dir/data" > "$dir/delta.out"
	s=$(elapsed "$t"); rss=$(maxrss "$dir/time.out")
	result sb-delta "$s" "$rss"
	printf '%-52s %8s s, peak RSS %s MiB\n' "pg_safebackup restore --delta (1% of rows changed)" "$s" "$rss"
	# "delta: N changed files updated in place: W of their T bytes written"
	awk '/updated in place/ { printf "  (%s changed files updated in place: %.1f of their %.1f MB written)\n", $2, $8 / 1048576, $11 / 1048576 }' "$dir/delta.out"
	# "delta: the blocks to compare come from the WAL: ...; R MB of local files read"
	# or "delta: files compared by content, not by the WAL's change list: why"
	sed -n 's/^delta: the blocks to compare come from the WAL: \(.*\)$/  (blocks to compare from the WAL: \1)/p; s/^delta: files compared by content.*: \(.*\)$/  (compared by content: \1)/p' "$dir/delta.out"
fi

print_ratios "$dir/results"
