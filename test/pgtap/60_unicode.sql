-- Non-ASCII text in every part that holds JSON: accents, emoji (a ZWJ
-- sequence and a flag), a right-to-left name, and the same characters
-- written as JSON \u escapes (a WhatsApp contact called "Jos\u00e9"), each
-- stored and read back unchanged.  The values need a UTF-8 database: in a
-- SQL_ASCII one jsonb refuses every escape above U+007F (0A000).
BEGIN;
SELECT plan(30);
-- this file is UTF-8, whatever the caller's locale says
SET client_encoding = 'UTF8';

SELECT is(current_setting('server_encoding'), 'UTF8', 'the database is UTF-8');

CREATE TEMP TABLE u ON COMMIT DROP AS SELECT
	'{"name": "José Ñúñez", "rtl": "محمد عبد الله", "hebrew": "שלום", "emoji": "👨‍👩‍👧 🇧🇷 😀",
	  "escaped": "Jos\u00e9 \ud83d\ude00", "list": ["Ünïcödé", "日本語"]}'::jsonb AS v,
	'{"pushName": "Zoë 🎉", "verifiedName": "مطعم الياسمين"}'::jsonb AS w;

SELECT is((SELECT v ->> 'escaped' FROM u), 'José 😀', 'the \u escapes are the characters themselves');
SELECT ok((SELECT octet_length(v::text) > length(v::text) FROM u), 'the values are multi-byte text');

--------------------------------------------------------------------------
-- the key store: every family that keeps its JSON as written (the
-- app-state-sync-version family is an LTHashState, stored normalised:
-- version, hash and MACs, no text), through set and get
--------------------------------------------------------------------------
SELECT lives_ok($$ SELECT wastore.set('uni', (SELECT jsonb_build_object(
	'session', jsonb_build_object('4915112345678.0', v, 'Jósé.0', w),
	'pre-key', jsonb_build_object('1', v),
	'sender-key', jsonb_build_object('group-ü@g.us::4915112345678::0', v),
	'sender-key-memory', jsonb_build_object('group@g.us', v),
	'app-state-sync-key', jsonb_build_object('AAAAAHsB', v),
	'lid-mapping', jsonb_build_object('4915112345678', v),
	'device-list', jsonb_build_object('4915112345678', jsonb_build_array(v ->> 'name', v ->> 'rtl')),
	'tctoken', jsonb_build_object('4915112345678@s.whatsapp.net', v),
	'identity-key', jsonb_build_object('4915112345678.0', v)) FROM u)) $$,
	'set: non-ASCII values in nine families');
SELECT is((SELECT value FROM wastore.get('uni', 'session', ARRAY['4915112345678.0'])), (SELECT v FROM u), 'get: session');
SELECT is((SELECT value FROM wastore.get('uni', 'session', ARRAY['Jósé.0'])), (SELECT w FROM u), 'get: session, a non-ASCII id');
SELECT is((SELECT value FROM wastore.get('uni', 'pre-key', ARRAY['1'])), (SELECT v FROM u), 'get: pre-key');
SELECT is((SELECT value FROM wastore.get('uni', 'sender-key', ARRAY['group-ü@g.us::4915112345678::0'])), (SELECT v FROM u),
	'get: sender-key, a non-ASCII id');
SELECT is((SELECT value FROM wastore.get('uni', 'sender-key-memory', ARRAY['group@g.us'])), (SELECT v FROM u), 'get: sender-key-memory');
SELECT is((SELECT value FROM wastore.get('uni', 'app-state-sync-key', ARRAY['AAAAAHsB'])), (SELECT v FROM u), 'get: app-state-sync-key');
SELECT is((SELECT value FROM wastore.get('uni', 'lid-mapping', ARRAY['4915112345678'])), (SELECT v FROM u), 'get: lid-mapping');
SELECT is((SELECT value FROM wastore.get('uni', 'device-list', ARRAY['4915112345678'])), '["José Ñúñez", "محمد عبد الله"]'::jsonb,
	'get: device-list');
SELECT is((SELECT value FROM wastore.get('uni', 'tctoken', ARRAY['4915112345678@s.whatsapp.net'])), (SELECT v FROM u), 'get: tctoken');
SELECT is((SELECT value FROM wastore.get('uni', 'identity-key', ARRAY['4915112345678.0'])), (SELECT v FROM u), 'get: identity-key');
SELECT lives_ok($$ SELECT wastore.set('uni-escaped', '{"session": {"x": "Jos\u00e9"}}') $$, 'set: a JSON \u escape (the quick start''s "Jos\u00e9")');
SELECT is((SELECT value FROM wastore.get('uni-escaped', 'session', ARRAY['x'])), '"José"'::jsonb, '... reads back as "José"');

--------------------------------------------------------------------------
-- creds: merge_creds (shallow and deep) and a set carrying "creds"
--------------------------------------------------------------------------
SELECT wastore.merge_creds('uni', (SELECT jsonb_build_object('me', jsonb_build_object('id', '4915112345678@s.whatsapp.net', 'name', v ->> 'rtl')) FROM u));
SELECT wastore.merge_creds('uni', (SELECT jsonb_build_object('me', w, 'accountSettings', v) FROM u), true);
SELECT is(wastore.creds('uni'), (SELECT jsonb_build_object('me', jsonb_build_object('id', '4915112345678@s.whatsapp.net', 'name', v ->> 'rtl') || w,
	'accountSettings', v) FROM u), 'merge_creds (shallow, then deep) and creds');
SELECT wastore.set('uni-creds', (SELECT jsonb_build_object('pre-key', jsonb_build_object('2', w), 'creds', jsonb_build_object('me', v)) FROM u));
SELECT is(wastore.creds('uni-creds') -> 'me', (SELECT v FROM u), 'a set with "creds": the creds');

--------------------------------------------------------------------------
-- the connection store and the app-state sync keys
--------------------------------------------------------------------------
SELECT wastore.conn_put('uni', 'connection_name', (SELECT v FROM u));
SELECT wastore.conn_put('uni', 'ünïcode key', '"ذاكرة"');
SELECT is(wastore.conn_get('uni', 'connection_name'), (SELECT v FROM u), 'conn_put, conn_get');
SELECT is(wastore.conn_get('uni', 'ünïcode key'), '"ذاكرة"'::jsonb, 'conn_get: a non-ASCII key');
SELECT wastore.put_app_state_sync_key('uni', 'AAAAAHsC', (SELECT v FROM u));
SELECT is(wastore.get_app_state_sync_key('uni', 'AAAAAHsC'), (SELECT v FROM u), 'put_app_state_sync_key, get_app_state_sync_key');

--------------------------------------------------------------------------
-- chat state: thread and channel state, lock metadata and pending entries,
-- the snapshot
--------------------------------------------------------------------------
SELECT wastore.chat_put_thread_state('uni', 'thread-ñ', (SELECT v FROM u));
SELECT wastore.chat_put_channel_state('uni', 'قناة', (SELECT w FROM u));
SELECT is(wastore.chat_thread_state('uni', 'thread-ñ'), (SELECT v FROM u), 'chat_put_thread_state, chat_thread_state');
SELECT is(wastore.chat_channel_state('uni', 'قناة'), (SELECT w FROM u), 'chat_put_channel_state, chat_channel_state');
SELECT is(wastore.chat_acquire_lock('uni', 'thread:ñ', 'worker-á', 'queue', (SELECT v FROM u)), 'acquired', 'chat_acquire_lock with non-ASCII metadata');
SELECT is(wastore.chat_acquire_lock('uni', 'thread:ñ', 'عامل', 'queue', (SELECT w FROM u)), 'queued', '... and a queued entry');
SELECT wastore.chat_subscribe('uni', 'thread-ñ'), wastore.chat_mark_dedupe('uni', 'whatsapp', 'msg-é');

CREATE TEMP TABLE snap ON COMMIT DROP AS SELECT wastore.chat_snapshot('uni') AS s;
SELECT is((SELECT s -> 'locks' -> 'thread:ñ' -> 'metadata' FROM snap), (SELECT v FROM u), 'chat_snapshot: the lock metadata');
SELECT is((SELECT s -> 'thread_state' -> 'thread-ñ' FROM snap), (SELECT v FROM u), 'chat_snapshot: the thread state');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('uni-loaded', (SELECT s FROM snap)) $$, 'chat_load_snapshot');
SELECT is(wastore.chat_snapshot('uni-loaded'), (SELECT s FROM snap), '... and chat_snapshot reads it back unchanged');
SELECT results_eq($$ SELECT released, pending FROM wastore.chat_release_lock('uni', 'thread:ñ', 'worker-á') $$,
	$$ SELECT true, jsonb_build_array(jsonb_build_object('owner', 'عامل', 'strategy', 'queue', 'metadata', w)) FROM u $$,
	'chat_release_lock: the pending entry with its metadata');

SELECT * FROM finish();
ROLLBACK;
