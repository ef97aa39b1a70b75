#!/usr/bin/env bash
# package-test.sh - build the Debian packages for one PostgreSQL version and
# prove them in a clean Debian root: install the .debs with apt (which pulls
# PostgreSQL and the libraries from the mirror, as on a user's machine), then
# run scripts/demo.sh against the installed package.  Run as root.
#
#   scripts/package-test.sh [VERSION]    15 (Debian 12, default), 17 (13) or 18 (sid)
#
# Both roots are cached by scripts/pg-root.sh under /var/cache/pg_safebackup/:
# SUITE-pkg-root (PostgreSQL VERSION and the packaging tools: the build) and
# SUITE-clean (minbase only; each run installs into a fresh copy of it).
# The .debs are left in $SB_PKG_OUT (default /tmp/pg_safebackup-packages-VERSION).
set -euo pipefail

here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
src=$(dirname "$here")
v=${1:-15}
case $v in
	15) suite=bookworm ;;
	17) suite=trixie ;;
	18) suite=sid ;;
	*) echo "package-test.sh: unsupported PostgreSQL version \"$v\" (15, 17 or 18)" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "package-test.sh: run as root" >&2; exit 2; }
out=${SB_PKG_OUT:-/tmp/pg_safebackup-packages-$v}
cache=/var/cache/pg_safebackup
build_root=$cache/$suite-pkg-root
log() { printf '[package-test %s] %s\n' "$v" "$*" >&2; }

log "build root: PostgreSQL $v and the packaging tools"
SB_ROOT_EXTRA="build-essential debhelper postgresql-server-dev-all help2man dpkg-dev" \
	"$here/pg-root.sh" prepare "$suite" "$v" "$build_root"

log "building the packages"
rm -f "$build_root"/build/*.deb
# debian/control lists the packages for the versions this root supports
SRC_DIR=$src "$here/pg-root.sh" run "$suite" "$v" "$build_root" -- sh -c \
	'pg_buildext updatecontrol &&
	 DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b >/build/dpkg-buildpackage.log 2>&1' ||
	{ tail -n 40 "$build_root/build/dpkg-buildpackage.log"; exit 1; }
rm -rf "$out"; mkdir -p "$out"
cp "$build_root"/build/*.deb "$out"/
rm -f "$out"/*-dbgsym_*.deb
ls -l "$out"

log "clean root"
"$here/pg-root.sh" prepare "$suite" none
work=$(mktemp -d /tmp/pg_safebackup-pkgtest.XXXXXX)
trap 'rm -rf --one-file-system "$work" "$work.lock"' EXIT
cp -a "$cache/$suite-clean" "$work/root"
# what the root sees as /build/pg_safebackup: the demo and the packages
mkdir -p "$work/stage/scripts" "$work/stage/debs"
cp "$src/scripts/demo.sh" "$work/stage/scripts/"
cp "$out"/*.deb "$work/stage/debs/"

log "installing the packages in a copy of the clean root and running the demo"
SRC_DIR=$work/stage SB_ROOT_NETWORK=1 "$here/pg-root.sh" run "$suite" none "$work/root" -- bash -ec "
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends ./debs/*.deb >/tmp/apt.log 2>&1 ||
		{ tail -n 30 /tmp/apt.log; exit 1; }
	echo '--- installed:'; dpkg-query -W 'postgresql-$v-pg-safebackup' pg-safebackup-server
	echo '--- /usr/bin/pg_safebackup ->' \$(readlink -f /usr/bin/pg_safebackup)
	test \"\$(readlink -f /usr/bin/pg_safebackup)\" = /usr/lib/postgresql/$v/bin/pg_safebackup
	test -s /usr/share/man/man1/pg_safebackup.1.gz
	grep -q '^ExecStart=/usr/bin/pg_safebackup server ' /lib/systemd/system/pg_safebackup-server.service
	getent passwd pgbackup >/dev/null
	SB_PACKAGED=1 PG_VERSION=$v scripts/demo.sh"
log "passed"
