#!/usr/bin/env bash
# Benchmark: how fast the archive module drains a WAL backlog.  NSEG segments
# of pgbench WAL are produced while archiving has no repository (so they
# queue in pg_wal), then the repository is configured and we time how long
# the archiver takes to store all of them.  Run as root after "make install":
#
#   bench/wal_drain.sh [SEGMENTS] [COMPRESS_LEVEL]      (default 64, 1)
#
# REPO_TYPE selects the repository, or several in turn, each with a fresh
# cluster and the same amount of WAL (default "posix"):
#   posix   a local directory
#   tls     "pg_safebackup server" on 127.0.0.1 with a throwaway CA
#           (tests/tls/make-certs.sh), repository on the same disk
#   REPO_TYPE="posix tls" bench/wal_drain.sh     prints both figures
set -euo pipefail

NSEG=${1:-64}
LEVEL=${2:-1}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
REPO_TYPES=${REPO_TYPE:-posix}
bin=$("$PG_CONFIG" --bindir)
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-/tmp/sb-drain}
port=${BENCH_PORT:-54398}
tls_port=$((port + 1))
as_pg() { runuser -u postgres -- "$@"; }
psql_b() { as_pg "$bin/psql" -X -q -h "$dir" -p $port -d postgres "$@"; }
now() { date +%s.%N; }
server_pid=
cleanup() {
	as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	server_pid=
	rm -rf "$dir"
}
trap cleanup EXIT

run_one() {
	local type=$1
	cleanup
	mkdir -p "$dir/repo"; chown -R postgres "$dir"
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
	if [ "$type" = tls ]; then
		as_pg "$src/tests/tls/make-certs.sh" "$dir/pki" >/dev/null
		cat > "$dir/server.conf" <<CONF
listen = 127.0.0.1
port = $tls_port
repo_path = $dir/repo
cert_file = $dir/pki/server.crt
key_file = $dir/pki/server.key
ca_file = $dir/pki/ca.crt
log_file = $dir/server.log
[auth]
pg1 = main
CONF
		chown postgres "$dir/server.conf"
		runuser -u postgres -- "$bin/pg_safebackup" server --config "$dir/server.conf" &
		server_pid=$!
	fi
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null

	# fill the backlog with pgbench data and updates (realistic, compressible
	# about as well as production WAL), until NSEG segments are ready
	ready() { psql_b -Atc "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'"; }
	as_pg "$bin/pgbench" -q -i -s 10 -h "$dir" -p $port postgres >/dev/null 2>&1
	while [ "$(ready)" -lt "$NSEG" ]; do
		psql_b -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 3 = 0"
	done
	local n t secs stored
	n=$(ready)

	t=$(now)
	if [ "$type" = tls ]; then
		psql_b -c "ALTER SYSTEM SET safebackup.tls_host = '127.0.0.1'" \
			-c "ALTER SYSTEM SET safebackup.tls_port = $tls_port" \
			-c "ALTER SYSTEM SET safebackup.tls_cert_file = '$dir/pki/pg1.crt'" \
			-c "ALTER SYSTEM SET safebackup.tls_key_file = '$dir/pki/pg1.key'" \
			-c "ALTER SYSTEM SET safebackup.tls_ca_file = '$dir/pki/ca.crt'" \
			-c "ALTER SYSTEM SET safebackup.repo_type = 'tls'" \
			-c "SELECT pg_reload_conf()" >/dev/null
	else
		psql_b -c "ALTER SYSTEM SET safebackup.repo_path = '$dir/repo'" -c "SELECT pg_reload_conf()" >/dev/null
	fi
	until [ "$(ready)" = 0 ]; do sleep 0.2; done
	secs=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	stored=$(du -sm "$dir/repo" | cut -f1)
	awk -v n="$n" -v s="$secs" -v st="$stored" -v l="$LEVEL" -v ty="$type" -v c="${COMPRESS_TYPE:-zlib}" \
		'BEGIN { printf "drained %d segments in %.2f s: %.1f segments/s (%s, %s level %d, %d MB stored)\n", n, s, n / s, ty, c, l, st }'
}

for type in $REPO_TYPES; do
	case "$type" in
		posix|tls) run_one "$type" ;;
		*) echo "wal_drain.sh: unknown REPO_TYPE \"$type\" (posix or tls)" >&2; exit 2 ;;
	esac
done
