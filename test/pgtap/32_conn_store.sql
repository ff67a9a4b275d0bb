-- The connection store: conn_put/get/delete, the read-only auth views,
-- conn_snapshot, the logout purge, ownership.
BEGIN;
SELECT plan(68);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

SELECT has_table('wastore', 'conn_values', 'conn_values exists');
SELECT col_is_pk('wastore', 'conn_values', ARRAY['incarnation', 'key'], 'conn_values is keyed by the store incarnation, then key');
SELECT has_function('wastore', 'conn_put', ARRAY['text', 'text', 'jsonb', 'bigint'], 'conn_put(text, text, jsonb, lease bigint)');
SELECT has_function('wastore', 'conn_get', ARRAY['text', 'text', 'jsonb'], 'conn_get(text, text, jsonb)');
SELECT has_function('wastore', 'conn_delete', ARRAY['text', 'text', 'bigint'], 'conn_delete(text, text, lease bigint)');
SELECT has_function('wastore', 'conn_snapshot', ARRAY['text'], 'conn_snapshot(text)');
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'wastore' AND p.proname LIKE 'conn\_%'
	  AND obj_description(p.oid, 'pg_proc') IS NOT NULL), 4, 'every conn function has a comment');
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_extension e, unnest(e.extconfig) c
	WHERE e.extname = 'wastore' AND c IN ('wastore.auth_states'::regclass, 'wastore.conn_values'::regclass)), 2,
	'pg_dump keeps the data of auth_states and conn_values');

--------------------------------------------------------------------------
-- baileys_ex Connection.Store: put and merge_creds update the shared view
--------------------------------------------------------------------------
SELECT wastore.merge_creds('bx', '{"creds": {"me": {"id": "15551234567@s.whatsapp.net"}}}');
SELECT lives_ok($$ SELECT wastore.conn_put('bx', 'last_account_sync_timestamp', '1710000000') $$, 'conn_put');
SELECT wastore.merge_creds('bx', '{"routing_info": {"type": "Buffer", "data": "BAUG"}, "me": {"lid": "12345678901234@lid"}}', true);
SELECT is(wastore.conn_get('bx', 'last_account_sync_timestamp'), '1710000000'::jsonb, 'conn_get reads the value back');
SELECT is(wastore.conn_get('bx', 'creds'),
	'{"me": {"id": "15551234567@s.whatsapp.net", "lid": "12345678901234@lid"}, "routing_info": {"type": "Buffer", "data": "BAUG"}}'::jsonb,
	'conn_get(creds) reads the merged creds projection');
SELECT is(wastore.conn_get('bx', 'auth_state'), wastore.auth_state('bx'), 'conn_get(auth_state) reads the auth state');

--------------------------------------------------------------------------
-- put, get, delete
--------------------------------------------------------------------------
CREATE TEMP TABLE shapes (key text, value jsonb) ON COMMIT DROP;
INSERT INTO shapes VALUES
	('connection_name', '"primary"'),
	('props', '{"abt": {"x": 1}, "list": [1, "2", null, true]}'),
	('blocklist', '["1@s.whatsapp.net", "2@s.whatsapp.net"]'),
	('last_prop_hash', '"3JtcDk"'),
	('privacy_settings', '{"readreceipts": "all", "online": "match_last_seen"}'),
	('flag', 'false'),
	('count', '0'),
	('empty_object', '{}'),
	('empty_array', '[]'),
	('', '"the empty key"'),
	('ü 😀', '"non-ASCII key"'),
	('big', jsonb_build_object('blob', repeat('A', 300000)));
SELECT is((SELECT count(*)::int FROM shapes, LATERAL (SELECT wastore.conn_put('rt', key, value)) w), 12, 'conn_put of every shape');
SELECT is((SELECT count(*)::int FROM shapes WHERE wastore.conn_get('rt', key) IS DISTINCT FROM value), 0,
	'every value reads back exactly as written');
SELECT is((SELECT owner::text FROM wastore.stores WHERE store = 'rt'), current_user::text,
	'conn_put creates a missing store, owned by current_user');
SELECT is(wastore.conn_get('rt', 'missing'), NULL, 'a missing key is NULL');
SELECT is(wastore.conn_get('rt', 'missing', '{"d": 1}'), '{"d": 1}'::jsonb, '... or the default');
SELECT is(wastore.conn_get('rt', 'count', '7'), '0'::jsonb, 'the default is not used when the key exists');
SELECT is(wastore.conn_get('no-store', 'k', '"dflt"'), '"dflt"'::jsonb, 'a missing store gives the default');
SELECT is(wastore.conn_get('no-store', 'k'), NULL, '... or NULL');

SELECT lives_ok($$ SELECT wastore.conn_put('rt', 'count', '1') $$, 'overwrite');
SELECT is(wastore.conn_get('rt', 'count'), '1'::jsonb, '... reads the new value');
SELECT lives_ok($$ SELECT wastore.conn_put('rt', 'count', '1') $$, 'writing an unchanged value');
SELECT is(wastore.conn_get('rt', 'count'), '1'::jsonb, '... keeps it');

SELECT lives_ok($$ SELECT wastore.conn_put('rt', 'connection_name', 'null') $$, 'conn_put of JSON null');
SELECT is(wastore.conn_get('rt', 'connection_name', '"gone"'), '"gone"'::jsonb, '... deletes the key');
SELECT lives_ok($$ SELECT wastore.conn_put('rt', 'props', NULL) $$, 'conn_put of SQL NULL');
SELECT is(wastore.conn_get('rt', 'props'), NULL, '... deletes the key');
SELECT lives_ok($$ SELECT wastore.conn_delete('rt', 'blocklist') $$, 'conn_delete');
SELECT is(wastore.conn_get('rt', 'blocklist'), NULL, '... deletes the key');
SELECT lives_ok($$ SELECT wastore.conn_delete('rt', 'blocklist') $$, 'conn_delete of a missing key is a no-op');
SELECT lives_ok($$ SELECT wastore.conn_put('rt', 'never-there', 'null') $$, 'conn_put null of a missing key is a no-op');
SELECT is((SELECT count(*)::int FROM wastore.conn_values WHERE incarnation = pg_temp.inc('rt')), 9, 'the other keys stay');
SELECT lives_ok($$ SELECT wastore.conn_delete('no-store', 'k') $$, 'conn_delete on a missing store is a no-op');
SELECT lives_ok($$ SELECT wastore.conn_put('no-store', 'k', 'null') $$, 'conn_put null on a missing store is a no-op');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'no-store'), 0, 'reads and deletes do not create a store');

-- the auth views
SELECT is(wastore.conn_get('rt', 'creds'), NULL, 'conn_get(creds) without an auth state is NULL');
SELECT is(wastore.conn_get('rt', 'auth_state', '{}'), '{}'::jsonb, '... or the default');
SELECT is(wastore.auth_state('rt'), NULL, '... and the default is not stored');

--------------------------------------------------------------------------
-- conn_snapshot
--------------------------------------------------------------------------
CREATE TEMP TABLE lthash_state ON COMMIT DROP AS
	SELECT jsonb_build_object('version', 5, 'hash',
		jsonb_build_object('type', 'Buffer', 'data', translate(encode(decode(repeat('00', 128), 'hex'), 'base64'), E'\n', '')),
		'indexValueMap', '{}'::jsonb) AS state;
SELECT wastore.merge_creds('snap', '{"creds": {"me": {"id": "1@s.whatsapp.net"}, "registrationId": 9}, "keys": {}}');
SELECT wastore.conn_put('snap', 'last_account_sync_timestamp', '1710000000');
SELECT wastore.conn_put('snap', 'blocklist', '["5@s.whatsapp.net"]');
SELECT wastore.set('snap', jsonb_build_object(
	'app-state-sync-key', '{"AAAAAAg1": {"keyData": "tYKh/c0MNxSh57dMnYvAAADfFlSGB75sZSiKQ+4KQZE=", "fingerprint": {"rawId": 1, "currentIndex": 1, "deviceIndexes": [0, 1]}, "timestamp": "1761797535822"}}'::jsonb,
	'app-state-sync-version', (SELECT jsonb_build_object('regular', state, 'critical_block', state) FROM lthash_state),
	'session', '{"peer.0": "not part of the connection store"}'::jsonb));
SELECT wastore.conn_put('other', 'blocklist', '["6@s.whatsapp.net"]');

SELECT is(wastore.conn_snapshot('snap'), jsonb_build_object(
	'auth_state', '{"creds": {"me": {"id": "1@s.whatsapp.net"}, "registrationId": 9}, "keys": {}}'::jsonb,
	'creds', '{"me": {"id": "1@s.whatsapp.net"}, "registrationId": 9}'::jsonb,
	'values', '{"last_account_sync_timestamp": 1710000000, "blocklist": ["5@s.whatsapp.net"]}'::jsonb,
	'app_state_sync_keys', '{"AAAAAAg1": {"keyData": "tYKh/c0MNxSh57dMnYvAAADfFlSGB75sZSiKQ+4KQZE=", "fingerprint": {"rawId": 1, "currentIndex": 1, "deviceIndexes": [0, 1]}, "timestamp": "1761797535822"}}'::jsonb,
	'app_state_sync_versions', (SELECT jsonb_object_agg(id, value) FROM wastore.list('snap', 'app-state-sync-version'))),
	'the snapshot holds the auth state, creds, values, app-state sync keys and versions of that store only');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(wastore.conn_snapshot('snap') -> 'app_state_sync_versions') k),
	ARRAY['critical_block', 'regular'], 'the versions are keyed by collection');
SELECT is(wastore.conn_snapshot('snap') #> '{app_state_sync_versions,regular,version}', '5'::jsonb,
	'... with their LTHashState');

-- null deletes a connection key and an app-state sync version
SELECT wastore.conn_put('snap', 'blocklist', 'null');
SELECT wastore.set('snap', '{"app-state-sync-version": {"regular": null}}');
SELECT is(wastore.conn_snapshot('snap') -> 'values', '{"last_account_sync_timestamp": 1710000000}'::jsonb,
	'a connection key put to null is gone from the snapshot');
SELECT is((SELECT array_agg(k) FROM jsonb_object_keys(wastore.conn_snapshot('snap') -> 'app_state_sync_versions') k),
	ARRAY['critical_block'], 'an app-state sync version set to null is gone from the snapshot');

SELECT is(wastore.conn_snapshot('no-store'), '{"auth_state": null, "creds": null, "values": {}, "app_state_sync_keys": {}, "app_state_sync_versions": {}}'::jsonb,
	'the snapshot of a missing store is empty');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'no-store'), 0, '... and does not create it');

-- clear keeps creds and the connection store; drop_store removes them
SELECT wastore.clear('snap');
SELECT is(wastore.conn_snapshot('snap') - 'app_state_sync_versions' - 'app_state_sync_keys', jsonb_build_object(
	'auth_state', '{"creds": {"me": {"id": "1@s.whatsapp.net"}, "registrationId": 9}, "keys": {}}'::jsonb,
	'creds', '{"me": {"id": "1@s.whatsapp.net"}, "registrationId": 9}'::jsonb,
	'values', '{"last_account_sync_timestamp": 1710000000}'::jsonb), 'clear keeps the auth state and the connection values');
SELECT is(wastore.conn_snapshot('snap') -> 'app_state_sync_keys', '{}'::jsonb, '... and removes the app-state sync keys');
SELECT pg_temp.inc('snap') AS dropped \gset
SELECT wastore.drop_store('snap');
SELECT is((SELECT count(*)::int FROM wastore.auth_states WHERE incarnation = :dropped), 0, 'drop_store removes the auth state');
SELECT is((SELECT count(*)::int FROM wastore.conn_values WHERE incarnation = :dropped), 0, 'drop_store removes the connection values');
SELECT is(wastore.creds('snap'), NULL, '... so creds are NULL again');
SELECT is(wastore.conn_get('other', 'blocklist'), '["6@s.whatsapp.net"]'::jsonb, '... and other stores keep theirs');

--------------------------------------------------------------------------
-- Bad input: the documented SQLSTATE, and nothing changed
--------------------------------------------------------------------------
CREATE TEMP TABLE before_conn ON COMMIT DROP AS SELECT * FROM wastore.conn_values;
CREATE TEMP TABLE before_auth ON COMMIT DROP AS SELECT * FROM wastore.auth_states;
SELECT throws_ok($$ SELECT wastore.conn_put('bx', 'creds', '{"me": {}}') $$, '22023', 'connection key "creds" is read-only',
	'conn_put cannot replace the creds');
SELECT throws_ok($$ SELECT wastore.conn_put('bx', 'auth_state', NULL) $$, '22023', 'connection key "auth_state" is read-only',
	'conn_put cannot delete the auth state');
SELECT throws_ok($$ SELECT wastore.conn_delete('bx', 'creds') $$, '22023', 'connection key "creds" is read-only',
	'conn_delete cannot delete the creds');
SELECT throws_ok($$ SELECT wastore.conn_put('bx', NULL, '1') $$, '22004', 'key must not be NULL', 'conn_put with a NULL key');
SELECT throws_ok($$ SELECT wastore.conn_put(NULL, 'k', '1') $$, '22004', 'store must not be NULL', 'conn_put with a NULL store');
SELECT throws_ok($$ SELECT wastore.conn_put('', 'k', '1') $$, '22023', 'store id must not be empty', 'conn_put with an empty store id');
SELECT throws_ok($$ SELECT wastore.conn_put('bx', repeat('k', 1025), '1') $$, '22023', 'key is too long', 'conn_put with an overlong key');
SELECT throws_ok($$ SELECT wastore.conn_get('bx', NULL) $$, '22004', 'key must not be NULL', 'conn_get with a NULL key');
SELECT throws_ok($$ SELECT wastore.conn_delete('bx', NULL) $$, '22004', 'key must not be NULL', 'conn_delete with a NULL key');
SELECT throws_ok($$ SELECT wastore.conn_snapshot(NULL) $$, '22004', 'store must not be NULL', 'conn_snapshot with a NULL store');
SELECT set_eq($$ SELECT * FROM wastore.conn_values $$, $$ SELECT * FROM before_conn $$, 'no failed call changed a connection value');
SELECT set_eq($$ SELECT * FROM wastore.auth_states $$, $$ SELECT * FROM before_auth $$, '... nor an auth state');

--------------------------------------------------------------------------
-- Ownership: another role's store is out of reach (42501)
--------------------------------------------------------------------------
CREATE ROLE wastore_intruder;
GRANT USAGE ON SCHEMA wastore TO wastore_intruder;
GRANT SELECT, INSERT ON wastore.store_owners TO wastore_intruder;
-- runs stmt as wastore_intruder; returns 'ok' or 'SQLSTATE message'
CREATE FUNCTION pg_temp.as_intruder(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	SET LOCAL ROLE wastore_intruder;
	EXECUTE stmt;
	RESET ROLE;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
CREATE TEMP TABLE intrusions (stmt text) ON COMMIT DROP;
INSERT INTO intrusions VALUES
	($$ SELECT wastore.merge_creds('bx', '{"me": null}') $$),
	($$ SELECT wastore.merge_creds('bx', '{"me": null}', true) $$),
	($$ SELECT wastore.auth_state('bx') $$),
	($$ SELECT wastore.creds('bx') $$),
	($$ SELECT wastore.conn_put('bx', 'k', '1') $$),
	($$ SELECT wastore.conn_put('bx', 'last_account_sync_timestamp', NULL) $$),
	($$ SELECT wastore.conn_get('bx', 'last_account_sync_timestamp') $$),
	($$ SELECT wastore.conn_get('bx', 'creds', '{}') $$),
	($$ SELECT wastore.conn_delete('bx', 'last_account_sync_timestamp') $$),
	($$ SELECT wastore.conn_snapshot('bx') $$),
	($$ SELECT wastore.set('bx', '{"creds": {"me": null}}') $$);
SELECT results_eq($$ SELECT pg_temp.as_intruder(stmt) FROM intrusions $$,
	$$ SELECT '42501 permission denied for store "bx"' FROM intrusions $$,
	'every creds and connection-store function refuses another role''s store');
SELECT is(current_user::text, session_user::text, 'the test is back to its own role');
SELECT set_eq($$ SELECT * FROM wastore.conn_values $$, $$ SELECT * FROM before_conn $$, 'the intruder changed no connection value');
SELECT set_eq($$ SELECT * FROM wastore.auth_states $$, $$ SELECT * FROM before_auth $$, '... nor an auth state');

SELECT * FROM finish();
ROLLBACK;
