#!/usr/bin/env bash
# The chaos run: four WhatsApp accounts built with real Baileys (6.17.16 and
# 7.0.0-rc14) and libsignal through the Node package (useWastoreAuthState
# with leases), each in its own worker process, exchanging real Signal
# messages (1:1 and in a group, with sender keys) through a supervisor that
# plays WhatsApp's server, while a fault schedule drawn from a seed kills
# the PostgreSQL server, kills workers, steals leases and pauses workers past
# their lease TTL (zombies).  Then a checker reads every history and the
# database (see checker.js for what it verifies).  Needs wastore installed
# and Node.js 20 or later with npm.
#
#   test/chaos/run.sh                 the short form (scripts/test.sh chaos):
#                                     400 messages, 8 faults (2 of each kind)
#   test/chaos/run.sh --long          10,000 messages, 60 faults (15 of each kind)
#   test/chaos/run.sh --broken        the broken variant: leases off, a second
#                                     instance of an account writing beside the
#                                     first; passes when the checker catches it
#   --seed N                          reproduce a run's fault schedule
#   --messages N, --faults N          other sizes
#   CHAOS_KEEP=1                      keep the work directory (histories, logs;
#                                     kept anyway when a check fails)
#   CHAOS_PORT                        the cluster's port (5434; a Unix socket only)
#   CHAOS_BAILEYS=baileys,baileys7    the Baileys of the even and odd accounts
#   CHAOS_GROUP_SHARE=0.25            the share of group messages
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

messages=400 faults=8 mode=normal seed=
while [ $# -gt 0 ]; do
	case $1 in
	--long) messages=10000 faults=60 ;;
	--broken) mode=broken messages=300 faults=3 ;;
	--seed) seed=$2; shift ;;
	--messages) messages=$2; shift ;;
	--faults) faults=$2; shift ;;
	*) die "unknown option: $1" ;;
	esac
	shift
done

v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$v" -lt 20 ] || ! command -v npm >/dev/null; then
	echo "# SKIP chaos: needs Node.js >= 20 and npm (found: $(node --version 2>/dev/null || echo none))"
	exit 0
fi
# the Node package's pinned packages (real Baileys, libsignal): the same
# npm ci as the node part, skipped when they are installed already
if [ ! -f clients/node/node_modules/.package-lock.json ] ||
	[ clients/node/package-lock.json -nt clients/node/node_modules/.package-lock.json ]; then
	(cd clients/node && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

work=$(mktemp -d /tmp/wastore-chaos.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop "$work/pg"; [ -n "${CHAOS_KEEP:-}" ] && log "kept $work" || rm -rf "$work"' EXIT
mkdir -p "$work/pg" "$work/hist"
[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work/pg"

# A real server (fsync and synchronous commit on), its own port and socket.
export CLUSTER_PORT=${CHAOS_PORT:-5434}
cluster_start "$work/pg" -c max_connections=200
as_pg psql -X -q -d postgres -c "CREATE DATABASE chaos"
as_pg psql -X -q -d chaos -c "CREATE EXTENSION wastore"
export PGDATABASE=chaos

sup_args=(--dir "$work/hist" --pgdir "$work/pg" --port "$CLUSTER_PORT" --messages "$messages" --faults "$faults")
[ -n "$seed" ] && sup_args+=(--seed "$seed")
[ "$mode" = broken ] && sup_args+=(--broken)
[ "$messages" -gt 1000 ] && sup_args+=(--drain 600000)
start=$(date +%s)
node test/chaos/supervisor.js "${sup_args[@]}" 2>&1 | tee "$work/supervisor.out" >&2 ||
	check_fail "the supervisor failed"$'\n'"$(tail -20 "$work/supervisor.out")"
used_seed=$(sed -n 's/^chaos: seed \([0-9]*\).*/\1/p' "$work/supervisor.out" | head -1)

rc=0
node test/chaos/checker.js --dir "$work/hist" >"$work/checker.out" 2>&1 || rc=$?
secs=$(($(date +%s) - start))
result=$(sed -n 's/^# result //p' "$work/checker.out")
if [ "$mode" = broken ]; then
	cat "$work/checker.out" >&2
	[ "$rc" -ne 0 ] && grep -q '^not ok' "$work/checker.out" ||
		check_fail "broken variant (seed $used_seed): the checker did not catch two instances writing without a lease"
	check_ok "broken variant (seed $used_seed): the checker caught two instances writing without a lease ($(grep -c '^not ok' "$work/checker.out") properties failed)"
	exit 0
fi
summary=$(node -e '
	const r = JSON.parse(process.argv[1] || "{}");
	const f = Object.entries(r.faults ?? {}).map(([k, n]) => `${k} ${n}`).join(", ");
	console.log(`${r.messages} messages (${r.oneToOne} 1:1, ${r.group} group), faults: ${f}; decrypt errors ${r.decryptErrors}, fenced writes in the store ${r.fencedWritesFound}`);
' "$result")
check_ok "chaos run, seed $used_seed: $summary (${secs} s)"
# the checker's properties, numbered on
while IFS= read -r line; do
	case $line in
	'ok - '*) check_ok "${line#ok - }" ;;
	'not ok - '*) tap_n=$((tap_n + 1)); printf 'not ok %d - %s (reproduce: test/chaos/run.sh --seed %s --messages %s --faults %s)\n' "$tap_n" "${line#not ok - }" "$used_seed" "$messages" "$faults" ;;
	'# result '*) ;;
	'#'*) printf '%s\n' "$line" ;;
	*) printf '# %s\n' "$line" ;;
	esac
done <"$work/checker.out"
[ "$rc" -eq 0 ] || { CHAOS_KEEP=1; exit 1; }
log "chaos: seed $used_seed, ${secs} s: $result"
