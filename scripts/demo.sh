#!/usr/bin/env bash
# Quick start: installs what is missing, builds and installs wastore, starts
# a local PostgreSQL 15 with a database "wastore" that has the extension,
# and shows the key store at work.  Safe to run again: it reuses the cluster.
#
#   WASTORE_DEV_DIR   where the cluster lives (/var/tmp/wastore-dev)
#   WASTORE_DEV_PORT  its port number, used for the socket name (5499)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

dir=${WASTORE_DEV_DIR:-/var/tmp/wastore-dev}
export CLUSTER_PORT=${WASTORE_DEV_PORT:-5499}

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

SELECT store, owner, key_counts->>'session' AS sessions, key_counts->>'pre-key' AS pre_keys FROM wastore.stores;
SELECT * FROM wastore.get('demo-account', 'session', ARRAY['4915112345678.0']);
SQL

cat <<EOF

wastore is running.  Connect with:
    psql -h $dir -p $CLUSTER_PORT -U postgres wastore
(the cluster listens on its Unix socket in $dir only; stop it with
 pg_ctl -D $dir/data stop$( [ "$(id -u)" -eq 0 ] && echo ", as the postgres user"))
EOF
