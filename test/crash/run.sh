#!/usr/bin/env bash
# Crash safety: a stream of wastore.set batches, each writing several
# families, and the postmaster killed with SIGKILL in the middle of it
# (with every backend, as a power cut would).  After crash recovery every
# acknowledged batch must be fully present and no batch partly present.
# Several rounds, each killed at a different point.
#
#   test/crash/run.sh     (run by scripts/test.sh; needs wastore installed)
#
#   CRASH_ROUNDS  how many kills (5)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

rounds=${CRASH_ROUNDS:-5}
work=$(mktemp -d /tmp/wastore-crash.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop "$work"; rm -rf "$work"' EXIT
[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work"

# A real server: fsync on, synchronous commit on.
export CLUSTER_PORT=5433
cluster_start "$work"
sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA -d crash "$@"; }
as_pg psql -X -q -d postgres -c "CREATE DATABASE crash"
sql -c "CREATE EXTENSION wastore"

# batch N writes four families and deletes the pre-key of batch N-1 (as a
# consumed pre-key is deleted); "latest" and the creds pre-key counters are
# overwritten by every batch.
batch_sql() {
	local n=$1
	cat <<SQL
SELECT wastore.set('crash', jsonb_build_object(
	'session', jsonb_build_object('s$n', jsonb_build_object('n', $n, 'pad', repeat('s', 2000)), 'latest', $n),
	'pre-key', jsonb_build_object('$n', jsonb_build_object('public', 'p$n', 'private', 'k$n'), '$((n - 1))', NULL),
	'sender-key', jsonb_build_object('g$n::4915100$n', jsonb_build_object('n', $n)),
	'device-list', jsonb_build_object('u$n', jsonb_build_array('0', '$n')),
	'creds', jsonb_build_object('nextPreKeyId', $((n + 1)), 'firstUnuploadedPreKeyId', $((n + 1)))));
\echo ack $n
SQL
}

next=1
for ((round = 1; round <= rounds; round++)); do
	pm=$(head -1 "$work/data/postmaster.pid")
	acks=$work/acks.$round
	# The writer: one session, one batch per statement (autocommit); the ack
	# is printed only once the server has answered the statement's commit.
	(
		for ((n = next; n < next + 100000; n++)); do batch_sql "$n"; done |
			as_pg psql -X -q -v ON_ERROR_STOP=1 -d crash >"$acks" 2>/dev/null
	) &
	writer=$!
	# Kill in the middle of the stream: once batches are being acknowledged
	# (however slow the server, valgrind included), at a different point
	# each round, 0.1 s to 1.3 s later.
	for ((i = 0; i < 1200; i++)); do
		[ "$(sql -c "SELECT count(*) FROM wastore.keys WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'crash')) AND family = 'session' AND id = 's$next'")" = 1 ] && break
		sleep 0.1
	done
	sleep "$(awk -v r="$round" -v s="$RANDOM" 'BEGIN { srand(s + r); printf "%.2f", 0.1 + rand() * 1.2 }')"
	kill -9 "$pm" $(pgrep -P "$pm") 2>/dev/null || true
	wait "$writer" || true
	while pgrep -P "$pm" >/dev/null 2>&1 || kill -0 "$pm" 2>/dev/null; do sleep 0.1; done

	cluster_run "$work"
	[ "$(grep -c "database system was interrupted\|was not properly shut down" "$work/server.log")" -ge "$round" ] ||
		check_fail "round $round: the server did not go through crash recovery"
	check_ok "round $round: killed mid-stream, crash recovery ran"

	acked=$(sed -n 's/^ack //p' "$acks" | tail -1)
	[ -n "$acked" ] || check_fail "round $round: no batch was acknowledged before the kill"
	# Per batch: how many of its five rows exist (the pre-key of a later batch
	# deletes this one's pre-key, so only the last batch present keeps it).
	IFS='|' read -r lost partial present latest < <(sql <<SQL
WITH b AS (SELECT n FROM generate_series($next, $acked + 50) n),
rows AS (
	SELECT b.n,
		   (SELECT count(*) FROM wastore.keys k WHERE k.incarnation = (SELECT incarnation FROM wastore.store_owners WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'crash')) AND k.family = 'session' AND k.id = 's' || b.n)
		 + (SELECT count(*) FROM wastore.keys k WHERE k.incarnation = (SELECT incarnation FROM wastore.store_owners WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'crash')) AND k.family = 'sender-key' AND k.id = 'g' || b.n || '::4915100' || b.n)
		 + (SELECT count(*) FROM wastore.keys k WHERE k.incarnation = (SELECT incarnation FROM wastore.store_owners WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'crash')) AND k.family = 'device-list' AND k.id = 'u' || b.n) AS have
	  FROM b)
SELECT count(*) FILTER (WHERE n <= $acked AND have <> 3),
	   count(*) FILTER (WHERE have NOT IN (0, 3)),
	   coalesce(max(n) FILTER (WHERE have = 3), 0),
	   (SELECT value FROM wastore.keys WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'crash')) AND family = 'session' AND id = 'latest')
  FROM rows;
SQL
	)
	[ "$lost" -eq 0 ] || check_fail "round $round: $lost acknowledged batches lost"
	check_ok "round $round: all $((acked - next + 1)) acknowledged batches present"
	[ "$partial" -eq 0 ] || check_fail "round $round: $partial batches partly present"
	check_ok "round $round: no batch partly present"
	[ "$latest" -eq "$present" ] || check_fail "round $round: latest is $latest, the last batch present is $present"
	check_ok "round $round: the overwritten key holds the last batch present"
	# The pre-keys: exactly one, the last present batch's (each batch deleted its predecessor's).
	prekeys=$(sql -c "SELECT string_agg(id, ',') FROM wastore.keys WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'crash') AND family = 'pre-key'")
	[ "$prekeys" = "$present" ] || check_fail "round $round: pre-keys $prekeys, expected $present"
	check_ok "round $round: one pre-key, the last batch's"
	counter=$(sql -c "SELECT wastore.creds('crash')->>'nextPreKeyId'")
	[ "$counter" = $((present + 1)) ] || check_fail "round $round: creds say nextPreKeyId $counter, the pre-keys say $((present + 1))"
	check_ok "round $round: the creds counter matches the pre-keys"
	log "crash round $round: killed after $((acked - next + 1)) acknowledged batches; all present, $((present - acked)) unacknowledged batch(es) committed, none partial"
	next=$((present + 1))
done
log "crash: $rounds kills, 0 lost acknowledged batches, 0 partial batches"
