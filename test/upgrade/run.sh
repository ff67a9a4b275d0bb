#!/usr/bin/env bash
# Upgrade path: an install of the previous version (1.1) holding data in
# every part, ALTER EXTENSION wastore UPDATE, then: every row of every store
# is kept (rows of no store are dropped), the upgraded extension has exactly
# the objects of a fresh install, and it behaves like the latest version
# (tenants reach their stores through the functions, not the tables).  1.0
# updates to the latest version too.
#
#   test/upgrade/run.sh     (run by scripts/test.sh against its cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
sql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS upgrade_old" \
	-c "DROP DATABASE IF EXISTS upgrade_new" -c "DROP DATABASE IF EXISTS upgrade_10" \
	-c "DROP DATABASE IF EXISTS upgrade_repair" -c "DROP ROLE IF EXISTS upgrade_tenant" \
	-c "CREATE DATABASE upgrade_old" -c "CREATE DATABASE upgrade_new" -c "CREATE DATABASE upgrade_10" \
	-c "CREATE DATABASE upgrade_repair"
latest=$(sed -n "s/^default_version = '\(.*\)'/\1/p" wastore.control)

sql -d upgrade_old -c "CREATE EXTENSION wastore VERSION '1.1'"
# The files on standard input: the postgres user may not be able to read
# the clone (/root/wastore).
sql -d upgrade_old <test/upgrade/fill_1.1.sql >/dev/null
# the latest library refuses an older install's tables, clearly
refused=$(sql -d upgrade_old -c "SELECT wastore.creds('acct-1')" 2>&1 || true)
case $refused in
*"tables are those of an older version"*) ;;
*) check_fail "the latest library used 1.1's tables: $refused" ;;
esac
check_ok "the latest library refuses 1.1's tables until the update (55000)"
# ... in the 1.1 trigger too, which a 1.1 tenant could fire with a DELETE:
# a clean 55000, not a crash of the server
started=$(sql -d upgrade_old -c "SELECT pg_postmaster_start_time()")
refused=$(sql -d upgrade_old -c "DELETE FROM wastore.store_owners WHERE store = 'acct-1'" 2>&1 || true)
case $refused in
*"tables are those of an older version"*) ;;
*) check_fail "the 1.1 trigger with the latest library: $refused" ;;
esac
[ "$(sql -d upgrade_old -c "SELECT pg_postmaster_start_time()")" = "$started" ] ||
	check_fail "the server restarted after a DELETE on 1.1's tables"
check_ok "... its trigger too: a DELETE of a store row raises 55000 and changes nothing"
before=$(sql -d upgrade_old <test/dump/contents_by_store.sql)
[ "$(echo "$before" | grep -c ' 0$')" -eq 0 ] || check_fail "a part is empty before the update: $before"
sql -d upgrade_old -c "ALTER EXTENSION wastore UPDATE"
[ "$(sql -d upgrade_old -c "SELECT extversion FROM pg_extension WHERE extname = 'wastore'")" = "$latest" ] ||
	check_fail "ALTER EXTENSION UPDATE did not reach $latest"
check_ok "ALTER EXTENSION wastore UPDATE from 1.1 reaches $latest"
after=$(sql -d upgrade_old <test/dump/contents_by_store.sql)
# the parts 1.1 had keep every row; parts new in the update start empty
# (an empty part's digest is NULL: its line ends with the separator)
after_old_parts=$(awk -F'|' 'NR == FNR { had[$1]; next } $1 in had' <(echo "$before") <(echo "$after"))
new_parts=$(awk -F'|' 'NR == FNR { had[$1]; next } !($1 in had)' <(echo "$before") <(echo "$after"))
[ "$before" = "$after_old_parts" ] || check_fail "the update changed the data:
$(diff <(echo "$before") <(echo "$after_old_parts"))"
[ -z "$(echo "$new_parts" | grep -v '|$' | grep -v '^$')" ] || check_fail "a part new in the update is not empty: $new_parts"
check_ok "the update keeps every row of every store ($(echo "$after_old_parts" | wc -l) parts; new parts empty: $(echo "$new_parts" | cut -d'|' -f1 | tr '\n' ' ')"
orphans=$(sql -d upgrade_old -c "SELECT (SELECT count(*) FROM wastore.keys WHERE value->>'private' = 'ORPHAN')
	+ (SELECT count(*) FROM wastore.auth_states WHERE auth_state->>'registrationId' = '666')
	+ (SELECT count(*) FROM wastore.conn_values c WHERE NOT EXISTS (SELECT FROM wastore.store_owners o WHERE o.incarnation = c.incarnation))
	+ (SELECT count(*) FROM wastore.sync_versions v WHERE NOT EXISTS (SELECT FROM wastore.store_owners o WHERE o.incarnation = v.incarnation))")
[ "$orphans" = 0 ] || check_fail "rows of no store survived the update: $orphans"
check_ok "the update drops the rows of no store"

sql -d upgrade_10 -c "CREATE EXTENSION wastore VERSION '1.0'" -c "ALTER EXTENSION wastore UPDATE"
[ "$(sql -d upgrade_10 -c "SELECT extversion FROM pg_extension WHERE extname = 'wastore'")" = "$latest" ] ||
	check_fail "1.0 did not update to $latest"
check_ok "1.0 updates to $latest"

# Rows that 1.2's CHECK constraints reject, written into 1.0's and 1.1's
# tables at psql: the update repairs them where the repair keeps their
# meaning and drops them where no function could use them, says so, and
# leaves every constraint validated; the functions work on what is left.
sql -d upgrade_repair -c "CREATE EXTENSION wastore VERSION '1.0'"
sql -d upgrade_repair <test/upgrade/fill_repair_1.0.sql >/dev/null
sql -d upgrade_repair -c "ALTER EXTENSION wastore UPDATE TO '1.1'"
sql -d upgrade_repair <test/upgrade/fill_repair_1.1.sql >/dev/null
notices=$(sql -d upgrade_repair -c "ALTER EXTENSION wastore UPDATE" 2>&1) ||
	check_fail "the update of rows that break 1.2's constraints failed: $notices"
[ "$(echo "$notices" | grep -c '^WARNING:  wastore: ')" -eq 13 ] ||
	check_fail "the update did not report each kind of repair:
$notices"
check_ok "the update repairs or drops the rows that 1.2's constraints reject, and says so"
out=$(sql -d upgrade_repair <<'SQL'
SELECT count(*) FROM pg_constraint WHERE connamespace = 'wastore'::regnamespace AND contype = 'c' AND NOT convalidated;
SELECT string_agg(store, ',' ORDER BY store) FROM wastore.store_owners;
SELECT count(*) FROM wastore.keys;
SELECT string_agg(i, ',' ORDER BY i) FROM wastore.list_ids('repair', 'session') i;
SELECT string_agg(i, ',' ORDER BY i) FROM wastore.list_ids('repair', 'app-state-sync-version') i;
SELECT (SELECT count(*) FROM wastore.sync_index) || ' ' || (SELECT count(*) FROM wastore.sync_versions);
SELECT wastore.conn_snapshot('repair') -> 'values';
SELECT wastore.chat_snapshot('repair') - 'locks' - 'pending_locks';
SELECT wastore.chat_snapshot('repair-2') -> 'dedupe_order';
SELECT string_agg(lock_key || '=' || coalesce(expires_at::text, 'none'), ',' ORDER BY lock_key) FROM wastore.chat_locks;
SELECT wastore.chat_snapshot('repair') #> '{pending_locks,never}';
SELECT min(seq) > 10 FROM wastore.chat_pending;
SELECT wastore.chat_mark_dedupe('repair', 'wa', 'm3', 2), wastore.chat_mark_dedupe('repair-2', 'wa', 'n4', 3);
SELECT wastore.chat_snapshot('repair') -> 'dedupe_order';
SELECT wastore.chat_acquire_lock('repair', 'never', 'other'), wastore.chat_acquire_lock('repair', 'expired', 'other');
SELECT version FROM wastore.apply_app_state_patch('repair', 'regular', 2, ARRAY['set'], ARRAY[sha256('i2')], ARRAY[sha256('v2')]);
SQL
)
expected='0
repair,repair-2
1
good.0
regular
1 1
{"routing_info": "kept"}
{"kv": {}, "lists": {}, "dedupe": [["wa", "m1"], ["wa", "m2"]], "queues": {}, "dedupe_order": [["wa", "m1"], ["wa", "m2"]], "thread_state": {"thread-1": {"kept": true}}, "channel_state": {"channel-1": {"kept": true}}, "subscriptions": ["thread-1"], "dedupe_expires_at": []}
[["wa", "n1"], ["wa", "n2"], ["wa", "n3"]]
expired=4714-11-24 00:00:00+00 BC,never=none,until-2030=2030-01-01 00:00:00+00
[{"n": 1}, {"n": 2}, {"n": 3}]
t
t|t
[["wa", "m2"], ["wa", "m3"]]
busy|acquired
2'
[ "$out" = "$expected" ] || check_fail "the repaired rows are not as documented:
$out
expected:
$expected"
check_ok "... infinite expiries keep their meaning, dedupe windows and pending lists their order, and the functions work on the repaired stores"

# The same objects as a fresh install, with the same definitions (the
# tables' constraints included).
objects() {
	sql -d "$1" <<'SQL'
SELECT pg_describe_object(classid, objid, objsubid) || coalesce(' ' || CASE classid
		WHEN 'pg_proc'::regclass THEN (SELECT CASE WHEN p.prokind = 'f' THEN pg_get_functiondef(p.oid)
			ELSE p.prokind::text || ' ' || pg_get_function_identity_arguments(p.oid) || ' ' || p.prorettype::regtype END
			FROM pg_proc p WHERE p.oid = objid)
		WHEN 'pg_class'::regclass THEN (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
										  FROM pg_attribute a WHERE a.attrelid = objid AND a.attnum > 0 AND NOT a.attisdropped)
		END, '')
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'wastore')
UNION ALL
SELECT 'policy ' || polname || ' on ' || polrelid::regclass || ' ' || pg_get_expr(polqual, polrelid) FROM pg_policy
UNION ALL
SELECT 'rls on ' || oid::regclass FROM pg_class WHERE relrowsecurity AND relnamespace = 'wastore'::regnamespace
UNION ALL
SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'constraint ' || conname || ' on ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid)
	|| CASE WHEN convalidated THEN '' ELSE ' (not validated)' END
	|| coalesce(' comment: ' || obj_description(oid, 'pg_constraint'), '')
  FROM pg_constraint WHERE connamespace = 'wastore'::regnamespace
UNION ALL
SELECT 'comment on ' || pg_describe_object(classoid, objoid, objsubid) || ': ' || description FROM pg_description
 WHERE (classoid, objoid) IN (SELECT classid, objid FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e')
ORDER BY 1;
SQL
}
sql -d upgrade_new -c "CREATE EXTENSION wastore"
fresh=$(objects upgrade_new) || die "listing the objects of a fresh install failed"
upgraded=$(objects upgrade_old) || die "listing the objects of an upgraded install failed"
[ "$(echo "$fresh" | grep -c '^function wastore\.')" -ge 60 ] || die "too few objects listed: $fresh"
[ "$fresh" = "$upgraded" ] || check_fail "an upgraded install differs from a fresh one:
$(diff <(echo "$fresh") <(echo "$upgraded"))"
check_ok "the upgraded extension has the objects of a fresh install ($(echo "$fresh" | wc -l) objects, policies, comments)"

# The latest behaviour on the upgraded data: the tenant keeps its access
# (no new grant), reaches its own store through the functions, no table.
out=$(sql -d upgrade_old <<'SQL'
SET ROLE upgrade_tenant;
SELECT value FROM wastore.get('tenant', 'session', ARRAY['x.0']);
SELECT wastore.creds('tenant')->>'registrationId';
SELECT (wastore.try_set('acct-1', '{"session": {"a.0": "eA=="}}')).sqlstate;
SELECT count(*) FROM wastore.stores;
SELECT has_table_privilege('wastore.keys', 'SELECT');
RESET ROLE;
SELECT count(*) FROM wastore.get('acct-1', 'pre-key', ARRAY['1', '2', '31']);
SELECT wastore.creds('acct-2')->>'registrationId';
SELECT wastore.merge_creds('acct-2', '{"nextPreKeyId": 40}')->>'nextPreKeyId';
SELECT wastore.chat_is_duplicate('acct-1', 'whatsapp', 'msg-2');
SELECT (wastore.get_app_state_sync_version('acct-1', 'regular_high')->>'version');
SQL
)
out=$(echo "$out" | sed '/^$/d')	# the void results
expected='"eA=="
7
42501
1
f
2
1002
40
t
1'
[ "$out" = "$expected" ] || check_fail "the upgraded extension misbehaves:
$out
expected:
$expected"
check_ok "the upgraded extension behaves like $latest: the tenant keeps its access, through the functions only"

sql -d postgres -c "DROP DATABASE upgrade_old" -c "DROP DATABASE upgrade_new" -c "DROP DATABASE upgrade_10" \
	-c "DROP DATABASE upgrade_repair" -c "DROP ROLE upgrade_tenant"
log "upgrade: 1.1 to $latest keeps every row of every store ($(echo "$after" | wc -l) parts) and drops rows of no store, matches a fresh install ($(echo "$fresh" | wc -l) objects, comments), the tenant keeps its access; 1.0 updates too"
