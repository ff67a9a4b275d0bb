-- wastore_proxy: the proxy database's side of wastore's scale-out.
--
-- The proxy holds no state: every function of wastore that names one store
-- runs on the shard (a database with wastore) that owns the store, chosen
-- by hashtext(store) over the PL/Proxy cluster `wastore`, which the
-- operator declares (README, "Scale-out").  This script is assembled by
-- `make` from the files of sql/proxy/: these hand-written parts and the
-- routed functions generated from routed.list.

\echo Use "CREATE EXTENSION wastore_proxy" to load this file. \quit

-- wastore's types, for the signatures.  PL/Proxy sends arguments and reads
-- results as text, cast to the type of the same name on the shard, so a
-- type here needs the same name and the same text form, not the same
-- implementation.  test/proxy/run.sh checks the labels and attributes
-- against a shard.

CREATE TYPE wastore.family AS ENUM (
	'session', 'pre-key', 'sender-key', 'sender-key-memory', 'app-state-sync-key',
	'app-state-sync-version', 'lid-mapping', 'device-list', 'tctoken', 'identity-key');
COMMENT ON TYPE wastore.family IS 'the Signal key families (the shard''s wastore.family, for routed signatures)';

CREATE TYPE wastore.lock_strategy AS ENUM ('reject', 'queue', 'debounce', 'concurrent');
COMMENT ON TYPE wastore.lock_strategy IS 'what chat_acquire_lock does when the lock is held (as on the shard)';

CREATE TYPE wastore.lock_result AS ENUM ('acquired', 'queued', 'debounced', 'busy');
COMMENT ON TYPE wastore.lock_result IS 'the outcome of chat_acquire_lock (as on the shard)';

CREATE TYPE wastore.commit_result AS (ok boolean, attempts integer, sqlstate text, message text);
COMMENT ON TYPE wastore.commit_result IS 'the outcome of try_set (as on the shard)';

-- The LTHash arrives in its text form, 256 lower-case hex digits; the proxy
-- has no LTHash arithmetic (that is the shard's C code), so here it is a
-- checked text.  Cast it to bytea with decode(h, 'hex').
CREATE DOMAIN wastore.lthash AS text
	CHECK (length(VALUE) = 256 AND VALUE ~ '^[0-9a-f]*$');
COMMENT ON DOMAIN wastore.lthash IS 'an LTHash as the shard prints it: 256 lower-case hex digits (text on the proxy)';

-- Routing: the one hash.  Every routed function runs on partition
-- store_hash(store) & (partitions - 1), as PL/Proxy masks it, and shard_for
-- names the same partition.  A NULL store routes like the empty one, whose
-- shard then raises 22004 as a single server would.
CREATE FUNCTION wastore.store_hash(store text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.hashtext(COALESCE(store, '')) $$;
COMMENT ON FUNCTION wastore.store_hash(text) IS 'the routing hash of a store id: hashtext(store); its partition is the hash masked by the partition count minus one';

CREATE TABLE wastore.proxy_routed (signature text PRIMARY KEY);
COMMENT ON TABLE wastore.proxy_routed IS 'the routed functions, as generated from sql/proxy/routed.list (compared with a shard''s catalog by the tests)';
