#!/bin/sh
#-------------------------------------------------------------------------
#
# sshd-harness.sh
#		Start or stop a private OpenSSH server for the SFTP driver tests.
#
#	tests/sftp/sshd-harness.sh start|stop|restart|drop|watch DIR	(as root)
#
# start builds, under DIR, a chroot tree owned by root, a system account
# (SFTP_ACCOUNT, default sbsftp, group sbsftpusers, no shell) confined to
# "ForceCommand internal-sftp" in that chroot, an Ed25519 client key owned
# by TEST_USER (default postgres), host keys, known_hosts files (plain and
# hashed, "[127.0.0.1]:port" form) and an sshd_config listening on a free
# high port of 127.0.0.1 only; then it starts sshd and writes DIR/env with
# SFTP_HOST, SFTP_PORT, SFTP_USER, SFTP_KEY, SFTP_KEY_ENCRYPTED and
# SFTP_PASSPHRASE_FILE (a second, passphrase-protected key), SFTP_KNOWN_HOSTS,
# SFTP_KNOWN_HOSTS_HASHED, SFTP_FINGERPRINT, SFTP_REPO and SFTP_BACKING.
# A second account (SFTP_APPEND_ACCOUNT, default sbsftpa, same group, same
# chroot and keys) is append-only, as README "Append-only repositories"
# recommends: "internal-sftp -P" denies it every request that removes,
# renames over or changes the mode of a file; its repository is /append
# (SFTP_APPEND_USER, SFTP_APPEND_REPO, SFTP_APPEND_BACKING in DIR/env).
# stop kills that sshd and its sessions; restart stops and starts it again
# (same keys and port), dropping every open connection; drop kills the open
# sessions only.  watch serves requests of the unprivileged test user until
# stop: creating DIR/control/restart (or .../drop) makes it restart sshd
# (or drop the sessions); DIR/control/freeze stops sshd and its sessions
# with SIGSTOP (connections hang), DIR/control/thaw lets them go on;
# DIR/control/list makes it write the repository's
# listing (type, size, path per line) to DIR/control/listing, and
# DIR/control/list-append the append-only repository's (type, mode,
# SHA-256 of files, path) to DIR/control/listing-append;
# DIR/control/expire-append holding "N STANZA PROGRAM" runs "PROGRAM expire
# --retention-full=N --stanza=STANZA" on the append-only repository's posix path as its
# account, as a cron job of the repository host would (the admin path),
# output in DIR/control/expire-append.out.  The request
# file disappears when that is done.  The
# account and group are left in place for the next run.
#
#-------------------------------------------------------------------------
set -eu

ACCOUNT=${SFTP_ACCOUNT:-sbsftp}
APPEND_ACCOUNT=${SFTP_APPEND_ACCOUNT:-sbsftpa}
# what the append-only account may not ask (sftp-server -Q requests lists them)
APPEND_DENIED=remove,rmdir,setstat,fsetstat,lsetstat,posix-rename,hardlink,symlink
GROUP=${SFTP_GROUP:-sbsftpusers}
TEST_USER=${TEST_USER:-postgres}

usage()
{
	echo "usage: $0 start|stop|restart|drop|watch DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
CMD=$1
DIR=$2
case "$DIR" in
	/*) ;;
	*) DIR=$(pwd)/$DIR ;;
esac

# every descendant of a process (sshd's per-connection processes)
descendants()
{
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# kill the whole tree at once, so that nothing is orphaned half-alive
drop_sessions()
{
	[ -f "$DIR/sshd.pid" ] || return 0
	pids=$(descendants "$(cat "$DIR/sshd.pid")")
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

stop_sshd()
{
	drop_sessions
	if [ -f "$DIR/sshd.pid" ]; then
		pid=$(cat "$DIR/sshd.pid")
		if kill "$pid" 2>/dev/null; then
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
		fi
		rm -f "$DIR/sshd.pid"
	fi
}

start_sshd()
{
	mkdir -p /run/sshd
	chmod 0755 /run/sshd
	/usr/sbin/sshd -t -f "$DIR/sshd_config"
	# readable by the test user, which counts logins
	touch "$DIR/sshd.log"
	chmod 0644 "$DIR/sshd.log"
	/usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
	i=0
	while [ ! -s "$DIR/sshd.pid" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$DIR/sshd.pid" ] || { echo "sshd did not start, see $DIR/sshd.log" >&2; exit 1; }
}

free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
	# no python: pick a random high port that nothing listens on
	while :; do
		p=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 40000 ))
		if ! ss -ltn 2>/dev/null | grep -q ":$p "; then
			echo $p
			return
		fi
	done
}

do_start()
{
	[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root" >&2; exit 1; }
	id "$TEST_USER" >/dev/null 2>&1 || { echo "$0: no user \"$TEST_USER\"" >&2; exit 1; }
	[ -f "$DIR/sshd.pid" ] && stop_sshd

	getent group "$GROUP" >/dev/null || groupadd --system "$GROUP"
	if ! id "$ACCOUNT" >/dev/null 2>&1; then
		useradd --system --gid "$GROUP" --no-create-home \
			--home-dir /upload --shell /usr/sbin/nologin "$ACCOUNT"
	fi
	if ! id "$APPEND_ACCOUNT" >/dev/null 2>&1; then
		useradd --system --gid "$GROUP" --no-create-home \
			--home-dir /append --shell /usr/sbin/nologin "$APPEND_ACCOUNT"
	fi
	# sshd refuses a locked account ("!" in shadow) even for keys
	usermod -p '*' "$ACCOUNT"
	usermod -p '*' "$APPEND_ACCOUNT"

	# Every component of the ChrootDirectory path (and, with StrictModes, of
	# the AuthorizedKeysFile path) must be owned by root and not group/world
	# writable.  DIR is often below /tmp (mode 1777): then both live in
	# /var/lib/sbsftp-harness/<hash of DIR>, and DIR/chroot and
	# DIR/authorized_keys are symbolic links to them.
	mkdir -p "$DIR"
	chown root:root "$DIR"
	chmod 0755 "$DIR"
	SAFE=$DIR
	CHROOT=$DIR/chroot
	p=$DIR
	while [ "$p" != "/" ]; do
		p=$(dirname "$p")
		if [ "$(stat -c %u "$p")" != 0 ] || [ $((0$(stat -c %a "$p") & 022)) -ne 0 ]; then
			SAFE=/var/lib/sbsftp-harness/$(printf '%s' "$DIR" | md5sum | cut -c1-12)
			CHROOT=$SAFE/chroot
			break
		fi
	done
	rm -rf "$DIR/chroot"
	if [ "$CHROOT" != "$DIR/chroot" ]; then
		mkdir -p /var/lib/sbsftp-harness
		chmod 0755 /var/lib/sbsftp-harness
		rm -rf "$SAFE"
		mkdir -p "$SAFE"
		chmod 0755 "$SAFE"
		ln -s "$CHROOT" "$DIR/chroot"
	fi
	mkdir -p "$CHROOT/upload"
	chown root:root "$CHROOT"
	chmod 0755 "$CHROOT"
	chown "$ACCOUNT:$GROUP" "$CHROOT/upload"
	chmod 0750 "$CHROOT/upload"
	mkdir -p "$CHROOT/append"
	chown "$APPEND_ACCOUNT:$GROUP" "$CHROOT/append"
	chmod 0750 "$CHROOT/append"

	# requests of the test user to the watch loop
	rm -rf "$DIR/control"
	mkdir -p "$DIR/control"
	chown "$TEST_USER" "$DIR/control"

	# host keys
	for t in ed25519 rsa; do
		[ -f "$DIR/ssh_host_${t}_key" ] || \
			ssh-keygen -q -t $t -N '' -C "sbsftp-host" -f "$DIR/ssh_host_${t}_key"
	done
	chmod 0600 "$DIR"/ssh_host_*_key

	# client key of the test user
	mkdir -p "$DIR/client"
	chown "$TEST_USER" "$DIR/client"
	chmod 0700 "$DIR/client"
	if [ ! -f "$DIR/client/id_ed25519" ]; then
		runuser -u "$TEST_USER" -- ssh-keygen -q -t ed25519 -N '' -C "sbsftp-test" \
			-f "$DIR/client/id_ed25519"
	fi

	# a second client key, encrypted, and its passphrase file
	if [ ! -f "$DIR/client/id_ed25519_pp" ]; then
		printf 'sb test passphrase\n' > "$DIR/client/passphrase"
		chown "$TEST_USER" "$DIR/client/passphrase"
		chmod 0600 "$DIR/client/passphrase"
		runuser -u "$TEST_USER" -- ssh-keygen -q -t ed25519 -N 'sb test passphrase' \
			-C "sbsftp-test-pp" -f "$DIR/client/id_ed25519_pp"
	fi

	# authorized keys: root-owned, outside the chroot
	cat "$DIR/client/id_ed25519.pub" "$DIR/client/id_ed25519_pp.pub" > "$SAFE/authorized_keys"
	chown root:root "$SAFE/authorized_keys"
	chmod 0644 "$SAFE/authorized_keys"
	[ "$SAFE" = "$DIR" ] || ln -sf "$SAFE/authorized_keys" "$DIR/authorized_keys"

	if [ -f "$DIR/port" ]; then
		PORT=$(cat "$DIR/port")
	else
		PORT=$(free_port)
		echo "$PORT" > "$DIR/port"
	fi

	# OpenSSH 9.8+ throttles a source after failed logins; the tests fail
	# logins on purpose, all from 127.0.0.1
	PENALTIES=
	if /usr/sbin/sshd -G -f /dev/null -o PerSourcePenalties=no >/dev/null 2>&1; then
		PENALTIES="PerSourcePenalties no"
	fi

	cat > "$DIR/sshd_config" <<CONF
# private sshd for the pg_safebackup SFTP tests (generated)
Port $PORT
ListenAddress 127.0.0.1
PidFile $DIR/sshd.pid
HostKey $DIR/ssh_host_ed25519_key
HostKey $DIR/ssh_host_rsa_key
AuthorizedKeysFile $SAFE/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
AllowUsers $ACCOUNT $APPEND_ACCOUNT
StrictModes yes
LogLevel VERBOSE
MaxStartups 100
Subsystem sftp internal-sftp
$PENALTIES

# the append-only account: the first Match that sets a keyword wins, so this
# comes before the group's block
Match User $APPEND_ACCOUNT
	ChrootDirectory $CHROOT
	ForceCommand internal-sftp -P $APPEND_DENIED
	AllowTcpForwarding no
	AllowAgentForwarding no
	PermitTunnel no
	X11Forwarding no

Match Group $GROUP
	ChrootDirectory $CHROOT
	ForceCommand internal-sftp
	AllowTcpForwarding no
	AllowAgentForwarding no
	PermitTunnel no
	X11Forwarding no
CONF

	# known_hosts: plain and hashed, "[127.0.0.1]:port" form
	rm -f "$DIR/known_hosts" "$DIR/known_hosts_hashed"
	for t in ed25519 rsa; do
		echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$DIR/ssh_host_${t}_key.pub")" >> "$DIR/known_hosts"
	done
	cp "$DIR/known_hosts" "$DIR/known_hosts_hashed"
	ssh-keygen -q -H -f "$DIR/known_hosts_hashed" >/dev/null 2>&1
	rm -f "$DIR/known_hosts_hashed.old"
	chmod 0644 "$DIR/known_hosts" "$DIR/known_hosts_hashed"

	FP=$(ssh-keygen -lf "$DIR/ssh_host_ed25519_key.pub" | cut -d' ' -f2)

	start_sshd

	cat > "$DIR/env" <<ENV
SFTP_HOST=127.0.0.1
SFTP_PORT=$PORT
SFTP_USER=$ACCOUNT
SFTP_KEY=$DIR/client/id_ed25519
SFTP_KEY_ENCRYPTED=$DIR/client/id_ed25519_pp
SFTP_PASSPHRASE_FILE=$DIR/client/passphrase
SFTP_KNOWN_HOSTS=$DIR/known_hosts
SFTP_KNOWN_HOSTS_HASHED=$DIR/known_hosts_hashed
SFTP_FINGERPRINT=$FP
SFTP_REPO=/upload
SFTP_BACKING=$CHROOT/upload
SFTP_APPEND_USER=$APPEND_ACCOUNT
SFTP_APPEND_REPO=/append
SFTP_APPEND_BACKING=$CHROOT/append
ENV
	chmod 0644 "$DIR/env"
	echo "sshd listening on 127.0.0.1:$PORT (pid $(cat "$DIR/sshd.pid")), settings in $DIR/env"
}

case "$CMD" in
	start)
		do_start
		;;
	stop)
		rm -rf "$DIR/control"
		stop_sshd
		;;
	restart)
		stop_sshd
		start_sshd
		;;
	drop)
		drop_sessions
		;;
	watch)
		while [ -d "$DIR/control" ]; do
			if [ -e "$DIR/control/restart" ]; then
				stop_sshd
				start_sshd
				rm -f "$DIR/control/restart"
			fi
			if [ -e "$DIR/control/drop" ]; then
				drop_sessions
				rm -f "$DIR/control/drop"
			fi
			if [ -e "$DIR/control/freeze" ]; then
				# a server that accepts TCP connections but never answers
				pid=$(cat "$DIR/sshd.pid")
				# shellcheck disable=SC2046
				kill -STOP "$pid" $(descendants "$pid") 2>/dev/null || true
				rm -f "$DIR/control/freeze"
			fi
			if [ -e "$DIR/control/thaw" ]; then
				pid=$(cat "$DIR/sshd.pid")
				# shellcheck disable=SC2046
				kill -CONT "$pid" $(descendants "$pid") 2>/dev/null || true
				rm -f "$DIR/control/thaw"
			fi
			if [ -e "$DIR/control/list" ]; then
				# the repository is private to the SFTP account
				backing=$(sed -n 's/^SFTP_BACKING=//p' "$DIR/env")
				(cd "$backing" && find . -mindepth 1 -printf '%y %s %P\n' | sort) \
					> "$DIR/control/listing.tmp"
				chown "$TEST_USER" "$DIR/control/listing.tmp"
				mv "$DIR/control/listing.tmp" "$DIR/control/listing"
				rm -f "$DIR/control/list"
			fi
			if [ -e "$DIR/control/list-append" ]; then
				backing=$(sed -n 's/^SFTP_APPEND_BACKING=//p' "$DIR/env")
				(cd "$backing" && find . -mindepth 1 -printf '%y %m %P\n' | sort |
					while read -r type mode path; do
						sum=-
						[ "$type" = f ] && sum=$(sha256sum "$path" | cut -d' ' -f1)
						echo "$type $mode $sum $path"
					done) > "$DIR/control/listing-append.tmp"
				chown "$TEST_USER" "$DIR/control/listing-append.tmp"
				mv "$DIR/control/listing-append.tmp" "$DIR/control/listing-append"
				rm -f "$DIR/control/list-append"
			fi
			if [ -e "$DIR/control/expire-append" ]; then
				backing=$(sed -n 's/^SFTP_APPEND_BACKING=//p' "$DIR/env")
				read -r keep stanza program < "$DIR/control/expire-append" || true
				case "$keep:$stanza" in
					:*|*[!0-9]*:*|*:|*:*[!A-Za-z0-9_.-]*)
						echo "bad request" > "$DIR/control/expire-append.out" ;;
					*)
						runuser -u "$APPEND_ACCOUNT" -- "$program" expire \
							--repo-type=posix --repo-path="$backing" --stanza="$stanza" \
							--retention-full="$keep" > "$DIR/control/expire-append.out" 2>&1 ||
							echo "exit code $?" >> "$DIR/control/expire-append.out"
						;;
				esac
				chown "$TEST_USER" "$DIR/control/expire-append.out"
				rm -f "$DIR/control/expire-append"
			fi
			sleep 0.1
		done
		;;
	*)
		usage
		;;
esac
