#!/usr/bin/env bash
# Benchmark: how the memory of a backup, a delta restore, info and verify
# grows with the size of the database.  Not part of the test suite (it
# prints figures and checks nothing).  Run as root after "make install":
#
#   bench/manifest_memory.sh [SIZE_GB]...        (default "16 256")
#
# A backup's manifest records a 64-bit sum per 128 kB block of every file:
# 8 MB of sums per 128 GB of data.  To measure that without the time and the
# disk of a real database of that size, each run makes a cluster with data
# checksums (pg_safebackup archiving into a local repository) and adds
# SIZE_GB files of 1 GiB to its postgres database's directory, as segments
# of a relation file that no table uses: sparse files, all zeros (new pages
# to the checksum check, a few kB each once compressed), read like any
# relation file by the backup.  Then, for each size:
#
#   - pg_safebackup full backup (safebackup.safebackup_start(wait => true)):
#     its time and the peak RSS (VmHWM, sampled every 0.2 s) of the
#     "pg_safebackup backup" background workers;
#   - the size of its manifest;
#   - pg_safebackup info, pg_safebackup restore --delta onto the stopped
#     cluster (nothing changed: every file is kept) and pg_safebackup verify
#     of the backup: time and maximum resident set size (/usr/bin/time -v);
#
# and last, for each measurement, its growth from the first size to the
# last, beside the growth of the data.  Environment: PG_CONFIG (default the
# system PostgreSQL 15), BENCH_DIR (default /tmp/sb-manifest-bench, removed
# at the end; BENCH_KEEP=1 keeps it), BENCH_PORT (default 54397).  The server
# listens on a Unix socket only and is stopped by its pid file.
set -euo pipefail

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(16 256)
here=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bin=$("$PG_CONFIG" --bindir)
dir=${BENCH_DIR:-/tmp/sb-manifest-bench}
port=${BENCH_PORT:-54397}

limit=3600		# seconds allowed for one timed command
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
need_time

cleanup()
{
	set +e
	stop_sampler_and_cluster
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}
trap 'exit 130' INT TERM

results=$(mktemp /tmp/sb-manifest-bench.XXXXXX)
trap 'rm -f "$results"; cleanup' EXIT
printf '%8s %7s %11s %10s %10s %10s %10s %10s\n' "data GB" "files" "manifest MB" \
	"backup s" "backup MiB" "info MiB" "delta MiB" "verify MiB"
for gb in "${sizes[@]}"; do
	rm -rf "$dir"; mkdir -p "$dir/repo"; chown -R postgres "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -A trust --data-checksums >/dev/null
	pg_conf_local "$dir/data"
	echo "safebackup.repo_path = '$dir/repo'" >> "$dir/data/postgresql.conf"
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
	psql_b -c "CREATE EXTENSION pg_safebackup"
	db=$(psql_b -Atc "SELECT oid FROM pg_database WHERE datname = 'postgres'")
	# a relation file no table uses, as gb segments of 1 GiB (sparse)
	as_pg truncate -s 1G "$dir/data/base/$db/999999"
	for i in $(seq 1 $((gb - 1))); do
		as_pg truncate -s 1G "$dir/data/base/$db/999999.$i"
	done
	files=$(find "$dir/data" -path "$dir/data/pg_wal" -prune -o -type f -print | wc -l)
	psql_b -c "CHECKPOINT"
	sleep 1.1		# the delta restore keeps files written > 1 s before the backup

	start_sampler
	t=$(now)
	label=$(psql_b -Atc "SELECT safebackup.safebackup_start(wait => true)" | tail -1)
	backup_s=$(elapsed "$t"); stop_sampler
	manifest=$(stat -c %s "$dir/repo/main/backup/$label/backup.manifest")
	manifest_mb=$(awk -v b="$manifest" 'BEGIN { printf "%.1f", b / 1048576 }')

	timed_pg /usr/bin/time -v -o "$dir/time.out" "$bin/pg_safebackup" info \
		--repo-path="$dir/repo" > /dev/null
	info_rss=$(maxrss "$dir/time.out")

	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -t 120 stop >/dev/null
	timed_pg /usr/bin/time -v -o "$dir/time.out" "$bin/pg_safebackup" restore \
		--repo-path="$dir/repo" --backup="$label" --delta \
		--target-dir="$dir/data" > "$dir/delta.out"
	delta_rss=$(maxrss "$dir/time.out")

	timed_pg /usr/bin/time -v -o "$dir/time.out" "$bin/pg_safebackup" verify \
		--repo-path="$dir/repo" --backup="$label" > "$dir/verify.out"
	verify_rss=$(maxrss "$dir/time.out")

	printf '%8s %7s %11s %10s %10s %10s %10s %10s\n' "$gb" "$files" "$manifest_mb" \
		"$backup_s" "$backup_rss" "$info_rss" "$delta_rss" "$verify_rss"
	echo "$gb $manifest_mb $backup_rss $info_rss $delta_rss $verify_rss" >> "$results"
done

if [ ${#sizes[@]} -gt 1 ]; then
	echo
	awk 'NR == 1 { g = $1; for (i = 2; i <= NF; i++) a[i] = $i }
		{ last = $0; n = NF; for (i = 1; i <= NF; i++) b[i] = $i }
		END {
			split("data manifest backup info delta verify", name, " ")
			printf "from %s GB to %s GB (x %.1f the data): manifest x %.1f; peak RSS (MiB): backup %s -> %s, info %s -> %s, delta restore %s -> %s, verify %s -> %s\n",
				g, b[1], b[1] / g, b[2] / a[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6]
		}' "$results"
fi
