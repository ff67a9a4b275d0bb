#!/usr/bin/env bash
# The key store benchmark (issue 7): wastore against the ceiling of the same
# server (prepared statements on an equivalent plain table), against the
# community SQL adapters' pattern (one round trip per key) and against
# Baileys' multi-file store.  Every comparison is measured side by side in
# the same run, interleaved over BENCH_ROUNDS rounds; the table shows medians.
#
#   bench/keys/run.sh
#
#   BENCH_SECONDS  seconds per pgbench run (3)
#   BENCH_ROUNDS   interleaved rounds per comparison (3)
#   BENCH_KEEP=1   keep the work directory
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. bench/lib.sh

secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}

ensure_packages
command -v node >/dev/null || ensure_packages nodejs
bench_begin 'cluster_stop "$work/pg"'

# A server tuned like a small production box.
bench_server 2GB
export PGDATABASE=bench

sql -d postgres -c "CREATE DATABASE bench"
sql -c "CREATE EXTENSION wastore"

nkeys=100000
blob=$(head -c 750 /dev/urandom | base64 -w0)

log "loading $nkeys sessions into wastore and into a plain table"
sql <<SQL
-- Sessions as Baileys writes them: a BufferJSON object of about 1 kB.
DO \$\$
BEGIN
	FOR b IN 0 .. $((nkeys / 10000 - 1)) LOOP
		PERFORM wastore.set('bench', jsonb_build_object('session',
			(SELECT jsonb_object_agg('s' || i, jsonb_build_object('type', 'Buffer', 'data', '$blob'))
			   FROM generate_series(b * 10000 + 1, b * 10000 + 10000) i)));
	END LOOP;
END
\$\$;
-- The ceiling: the same rows in a plain table keyed as an application would
-- key it, by the store id.
CREATE SCHEMA plain;
CREATE TABLE plain.keys (
	store text COLLATE "C" NOT NULL,
	family wastore.family NOT NULL,
	id text COLLATE "C" NOT NULL,
	value jsonb NOT NULL,
	PRIMARY KEY (store, family, id)
);
INSERT INTO plain.keys SELECT o.store, k.family, k.id, k.value
  FROM wastore.keys k JOIN wastore.store_owners o USING (incarnation);
-- Per-key transaction counters.
SELECT wastore.set('bench', jsonb_build_object('session',
	(SELECT jsonb_object_agg('t' || i, jsonb_build_object('n', 0)) FROM generate_series(0, 32) i)));
VACUUM ANALYZE;
CHECKPOINT;
SQL

# 1. Single-key get and set against prepared statements on the plain table.
script get <<'SQL'
\set k random(1, 100000)
SELECT id, value FROM wastore.get('bench', 'session', ARRAY['s' || :k]);
SQL
script plain_get <<'SQL'
\set k random(1, 100000)
SELECT id, value FROM plain.keys WHERE store = 'bench' AND family = 'session' AND id = 's' || :k;
SQL
# The value changes on every call (a new ratchet state), as a real write does.
script set <<'SQL'
\set k random(1, 100000)
\set v random(1, 1000000000)
SELECT wastore.set('bench', ('{"session": {"s' || :k || '": {"type": "Buffer", "data": "' || :v || '"}}}')::jsonb);
SQL
script plain_set <<'SQL'
\set k random(1, 100000)
\set v random(1, 1000000000)
INSERT INTO plain.keys VALUES ('bench', 'session', 's' || :k, ('{"type": "Buffer", "data": "' || :v || '"}')::jsonb)
ON CONFLICT (store, family, id) DO UPDATE SET value = excluded.value;
SQL

log "single-key get and set"
for c in 1 8; do
	compare "get, 1 key, $c client(s)" tps "$c" get plain_get "target >= 0.90x" -T "$secs"
	compare "set, 1 key, $c client(s)" tps "$c" set plain_set "target >= 0.90x" -T "$secs"
done

# 1b. The same set fenced by a lease token (the lease check: the lease lock
# in share mode and a read of the lease row), against set without one.
token=$(sql -tA -c "SELECT wastore.lease_acquire('bench', 'bench', '1 day')")
script set_fenced <<SQL
\set k random(1, 100000)
\set v random(1, 1000000000)
SELECT wastore.set('bench', ('{"session": {"s' || :k || '": {"type": "Buffer", "data": "' || :v || '"}}}')::jsonb, $token);
SQL
for c in 1 8; do
	compare "set with a lease token vs without, $c client(s)" tps "$c" set_fenced set "target >= 0.90x" -T "$secs"
done

# 2. A group send reads 256 sessions: one get against 256 round trips.  The
# client sends the ids, as a service does (a parameter, not built in SQL).
ids256="{$(seq -f 's%g' 40001 40256 | paste -sd,)}"
script get256 <<'SQL'
SELECT id, value FROM wastore.get('bench', 'session', :ids::text[]);
SQL
for g in $(seq 40001 40256); do
	echo "SELECT value FROM plain.keys WHERE store = 'bench' AND family = 'session' AND id = 's$g';"
done | script rt256

# 3. A new account uploads 812 pre-keys (BufferJSON key pairs of 32-byte
# keys): one set of the JSON a client sends, against 812 single upserts of
# the same values.  Each upload is rolled back, so that every one inserts new
# rows, on both sides.
# Compact JSON, as JSON.stringify writes it.  The 141 kB payload is more than
# a program argument may hold, so it waits in a table as text and is parsed
# by the call (::jsonb), as a client's parameter would be.
prekey='{"public":{"type":"Buffer","data":"BQFiwL4pLq3dD8bN0dOaGq8x3ZT5m2oD0s4yVwF8sYQp"},"private":{"type":"Buffer","data":"cGsKcHJpdmF0ZSBrZXkgYnl0ZXMgZm9yIGJlbmNoISE="}}'
payload812="{\"pre-key\":{$(for g in $(seq 1 812); do printf '"%s":%s,' "$((100000 + g))" "$prekey"; done | sed 's/,$//')}}"
printf 'CREATE TABLE plain.payload AS SELECT $p$%s$p$::text AS p;\n' "$payload812" | sql
script set812 <<'SQL'
BEGIN;
SELECT wastore.set('bench', (SELECT p FROM plain.payload)::jsonb);
ROLLBACK;
SQL
{
	echo 'BEGIN;'
	for g in $(seq 1 812); do
		echo "INSERT INTO plain.keys VALUES ('bench', 'pre-key', '$((100000 + g))', :prekey::jsonb) ON CONFLICT (store, family, id) DO UPDATE SET value = excluded.value;"
	done
	echo 'ROLLBACK;'
} | script rt812
data_opts=(-D "ids=$ids256" -D "prekey=$prekey")

log "group-send read and pre-key upload"
compare "get of 256 sessions vs 256 round trips" "calls/s" 1 get256 rt256 "target >= 10x" -T "$secs" "${data_opts[@]}"
compare "set of 812 pre-keys vs 812 upserts" "calls/s" 1 set812 rt812 "target >= 10x" -T "$secs" "${data_opts[@]}"

# The same two against Baileys' multi-file store (Node, one file per key).
mf=()
mf_read=() mf_upload=()
for ((r = 0; r < rounds; r++)); do
	mf_read+=("$(node bench/keys/multifile.js read "$work/mf" 20)")
	mf_upload+=("$(node bench/keys/multifile.js upload "$work/mf" 5)")
done
ms_read=$(printf '%s\n' "${mf_read[@]}" | median)
ms_upload=$(printf '%s\n' "${mf_upload[@]}" | median)
for name in get256 set812; do
	t=()
	for ((r = 0; r < rounds; r++)); do t+=("$(pgbench_tps "$name" 1 -T "$secs" "${data_opts[@]}")"); done
	eval "tps_$name=\$(printf '%s\n' \"\${t[@]}\" | median)"
done
row "get of 256 sessions vs multi-file store" "$(printf '%.0f' "$tps_get256") calls/s" \
	"$(awk -v m="$ms_read" 'BEGIN { printf "%.0f", 1000 / m }') calls/s" \
	"$(awk -v a="$tps_get256" -v m="$ms_read" 'BEGIN { printf "%.2f", a * m / 1000 }')x" "target >= 10x"
row "set of 812 pre-keys vs multi-file store" "$(printf '%.0f' "$tps_set812") calls/s" \
	"$(awk -v m="$ms_upload" 'BEGIN { printf "%.1f", 1000 / m }') calls/s" \
	"$(awk -v a="$tps_set812" -v m="$ms_upload" 'BEGIN { printf "%.2f", a * m / 1000 }')x" "target >= 10x"

# 4. Per-key transactions: lock + get + set of one session, committed.  Each
# adds one to a counter, so a lost update would show as a short count.
script txn_distinct <<'SQL'
\set k :client_id
SQL
script txn_hot <<'SQL'
\set k 0
SQL
for keys in distinct hot; do
	cat >>"$work/txn_$keys.sql" <<'SQL'
\set v random(1, 1000000000)
BEGIN;
SELECT wastore.lock('bench', 'session.t' || :k::text);
SELECT value->>'n' AS n FROM wastore.get('bench', 'session', ARRAY['t' || :k::text]) \gset
SELECT wastore.set('bench', ('{"session": {"t' || :k::text || '": {"n": ' || (:n::int + 1) || ', "r": ' || :v::text || '}}}')::jsonb);
COMMIT;
SQL
done
counters() { sql -c "SELECT sum((value->>'n')::bigint) FROM wastore.list('bench', 'session') WHERE id LIKE 't%'"; }

log "per-key transactions"
for keys in distinct hot; do
	for c in 1 8 32; do
		t=()
		for ((r = 0; r < rounds; r++)); do
			before=$(counters)
			t+=("$(pgbench_tps "txn_$keys" "$c" -T "$secs")")
			done_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/txn_$keys.out")
			failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/txn_$keys.out")
			[ "${failed:-0}" -eq 0 ] || die "per-key transactions failed: $failed"
			after=$(counters)
			[ "$after" -eq $((before + done_tx)) ] ||
				die "lost updates: the counters grew by $((after - before)) in $done_tx transactions"
		done
		m=$(printf '%s\n' "${t[@]}" | median)
		row "lock+get+set, $keys key(s), $c client(s)" "$(printf '%.0f' "$m") tps" "-" "-" "0 errors, 0 lost updates"
	done
done

# 5. Concurrent batches that mix writes and deletes, as Baileys' commits do:
# 8 clients each set the same 16 sessions, a random half or so of them with
# new values and the others deleted (a random mask per batch), so that two
# batches often write and delete the same keys the other way round; next to
# write-only sets of the same 16 keys.  Both serialise on the same rows.
# wastore's retries are on, as a client would have them; the row reports
# the errors (sets that failed even after their retries) and the server's
# count of deadlocks over the runs, retried ones included.
script set_mixed <<'SQL'
\set mask random(0, 65535)
\set v random(1, 1000000000)
SELECT wastore.set('bench', jsonb_build_object('session', (SELECT jsonb_object_agg('m' || i,
	CASE WHEN (:mask >> (i - 10)) & 1 = 1 THEN jsonb_build_object('type', 'Buffer', 'data', :v::text) ELSE 'null' END)
	FROM generate_series(10, 25) i)));
SQL
script set_written <<'SQL'
\set v random(1, 1000000000)
SELECT wastore.set('bench', jsonb_build_object('session', (SELECT jsonb_object_agg('m' || i,
	jsonb_build_object('type', 'Buffer', 'data', :v::text))
	FROM generate_series(10, 25) i)));
SQL
deadlocks() { sql -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"; }
failures() {
	local n
	n=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/$1.out")
	echo "${n:-0}"
}

log "concurrent batches mixing writes and deletes"
deadlocks_before=$(deadlocks)
tm=() tw=() errors=0
for ((r = 0; r < rounds; r++)); do
	tm+=("$(pgbench_tps set_mixed 8 -T "$secs")")
	errors=$((errors + $(failures set_mixed)))
	tw+=("$(pgbench_tps set_written 8 -T "$secs")")
	errors=$((errors + $(failures set_written)))
done
# the backends report their counts as they exit, just after pgbench's end
sleep 1
mixed_deadlocks=$(($(deadlocks) - deadlocks_before))
mm=$(printf '%s\n' "${tm[@]}" | median)
mw=$(printf '%s\n' "${tw[@]}" | median)
row "set, 16 keys: mixed vs write-only, 8 clients" "$(printf '%.0f' "$mm") tps" "$(printf '%.0f' "$mw") tps" \
	"$(ratio "$mm" "$mw")x" "$errors errors, $mixed_deadlocks deadlocks"

# 6. How cost grows with the number of stored keys: a store of its own, grown
# from 10^3 to 10^5 to 10^6 keys, single-client get and set latency.
script grow_get <<'SQL'
\set k random(1, :n)
SELECT id, value FROM wastore.get('grow', 'session', ARRAY['g' || :k]);
SQL
script grow_set <<'SQL'
\set k random(1, :n)
\set v random(1, 1000000000)
SELECT wastore.set('grow', ('{"session": {"g' || :k || '": {"type": "Buffer", "data": "' || :v || '"}}}')::jsonb);
SQL
log "latency against the number of stored keys"
loaded=0
declare -A lat_get lat_set
for n in 1000 100000 1000000; do
	sql <<SQL
DO \$\$
BEGIN
	FOR b IN 0 .. $(((n - loaded + 9999) / 10000 - 1)) LOOP
		PERFORM wastore.set('grow', jsonb_build_object('session',
			(SELECT jsonb_object_agg('g' || i, jsonb_build_object('type', 'Buffer', 'data', '$blob'))
			   FROM generate_series($loaded + b * 10000 + 1, least($n, $loaded + b * 10000 + 10000)) i)));
	END LOOP;
END
\$\$;
VACUUM ANALYZE wastore.keys;
SQL
	loaded=$n
	tg=() ts=()
	for ((r = 0; r < rounds; r++)); do
		tg+=("$(pgbench_tps grow_get 1 -T "$secs" -D n=$n)")
		ts+=("$(pgbench_tps grow_set 1 -T "$secs" -D n=$n)")
	done
	lat_get[$n]=$(printf '%s\n' "${tg[@]}" | median | awk '{ printf "%.1f", 1e6 / $1 }')
	lat_set[$n]=$(printf '%s\n' "${ts[@]}" | median | awk '{ printf "%.1f", 1e6 / $1 }')
done
for op in get set; do
	eval "small=\${lat_$op[1000]} mid=\${lat_$op[100000]} big=\${lat_$op[1000000]}"
	row "$op latency at 10^3 / 10^5 / 10^6 keys (us)" "$small / $mid" "$big" "$(ratio "$big" "$small")x" "10^6 vs 10^3, target <= 1.50x"
done

printf '\nwastore key store benchmark: medians of %s rounds, %ss per pgbench run, %s; the run took %d s\n' \
	"$rounds" "$secs" "$(nproc) cores, PostgreSQL $("$PG_BIN/postgres" -V | awk '{ print $3 }')" "$SECONDS"
printf '%-44s %14s %14s %8s  %s\n' "" "wastore" "baseline" "ratio" ""
printf '%s\n' "${rows[@]}"
