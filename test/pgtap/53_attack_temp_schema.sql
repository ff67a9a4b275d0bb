-- ATTACK (blocked): wastore's statements run as the tables' owner under the
-- path pg_catalog, then the session's temporary schema (plans.c).  A tenant
-- fills its temporary schema, before this backend prepares any statement,
-- with tables, views, types and domains named like wastore's tables and
-- like the types, tables and views the statements name, and puts pg_temp
-- first on its own search_path.  None of them is found: everything the
-- statements name is schema-qualified or in pg_catalog, which comes first,
-- and PostgreSQL never looks up functions or operators in pg_temp.
BEGIN;
SELECT plan(9);

CREATE ROLE wastore_tmp_tenant NOLOGIN;
SELECT wastore.grant_access('wastore_tmp_tenant');
SET LOCAL ROLE wastore_tmp_tenant;

-- the tables (and excluded, ON CONFLICT's pseudo-table)
CREATE TEMP TABLE store_owners (store text, owner regrole, incarnation bigint, lock_salt bytea);
CREATE TEMP TABLE keys (incarnation bigint, family text, id text, value jsonb);
CREATE TEMP TABLE auth_states (incarnation bigint, auth_state jsonb);
CREATE TEMP TABLE conn_values (incarnation bigint, key text, value jsonb);
CREATE TEMP TABLE sync_versions (incarnation bigint, collection text, version bigint, hash bytea);
CREATE TEMP TABLE sync_index (incarnation bigint, collection text, index_mac bytea, value_mac bytea);
CREATE TEMP TABLE excluded (value jsonb);
CREATE TEMP TABLE taken (seq bigint, entry jsonb);
CREATE TEMP TABLE cleared (x int);
CREATE TEMP VIEW stores AS SELECT 'evil'::text AS store;
-- types and domains: wastore's own names, and pg_catalog's
CREATE TYPE pg_temp.family AS ENUM ('session', 'pre-key');
CREATE TYPE pg_temp.lock_strategy AS ENUM ('reject');
CREATE TYPE pg_temp.lthash AS (x int);
CREATE DOMAIN pg_temp.text AS int CHECK (VALUE > 0);
CREATE DOMAIN pg_temp.jsonb AS int CHECK (VALUE > 0);
CREATE DOMAIN pg_temp.int8 AS int CHECK (VALUE > 0);
CREATE DOMAIN pg_temp.bytea AS int CHECK (VALUE > 0);
CREATE DOMAIN pg_temp.regrole AS int CHECK (VALUE > 0);
CREATE FUNCTION pg_temp.jsonb_build_object(VARIADIC pg_catalog.text[]) RETURNS pg_catalog.jsonb
	LANGUAGE sql AS $$ SELECT '{"evil": true}'::pg_catalog.jsonb $$;
CREATE FUNCTION pg_temp.unnest(pg_catalog.anyarray) RETURNS SETOF pg_catalog.text
	LANGUAGE sql AS $$ SELECT 'evil' $$;
SET LOCAL search_path = pg_temp, pg_catalog;

SELECT wastore.set('tmp-a', '{"session": {"1": {"s": 1}}, "pre-key": {"2": {"k": 2}}, "creds": {"registrationId": 5}}');
SELECT wastore.chat_acquire_lock('tmp-a', 'k', 'o1'), wastore.chat_acquire_lock('tmp-a', 'k', 'o2', 'queue');
SELECT count(*) FROM wastore.apply_app_state_patch('tmp-a', 'regular', 1, ARRAY['set'], ARRAY[sha256('i')], ARRAY[sha256('v')]);
CREATE TEMP TABLE tmp_results AS
SELECT (SELECT pg_catalog.jsonb_object_agg(id, value) FROM wastore.get('tmp-a', 'session', ARRAY['1'])) AS got,
	   (SELECT pg_catalog.jsonb_object_agg(id, value) FROM wastore.list('tmp-a', 'pre-key')) AS listed,
	   wastore.conn_snapshot('tmp-a') AS conn,
	   (SELECT pending FROM wastore.chat_release_lock('tmp-a', 'k', 'o1')) AS pending,
	   wastore.get_app_state_sync_version('tmp-a', 'regular') AS version,
	   (SELECT count(*)::int FROM wastore.stores) AS stores,
	   (SELECT count(*)::int FROM store_owners) + (SELECT count(*)::int FROM keys)
	   + (SELECT count(*)::int FROM auth_states) + (SELECT count(*)::int FROM excluded) AS lookalike_rows;
-- the look-alike types go before pgTAP's own functions run under this path
DROP DOMAIN pg_temp.text, pg_temp.jsonb, pg_temp.int8, pg_temp.bytea, pg_temp.regrole;
RESET search_path;

SELECT is((SELECT got FROM tmp_results), '{"1": {"s": 1}}', 'get: wastore''s rows, though pg_temp holds look-alike tables and types');
SELECT is((SELECT listed FROM tmp_results), '{"2": {"k": 2}}', 'list');
SELECT is((SELECT conn -> 'creds' FROM tmp_results), '{"registrationId": 5}', 'conn_snapshot (wastore.creds inside its statement)');
SELECT is((SELECT conn -> 'values' FROM tmp_results), '{}', '... and conn_values is wastore''s');
SELECT is((SELECT pending FROM tmp_results), '[{"owner": "o2", "strategy": "queue", "metadata": {}}]', 'chat_release_lock builds its entry with pg_catalog''s jsonb_build_object');
SELECT is((SELECT version ->> 'version' FROM tmp_results), '1', 'the app state version was written to wastore.sync_versions');
SELECT is((SELECT stores FROM tmp_results), 1, 'the stores view is wastore''s');
SELECT is((SELECT lookalike_rows FROM tmp_results), 0, 'nothing was written to the look-alike tables');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'tmp-a'), 1, 'the store is the tenant''s');

SELECT * FROM finish();
ROLLBACK;
