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
# Prints each version's time; exits non-zero when any test fails.
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

declare -A result secs
overall=0
for v in "${versions[@]}"; do
	t0=$(date +%s)
	case "$v" in
		15)
			if PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config "$here/run-suite.sh"; then
				result[$v]=passed
			else
				result[$v]=FAILED; overall=1
			fi
			;;
		17 | 18)
			suite=trixie; [ "$v" = 18 ] && suite=sid
			if "$here/pg-root.sh" prepare $suite "$v" &&
				"$here/pg-root.sh" run $suite "$v" -- env PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" \
					scripts/run-suite.sh; then
				result[$v]=passed
			else
				result[$v]=FAILED; overall=1
			fi
			;;
		package)
			if "$here/package-test.sh" 15; then
				result[$v]=passed
			else
				result[$v]=FAILED; overall=1
			fi
			;;
		*)
			echo "test.sh: unsupported PostgreSQL version \"$v\" (use 15, 17, 18 or package)" >&2
			exit 2
			;;
	esac
	secs[$v]=$(( $(date +%s) - t0 ))
	echo "=== $(name "$v"): ${result[$v]} in ${secs[$v]} s"
done

echo
echo "=== summary ($(( $(date +%s) - start )) s)"
for v in "${versions[@]}"; do
	echo "$(name "$v"): ${result[$v]} (${secs[$v]} s)"
done
exit $overall
