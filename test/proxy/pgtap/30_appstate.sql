-- App-state sync through the proxy: the LTHash travels as its text form
-- (the proxy's wastore.lthash is a checked text).
SET client_min_messages = warning;
SELECT plan(10);

CREATE TEMP TABLE m AS SELECT i,
	decode(md5('i' || i) || md5('I' || i), 'hex') AS index_mac,
	decode(md5('v' || i) || md5('V' || i), 'hex') AS value_mac
	FROM generate_series(1, 5) i;

SELECT is((SELECT version FROM wastore.apply_app_state_snapshot('px-app-1', 'regular', 1,
	(SELECT array_agg(index_mac ORDER BY i) FROM m), (SELECT array_agg(value_mac ORDER BY i) FROM m))),
	1::bigint, 'apply_app_state_snapshot');
SELECT is((SELECT length(hash) FROM wastore.apply_app_state_patch('px-app-1', 'regular', 2,
	ARRAY['remove'], ARRAY[(SELECT index_mac FROM m WHERE i = 5)], ARRAY[(SELECT value_mac FROM m WHERE i = 5)])),
	256, 'apply_app_state_patch returns the hash as 256 hex digits');
SELECT is((SELECT hash FROM wastore.apply_app_state_patch('px-app-1', 'regular', 3,
	ARRAY['set'], ARRAY[(SELECT index_mac FROM m WHERE i = 5)], ARRAY[(SELECT value_mac FROM m WHERE i = 5)]))::text,
	(SELECT hash FROM wastore.apply_app_state_snapshot('px-app-2', 'regular', 1,
	(SELECT array_agg(index_mac ORDER BY i) FROM m), (SELECT array_agg(value_mac ORDER BY i) FROM m)))::text,
	'patching back the removed MAC gives the snapshot''s hash (two stores, maybe two shards)');
SELECT is((wastore.get_app_state_sync_version('px-app-1', 'regular')->>'version')::int, 3,
	'get_app_state_sync_version');
SELECT is(jsonb_typeof(wastore.get_app_state_sync_version('px-app-1', 'regular')->'indexValueMap'), 'object',
	'... as Baileys'' LTHashState');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('px-app-1', 'regular', 3, '{}', '{}', '{}') $$,
	'22023', NULL, 'a version that does not advance: 22023');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('px-app-3', 'critical_block',
	wastore.get_app_state_sync_version('px-app-1', 'regular')) $$, 'put_app_state_sync_version');
SELECT is(wastore.get_app_state_sync_version('px-app-3', 'critical_block'),
	wastore.get_app_state_sync_version('px-app-1', 'regular'), '... reads back the same state');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_key('px-app-3', 'AAAAAQ==', '{"keyData": "a2V5"}') $$,
	'put_app_state_sync_key');
SELECT throws_ok($$ SELECT wastore.get_app_state_sync_key('px-app-3', 'AAAAAg==') $$, 'P0002', NULL,
	'get_app_state_sync_key of a missing key: P0002');

SELECT * FROM finish();
