-- Leases, fenced writes, stores and the fan-out view through the proxy.
SET client_min_messages = warning;
SELECT plan(13);

SELECT ok(wastore.lease_acquire('px-lease-1', 'w1', '1 minute') IS NOT NULL, 'lease_acquire');
SELECT is(wastore.lease_acquire('px-lease-1', 'w2', '1 minute'), NULL, '... busy for another holder');
SELECT ok(wastore.lease_renew('px-lease-1', (SELECT token FROM wastore.lease('px-lease-1')), '2 minutes'), 'lease_renew');
SELECT lives_ok($$ SELECT wastore.set('px-lease-1', '{"session": {"a": 1}}', (SELECT token FROM wastore.lease('px-lease-1'))) $$,
	'a write with the current token');
CREATE TEMP TABLE old AS SELECT token FROM wastore.lease('px-lease-1');
SELECT ok(wastore.lease_acquire('px-lease-1', 'w2', '1 minute', steal => true) > (SELECT token FROM old), 'a steal');
SELECT throws_ok($$ SELECT wastore.set('px-lease-1', '{"session": {"a": 2}}', (SELECT token FROM old)) $$, '55W01', NULL,
	'a write with the stolen token: 55W01 through the proxy');
SELECT ok(wastore.lease_release('px-lease-1', (SELECT token FROM wastore.lease('px-lease-1'))), 'lease_release');

SELECT lives_ok($$ SELECT wastore.create_store(s) FROM unnest(ARRAY['px-st-1', 'px-st-2', 'px-st-3', 'px-st-4']) s $$,
	'create_store of 4 stores');
SELECT is((SELECT count(*) FROM wastore.stores WHERE store LIKE 'px-st-%'), 4::bigint,
	'the stores view merges every shard''s stores');
SELECT is((SELECT count(*) FROM wastore.stores), (SELECT count(DISTINCT store) FROM wastore.stores),
	'... each store once');
SELECT is((SELECT key_counts->>'session' FROM wastore.stores WHERE store = 'px-lease-1'), '1',
	'... with its key counts');
SELECT lives_ok($$ SELECT wastore.drop_store('px-st-4') $$, 'drop_store');
SELECT is((SELECT count(*) FROM wastore.stores WHERE store LIKE 'px-st-%'), 3::bigint, '... the store is gone');

SELECT * FROM finish();
