
--------------------------------------------------------------------------
-- Chat state (Jido.Chat StateAdapter, Chat SDK state adapters):
-- subscriptions, dedupe, thread and channel state, durable locks with
-- strategies and their pending entries.  Every table is keyed by store first;
-- the lock rows outlive the transaction that wrote them, unlike the per-key
-- transaction locks above.
--------------------------------------------------------------------------

CREATE TYPE wastore.lock_strategy AS ENUM (
	'reject',
	'queue',
	'debounce',
	'concurrent'
);
COMMENT ON TYPE wastore.lock_strategy IS
	'What chat_acquire_lock does when the lock is held: reject (busy), queue (append a pending entry), debounce (the pending list becomes this entry); concurrent never locks';

CREATE TYPE wastore.lock_result AS ENUM (
	'acquired',
	'queued',
	'debounced',
	'busy'
);
COMMENT ON TYPE wastore.lock_result IS
	'Outcome of chat_acquire_lock: acquired (the caller holds the lock), queued or debounced (a pending entry was recorded), busy (rejected)';

-- The arrival order of pending entries (only the order within a lock key
-- matters).
CREATE SEQUENCE wastore.chat_seq AS bigint;
COMMENT ON SEQUENCE wastore.chat_seq IS
	'Arrival order of the pending entries of chat locks';

CREATE TABLE wastore.chat_subscriptions (
	store text COLLATE "C" NOT NULL,
	thread_id text COLLATE "C" NOT NULL,
	PRIMARY KEY (store, thread_id)
);
COMMENT ON TABLE wastore.chat_subscriptions IS
	'Chat state: the subscribed thread ids of each store';

-- seq numbers a store's keys 1, 2, 3, ... in insertion order, without gaps
-- (the marks of a store are serialized), so the newest N keys are those
-- above max(seq) - N.
CREATE TABLE wastore.chat_dedupe (
	store text COLLATE "C" NOT NULL,
	adapter text COLLATE "C" NOT NULL,
	message_id text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	PRIMARY KEY (store, adapter, message_id),
	UNIQUE (store, seq)
);
COMMENT ON TABLE wastore.chat_dedupe IS
	'Chat state: the message dedupe window of each store; seq is the key''s place in the store''s insertion order (the newest dedupe_limit keys are kept)';

CREATE TABLE wastore.chat_thread_state (
	store text COLLATE "C" NOT NULL,
	thread_id text COLLATE "C" NOT NULL,
	state jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(state) OPERATOR(pg_catalog.=) 'object'),
	PRIMARY KEY (store, thread_id)
);
COMMENT ON TABLE wastore.chat_thread_state IS
	'Chat state: the state map of each thread';

CREATE TABLE wastore.chat_channel_state (
	store text COLLATE "C" NOT NULL,
	channel_id text COLLATE "C" NOT NULL,
	state jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(state) OPERATOR(pg_catalog.=) 'object'),
	PRIMARY KEY (store, channel_id)
);
COMMENT ON TABLE wastore.chat_channel_state IS
	'Chat state: the state map of each channel';

-- A held lock.  A lock whose expires_at has passed counts as free: the next
-- acquirer takes the row over (its pending entries stay).
CREATE TABLE wastore.chat_locks (
	store text COLLATE "C" NOT NULL,
	lock_key text COLLATE "C" NOT NULL,
	owner text COLLATE "C" NOT NULL,
	strategy wastore.lock_strategy NOT NULL
		CHECK (strategy OPERATOR(pg_catalog.<>) 'concurrent'),
	metadata jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(metadata) OPERATOR(pg_catalog.=) 'object'),
	expires_at timestamptz,
	PRIMARY KEY (store, lock_key)
);
COMMENT ON TABLE wastore.chat_locks IS
	'Chat state: durable locks, one row per held lock key: owner, the strategy it was taken with, metadata, and expires_at (NULL: no TTL)';

-- Pending entries of a lock key, in seq order.  No foreign key to chat_locks:
-- entries may outlive the lock they queued on (an expired lock taken over,
-- or a loaded snapshot), as in the reference adapters.
CREATE TABLE wastore.chat_pending (
	store text COLLATE "C" NOT NULL,
	lock_key text COLLATE "C" NOT NULL,
	seq bigint NOT NULL DEFAULT pg_catalog.nextval('wastore.chat_seq'),
	entry jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(entry) OPERATOR(pg_catalog.=) 'object'),
	PRIMARY KEY (store, lock_key, seq)
);
COMMENT ON TABLE wastore.chat_pending IS
	'Chat state: queued and debounced entries ({owner, strategy, metadata}) of each lock key, in seq order; release returns and removes them';

SELECT pg_catalog.pg_extension_config_dump('wastore.chat_seq', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_dedupe', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_thread_state', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_channel_state', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_locks', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_pending', '');

-- Subscriptions

CREATE FUNCTION wastore.chat_subscribe(store text, thread_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_subscribe'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_subscribe(text, text) IS
	'Adds the thread id to the store''s subscriptions (idempotent)';

CREATE FUNCTION wastore.chat_unsubscribe(store text, thread_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_unsubscribe'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_unsubscribe(text, text) IS
	'Removes the thread id from the store''s subscriptions (idempotent)';

CREATE FUNCTION wastore.chat_is_subscribed(store text, thread_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_is_subscribed'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_is_subscribed(text, text) IS
	'Whether the thread id is subscribed in the store';

-- Thread and channel state

CREATE FUNCTION wastore.chat_thread_state(store text, thread_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chat_thread_state'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_thread_state(text, text) IS
	'The thread''s state map, {} when none';

CREATE FUNCTION wastore.chat_put_thread_state(store text, thread_id text, state jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_put_thread_state'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_put_thread_state(text, text, jsonb) IS
	'Replaces the thread''s whole state map (a JSON object)';

CREATE FUNCTION wastore.chat_channel_state(store text, channel_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chat_channel_state'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_channel_state(text, text) IS
	'The channel''s state map, {} when none';

CREATE FUNCTION wastore.chat_put_channel_state(store text, channel_id text, state jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_put_channel_state'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_put_channel_state(text, text, jsonb) IS
	'Replaces the channel''s whole state map (a JSON object)';

-- Dedupe

CREATE FUNCTION wastore.chat_is_duplicate(store text, adapter text, message_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_is_duplicate'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_is_duplicate(text, text, text) IS
	'Whether the (adapter, message id) dedupe key has been marked and not evicted yet';

CREATE FUNCTION wastore.chat_mark_dedupe(store text, adapter text, message_id text,
										 dedupe_limit integer DEFAULT 1000)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_mark_dedupe'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_mark_dedupe(text, text, text, integer) IS
	'Records the dedupe key, true when it was new (exactly one of concurrent callers); then keeps only the store''s newest dedupe_limit keys, evicting the oldest first';

-- Locks

CREATE FUNCTION wastore.chat_acquire_lock(store text, lock_key text, owner text,
										  strategy wastore.lock_strategy DEFAULT 'reject',
										  metadata jsonb DEFAULT '{}',
										  ttl interval DEFAULT NULL)
RETURNS wastore.lock_result
AS 'MODULE_PATHNAME', 'chat_acquire_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_acquire_lock(text, text, text, wastore.lock_strategy, jsonb, interval) IS
	'Takes the durable lock when it is free or expired (acquired); when it is held, by anyone: reject gives busy, queue appends {owner, strategy, metadata} to the pending list (queued), debounce makes it the only pending entry (debounced); concurrent always gives acquired and stores nothing';

CREATE FUNCTION wastore.chat_release_lock(store text, lock_key text, owner text)
RETURNS TABLE (released boolean, pending jsonb)
AS 'MODULE_PATHNAME', 'chat_release_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_release_lock(text, text, text) IS
	'By the lock''s owner: removes the lock and its pending list and returns (true, the pending entries in order); anyone else: (false, NULL) and nothing changes';

CREATE FUNCTION wastore.chat_force_release_lock(store text, lock_key text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chat_force_release_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_force_release_lock(text, text) IS
	'Removes the lock whoever holds it, and its pending list; returns the pending entries in order ([] when none)';

-- Snapshot

CREATE FUNCTION wastore.chat_snapshot(store text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chat_snapshot'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_snapshot(text) IS
	'The store''s chat state as the normalised snapshot {subscriptions, dedupe, dedupe_order, thread_state, channel_state, locks, pending_locks}';

CREATE FUNCTION wastore.chat_load_snapshot(store text, snapshot jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_load_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.chat_load_snapshot(text, jsonb) IS
	'Replaces the store''s whole chat state, atomically, with the snapshot: lists and map-sets become sets, malformed entries are dropped, missing parts are empty';
