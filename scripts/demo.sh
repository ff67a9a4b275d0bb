#!/usr/bin/env bash
# Quick start: installs what is missing, builds and installs wastore, starts
# a local PostgreSQL 15 with a database "wastore" that has the extension,
# and shows the key store at work.  Safe to run again: it reuses the cluster.
#
#   scripts/demo.sh        install, build, start (or reuse) the cluster, show it
#   scripts/demo.sh stop   stop the cluster
#
#   WASTORE_DEV_DIR   where the cluster lives (/var/tmp/wastore-dev)
#   WASTORE_DEV_PORT  its port number, used for the socket name (5499)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

dir=${WASTORE_DEV_DIR:-/var/tmp/wastore-dev}
# absolute: the server's user runs from / (scripts/lib.sh, as_pg)
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
export CLUSTER_PORT=${WASTORE_DEV_PORT:-5499}

# The commands printed for the user, to work as typed on Debian: pg_ctl is
# not on PATH there, and root must run it as the cluster's user, from a
# directory that user can enter (runuser -l starts in its home; from
# /root, pg_ctl would complain it cannot change directory to /root).
stop_command() {
	if [ "$(id -u)" -eq 0 ]; then
		echo "runuser -l $PG_OS_USER -c '$PG_BIN/pg_ctl -D $dir/data stop'"
	else
		echo "$PG_BIN/pg_ctl -D $dir/data stop"
	fi
}
# WASTORE_DEV_DIR/PORT as given, so that a printed scripts/demo.sh command
# finds the same cluster
demo_env() {
	[ -z "${WASTORE_DEV_DIR:-}" ] || printf 'WASTORE_DEV_DIR=%s ' "$dir"
	[ -z "${WASTORE_DEV_PORT:-}" ] || printf 'WASTORE_DEV_PORT=%s ' "$CLUSTER_PORT"
	return 0
}

case ${1:-} in
'') ;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -w stop >/dev/null
		log "stopped the cluster in $dir (start it again with $(demo_env)scripts/demo.sh)"
	else
		log "no cluster is running in $dir"
	fi
	exit 0
	;;
*) die "unknown command: $1 (scripts/demo.sh, or scripts/demo.sh stop)" ;;
esac

ensure_packages
exec 9>/tmp/wastore-test.lock
flock 9
build_and_install

if [ -f "$dir/data/PG_VERSION" ]; then
	if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		log "starting the cluster in $dir"
		cluster_run "$dir"
	fi
	export PGHOST=$dir PGPORT=$CLUSTER_PORT PGUSER=postgres
else
	log "creating a cluster in $dir"
	cluster_start "$dir"
fi

psql_dev() { as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" psql -X -v ON_ERROR_STOP=1 "$@"; }

# A cluster an earlier demo.sh made with LANG unset is SQL_ASCII, where
# jsonb refuses non-ASCII text ("Jos\u00e9"): say so rather than carry on.
encoding=$(psql_dev -q -d postgres -tAc "SELECT string_agg(DISTINCT pg_encoding_to_char(encoding), ', ')
	FROM pg_database WHERE datname IN ('template1', 'wastore')")
[ "$encoding" = UTF8 ] || die "the cluster in $dir is $encoding, not UTF8: an earlier scripts/demo.sh
made it before the clusters were UTF-8, and its databases refuse non-ASCII
text such as a contact called José.  It is a throw-away cluster: remove it
and make a new one with
    $(demo_env)scripts/demo.sh stop && rm -rf $dir && $(demo_env)scripts/demo.sh
(or set WASTORE_DEV_DIR to another directory)."

psql_dev -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'wastore'" | grep -q 1 ||
	psql_dev -q -d postgres -c "CREATE DATABASE wastore"
psql_dev -q -d wastore -c "SET client_min_messages = warning" \
	-c "CREATE EXTENSION IF NOT EXISTS wastore" -c "ALTER EXTENSION wastore UPDATE"

log "wastore at work"
psql_dev -d wastore -e <<'SQL'
-- Baileys writes keys as {"<family>": {"<id>": value}}; null deletes
SELECT wastore.set('demo-account', '{
	"session": {"4915112345678.0": {"type": "Buffer", "data": "Cr4BCiEF9v1b2Qf3"}},
	"pre-key": {"1": {"public": {"type": "Buffer", "data": "BQFiwL4="}, "private": {"type": "Buffer", "data": "cGsK"}},
	            "2": {"public": {"type": "Buffer", "data": "BYq0Tw8="}, "private": {"type": "Buffer", "data": "c2VjcmV0"}}}
}');

-- the ids that exist come back exactly as written; missing ids are absent
SELECT * FROM wastore.get('demo-account', 'pre-key', ARRAY['1', '2', '3']);

-- a per-key transaction: other sessions locking this key wait for COMMIT
BEGIN;
SELECT wastore.lock('demo-account', 'session:4915112345678.0');
SELECT wastore.in_transaction('demo-account', 'session:4915112345678.0');
SELECT wastore.set('demo-account', '{"session": {"4915112345678.0": {"type": "Buffer", "data": "Cr4BCiEF9v1b2Qf4"}}}');
COMMIT;

-- a bad batch changes nothing; try_set reports instead of raising
SELECT * FROM wastore.try_set('demo-account', '{"session": {"x": 1}, "no-such-family": {}}');

-- the account's creds, merged in one locked step; text is UTF-8 (a JSON escape here)
SELECT wastore.merge_creds('demo-account', '{"me": {"id": "4915112345678:1@s.whatsapp.net", "name": "Jos\u00e9"}}') -> 'me' AS me;

SELECT store, owner, key_counts->>'session' AS sessions, key_counts->>'pre-key' AS pre_keys FROM wastore.stores;
SELECT * FROM wastore.get('demo-account', 'session', ARRAY['4915112345678.0']);
SQL

cat <<EOF

wastore is running in $dir (Unix socket only, port $CLUSTER_PORT; database wastore, UTF-8).
Connect with:
    psql -h $dir -p $CLUSTER_PORT -U postgres wastore
Stop it with:
    $(demo_env)scripts/demo.sh stop
or, from anywhere:
    $(stop_command)
Start it again, with wastore rebuilt: $(demo_env)scripts/demo.sh
EOF
