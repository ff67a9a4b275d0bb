-- Chat state and stores: drop_store purges it, another role's store is out of
-- reach (42501), and a role with table privileges uses its own store.
BEGIN;
SELECT plan(15);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

-- drop_store removes the chat state of that store only
SELECT wastore.chat_subscribe('gone', 't'), wastore.chat_mark_dedupe('gone', 'wa', 'm'),
	   wastore.chat_put_thread_state('gone', 't', '{"a": 1}'), wastore.chat_put_channel_state('gone', 'c', '{"b": 2}'),
	   wastore.chat_acquire_lock('gone', 'k', 'o'), wastore.chat_acquire_lock('gone', 'k', 'p', 'queue');
SELECT wastore.chat_subscribe('kept', 't');
SELECT pg_temp.inc('gone') AS dropped \gset
SELECT lives_ok($$ SELECT wastore.drop_store('gone') $$, 'drop_store of a store with chat state');
SELECT is((SELECT count(*)::int FROM wastore.chat_subscriptions WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_dedupe WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_thread_state WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_channel_state WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_locks WHERE incarnation = :dropped)
		+ (SELECT count(*)::int FROM wastore.chat_pending WHERE incarnation = :dropped), 0,
	'drop_store leaves no chat rows behind');
SELECT is(wastore.chat_is_subscribed('kept', 't'), true, '... and leaves other stores alone');

-- two unprivileged roles with the table privileges the functions need
CREATE ROLE wastore_chat_alice NOLOGIN;
CREATE ROLE wastore_chat_bob NOLOGIN;
GRANT USAGE ON SCHEMA wastore TO wastore_chat_alice, wastore_chat_bob;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA wastore TO wastore_chat_alice, wastore_chat_bob;
GRANT USAGE ON SEQUENCE wastore.chat_seq TO wastore_chat_alice, wastore_chat_bob;

SET LOCAL ROLE wastore_chat_alice;
SELECT is(wastore.chat_acquire_lock('alice', 'k', 'o'), 'acquired', 'alice acquires a lock in her store');
SELECT is(wastore.chat_mark_dedupe('alice', 'wa', 'm'), true, 'alice marks a dedupe key');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('alice2', wastore.chat_snapshot('alice')) $$, 'alice loads a snapshot');
RESET ROLE;

SET LOCAL ROLE wastore_chat_bob;
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('alice', 'k', 'o') $$, '42501', 'permission denied for store "alice"',
	'bob cannot acquire in alice''s store');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('alice', 'k', 'o', 'concurrent') $$, '42501', NULL,
	'... not even with the concurrent strategy');
SELECT throws_ok($$ SELECT * FROM wastore.chat_release_lock('alice', 'k', 'o') $$, '42501', NULL, '... nor release there');
SELECT throws_ok($$ SELECT wastore.chat_force_release_lock('alice', 'k') $$, '42501', NULL, '... nor force release');
SELECT throws_ok($$ SELECT wastore.chat_is_duplicate('alice', 'wa', 'm') $$, '42501', NULL, '... nor read dedupe keys');
SELECT throws_ok($$ SELECT wastore.chat_snapshot('alice') $$, '42501', NULL, '... nor take a snapshot');
SELECT throws_ok($$ SELECT wastore.chat_load_snapshot('alice', '{}') $$, '42501', NULL, '... nor load one');
RESET ROLE;

SELECT is(wastore.chat_acquire_lock('alice', 'k', 'o2'), 'busy', 'alice''s lock is still held');
SELECT is(wastore.chat_is_duplicate('alice', 'wa', 'm'), true, '... and her dedupe key still there');

SELECT * FROM finish();
ROLLBACK;
