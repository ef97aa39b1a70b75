#!/usr/bin/env bash
#-------------------------------------------------------------------------
#
# rgw-start.sh
#		A private Ceph RADOS Gateway (radosgw) on loopback for the S3
#		repository tests: the real S3 server the driver is tested against.
#
#	scripts/rgw-start.sh prepare                 (as root) make the cached root
#	scripts/rgw-start.sh start|stop|restart|kill|watch DIR   (as root)
#
# Debian 12 has no radosgw that runs without a RADOS cluster; Debian sid's
# (Ceph 20) runs standalone with its "dbstore" backend (SQLite files), so
# the gateway runs from a cached sid root, ${SB_RGW_ROOT:-/var/cache/
# pg_safebackup/rgw-root}, that "prepare" makes with scripts/pg-root.sh
# (debootstrap --variant=minbase, the mirror of the host's apt sources).
#
# start makes, under DIR: a throwaway PKI (tests/tls/make-certs.sh: ca.crt,
# otherca-root.crt, and a gateway certificate for 127.0.0.1, localhost and
# BUCKET.localhost), a ceph.conf with its own data directory and pid file,
# (its SQLite data in /dev/shm, see DATA below), an S3 user with a random
# access key and secret, a bucket, a credentials
# file owned by TEST_USER (default postgres) with mode 0600; then it starts
# radosgw on a free port of 127.0.0.1 (HTTPS only) and writes DIR/env:
# S3_ENDPOINT (127.0.0.1:PORT, path style), S3_HOST_ENDPOINT (localhost:PORT,
# for virtual-host style), S3_BUCKET, S3_REGION, S3_ACCESS_KEY,
# S3_SECRET_KEY, S3_CREDENTIALS_FILE, S3_CA_FILE, S3_OTHER_CA_FILE and
# S3_MULTIPART_BROKEN and S3_RANGES_BROKEN; and DIR/safebackup.conf: the safebackup.* lines of a
# cluster archiving into the bucket (path style), for the benchmarks.
#
# Known faults of the standalone gateway in Ceph 20.2, which the driver
# and the tests work with: dbstore returns the wrong bytes for a multipart
# object (S3_MULTIPART_BROKEN=1: test_s3 checks such an object's upload and
# size, not its bytes) and for a byte range (S3_RANGES_BROKEN=1: the
# storage suite checks a ranged read's length, not its bytes; whole objects
# are read in one GET, streamed), and ignores If-None-Match (the driver
# looks first).  SB_RGW_BACKEND=posix adds the "posix" filter (objects as
# files under DIR/objects), which gets those three right but lists stale
# and doubled keys, so listings and removal go wrong, and answers a
# multipart upload of a key whose last part has a dot ("16418.zst") with
# the suffix as upload id ("zst"), which it then does not find: dbstore is
# the default, and t/026_s3_multipart.pl uses a posix gateway (started
# beside it by scripts/run-suite.sh) with keys without suffixes.
# The gateway runs in a mount namespace of its own: the root's mounts never
# reach the host, and nothing is left mounted when it exits.
#
# stop kills it (SIGTERM, then SIGKILL) by its pid file; kill kills it with
# SIGKILL at once; restart is kill then start again (same port, keys and
# data).  watch serves requests of the unprivileged test user until stop:
# creating DIR/control/kill, DIR/control/start or DIR/control/restart does
# that, DIR/control/freeze stops the gateway with SIGSTOP (connections
# hang) and DIR/control/thaw lets it go on; the request file disappears
# when it is done.
#
#-------------------------------------------------------------------------
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ROOT=${SB_RGW_ROOT:-/var/cache/pg_safebackup/rgw-root}
TEST_USER=${TEST_USER:-postgres}
BUCKET=${S3_TEST_BUCKET:-sbtest}
REGION=us-east-1

usage() { sed -n '8,9s/^#\t\{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "rgw-start.sh: $*" >&2; exit 1; }

free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
	while :; do
		p=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 40000 ))
		ss -ltn 2>/dev/null | grep -q ":$p " || { echo $p; return; }
	done
}

# in_root CMD...: CMD in the root, with DIR on /rgw and DATA on /rgw/data,
# in a private mount namespace
# (inside a chroot whose "/" is no mount point, as in the roots of
# scripts/pg-root.sh, the propagation cannot be changed; their namespace
# is private already)
in_root()
{
	local propagation=private
	mountpoint -q / || propagation=unchanged
	${IN_ROOT_EXEC:+exec} unshare --mount --propagation $propagation -- /bin/bash -c '
		root=$1 dir=$2 data=$3; shift 3
		mkdir -p "$root/rgw" "$root/proc" "$root/dev"
		mount --bind "$dir" "$root/rgw"
		mount --bind "$data" "$root/rgw/data"
		mount -t proc proc "$root/proc"
		mount --bind /dev "$root/dev"
		exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"' in_root "$ROOT" "$DIR" "$DATA" "$@"
}

running()
{
	[ -s "$DIR/radosgw.pid" ] && kill -0 "$(cat "$DIR/radosgw.pid")" 2>/dev/null
}

kill_rgw()	# kill_rgw SIGNAL
{
	local pid i=0
	[ -s "$DIR/radosgw.pid" ] || return 0
	pid=$(cat "$DIR/radosgw.pid")
	kill "-$1" "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
	rm -f "$DIR/radosgw.pid"
}

# an S3 request signed with the test user's key (curl's SigV4)
s3_curl()
{
	# shellcheck disable=SC1091
	. "$DIR/keys"
	curl -sS --cacert "$DIR/pki/ca.crt" --aws-sigv4 "aws:amz:$REGION:s3" \
		-u "$ACCESS_KEY:$SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

start_rgw()
{
	local port i=0
	port=$(cat "$DIR/port")
	: > "$DIR/radosgw.log"
	# in_root execs: its pid is radosgw's
	IN_ROOT_EXEC=1 in_root radosgw -f -c /rgw/ceph.conf -n client.rgw \
		>> "$DIR/radosgw.out" 2>&1 < /dev/null &
	echo $! > "$DIR/radosgw.pid"
	disown $!		# no "Killed" job notice when the tests kill it
	# answering HTTPS requests, with the pid file written
	until running && curl -s -o /dev/null --cacert "$DIR/pki/ca.crt" \
			"https://127.0.0.1:$port/"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { tail -n 20 "$DIR/radosgw.log" >&2; die "radosgw did not start (log: $DIR/radosgw.log)"; }
		sleep 0.1
	done
}

do_start()
{
	local port
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	[ -x "$ROOT/usr/bin/radosgw" ] || die "no radosgw in $ROOT; run: $0 prepare"
	command -v curl >/dev/null || die "the curl command is needed"
	running && kill_rgw TERM
	mkdir -p "$DIR/data" "$DIR/objects" "$DIR/posixdb" "$DIR/control" "$DATA"
	chmod 0755 "$DIR"
	chown "$TEST_USER" "$DIR/control"
	if [ ! -f "$DIR/pki/ca.crt" ]; then
		"$here/../tests/tls/make-certs.sh" "$DIR/pki" >/dev/null
		# the gateway's certificate: path and virtual-host style names
		(cd "$DIR/pki" && umask 077 &&
			openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rgw.key 2>/dev/null &&
			openssl req -new -key rgw.key -subj /CN=localhost -out rgw.csr 2>/dev/null &&
			printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,DNS:%s.localhost,IP:127.0.0.1\n' \
				"$BUCKET" > rgw.ext &&
			openssl x509 -req -in rgw.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
				-days 30 -extfile rgw.ext -out rgw.crt 2>/dev/null &&
			rm -f rgw.csr rgw.ext ca.srl && chmod 644 ./*.crt)
	fi
	[ -f "$DIR/port" ] || free_port > "$DIR/port"
	port=$(cat "$DIR/port")
	posix_conf=
	multipart_broken=1
	if [ "${SB_RGW_BACKEND:-dbstore}" = posix ]; then
		posix_conf=$'rgw_filter = posix\nrgw_posix_base_path = /rgw/objects\nrgw_posix_database_root = /rgw/posixdb'
		multipart_broken=0
	fi
	cat > "$DIR/ceph.conf" <<CONF
# private radosgw for the pg_safebackup S3 tests (generated)
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = /rgw
admin_socket =
log_to_stderr = false
err_to_stderr = true
log_file = /rgw/radosgw.log
[client]
rgw_backend_store = dbstore
rgw_config_store = dbstore
dbstore_db_dir = /rgw/data
dbstore_config_uri = file:///rgw/data/config.db
rgw_data = /rgw/data
rgw_frontends = beast ssl_endpoint=127.0.0.1:$port ssl_certificate=/rgw/pki/rgw.crt ssl_private_key=/rgw/pki/rgw.key tcp_nodelay=1
$posix_conf
rgw_dns_name = localhost
debug_rgw = 1
CONF
	if [ ! -f "$DIR/keys" ]; then
		printf 'ACCESS_KEY=SB%s\nSECRET_KEY=%s\n' \
			"$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)" \
			"$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" > "$DIR/keys"
		chmod 0600 "$DIR/keys"
	fi
	if [ ! -f "$DATA/config.db" ]; then
		# shellcheck disable=SC1091
		. "$DIR/keys"
		# radosgw-admin of Ceph 20 now and then stores the user, prints it
		# and then never exits (seen hanging in a futex at exit): give it 30
		# s and judge by what it printed, not by how it ended
		in_root timeout -k 5 30 radosgw-admin -c /rgw/ceph.conf -n client.rgw user create \
			--uid=sbtest --display-name="pg_safebackup tests" \
			--access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" > "$DIR/user.json" 2>&1 || true
		grep -q "\"access_key\": \"$ACCESS_KEY\"" "$DIR/user.json" ||
			{ cat "$DIR/user.json" >&2; die "radosgw-admin user create failed"; }
	fi
	start_rgw
	s3_curl -o /dev/null -X PUT "https://127.0.0.1:$port/$BUCKET" ||
		die "could not create bucket $BUCKET"

	# what the tests read
	# shellcheck disable=SC1091
	. "$DIR/keys"
	mkdir -p "$DIR/client"
	printf 'access_key_id = %s\nsecret_access_key = %s\n' "$ACCESS_KEY" "$SECRET_KEY" \
		> "$DIR/client/credentials"
	chown -R "$TEST_USER" "$DIR/client"
	chmod 0700 "$DIR/client"
	chmod 0600 "$DIR/client/credentials"
	cat > "$DIR/env" <<ENV
S3_ENDPOINT=127.0.0.1:$port
S3_HOST_ENDPOINT=localhost:$port
S3_BUCKET=$BUCKET
S3_REGION=$REGION
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_CREDENTIALS_FILE=$DIR/client/credentials
S3_CA_FILE=$DIR/pki/ca.crt
S3_OTHER_CA_FILE=$DIR/pki/otherca-root.crt
S3_MULTIPART_BROKEN=$multipart_broken
S3_RANGES_BROKEN=$multipart_broken
ENV
	chmod 0644 "$DIR/env"
	# the same as settings of a cluster that archives into the bucket
	cat > "$DIR/safebackup.conf" <<CONF
safebackup.repo_type = 's3'
safebackup.repo_path = '/'
safebackup.s3_endpoint = '127.0.0.1:$port'
safebackup.s3_bucket = '$BUCKET'
safebackup.s3_region = '$REGION'
safebackup.s3_uri_style = 'path'
safebackup.s3_credentials_file = '$DIR/client/credentials'
safebackup.s3_ca_file = '$DIR/pki/ca.crt'
CONF
	chmod 0644 "$DIR/safebackup.conf"
	echo "radosgw listening on https://127.0.0.1:$port (pid $(cat "$DIR/radosgw.pid")), settings in $DIR/env"
}

CMD=${1:-}
case "$CMD" in
	prepare)
		exec "$here/pg-root.sh" prepare sid rgw "$ROOT" ;;
	start | stop | restart | kill | watch) ;;
	*) usage ;;
esac
[ $# -eq 2 ] || usage
DIR=$2
case "$DIR" in
	/*) ;;
	*) DIR=$(pwd)/$DIR ;;
esac
# The gateway's SQLite files: in memory unless SB_RGW_DATA says otherwise.
# Each write of dbstore is a synchronous SQLite commit, ~40 ms on a busy
# disk; a test's thousand files would take minutes.  Kept across kill and
# start, removed by stop.
DATA=${SB_RGW_DATA:-/dev/shm/pg_safebackup-rgw-$(printf '%s' "$DIR" | md5sum | cut -c1-12)}

case "$CMD" in
	start)
		do_start ;;
	stop)
		rm -rf "$DIR/control"
		kill_rgw TERM
		rm -rf "$DATA" ;;
	kill)
		kill_rgw KILL ;;
	restart)
		kill_rgw KILL
		start_rgw ;;
	watch)
		while [ -d "$DIR/control" ]; do
			for req in kill start restart freeze thaw; do
				[ -e "$DIR/control/$req" ] || continue
				case $req in
					kill) kill_rgw KILL ;;
					start) running || start_rgw ;;
					restart) kill_rgw KILL; start_rgw ;;
					# a gateway that accepts connections but never answers
					freeze) kill -STOP "$(cat "$DIR/radosgw.pid")" 2>/dev/null || true ;;
					thaw) kill -CONT "$(cat "$DIR/radosgw.pid")" 2>/dev/null || true ;;
				esac
				rm -f "$DIR/control/$req"
			done
			sleep 0.1
		done ;;
esac
