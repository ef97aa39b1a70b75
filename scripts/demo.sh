#!/usr/bin/env bash
# The demo: install dependencies, build and install pg_safebackup, start a
# throwaway PostgreSQL 15 cluster that archives into a local repository,
# generate WAL, show it arriving, fetch a segment back byte-identical, take
# a base backup, make more changes, restore to a moment between them, start
# the restored cluster and show it holds exactly the data of that moment.
# Run as root on Debian 12:  scripts/demo.sh
# Everything lives in $DEMO_DIR (default /tmp/pg_safebackup-demo); the
# cluster is stopped at the end unless KEEP=1.
# SB_PACKAGED=1 uses the installed postgresql-$PG_VERSION-pg-safebackup
# package (and /usr/bin/pg_safebackup) instead of building: what
# scripts/package-test.sh runs in a clean root.  PG_VERSION defaults to 15.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-/tmp/pg_safebackup-demo}
PORT=${PORT:-54329}
PG_VERSION=${PG_VERSION:-15}
bin=/usr/lib/postgresql/$PG_VERSION/bin
cli=$bin/pg_safebackup
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
as_pg() { runuser -u postgres -- "$@"; }
psql_demo() { as_pg "$bin/psql" -X -h "$DEMO_DIR" -p "$PORT" -d postgres "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root" >&2; exit 2; }

rm -rf "$DEMO_DIR"; mkdir -p "$DEMO_DIR/repo"
if [ -n "${SB_PACKAGED:-}" ]; then
	step "using the installed package: $(dpkg-query -W -f '${Package} ${Version}' "postgresql-$PG_VERSION-pg-safebackup")"
	cli=/usr/bin/pg_safebackup
	"$cli" --version
else
	step "installing dependencies"
	[ -n "${SB_SKIP_DEPS:-}" ] || "$src/scripts/install-deps.sh" >/dev/null

	step "building and installing pg_safebackup"
	build=$DEMO_DIR/build
	mkdir -p "$build"
	(cd "$src" && tar --exclude=.git --exclude='*.o' --exclude='*.so' -cf - .) | tar -xf - -C "$build"
	make -s -C "$build" PG_CONFIG=$bin/pg_config -j2
	make -s -C "$build" PG_CONFIG=$bin/pg_config install
fi
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
	pg_size_pretty(archived_bytes) AS archived, pg_size_pretty(stored_bytes) AS stored,
	pending_files, lag_bytes, lag_seconds
	FROM safebackup.archiving"
find "$DEMO_DIR/repo" -maxdepth 3 | sort | head -n 12
echo "..."

step "fetching $seg back with pg_safebackup archive-get"
if [ -f "$DEMO_DIR/data/pg_wal/$seg" ]; then
	as_pg "$cli" archive-get "$seg" "$DEMO_DIR/$seg" --repo-path="$DEMO_DIR/repo"
	cmp "$DEMO_DIR/data/pg_wal/$seg" "$DEMO_DIR/$seg" && echo "identical to pg_wal/$seg"
	sha256sum "$DEMO_DIR/$seg"
else
	as_pg "$cli" archive-get "$seg" "$DEMO_DIR/$seg" --repo-path="$DEMO_DIR/repo"
	echo "fetched and checksum-verified (pg_wal/$seg was already recycled)"
fi

step "taking a base backup: SELECT safebackup.safebackup_start(wait => true)"
label=$(psql_demo -Atc "SELECT safebackup.safebackup_start(wait => true)")
psql_demo -c "SELECT label, status, start_lsn, stop_lsn, pg_size_pretty(database_size) AS size,
	pg_size_pretty(stored_size) AS stored, file_count FROM safebackup.backups"

step "changes after the backup: 100 orders, then (at a noted time) 50 more"
psql_demo -q -c "CREATE TABLE orders (id int PRIMARY KEY, note text)"
psql_demo -q -c "INSERT INTO orders SELECT g, 'before' FROM generate_series(1, 100) g"
sleep 1
target=$(psql_demo -Atc "SELECT now()")
sleep 1
psql_demo -q -c "INSERT INTO orders SELECT g, 'after' FROM generate_series(101, 150) g"
echo "now: $(psql_demo -Atc "SELECT count(*) FROM orders") orders; restoring to $target, when there were 100"
seg=$(psql_demo -Atc "SELECT pg_walfile_name(pg_current_wal_insert_lsn() + 1)")
psql_demo -qAtc "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 100); do
	[ "$(psql_demo -Atc "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")" = t ] && break
	sleep 0.2
done

step "pg_safebackup info"
as_pg "$cli" info --repo-path="$DEMO_DIR/repo"

step "pg_safebackup restore --target-time='$target'"
as_pg "$cli" restore --repo-path="$DEMO_DIR/repo" \
	--target-dir="$DEMO_DIR/restored" --target-time="$target" --target-action=promote
tail -n 4 "$DEMO_DIR/restored/postgresql.auto.conf"
cat >> "$DEMO_DIR/restored/postgresql.conf" <<CONF
port = $((PORT + 1))
archive_mode = off
CONF
as_pg "$bin/pg_ctl" -D "$DEMO_DIR/restored" -l "$DEMO_DIR/restored.log" -w start >/dev/null
trap '[ -n "${KEEP:-}" ] || { as_pg "$bin/pg_ctl" -D "$DEMO_DIR/restored" -m fast -w stop >/dev/null; as_pg "$bin/pg_ctl" -D "$DEMO_DIR/data" -m fast -w stop >/dev/null; }' EXIT
for _ in $(seq 100); do
	[ "$(as_pg "$bin/psql" -X -h "$DEMO_DIR" -p $((PORT + 1)) -d postgres -Atc "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ] && break
	sleep 0.2
done
as_pg "$bin/psql" -X -h "$DEMO_DIR" -p $((PORT + 1)) -d postgres \
	-c "SELECT note, count(*) FROM orders GROUP BY note ORDER BY note"
echo "the restored cluster has the 100 orders of $target, not the 50 made after it"

step "done"
echo "repository: $DEMO_DIR/repo   server log: $DEMO_DIR/server.log   restored: $DEMO_DIR/restored"
