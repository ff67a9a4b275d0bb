#!/usr/bin/env bash
# The newcomer's check: the README's two commands on a pristine Debian 12,
# as a new user runs them.  A root built with mmdebstrap (variant important,
# plus postgresql-15, postgresql-client-15, git, ca-certificates and sudo:
# no headers, no pgTAP, no compiler), this repository's committed HEAD
# cloned into /root/wastore (where only root can enter), then, as root
# through env -i with LANG unset, scripts/demo.sh and scripts/test.sh.
#
#   sudo test/fresh-debian.sh      (a few minutes; needs network for apt)
#
# It prints one verdict line and exits 0 when both commands exit 0, the
# tally ends "N passed, 0 failed", the demo database is UTF8, the stop
# command the demo prints works as typed, and the log holds none of the
# messages a newcomer would take for errors.  Not run by CI (it needs root
# and a chroot).
#
#   WASTORE_FRESH_TAR  the pristine root, built once and reused
#                      (/var/tmp/deb12-pristine.tar)
#   WASTORE_FRESH_LOG  the whole log of the run (/var/tmp/wastore-fresh-debian.log)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

repo=$PWD
tar=${WASTORE_FRESH_TAR:-/var/tmp/deb12-pristine.tar}
out=${WASTORE_FRESH_LOG:-/var/tmp/wastore-fresh-debian.log}
[ "$(id -u)" -eq 0 ] || die "run it as root: it builds and enters a chroot"

# build_root: the pristine root as a tarball, from this machine's apt
# sources (deb822 files, else sources.list, else mmdebstrap's default
# mirror).  Written aside and renamed, so that an interrupted build is not
# taken for a finished one.
build_root() {
	command -v mmdebstrap >/dev/null || {
		log "installing mmdebstrap"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
	}
	local sources f
	sources=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$sources" ] || sources=$(cat /etc/apt/sources.list 2>/dev/null || true)
	log "building a pristine Debian 12 root in $tar (once)"
	local args=(--variant=important
		--include=postgresql-15,postgresql-client-15,git,ca-certificates,sudo bookworm "$tar.part")
	if [ -n "$sources" ]; then
		printf '%s\n' "$sources" | mmdebstrap "${args[@]}" - >"$tar.log" 2>&1
	else
		mmdebstrap "${args[@]}" >"$tar.log" 2>&1
	fi || { tail -20 "$tar.log" >&2; die "mmdebstrap failed (log: $tar.log)"; }
	mv "$tar.part" "$tar"
}

[ -s "$tar" ] || build_root

root=$(mktemp -d /var/tmp/wastore-fresh-root.XXXXXX)
mounted=()
# cleanup: stop the demo's cluster (the tests stop their own), unmount in
# reverse order, remove the root.
cleanup() {
	local i
	[ -f "$root/var/tmp/wastore-dev/data/postmaster.pid" ] &&
		chroot "$root" runuser -l postgres -c \
			"$PG_BIN/pg_ctl -D /var/tmp/wastore-dev/data -m immediate stop" >/dev/null 2>&1
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT
mount_in_root() { # mount_in_root TARGET mount-arguments...
	local target=$root$1; shift
	mount "$@" "$target"
	mounted+=("$target")
}

log "unpacking the root in $root"
tar -xf "$tar" -C "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount_in_root /proc -t proc proc
mount_in_root /sys --bind /sys
mount_in_root /dev --bind /dev
mount_in_root /dev/pts --bind /dev/pts
mount_in_root /dev/shm -t tmpfs tmpfs

# What the newcomer has: the committed branch, cloned into root's home.
git clone -q "$repo" "$root/root/wastore"
chmod 700 "$root/root" "$root/root/wastore"

# in_root COMMAND: as root in the clone, with the environment of a fresh
# login and no LANG (a fresh Debian 12 has an empty /etc/default/locale).
in_root() {
	env -i HOME=/root TERM=dumb USER=root LOGNAME=root SHELL=/bin/bash \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		chroot "$root" /bin/bash -lc "cd /root/wastore && $1"
}

: >"$out"
log "scripts/demo.sh (log: $out)"
demo=0; in_root scripts/demo.sh >>"$out" 2>&1 || demo=$?
encoding=$(in_root "psql -X -At -h /var/tmp/wastore-dev -p 5499 -U postgres wastore -c 'SHOW server_encoding'" 2>>"$out" || true)
log "scripts/test.sh"
tests=0; in_root scripts/test.sh >>"$out" 2>&1 || tests=$?
tally=$(grep -E '^wastore: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -1 || true)

# The demo's stop command, run as printed (the line after "from anywhere").
stop_cmd=$(sed -n '/^or, from anywhere:$/{n;s/^ *//;p;q}' "$out")
stop=failed
[ -n "$stop_cmd" ] && in_root "cd /root && $stop_cmd" >>"$out" 2>&1 && stop=ok

# Messages that look like errors to a newcomer and must not appear.
noise=$(grep -cE 'Permission denied|another server might be running|No such file or directory|^error:' "$out" || true)

echo "fresh Debian 12: demo exit $demo, demo database ${encoding:-unreachable}, stop command $stop," \
	"test exit $tests, ${noise} alarming lines: ${tally:-no tally}"
[ "$demo" -eq 0 ] && [ "$tests" -eq 0 ] && [ "$encoding" = UTF8 ] && [ "$stop" = ok ] &&
	[ "$noise" -eq 0 ] && [[ $tally == *" 0 failed" ]]
