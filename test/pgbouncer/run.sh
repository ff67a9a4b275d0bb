#!/usr/bin/env bash
# Leases through a real PgBouncer in transaction pooling mode: acquire,
# renew, fenced writes, a steal and release behave as they do on a direct
# connection, though every transaction may run on another server connection
# (leases are rows, not session state).
#
#   test/pgbouncer/run.sh     (run by scripts/test.sh against its cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

work=$(mktemp -d /tmp/wastore-pgbouncer.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work"
port=${BOUNCER_PORT:-6439}
trap 'bouncer_stop "$work"; rm -rf "$work"' EXIT

sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
sql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS bouncer_db" -c "CREATE DATABASE bouncer_db"
sql -d bouncer_db -c "CREATE EXTENSION wastore"

# Two server connections at most for many clients: transactions of one
# client land on either.
bouncer_start "$work" "$port" bouncer_db

# bq: one statement through the bouncer, in a client connection of its own
bq() { as_pg psql -X -q -tA -h "$work" -p "$port" -d bouncer_db -c "$1" 2>&1 || true; }
server_pids() { sql -d bouncer_db -c "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE datname = 'bouncer_db' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"; }

token=$(bq "SELECT wastore.lease_acquire('pb', 'worker-1', '1 minute')")
[[ $token =~ ^[0-9]+$ ]] || check_fail "lease_acquire through pgbouncer: $token"
check_ok "lease_acquire through pgbouncer returns a token"

busy=$(bq "SELECT wastore.lease_acquire('pb', 'worker-2', '1 minute') IS NULL")
[ "$busy" = t ] || check_fail "a second acquire through pgbouncer: $busy"
check_ok "... a second holder finds it busy"

# many fenced writes, each its own client connection and transaction, in parallel
pids=()
for i in $(seq 1 16); do
	bq "SELECT wastore.set('pb', jsonb_build_object('session', jsonb_build_object('$i.0', 'djE=')), $token)" >"$work/w$i.out" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
errors=$(cat "$work"/w*.out | grep -c ERROR || true)
written=$(bq "SELECT count(*) FROM wastore.list('pb', 'session')")
[ "$errors" -eq 0 ] && [ "$written" -eq 16 ] || check_fail "fenced writes through pgbouncer: $errors errors, $written written: $(cat "$work"/w*.out)"
check_ok "16 parallel fenced writes with the current token through pgbouncer land, 0 errors"

renewed=$(bq "SELECT wastore.lease_renew('pb', $token, '2 minutes')")
[ "$renewed" = t ] || check_fail "lease_renew through pgbouncer: $renewed"
check_ok "lease_renew through pgbouncer"

stolen=$(bq "SELECT wastore.lease_acquire('pb', 'worker-2', '1 minute', steal => true)")
[[ $stolen =~ ^[0-9]+$ ]] && [ "$stolen" -gt "$token" ] || check_fail "steal through pgbouncer: $stolen"
check_ok "a steal through pgbouncer takes the lease with a greater token"

fenced=$(bq "SELECT wastore.merge_creds('pb', '{\"registrationId\": 9999}', false, $token)")
creds=$(bq "SELECT wastore.creds('pb')")
case $fenced in *"lease lost"*) ;; *) check_fail "a write with the old token through pgbouncer: $fenced" ;; esac
[ "$creds" = "" ] || check_fail "the fenced write changed the creds: $creds"
check_ok "a write with the old token through pgbouncer raises 55W01 and changes nothing"

state=$(bq "SELECT sqlstate FROM wastore.try_set('pb', '{\"session\": {\"1.0\": \"em9tYmll\"}}', $token)")
[ "$state" = 55W01 ] || check_fail "try_set with the old token through pgbouncer: $state"
check_ok "... try_set reports 55W01"

ok=$(bq "SELECT wastore.set('pb', '{\"session\": {\"1.0\": \"bmV3\"}}', $stolen)")
value=$(bq "SELECT value FROM wastore.get('pb', 'session', ARRAY['1.0'])")
[ "$value" = '"bmV3"' ] || check_fail "a write with the new token through pgbouncer: $ok $value"
check_ok "a write with the new token through pgbouncer lands"

released=$(bq "SELECT wastore.lease_release('pb', $stolen)")
none=$(bq "SELECT count(*) FROM wastore.lease('pb')")
[ "$released" = t ] && [ "$none" = 0 ] || check_fail "lease_release through pgbouncer: $released, $none leases left"
check_ok "lease_release through pgbouncer ends the lease"

n=$(server_pids)
[ "$n" -le 2 ] || check_fail "pgbouncer used $n server connections (pool size 2)"
check_ok "all of it ran on at most 2 server connections ($n)"

sql -d postgres -c "DROP DATABASE bouncer_db WITH (FORCE)"
