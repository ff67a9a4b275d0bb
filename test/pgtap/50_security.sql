-- Tenants: two unprivileged roles, each given access with grant_access, can
-- neither read nor change the other's store through any function (42501);
-- the tables are private to the extension's owner (1.2), so no direct SQL,
-- EXPLAIN or statistics reach them; a member of the owner role shares the
-- store; deleting a store row purges its rows.
BEGIN;
SELECT plan(88);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

CREATE ROLE wastore_sec_a NOLOGIN;
CREATE ROLE wastore_sec_b NOLOGIN;
CREATE ROLE wastore_sec_a_member NOLOGIN IN ROLE wastore_sec_a;
CREATE ROLE wastore_sec_none NOLOGIN;
SELECT wastore.grant_access('wastore_sec_a'), wastore.grant_access('wastore_sec_b'),
	   wastore.grant_access('wastore_sec_a_member');

-- Nothing for a role that was not granted access.
SET LOCAL ROLE wastore_sec_none;
SELECT throws_ok($$ SELECT * FROM wastore.get('x', 'session', ARRAY['1']) $$, '42501', NULL,
	'a role without grant_access cannot use wastore');
SELECT throws_ok($$ SELECT * FROM wastore.keys $$, '42501', NULL, '... nor read its tables');
RESET ROLE;

-- Each tenant fills its store in every part.
SET LOCAL ROLE wastore_sec_a;
SELECT wastore.set('sec-a', '{"session": {"1.0": "c2Vzc2lvbg=="}, "pre-key": {"1": {"public": "p", "private": "k"}}, "creds": {"registrationId": 1}}');
SELECT wastore.conn_put('sec-a', 'routing', '"cm91dGU="');
SELECT * FROM wastore.apply_app_state_patch('sec-a', 'regular', 1, ARRAY['set'], ARRAY[sha256('i')], ARRAY[sha256('v')]);
SELECT wastore.put_app_state_sync_key('sec-a', 'AAAAAGNe', '{"keyData": "a2V5"}');
SELECT wastore.chat_subscribe('sec-a', 't1'), wastore.chat_put_thread_state('sec-a', 't1', '{"s": 1}'),
	   wastore.chat_put_channel_state('sec-a', 'c1', '{"s": 1}'), wastore.chat_mark_dedupe('sec-a', 'wa', 'm1'),
	   wastore.chat_acquire_lock('sec-a', 'l1', 'worker'), wastore.chat_acquire_lock('sec-a', 'l1', 'other', 'queue');
SELECT is((SELECT count(*)::int FROM wastore.stores), 1, 'a tenant sees its own store in the stores view');
RESET ROLE;
SET LOCAL ROLE wastore_sec_b;
SELECT wastore.set('sec-b', '{"session": {"1.0": "Yg=="}, "creds": {"registrationId": 2}}');
RESET ROLE;

CREATE TEMP TABLE before_a AS
SELECT (SELECT jsonb_agg(k ORDER BY family, id) FROM wastore.keys k WHERE incarnation = pg_temp.inc('sec-a')) AS keys,
	   wastore.conn_snapshot('sec-a') AS conn, wastore.chat_snapshot('sec-a') AS chat,
	   (SELECT jsonb_agg(i ORDER BY index_mac) FROM wastore.sync_index i WHERE incarnation = pg_temp.inc('sec-a')) AS sync;
GRANT SELECT ON before_a TO PUBLIC;

-- The other tenant: every function refuses with 42501.
SET LOCAL ROLE wastore_sec_b;
SELECT throws_ok($$ SELECT * FROM wastore.get('sec-a', 'session', ARRAY['1.0']) $$, '42501', 'permission denied for store "sec-a"', 'get of another tenant''s store');
SELECT throws_ok($$ SELECT * FROM wastore.list('sec-a', 'session') $$, '42501', NULL, 'list');
SELECT throws_ok($$ SELECT * FROM wastore.list_ids('sec-a', 'pre-key') $$, '42501', NULL, 'list_ids');
SELECT throws_ok($$ SELECT wastore.set('sec-a', '{"session": {"1.0": "eA=="}}') $$, '42501', NULL, 'set');
SELECT is((SELECT (ok, sqlstate) FROM wastore.try_set('sec-a', '{"session": {"1.0": "eA=="}}')), (false, '42501'::text), 'try_set reports 42501');
SELECT throws_ok($$ SELECT wastore.clear('sec-a') $$, '42501', NULL, 'clear');
SELECT throws_ok($$ SELECT wastore.drop_store('sec-a') $$, '42501', NULL, 'drop_store');
SELECT throws_ok($$ SELECT wastore.create_store('sec-a') $$, '42501', NULL, 'create_store of a taken id');
SELECT throws_ok($$ SELECT wastore.lock('sec-a', 'session:1.0') $$, '42501', NULL, 'lock (it would block the owner''s transactions)');
SELECT throws_ok($$ SELECT wastore.try_lock('sec-a', 'session:1.0') $$, '42501', NULL, 'try_lock (it would tell whether the owner holds a lock)');
SELECT throws_ok($$ SELECT wastore.lock_records('sec-a', 'session', ARRAY['1.0']) $$, '42501', NULL, 'lock_records');
SELECT throws_ok($$ SELECT wastore.merge_creds('sec-a', '{"registrationId": 3}') $$, '42501', NULL, 'merge_creds');
SELECT throws_ok($$ SELECT wastore.auth_state('sec-a') $$, '42501', NULL, 'auth_state');
SELECT throws_ok($$ SELECT wastore.creds('sec-a') $$, '42501', NULL, 'creds');
SELECT throws_ok($$ SELECT wastore.conn_get('sec-a', 'routing') $$, '42501', NULL, 'conn_get');
SELECT throws_ok($$ SELECT wastore.conn_put('sec-a', 'routing', '"eA=="') $$, '42501', NULL, 'conn_put');
SELECT throws_ok($$ SELECT wastore.conn_delete('sec-a', 'routing') $$, '42501', NULL, 'conn_delete');
SELECT throws_ok($$ SELECT wastore.conn_snapshot('sec-a') $$, '42501', NULL, 'conn_snapshot');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('sec-a', 'regular', 2, ARRAY['set'], ARRAY[sha256('i')], ARRAY[sha256('w')]) $$, '42501', NULL, 'apply_app_state_patch');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_snapshot('sec-a', 'regular', 2, ARRAY[]::bytea[], ARRAY[]::bytea[]) $$, '42501', NULL, 'apply_app_state_snapshot');
SELECT throws_ok($$ SELECT wastore.get_app_state_sync_version('sec-a', 'regular') $$, '42501', NULL, 'get_app_state_sync_version');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('sec-a', 'regular', NULL) $$, '42501', NULL, 'put_app_state_sync_version');
SELECT throws_ok($$ SELECT wastore.get_app_state_sync_key('sec-a', 'AAAAAGNe') $$, '42501', NULL, 'get_app_state_sync_key');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_key('sec-a', 'AAAAAGNe', NULL) $$, '42501', NULL, 'put_app_state_sync_key');
SELECT throws_ok($$ SELECT wastore.chat_subscribe('sec-a', 't2') $$, '42501', NULL, 'chat_subscribe');
SELECT throws_ok($$ SELECT wastore.chat_unsubscribe('sec-a', 't1') $$, '42501', NULL, 'chat_unsubscribe');
SELECT throws_ok($$ SELECT wastore.chat_is_subscribed('sec-a', 't1') $$, '42501', NULL, 'chat_is_subscribed');
SELECT throws_ok($$ SELECT wastore.chat_thread_state('sec-a', 't1') $$, '42501', NULL, 'chat_thread_state');
SELECT throws_ok($$ SELECT wastore.chat_put_thread_state('sec-a', 't1', '{}') $$, '42501', NULL, 'chat_put_thread_state');
SELECT throws_ok($$ SELECT wastore.chat_channel_state('sec-a', 'c1') $$, '42501', NULL, 'chat_channel_state');
SELECT throws_ok($$ SELECT wastore.chat_put_channel_state('sec-a', 'c1', '{}') $$, '42501', NULL, 'chat_put_channel_state');
SELECT throws_ok($$ SELECT wastore.chat_is_duplicate('sec-a', 'wa', 'm1') $$, '42501', NULL, 'chat_is_duplicate');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('sec-a', 'wa', 'm2') $$, '42501', NULL, 'chat_mark_dedupe');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('sec-a', 'l1', 'intruder') $$, '42501', NULL, 'chat_acquire_lock');
SELECT throws_ok($$ SELECT * FROM wastore.chat_release_lock('sec-a', 'l1', 'worker') $$, '42501', NULL, 'chat_release_lock');
SELECT throws_ok($$ SELECT wastore.chat_force_release_lock('sec-a', 'l1') $$, '42501', NULL, 'chat_force_release_lock');
SELECT throws_ok($$ SELECT wastore.chat_snapshot('sec-a') $$, '42501', NULL, 'chat_snapshot');
SELECT throws_ok($$ SELECT wastore.chat_load_snapshot('sec-a', '{}') $$, '42501', NULL, 'chat_load_snapshot');

-- ... and direct SQL reaches no table: not another tenant's rows, not even
-- its own (those it reads through the functions).  No plan over the tables
-- can run, so EXPLAIN (ANALYZE) row counts and the planner's statistics tell
-- it nothing either.
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'sec-a'), 0, 'the stores view hides it');
SELECT throws_ok($$ SELECT count(*) FROM wastore.store_owners $$, '42501', NULL, 'store_owners is not readable');
SELECT throws_ok($$ SELECT count(*) FROM wastore.keys $$, '42501', NULL, 'keys is not readable');
SELECT throws_ok($$ SELECT count(*) FROM wastore.auth_states $$, '42501', NULL, 'auth_states is not readable');
SELECT throws_ok($$ SELECT count(*) FROM wastore.conn_values $$, '42501', NULL, 'conn_values is not readable');
SELECT throws_ok($$ SELECT count(*) FROM wastore.sync_versions $$, '42501', NULL, 'sync_versions is not readable');
SELECT throws_ok($$ SELECT count(*) FROM wastore.sync_index $$, '42501', NULL, 'sync_index is not readable');
SELECT throws_ok($$ SELECT count(*) FROM wastore.chat_locks $$, '42501', NULL, 'chat_locks is not readable');
SELECT throws_ok($$ SELECT count(*) FROM wastore.chat_dedupe $$, '42501', NULL, 'chat_dedupe is not readable');
SELECT throws_ok($$ EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT * FROM wastore.keys WHERE incarnation = 1 AND id = '1.0' $$, '42501', NULL,
	'EXPLAIN ANALYZE of a table is refused');
SELECT throws_ok($$ EXPLAIN SELECT * FROM wastore.keys WHERE id = '1.0' $$, '42501', NULL,
	'... and so is a plain EXPLAIN (its row estimates come from the statistics)');
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'wastore'), 0, 'pg_stats shows no statistics of the tables');
SELECT throws_ok($$ INSERT INTO wastore.keys (incarnation, family, id, value) VALUES (1, 'session', '2.0', '"eA=="') $$, '42501', NULL,
	'an INSERT is refused');
SELECT throws_ok($$ INSERT INTO wastore.store_owners (store, owner) VALUES ('given-to-a', 'wastore_sec_a') $$, '42501', NULL,
	'a store cannot be created by direct SQL');
SELECT throws_ok($$ UPDATE wastore.store_owners SET owner = 'wastore_sec_b' $$, '42501', NULL,
	'stores cannot be renamed or given away');
SELECT throws_ok($$ UPDATE wastore.keys SET value = '"eA=="' $$, '42501', NULL, 'an UPDATE is refused');
SELECT throws_ok($$ DELETE FROM wastore.store_owners $$, '42501', NULL, '... and a DELETE');
SELECT throws_ok($$ SELECT wastore.store_owners_purge() $$, '42501', NULL, 'the purge trigger function is not for tenants');
SELECT throws_ok($$ SELECT wastore.grant_access('wastore_sec_b') $$, '42501', NULL, 'a tenant cannot grant access');
SELECT throws_ok($$ SELECT wastore_internal.chat_snapshot(1) $$, '42501', NULL,
	'the internal SQL functions are not for tenants');
SELECT throws_ok($$ SELECT wastore_internal.chat_load_snapshot(1, '{}') $$, '42501', NULL,
	'... not even to write through them');
SELECT ok(NOT has_schema_privilege('wastore_internal', 'USAGE'), 'a tenant has no USAGE on wastore_internal');
RESET ROLE;

SELECT is((SELECT jsonb_agg(k ORDER BY family, id) FROM wastore.keys k WHERE incarnation = pg_temp.inc('sec-a')), (SELECT keys FROM before_a),
	'the first tenant''s keys are unchanged');
SELECT is(wastore.conn_snapshot('sec-a'), (SELECT conn FROM before_a), '... its connection store and creds too');
SELECT is(wastore.chat_snapshot('sec-a'), (SELECT chat FROM before_a), '... and its chat state');
SELECT is((SELECT jsonb_agg(i ORDER BY index_mac) FROM wastore.sync_index i WHERE incarnation = pg_temp.inc('sec-a')), (SELECT sync FROM before_a),
	'... and its app-state sync state');
SELECT is((SELECT owner::text FROM wastore.store_owners WHERE store = 'sec-a'), 'wastore_sec_a', '... and it still owns its store');

-- A member of the owner role shares the store.
SET LOCAL ROLE wastore_sec_a_member;
SELECT is((SELECT value FROM wastore.get('sec-a', 'session', ARRAY['1.0'])), '"c2Vzc2lvbg=="', 'a member of the owner role reads the store');
SELECT lives_ok($$ SELECT wastore.set('sec-a', '{"session": {"2.0": "bWVtYmVy"}}') $$, '... writes it');
SELECT is(wastore.creds('sec-a'), '{"registrationId": 1}', '... reads its creds');
SELECT is((SELECT count(*)::int FROM wastore.list('sec-a', 'session')), 2, '... lists its keys');
SELECT is(wastore.chat_is_duplicate('sec-a', 'wa', 'm1'), true, '... and its chat state');
SELECT lives_ok($$ SELECT wastore.lock('sec-a', 'session:1.0') $$, '... and locks its keys');
RESET ROLE;

-- Deleting a store row at psql (an administrator's repair) takes the store's
-- rows with it: no row is left for whoever creates a store of that name next.
SELECT pg_temp.inc('sec-b') AS dropped \gset
SELECT lives_ok($$ DELETE FROM wastore.store_owners WHERE store = 'sec-b' $$, 'an administrator deletes a store row');
SELECT is((SELECT count(*)::int FROM wastore.keys WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.auth_states WHERE incarnation = :dropped), 0, '... and its rows went with it');
SET LOCAL ROLE wastore_sec_a;
SELECT is((SELECT count(*)::int FROM wastore.get('sec-b', 'session', ARRAY['1.0'])), 0,
	'another tenant reusing the id finds nothing');
RESET ROLE;

-- The owner check works in parallel mode too.
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL ROLE wastore_sec_a;
SELECT is((SELECT count(*)::int FROM wastore.stores), 1, 'the stores view in parallel mode shows the tenant''s store');
SELECT is((SELECT count(*)::int FROM wastore.get('sec-a', 'session', ARRAY['1.0', '2.0'])), 2, '... and get works in parallel mode');
RESET ROLE;
RESET force_parallel_mode;
RESET parallel_setup_cost;

-- A store id written at psql follows the same rules.
SELECT throws_ok($$ INSERT INTO wastore.store_owners (store, owner) VALUES ('', 'wastore_sec_a') $$, '23514', NULL,
	'an empty store id is refused at psql too');
SELECT throws_ok($$ INSERT INTO wastore.store_owners (store, owner) VALUES (repeat('x', 257), 'wastore_sec_a') $$, '23514', NULL,
	'... and an overlong one');

-- owns_store, grant_access and revoke_access themselves.
SET LOCAL ROLE wastore_sec_a;
SELECT is(wastore.owns_store('sec-a'), true, 'owns_store: the tenant''s own store');
SELECT is(wastore.owns_store('no-such-store'), false, '... false for a store that does not exist');
RESET ROLE;
SELECT throws_ok($$ SELECT wastore.grant_access(NULL) $$, '22004', 'role must not be NULL', 'grant_access(NULL) raises 22004');
SELECT throws_ok($$ SELECT wastore.revoke_access(NULL) $$, '22004', 'role must not be NULL', 'revoke_access(NULL) raises 22004');
SELECT lives_ok($$ SELECT wastore.revoke_access('wastore_sec_b') $$, 'revoke_access takes access back ...');
SET LOCAL ROLE wastore_sec_b;
SELECT throws_ok($$ SELECT * FROM wastore.get('sec-b', 'session', ARRAY['1.0']) $$, '42501', NULL,
	'... the role can no longer use wastore, not even for its own store');
RESET ROLE;

-- Superusers administer every store.
SELECT is((SELECT count(*)::int FROM wastore.get('sec-a', 'session', ARRAY['1.0', '2.0'])), 2, 'a superuser reads any tenant''s store');

SELECT * FROM finish();
ROLLBACK;
