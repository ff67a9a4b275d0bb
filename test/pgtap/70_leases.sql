-- Leases with fencing tokens: acquire, busy, expire, steal, renew, release;
-- tokens only grow, across drop and re-create; drop_store ends the lease;
-- another tenant can do nothing with a store's lease.
BEGIN;
SELECT plan(38);

-- acquire a free lease
SELECT isnt(wastore.lease_acquire('ls', 'worker-1', '1 minute'), NULL, 'a free lease is acquired');
SELECT is((SELECT holder FROM wastore.lease('ls')), 'worker-1', 'lease() names the holder');
SELECT ok((SELECT expires_at > clock_timestamp() + interval '50 seconds' AND expires_at <= clock_timestamp() + interval '1 minute'
			 FROM wastore.lease('ls')), '... and expires ttl from now');
SELECT ok((SELECT acquired_at <= clock_timestamp() FROM wastore.lease('ls')), '... acquired now');
SELECT is(wastore.owns_store('ls'), true, 'acquiring a lease creates the store');
CREATE TEMP TABLE t AS SELECT token AS first FROM wastore.lease('ls');

-- busy: the same holder too
SELECT is(wastore.lease_acquire('ls', 'worker-2', '1 minute'), NULL, 'a held lease is not acquired by another holder');
SELECT is(wastore.lease_acquire('ls', 'worker-1', '1 minute'), NULL, '... nor again by its holder');
SELECT is((SELECT token FROM wastore.lease('ls')), (SELECT first FROM t), '... and keeps its token');

-- renew
SELECT is(wastore.lease_renew('ls', (SELECT first FROM t), '2 minutes'), true, 'the current token renews');
SELECT ok((SELECT expires_at > clock_timestamp() + interval '110 seconds' FROM wastore.lease('ls')), '... to now + ttl');
SELECT is(wastore.lease_renew('ls', (SELECT first FROM t) + 1000, '2 minutes'), false, 'another token does not renew');
SELECT is(wastore.lease_renew('ls', -1, '2 minutes'), false, '... nor a made-up one');

-- steal
SELECT cmp_ok(wastore.lease_acquire('ls', 'worker-2', '1 minute', steal => true), '>', (SELECT first FROM t),
	'a steal takes the lease with a greater token');
SELECT is((SELECT holder FROM wastore.lease('ls')), 'worker-2', '... for the new holder');
SELECT is(wastore.lease_renew('ls', (SELECT first FROM t), '1 minute'), false, 'the stolen token no longer renews');
SELECT is(wastore.lease_release('ls', (SELECT first FROM t)), false, '... nor releases');
SELECT is((SELECT holder FROM wastore.lease('ls')), 'worker-2', '... and the thief keeps the lease');

-- release
SELECT is(wastore.lease_release('ls', (SELECT token FROM wastore.lease('ls'))), true, 'the current token releases');
SELECT is((SELECT count(*)::int FROM wastore.lease('ls')), 0, '... and the store has no lease');
SELECT is(wastore.lease_release('ls', 1), false, 'releasing no lease is false');
SELECT isnt(wastore.lease_acquire('ls', 'worker-3', '1 minute'), NULL, 'a released lease is free');

-- expire
SELECT isnt(wastore.lease_acquire('lx', 'worker-1', '20 milliseconds'), NULL, 'a short lease');
UPDATE t SET first = (SELECT token FROM wastore.lease('lx'));
SELECT pg_sleep(0.05);
SELECT is((SELECT count(*)::int FROM wastore.lease('lx')), 1, 'an expired lease still shows in lease()');
SELECT is(wastore.lease_renew('lx', (SELECT first FROM t), '1 minute'), false, 'an expired lease is never renewed');
SELECT cmp_ok(wastore.lease_acquire('lx', 'worker-2', '1 minute'), '>', (SELECT first FROM t),
	'an expired lease is free: acquired without steal, with a greater token');

-- tokens grow across drop and re-create
UPDATE t SET first = (SELECT token FROM wastore.lease('lx'));
SELECT wastore.drop_store('lx');
SELECT is((SELECT count(*)::int FROM wastore.lease('lx')), 0, 'drop_store ends the lease');
SELECT is((SELECT count(*)::int FROM wastore.leases l WHERE NOT EXISTS
			 (SELECT 1 FROM wastore.store_owners o WHERE o.incarnation = l.incarnation)), 0, '... and purges its row');
SELECT cmp_ok(wastore.lease_acquire('lx', 'worker-1', '1 minute'), '>', (SELECT first FROM t),
	'a re-created store''s first token is greater than every earlier one');

-- the stores view
SELECT is((SELECT lease_holder FROM wastore.stores WHERE store = 'ls'), 'worker-3', 'the stores view shows the lease holder');
SELECT is((SELECT lease_token FROM wastore.stores WHERE store = 'ls'), (SELECT token FROM wastore.lease('ls')), '... and its token');

-- bad arguments
SELECT throws_ok($$ SELECT wastore.lease_acquire('ls', 'w', '0') $$, '22023', 'ttl must be positive and finite', 'a zero ttl');
SELECT throws_ok($$ SELECT wastore.lease_acquire('ls', 'w', '-1 second') $$, '22023', 'ttl must be positive and finite', 'a negative ttl');
SELECT throws_ok($$ SELECT wastore.lease_acquire('ls', 'w', '300000 years') $$, '22008', NULL, 'a ttl past the last timestamp');
SELECT throws_ok($$ SELECT wastore.lease_acquire('ls', '', '1 minute') $$, '22023', 'holder must not be empty', 'an empty holder');
SELECT throws_ok($$ SELECT wastore.lease_acquire('ls', repeat('h', 1025), '1 minute') $$, '22023', 'holder is too long', 'an overlong holder');
SELECT throws_ok($$ SELECT wastore.lease_acquire('ls', NULL, '1 minute') $$, '22004', 'holder must not be NULL', 'a NULL holder');
SELECT throws_ok($$ SELECT wastore.lease_renew('ls', NULL, '1 minute') $$, '22004', 'token must not be NULL', 'a NULL token');

-- another tenant
CREATE ROLE wastore_lease_other NOLOGIN;
SELECT wastore.grant_access('wastore_lease_other');
SET LOCAL ROLE wastore_lease_other;
SELECT throws_ok($$ SELECT wastore.lease_acquire('ls', 'thief', '1 minute', steal => true) $$, '42501', NULL,
	'another tenant cannot steal the lease');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
