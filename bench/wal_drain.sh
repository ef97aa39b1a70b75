#!/usr/bin/env bash
# Benchmark: how fast the archive module drains a WAL backlog.  64 segments
# of pgbench WAL are produced while archiving has no repository (so they
# queue in pg_wal), then safebackup.repo_path is set and we time how long the
# archiver takes to store all of them.  Run as root after "make install":
#
#   bench/wal_drain.sh [SEGMENTS] [COMPRESS_LEVEL]      (default 64, 1)
#
# REPO_TYPE=posix (default) stores into a local directory; REPO_TYPE=sftp
# starts a private sshd on 127.0.0.1 (tests/sftp/sshd-harness.sh, chrooted
# internal-sftp account) and drains into it; REPO_TYPE="posix sftp" runs
# both on the same backlog size, one after the other.  REPO_TYPE=tls starts
# "pg_safebackup server" on 127.0.0.1 with a throwaway CA
# (tests/tls/make-certs.sh) and drains through it; REPO_TYPE="posix tls"
# prints both figures.
#
# PUSH_WORKERS sets safebackup.archive_push_workers (default: the setting's
# default, 2); PUSH_WORKERS="0 2" drains once with each, one after the
# other, so the figures for the archiver alone and with push-ahead workers
# come from the same run.
set -euo pipefail

NSEG=${1:-64}
LEVEL=${2:-1}
if [[ ${REPO_TYPE:-posix} == *" "* ]]; then
	for t in $REPO_TYPE; do REPO_TYPE=$t "$0" "$NSEG" "$LEVEL"; done
	exit 0
fi
REPO_TYPE=${REPO_TYPE:-posix}
if [[ ${PUSH_WORKERS:-} == *" "* ]]; then
	for w in $PUSH_WORKERS; do PUSH_WORKERS=$w "$0" "$NSEG" "$LEVEL"; done
	exit 0
fi
here=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bin=$("$PG_CONFIG" --bindir)
dir=${BENCH_DIR:-/tmp/sb-drain}
port=${BENCH_PORT:-54398}
tls_port=$((port + 1))
server_pid=
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"

rm -rf "$dir"; mkdir -p "$dir/repo"; chown -R postgres "$dir"
harness=$dir/sftp-harness
cleanup()
{
	as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	[ "$REPO_TYPE" = sftp ] && "$here/tests/sftp/sshd-harness.sh" stop "$harness" >/dev/null 2>&1
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
settings="safebackup.repo_path = '$dir/repo'"
if [ "$REPO_TYPE" = sftp ]; then
	"$here/tests/sftp/sshd-harness.sh" start "$harness" >/dev/null
	# shellcheck disable=SC1091
	. "$harness/env"
	settings="safebackup.repo_type = 'sftp'
safebackup.repo_path = '$SFTP_REPO'
safebackup.sftp_host = '$SFTP_HOST'
safebackup.sftp_port = $SFTP_PORT
safebackup.sftp_user = '$SFTP_USER'
safebackup.sftp_private_key_file = '$SFTP_KEY'
safebackup.sftp_known_hosts_file = '$SFTP_KNOWN_HOSTS'"
fi
if [ "$REPO_TYPE" = tls ]; then
	as_pg "$here/tests/tls/make-certs.sh" "$dir/pki" >/dev/null
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
	settings="safebackup.repo_type = 'tls'
safebackup.tls_host = '127.0.0.1'
safebackup.tls_port = $tls_port
safebackup.tls_cert_file = '$dir/pki/pg1.crt'
safebackup.tls_key_file = '$dir/pki/pg1.key'
safebackup.tls_ca_file = '$dir/pki/ca.crt'"
fi
as_pg "$bin/initdb" -D "$dir/data" -A trust >/dev/null
pg_conf_local "$dir/data"
cat >> "$dir/data/postgresql.conf" <<CONF
safebackup.compress_level = $LEVEL
safebackup.compress_type = ${COMPRESS_TYPE:-zlib}
max_wal_size = 8GB
${PUSH_WORKERS:+safebackup.archive_push_workers = $PUSH_WORKERS}
CONF
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null

# fill the backlog with pgbench data and updates (realistic, compressible
# about as well as production WAL), until NSEG segments are ready
ready() { psql_b -Atc "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'"; }
as_pg "$bin/pgbench" -q -i -s 10 -h "$dir" -p "$port" postgres >/dev/null 2>&1
while [ "$(ready)" -lt "$NSEG" ]; do
	psql_b -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 3 = 0"
done
n=$(ready)

# the repository settings, appended to the configuration while it drains
t=$(now)
printf '%s\n' "$settings" >> "$dir/data/postgresql.conf"
psql_b -c "SELECT pg_reload_conf()" >/dev/null
until [ "$(ready)" = 0 ]; do sleep 0.2; done
secs=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
if [ "$REPO_TYPE" = sftp ]; then
	stored=$(du -sm "$SFTP_BACKING" | cut -f1)
else
	stored=$(du -sm "$dir/repo" | cut -f1)
fi
workers=$(psql_b -Atc "SHOW safebackup.archive_push_workers")

# archive latency with the archiver idle: from pg_switch_wal() to
# pg_stat_archiver reporting that segment, 20 times, measured inside the
# server (1 ms steps)
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
lat=$(for _ in $(seq 20); do psql_b -Atc "SELECT archive_latency_ms()"; done | sort -n)
p50=$(echo "$lat" | sed -n 10p)
p95=$(echo "$lat" | sed -n 19p)
awk -v n="$n" -v s="$secs" -v st="$stored" -v l="$LEVEL" -v t="$REPO_TYPE" -v c="${COMPRESS_TYPE:-zlib}" -v w="$workers" \
	'BEGIN { printf "drained %d segments in %.2f s: %.1f segments/s (%s, %s level %d, %d push workers, %d MB stored)\n", n, s, n / s, t, c, l, w, st }'
printf '  archive latency over 20 switches: p50 %.0f ms, p95 %.0f ms\n' "$p50" "$p95"
