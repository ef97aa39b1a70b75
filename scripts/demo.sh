#!/usr/bin/env bash
# The demo: install dependencies, build and install pg_safebackup, start a
# throwaway PostgreSQL 15 cluster that archives into a local repository,
# generate WAL, show it arriving, and fetch a segment back byte-identical.
# Run as root on Debian 12:  sudo scripts/demo.sh
# Everything lives in $DEMO_DIR (default /tmp/pg_safebackup-demo); the
# cluster is stopped at the end unless KEEP=1.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-/tmp/pg_safebackup-demo}
PORT=${PORT:-54329}
bin=/usr/lib/postgresql/15/bin
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
as_pg() { runuser -u postgres -- "$@"; }
psql_demo() { as_pg "$bin/psql" -X -h "$DEMO_DIR" -p "$PORT" -d postgres "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root" >&2; exit 2; }

step "installing dependencies"
[ -n "${SB_SKIP_DEPS:-}" ] || "$src/scripts/install-deps.sh" >/dev/null

step "building and installing pg_safebackup"
build=$DEMO_DIR/build
rm -rf "$DEMO_DIR"; mkdir -p "$build" "$DEMO_DIR/repo"
(cd "$src" && tar --exclude=.git --exclude='*.o' --exclude='*.so' -cf - .) | tar -xf - -C "$build"
make -s -C "$build" PG_CONFIG=$bin/pg_config -j2
make -s -C "$build" PG_CONFIG=$bin/pg_config install
chown -R postgres "$DEMO_DIR"

step "creating a cluster that archives into $DEMO_DIR/repo"
as_pg "$bin/initdb" -D "$DEMO_DIR/data" -A trust >/dev/null
cat >> "$DEMO_DIR/data/postgresql.conf" <<CONF
port = $PORT
unix_socket_directories = '$DEMO_DIR'
listen_addresses = ''
shared_preload_libraries = 'pg_safebackup'
archive_mode = on
archive_library = 'pg_safebackup'
safebackup.repo_path = '$DEMO_DIR/repo'
CONF
as_pg "$bin/pg_ctl" -D "$DEMO_DIR/data" -l "$DEMO_DIR/server.log" -w start >/dev/null
trap '[ -n "${KEEP:-}" ] || as_pg "$bin/pg_ctl" -D "$DEMO_DIR/data" -m fast -w stop >/dev/null' EXIT
psql_demo -q -c "CREATE EXTENSION pg_safebackup"

step "generating WAL with pgbench (scale 5)"
as_pg "$bin/pgbench" -q -i -s 5 -h "$DEMO_DIR" -p "$PORT" postgres 2>&1 | tail -1
as_pg "$bin/pgbench" -n -c 2 -T 5 -h "$DEMO_DIR" -p "$PORT" postgres | grep -E "^tps|transactions actually"
seg=$(psql_demo -Atc "SELECT pg_walfile_name(pg_current_wal_insert_lsn() + 1)")
psql_demo -qAtc "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 100); do
	[ "$(psql_demo -Atc "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")" = t ] && break
	sleep 0.2
done

step "WAL arriving in the repository"
psql_demo -x -c "SELECT last_archived_wal, archived_count, failed_count,
	pg_size_pretty(archived_bytes) AS archived, pg_size_pretty(stored_bytes) AS stored
	FROM safebackup_status()"
find "$DEMO_DIR/repo" -maxdepth 3 | sort | head -n 12
echo "..."

step "fetching $seg back with pg_safebackup archive-get"
if [ -f "$DEMO_DIR/data/pg_wal/$seg" ]; then
	as_pg "$bin/pg_safebackup" archive-get "$seg" "$DEMO_DIR/$seg" --repo-path="$DEMO_DIR/repo"
	cmp "$DEMO_DIR/data/pg_wal/$seg" "$DEMO_DIR/$seg" && echo "identical to pg_wal/$seg"
	sha256sum "$DEMO_DIR/$seg"
else
	as_pg "$bin/pg_safebackup" archive-get "$seg" "$DEMO_DIR/$seg" --repo-path="$DEMO_DIR/repo"
	echo "fetched and checksum-verified (pg_wal/$seg was already recycled)"
fi

step "done"
echo "repository: $DEMO_DIR/repo   server log: $DEMO_DIR/server.log"
