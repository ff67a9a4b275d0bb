#!/usr/bin/env bash
# Dump and restore: pg_dump of a database holding several stores, with rows
# in every part, restores into a fresh database with identical contents and
# a working extension.
#
#   test/dump/run.sh     (run by scripts/test.sh against its cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

work=$(mktemp -d /tmp/wastore-dump.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work"

sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
sql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS dump_src" \
	-c "DROP DATABASE IF EXISTS dump_dst" -c "DROP ROLE IF EXISTS dump_tenant" -c "DROP ROLE IF EXISTS dump_stranger" \
	-c "CREATE DATABASE dump_src" -c "CREATE DATABASE dump_dst"
sql -d dump_src -c "CREATE EXTENSION wastore"
# The files on standard input: the postgres user may not be able to read
# the clone (/root/wastore).
cat test/dump/fill.sql test/dump/fill_tenant.sql | sql -d dump_src >/dev/null

# Every table and sequence of the extension must be dumped with its data.
undumped=$(sql -d dump_src <<'SQL'
SELECT string_agg(c.oid::regclass::text, ', ')
  FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'wastore'
 WHERE c.relkind IN ('r', 'S') AND c.oid <> ALL (e.extconfig);
SQL
)
[ -z "$undumped" ] || check_fail "not registered with pg_extension_config_dump: $undumped"
check_ok "every table and sequence of the extension is dumped with its data"

# The contents of every part, one line per table: name, digest, row count.
contents() { sql -d "$1" <test/dump/contents.sql; }
contents dump_src >"$work/src.txt"
[ "$(wc -l <"$work/src.txt")" -ge 10 ] || check_fail "too few parts: $(cat "$work/src.txt")"
if grep -q ' 0$' "$work/src.txt"; then check_fail "a part is empty, fill.sql misses it: $(grep ' 0$' "$work/src.txt")"; fi
check_ok "the source database has rows in every part ($(wc -l <"$work/src.txt") parts)"

# Dumped in the timezone furthest east (UTC+14), where the last instant
# PostgreSQL can store is written with a date in the year after it.
as_pg env PGTZ=Pacific/Kiritimati pg_dump -Fc -d dump_src -f "$work/dump"
as_pg pg_restore --exit-on-error -d dump_dst "$work/dump"
contents dump_dst >"$work/dst.txt"
diff -u "$work/src.txt" "$work/dst.txt" || check_fail "the restored database differs"
check_ok "pg_dump and pg_restore: every part identical"

# The lock with the largest TTL accepted survives, still held.
out=$(sql -d dump_dst <<'SQL'
SELECT l.expires_at = '294276-12-31 23:59:59.999+00'
  FROM wastore.chat_locks l JOIN wastore.store_owners o USING (incarnation)
 WHERE o.store = 'acct-2' AND l.lock_key = 'forever';
SELECT wastore.chat_acquire_lock('acct-2', 'forever', 'worker-y');
SELECT wastore.chat_snapshot('acct-2') #>> '{locks,forever,expires_at}';
SQL
)
expected='t
busy
9224318015999999'
[ "$out" = "$expected" ] || check_fail "the lock with the largest TTL did not survive the restore:
$out
expected:
$expected"
check_ok "a lock with the largest TTL accepted survives pg_dump and pg_restore, still held"

# The restored extension works: reads, writes, ownership, chat sequences.
out=$(sql -d dump_dst <<'SQL'
SELECT count(*) FROM wastore.get('acct-1', 'pre-key', ARRAY['1', '30', '31']);
SELECT wastore.creds('acct-1')->'me'->>'lid';
SELECT wastore.set('acct-1', '{"pre-key": {"31": {"public": "p31", "private": "k31"}}, "creds": {"nextPreKeyId": 32}}');
SELECT count(*) FROM wastore.list_ids('acct-1', 'pre-key');
SELECT wastore.chat_mark_dedupe('acct-1', 'whatsapp', 'msg-9', 5), wastore.chat_mark_dedupe('acct-1', 'whatsapp', 'msg-8', 5);
-- the window of 5 was msg-4 .. msg-8: msg-9 evicts msg-4 and keeps msg-5
SELECT wastore.chat_is_duplicate('acct-1', 'whatsapp', 'msg-4'), wastore.chat_is_duplicate('acct-1', 'whatsapp', 'msg-5');
SELECT pending FROM wastore.chat_release_lock('acct-1', 'thread-1', 'worker-a');
SELECT owner FROM wastore.stores WHERE store = 'tenant-store';
SQL
)
expected='2
999@lid

31
t|f
f|t
[{"owner": "worker-b", "metadata": {"job": 2}, "strategy": "queue"}, {"owner": "worker-c", "metadata": {"job": 3}, "strategy": "queue"}]
dump_tenant'
[ "$out" = "$expected" ] || check_fail "the restored extension misbehaves:
$out
expected:
$expected"
check_ok "the restored extension works: reads, writes, chat sequences, a tenant's store"

# The tenant reaches its own store in the restored database with no new
# grant: pg_dump keeps what grant_access gave it.
out=$(sql -d dump_dst <<'SQL'
SET ROLE dump_tenant;
SELECT value FROM wastore.get('tenant-store', 'session', ARRAY['x.0']);
SELECT count(*) FROM wastore.stores;
SELECT wastore.set('tenant-store', '{"session": {"y.0": "eQ=="}}');
SELECT (wastore.try_set('acct-1', '{"session": {"y.0": "eQ=="}}')).sqlstate;
SQL
)
expected='"eA=="
1

42501'
[ "$out" = "$expected" ] || check_fail "the tenant lost its access in the restore:
$out
expected:
$expected"
check_ok "the tenant reaches its own store after the restore, with no new grant"

# A restore into a cluster that lacks a store's owner role fails closed: the
# store rows cannot be restored (pg_restore reports the error), and nothing
# of the stores becomes readable by anyone else, not even by a role that
# creates the same store id afterwards.
sql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS dump_norole" \
	-c "CREATE DATABASE dump_norole"
sql -d dump_src -c "REVOKE ALL ON SCHEMA wastore FROM dump_tenant" \
	-c "SELECT wastore.revoke_access('dump_tenant')"
sql -d dump_dst -c "SELECT wastore.revoke_access('dump_tenant')"
sql -d postgres -c "DROP ROLE dump_tenant"
if as_pg pg_restore -d dump_norole "$work/dump" >"$work/norole.log" 2>&1; then
	check_fail "the restore without the owner role reported no error"
fi
grep -q 'role "dump_tenant" does not exist' "$work/norole.log" ||
	check_fail "the restore failed otherwise: $(cat "$work/norole.log")"
check_ok "a restore without a store's owner role reports the missing role"
out=$(sql -d dump_norole <<'SQL'
CREATE ROLE dump_stranger;
SELECT wastore.grant_access('dump_stranger');
SET ROLE dump_stranger;
SELECT wastore.create_store('tenant-store'), wastore.create_store('acct-1');
SELECT count(*) FROM wastore.get('tenant-store', 'session', ARRAY['x.0']);
SELECT count(*) FROM wastore.get('acct-1', 'pre-key', ARRAY['1', '2']);
SELECT wastore.creds('acct-1') IS NULL, wastore.chat_snapshot('acct-1')->'dedupe';
RESET ROLE;
SELECT count(*) > 0 FROM wastore.keys;
SQL
)
sql -d postgres -c "DROP DATABASE dump_norole" -c "DROP ROLE dump_stranger"
out=$(echo "$out" | sed '/^$/d')	# the void results
expected='|
0
0
t|[]
t'
[ "$out" = "$expected" ] || check_fail "a restore without the owner role exposed a store:
$out
expected:
$expected"
check_ok "... and exposes nothing: a stranger creating the same store ids finds them empty"

sql -d postgres -c "DROP DATABASE dump_src" -c "DROP DATABASE dump_dst"
log "dump: $(wc -l <"$work/src.txt") parts restored identical, the restored extension works, the tenant keeps its access; a restore without the owner role exposes nothing"
