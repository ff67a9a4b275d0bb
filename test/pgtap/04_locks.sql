-- Per-key transaction locks as seen from one session (isolation specs cover
-- what two sessions see).
BEGIN;
SELECT plan(25);

CREATE TEMP VIEW my_wastore_locks AS
	SELECT objsubid, mode FROM pg_locks
	 WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid BETWEEN 30561 AND 30563;

SELECT is(wastore.in_transaction('acct'), false, 'no lock held at first');
SELECT lives_ok($$ SELECT wastore.lock('acct', 'session:alice') $$, 'lock');
SELECT is(wastore.in_transaction('acct'), true, 'in_transaction(store) after lock');
SELECT is(wastore.in_transaction('acct', 'session:alice'), true, 'in_transaction(store, key) for that key');
SELECT is(wastore.in_transaction('acct', 'session:bob'), false, '... not for another key');
SELECT is(wastore.in_transaction('other'), false, '... not for another store');
SELECT is(wastore.in_transaction('other', 'session:alice'), false, '... nor for the same key of another store');
SELECT results_eq($$ SELECT objsubid::int, mode FROM my_wastore_locks ORDER BY 1 $$,
	$$ VALUES (30561, 'ShareLock'), (30562, 'ExclusiveLock') $$,
	'the store lock (shared) and the key lock (exclusive) show in pg_locks in wastore''s lock space');
SELECT lives_ok($$ SELECT wastore.lock('acct', 'session:alice') $$, 'lock is re-entrant');
SELECT is(wastore.try_lock('acct', 'session:alice'), true, 'try_lock of a lock this transaction holds');
SELECT is(wastore.try_lock('acct', 'session:carol'), true, 'try_lock of a free lock takes it');
SELECT is(wastore.in_transaction('acct', 'session:carol'), true, '... and holds it');

-- records: one lock per distinct id
SELECT lives_ok($$ SELECT wastore.lock_records('acct', 'session', ARRAY['b.0', 'a.0', 'b.0', 'c.1']) $$, 'lock_records');
SELECT is((SELECT count(*)::int FROM my_wastore_locks WHERE objsubid = 30563), 3, 'lock_records takes one lock per distinct id');
SELECT lives_ok($$ SELECT wastore.lock_records('acct', 'session', '{}') $$, 'lock_records of no ids');

-- a savepoint rolled back releases the locks taken in it
SAVEPOINT sp;
SELECT wastore.lock('sp-store', 'k');
ROLLBACK TO SAVEPOINT sp;
SELECT is(wastore.in_transaction('sp-store'), false, 'a lock taken in a rolled-back savepoint is released');

-- errors
SELECT throws_ok($$ SELECT wastore.lock(NULL, 'k') $$, '22004', 'store must not be NULL', 'lock with a NULL store');
SELECT throws_ok($$ SELECT wastore.lock('acct', NULL) $$, '22004', 'key must not be NULL', 'lock with a NULL key');
SELECT throws_ok($$ SELECT wastore.try_lock('acct', NULL) $$, '22004', 'key must not be NULL', 'try_lock with a NULL key');
SELECT throws_ok($$ SELECT wastore.lock_records('acct', 'session', ARRAY[NULL]) $$, '22004', NULL, 'lock_records with a NULL id');
SELECT throws_ok($$ SELECT wastore.lock_records('acct', NULL, ARRAY['a']) $$, '22004', NULL, 'lock_records with a NULL family');
SELECT throws_ok($$ SELECT wastore.in_transaction(NULL) $$, '22004', NULL, 'in_transaction with a NULL store');

-- writers hold the store's lock too, but only a lock call counts
SELECT wastore.set('plain-writer', '{"session": {"1.0": "eA=="}}');
SELECT wastore.merge_creds('plain-writer', '{"registrationId": 1}');
SELECT is(wastore.in_transaction('plain-writer'), false, 'a transaction that only wrote holds no wastore lock');
SELECT lives_ok($$ SELECT wastore.lock_records('plain-writer', 'session', ARRAY['1.0']) $$, 'lock_records on it');
SELECT is(wastore.in_transaction('plain-writer'), true, '... and now it does');

SELECT * FROM finish();
ROLLBACK;
