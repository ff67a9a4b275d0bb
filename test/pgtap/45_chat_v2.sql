-- Chat state, v2: lock heartbeats, the TTL key-value store, capped lists,
-- queues, dedupe with a TTL, prune; expiry by the server's clock, expired
-- rows invisible before prune; snapshots; drop_store; other tenants; every
-- SQLSTATE of the new functions.
BEGIN;
SELECT plan(118);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;
-- the rows a statement reads are those of its snapshot: wait past an expiry
-- in a statement of its own
CREATE FUNCTION pg_temp.wait_ms(ms int) RETURNS void LANGUAGE sql
	AS $$ SELECT pg_sleep(ms / 1000.0) $$;

-- chat_acquire_lock_until
SELECT results_eq($$ SELECT result::text, expires_at IS NULL FROM wastore.chat_acquire_lock_until('l', 'k', 'o1') $$,
	$$ VALUES ('acquired', true) $$, 'acquire_lock_until without a ttl: acquired, no expiry');
SELECT results_eq($$ SELECT result::text, expires_at IS NULL FROM wastore.chat_acquire_lock_until('l', 'k', 'o2', 'reject', '{}', '30 s') $$,
	$$ VALUES ('busy', true) $$, '... held: busy, no expiry');
SELECT results_eq($$ SELECT result::text FROM wastore.chat_acquire_lock_until('l', 'k', 'o2', 'queue') $$,
	$$ VALUES ('queued') $$, '... queue: queued');
SELECT ok((SELECT expires_at BETWEEN clock_timestamp() + interval '29 s' AND clock_timestamp() + interval '31 s'
			 FROM wastore.chat_acquire_lock_until('l', 'k2', 'o1', 'reject', '{}', '30 s')),
	'with a ttl: the expiry the server computed');
SELECT expires_at AS k3_expires FROM wastore.chat_acquire_lock_until('l', 'k3', 'o1', 'reject', '{}', '30 s') \gset
SELECT is((SELECT expires_at FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('l') AND lock_key = 'k3'),
	:'k3_expires'::timestamptz, '... the one stored');
SELECT is((SELECT extract(microseconds FROM expires_at)::bigint % 1000 FROM wastore.chat_acquire_lock_until('l', 'k4', 'o', 'reject', '{}', '1 s')),
	0::bigint, '... in whole milliseconds');
SELECT results_eq($$ SELECT result::text, expires_at IS NOT NULL FROM wastore.chat_acquire_lock_until('l', 'c', 'o', 'concurrent', '{}', '1 s') $$,
	$$ VALUES ('acquired', true) $$, '... concurrent: acquired with the computed expiry');
SELECT throws_ok($$ SELECT * FROM wastore.chat_acquire_lock_until('l', 'k', NULL) $$, '22004', NULL, 'acquire_lock_until: NULL owner is 22004');
SELECT throws_ok($$ SELECT * FROM wastore.chat_acquire_lock_until('l', 'k', 'o', 'reject', '{}', '-1 s') $$, '22023', NULL, '... ttl <= 0 is 22023');
SELECT throws_ok($$ SELECT * FROM wastore.chat_acquire_lock_until('l', 'k', 'o', 'reject', '{}', '300000 years') $$, '22008', NULL, '... ttl past the range is 22008');

-- chat_extend_lock
SELECT is(wastore.chat_extend_lock('l', 'k2', 'o1', '1 hour'), true, 'extend by the owner of a live lock: true');
SELECT ok((SELECT expires_at > clock_timestamp() + interval '59 minutes' FROM wastore.chat_locks
			WHERE incarnation = pg_temp.inc('l') AND lock_key = 'k2'), '... it now expires at now + ttl');
SELECT is(wastore.chat_extend_lock('l', 'k2', 'o2', '1 hour'), false, 'extend by another owner: false');
SELECT is(wastore.chat_extend_lock('l', 'nope', 'o1', '1 hour'), false, 'extend of no lock: false');
SELECT is((SELECT count(*)::int FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('l') AND lock_key = 'nope'), 0, '... and creates none');
SELECT is(wastore.chat_extend_lock('l', 'k', 'o1', '1 s'), true, 'extend of a lock without ttl gives it one');
SELECT is(wastore.chat_extend_lock('no-such-store', 'k', 'o1', '1 s'), false, 'extend in a missing store: false');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'no-such-store'), 0, '... which is not created');
SELECT wastore.chat_acquire_lock('l', 'short', 'o1', 'reject', '{}', '1 ms');
SELECT pg_temp.wait_ms(5);
SELECT is(wastore.chat_extend_lock('l', 'short', 'o1', '1 hour'), false, 'extend of an expired lock: false');
SELECT ok((SELECT expires_at < clock_timestamp() FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('l') AND lock_key = 'short'),
	'... and it stays expired (never revived)');
SELECT is(wastore.chat_acquire_lock('l', 'short', 'o2', 'reject', '{}', '1 hour'), 'acquired', '... someone else takes it over');
SELECT is(wastore.chat_extend_lock('l', 'short', 'o1', '1 hour'), false, '... and the old owner cannot extend it');
SELECT throws_ok($$ SELECT wastore.chat_extend_lock('l', 'k', 'o1', NULL) $$, '22004', NULL, 'extend: NULL ttl is 22004');
SELECT throws_ok($$ SELECT wastore.chat_extend_lock('l', 'k', 'o1', '0') $$, '22023', NULL, '... ttl 0 is 22023');
SELECT throws_ok($$ SELECT wastore.chat_extend_lock('l', 'k', repeat('x', 1025), '1 s') $$, '22023', NULL, '... an overlong owner is 22023');
SELECT throws_ok($$ SELECT wastore.chat_extend_lock('l', 'k', 'o', '300000 years') $$, '22008', NULL, '... ttl past the range is 22008');

-- the key-value store
SELECT is(wastore.chat_kv_get('kv', 'a'), NULL, 'kv_get of a missing store: NULL');
SELECT is(wastore.chat_kv_exists('kv', 'a'), false, 'kv_exists of a missing store: false');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'kv'), 0, '... not created by reads');
SELECT lives_ok($$ SELECT wastore.chat_kv_set('kv', 'a', '{"x": 1}') $$, 'kv_set');
SELECT is(wastore.chat_kv_get('kv', 'a'), '{"x": 1}'::jsonb, 'kv_get returns it');
SELECT lives_ok($$ SELECT wastore.chat_kv_set('kv', 'a', '[1, 2]', '1 hour') $$, 'kv_set replaces');
SELECT is(wastore.chat_kv_get('kv', 'a'), '[1, 2]'::jsonb, '... with the new value');
SELECT wastore.chat_kv_set('kv', 'null', 'null'), wastore.chat_kv_set('kv', 'true', 'true'), wastore.chat_kv_set('kv', 's', '"str"');
SELECT is(wastore.chat_kv_get('kv', 'null'), 'null'::jsonb, 'JSON null is a value');
SELECT is(wastore.chat_kv_exists('kv', 'null'), true, '... that exists');
SELECT is(wastore.chat_kv_get('kv', 'true'), 'true'::jsonb, 'scalars are values');
SELECT is(wastore.chat_kv_set_if_absent('kv', 'a', '"other"'), false, 'set_if_absent on a live key: false');
SELECT is(wastore.chat_kv_get('kv', 'a'), '[1, 2]'::jsonb, '... and the value stays');
SELECT is(wastore.chat_kv_set_if_absent('kv', 'b', 'true', '10 minutes'), true, 'set_if_absent on an absent key: true');
SELECT is(wastore.chat_kv_get('kv', 'b'), 'true'::jsonb, '... stored');
SELECT wastore.chat_kv_set('kv', 'exp', '"old"', '1 ms');
SELECT pg_temp.wait_ms(5);
SELECT is(wastore.chat_kv_get('kv', 'exp'), NULL, 'an expired key reads as NULL');
SELECT is(wastore.chat_kv_exists('kv', 'exp'), false, '... and does not exist');
SELECT is((SELECT count(*)::int FROM wastore.chat_kv WHERE incarnation = pg_temp.inc('kv') AND key = 'exp'), 1, '... before prune its row is still there');
SELECT is(wastore.chat_kv_set_if_absent('kv', 'exp', '"new"', '1 hour'), true, 'set_if_absent on an expired key: true');
SELECT is(wastore.chat_kv_get('kv', 'exp'), '"new"'::jsonb, '... with the new value');
SELECT lives_ok($$ SELECT wastore.chat_kv_delete('kv', 'a'), wastore.chat_kv_delete('kv', 'a'), wastore.chat_kv_delete('nostore', 'a') $$, 'kv_delete is idempotent');
SELECT is(wastore.chat_kv_exists('kv', 'a'), false, '... the key is gone');
SELECT throws_ok($$ SELECT wastore.chat_kv_set('kv', 'a', NULL) $$, '22004', NULL, 'kv_set: SQL NULL value is 22004');
SELECT throws_ok($$ SELECT wastore.chat_kv_set_if_absent('kv', NULL, '1') $$, '22004', NULL, 'set_if_absent: NULL key is 22004');
SELECT throws_ok($$ SELECT wastore.chat_kv_set('kv', repeat('k', 1025), '1') $$, '22023', NULL, 'kv_set: an overlong key is 22023');
SELECT throws_ok($$ SELECT wastore.chat_kv_set('kv', 'a', '1', '0') $$, '22023', NULL, 'kv_set: ttl 0 is 22023');
SELECT throws_ok($$ SELECT wastore.chat_kv_set('kv', 'a', '1', '300000 years') $$, '22008', NULL, 'kv_set: ttl past the range is 22008');
SELECT throws_ok($$ SELECT wastore.chat_kv_get('', 'a') $$, '22023', NULL, 'kv_get: an empty store id is 22023');

-- lists
SELECT is(wastore.chat_list_get('li', 'l'), '[]'::jsonb, 'list_get of nothing: []');
SELECT wastore.chat_list_append('li', 'l', to_jsonb(i), 3, '1 hour') FROM generate_series(1, 5) i;
SELECT is(wastore.chat_list_get('li', 'l'), '[3, 4, 5]'::jsonb, 'list_append keeps the newest max_length, oldest first');
SELECT wastore.chat_list_append('li', 'l', '"six"');
SELECT is(wastore.chat_list_get('li', 'l'), '[3, 4, 5, "six"]'::jsonb, 'without max_length nothing is trimmed');
SELECT is((SELECT expires_at FROM wastore.chat_lists WHERE incarnation = pg_temp.inc('li') AND list_key = 'l'), NULL,
	'... and without ttl the list no longer expires');
SELECT wastore.chat_list_append('li', 'l', 'null', 2);
SELECT is(wastore.chat_list_get('li', 'l'), '["six", null]'::jsonb, 'a smaller max_length trims at once');
SELECT is((SELECT count(*)::int FROM wastore.chat_list_items WHERE incarnation = pg_temp.inc('li') AND list_key = 'l'), 2,
	'... and deletes the trimmed items');
SELECT wastore.chat_list_append('li', 'e', '"old"', NULL, '1 ms');
SELECT pg_temp.wait_ms(5);
SELECT is(wastore.chat_list_get('li', 'e'), '[]'::jsonb, 'an expired list reads as []');
SELECT wastore.chat_list_append('li', 'e', '"new"', NULL, '1 hour');
SELECT is(wastore.chat_list_get('li', 'e'), '["new"]'::jsonb, 'an append to an expired list starts it afresh');
SELECT throws_ok($$ SELECT wastore.chat_list_append('li', 'l', '1', 0) $$, '22023', NULL, 'list_append: max_length 0 is 22023');
SELECT throws_ok($$ SELECT wastore.chat_list_append('li', 'l', NULL) $$, '22004', NULL, 'list_append: NULL value is 22004');
SELECT throws_ok($$ SELECT wastore.chat_list_append('li', 'l', '1', 1, '-1 s') $$, '22023', NULL, 'list_append: ttl < 0 is 22023');

-- queues
SELECT is(wastore.chat_queue_depth('q', 'a'), 0, 'queue_depth of nothing: 0');
SELECT is(wastore.chat_dequeue('q', 'a'), NULL, 'dequeue of nothing: NULL');
SELECT is((SELECT array_agg(wastore.chat_enqueue('q', 'a', jsonb_build_object('m', i), 3, clock_timestamp() + interval '1 hour') ORDER BY i)
			 FROM generate_series(1, 5) i),
	ARRAY[1, 2, 3, 3, 3], 'enqueue returns the live depth, at most max_size');
SELECT is(wastore.chat_dequeue('q', 'a'), '{"m": 3}'::jsonb, 'the oldest were dropped; dequeue returns the oldest live entry');
SELECT is(wastore.chat_dequeue('q', 'a'), '{"m": 4}'::jsonb, '... then the next');
SELECT is(wastore.chat_queue_depth('q', 'a'), 1, 'queue_depth counts what is left');
SELECT wastore.chat_enqueue('q', 'a', '{"m": "short"}', 10, clock_timestamp() + interval '1 ms');
SELECT wastore.chat_enqueue('q', 'a', '{"m": "late"}', 10, clock_timestamp() + interval '1 hour');
SELECT pg_temp.wait_ms(5);
SELECT is(wastore.chat_queue_depth('q', 'a'), 2, 'an expired entry does not count');
SELECT is(wastore.chat_dequeue('q', 'a'), '{"m": 5}'::jsonb, 'dequeue takes the oldest live entry');
SELECT is(wastore.chat_dequeue('q', 'a'), '{"m": "late"}'::jsonb, '... skipping (and discarding) an expired one');
SELECT is((SELECT count(*)::int FROM wastore.chat_queue WHERE incarnation = pg_temp.inc('q')), 0, '... the queue is empty');
SELECT is(wastore.chat_enqueue('q', 'a', '{}', 5, clock_timestamp() - interval '1 s'), 0, 'an entry already expired is not kept');
SELECT throws_ok($$ SELECT wastore.chat_enqueue('q', 'a', '{}', 0, now() + interval '1 h') $$, '22023', NULL, 'enqueue: max_size 0 is 22023');
SELECT throws_ok($$ SELECT wastore.chat_enqueue('q', 'a', '{}', NULL, now()) $$, '22004', NULL, 'enqueue: NULL max_size is 22004');
SELECT throws_ok($$ SELECT wastore.chat_enqueue('q', 'a', '{}', 1, NULL) $$, '22004', NULL, 'enqueue: NULL expires_at is 22004');
SELECT throws_ok($$ SELECT wastore.chat_enqueue('q', 'a', NULL, 1, now()) $$, '22004', NULL, 'enqueue: NULL entry is 22004');
SELECT throws_ok($$ SELECT wastore.chat_enqueue('q', 'a', '{}', 1, 'infinity') $$, '22008', NULL, 'enqueue: an infinite expires_at is 22008');

-- dedupe with a ttl, and unmark
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'm1', 1000, '1 ms'), true, 'mark with a ttl: new');
SELECT pg_temp.wait_ms(5);
SELECT is(wastore.chat_is_duplicate('d', 'wa', 'm1'), false, 'after its ttl the key is no duplicate');
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'm1', 1000, '1 hour'), true, '... and marking it again is new');
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'm1', 1000, '1 hour'), false, '... once');
SELECT is(wastore.chat_unmark_dedupe('d', 'wa', 'm1'), true, 'unmark of a key: true');
SELECT is(wastore.chat_is_duplicate('d', 'wa', 'm1'), false, '... it is forgotten');
SELECT is(wastore.chat_unmark_dedupe('d', 'wa', 'm1'), false, 'unmark of an unknown key: false');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('d', 'wa', 'm', 10, '0') $$, '22023', NULL, 'mark: ttl 0 is 22023');
SELECT throws_ok($$ SELECT wastore.chat_unmark_dedupe('d', NULL, 'm') $$, '22004', NULL, 'unmark: NULL adapter is 22004');

-- prune
SELECT wastore.chat_kv_set('p', 'k', '1', '1 ms'), wastore.chat_kv_set('p', 'live', '1', '1 hour'),
	   wastore.chat_list_append('p', 'l', '1', NULL, '1 ms'), wastore.chat_enqueue('p', 'q', '{}', 5, clock_timestamp() + interval '1 ms'),
	   wastore.chat_mark_dedupe('p', 'wa', 'm', 10, '1 ms'), wastore.chat_acquire_lock('p', 'lk', 'o', 'reject', '{}', '1 ms'),
	   wastore.lease_acquire('p', 'h', '1 ms');
SELECT wastore.chat_kv_set('p2', 'k', '1', '1 ms');
SELECT pg_temp.wait_ms(5);
SELECT is(wastore.prune('p'), 7::bigint, 'prune(store) removes what has expired: kv, list and item, queue entry, dedupe key, lock, lease');
SELECT is(wastore.chat_kv_get('p', 'live'), '1'::jsonb, '... and keeps the rest');
SELECT is((SELECT count(*)::int FROM wastore.chat_kv WHERE incarnation = pg_temp.inc('p2')), 1, '... and other stores');
SELECT is(wastore.prune('p'), 0::bigint, 'prune again: nothing');
SELECT is(wastore.prune('no-such-store'), 0::bigint, 'prune of a missing store: 0');
SELECT cmp_ok(wastore.prune(), '>=', 1::bigint, 'prune() by an administrator prunes every store');
SELECT is((SELECT count(*)::int FROM wastore.chat_kv WHERE incarnation = pg_temp.inc('p2')), 0, '... p2 too');

-- snapshots: the new parts round-trip; old snapshots load
SELECT wastore.chat_kv_set('s', 'k', '{"a": 1}', '1 hour'), wastore.chat_kv_set('s', 'n', 'null'),
	   wastore.chat_list_append('s', 'l', '1'), wastore.chat_list_append('s', 'l', '2', 5, '1 hour'),
	   wastore.chat_enqueue('s', 'q', '{"m": 1}', 5, clock_timestamp() + interval '1 hour'),
	   wastore.chat_mark_dedupe('s', 'wa', 'm', 10, '1 hour'), wastore.chat_mark_dedupe('s', 'wa', 'n');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(wastore.chat_snapshot('s')) k),
	ARRAY['channel_state', 'dedupe', 'dedupe_expires_at', 'dedupe_order', 'kv', 'lists', 'locks', 'pending_locks',
		  'queues', 'subscriptions', 'thread_state'], 'the snapshot has the parts of v2');
SELECT is(wastore.chat_snapshot('s') #> '{kv,n}', '{"value": null, "expires_at": null}'::jsonb, 'kv: value and expires_at');
SELECT is(wastore.chat_snapshot('s') #> '{lists,l,values}', '[1, 2]'::jsonb, 'lists: values oldest first');
SELECT is(jsonb_array_length(wastore.chat_snapshot('s') #> '{queues,q}'), 1, 'queues: the live entries');
SELECT is(wastore.chat_snapshot('s') -> 'dedupe_expires_at' -> 0 -> 1, '"m"'::jsonb, 'dedupe_expires_at: the keys with an expiry');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('s2', wastore.chat_snapshot('s')) $$, 'load a v2 snapshot');
SELECT is(wastore.chat_snapshot('s2'), wastore.chat_snapshot('s'), 'snapshot -> load -> snapshot is unchanged');
SELECT is(wastore.chat_dequeue('s2', 'q'), '{"m": 1}'::jsonb, 'a loaded queue dequeues');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('s2', '{"subscriptions": ["t"], "dedupe": [["wa", "x"]]}') $$,
	'a snapshot of 1.1 (no kv, lists, queues) loads');
SELECT is(wastore.chat_snapshot('s2') - 'subscriptions' - 'dedupe' - 'dedupe_order',
	'{"kv": {}, "lists": {}, "queues": {}, "locks": {}, "pending_locks": {}, "thread_state": {}, "channel_state": {}, "dedupe_expires_at": []}'::jsonb,
	'... and replaces the parts it lacks with nothing');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('s3', '{"kv": {"a": 1, "b": {"value": 2, "expires_at": "x"}, "c": {"value": 3, "expires_at": 1}},
	"lists": {"l": [1], "m": {"values": "no"}}, "queues": {"q": [{"entry": 1}, 7]}, "dedupe_expires_at": [1, ["a"]]}') $$,
	'malformed v2 parts load');
SELECT is(wastore.chat_snapshot('s3') - 'subscriptions' - 'dedupe' - 'dedupe_order',
	'{"kv": {}, "lists": {}, "queues": {}, "locks": {}, "pending_locks": {}, "thread_state": {}, "channel_state": {}, "dedupe_expires_at": []}'::jsonb,
	'... dropping every malformed or expired entry');

-- drop_store, tenants
SELECT pg_temp.inc('s') AS dropped \gset
SELECT wastore.drop_store('s');
SELECT is((SELECT count(*)::int FROM wastore.chat_kv WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_lists WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_list_items WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_queue WHERE incarnation = :dropped), 0,
	'drop_store leaves no v2 rows behind');

CREATE ROLE wastore_v2_alice NOLOGIN;
CREATE ROLE wastore_v2_bob NOLOGIN;
SELECT wastore.grant_access('wastore_v2_alice'), wastore.grant_access('wastore_v2_bob');
SET LOCAL ROLE wastore_v2_alice;
SELECT is(wastore.chat_kv_set_if_absent('alice', 'k', '1'), true, 'a tenant uses the kv store in its store');
SELECT wastore.chat_list_append('alice', 'l', '1'), wastore.chat_enqueue('alice', 'q', '{}', 5, clock_timestamp() + interval '1 hour');
SELECT is(wastore.prune('alice'), 0::bigint, '... and prunes its store');
SELECT throws_ok($$ SELECT wastore.prune() $$, '42501', NULL, '... but prune(NULL) is for administrators: 42501');
SELECT throws_ok($$ SELECT * FROM wastore.chat_kv $$, '42501', NULL, '... and cannot read the tables');
RESET ROLE;
SET LOCAL ROLE wastore_v2_bob;
SELECT throws_ok($$ SELECT wastore.chat_kv_get('alice', 'k') $$, '42501', NULL, 'another tenant: kv_get is 42501');
SELECT throws_ok($$ SELECT wastore.chat_dequeue('alice', 'q') $$, '42501', NULL, '... dequeue is 42501');
SELECT throws_ok($$ SELECT wastore.chat_list_get('alice', 'l') $$, '42501', NULL, '... list_get is 42501');
SELECT throws_ok($$ SELECT wastore.chat_extend_lock('alice', 'k', 'o', '1 s') $$, '42501', NULL, '... extend_lock is 42501');
SELECT throws_ok($$ SELECT wastore.prune('alice') $$, '42501', NULL, '... prune is 42501');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
