#!/usr/bin/env bash
# Scale-out through PL/Proxy: one proxy cluster with wastore_proxy and two
# shard clusters holding 4 partitions (databases wastore_p0..3, p0 and p2
# on node 1, p1 and p3 on node 2).  Checks that the proxy routes every
# store function of the shards' catalog (sql/proxy/routed.list), runs the
# proxy pgTAP files (test/proxy/pgtap: the key store, creds, app-state,
# chat, leases and stores as single calls through the proxy), that every
# store's rows live on exactly the partition shard_for names, and that a
# per-key transaction opened through shard_for holds its lock against
# calls routed through the proxy; then the Node client's sharded mode
# against these clusters (clients/node/test/sharded.test.js).
#
#   test/proxy/run.sh     (run by scripts/test.sh; needs wastore installed)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. test/proxy/lib.sh

ensure_packages postgresql-$PG_MAJOR-plproxy

work=$(mktemp -d /tmp/wastore-proxy.XXXXXX)
chmod 755 "$work"
trap 'proxy_clusters_stop "$work"; rm -rf "$work"' EXIT
[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work"

port=${PROXY_TEST_PORT:-5441}
proxy_clusters_start "$work" "$port" 2 -c fsync=off
proxy_setup "$work" "$port" 2 4
check_ok "one proxy and two shard clusters, 4 partitions, wastore_proxy over the PL/Proxy server wastore"

px() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA -h "$work/proxy" -p "$port" -d proxy "$@"; }
# part P: psql on partition P's database
part() { local p=$1; shift; as_pg psql -X -q -v ON_ERROR_STOP=1 -tA -h "$work/node$((p % 2 + 1))" -p $((port + p % 2 + 1)) -d "wastore_p$p" "$@"; }

# --- the routed list against a shard's catalog -------------------------
# Every function of schema wastore whose first argument is `store text`,
# in the form of routed.list, minus the documented exceptions.
exceptions=$(sed -n 's/^#[[:space:]]*except[[:space:]]\+\([a-z_0-9]*\).*/\1/p' sql/proxy/routed.list | paste -sd, -)
shard_list=$(part 0 -c "SELECT p.proname || '(' || pg_get_function_arguments(p.oid) || ') RETURNS ' || pg_get_function_result(p.oid)
	FROM pg_proc p
	WHERE p.pronamespace = 'wastore'::regnamespace AND p.pronargs > 0
	  AND p.proargtypes[0] = 'text'::regtype AND p.proargnames[1] = 'store'
	  AND p.proname <> ALL (string_to_array('$exceptions', ','))
	ORDER BY 1")
proxy_list=$(px -c "SELECT signature FROM wastore.proxy_routed ORDER BY 1")
missing=$(comm -23 <(printf '%s\n' "$shard_list" | sort) <(printf '%s\n' "$proxy_list" | sort))
extra=$(comm -13 <(printf '%s\n' "$shard_list" | sort) <(printf '%s\n' "$proxy_list" | sort))
[ -z "$missing" ] || check_fail "store functions of wastore not routed by the proxy (add them to sql/proxy/routed.list, or to its exceptions):
$missing"
check_ok "every store function of the shard's wastore is routed by the proxy with the same signature ($(printf '%s\n' "$shard_list" | wc -l) functions; not routed: $exceptions)"
[ -z "$extra" ] || check_fail "routed functions that no shard has (or not with this signature):
$extra"
check_ok "every routed function exists on the shard with that signature"
# the comparison itself: a list without one function names that function
dropped=$(printf '%s\n' "$proxy_list" | sed -n 's/^\(set(.*\)$/\1/p')
missing=$(comm -23 <(printf '%s\n' "$shard_list" | sort) <(printf '%s\n' "$proxy_list" | grep -vxF "$dropped" | sort))
[ "$missing" = "$dropped" ] && [ -n "$dropped" ] || check_fail "a list without set: the comparison reported '$missing'"
check_ok "... and the comparison names a function left out of the list ($dropped)"

# moving a partition with logical replication needs a primary key on every table
nopk=$(part 0 -c "SELECT string_agg(c.relname, ', ') FROM pg_class c
	WHERE c.relnamespace = 'wastore'::regnamespace AND c.relkind = 'r'
	  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')")
[ -z "$nopk" ] || check_fail "tables without a primary key (logical replication of a partition cannot move their updates): $nopk"
check_ok "every table of a shard has a primary key (a partition can move by logical replication)"

# the same functions in the proxy's catalog, as PL/Proxy functions
plain=$(px -c "SELECT p.proname FROM pg_proc p JOIN wastore.proxy_routed r
	ON r.signature = p.proname || '(' || pg_get_function_arguments(p.oid) || ') RETURNS ' || pg_get_function_result(p.oid)
	WHERE p.pronamespace = 'wastore'::regnamespace AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'plproxy')")
n=$(px -c "SELECT count(*) FROM pg_proc p JOIN wastore.proxy_routed r
	ON r.signature = p.proname || '(' || pg_get_function_arguments(p.oid) || ') RETURNS ' || pg_get_function_result(p.oid)
	WHERE p.pronamespace = 'wastore'::regnamespace")
total=$(px -c "SELECT count(*) FROM wastore.proxy_routed")
[ -z "$plain" ] && [ "$n" = "$total" ] || check_fail "the proxy's routed functions: $n of $total declared as listed; not PL/Proxy: $plain"
check_ok "the proxy declares each of the $total as a PL/Proxy function of that signature"

# wastore's types: the same enum labels, attributes, and stores columns
types_sql="SELECT t.typname || ': ' || coalesce(
	(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
	(SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
	   FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '')
	FROM pg_type t WHERE t.typnamespace = 'wastore'::regnamespace
	  AND t.typname IN ('family', 'lock_strategy', 'lock_result', 'commit_result') ORDER BY 1"
st=$(part 1 -c "$types_sql")
pt=$(px -c "$types_sql")
[ "$st" = "$pt" ] || check_fail "wastore's types differ on the proxy:
shard: $st
proxy: $pt"
check_ok "the proxy's enum and composite types match the shard's (labels in order, attributes)"
cols_sql="SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'wastore.stores'::regclass AND attnum > 0"
[ "$(part 1 -c "$cols_sql")" = "$(px -c "$cols_sql")" ] ||
	check_fail "the stores view's columns differ: shard $(part 1 -c "$cols_sql"), proxy $(px -c "$cols_sql")"
check_ok "the proxy's stores view has the shard's columns"

# --- pgTAP through the proxy ---------------------------------------------
px -c "CREATE EXTENSION pgtap"
cp -r test/proxy/pgtap "$work/pgtap"
[ "$(id -u)" -eq 0 ] && chown -R "$PG_OS_USER" "$work/pgtap"
set +e
as_pg pg_prove -v -h "$work/proxy" -p "$port" -d proxy "$work"/pgtap/*.sql >"$work/pgtap.out" 2>&1
rc=$?
set -e
# the individual tests, counted by scripts/test.sh
grep -E '^(not )?ok [0-9]+' "$work/pgtap.out" || true
[ "$rc" -eq 0 ] || check_fail "pgTAP through the proxy: $(grep -vE '^(not )?ok [0-9]+' "$work/pgtap.out")"
check_ok "every proxy pgTAP file ran its whole plan"

# --- placement: each store on exactly the partition shard_for names ------
for p in 0 1 2 3; do
	part $p -c "SELECT $p, store FROM wastore.store_owners" | tr '|' ' '
done >"$work/placement"
stores=$(px -c "SELECT count(*) FROM wastore.stores")
[ "$stores" -ge 20 ] && [ "$(wc -l <"$work/placement")" -eq "$stores" ] ||
	check_fail "the stores view has $stores stores, the partitions $(wc -l <"$work/placement") rows"
dups=$(awk '{ print $2 }' "$work/placement" | sort | uniq -d)
[ -z "$dups" ] || check_fail "stores on more than one partition: $dups"
check_ok "each of the $stores stores lives on exactly one partition"
used=$(awk '{ print $1 }' "$work/placement" | sort -u | wc -l)
[ "$used" -eq 4 ] || check_fail "the stores used $used of the 4 partitions"
check_ok "... and the stores spread over all 4 partitions"
wrong=""
while read -r p s; do
	conninfo=$(px -c "SELECT wastore.shard_for('$s')")
	expect="host=$work/node$((p % 2 + 1)) port=$((port + p % 2 + 1)) dbname=wastore_p$p"
	[ "$conninfo" = "$expect" ] || wrong="$wrong $s (on p$p, shard_for: $conninfo)"
done <"$work/placement"
[ -z "$wrong" ] || check_fail "shard_for names another partition for:$wrong"
check_ok "shard_for names the partition each store lives on, for every store"
# every row of every state table belongs to a live store of its partition
orphans=0
for p in 0 1 2 3; do
	o=$(part $p -c "SELECT coalesce(sum(n), 0) FROM (
		SELECT (xpath('/row/n/text()', query_to_xml(format(
			'SELECT count(*) AS n FROM wastore.%I t WHERE NOT EXISTS (SELECT FROM wastore.store_owners o WHERE o.incarnation = t.incarnation)',
			c.relname), false, false, '')))[1]::text::bigint AS n
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'incarnation'
		WHERE c.relnamespace = 'wastore'::regnamespace AND c.relkind = 'r' AND c.relname <> 'store_owners') x")
	orphans=$((orphans + o))
done
[ "$orphans" -eq 0 ] || check_fail "$orphans rows on the partitions belong to no store of their partition"
check_ok "every row of every state table on every partition belongs to a store of that partition"
direct=$(as_pg psql -X -q -tA -d "$(px -c "SELECT wastore.shard_for('px-keys-1')")" \
	-c "SELECT count(*) FROM wastore.list('px-keys-1', 'session')")
through=$(px -c "SELECT count(*) FROM wastore.list('px-keys-1', 'session')")
[ "$direct" = "$through" ] && [ "$direct" -gt 0 ] || check_fail "px-keys-1 on its shard: $direct sessions; through the proxy: $through"
check_ok "a client connected with shard_for's conninfo reads what the proxy reads ($direct sessions)"

# --- a per-key transaction through shard_for against routed calls ---------
s=px-lock-1
px -c "SELECT wastore.set('$s', '{\"session\": {\"a\": {\"n\": 0}}}')" >/dev/null
shard=$(px -c "SELECT wastore.shard_for('$s')")
fifo=$work/lockfifo
as_pg mkfifo "$fifo"
# session A, on the shard: holds the label lock and the record lock, then
# writes, and commits when told (a line on the fifo)
as_pg bash -c "{ echo 'BEGIN;';
	echo \"SELECT wastore.lock('$s', 'session:a');\";
	echo \"SELECT wastore.lock_records('$s', 'session', ARRAY['a']);\";
	echo \"SELECT wastore.set('$s', '{\\\"session\\\": {\\\"a\\\": {\\\"n\\\": 1}}}');\";
	echo '\\echo locked';
	read -r _ <'$fifo';
	echo 'COMMIT;'; } | psql -X -q -tA -v ON_ERROR_STOP=1 -d '$shard'" >"$work/a.out" 2>&1 &
apid=$!
for _ in $(seq 100); do grep -q locked "$work/a.out" && break; sleep 0.1; done
grep -q locked "$work/a.out" || check_fail "session A did not take its locks: $(cat "$work/a.out")"

# session B: a per-key transaction on the owning shard, opened from the proxy's shard_for
b=$(as_pg psql -X -q -tA -d "$shard" -c "BEGIN" -c "SELECT wastore.try_lock('$s', 'session:a')" -c "COMMIT" 2>&1)
[ "$b" = f ] || check_fail "try_lock while A holds the label: $b"
check_ok "a second per-key transaction (through shard_for) finds the label locked: try_lock false"
b=$(as_pg psql -X -q -tA -d "$shard" -c "SET lock_timeout = '200ms'" -c "BEGIN" \
	-c "SELECT wastore.lock_records('$s', 'session', ARRAY['a'])" -c "COMMIT" 2>&1 || true)
case $b in *"lock timeout"*|*"canceling statement due to lock timeout"*) ;; *) check_fail "lock_records while A holds the record: $b" ;; esac
check_ok "... and lock_records waits on A's record lock (55P03 after lock_timeout)"
seen=$(px -c "SELECT value->>'n' FROM wastore.get('$s', 'session', ARRAY['a'])")
[ "$seen" = 0 ] || check_fail "a read routed through the proxy saw A's uncommitted write: $seen"
check_ok "a get routed through the proxy does not see A's uncommitted write"
# a drop routed through the proxy waits for A's locks, then purges what A committed
start=$(date +%s.%N)
px -c "SELECT wastore.drop_store('$s')" >"$work/drop.out" 2>&1 &
dpid=$!
sleep 1
kill -0 "$dpid" 2>/dev/null || check_fail "drop_store through the proxy did not wait for A's locks: $(cat "$work/drop.out")"
echo go | as_pg tee "$fifo" >/dev/null
wait "$apid" || check_fail "session A failed: $(cat "$work/a.out")"
wait "$dpid" || check_fail "drop_store through the proxy failed: $(cat "$work/drop.out")"
waited=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check_ok "drop_store routed through the proxy waits for the shard_for transaction's locks (${waited}s) and runs after its commit"
left=$(px -c "SELECT count(*) FROM wastore.get('$s', 'session', ARRAY['a'])")
[ "$left" = 0 ] || check_fail "after the drop, $left rows are left"
check_ok "... and purges what that transaction committed"

# --- tenants: PL/Proxy connects to the shard as the calling role ----------
for c in "proxy $port" "node1 $((port + 1))" "node2 $((port + 2))"; do
	set -- $c
	as_pg psql -X -q -h "$work/$1" -p "$2" -d postgres -c "CREATE ROLE px_alice LOGIN"
done
for p in 0 1 2 3; do part $p -c "SELECT wastore.grant_access('px_alice')" >/dev/null; done
px -c "SELECT wastore.grant_access('px_alice')" >/dev/null
alice() { as_pg psql -X -q -tA -h "$work/proxy" -p "$port" -U px_alice -d proxy "$@" 2>&1 || true; }
out=$(alice -c "SELECT 'written' FROM wastore.set('px-alice-1', '{\"session\": {\"a\": 1}}')" -c "SELECT store || ' ' || owner FROM wastore.stores")
[ "$out" = "written
px-alice-1 px_alice" ] || check_fail "px_alice's own store through the proxy: $out"
check_ok "a tenant writes its store through the proxy; the shard records it as the tenant's, and the stores view shows it only"
out=$(alice -c "SELECT * FROM wastore.get('px-keys-1', 'session', ARRAY['string'])")
case $out in *"permission denied for store"*) ;; *) check_fail "px_alice reading postgres's store through the proxy: $out" ;; esac
check_ok "... and is refused another role's store on its shard (42501 through the proxy)"

# --- a partition moves: the proxy follows ALTER SERVER --------------------
# p3's database copied to node 1 (standing in for the end of a logical
# replication), the server switched, in the middle of a proxy session.
s3=$(px -c "SELECT store FROM (VALUES ('px-keys-1'), ('px-keys-2'), ('px-keys-3'), ('px-keys-4'), ('px-keys-5'), ('px-keys-6'), ('px-keys-7'), ('px-keys-8')) v(store) WHERE wastore.partition_for(store) = 3 LIMIT 1")
[ -n "$s3" ] || check_fail "no px-keys store on p3"
as_pg psql -X -q -h "$work/node1" -p $((port + 1)) -d postgres -c "CREATE DATABASE wastore_p3_moved"
as_pg "$PG_BIN/pg_dump" -Fc -h "$work/node2" -p $((port + 2)) -d wastore_p3 -f "$work/p3.dump"
as_pg "$PG_BIN/pg_restore" -h "$work/node1" -p $((port + 1)) -d wastore_p3_moved "$work/p3.dump"
moved=$(px -c "SELECT count(*) FROM wastore.list('$s3', 'session')" \
	-c "ALTER SERVER wastore OPTIONS (SET p3 'host=$work/node1 port=$((port + 1)) dbname=wastore_p3_moved')" \
	-c "SELECT wastore.set('$s3', '{\"session\": {\"after-move\": 1}}')" \
	-c "SELECT wastore.shard_for('$s3')")
old=$(as_pg psql -X -q -tA -h "$work/node2" -p $((port + 2)) -d wastore_p3 -c "SELECT count(*) FROM wastore.get('$s3', 'session', ARRAY['after-move'])")
new=$(as_pg psql -X -q -tA -h "$work/node1" -p $((port + 1)) -d wastore_p3_moved -c "SELECT count(*) FROM wastore.get('$s3', 'session', ARRAY['after-move'])")
[ "$old" = 0 ] && [ "$new" = 1 ] && [ "$(printf '%s\n' "$moved" | tail -1)" = "host=$work/node1 port=$((port + 1)) dbname=wastore_p3_moved" ] ||
	check_fail "after ALTER SERVER: old partition $old rows, moved one $new; session said: $moved"
check_ok "ALTER SERVER moves partition p3: the same proxy session's next write lands on the new database, and shard_for names it"

# --- the Node client's sharded mode against these clusters ----------------
# clients/node/test/sharded.test.js: createClient({ pool: <the proxy>,
# sharded: … }) opens per-key transactions and streams on the shard that
# shard_for names (p3 has just moved: it must follow).  Each of its tests is
# a check of this part.  Needs Node.js 20 and npm, as the node part does.
v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$v" -lt 20 ] || ! command -v npm >/dev/null; then
	echo "# SKIP the Node client's sharded mode: needs Node.js >= 20 and npm (found: $(node --version 2>/dev/null || echo none))"
else
	[ -d clients/node/node_modules/pg ] || (cd clients/node && npm ci --no-audit --no-fund --loglevel=error >&2)
	set +e
	out=$(cd clients/node && PGUSER=postgres PGHOST="$work/proxy" PGPORT="$port" PGDATABASE=proxy \
		WASTORE_TEST_PROXY_HOST="$work/proxy" WASTORE_TEST_PROXY_PORT="$port" \
		node --test --test-reporter=tap test/sharded.test.js 2>&1)
	rc=$?
	set -e
	n=0
	while read -r result name; do
		n=$((n + 1))
		[ "$result" = ok ] || check_fail "Node sharded mode: $name
$out"
		check_ok "Node sharded mode: $name"
	done < <(printf '%s\n' "$out" | sed -n 's/^    \(ok\|not ok\) [0-9]* - \(.*\)$/\1 \2/p' | sed 's/^not ok /not-ok /')
	[ "$rc" -eq 0 ] && [ "$n" -ge 4 ] || check_fail "Node sharded mode: exit status $rc, $n tests of the proxy suite ran
$out"
fi
