-- Chat state through the proxy.
SET client_min_messages = warning;
SELECT plan(16);

SELECT lives_ok($$ SELECT wastore.chat_subscribe('px-chat-1', 't1') $$, 'chat_subscribe');
SELECT ok(wastore.chat_is_subscribed('px-chat-1', 't1'), 'chat_is_subscribed');
SELECT lives_ok($$ SELECT wastore.chat_unsubscribe('px-chat-1', 't1') $$, 'chat_unsubscribe');
SELECT ok(NOT wastore.chat_is_subscribed('px-chat-1', 't1'), '... no longer subscribed');
SELECT is(wastore.chat_thread_state('px-chat-1', 't2'), '{}'::jsonb, 'thread state {} when none');
SELECT lives_ok($$ SELECT wastore.chat_put_thread_state('px-chat-1', 't2', '{"step": 2}') $$, 'chat_put_thread_state');
SELECT is(wastore.chat_thread_state('px-chat-1', 't2'), '{"step": 2}'::jsonb, '... reads back');
SELECT lives_ok($$ SELECT wastore.chat_put_channel_state('px-chat-1', 'c', '{"x": 1}') $$, 'chat_put_channel_state');
SELECT is(wastore.chat_channel_state('px-chat-1', 'c'), '{"x": 1}'::jsonb, '... reads back');
SELECT ok(wastore.chat_mark_dedupe('px-chat-2', 'wa', 'm1') AND NOT wastore.chat_mark_dedupe('px-chat-2', 'wa', 'm1'),
	'chat_mark_dedupe: new once');
SELECT ok(wastore.chat_is_duplicate('px-chat-2', 'wa', 'm1'), 'chat_is_duplicate');
SELECT is(ARRAY[wastore.chat_acquire_lock('px-chat-3', 'k', 'a'),
                wastore.chat_acquire_lock('px-chat-3', 'k', 'b'),
                wastore.chat_acquire_lock('px-chat-3', 'k', 'c', 'queue', '{"n": 1}'),
                wastore.chat_acquire_lock('px-chat-3', 'k', 'd', 'concurrent')],
	ARRAY['acquired', 'busy', 'queued', 'acquired']::wastore.lock_result[], 'chat_acquire_lock with the strategies');
SELECT is((SELECT row(released, pending) FROM wastore.chat_release_lock('px-chat-3', 'k', 'b')),
	row(false, NULL::jsonb), 'chat_release_lock by someone else: (false, NULL)');
SELECT is((SELECT row(released, pending) FROM wastore.chat_release_lock('px-chat-3', 'k', 'a')),
	row(true, '[{"owner": "c", "metadata": {"n": 1}, "strategy": "queue"}]'::jsonb),
	'chat_release_lock by the owner: the pending entries');
SELECT is(wastore.chat_force_release_lock('px-chat-3', 'none'), '[]'::jsonb, 'chat_force_release_lock');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('px-chat-4', wastore.chat_snapshot('px-chat-1')) $$,
	'chat_snapshot of one store loads into another (other shard or not)');

SELECT * FROM finish();
