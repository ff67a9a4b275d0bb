-- Tenants: two unprivileged roles, each given access with grant_access, can
-- neither read nor change the other's store, through any function (42501) or
-- through direct SQL on the tables (row-level security); a member of the
-- owner role can; deleting a store row purges its rows.
BEGIN;
SELECT plan(81);

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
SELECT (SELECT jsonb_agg(k ORDER BY family, id) FROM wastore.keys k WHERE store = 'sec-a') AS keys,
	   wastore.conn_snapshot('sec-a') AS conn, wastore.chat_snapshot('sec-a') AS chat,
	   (SELECT jsonb_agg(i ORDER BY index_mac) FROM wastore.sync_index i WHERE store = 'sec-a') AS sync;
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

-- ... and direct SQL sees none of its rows and changes none.
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'sec-a'), 0, 'the stores view hides it');
SELECT is((SELECT count(*)::int FROM wastore.store_owners WHERE store = 'sec-a'), 0, 'store_owners hides it');
SELECT is((SELECT count(*)::int FROM wastore.keys WHERE store = 'sec-a'), 0, 'keys hides its rows');
SELECT is((SELECT count(*)::int FROM wastore.auth_states WHERE store = 'sec-a')
		+ (SELECT count(*)::int FROM wastore.conn_values WHERE store = 'sec-a'), 0, 'auth_states and conn_values hide its rows');
SELECT is((SELECT count(*)::int FROM wastore.chat_subscriptions WHERE store = 'sec-a')
		+ (SELECT count(*)::int FROM wastore.chat_dedupe WHERE store = 'sec-a')
		+ (SELECT count(*)::int FROM wastore.chat_thread_state WHERE store = 'sec-a')
		+ (SELECT count(*)::int FROM wastore.chat_channel_state WHERE store = 'sec-a')
		+ (SELECT count(*)::int FROM wastore.chat_locks WHERE store = 'sec-a')
		+ (SELECT count(*)::int FROM wastore.chat_pending WHERE store = 'sec-a'), 0, 'the chat tables hide its rows');
SELECT is((SELECT count(*)::int FROM wastore.sync_versions WHERE store = 'sec-a')
		+ (SELECT count(*)::int FROM wastore.sync_index WHERE store = 'sec-a'), 0, 'the app-state sync tables hide its rows');
SELECT is((SELECT count(*)::int FROM wastore.keys), 1, '... while its own rows are there');
SELECT throws_ok($$ INSERT INTO wastore.keys VALUES ('sec-a', 'session', '2.0', '"eA=="') $$, '42501', NULL,
	'an INSERT into its store is refused');
SELECT throws_ok($$ INSERT INTO wastore.auth_states VALUES ('sec-a', '{}') $$, '42501', NULL, '... in every table');
SELECT throws_ok($$ INSERT INTO wastore.store_owners (store, owner) VALUES ('given-to-a', 'wastore_sec_a') $$, '42501', NULL,
	'a store cannot be created for a role whose privileges it lacks');
SELECT throws_ok($$ UPDATE wastore.store_owners SET owner = 'wastore_sec_b' $$, '42501', NULL,
	'stores cannot be renamed or given away');
SELECT lives_ok($$ UPDATE wastore.keys SET value = '"eA=="' WHERE store = 'sec-a' $$, 'an UPDATE of its keys ...');
SELECT lives_ok($$ DELETE FROM wastore.keys WHERE store = 'sec-a' $$, '... and a DELETE ...');
SELECT lives_ok($$ DELETE FROM wastore.store_owners WHERE store = 'sec-a' $$, '... and a DELETE of the store touch nothing');
SELECT throws_ok($$ SELECT wastore.grant_access('wastore_sec_b') $$, '42501', NULL, 'a tenant cannot grant access');
RESET ROLE;

SELECT is((SELECT jsonb_agg(k ORDER BY family, id) FROM wastore.keys k WHERE store = 'sec-a'), (SELECT keys FROM before_a),
	'the first tenant''s keys are unchanged');
SELECT is(wastore.conn_snapshot('sec-a'), (SELECT conn FROM before_a), '... its connection store and creds too');
SELECT is(wastore.chat_snapshot('sec-a'), (SELECT chat FROM before_a), '... and its chat state');
SELECT is((SELECT jsonb_agg(i ORDER BY index_mac) FROM wastore.sync_index i WHERE store = 'sec-a'), (SELECT sync FROM before_a),
	'... and its app-state sync state');
SELECT is((SELECT owner::text FROM wastore.store_owners WHERE store = 'sec-a'), 'wastore_sec_a', '... and it still owns its store');

-- A member of the owner role shares the store.
SET LOCAL ROLE wastore_sec_a_member;
SELECT is((SELECT value FROM wastore.get('sec-a', 'session', ARRAY['1.0'])), '"c2Vzc2lvbg=="', 'a member of the owner role reads the store');
SELECT lives_ok($$ SELECT wastore.set('sec-a', '{"session": {"2.0": "bWVtYmVy"}}') $$, '... writes it');
SELECT is(wastore.creds('sec-a'), '{"registrationId": 1}', '... reads its creds');
SELECT is((SELECT count(*)::int FROM wastore.keys WHERE store = 'sec-a'), 4, '... and sees its rows in the table');
SELECT is(wastore.chat_is_duplicate('sec-a', 'wa', 'm1'), true, '... and its chat state');
SELECT lives_ok($$ SELECT wastore.lock('sec-a', 'session:1.0') $$, '... and locks its keys');
RESET ROLE;

-- Deleting a store row at psql takes the store's rows with it: no row is
-- left for whoever creates a store of that name next.
SET LOCAL ROLE wastore_sec_b;
SELECT lives_ok($$ DELETE FROM wastore.store_owners WHERE store = 'sec-b' $$, 'a tenant deletes its store row');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM wastore.keys WHERE store = 'sec-b')
		+ (SELECT count(*)::int FROM wastore.auth_states WHERE store = 'sec-b'), 0, '... and its rows went with it');
SET LOCAL ROLE wastore_sec_a;
SELECT is((SELECT count(*)::int FROM wastore.get('sec-b', 'session', ARRAY['1.0'])), 0,
	'another tenant reusing the id finds nothing');
RESET ROLE;

-- Row-level security works in parallel plans too.
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL ROLE wastore_sec_a;
SELECT is((SELECT count(*)::int FROM wastore.keys), 4, 'a parallel scan of keys shows only the tenant''s rows');
SELECT is((SELECT count(*)::int FROM wastore.get('sec-a', 'session', ARRAY['1.0', '2.0'])), 2, '... and get works in parallel mode');
RESET ROLE;
RESET force_parallel_mode;
RESET parallel_setup_cost;

-- A store id written at psql follows the same rules.
SET LOCAL ROLE wastore_sec_a;
SELECT throws_ok($$ INSERT INTO wastore.store_owners (store, owner) VALUES ('', 'wastore_sec_a') $$, '23514', NULL,
	'an empty store id is refused at psql too');
SELECT throws_ok($$ INSERT INTO wastore.store_owners (store, owner) VALUES (repeat('x', 257), 'wastore_sec_a') $$, '23514', NULL,
	'... and an overlong one');
RESET ROLE;

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
