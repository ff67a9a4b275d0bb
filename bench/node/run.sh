#!/usr/bin/env bash
# The Node package benchmark (issue 16): clients/node (wastore/baileys and
# wastore/chat) against what its users would otherwise run, through the real
# packages from npm: Baileys 6.17.16 with keys in memory (the ceiling), its
# useMultiFileAuthState, the postgres-baileys adapter, and the Chat SDK's
# @chat-adapter/state-pg.  One Node process measures every row and every
# variant in each of BENCH_ROUNDS interleaved rounds, against one server;
# the table shows medians.  bench/node/bench.js says what each row does.
#
#   bench/node/run.sh
#
#   BENCH_ROUNDS    interleaved rounds (3)
#   BENCH_SECONDS   seconds per variant per round, the other rows (3)
#   BENCH_MESSAGES  messages per variant per round, row 1 (200)
#   BENCH_KEEP=1   keep the work directory
#
# The peers are dependencies of bench/node/package.json, not of the
# published package; wastore itself comes from ../../clients/node as a
# packed copy (.npmrc: install-links), as a user's npm install would have it.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. bench/lib.sh

ensure_packages
command -v node >/dev/null || ensure_packages nodejs npm
bench_begin 'cluster_stop "$work/pg"'

# The server of the other benchmarks (bench_server: synchronous_commit off).
# Each adapter keeps the server's setting of it: wastore's commits are as
# durable as the server makes them, and so are the SQL peers'.
bench_server 1GB

# each contender in a database of its own: wastore (the extension; the
# Baileys stores and wastore/chat), postgres-baileys (its auth_data table),
# state-pg (its tables, made by its connect())
for db in bench pgbaileys statepg; do sql -d postgres -c "CREATE DATABASE $db"; done
sql -d bench -c "CREATE EXTENSION wastore"

log "installing bench/node's packages"
(cd bench/node && npm ci --no-audit --no-fund --loglevel=error >&2)

log "measuring (${BENCH_ROUNDS:-3} rounds)"
BENCH_DB_WASTORE=bench BENCH_DB_PGBAILEYS=pgbaileys BENCH_DB_STATEPG=statepg \
	node bench/node/bench.js "$work"
