#!/usr/bin/env bash
# Upgrade path: install 1.0, fill every part, ALTER EXTENSION wastore UPDATE,
# and check that the data is unchanged, that the upgraded extension has
# exactly the objects of a fresh install, and that it behaves like 1.1
# (tenants with row-level security).
#
#   test/upgrade/run.sh     (run by scripts/test.sh against its cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
sql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS upgrade_old" \
	-c "DROP DATABASE IF EXISTS upgrade_new" -c "DROP ROLE IF EXISTS upgrade_tenant" \
	-c "CREATE DATABASE upgrade_old" -c "CREATE DATABASE upgrade_new"
latest=$(sed -n "s/^default_version = '\(.*\)'/\1/p" wastore.control)

sql -d upgrade_old -c "CREATE EXTENSION wastore VERSION '1.0'"
# The files on standard input: the postgres user may not be able to read
# the clone (/root/wastore).
sql -d upgrade_old <test/dump/fill.sql >/dev/null
before=$(sql -d upgrade_old <test/dump/contents.sql)
sql -d upgrade_old -c "ALTER EXTENSION wastore UPDATE"
[ "$(sql -d upgrade_old -c "SELECT extversion FROM pg_extension WHERE extname = 'wastore'")" = "$latest" ] ||
	check_fail "ALTER EXTENSION UPDATE did not reach $latest"
check_ok "ALTER EXTENSION wastore UPDATE from 1.0 reaches $latest"
after=$(sql -d upgrade_old <test/dump/contents.sql)
[ "$before" = "$after" ] || check_fail "the update changed the data:
$(diff <(echo "$before") <(echo "$after"))"
check_ok "the update keeps every row ($(echo "$after" | wc -l) parts)"

# The same objects as a fresh install, with the same definitions.
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

# 1.1's behaviour on the upgraded data: a tenant gets its own stores only.
out=$(sql -d upgrade_old <<'SQL'
CREATE ROLE upgrade_tenant;
SELECT wastore.grant_access('upgrade_tenant');
SET ROLE upgrade_tenant;
SELECT wastore.set('tenant', '{"session": {"a.0": "eA=="}}');
SELECT count(*) FROM wastore.keys;
SELECT (wastore.try_set('acct-1', '{"session": {"a.0": "eA=="}}')).sqlstate;
RESET ROLE;
SELECT count(*) FROM wastore.get('acct-1', 'pre-key', ARRAY['1', '2', '31']);
SELECT wastore.creds('acct-2')->>'registrationId';
SELECT wastore.merge_creds('acct-2', '{"nextPreKeyId": 40}')->>'nextPreKeyId';
SELECT wastore.chat_is_duplicate('acct-1', 'whatsapp', 'msg-8');
SQL
)
out=$(echo "$out" | sed '/^$/d')	# the void results
expected='1
42501
2
1002
40
t'
[ "$out" = "$expected" ] || check_fail "the upgraded extension misbehaves:
$out
expected:
$expected"
check_ok "the upgraded extension behaves like $latest: tenants isolated, data readable and writable"

sql -d postgres -c "DROP DATABASE upgrade_old" -c "DROP DATABASE upgrade_new" -c "DROP ROLE upgrade_tenant"
log "upgrade: 1.0 to $latest keeps every row ($(echo "$after" | wc -l) parts), matches a fresh install ($(echo "$fresh" | wc -l) objects, policies, comments), tenants isolated"
