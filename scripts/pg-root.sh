#!/usr/bin/env bash
# pg-root.sh - build and test pg_safebackup against a PostgreSQL version that
# Debian 12 does not ship (17 from Debian 13 "trixie", 18 from sid).  It keeps
# a cached debootstrap root per suite with that PostgreSQL and the build
# dependencies, and runs commands in it on a fresh copy of the source tree.
#
#   scripts/pg-root.sh prepare SUITE VERSION [ROOT]        create the root, or reuse it
#   scripts/pg-root.sh run SUITE VERSION [ROOT] -- CMD...  run CMD in ROOT, cwd /build/pg_safebackup
#
# VERSION "none" makes a clean root: minbase and ca-certificates, nothing else
# (scripts/package-test.sh installs a built .deb into a copy of it); VERSION
# "rgw" one with Ceph's RADOS Gateway (scripts/rgw-start.sh runs it from there).
# ROOT defaults to /var/cache/pg_safebackup/SUITE-root (SUITE-clean for "none",
# rgw-root for "rgw").  "run" in a PostgreSQL root also mounts the rgw root,
# when it exists, at its own path, so the suite there starts the S3 gateway.
# Environment: SB_MIRROR    Debian mirror (default: the host's apt sources)
#              SB_ROOT_EXTRA  more packages for the root (e.g. packaging tools)
#              SRC_DIR      tree to copy (default: the repo containing scripts/)
# Must be run as root. It runs in its own mount and PID namespaces: mounts
# never reach the host, and processes that CMD leaves behind (a postmaster,
# say) are killed when it exits or gets SIGINT/SIGTERM.  "run" also gets its
# own network namespace with only a loopback interface, so the ports of its
# tests never collide with the host's or another root's (two versions' suites
# can run at once); SB_ROOT_NETWORK=1 keeps the host's network for a CMD that
# needs it (apt-get).
#
# Example:
#   scripts/pg-root.sh prepare trixie 17
#   scripts/pg-root.sh run trixie 17 -- sh -c 'make && make install &&
#       runuser -u postgres -- make installcheck'
set -euo pipefail

VERSION=1   # of the root's layout: a change re-runs the package installation
# what the suite needs with PostgreSQL $1 (in the order pg18-root.sh had: the
# stamp of a cached sid root records the list, so the same list keeps it current)
pg_packages() {
  echo "postgresql-$1 postgresql-server-dev-$1 postgresql-client-$1" \
    libssh2-1-dev libssl-dev zlib1g-dev liblz4-dev libzstd-dev libsystemd-dev libxxhash-dev liburing-dev lz4 zstd xxhash libipc-run-perl make gcc \
    openssh-server openssh-client perl ca-certificates procps libcurl4-openssl-dev curl libjson-c-dev
}
CLEAN_PACKAGES=(ca-certificates)   # VERSION "none": a clean root
RGW_PACKAGES=(ca-certificates radosgw procps)   # VERSION "rgw": the S3 test gateway
RGW_ROOT=/var/cache/pg_safebackup/rgw-root
STAMP=etc/pg_safebackup-root.stamp          # in ROOT: set up and current
BOOTSTRAPPED=etc/pg_safebackup-bootstrapped # in ROOT: debootstrap finished
BUILD_DIR=/build/pg_safebackup
PASSENV=(TERM CI PROVE_FLAGS PROVE_TESTS PG_TEST_EXTRA PG_TEST_TIMEOUT_DEFAULT)
SCRIPT=$(realpath "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT")

log() { printf '[pg-root %s] %s\n' "${SUITE:-}" "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,28s/^# \{0,1\}//p' "$SCRIPT" >&2; exit 2; }

# step NAME CMD...: run CMD and report how long it took; returns CMD's status.
step() {
  local name=$1 t0=${EPOCHREALTIME/[.,]/} rc=0 us; shift
  log "$name ..."
  "$@" || rc=$?
  us=$(( ${EPOCHREALTIME/[.,]/} - t0 ))
  log "$(printf '%s: %d.%ds (exit %d)' "$name" $((us / 1000000)) $((us % 1000000 / 100000)) "$rc")"
  return "$rc"
}

# The Debian mirror: SB_MIRROR, else the first archive (not -security) of
# the host's apt sources, one-line or deb822 format; no built-in default.
mirror() {
  local m
  if [[ -n ${SB_MIRROR:-} ]]; then echo "$SB_MIRROR"; return; fi
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z+]+:[^[:space:]]+).*/\2/p'
      cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        sed -nE 's/^URIs:[[:space:]]*//p' | tr ' ' '\n')
  m=$(grep -E '^https?://' <<<"$m" | grep -v -- '-security' | head -n1) || true
  [[ -n $m ]] || die "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/ (*.list, *.sources); add one there or set SB_MIRROR=URL"
  echo "${m%/}"
}
# apt refuses a Release file past its Valid-Until date: right, except for a
# dated snapshot archive, whose Release files expire by design: a mirror URL
# with a path element like 20250101T000000Z, or the host's own mirror when the
# host's apt configuration turns the check off (the host knows its mirror).
valid_until_off() { # valid_until_off URL
  local cvu='' host
  [[ $1 =~ /[0-9]{8}T[0-9]{6}Z ]] && return 0
  host=$(SB_MIRROR='' mirror 2>/dev/null) || return 1
  eval "$(apt-config shell cvu Acquire::Check-Valid-Until 2>/dev/null)" || true
  [[ ${1%/} == "$host" && ${cvu,,} =~ ^(false|no|off|0)$ ]]
}
# Keep ROOT's apt configuration in line with the rule above, for the mirror
# its sources.list (written by debootstrap) names.
VALID_UNTIL_CONF=etc/apt/apt.conf.d/50pg-safebackup-valid-until
sync_valid_until() { # sync_valid_until ROOT
  local root=$1 url
  [[ -f $root/etc/apt/sources.list ]] || return 0
  url=$(awk '$1 == "deb" { print $2; exit }' "$root/etc/apt/sources.list")
  if [[ -n $url ]] && valid_until_off "$url"; then
    [[ -f $root/$VALID_UNTIL_CONF ]] ||
      printf '// a dated snapshot mirror (scripts/pg-root.sh)\nAcquire::Check-Valid-Until "false";\n' \
        > "$root/$VALID_UNTIL_CONF"
  else
    rm -f "$root/$VALID_UNTIL_CONF"
  fi
}

# --- mounts ---------------------------------------------------------------
MOUNTED=()
mnt() { # mnt TARGET MOUNT-ARGS...
  local target=$1; shift
  mkdir -p "$target"
  mount "$@" "$target"
  MOUNTED+=("$target")
}
mount_all() {
  local r=$1
  mnt "$r/proc" -t proc proc
  mnt "$r/sys" -t sysfs -o ro,nosuid,nodev,noexec sysfs
  mnt "$r/dev" --bind /dev
  mnt "$r/dev/pts" --bind /dev/pts
  mnt "$r/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm
}
umount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" || true
  done
  MOUNTED=()
}
# Anything still mounted below ROOT (e.g. left by an older, killed tool).
umount_stale() {
  local m
  awk -v r="$1/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m"; done
  if awk -v r="$1/" 'index($2, r) == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
    die "mounts remain below $1; refusing to touch it"
  fi
}

# in_root ROOT [--cwd DIR] CMD...: run CMD in the chroot with a clean env.
in_root() {
  local root=$1 cwd=/ v; shift
  if [[ $1 == --cwd ]]; then cwd=$2; shift 2; fi
  local env=(HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
    "PATH=$PG_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  [[ $PGV == none || $PGV == rgw ]] || env+=("PG_CONFIG=$PG_BIN/pg_config")
  for v in "${PASSENV[@]}"; do [[ -v $v ]] && env+=("$v=${!v}"); done
  chroot "$root" /usr/bin/env -i -C "$cwd" "${env[@]}" "$@"
}

# --- prepare --------------------------------------------------------------
do_prepare() {
  local root=$1 want mirror
  want=$(printf 'version=%s\npackages=%s' "$VERSION" "${PACKAGES[*]}")
  # one prepare or run per root at a time (runs of others share the root);
  # on a new machine the cache directory holding root and lock is made here
  mkdir -p "$(dirname "$root")"
  exec 8>"$root.lock"
  flock 8
  sync_valid_until "$root"
  if [[ -f $root/$STAMP && $(<"$root/$STAMP") == "$want" ]] &&
     [[ $PGV == none || $PGV == rgw || -x $root$PG_BIN/pg_config ]]; then
    log "root is current: $root"
    return 0
  fi
  mirror=$(mirror)
  [[ ! -e $root ]] || umount_stale "$root"
  if [[ ! -f $root/$BOOTSTRAPPED ]]; then
    if [[ -e $root ]]; then
      log "removing incomplete root $root"
      rm -rf --one-file-system "$root"
    fi
    mkdir -p "$(dirname "$root")"
    step "debootstrap $SUITE from $mirror" \
      debootstrap --variant=minbase "$SUITE" "$root" "$mirror"
    touch "$root/$BOOTSTRAPPED"
    sync_valid_until "$root"
  fi
  rm -f "$root/$STAMP"
  # Packages must not start services; no "main" cluster (tests make their own).
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mkdir -p "$root/etc/postgresql-common/createcluster.d"
  echo 'create_main_cluster = false' \
    > "$root/etc/postgresql-common/createcluster.d/pg_safebackup.conf"
  cp -L --remove-destination /etc/resolv.conf "$root/etc/resolv.conf"
  mount_all "$root"
  step "apt-get update" in_root "$root" apt-get update
  in_root "$root" dpkg --configure -a   # finish an install that was killed
  step "apt-get install (${#PACKAGES[@]} packages)" in_root "$root" \
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"
  in_root "$root" apt-get clean
  umount_all
  [[ $PGV == none || $PGV == rgw || -x $root$PG_BIN/pg_config ]] ||
    die "no $PG_BIN/pg_config after install"
  printf '%s\n' "$want" > "$root/$STAMP"
  log "root ready: $root"
}

# --- run ------------------------------------------------------------------
copy_tree() { # copy_tree SRC DST: without VCS data and build outputs
  tar -C "$1" -cf - --exclude=./.git --exclude='*.o' --exclude='*.so' \
      --exclude='*.bc' --exclude='tmp_check*' --exclude=./results \
      --exclude=./log --exclude='./regression.*' . | tar -C "$2" -xf -
}

do_run() {
  local root=$1 src rc=0; shift
  (($#)) || usage
  [[ -f $root/$STAMP ]] || die "$root is not prepared; run: $0 prepare $root"
  src=${SRC_DIR:-$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null ||
                   dirname "$SCRIPT_DIR")}
  [[ -d $src ]] || die "source tree $src not found"
  # one run per root at a time: the build directory inside it is shared
  exec 8>"$root.lock"
  flock 8
  umount_stale "$root"
  rm -rf --one-file-system "$root$BUILD_DIR"
  mkdir -p "$root$BUILD_DIR"
  step "copy $src -> $root$BUILD_DIR" copy_tree "$src" "$root$BUILD_DIR"
  in_root "$root" id -u postgres >/dev/null 2>&1 ||
    in_root "$root" useradd --system --user-group --home-dir /var/lib/postgresql \
      --shell /bin/bash postgres
  in_root "$root" chown -R postgres:postgres "$(dirname "$BUILD_DIR")"
  mount_all "$root"
  # the S3 tests' gateway runs from its own root (scripts/rgw-start.sh):
  # at the same path in here, so a suite in this root starts it as on the host
  if [[ $PGV != none && $PGV != rgw && -x $RGW_ROOT/usr/bin/radosgw ]]; then
    mnt "$root$RGW_ROOT" --bind "$RGW_ROOT"
  fi
  step "run: $*" in_root "$root" --cwd "$BUILD_DIR" "$@" || rc=$?
  umount_all
  return "$rc"
}

# --- main -----------------------------------------------------------------
[[ $EUID -eq 0 ]] || die "must be run as root"
if [[ ${SB_ROOT_IN_NS:-} != 1 ]]; then
  # unshare --fork ignores SIGINT/SIGTERM; on either, kill it: --kill-child
  # takes down the namespace's init (the inner copy of this script), then
  # the kernel kills everything left in the namespace and drops its mounts.
  ns_opts=(--mount --propagation private --pid --fork --kill-child)
  if [[ ${1:-} == run && ${SB_ROOT_NETWORK:-} != 1 ]]; then
    ns_opts+=(--net)
    export SB_ROOT_PRIVATE_NET=1
  fi
  SB_ROOT_IN_NS=1 unshare "${ns_opts[@]}" -- bash "$SCRIPT" "$@" <&0 &
  ns=$!
  trap 'kill -KILL "$ns" 2>/dev/null' INT TERM
  wait "$ns" && exit 0 || rc=$?
  while kill -0 "$ns" 2>/dev/null; do wait "$ns" && rc=0 || rc=$?; done
  exit "$rc"
fi
trap umount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(($# >= 3)) || usage
cmd=$1 SUITE=$2 PGV=$3; shift 3
[[ $SUITE =~ ^[a-z]+$ ]] || die "bad suite name \"$SUITE\""
if [[ $PGV == none ]]; then
  PG_BIN=/nonexistent
  PACKAGES=("${CLEAN_PACKAGES[@]}")
  root=/var/cache/pg_safebackup/$SUITE-clean
elif [[ $PGV == rgw ]]; then
  PG_BIN=/nonexistent
  PACKAGES=("${RGW_PACKAGES[@]}")
  root=$RGW_ROOT
else
  [[ $PGV =~ ^[0-9]+$ ]] || die "bad PostgreSQL version \"$PGV\""
  PG_BIN=/usr/lib/postgresql/$PGV/bin
  read -ra PACKAGES <<<"$(pg_packages "$PGV") ${SB_ROOT_EXTRA:-}"
  root=/var/cache/pg_safebackup/$SUITE-root
fi
case $cmd in
  prepare)
    (($# <= 1)) || usage
    do_prepare "$(realpath -m "${1:-$root}")" ;;
  run)
    if (($#)) && [[ $1 != -- ]]; then root=$1; shift; fi
    [[ ${1:-} == -- ]] || usage
    shift
    if [[ ${SB_ROOT_PRIVATE_NET:-} == 1 ]]; then
      ip link set lo up || die "could not bring up the loopback interface of the private network namespace"
    fi
    do_run "$(realpath -m "$root")" "$@" ;;
  *) usage ;;
esac
