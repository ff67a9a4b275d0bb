-- Fencing: every writing function takes a lease token.  The current token
-- writes; a stale, expired or made-up one raises 55W01 and changes nothing;
-- try_set reports it; writes without a token are accepted.
BEGIN;
SELECT plan(32);

CREATE TEMP TABLE tok (old bigint, cur bigint);
INSERT INTO tok (old) SELECT wastore.lease_acquire('fs', 'zombie', '1 minute');
UPDATE tok SET cur = wastore.lease_acquire('fs', 'worker', '1 minute', steal => true);
SELECT wastore.set('fs', '{"session": {"1.0": "b2xk"}, "pre-key": {"1": {"k": 1}}, "creds": {"registrationId": 1}}');
SELECT wastore.conn_put('fs', 'chats', '"old"');
SELECT wastore.put_app_state_sync_key('fs', 'AAAAAAAB', '{"keyData": "x"}');
CREATE TEMP TABLE before AS SELECT wastore.conn_snapshot('fs') AS conn,
	(SELECT jsonb_agg(k ORDER BY family, id) FROM wastore.keys k
	  WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'fs')) AS keys;

-- the stale token: every writer raises 55W01
SELECT throws_ok(format($$ SELECT wastore.set('fs', '{"session": {"1.0": "bmV3"}}', %s) $$, (SELECT old FROM tok)),
	'55W01', NULL, 'set with a stale token raises 55W01');
SELECT is((SELECT sqlstate FROM wastore.try_set('fs', '{"session": {"1.0": "bmV3"}}', (SELECT old FROM tok))), '55W01',
	'try_set reports 55W01');
SELECT is((SELECT ok FROM wastore.try_set('fs', '{"session": {"1.0": "bmV3"}}', (SELECT old FROM tok))), false, '... as a failure');
SELECT throws_ok(format($$ SELECT wastore.clear('fs', %s) $$, (SELECT old FROM tok)), '55W01', NULL, 'clear');
SELECT throws_ok(format($$ SELECT wastore.merge_creds('fs', '{"registrationId": 9999}', false, %s) $$, (SELECT old FROM tok)),
	'55W01', NULL, 'merge_creds');
SELECT throws_ok(format($$ SELECT wastore.conn_put('fs', 'chats', '"new"', %s) $$, (SELECT old FROM tok)), '55W01', NULL, 'conn_put');
SELECT throws_ok(format($$ SELECT wastore.conn_put('fs', 'chats', NULL, %s) $$, (SELECT old FROM tok)), '55W01', NULL, 'conn_put deleting');
SELECT throws_ok(format($$ SELECT wastore.conn_delete('fs', 'chats', %s) $$, (SELECT old FROM tok)), '55W01', NULL, 'conn_delete');
SELECT throws_ok(format($$ SELECT wastore.put_app_state_sync_key('fs', 'AAAAAAAB', '{"keyData": "y"}', %s) $$, (SELECT old FROM tok)),
	'55W01', NULL, 'put_app_state_sync_key');
SELECT throws_ok(format($$ SELECT wastore.put_app_state_sync_key('fs', 'AAAAAAAB', NULL, %s) $$, (SELECT old FROM tok)),
	'55W01', NULL, 'put_app_state_sync_key deleting');
SELECT throws_ok(format($$ SELECT wastore.put_app_state_sync_version('fs', 'regular', '{"version": 0, "hash": "%s"}', %s) $$,
	translate(encode(wastore.lthash_zero()::bytea, 'base64'), E'\n', ''), (SELECT old FROM tok)), '55W01', NULL, 'put_app_state_sync_version');
SELECT throws_ok(format($$ SELECT * FROM wastore.apply_app_state_patch('fs', 'regular', 1, '{set}', ARRAY[sha256('i')], ARRAY[sha256('v')], NULL, NULL, %s) $$,
	(SELECT old FROM tok)), '55W01', NULL, 'apply_app_state_patch');
SELECT throws_ok(format($$ SELECT * FROM wastore.apply_app_state_snapshot('fs', 'regular', 1, ARRAY[sha256('i')], ARRAY[sha256('v')], NULL, NULL, %s) $$,
	(SELECT old FROM tok)), '55W01', NULL, 'apply_app_state_snapshot');
SELECT throws_ok(format($$ SELECT wastore.set('fs', '{"session": {"1.0": "bmV3"}}', %s) $$, (SELECT cur FROM tok) + 1000),
	'55W01', NULL, 'a made-up token raises 55W01 too');
SELECT is(wastore.conn_snapshot('fs'), (SELECT conn FROM before), 'the refused writes changed no connection value, creds or sync key');
SELECT is((SELECT jsonb_agg(k ORDER BY family, id) FROM wastore.keys k
	  WHERE incarnation = (SELECT incarnation FROM wastore.store_owners WHERE store = 'fs')), (SELECT keys FROM before),
	'... and no key');
SELECT is((SELECT count(*)::int FROM wastore.list('fs', 'app-state-sync-version')), 0, '... and no app-state version');

-- the current token writes
SELECT lives_ok(format($$ SELECT wastore.set('fs', '{"session": {"1.0": "bmV3"}}', %s) $$, (SELECT cur FROM tok)), 'set with the current token');
SELECT is((SELECT value FROM wastore.get('fs', 'session', ARRAY['1.0'])), '"bmV3"', '... writes');
SELECT is((SELECT ok FROM wastore.try_set('fs', '{"session": {"2.0": "Mg=="}}', (SELECT cur FROM tok))), true, 'try_set with the current token');
SELECT is(wastore.merge_creds('fs', '{"registrationId": 2}', false, (SELECT cur FROM tok)) -> 'registrationId', '2', 'merge_creds');
SELECT lives_ok(format($$ SELECT wastore.conn_put('fs', 'chats', '"new"', %s) $$, (SELECT cur FROM tok)), 'conn_put');
SELECT lives_ok(format($$ SELECT wastore.conn_delete('fs', 'chats', %s) $$, (SELECT cur FROM tok)), 'conn_delete');
SELECT lives_ok(format($$ SELECT wastore.put_app_state_sync_key('fs', 'AAAAAAAB', '{"keyData": "y"}', %s) $$, (SELECT cur FROM tok)),
	'put_app_state_sync_key');
SELECT lives_ok(format($$ SELECT * FROM wastore.apply_app_state_snapshot('fs', 'regular', 1, ARRAY[sha256('i')], ARRAY[sha256('v')], NULL, NULL, %s) $$,
	(SELECT cur FROM tok)), 'apply_app_state_snapshot');
SELECT lives_ok(format($$ SELECT wastore.clear('fs', %s) $$, (SELECT cur FROM tok)), 'clear');

-- without a token: administration at psql
SELECT lives_ok($$ SELECT wastore.set('fs', '{"session": {"3.0": "Mw=="}}') $$, 'a write without a token is accepted');

-- an expired token
SELECT wastore.lease_renew('fs', (SELECT cur FROM tok), '10 milliseconds');
SELECT pg_sleep(0.03);
SELECT throws_ok(format($$ SELECT wastore.set('fs', '{"session": {"1.0": "bGF0ZQ=="}}', %s) $$, (SELECT cur FROM tok)),
	'55W01', NULL, 'a write with an expired token raises 55W01');

-- no lease, no store
SELECT wastore.lease_release('fs', (SELECT cur FROM tok));
SELECT throws_ok(format($$ SELECT wastore.set('fs', '{"session": {"1.0": "bGF0ZQ=="}}', %s) $$, (SELECT cur FROM tok)),
	'55W01', NULL, 'a write with a token after the release raises 55W01');
SELECT throws_ok($$ SELECT wastore.set('fs-none', '{"session": {"1.0": "eA=="}}', 1) $$, '55W01', NULL,
	'a fenced write to a store without a lease raises 55W01 ...');
SELECT is(wastore.owns_store('fs-none'), false, '... and does not leave the store created');
SELECT throws_ok($$ SELECT wastore.conn_delete('fs-none2', 'k', 1) $$, '55W01', NULL, 'a fenced delete in a missing store raises 55W01');

SELECT * FROM finish();
ROLLBACK;
