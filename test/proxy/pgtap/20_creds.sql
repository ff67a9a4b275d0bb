-- Creds and the connection store through the proxy.
SET client_min_messages = warning;
SELECT plan(14);

SELECT is(wastore.creds('px-creds-1'), NULL, 'no creds: NULL, never invented');
SELECT is(wastore.merge_creds('px-creds-1', '{"me": {"id": "1@s"}, "registrationId": 7}'),
	'{"me": {"id": "1@s"}, "registrationId": 7}'::jsonb, 'merge_creds returns the new creds');
SELECT is(wastore.merge_creds('px-creds-1', '{"me": {"name": "x"}}', false),
	'{"me": {"name": "x"}, "registrationId": 7}'::jsonb, 'shallow merge replaces top-level members');
SELECT is(wastore.merge_creds('px-creds-1', '{"me": {"id": "2@s"}}', true),
	'{"me": {"id": "2@s", "name": "x"}, "registrationId": 7}'::jsonb, 'deep merge merges objects');
SELECT is(wastore.creds('px-creds-1'), wastore.auth_state('px-creds-1'), 'flat layout: creds is the auth state');

SELECT lives_ok($$ SELECT wastore.conn_put('px-creds-2', 'k1', '{"a": 1}') $$, 'conn_put');
SELECT is(wastore.conn_get('px-creds-2', 'k1'), '{"a": 1}'::jsonb, 'conn_get');
SELECT is(wastore.conn_get('px-creds-2', 'nope', '"dflt"'), '"dflt"'::jsonb, 'conn_get default');
SELECT lives_ok($$ SELECT wastore.conn_put('px-creds-2', 'k2', NULL) $$, 'conn_put NULL deletes');
SELECT lives_ok($$ SELECT wastore.conn_delete('px-creds-2', 'k1') $$, 'conn_delete');
SELECT is(wastore.conn_get('px-creds-2', 'k1'), NULL, '... idempotently gone');
SELECT ok(NOT wastore.conn_snapshot('px-creds-2') ? 'k1', 'conn_snapshot: the deleted key is not in it');
SELECT throws_ok($$ SELECT wastore.conn_put('px-creds-2', 'creds', '{}') $$, '22023', NULL,
	'conn_put of creds: 22023 through the proxy');
SELECT throws_ok($$ SELECT wastore.merge_creds('px-creds-2', '[]') $$, '22023', NULL,
	'merge_creds of a non-object: 22023');

SELECT * FROM finish();
