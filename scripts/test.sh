#!/usr/bin/env bash
# The test command: install dependencies, then build, install and run every
# test (unit, pg_regress, TAP) against PostgreSQL 15 (Debian 12), 17 (in a
# cached Debian 13 root) and 18 (in a cached Debian sid root; both made by
# scripts/pg-root.sh).  Run as root on Debian 12 (no sudo needed):
#
#   scripts/test.sh               # 15, 17, 18 and the package test
#   scripts/test.sh 15 18         # some versions
#   scripts/test.sh package       # scripts/package-test.sh 15: the .debs
#                                 # installed in a clean root, the demo there
#
# 17 and 18 run in the background beside 15 (SB_SERIAL=1: one after the
# other).  The S3 tests of the 15 suite need Ceph's radosgw, which runs from
# a cached Debian sid root that this makes first (scripts/rgw-start.sh
# prepare; SB_SKIP_RGW=1 skips it, and the S3 tests then say so).  SB_PG15_CONFIG picks another PostgreSQL 15 installation than
# /usr/lib/postgresql/15 for 15.  Prints each version's time; exits non-zero
# when any test fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(15 17 18 package)

if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: run as root (it installs packages; tests run as user postgres)" >&2
	exit 2
fi

name() { if [ "$1" = package ]; then echo "Debian packages"; else echo "PostgreSQL $1"; fi; }

start=$(date +%s)
if [ -z "${SB_SKIP_DEPS:-}" ]; then
	"$here/install-deps.sh"
fi

# the S3 tests' gateway (Ceph radosgw from Debian sid) in its cached root;
# without it the S3 tests are skipped, and the run fails unless
# SB_SKIP_RGW=1 asked for that
rgw_failed=0
if [ -z "${SB_SKIP_RGW:-}" ]; then
	if ! "$here/rgw-start.sh" prepare; then
		echo "=== could not prepare the radosgw root: the S3 tests are skipped and the run fails (SB_SKIP_RGW=1 skips them on purpose)"
		rgw_failed=1
	fi
fi

# run_one ITEM: one version's suite (or the package test); its exit status
run_one() {
	case "$1" in
		15)
			PG_CONFIG=${SB_PG15_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} "$here/run-suite.sh" ;;
		17 | 18)
			local suite=trixie
			[ "$1" = 18 ] && suite=sid
			"$here/pg-root.sh" prepare $suite "$1" &&
				"$here/pg-root.sh" run $suite "$1" -- \
					env PG_CONFIG="/usr/lib/postgresql/$1/bin/pg_config" scripts/run-suite.sh ;;
		package)
			"$here/package-test.sh" 15 ;;
	esac
}
for v in "${versions[@]}"; do
	case "$v" in
		15 | 17 | 18 | package) ;;
		*)
			echo "test.sh: unsupported PostgreSQL version \"$v\" (use 15, 17, 18 or package)" >&2
			exit 2 ;;
	esac
done

# 17 and 18 run in the background, beside 15 and the package test: their
# roots have network namespaces of their own (no port collides), and the TAP
# tests mostly wait, so this takes about half the time on 2 cores.
# SB_SERIAL=1 runs one after the other.
logs=$(mktemp -d /tmp/pg_safebackup-test-logs.XXXXXX)
declare -A result secs pid
overall=0
timed() { # timed ITEM: run_one ITEM; write its status and seconds to $logs
	local t0=$SECONDS rc=0
	run_one "$1" || rc=$?
	echo "$rc $((SECONDS - t0))" > "$logs/$1.rc"
	return $rc
}
for v in "${versions[@]}"; do
	if [ -z "${SB_SERIAL:-}" ] && { [ "$v" = 17 ] || [ "$v" = 18 ]; }; then
		echo "=== $(name "$v"): started in the background (log: $logs/$v.log)"
		timed "$v" > "$logs/$v.log" 2>&1 &
		pid[$v]=$!
	fi
done
for v in "${versions[@]}"; do
	if [ -n "${pid[$v]:-}" ]; then
		continue
	fi
	timed "$v" || true
	read -r rc "secs[$v]" < "$logs/$v.rc"
	echo "=== $(name "$v"): $([ "$rc" = 0 ] && echo passed || echo FAILED) in ${secs[$v]} s"
done
for v in "${versions[@]}"; do
	[ -n "${pid[$v]:-}" ] || continue
	wait "${pid[$v]}" || true
	echo
	echo "=== $(name "$v") (ran in the background):"
	cat "$logs/$v.log"
done
for v in "${versions[@]}"; do
	rc=1; secs[$v]='?'
	[ -f "$logs/$v.rc" ] && read -r rc "secs[$v]" < "$logs/$v.rc"
	if [ "$rc" = 0 ]; then result[$v]=passed; else result[$v]=FAILED; overall=1; fi
done

echo
echo "=== summary ($(( $(date +%s) - start )) s)"
for v in "${versions[@]}"; do
	echo "$(name "$v"): ${result[$v]} (${secs[$v]} s)"
done
if [ "$rgw_failed" = 1 ]; then
	echo "radosgw root: FAILED to prepare (the S3 tests did not run)"
	overall=1
fi
rm -rf "$logs"
exit $overall
