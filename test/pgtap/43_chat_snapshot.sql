-- Chat snapshots: shape, round trip, normalisation on load, replacement,
-- bad input; drop_store; another role's store.
BEGIN;
SELECT plan(31);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

CREATE TEMP TABLE empty_snapshot ON COMMIT DROP AS SELECT
	'{"subscriptions": [], "dedupe": [], "dedupe_order": [], "thread_state": {}, "channel_state": {},
	  "locks": {}, "pending_locks": {}, "dedupe_expires_at": [], "kv": {}, "lists": {}, "queues": {}}'::jsonb AS s;

SELECT is(wastore.chat_snapshot('none'), (SELECT s FROM empty_snapshot), 'a missing store has the empty snapshot');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'none'), 0, '... and is not created');

-- a store with something in every part
SELECT wastore.chat_subscribe('a', 'thread-b'), wastore.chat_subscribe('a', 'thread-a');
SELECT wastore.chat_mark_dedupe('a', 'whatsapp', 'm2'), wastore.chat_mark_dedupe('a', 'telegram', '77'),
	   wastore.chat_mark_dedupe('a', 'whatsapp', 'm1');
SELECT wastore.chat_put_thread_state('a', 'thread-a', '{"step": 2}'), wastore.chat_put_channel_state('a', 'chan', '{"x": [1, 2]}');
SELECT wastore.chat_acquire_lock('a', 'thread:1', 'owner-1', 'queue', '{"message_id": "m1"}', '10 minutes');
SELECT wastore.chat_acquire_lock('a', 'thread:1', 'owner-2', 'queue', '{"message_id": "m2"}');
SELECT wastore.chat_acquire_lock('a', 'thread:1', 'owner-3', 'queue', '{"message_id": "m3"}');
SELECT wastore.chat_acquire_lock('a', 'thread:2', 'owner-1');

CREATE TEMP TABLE snap ON COMMIT DROP AS SELECT wastore.chat_snapshot('a') AS s;
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys((SELECT s FROM snap)) k),
	ARRAY['channel_state', 'dedupe', 'dedupe_expires_at', 'dedupe_order', 'kv', 'lists', 'locks', 'pending_locks',
		  'queues', 'subscriptions', 'thread_state'],
	'the snapshot has the eleven parts (seven of 1.1, four of chat state v2)');
SELECT is((SELECT s -> 'subscriptions' FROM snap), '["thread-a", "thread-b"]'::jsonb, 'subscriptions: a sorted list');
SELECT is((SELECT s -> 'dedupe' FROM snap), '[["telegram", "77"], ["whatsapp", "m1"], ["whatsapp", "m2"]]'::jsonb,
	'dedupe: a sorted set of [adapter, message_id] pairs');
SELECT is((SELECT s -> 'dedupe_order' FROM snap), '[["whatsapp", "m2"], ["telegram", "77"], ["whatsapp", "m1"]]'::jsonb,
	'dedupe_order: the same pairs, oldest first');
SELECT is((SELECT s -> 'thread_state' FROM snap), '{"thread-a": {"step": 2}}'::jsonb, 'thread_state: a map');
SELECT is((SELECT s -> 'channel_state' FROM snap), '{"chan": {"x": [1, 2]}}'::jsonb, 'channel_state: a map');
SELECT is((SELECT s -> 'locks' -> 'thread:2' FROM snap),
	'{"owner": "owner-1", "strategy": "reject", "metadata": {}, "expires_at": null}'::jsonb,
	'locks: {owner, strategy, metadata, expires_at}');
SELECT is((SELECT (s -> 'locks' -> 'thread:1' -> 'expires_at')::numeric FROM snap),
	(SELECT floor(extract(epoch FROM expires_at) * 1000) FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('a') AND lock_key = 'thread:1'),
	'expires_at: whole milliseconds since the Unix epoch');
SELECT is((SELECT s -> 'pending_locks' FROM snap),
	'{"thread:1": [{"owner": "owner-2", "strategy": "queue", "metadata": {"message_id": "m2"}},
	               {"owner": "owner-3", "strategy": "queue", "metadata": {"message_id": "m3"}}]}'::jsonb,
	'pending_locks: lists of entries in order');

-- snapshot -> load -> snapshot
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('b', (SELECT s FROM snap)) $$, 'load the snapshot into another store');
SELECT is(wastore.chat_snapshot('b'), (SELECT s FROM snap), 'snapshot -> load -> snapshot is unchanged');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('a', (SELECT s FROM snap)) $$, 'load the snapshot into its own store');
SELECT is(wastore.chat_snapshot('a'), (SELECT s FROM snap), '... unchanged too');
SELECT is(wastore.chat_acquire_lock('b', 'thread:1', 'owner-9'), 'busy', 'a loaded lock holds');
SELECT results_eq($$ SELECT released, jsonb_array_length(pending) FROM wastore.chat_release_lock('b', 'thread:1', 'owner-1') $$,
	$$ VALUES (true, 2) $$, '... and releases with its loaded pending entries');
SELECT is(wastore.chat_mark_dedupe('b', 'whatsapp', 'm3', 3), true, 'a new dedupe key after a load');
SELECT is(wastore.chat_snapshot('b') -> 'dedupe_order', '[["telegram", "77"], ["whatsapp", "m1"], ["whatsapp", "m3"]]'::jsonb,
	'... evicts the oldest loaded key first');

-- load normalises: lists and map-sets into sets, malformed entries dropped,
-- missing parts empty, unknown members ignored
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('n', $j${
	"subscriptions": ["t2", "t1", "t2", 42, null, {"x": 1}, ["t3"]],
	"dedupe": [["wa", "m1"], ["wa", 7], ["wa"], "wa:m2", ["wa", "m", "x"], [1, "m"], ["wa", null], ["tg", "only-in-set"]],
	"dedupe_order": [["wa", "m9"], ["wa", "m1"], ["wa", "m9"], {"adapter": "wa"}],
	"thread_state": {"t1": {"k": 1}, "t2": 3, "t3": [], "t4": null},
	"channel_state": "not a map",
	"locks": {"k1": {"owner": "o"}, "k2": {"owner": 3}, "k3": {"owner": "o", "strategy": "burst"},
	          "k4": {"owner": "o", "strategy": "queue", "metadata": null, "expires_at": 1000.7},
	          "k5": {"owner": "o", "expires_at": "tomorrow"}, "k6": {"owner": "o", "expires_at": 1e30},
	          "k7": ["o"], "k8": {"owner": "o", "metadata": [1]}, "k9": {"owner": "o", "strategy": "concurrent"}},
	"pending_locks": {"k1": [{"owner": "a"}, 3, {"owner": "b", "enqueued_at": 5}], "k2": "x", "k3": []},
	"concurrency_events": [{"event": "dropped"}]
}$j$) $$, 'load a snapshot with odd and malformed parts');
SELECT is(wastore.chat_snapshot('n'), $j${
	"subscriptions": ["42", "t1", "t2"],
	"dedupe": [["tg", "only-in-set"], ["wa", "7"], ["wa", "m1"], ["wa", "m9"]],
	"dedupe_order": [["tg", "only-in-set"], ["wa", "7"], ["wa", "m9"], ["wa", "m1"]],
	"thread_state": {"t1": {"k": 1}},
	"channel_state": {},
	"locks": {"k1": {"owner": "o", "strategy": "reject", "metadata": {}, "expires_at": null},
	          "k4": {"owner": "o", "strategy": "queue", "metadata": {}, "expires_at": 1000}},
	"pending_locks": {"k1": [{"owner": "a"}, {"owner": "b", "enqueued_at": 5}]},
	"dedupe_expires_at": [], "kv": {}, "lists": {}, "queues": {}
}$j$::jsonb, 'lists become sets, malformed entries are dropped, numbers become ids, keys only in the set come first');
SELECT is(wastore.chat_acquire_lock('n', 'k4', 'o2'), 'acquired', 'a loaded lock whose expires_at has passed is free');

SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('n', '{"subscriptions": {"a": true, "b": false, "c": null, "d": {}}}') $$,
	'load a map-set of subscriptions and nothing else');
SELECT is(wastore.chat_snapshot('n'), (SELECT s FROM empty_snapshot) || '{"subscriptions": ["a", "d"]}',
	'a map-set''s members are its keys not mapped to false or null; the missing parts are empty, and the old state is replaced');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('n', '{}') $$, 'load {}');
SELECT is(wastore.chat_snapshot('n'), (SELECT s FROM empty_snapshot), '... empties the chat state');

-- bad input: the documented SQLSTATE, and nothing changed
SELECT throws_ok($$ SELECT wastore.chat_load_snapshot('a', '[]') $$, '22023', 'snapshot must be a JSON object', 'an array snapshot');
SELECT throws_ok($$ SELECT wastore.chat_load_snapshot('a', '"x"') $$, '22023', 'snapshot must be a JSON object', 'a scalar snapshot');
SELECT throws_ok($$ SELECT wastore.chat_load_snapshot('a', NULL) $$, '22004', 'snapshot must not be NULL', 'a NULL snapshot');
SELECT throws_ok($$ SELECT wastore.chat_load_snapshot(NULL, '{}') $$, '22004', 'store must not be NULL', 'a NULL store');
SELECT is(wastore.chat_snapshot('a'), (SELECT s FROM snap), 'the failed loads changed nothing');

SELECT * FROM finish();
ROLLBACK;
