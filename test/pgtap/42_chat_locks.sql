-- Chat locks as seen from one session: the four strategies, release, force
-- release, TTL, errors.  (Isolation specs cover what two sessions see.)
BEGIN;
SELECT plan(66);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

CREATE FUNCTION pg_temp.pending(store text, lock_key text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT wastore.chat_snapshot(store) -> 'pending_locks' -> lock_key
$$;

-- reject: busy while held, free again after release
SELECT is(wastore.chat_acquire_lock('s', 'thread:1', 'owner-1'), 'acquired', 'reject: a free key is acquired');
SELECT is(wastore.chat_acquire_lock('s', 'thread:1', 'owner-2'), 'busy', 'reject: held by another owner gives busy');
SELECT is(wastore.chat_acquire_lock('s', 'thread:1', 'owner-1'), 'busy',
	'the same owner asking again while holding is treated like anyone else: busy');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('s', 'thread:1', 'owner-1') $$,
	$$ VALUES (true, '[]'::jsonb) $$, 'release by the owner: (true, [])');
SELECT is(wastore.chat_acquire_lock('s', 'thread:1', 'owner-2'), 'acquired', 'the key can be taken again after release');
SELECT is((SELECT owner FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:1'), 'owner-2', '... by the new owner');

-- queue: pending entries kept in order
SELECT is(wastore.chat_acquire_lock('s', 'thread:queue', 'owner-1', 'queue'), 'acquired', 'queue: a free key is acquired');
SELECT is(wastore.chat_acquire_lock('s', 'thread:queue', 'owner-2', 'queue', '{"message_id": "m2"}'), 'queued', 'queue: owner-2 queued');
SELECT is(wastore.chat_acquire_lock('s', 'thread:queue', 'owner-3', 'queue', '{"message_id": "m3"}'), 'queued', 'queue: owner-3 queued');
SELECT is(wastore.chat_acquire_lock('s', 'thread:queue', 'owner-1', 'queue', '{"message_id": "m4"}'), 'queued',
	'queue: the holder asking again is queued like anyone else');
SELECT is(pg_temp.pending('s', 'thread:queue'),
	'[{"owner": "owner-2", "strategy": "queue", "metadata": {"message_id": "m2"}},
	  {"owner": "owner-3", "strategy": "queue", "metadata": {"message_id": "m3"}},
	  {"owner": "owner-1", "strategy": "queue", "metadata": {"message_id": "m4"}}]'::jsonb,
	'the pending list holds {owner, strategy, metadata} entries in arrival order');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('s', 'thread:queue', 'owner-2') $$,
	$$ VALUES (false, NULL::jsonb) $$, 'release by a non-owner: (false, NULL)');
SELECT is(jsonb_array_length(pg_temp.pending('s', 'thread:queue')), 3, '... the pending list is unchanged');
SELECT is((SELECT owner FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:queue'), 'owner-1', '... and so is the lock');
SELECT results_eq($$ SELECT released, (SELECT array_agg(e ->> 'owner') FROM jsonb_array_elements(pending) e),
						   (SELECT array_agg(e -> 'metadata' ->> 'message_id') FROM jsonb_array_elements(pending) e)
					  FROM wastore.chat_release_lock('s', 'thread:queue', 'owner-1') $$,
	$$ VALUES (true, ARRAY['owner-2', 'owner-3', 'owner-1'], ARRAY['m2', 'm3', 'm4']) $$,
	'release by the owner returns the pending entries in order');
SELECT is((SELECT count(*)::int FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:queue'), 0, '... the lock is gone');
SELECT is((SELECT count(*)::int FROM wastore.chat_pending WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:queue'), 0, '... and so is the pending list');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('s', 'thread:queue', 'owner-1') $$,
	$$ VALUES (false, NULL::jsonb) $$, 'releasing twice: (false, NULL)');

-- debounce: only the latest pending entry is kept
SELECT is(wastore.chat_acquire_lock('s', 'thread:debounce', 'owner-1', 'debounce'), 'acquired', 'debounce: a free key is acquired');
SELECT is(wastore.chat_acquire_lock('s', 'thread:debounce', 'owner-2', 'debounce', '{"message_id": "m2"}'), 'debounced', 'debounce: owner-2 debounced');
SELECT is(wastore.chat_acquire_lock('s', 'thread:debounce', 'owner-3', 'debounce', '{"message_id": "m3"}'), 'debounced', 'debounce: owner-3 debounced');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('s', 'thread:debounce', 'owner-1') $$,
	$$ VALUES (true, '[{"owner": "owner-3", "strategy": "debounce", "metadata": {"message_id": "m3"}}]'::jsonb) $$,
	'release returns only the latest debounced entry');

-- debounce after queue: the list becomes just the debounced entry
SELECT is(wastore.chat_acquire_lock('s', 'thread:mix', 'owner-1'), 'acquired', 'mix: acquired');
SELECT is(wastore.chat_acquire_lock('s', 'thread:mix', 'owner-2', 'queue'), 'queued', 'mix: queued');
SELECT is(wastore.chat_acquire_lock('s', 'thread:mix', 'owner-3', 'reject'), 'busy', 'mix: a reject caller adds nothing');
SELECT is(wastore.chat_acquire_lock('s', 'thread:mix', 'owner-4', 'debounce'), 'debounced', 'mix: debounced');
SELECT is(pg_temp.pending('s', 'thread:mix'), '[{"owner": "owner-4", "strategy": "debounce", "metadata": {}}]'::jsonb,
	'a debounce replaces the whole pending list');

-- concurrent: always acquired, nothing stored
CREATE TEMP TABLE before_concurrent ON COMMIT DROP AS SELECT wastore.chat_snapshot('s') AS s;
SELECT is(wastore.chat_acquire_lock('s', 'thread:concurrent', 'owner-1', 'concurrent'), 'acquired', 'concurrent: acquired');
SELECT is(wastore.chat_acquire_lock('s', 'thread:concurrent', 'owner-2', 'concurrent'), 'acquired', 'concurrent: acquired again');
SELECT is(wastore.chat_acquire_lock('s', 'thread:mix', 'owner-5', 'concurrent'), 'acquired', 'concurrent: acquired even on a held key');
SELECT is(wastore.chat_snapshot('s'), (SELECT s FROM before_concurrent), 'concurrent stores nothing');
SELECT is(wastore.chat_acquire_lock('cc', 'k', 'o', 'concurrent'), 'acquired', 'concurrent on a missing store');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'cc'), 0, '... does not create it');

-- force release
SELECT is(wastore.chat_force_release_lock('s', 'thread:mix'),
	'[{"owner": "owner-4", "strategy": "debounce", "metadata": {}}]'::jsonb, 'force release returns the pending entries');
SELECT is((SELECT count(*)::int FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:mix'), 0, '... and removes the lock');
SELECT is(wastore.chat_acquire_lock('s', 'thread:mix', 'owner-9'), 'acquired', '... which is free again');
SELECT is(wastore.chat_force_release_lock('s', 'thread:mix'), '[]'::jsonb, 'force release without pending entries: []');
SELECT is(wastore.chat_force_release_lock('s', 'no-such-key'), '[]'::jsonb, 'force release of an unknown key: []');
SELECT is(wastore.chat_force_release_lock('no-such-store', 'k'), '[]'::jsonb, 'force release in a missing store: []');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('no-such-store', 'k', 'o') $$,
	$$ VALUES (false, NULL::jsonb) $$, 'release in a missing store: (false, NULL)');

-- TTL: a lock past its expires_at counts as free
SELECT is(wastore.chat_acquire_lock('s', 'thread:ttl', 'owner-1', 'reject', '{"n": 1}', '1 hour'), 'acquired', 'acquired with a TTL');
SELECT ok((SELECT expires_at BETWEEN clock_timestamp() + interval '59 minutes' AND clock_timestamp() + interval '61 minutes'
			 FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:ttl'), '... expires_at is now + ttl');
SELECT is(wastore.chat_acquire_lock('s', 'thread:ttl', 'owner-2'), 'busy', 'an unexpired TTL lock is held');
UPDATE wastore.chat_locks SET expires_at = clock_timestamp() - interval '1 second' WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:ttl';
SELECT is(wastore.chat_acquire_lock('s', 'thread:ttl', 'owner-2', 'queue', '{"n": 2}'), 'acquired',
	'an expired TTL lock is acquirable by another owner');
SELECT results_eq($$ SELECT owner COLLATE "default", strategy::text, metadata, expires_at FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:ttl' $$,
	$$ VALUES ('owner-2', 'queue', '{"n": 2}'::jsonb, NULL::timestamptz) $$, '... which takes the lock over, without a TTL now');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('s', 'thread:ttl', 'owner-1') $$,
	$$ VALUES (false, NULL::jsonb) $$, 'the former owner can no longer release it');

SELECT wastore.chat_acquire_lock('s', 'thread:lapsed', 'owner-1', 'reject', '{}', '1 hour');
UPDATE wastore.chat_locks SET expires_at = clock_timestamp() - interval '1 second' WHERE incarnation = pg_temp.inc('s') AND lock_key = 'thread:lapsed';
SELECT is((wastore.chat_snapshot('s') -> 'locks' -> 'thread:lapsed' ->> 'owner'), 'owner-1', 'an expired lock nobody took over still shows');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('s', 'thread:lapsed', 'owner-1') $$,
	$$ VALUES (true, '[]'::jsonb) $$, '... and its owner can still release it');

SELECT is(wastore.chat_acquire_lock('s', 'thread:short', 'owner-1', 'reject', '{}', '1 second'), 'acquired', 'a 1 s lock');
SELECT is(wastore.chat_acquire_lock('s', 'thread:short', 'owner-2', 'queue', '{"waiting": true}'), 'queued', '... queued on while it lasts');
SELECT pg_sleep(1.05);
SELECT is(wastore.chat_acquire_lock('s', 'thread:short', 'owner-3'), 'acquired', '... and free once it has expired');
SELECT results_eq($$ SELECT * FROM wastore.chat_release_lock('s', 'thread:short', 'owner-3') $$,
	$$ VALUES (true, '[{"owner": "owner-2", "strategy": "queue", "metadata": {"waiting": true}}]'::jsonb) $$,
	'pending entries survive the takeover of an expired lock and go to the new owner''s release');

-- bad input: the documented SQLSTATE, and nothing changed
SELECT wastore.chat_acquire_lock('s', 'held', 'owner-1');
CREATE TEMP TABLE before ON COMMIT DROP AS SELECT wastore.chat_snapshot('s') AS s;
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', NULL, 'o') $$, '22004', 'lock_key must not be NULL', 'a NULL lock key');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', 'held', NULL, 'queue') $$, '22004', 'owner must not be NULL', 'a NULL owner');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', 'held', 'o', NULL) $$, '22004', 'strategy must not be NULL', 'a NULL strategy');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', 'held', 'o', 'queue', NULL) $$, '22004', 'metadata must not be NULL', 'NULL metadata');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', 'held', 'o', 'queue', '[]') $$, '22023', 'metadata must be a JSON object', 'metadata not an object');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', 'free', 'o', 'reject', '{}', '0 seconds') $$, '22023', 'ttl must be positive', 'a zero ttl');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', 'free', 'o', 'reject', '{}', '1 day -25 hours') $$, '22023', 'ttl must be positive', 'a negative ttl');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('s', 'held', 'o', 'burst') $$, '22P02', NULL, 'an unknown strategy');
SELECT throws_ok($$ SELECT * FROM wastore.chat_release_lock('s', 'held', NULL) $$, '22004', 'owner must not be NULL', 'release by a NULL owner');
SELECT throws_ok($$ SELECT wastore.chat_force_release_lock('s', NULL) $$, '22004', 'lock_key must not be NULL', 'force release of a NULL key');
SELECT throws_ok($$ SELECT wastore.chat_force_release_lock(NULL, 'held') $$, '22004', 'store must not be NULL', 'force release in a NULL store');
SELECT is(wastore.chat_snapshot('s'), (SELECT s FROM before), 'the failed calls changed nothing');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('fresh', 'k', 'o', 'queue', '[]') $$, '22023', NULL, 'bad metadata for a missing store');

SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'fresh'), 0, '... does not create it');

SELECT * FROM finish();
ROLLBACK;
