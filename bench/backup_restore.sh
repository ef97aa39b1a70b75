#!/usr/bin/env bash
# Benchmark: wall time of a full backup (safebackup_start(wait => true)) and
# of a restore (pg_safebackup restore) of a pgbench database, beside tar of
# the same data directory.  Run as root after "make install":
#
#   bench/backup_restore.sh [SCALE]       (default scale 50, about 770 MB)
#   BACKUP_WORKERS="1 2" bench/backup_restore.sh 50   (also backups with 1, 2 copiers)
#
# Prints one line per measurement.  Uses /tmp/sb-bench; cleans up after.
set -euo pipefail

SCALE=${1:-50}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bin=$("$PG_CONFIG" --bindir)
dir=${BENCH_DIR:-/tmp/sb-bench}
port=54399
as_pg() { runuser -u postgres -- "$@"; }
psql_b() { as_pg "$bin/psql" -X -q -h "$dir" -p $port -d postgres "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

rm -rf "$dir"; mkdir -p "$dir/repo"; chown -R postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -A trust >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$dir'
listen_addresses = ''
shared_preload_libraries = 'pg_safebackup'
archive_mode = on
archive_library = 'pg_safebackup'
safebackup.repo_path = '$dir/repo'
max_wal_size = 4GB
CONF
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
psql_b -c "CREATE EXTENSION pg_safebackup"
as_pg "$bin/pgbench" -q -i -s "$SCALE" -h "$dir" -p $port postgres >/dev/null 2>&1
psql_b -c "CHECKPOINT"
size=$(du -sm --exclude=pg_wal "$dir/data" | cut -f1)
echo "pgbench scale $SCALE: data directory ${size} MB (without pg_wal)"

# wait until archiving has drained what pgbench -i produced
psql_b -c "SELECT pg_switch_wal()" >/dev/null
until [ "$(psql_b -Atc "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'")" = 0 ]; do sleep 0.5; done

sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
t=$(now); tar -cf "$dir/data.tar" -C "$dir" --exclude=data/pg_wal data; echo "tar (no compression):           $(elapsed "$t") s, $(du -m "$dir/data.tar" | cut -f1) MB"
rm -f "$dir/data.tar"
t=$(now); tar -cf - -C "$dir" --exclude=data/pg_wal data | gzip -1 > "$dir/data.tar.gz"; echo "tar | gzip -1:                   $(elapsed "$t") s, $(du -m "$dir/data.tar.gz" | cut -f1) MB"
rm -f "$dir/data.tar.gz"

# BACKUP_WORKERS="1 2": also time a backup with each safebackup.backup_workers
for n in ${BACKUP_WORKERS:-}; do
	psql_b -c "ALTER SYSTEM SET safebackup.backup_workers = $n" -c "SELECT pg_reload_conf()" >/dev/null
	sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
	t=$(now); psql_b -Atc "SELECT safebackup_start(wait => true)" >/dev/null
	echo "pg_safebackup backup, $n worker(s): $(elapsed "$t") s"
done
psql_b -c "ALTER SYSTEM RESET safebackup.backup_workers" -c "SELECT pg_reload_conf()" >/dev/null

sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
t=$(now); label=$(psql_b -Atc "SELECT safebackup_start(wait => true)")
echo "pg_safebackup full backup:       $(elapsed "$t") s, $(du -sm "$dir/repo/main/backup/$label" | cut -f1) MB stored (zlib level 1)"

t=$(now); as_pg "$bin/pg_safebackup" restore --repo-path="$dir/repo" --target-dir="$dir/restored" >/dev/null
echo "pg_safebackup restore:           $(elapsed "$t") s"

t=$(now); mkdir "$dir/untar"; tar -cf - -C "$dir" --exclude=data/pg_wal data | tar -xf - -C "$dir/untar"; sync -f "$dir/untar"
echo "tar | tar -x (copy):             $(elapsed "$t") s"
