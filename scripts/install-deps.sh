#!/usr/bin/env bash
# Install everything pg_safebackup needs to build and test on Debian 12:
# PostgreSQL 15 server and headers, libssh2, OpenSSL, libcurl (the S3
# driver), zlib, liblz4, libzstd, libxxhash (block sums), liburing (direct
# reads and writes), libsystemd (the
# repository server loads it to notify systemd, Type=notify) (and the lz4 and zstd
# commands the codec tests check files with, and xxhsum, which checks the
# XXH3-128 digests WAL files are named by), the TAP test modules, sshd (for
# SFTP tests), the openssl command (throwaway CA of the TLS tests), the curl
# command (the S3 tests' gateway setup and listings), clang + libFuzzer (make
# fuzz), debootstrap and iproute2 (for the PostgreSQL 17 and 18 roots and the
# S3 gateway's root).
set -euo pipefail

packages=(
	postgresql-15 postgresql-client-15 postgresql-server-dev-15
	libssh2-1-dev libssl-dev libcurl4-openssl-dev libjson-c-dev curl zlib1g-dev liblz4-dev libzstd-dev libsystemd0 libxxhash-dev liburing-dev lz4 zstd xxhash
	libipc-run-perl openssh-server openssh-client
	debootstrap iproute2 make gcc procps
	openssl clang libclang-rt-14-dev
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (it calls apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
