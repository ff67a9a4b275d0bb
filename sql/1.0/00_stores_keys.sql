\echo Use "CREATE EXTENSION wastore" to load this file. \quit

-- wastore 1.0: stores, the Signal key store and per-key transactions.
--
-- Every state table is keyed by the store id first, and nothing else keys a
-- table: one store's rows live together and the data can later be sharded by
-- store.  Ids use the "C" collation: byte order is what clients expect of an
-- id, it is the order locks are taken in, and it is the fastest to compare.

--------------------------------------------------------------------------
-- Types
--------------------------------------------------------------------------

CREATE TYPE wastore.family AS ENUM (
	'session',
	'pre-key',
	'sender-key',
	'sender-key-memory',
	'app-state-sync-key',
	'app-state-sync-version',
	'lid-mapping',
	'device-list',
	'tctoken',
	'identity-key'
);
COMMENT ON TYPE wastore.family IS
	'The ten Signal key families, spelled as Baileys and baileys_ex spell them';

CREATE TYPE wastore.commit_result AS (
	ok boolean,
	attempts integer,
	sqlstate text,
	message text
);
COMMENT ON TYPE wastore.commit_result IS
	'Outcome of wastore.try_set: ok, how many attempts were made, and on failure the SQLSTATE and message';

--------------------------------------------------------------------------
-- Tables
--------------------------------------------------------------------------

CREATE TABLE wastore.store_owners (
	store text COLLATE "C" PRIMARY KEY,
	owner regrole NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE wastore.store_owners IS
	'One row per store: the role that owns it (members of that role share it) and when it was created';

-- No foreign key to store_owners: a foreign key would run a check and take a
-- KEY SHARE lock on the store row for every key written, so every writer of a
-- store would queue on one row.  drop_store deletes from each table instead.
CREATE TABLE wastore.keys (
	store text COLLATE "C" NOT NULL,
	family wastore.family NOT NULL,
	id text COLLATE "C" NOT NULL,
	value jsonb NOT NULL,
	PRIMARY KEY (store, family, id)
);
COMMENT ON TABLE wastore.keys IS
	'Signal keys: one row per (store, family, id), the value exactly as the client wrote it';

SELECT pg_catalog.pg_extension_config_dump('wastore.store_owners', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.keys', '');

--------------------------------------------------------------------------
-- Stores
--------------------------------------------------------------------------

CREATE FUNCTION wastore.create_store(store text)
RETURNS void
AS 'MODULE_PATHNAME', 'store_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.create_store(text) IS
	'Creates the store, owned by current_user; a no-op for its owner, permission denied (42501) for anyone else';

CREATE FUNCTION wastore.drop_store(store text)
RETURNS void
AS 'MODULE_PATHNAME', 'store_drop'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.drop_store(text) IS
	'Removes every row of the store in every part (logout purge); waits for transactions holding its wastore locks';

-- The view wastore.stores counts the keys of every family, one of which is
-- stored in the app-state sync tables: it is created with them, in
-- 20_appstate.sql.

--------------------------------------------------------------------------
-- Signal key store
--------------------------------------------------------------------------

CREATE FUNCTION wastore.get(store text, family wastore.family, ids text[])
RETURNS TABLE (id text, value jsonb)
AS 'MODULE_PATHNAME', 'keys_get'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.get(text, wastore.family, text[]) IS
	'The keys of one family with the given ids that exist, values exactly as written; missing ids are absent';

CREATE FUNCTION wastore.set(store text, data jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'keys_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.set(text, jsonb) IS
	'Writes {"<family>": {"<id>": value or null}} atomically (null deletes); retries transient failures, then raises';

CREATE FUNCTION wastore.try_set(store text, data jsonb)
RETURNS wastore.commit_result
AS 'MODULE_PATHNAME', 'keys_try_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.try_set(text, jsonb) IS
	'Like set, but reports a failure as (false, attempts, sqlstate, message) and leaves the store and the caller''s transaction as before the call';

CREATE FUNCTION wastore.clear(store text)
RETURNS void
AS 'MODULE_PATHNAME', 'keys_clear'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.clear(text) IS
	'Deletes every key of every family of the store, app-state sync versions included; creds and other parts stay';

CREATE FUNCTION wastore.list_ids(store text, family wastore.family)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'keys_list_ids'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.list_ids(text, wastore.family) IS
	'Every id of one family of the store, in id order';

CREATE FUNCTION wastore.list(store text, family wastore.family)
RETURNS TABLE (id text, value jsonb)
AS 'MODULE_PATHNAME', 'keys_list'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.list(text, wastore.family) IS
	'Every id and value of one family of the store, in id order';

--------------------------------------------------------------------------
-- Per-key transactions: transaction-scoped advisory locks in wastore's own
-- lock space (pg_locks: locktype advisory, objsubid 30561..30563)
--------------------------------------------------------------------------

CREATE FUNCTION wastore.lock(store text, key text)
RETURNS void
AS 'MODULE_PATHNAME', 'locks_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.lock(text, text) IS
	'Waits for the transaction lock on a label of the store; re-entrant, released at commit or rollback';

CREATE FUNCTION wastore.try_lock(store text, key text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'locks_try_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.try_lock(text, text) IS
	'Takes the transaction lock on a label of the store if it is free now; true when taken';

CREATE FUNCTION wastore.lock_records(store text, family wastore.family, ids text[])
RETURNS void
AS 'MODULE_PATHNAME', 'locks_lock_records'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.lock_records(text, wastore.family, text[]) IS
	'Locks those key records for the transaction, in one deterministic order so that two callers never deadlock on them';

CREATE FUNCTION wastore.in_transaction(store text, key text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'locks_in_transaction'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.in_transaction(text, text) IS
	'Whether this session holds a wastore lock of the store (of that label, when given) in the current transaction';
