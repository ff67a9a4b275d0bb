-- Several stores with something in every part of wastore, for the dump and
-- restore test.  Run by psql with ON_ERROR_STOP.
SET client_min_messages = warning;

SELECT wastore.set('acct-' || s, jsonb_build_object(
	'session', jsonb_build_object('4915100' || s || '.0', jsonb_build_object('type', 'Buffer', 'data', encode(sha256(s::text::bytea), 'base64'))),
	'pre-key', (SELECT jsonb_object_agg(i, jsonb_build_object('public', 'p' || i, 'private', 'k' || i)) FROM generate_series(1, 30) i),
	'sender-key', jsonb_build_object('group@g.us::4915100' || s || '::0', '"c2VuZGVy"'::jsonb),
	'sender-key-memory', jsonb_build_object('group@g.us', jsonb_build_object('4915100' || s || ':0@s.whatsapp.net', true)),
	'app-state-sync-key', jsonb_build_object('AAAAAGNe', jsonb_build_object('keyData', 'a2V5', 'timestamp', '1700000000')),
	'lid-mapping', jsonb_build_object('4915100' || s, '12345' || s || '@lid'),
	'device-list', jsonb_build_object('4915100' || s, jsonb_build_array('0', '12')),
	'tctoken', jsonb_build_object('4915100' || s || '@s.whatsapp.net', jsonb_build_object('token', 'dG9r', 'timestamp', 1700000000 + s)),
	'identity-key', jsonb_build_object('4915100' || s || '.0', jsonb_build_object('type', 'Buffer', 'data', 'BQab')),
	'creds', jsonb_build_object('registrationId', 1000 + s, 'nextPreKeyId', 31, 'firstUnuploadedPreKeyId', 31,
		'me', jsonb_build_object('id', '4915100' || s || ':7@s.whatsapp.net'))))
  FROM generate_series(1, 3) s;

SELECT wastore.merge_creds('acct-1', '{"me": {"lid": "999@lid"}}', true);
SELECT wastore.conn_put('acct-' || s, 'routing_info', to_jsonb('cm91dGU' || s)) FROM generate_series(1, 3) s;

SELECT wastore.chat_subscribe('acct-1', 'thread-' || t) FROM generate_series(1, 5) t;
SELECT wastore.chat_put_thread_state('acct-1', 'thread-1', '{"step": 3, "topic": "orders"}');
SELECT wastore.chat_put_channel_state('acct-2', 'channel-1', '{"muted": true}');
SELECT wastore.chat_mark_dedupe('acct-1', 'whatsapp', 'msg-' || m, 5) FROM generate_series(1, 8) m;
SELECT wastore.chat_acquire_lock('acct-1', 'thread-1', 'worker-a', 'reject', '{"job": 1}', interval '1 day');
SELECT wastore.chat_acquire_lock('acct-1', 'thread-1', 'worker-b', 'queue', '{"job": 2}');
SELECT wastore.chat_acquire_lock('acct-1', 'thread-1', 'worker-c', 'queue', '{"job": 3}');
-- The largest TTL accepted: the lock expires in the last millisecond
-- PostgreSQL can store, which pg_dump must write so that pg_restore reads it
-- back (before 1.2 it was stored past the largest timestamp, and the restore
-- lost the whole table).
SELECT wastore.chat_acquire_lock('acct-2', 'forever', 'worker-z', 'reject', '{"job": 9}',
	'294276-12-31 23:59:59.999+00'::timestamptz - clock_timestamp());


-- App-state sync: a patched collection, a snapshot, a sync key.
SELECT * FROM wastore.apply_app_state_patch('acct-1', 'regular_high', 1, ARRAY['set', 'set', 'remove'],
	ARRAY[sha256('i1'), sha256('i2'), sha256('i1')], ARRAY[sha256('v1'), sha256('v2'), sha256('v1')]);
SELECT * FROM wastore.apply_app_state_snapshot('acct-2', 'critical_block', 7,
	(SELECT array_agg(sha256(int4send(i))) FROM generate_series(1, 20) i),
	(SELECT array_agg(sha256(int4send(-i))) FROM generate_series(1, 20) i));
SELECT wastore.put_app_state_sync_key('acct-3', 'AAAAAGNf', '{"keyData": "a2V5Mg==", "timestamp": "1700000001"}');

-- Chat state v2: kv entries (JSON null, a TTL), a capped list with a TTL,
-- queue entries, dedupe keys with a TTL.
SELECT wastore.chat_kv_set('acct-1', 'thread-state:t1', '{"step": 1}', interval '30 days');
SELECT wastore.chat_kv_set('acct-1', 'nothing', 'null');
SELECT wastore.chat_kv_set_if_absent('acct-2', 'dedupe:whatsapp:m1', 'true', interval '10 minutes');
SELECT wastore.chat_list_append('acct-1', 'msg-history:t1', jsonb_build_object('n', n), 3, interval '7 days')
  FROM generate_series(1, 5) n;
SELECT wastore.chat_enqueue('acct-1', 'thread-1', jsonb_build_object('message', m), 10,
	'2100-01-01 00:00:00+00'::timestamptz) FROM generate_series(1, 3) m;
SELECT wastore.chat_mark_dedupe('acct-2', 'telegram', 'tg-' || m, 100, interval '1 hour') FROM generate_series(1, 3) m;
