#!/usr/bin/env bash
# pg18-root.sh - PostgreSQL 18 in the cached Debian sid root: the earlier
# name of "scripts/pg-root.sh ... sid 18", kept for existing callers.
#
#   scripts/pg18-root.sh prepare [ROOT]         create the sid root, or reuse it
#   scripts/pg18-root.sh run [ROOT] -- CMD...   run CMD in ROOT, cwd /build/pg_safebackup
#
# ROOT defaults to ${PG18_ROOT:-/var/cache/pg_safebackup/sid-root}; PG18_MIRROR
# is SB_MIRROR of scripts/pg-root.sh.
set -euo pipefail

here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
cmd=${1:-}; shift || true
[[ -z ${PG18_MIRROR:-} ]] || export SB_MIRROR=$PG18_MIRROR
case $cmd in
  prepare)
    exec "$here/pg-root.sh" prepare sid 18 "${1:-${PG18_ROOT:-/var/cache/pg_safebackup/sid-root}}" ;;
  run)
    root=${PG18_ROOT:-/var/cache/pg_safebackup/sid-root}
    if (($#)) && [[ $1 != -- ]]; then root=$1; shift; fi
    exec "$here/pg-root.sh" run sid 18 "$root" "$@" ;;
  *)
    sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
