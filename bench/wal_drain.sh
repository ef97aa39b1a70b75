#!/usr/bin/env bash
# Benchmark: how fast the archive module drains a WAL backlog.  64 segments
# of pgbench WAL are produced while archiving has no repository (so they
# queue in pg_wal), then safebackup.repo_path is set and we time how long the
# archiver takes to store all of them.  Run as root after "make install":
#
#   bench/wal_drain.sh [SEGMENTS] [COMPRESS_LEVEL]      (default 64, 1)
set -euo pipefail

NSEG=${1:-64}
LEVEL=${2:-1}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bin=$("$PG_CONFIG" --bindir)
dir=${BENCH_DIR:-/tmp/sb-drain}
port=54398
as_pg() { runuser -u postgres -- "$@"; }
psql_b() { as_pg "$bin/psql" -X -q -h "$dir" -p $port -d postgres "$@"; }
now() { date +%s.%N; }

rm -rf "$dir"; mkdir -p "$dir/repo"; chown -R postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -A trust >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$dir'
listen_addresses = ''
shared_preload_libraries = 'pg_safebackup'
archive_mode = on
archive_library = 'pg_safebackup'
safebackup.compress_level = $LEVEL
safebackup.compress_type = ${COMPRESS_TYPE:-zlib}
max_wal_size = 8GB
CONF
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

# fill the backlog with pgbench data and updates (realistic, compressible
# about as well as production WAL), until NSEG segments are ready
ready() { psql_b -Atc "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'"; }
as_pg "$bin/pgbench" -q -i -s 10 -h "$dir" -p $port postgres >/dev/null 2>&1
while [ "$(ready)" -lt "$NSEG" ]; do
	psql_b -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 3 = 0"
done
n=$(ready)

t=$(now)
psql_b -c "ALTER SYSTEM SET safebackup.repo_path = '$dir/repo'" -c "SELECT pg_reload_conf()" >/dev/null
until [ "$(ready)" = 0 ]; do sleep 0.2; done
secs=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
stored=$(du -sm "$dir/repo" | cut -f1)
awk -v n="$n" -v s="$secs" -v st="$stored" -v l="$LEVEL" \
	'BEGIN { printf "drained %d segments in %.2f s: %.1f segments/s (posix, zlib level %d, %d MB stored)\n", n, s, n / s, l, st }'
