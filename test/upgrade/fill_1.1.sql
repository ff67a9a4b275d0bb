-- The data of a 1.1 install in every part, written as 1.1's tables hold it
-- (keyed by store id): the library installed is always the latest, whose
-- functions serve the latest tables only.  A tenant role owns one store,
-- and a few rows belong to no store (1.1 could leave such rows behind).
SET client_min_messages = warning;

CREATE ROLE upgrade_tenant;
SELECT wastore.grant_access('upgrade_tenant');

INSERT INTO wastore.store_owners (store, owner, created_at) VALUES
	('acct-1', 'postgres', '2026-01-01 00:00:00+00'),
	('acct-2', 'postgres', '2026-01-02 00:00:00+00'),
	('tenant', 'upgrade_tenant', '2026-01-03 00:00:00+00');

INSERT INTO wastore.keys (store, family, id, value)
SELECT s, 'pre-key', i::text, jsonb_build_object('public', 'p' || i, 'private', 'k' || i)
  FROM unnest(ARRAY['acct-1', 'acct-2']) s, generate_series(1, 30) i;
INSERT INTO wastore.keys (store, family, id, value) VALUES
	('acct-1', 'session', '4915100.0', '{"type": "Buffer", "data": "c2Vzc2lvbg=="}'),
	('acct-1', 'app-state-sync-key', 'AAAAAGNe', '{"keyData": "a2V5"}'),
	('acct-2', 'identity-key', '4915101.0', '{"type": "Buffer", "data": "BQab"}'),
	('tenant', 'session', 'x.0', '"eA=="'),
	('gone', 'pre-key', '1', '{"private": "ORPHAN"}');

INSERT INTO wastore.sync_versions (store, collection, version, hash) VALUES
	('acct-1', 'regular_high', 1, wastore.lthash_add(wastore.lthash_zero(), ARRAY[sha256('v2')])),
	('gone', 'regular', 1, wastore.lthash_zero());
INSERT INTO wastore.sync_index (store, collection, index_mac, value_mac) VALUES
	('acct-1', 'regular_high', sha256('i2'), sha256('v2'));

INSERT INTO wastore.auth_states (store, auth_state) VALUES
	('acct-1', '{"registrationId": 1001, "nextPreKeyId": 31, "me": {"id": "4915100:7@s.whatsapp.net", "lid": "999@lid"}}'),
	('acct-2', '{"creds": {"registrationId": 1002}, "keys": {}}'),
	('tenant', '{"registrationId": 7}'),
	('gone', '{"registrationId": 666}');
INSERT INTO wastore.conn_values (store, key, value) VALUES
	('acct-1', 'routing_info', '"cm91dGU="'), ('gone', 'routing_info', '"b3JwaGFu"');

INSERT INTO wastore.chat_subscriptions (store, thread_id) VALUES ('acct-1', 'thread-1'), ('acct-1', 'thread-2');
INSERT INTO wastore.chat_dedupe (store, adapter, message_id, seq) VALUES
	('acct-1', 'whatsapp', 'msg-1', 1), ('acct-1', 'whatsapp', 'msg-2', 2);
INSERT INTO wastore.chat_thread_state (store, thread_id, state) VALUES ('acct-1', 'thread-1', '{"step": 3}');
INSERT INTO wastore.chat_channel_state (store, channel_id, state) VALUES ('acct-2', 'channel-1', '{"muted": true}');
INSERT INTO wastore.chat_locks (store, lock_key, owner, strategy, metadata, expires_at) VALUES
	('acct-1', 'thread-1', 'worker-a', 'reject', '{"job": 1}', '2030-01-01 00:00:00+00');
INSERT INTO wastore.chat_pending (store, lock_key, entry) VALUES
	('acct-1', 'thread-1', '{"owner": "worker-b", "strategy": "queue", "metadata": {"job": 2}}');
