#!/usr/bin/env bash
# Build, install and test pg_safebackup against one PostgreSQL version:
# unit tests of the shared core, then pg_regress and TAP tests, run as an
# unprivileged user.  Run as root; PG_CONFIG selects the version.
#
#   PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config scripts/run-suite.sh
#
# The tree is copied to a scratch directory owned by the test user, so the
# checkout is never modified.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
TEST_USER=${TEST_USER:-postgres}
version=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
work=${SB_WORK_DIR:-/tmp/pg_safebackup-test-$version}

echo "=== pg_safebackup test suite, PostgreSQL $version ($PG_CONFIG)"

# One suite per PostgreSQL installation at a time: "make install" replaces the
# installed module, so concurrent runs from several checkouts would mix builds.
exec 9>"/var/lock/pg_safebackup-suite-$version-$(realpath "$(command -v "$PG_CONFIG")" | md5sum | cut -c1-8).lock"
flock 9

if ! id "$TEST_USER" >/dev/null 2>&1; then
	useradd --system --create-home "$TEST_USER"
fi

rm -rf "$work"
mkdir -p "$work"
(cd "$src" && tar --exclude=.git --exclude='*.o' --exclude='*.so' \
	--exclude=tmp_check --exclude=results --exclude=log -cf - .) | (cd "$work" && tar -xf -)
chown -R "$TEST_USER" "$work"

as_user() { runuser -u "$TEST_USER" -- env PG_CONFIG="$PG_CONFIG" SB_SFTP_HARNESS="${SB_SFTP_HARNESS:-}" SB_S3_HARNESS="${SB_S3_HARNESS:-}" SB_S3_POSIX_HARNESS="${SB_S3_POSIX_HARNESS:-}" "$@"; }

cd "$work"
as_user make -s -j2 PG_CONFIG="$PG_CONFIG" PG_CFLAGS_EXTRA=-Werror all
make -s PG_CONFIG="$PG_CONFIG" install

status=0
echo "=== unit tests (PostgreSQL $version build)"
as_user make -s PG_CONFIG="$PG_CONFIG" check-unit || status=1

echo "=== SFTP storage driver tests (real sshd, chrooted internal-sftp account)"
harness="$work/sftp-harness"
watcher=
if as_user make -s PG_CONFIG="$PG_CONFIG" tests/unit/test_sftp &&
	TEST_USER="$TEST_USER" tests/sftp/sshd-harness.sh start "$harness" >/dev/null; then
	# shellcheck disable=SC2046
	as_user env $(cat "$harness/env") ./tests/unit/test_sftp || status=1
	# the TAP tests use the same sshd, and ask the watcher to restart it
	TEST_USER="$TEST_USER" tests/sftp/sshd-harness.sh watch "$harness" &
	watcher=$!
	export SB_SFTP_HARNESS="$harness"
else
	echo "could not build the SFTP test or start its sshd"
	status=1
fi

# The S3 gateway: Ceph's radosgw from its cached root (scripts/rgw-start.sh
# prepare makes it; scripts/test.sh does that; scripts/pg-root.sh mounts it
# into the PostgreSQL 17/18 roots).  Without it the S3 tests say they are
# skipped.
echo "=== S3 storage driver tests (Ceph RADOS Gateway, throwaway CA)"
rgw_harness="$work/rgw-harness"
rgw_posix_harness="$work/rgw-harness-posix"
rgw_watcher=
if [ ! -x "${SB_RGW_ROOT:-/var/cache/pg_safebackup/rgw-root}/usr/bin/radosgw" ]; then
	echo "no radosgw root (run scripts/rgw-start.sh prepare): S3 tests skipped"
elif as_user make -s PG_CONFIG="$PG_CONFIG" tests/unit/test_s3 &&
	TEST_USER="$TEST_USER" scripts/rgw-start.sh start "$rgw_harness" >/dev/null; then
	# shellcheck disable=SC2046
	as_user env $(cat "$rgw_harness/env") ./tests/unit/test_s3 || status=1
	# the TAP test asks the watcher to kill and start the gateway
	TEST_USER="$TEST_USER" scripts/rgw-start.sh watch "$rgw_harness" &
	rgw_watcher=$!
	export SB_S3_HARNESS="$rgw_harness"
	# a second gateway with the "posix" backend, which returns multipart
	# objects intact, for t/026_s3_multipart.pl
	if SB_RGW_BACKEND=posix TEST_USER="$TEST_USER" \
		scripts/rgw-start.sh start "$rgw_posix_harness" >/dev/null; then
		export SB_S3_POSIX_HARNESS="$rgw_posix_harness"
	else
		echo "could not start the gateway with the posix backend"
		status=1
	fi
else
	echo "could not build the S3 test or start the gateway"
	status=1
fi

stop_harness()
{
	tests/sftp/sshd-harness.sh stop "$harness" >/dev/null 2>&1 || true
	[ -n "$watcher" ] && wait "$watcher" 2>/dev/null || true
	scripts/rgw-start.sh stop "$rgw_harness" >/dev/null 2>&1 || true
	scripts/rgw-start.sh stop "$rgw_posix_harness" >/dev/null 2>&1 || true
	[ -n "$rgw_watcher" ] && wait "$rgw_watcher" 2>/dev/null || true
}
trap stop_harness EXIT

echo "=== TLS storage driver tests (real pg_safebackup server, throwaway CA)"
as_user make -s PG_CONFIG="$PG_CONFIG" check-tls || status=1

# the unit tests and the TLS server test again, built with AddressSanitizer
# (leak checks on) and UndefinedBehaviorSanitizer in asan-build/ (~1 minute)
echo "=== sanitizer build (ASan + LSan + UBSan): unit tests and the TLS server"
as_user make -s -j2 PG_CONFIG="$PG_CONFIG" check-asan > asan.log 2>&1 ||
	{ status=1; grep -v '^20[0-9-]* [0-9:.]* UTC' asan.log | tail -n 60; }
grep -E '^[a-z0-9_]+: [0-9]+ passed' asan.log || true

# the server's request parser under libFuzzer, briefly (where clang exists)
if command -v clang >/dev/null 2>&1; then
	echo "=== fuzzing the repository server's request parser (${SB_FUZZ_SECONDS:-20} s)"
	as_user make -s PG_CONFIG="$PG_CONFIG" fuzz FUZZ_SECONDS="${SB_FUZZ_SECONDS:-20}" \
		> fuzz.log 2>&1 || { status=1; tail -n 40 fuzz.log; }
	grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' fuzz.log || true
fi

echo "=== pg_regress and TAP tests (PostgreSQL $version)"
if ! as_user make -k PG_CONFIG="$PG_CONFIG" installcheck; then
	status=1
	for f in regression.diffs tmp_check/log/*; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 60 "$f"; }
	done
fi

if [ $status -eq 0 ]; then
	echo "=== PostgreSQL $version: all tests passed"
else
	echo "=== PostgreSQL $version: FAILED"
fi
exit $status
