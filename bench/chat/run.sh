#!/usr/bin/env bash
# The chat state benchmark (issue 15): the two hot paths of a Chat SDK bot
# on wastore against the same operations on the SQL of the official Chat SDK
# Postgres adapter (@chat-adapter/state-pg 4.41.0, dist/index.js: its tables
# and statements, verbatim, one round trip per statement as its pool.query
# calls make them), in the same cluster and run, interleaved over
# BENCH_ROUNDS rounds; the table shows medians.
#
#   - a dedupe claim: setIfNotExists('dedupe:<adapter>:<id>', true, 10 min)
#     for a new message id (chat_kv_set_if_absent; state-pg: one upsert);
#   - a queued message: enqueue(thread, entry, maxSize 10) then dequeue
#     (chat_enqueue + chat_dequeue, two calls; state-pg: four statements,
#     then two), each client on a thread of its own.
#
#   bench/chat/run.sh
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
bench_begin 'cluster_stop "$work/pg"'
bench_server 1GB
export PGDATABASE=bench

sql -d postgres -c "CREATE DATABASE bench"
sql -c "CREATE EXTENSION wastore"

# state-pg's schema (postgresSchemaStatements), in a schema of its own.
sql <<'SQL'
CREATE SCHEMA statepg;
SET search_path = statepg;
CREATE TABLE IF NOT EXISTS chat_state_cache (
    key_prefix text NOT NULL,
    cache_key text NOT NULL,
    value text NOT NULL,
    expires_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_prefix, cache_key)
  );
CREATE INDEX IF NOT EXISTS chat_state_cache_expires_idx
    ON chat_state_cache (expires_at);
CREATE TABLE IF NOT EXISTS chat_state_queues (
    key_prefix text NOT NULL,
    thread_id text NOT NULL,
    seq bigserial NOT NULL,
    value text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (key_prefix, thread_id, seq)
  );
CREATE INDEX IF NOT EXISTS chat_state_queues_expires_idx
    ON chat_state_queues (expires_at);
SQL
sql -c "SELECT wastore.create_store('bench')" >/dev/null

# A dedupe claim for a new message id; the expiry a client computes
# (Date.now() + ttl) is clock_timestamp() + ttl here.  (The key is built from
# pieces: pgbench would take ":whatsapp" inside one literal for a variable.)
script claim <<'SQL'
\set m random(1, 2000000000)
SELECT wastore.chat_kv_set_if_absent('bench', 'dedupe:' || 'whatsapp:' || :m::text, 'true', interval '10 minutes');
SQL
script statepg_claim <<'SQL'
\set m random(1, 2000000000)
INSERT INTO statepg.chat_state_cache (key_prefix, cache_key, value, expires_at)
       VALUES ('chat-sdk', 'dedupe:' || 'whatsapp:' || :m::text, 'true', clock_timestamp() + interval '10 minutes')
       ON CONFLICT (key_prefix, cache_key) DO UPDATE
         SET value = EXCLUDED.value,
             expires_at = EXCLUDED.expires_at,
             updated_at = now()
         WHERE statepg.chat_state_cache.expires_at IS NOT NULL
           AND statepg.chat_state_cache.expires_at <= now()
       RETURNING cache_key;
SQL

# enqueue + dequeue of one QueueEntry, each client on its own thread; the
# entry is a parameter, as a client sends it (jsonb for wastore, text for
# state-pg, which stores JSON.stringify's output).
entry='{"message":{"id":"m1","threadId":"whatsapp:491510000001","text":"hello there"},"enqueuedAt":1767225600000,"expiresAt":1767225690000}'
script queue <<'SQL'
SELECT wastore.chat_enqueue('bench', 'thread:' || :client_id::text, :entry, 10, clock_timestamp() + interval '90 s');
SELECT wastore.chat_dequeue('bench', 'thread:' || :client_id::text);
SQL
script statepg_queue <<'SQL'
DELETE FROM statepg.chat_state_queues
       WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text AND expires_at <= now();
INSERT INTO statepg.chat_state_queues (key_prefix, thread_id, value, expires_at)
       VALUES ('chat-sdk', 'thread:' || :client_id::text, :entry, clock_timestamp() + interval '90 s');
DELETE FROM statepg.chat_state_queues
         WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text AND seq IN (
           SELECT seq FROM statepg.chat_state_queues
           WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text
             AND expires_at > now()
           ORDER BY seq ASC
           OFFSET 0
           LIMIT GREATEST(
             (SELECT count(*) FROM statepg.chat_state_queues
              WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text AND expires_at > now()) - 10,
             0
           )
         );
SELECT count(*) as depth FROM statepg.chat_state_queues
       WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text AND expires_at > now();
DELETE FROM statepg.chat_state_queues
       WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text AND expires_at <= now();
DELETE FROM statepg.chat_state_queues
       WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text
         AND seq = (
           SELECT seq FROM statepg.chat_state_queues
           WHERE key_prefix = 'chat-sdk' AND thread_id = 'thread:' || :client_id::text
             AND expires_at > now()
           ORDER BY seq ASC
           LIMIT 1
         )
       RETURNING value;
SQL

log "dedupe claims and queued messages, wastore against state-pg's SQL"
for c in 1 8; do
	compare "set_if_absent dedupe claim, $c client(s)" "claims/s" "$c" claim statepg_claim "" -T "$secs"
	compare "enqueue + dequeue, $c client(s)" "pairs/s" "$c" queue statepg_queue "2 calls vs 6 statements" -T "$secs" -D "entry=$entry"
done

printf '\nwastore chat state benchmark: medians of %s rounds, %ss per pgbench run, %s; the run took %d s\n' \
	"$rounds" "$secs" "$(nproc) cores, PostgreSQL $("$PG_BIN/postgres" -V | awk '{ print $3 }')" "$SECONDS"
printf '%-46s %14s %14s %8s  %s\n' "" "wastore" "state-pg SQL" "ratio" ""
printf '%s\n' "${rows[@]}"
