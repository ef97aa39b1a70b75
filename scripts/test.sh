#!/usr/bin/env bash
# The test command: install dependencies, then build, install and run every
# test (unit, pg_regress, TAP) against PostgreSQL 15 (Debian 12) and
# PostgreSQL 18 (in a cached Debian sid root).  Run as root on Debian 12:
#
#   sudo scripts/test.sh            # both versions
#   sudo scripts/test.sh 15         # one version
#
# Exits non-zero when any test fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(15 18)

if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: run as root (it installs packages; tests run as user postgres)" >&2
	exit 2
fi

start=$(date +%s)
if [ -z "${SB_SKIP_DEPS:-}" ]; then
	"$here/install-deps.sh"
fi

declare -A result
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
		18)
			if "$here/pg18-root.sh" prepare &&
				"$here/pg18-root.sh" run -- env PG_CONFIG=/usr/lib/postgresql/18/bin/pg_config \
					scripts/run-suite.sh; then
				result[$v]=passed
			else
				result[$v]=FAILED; overall=1
			fi
			;;
		*)
			echo "test.sh: unsupported PostgreSQL version \"$v\" (use 15 or 18)" >&2
			exit 2
			;;
	esac
	echo "=== PostgreSQL $v: ${result[$v]} in $(( $(date +%s) - t0 )) s"
done

echo
echo "=== summary ($(( $(date +%s) - start )) s)"
for v in "${versions[@]}"; do
	echo "PostgreSQL $v: ${result[$v]}"
done
exit $overall
