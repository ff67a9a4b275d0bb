-- Chat state: subscriptions, thread and channel state, dedupe, argument
-- errors.  (Locks: 42_chat_locks.sql; snapshots: 43_chat_snapshot.sql.)
BEGIN;
SELECT plan(61);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

SELECT enum_has_labels('wastore', 'lock_strategy', ARRAY['reject', 'queue', 'debounce', 'concurrent'],
	'lock_strategy has the four strategies');
SELECT enum_has_labels('wastore', 'lock_result', ARRAY['acquired', 'queued', 'debounced', 'busy'],
	'lock_result has the four results');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = 'wastore' AND p.proname LIKE 'chat\_%'
			  AND obj_description(p.oid, 'pg_proc') IS NOT NULL), 27,
	'the twenty-seven chat functions (fourteen of 1.1, thirteen of chat state v2) exist, each with a comment');
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'wastore' AND c.relname LIKE 'chat\_%' AND c.relkind IN ('r', 'S')
			  AND c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'wastore')::oid[])), 11,
	'the chat tables (those of chat state v2 too) and the order sequence are registered for pg_dump');

-- subscriptions
SELECT is(wastore.chat_is_subscribed('c1', 'thread-1'), false, 'not subscribed at first');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'c1'), 0, '... and reading does not create the store');
SELECT lives_ok($$ SELECT wastore.chat_subscribe('c1', 'thread-1') $$, 'subscribe');
SELECT is(wastore.chat_is_subscribed('c1', 'thread-1'), true, 'subscribed');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'c1'), 1, 'subscribing creates the store');
SELECT lives_ok($$ SELECT wastore.chat_subscribe('c1', 'thread-1') $$, 'subscribing again is a no-op');
SELECT is((SELECT count(*)::int FROM wastore.chat_subscriptions WHERE incarnation = pg_temp.inc('c1')), 1, '... one row');
SELECT is(wastore.chat_is_subscribed('c1', 'thread-2'), false, 'another thread is not subscribed');
SELECT is(wastore.chat_is_subscribed('c2', 'thread-1'), false, 'nor the same thread of another store');
SELECT lives_ok($$ SELECT wastore.chat_unsubscribe('c1', 'thread-1') $$, 'unsubscribe');
SELECT is(wastore.chat_is_subscribed('c1', 'thread-1'), false, 'unsubscribed');
SELECT lives_ok($$ SELECT wastore.chat_unsubscribe('c1', 'thread-1') $$, 'unsubscribing again is a no-op');
SELECT lives_ok($$ SELECT wastore.chat_unsubscribe('never', 'thread-1') $$, 'unsubscribing in a missing store is a no-op');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'never'), 0, '... and does not create it');

-- thread and channel state
SELECT is(wastore.chat_thread_state('c1', 't'), '{}'::jsonb, 'thread state is {} when none');
SELECT lives_ok($$ SELECT wastore.chat_put_thread_state('c1', 't', '{"step": 1, "tags": ["a"]}') $$, 'put thread state');
SELECT is(wastore.chat_thread_state('c1', 't'), '{"step": 1, "tags": ["a"]}'::jsonb, 'thread state reads back');
SELECT lives_ok($$ SELECT wastore.chat_put_thread_state('c1', 't', '{"other": true}') $$, 'put again');
SELECT is(wastore.chat_thread_state('c1', 't'), '{"other": true}'::jsonb, 'put replaces the whole map');
SELECT is(wastore.chat_channel_state('c1', 't'), '{}'::jsonb, 'channel state is separate from thread state');
SELECT lives_ok($$ SELECT wastore.chat_put_channel_state('c1', 'ch', '{"mode": "quiet"}') $$, 'put channel state');
SELECT is(wastore.chat_channel_state('c1', 'ch'), '{"mode": "quiet"}'::jsonb, 'channel state reads back');
SELECT lives_ok($$ SELECT wastore.chat_put_channel_state('c1', 'ch', '{}') $$, 'put an empty map');
SELECT is(wastore.chat_channel_state('c1', 'ch'), '{}'::jsonb, '... reads back {}');

-- dedupe
SELECT is(wastore.chat_is_duplicate('c1', 'whatsapp', 'm1'), false, 'an unseen key is no duplicate');
SELECT is(wastore.chat_mark_dedupe('c1', 'whatsapp', 'm1'), true, 'marking a new key returns true');
SELECT is(wastore.chat_mark_dedupe('c1', 'whatsapp', 'm1'), false, 'marking it again returns false');
SELECT is(wastore.chat_is_duplicate('c1', 'whatsapp', 'm1'), true, 'a marked key is a duplicate');
SELECT is(wastore.chat_is_duplicate('c1', 'telegram', 'm1'), false, 'the adapter is part of the key');
SELECT is((SELECT array_agg(mode) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 30564),
	ARRAY['ExclusiveLock'], 'a mark holds the store''s dedupe lock (objsubid 30564) until the end of the transaction');

-- limit 2: the oldest key is evicted first
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'a', 2), true, 'limit 2: mark a');
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'b', 2), true, 'limit 2: mark b');
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'c', 2), true, 'limit 2: mark c');
SELECT results_eq($$ SELECT k, wastore.chat_is_duplicate('d', 'wa', k) FROM unnest(ARRAY['a', 'b', 'c']) k $$,
	$$ VALUES ('a', false), ('b', true), ('c', true) $$, 'limit 2: a, the oldest, was evicted');
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'b', 2), false, 'marking b again: not new');
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'd', 2), true, 'limit 2: mark d');
SELECT results_eq($$ SELECT k, wastore.chat_is_duplicate('d', 'wa', k) FROM unnest(ARRAY['b', 'c', 'd']) k $$,
	$$ VALUES ('b', false), ('c', true), ('d', true) $$,
	'a key marked again keeps its place: b, still the oldest, goes next');
SELECT is(wastore.chat_mark_dedupe('d', 'wa', 'd', 1), false, 'a smaller limit on a known key');
SELECT is((SELECT array_agg(message_id) FROM wastore.chat_dedupe WHERE incarnation = pg_temp.inc('d')), ARRAY['d'],
	'... trims at once to the newest key');

-- bad input: the documented SQLSTATE, and nothing changed
CREATE TEMP TABLE before ON COMMIT DROP AS SELECT wastore.chat_snapshot('c1') AS s;
SELECT throws_ok($$ SELECT wastore.chat_subscribe('c1', NULL) $$, '22004', 'thread_id must not be NULL', 'subscribe to a NULL thread');
SELECT throws_ok($$ SELECT wastore.chat_subscribe(NULL, 't') $$, '22004', 'store must not be NULL', 'subscribe in a NULL store');
SELECT throws_ok($$ SELECT wastore.chat_is_subscribed('c1', NULL) $$, '22004', 'thread_id must not be NULL', 'is_subscribed of NULL');
SELECT throws_ok($$ SELECT wastore.chat_put_thread_state('c1', NULL, '{}') $$, '22004', 'thread_id must not be NULL', 'put state of a NULL thread');
SELECT throws_ok($$ SELECT wastore.chat_put_thread_state('c1', 't', NULL) $$, '22004', 'state must not be NULL', 'a NULL thread state');
SELECT throws_ok($$ SELECT wastore.chat_put_thread_state('c1', 't', '[1]') $$, '22023', 'state must be a JSON object', 'an array as thread state');
SELECT throws_ok($$ SELECT wastore.chat_put_channel_state('c1', 'ch', '"quiet"') $$, '22023', 'state must be a JSON object', 'a string as channel state');
SELECT throws_ok($$ SELECT wastore.chat_channel_state('c1', NULL) $$, '22004', 'channel_id must not be NULL', 'channel state of NULL');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('c1', NULL, 'm2') $$, '22004', 'adapter must not be NULL', 'a NULL adapter');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('c1', 'wa', NULL) $$, '22004', 'message_id must not be NULL', 'a NULL message id');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('c1', 'wa', 'm2', 0) $$, '22023', 'dedupe_limit must be positive', 'a dedupe limit of 0');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('c1', 'wa', 'm2', -5) $$, '22023', 'dedupe_limit must be positive', 'a negative dedupe limit');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('c1', 'wa', 'm2', NULL) $$, '22004', 'dedupe_limit must not be NULL', 'a NULL dedupe limit');
SELECT throws_ok($$ SELECT wastore.chat_subscribe('c1', repeat('x', 1025)) $$, '22023', 'thread_id is too long', 'an overlong thread id');
SELECT is(wastore.chat_snapshot('c1'), (SELECT s FROM before), 'the failed calls changed nothing');
SELECT throws_ok($$ SELECT wastore.chat_mark_dedupe('fresh', 'wa', 'm', 0) $$, '22023', NULL, 'a bad limit for a missing store');
SELECT throws_ok($$ SELECT wastore.chat_put_thread_state('fresh', 't', '[]') $$, '22023', NULL, 'a bad state for a missing store');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'fresh'), 0, '... do not create it');

SELECT * FROM finish();
ROLLBACK;
