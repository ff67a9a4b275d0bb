-- Rows 1.2's CHECK constraints reject, as 1.1's tables could hold them (1.1
-- let tenants write the tables directly), next to rows that are fine, in
-- the stores 'repair' and 'repair-2'.  The update to 1.2 repairs them where
-- the repair keeps their meaning and drops them where no function could use
-- them; test/upgrade/run.sh checks which.
SET client_min_messages = warning;

INSERT INTO wastore.keys (store, family, id, value) VALUES
	('repair', 'session', repeat('k', 1100), '"overlong id"'),
	('repair', 'session', 'good.0', '"kept"');

-- 'regular': fine; 'bad_mac': a 2-byte value MAC; a collection name over
-- 1024 bytes
INSERT INTO wastore.sync_versions (store, collection, version, hash) VALUES
	('repair', 'regular', 1, wastore.lthash_add(wastore.lthash_zero(), ARRAY[sha256('v1')])),
	('repair', 'bad_mac', 2, wastore.lthash_add(wastore.lthash_zero(), ARRAY[sha256('v1')])),
	('repair', repeat('c', 1100), 1, wastore.lthash_zero());
INSERT INTO wastore.sync_index (store, collection, index_mac, value_mac) VALUES
	('repair', 'regular', sha256('i1'), sha256('v1')),
	('repair', 'bad_mac', sha256('i1'), sha256('v1')),
	('repair', 'bad_mac', sha256('i2'), '\x0102');

INSERT INTO wastore.conn_values (store, key, value) VALUES
	('repair', repeat('k', 1100), '1'), ('repair', 'routing_info', '"kept"');
INSERT INTO wastore.chat_subscriptions (store, thread_id) VALUES
	('repair', repeat('t', 1100)), ('repair', 'thread-1');
INSERT INTO wastore.chat_thread_state (store, thread_id, state) VALUES
	('repair', repeat('t', 1100), '{}'), ('repair', 'thread-1', '{"kept": true}');
INSERT INTO wastore.chat_channel_state (store, channel_id, state) VALUES
	('repair', repeat('c', 1100), '{}'), ('repair', 'channel-1', '{"kept": true}');

-- 'repair': a seq of 2^63 - 1 (the next mark would overflow); 'repair-2':
-- seqs below 1.  Both windows are numbered afresh, in order.
INSERT INTO wastore.chat_dedupe (store, adapter, message_id, seq) VALUES
	('repair', 'wa', 'm1', 7), ('repair', 'wa', 'm2', 9223372036854775807),
	('repair', 'wa', repeat('m', 1100), 8),
	('repair-2', 'wa', 'n1', -5), ('repair-2', 'wa', 'n2', 0), ('repair-2', 'wa', 'n3', 4);

INSERT INTO wastore.chat_locks (store, lock_key, owner, strategy, metadata, expires_at) VALUES
	('repair', 'never', 'worker', 'reject', '{}', 'infinity'),
	('repair', 'expired', 'worker', 'reject', '{}', '-infinity'),
	('repair', 'until-2030', 'worker', 'reject', '{}', '2030-01-01 00:00:00+00'),
	('repair', repeat('l', 1100), 'worker', 'reject', '{}', NULL),
	('repair', 'long-owner', repeat('o', 1100), 'reject', '{}', NULL);
INSERT INTO wastore.chat_pending (store, lock_key, seq, entry) VALUES
	('repair', 'never', -2, '{"n": 1}'), ('repair', 'never', 0, '{"n": 2}'),
	('repair', 'never', 3, '{"n": 3}'), ('repair', repeat('l', 1100), 5, '{"n": 4}');
SELECT setval('wastore.chat_seq', 10);
