#!/usr/bin/env bash
# pg18-root.sh - build and test pg_safebackup against PostgreSQL 18 on a
# bookworm host. PG18 is only packaged in Debian sid, so this keeps a cached
# sid chroot with PG18 and the build dependencies, and runs commands in it on
# a fresh copy of the source tree.
#
#   scripts/pg18-root.sh prepare [ROOT]         create the sid root, or reuse it
#   scripts/pg18-root.sh run [ROOT] -- CMD...   run CMD in ROOT, cwd /build/pg_safebackup
#
# ROOT defaults to ${PG18_ROOT:-/var/cache/pg_safebackup/sid-root}.
# Environment: PG18_MIRROR  Debian mirror (default: the host's apt sources)
#              SRC_DIR      tree to copy (default: the repo containing scripts/)
# Must be run as root. It runs in its own mount and PID namespaces: mounts
# never reach the host, and processes that CMD leaves behind (a postmaster,
# say) are killed when it exits or gets SIGINT/SIGTERM.
#
# Example:
#   scripts/pg18-root.sh run -- sh -c 'make && make install &&
#       runuser -u postgres -- make installcheck'
set -euo pipefail

VERSION=1
PG_BIN=/usr/lib/postgresql/18/bin
PACKAGES=(postgresql-18 postgresql-server-dev-18 postgresql-client-18
  libssh2-1-dev libssl-dev zlib1g-dev liblz4-dev libzstd-dev lz4 zstd libipc-run-perl make gcc
  openssh-server openssh-client perl ca-certificates procps)
STAMP=etc/pg_safebackup-root.stamp          # in ROOT: set up and current
BOOTSTRAPPED=etc/pg_safebackup-bootstrapped # in ROOT: debootstrap finished
BUILD_DIR=/build/pg_safebackup
PASSENV=(TERM CI PROVE_FLAGS PROVE_TESTS PG_TEST_EXTRA PG_TEST_TIMEOUT_DEFAULT)
SCRIPT=$(realpath "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT")

log() { printf '[pg18-root] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,19s/^# \{0,1\}//p' "$SCRIPT" >&2; exit 2; }

# step NAME CMD...: run CMD and report how long it took; returns CMD's status.
step() {
  local name=$1 t0=${EPOCHREALTIME/[.,]/} rc=0 us; shift
  log "$name ..."
  "$@" || rc=$?
  us=$(( ${EPOCHREALTIME/[.,]/} - t0 ))
  log "$(printf '%s: %d.%ds (exit %d)' "$name" $((us / 1000000)) $((us % 1000000 / 100000)) "$rc")"
  return "$rc"
}

# The plain Debian mirror from the host's apt sources (not -security).
mirror() {
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
          /etc/apt/sources.list.d/*.sources 2>/dev/null |
      grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' |
      head -n1 | tr -d ' ') || true
  echo "${PG18_MIRROR:-${m:-http://deb.debian.org/debian}}"
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
    "PATH=$PG_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "PG_CONFIG=$PG_BIN/pg_config")
  for v in "${PASSENV[@]}"; do [[ -v $v ]] && env+=("$v=${!v}"); done
  chroot "$root" /usr/bin/env -i -C "$cwd" "${env[@]}" "$@"
}

# --- prepare --------------------------------------------------------------
do_prepare() {
  local root=$1 want mirror
  want=$(printf 'version=%s\npackages=%s' "$VERSION" "${PACKAGES[*]}")
  if [[ -f $root/$STAMP && $(<"$root/$STAMP") == "$want" &&
        -x $root$PG_BIN/pg_config ]]; then
    log "sid root is current: $root"
    return 0
  fi
  [[ ! -e $root ]] || umount_stale "$root"
  if [[ ! -f $root/$BOOTSTRAPPED ]]; then
    if [[ -e $root ]]; then
      log "removing incomplete root $root"
      rm -rf --one-file-system "$root"
    fi
    mirror=$(mirror)
    mkdir -p "$(dirname "$root")"
    step "debootstrap sid from $mirror" \
      debootstrap --variant=minbase sid "$root" "$mirror"
    touch "$root/$BOOTSTRAPPED"
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
  step "apt-get update" in_root "$root" \
    apt-get -o Acquire::Check-Valid-Until=false update
  in_root "$root" dpkg --configure -a   # finish an install that was killed
  step "apt-get install (${#PACKAGES[@]} packages)" in_root "$root" \
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"
  in_root "$root" apt-get clean
  umount_all
  [[ -x $root$PG_BIN/pg_config ]] || die "no $PG_BIN/pg_config after install"
  printf '%s\n' "$want" > "$root/$STAMP"
  log "sid root ready: $root ($(in_root "$root" pg_config --version))"
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
  step "run: $*" in_root "$root" --cwd "$BUILD_DIR" "$@" || rc=$?
  umount_all
  return "$rc"
}

# --- main -----------------------------------------------------------------
[[ $EUID -eq 0 ]] || die "must be run as root"
if [[ ${PG18_IN_NS:-} != 1 ]]; then
  # unshare --fork ignores SIGINT/SIGTERM; on either, kill it: --kill-child
  # takes down the namespace's init (the inner copy of this script), then
  # the kernel kills everything left in the namespace and drops its mounts.
  PG18_IN_NS=1 unshare --mount --propagation private --pid --fork \
    --kill-child -- bash "$SCRIPT" "$@" <&0 &
  ns=$!
  trap 'kill -KILL "$ns" 2>/dev/null' INT TERM
  wait "$ns" && exit 0 || rc=$?
  while kill -0 "$ns" 2>/dev/null; do wait "$ns" && rc=0 || rc=$?; done
  exit "$rc"
fi
trap umount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cmd=${1:-}; shift || true
root=${PG18_ROOT:-/var/cache/pg_safebackup/sid-root}
case $cmd in
  prepare)
    (($# <= 1)) || usage
    do_prepare "$(realpath -m "${1:-$root}")" ;;
  run)
    if (($#)) && [[ $1 != -- ]]; then root=$1; shift; fi
    [[ ${1:-} == -- ]] || usage
    shift
    do_run "$(realpath -m "$root")" "$@" ;;
  *) usage ;;
esac
