#!/usr/bin/env bash
# The scale-out benchmark (issue 17): single-key get and set on distinct
# stores, called directly on a shard and through the PL/Proxy proxy with
# the 4 partitions on 1 shard and on 2 shards, measured side by side in the
# same run, interleaved over BENCH_ROUNDS rounds; the table shows medians
# and two ratios: proxy (1 shard) / direct, and 2 shards / 1 shard.
#
#   bench/proxy/run.sh
#
#   BENCH_SECONDS  seconds per pgbench run (3)
#   BENCH_ROUNDS   interleaved rounds (3)
#   BENCH_STORES   distinct stores (2000)
#   BENCH_KEEP=1   keep the work directory
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. test/proxy/lib.sh
. bench/lib.sh

secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}
nstores=${BENCH_STORES:-2000}
began=$(date +%s)

ensure_packages postgresql-$PG_MAJOR-plproxy
bench_begin 'proxy_clusters_stop "$work"'

# Three servers on this machine: the proxy and two shard nodes, tuned as
# bench/keys tunes its one (synchronous_commit off: the figures compare the
# work of the calls, not this machine's fsync).
port=${BENCH_PORT:-5451}
proxy_clusters_start "$work" "$port" 2 -c shared_buffers=512MB -c synchronous_commit=off \
	-c max_connections=100 -c checkpoint_timeout=30min -c max_wal_size=4GB

q() { local dir=$1 p=$2 db=$3; shift 3; as_pg psql -X -q -v ON_ERROR_STOP=1 -tA -h "$work/$dir" -p "$p" -d "$db" "$@"; }
n1() { q node1 $((port + 1)) "$@"; }
n2() { q node2 $((port + 2)) "$@"; }
px() { q proxy "$port" "$@"; }

# node 1: the 4 partitions of the 1-shard cluster (one1_p0..3), p0 and p2
# of the 2-shard cluster (two_p0, two_p2), and "direct", the same stores in
# one database, called without the proxy; node 2: two_p1, two_p3.
for db in one_p0 one_p1 one_p2 one_p3 two_p0 two_p2 direct; do
	n1 postgres -c "CREATE DATABASE $db"; n1 "$db" -c "CREATE EXTENSION wastore"
done
for db in two_p1 two_p3; do
	n2 postgres -c "CREATE DATABASE $db"; n2 "$db" -c "CREATE EXTENSION wastore"
done
c1="host=$work/node1 port=$((port + 1))"
c2="host=$work/node2 port=$((port + 2))"
for db in one two; do
	px postgres -c "CREATE DATABASE proxy_$db"
	px "proxy_$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION wastore_proxy CASCADE"
done
px proxy_one -c "CREATE SERVER wastore FOREIGN DATA WRAPPER plproxy OPTIONS (
	p0 '$c1 dbname=one_p0', p1 '$c1 dbname=one_p1', p2 '$c1 dbname=one_p2', p3 '$c1 dbname=one_p3')" \
	-c "CREATE USER MAPPING FOR PUBLIC SERVER wastore"
px proxy_two -c "CREATE SERVER wastore FOREIGN DATA WRAPPER plproxy OPTIONS (
	p0 '$c1 dbname=two_p0', p1 '$c2 dbname=two_p1', p2 '$c1 dbname=two_p2', p3 '$c2 dbname=two_p3')" \
	-c "CREATE USER MAPPING FOR PUBLIC SERVER wastore"

# the stores, each with one session key, written through each proxy (so
# that they land on their partitions) and directly
load="SELECT count(wastore.set('b-' || i, '{\"session\": {\"k\": {\"v\": 0}}}')) FROM generate_series(1, $nstores) i"
px proxy_one -c "$load" >/dev/null
px proxy_two -c "$load" >/dev/null
n1 direct -c "$load" >/dev/null
spread=$(px proxy_two -c "SELECT string_agg(n::text, '/' ORDER BY p) FROM (SELECT wastore.partition_for('b-' || i) p, count(*) n FROM generate_series(1, $nstores) i GROUP BY 1) x")

script get <<SQL
\set i random(1, $nstores)
SELECT * FROM wastore.get('b-' || :i::integer, 'session', ARRAY['k']);
SQL
script set <<SQL
\set i random(1, $nstores)
\set v random(1, 1000000)
SELECT wastore.set('b-' || :i::integer, jsonb_build_object('session', jsonb_build_object('k', jsonb_build_object('v', :v::integer))));
SQL

# tps TARGET SCRIPT CLIENTS: TARGET is direct, one or two
tps() {
	local target=$1 name=$2 clients=$3 h p db
	case $target in
	direct) h=$work/node1 p=$((port + 1)) db=direct ;;
	*) h=$work/proxy p=$port db=proxy_$target ;;
	esac
	local jobs=$((clients < 2 ? clients : 2)) out=$work/$target-$name-$clients.out
	as_pg "$PG_BIN/pgbench" -n -M prepared -h "$h" -p "$p" -c "$clients" -j "$jobs" -T "$secs" \
		-f "$work/$name.sql" "$db" >"$out" 2>&1 || { cat "$out" >&2; die "pgbench $target $name failed"; }
	grep -q aborted "$out" && { cat "$out" >&2; die "pgbench $target $name: clients aborted"; }
	sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' "$out"
}

rows=()
for name in get set; do
	for clients in 1 8; do
		d=() o=() t=()
		for ((r = 0; r < rounds; r++)); do
			d+=("$(tps direct "$name" "$clients")")
			o+=("$(tps one "$name" "$clients")")
			t+=("$(tps two "$name" "$clients")")
		done
		md=$(printf '%s\n' "${d[@]}" | median)
		mo=$(printf '%s\n' "${o[@]}" | median)
		mt=$(printf '%s\n' "${t[@]}" | median)
		rows+=("$(printf '%-28s %10.0f %14.0f %15.0f %13s %12s' "$name, 1 key, $clients client(s)" \
			"$md" "$mo" "$mt" "$(ratio "$mo" "$md")x" "$(ratio "$mt" "$mo")x")")
	done
done

# every store still on exactly one partition of each cluster
check=$(for db in two_p0 two_p2; do n1 "$db" -c "SELECT store FROM wastore.store_owners"; done
	for db in two_p1 two_p3; do n2 "$db" -c "SELECT store FROM wastore.store_owners"; done)
placed=$(printf '%s\n' "$check" | sort | uniq | wc -l)
total=$(printf '%s\n' "$check" | wc -l)

echo
echo "wastore scale-out benchmark (PL/Proxy): medians of $rounds rounds, ${secs}s per pgbench run, $(nproc) cores, PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }'); the run took $(( $(date +%s) - began )) s"
echo "  $nstores stores, one session key each; 4 partitions (stores per partition: $spread); proxy, node 1 and node 2 on this one machine"
printf '%-28s %10s %14s %15s %13s %12s\n' "(tps)" "direct" "proxy 1 shard" "proxy 2 shards" "proxy/direct" "2 / 1 shard"
printf '%s\n' "${rows[@]}"
echo "  after the run: $total store rows on the 2-shard cluster's partitions, $placed distinct (each store on one partition: $([ "$placed" -eq "$total" ] && [ "$total" -eq "$nstores" ] && echo yes || echo NO))"
