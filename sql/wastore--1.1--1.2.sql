\echo Use "ALTER EXTENSION wastore UPDATE TO '1.2'" to load this file. \quit

-- wastore 1.2: stores are incarnations, and tenants observe nothing of each
-- other.
--
-- 1. A store id is a name.  create_store (or the first write) makes a new
--    incarnation of it, drop_store ends it.  Every state table is keyed by
--    the incarnation (a bigint that is never reused), not by the name: once
--    a drop has committed, nothing of the dropped incarnation can be reached
--    through the name again, whatever snapshot or cursor the reader holds,
--    and rows written under the name before the current incarnation existed
--    never show in it.
-- 2. Each incarnation has a secret lock salt: wastore's advisory lock tags
--    are keyed hashes of it, so pg_locks shows nobody which label of which
--    store is locked.
-- 3. The state tables are private to the extension's owner.  Tenants use the
--    functions and the wastore.stores view; the functions run their own
--    statements as the tables' owner, after checking that the caller may
--    use the store (as PostgreSQL's foreign key checks run as the owner of
--    the referenced table).  No query plan over another tenant's rows can
--    then be run, so EXPLAIN ANALYZE and the planner's statistics tell a
--    tenant nothing about them.  Row-level security stays enabled with no
--    policy: should a table privilege ever be granted to a tenant by hand,
--    it still sees no row.

--------------------------------------------------------------------------
-- Incarnations
--------------------------------------------------------------------------

CREATE SEQUENCE wastore.store_incarnation_seq AS bigint;
COMMENT ON SEQUENCE wastore.store_incarnation_seq IS
	'Store incarnation ids: each create_store of a name draws a new one, never reused';
SELECT pg_catalog.pg_extension_config_dump('wastore.store_incarnation_seq', '');

ALTER TABLE wastore.store_owners
	ADD COLUMN incarnation bigint
		DEFAULT pg_catalog.nextval('wastore.store_incarnation_seq'),
	-- 32 random bytes from the server's strong random source (two UUIDs'
	-- worth: 244 random bits); never leaves the database but through pg_dump
	ADD COLUMN lock_salt bytea
		DEFAULT pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
			OPERATOR(pg_catalog.||) pg_catalog.uuid_send(pg_catalog.gen_random_uuid());
-- (ADD COLUMN with a volatile default gave every existing store its own.)
ALTER TABLE wastore.store_owners
	ALTER COLUMN incarnation SET NOT NULL,
	ALTER COLUMN lock_salt SET NOT NULL,
	ADD CONSTRAINT store_owners_incarnation_key UNIQUE (incarnation),
	ADD CONSTRAINT lock_salt_length
		CHECK (pg_catalog.octet_length(lock_salt) OPERATOR(pg_catalog.=) 32);
COMMENT ON COLUMN wastore.store_owners.incarnation IS
	'The live incarnation of the store id: every state table''s rows belong to one';
COMMENT ON COLUMN wastore.store_owners.lock_salt IS
	'Secret of the incarnation that keys its advisory lock tags, so that pg_locks cannot be read by guessing';
COMMENT ON TABLE wastore.store_owners IS
	'One row per live store: its id, the role that owns it (members of that role share it), when it was created, its incarnation and lock salt';

-- The policies of 1.1 go: tenants no longer read the tables (see above).
DROP VIEW wastore.stores;
DROP POLICY store_owner_role ON wastore.store_owners;
DROP POLICY store_owner_role ON wastore.keys;
DROP POLICY store_owner_role ON wastore.sync_versions;
DROP POLICY store_owner_role ON wastore.sync_index;
DROP POLICY store_owner_role ON wastore.auth_states;
DROP POLICY store_owner_role ON wastore.conn_values;
DROP POLICY store_owner_role ON wastore.chat_subscriptions;
DROP POLICY store_owner_role ON wastore.chat_dedupe;
DROP POLICY store_owner_role ON wastore.chat_thread_state;
DROP POLICY store_owner_role ON wastore.chat_channel_state;
DROP POLICY store_owner_role ON wastore.chat_locks;
DROP POLICY store_owner_role ON wastore.chat_pending;

-- Every other state table: the store column becomes the incarnation, first
-- in the primary key as the store was.  Rows of no store (1.1 could leave
-- some behind: a direct INSERT committed after its store's drop) belong to
-- nobody and go.
CREATE FUNCTION wastore.rekey_by_incarnation(tab regclass, pkey text[], uniq text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE format('ALTER TABLE %s ADD COLUMN incarnation bigint', tab);
	EXECUTE format('UPDATE %s t SET incarnation = o.incarnation FROM wastore.store_owners o '
				   'WHERE o.store OPERATOR(pg_catalog.=) t.store', tab);
	EXECUTE format('DELETE FROM %s WHERE incarnation IS NULL', tab);
	EXECUTE format('ALTER TABLE %s ALTER COLUMN incarnation SET NOT NULL, DROP COLUMN store, '
				   'ADD PRIMARY KEY (incarnation, %s)', tab, array_to_string(pkey, ', '));
	IF uniq IS NOT NULL THEN
		EXECUTE format('ALTER TABLE %s ADD UNIQUE (incarnation, %s)', tab, array_to_string(uniq, ', '));
	END IF;
	EXECUTE format('COMMENT ON COLUMN %s.incarnation IS %L', tab,
				   'The store incarnation the row belongs to (wastore.store_owners.incarnation)');
END
$$;

-- repair_rows(statement, report): runs one repair statement of the block
-- below and, when it changed rows, says so in a WARNING (report with the
-- count in place of %).  WARNING, not NOTICE: extension scripts hide notices.
CREATE FUNCTION pg_temp.repair_rows(statement text, report text) RETURNS void
LANGUAGE plpgsql AS $f$
DECLARE
	n bigint;
BEGIN
	EXECUTE statement;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n OPERATOR(pg_catalog.>) 0 THEN
		RAISE WARNING 'wastore: %', pg_catalog.replace(report, '%', n::pg_catalog.text);
	END IF;
END
$f$;

-- Ids no function accepts (over 1024 bytes; 1.1 let tenants write the tables
-- directly) go before the tables are re-keyed: the new primary keys put an
-- 8-byte incarnation before the ids, and an id that fit the old key might
-- not fit the new one.  The rest of the repairs come after the re-keying.
DO $$
BEGIN
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.keys WHERE pg_catalog.octet_length(id) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % key(s) whose id is longer than 1024 bytes');
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.conn_values WHERE pg_catalog.octet_length(key) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % connection value(s) whose key is longer than 1024 bytes');
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.chat_subscriptions WHERE pg_catalog.octet_length(thread_id) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % chat subscription(s) whose thread id is longer than 1024 bytes');
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.chat_thread_state WHERE pg_catalog.octet_length(thread_id) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % chat thread state(s) whose thread id is longer than 1024 bytes');
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.chat_channel_state WHERE pg_catalog.octet_length(channel_id) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % chat channel state(s) whose channel id is longer than 1024 bytes');
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.chat_dedupe
		 WHERE pg_catalog.octet_length(adapter) OPERATOR(pg_catalog.>) 1024
			OR pg_catalog.octet_length(message_id) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % chat dedupe key(s) with an id longer than 1024 bytes');
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.chat_locks
		 WHERE pg_catalog.octet_length(lock_key) OPERATOR(pg_catalog.>) 1024
			OR pg_catalog.octet_length(owner) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % chat lock(s) whose key or owner is longer than 1024 bytes');
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.chat_pending WHERE pg_catalog.octet_length(lock_key) OPERATOR(pg_catalog.>) 1024
	$q$, 'dropped % pending chat lock entr(ies) whose lock key is longer than 1024 bytes');
END
$$;

SELECT wastore.rekey_by_incarnation('wastore.keys', '{family, id}');
SELECT wastore.rekey_by_incarnation('wastore.sync_versions', '{collection}');
SELECT wastore.rekey_by_incarnation('wastore.sync_index', '{collection, index_mac}');
SELECT wastore.rekey_by_incarnation('wastore.conn_values', '{key}');
SELECT wastore.rekey_by_incarnation('wastore.chat_subscriptions', '{thread_id}');
SELECT wastore.rekey_by_incarnation('wastore.chat_dedupe', '{adapter, message_id}', '{seq}');
SELECT wastore.rekey_by_incarnation('wastore.chat_thread_state', '{thread_id}');
SELECT wastore.rekey_by_incarnation('wastore.chat_channel_state', '{channel_id}');
SELECT wastore.rekey_by_incarnation('wastore.chat_locks', '{lock_key}');
SELECT wastore.rekey_by_incarnation('wastore.chat_pending', '{lock_key, seq}');

-- auth_states had the store as its whole primary key
ALTER TABLE wastore.auth_states ADD COLUMN incarnation bigint;
UPDATE wastore.auth_states t SET incarnation = o.incarnation
  FROM wastore.store_owners o WHERE o.store OPERATOR(pg_catalog.=) t.store;
DELETE FROM wastore.auth_states WHERE incarnation IS NULL;
ALTER TABLE wastore.auth_states ALTER COLUMN incarnation SET NOT NULL,
	DROP COLUMN store, ADD PRIMARY KEY (incarnation);
COMMENT ON COLUMN wastore.auth_states.incarnation IS
	'The store incarnation the row belongs to (wastore.store_owners.incarnation)';

DROP FUNCTION wastore.rekey_by_incarnation(regclass, text[], text[]);

--------------------------------------------------------------------------
-- What tenants see
--------------------------------------------------------------------------

-- owns_store is no longer a row-level security policy, only a question a
-- caller may ask.
COMMENT ON FUNCTION wastore.owns_store(text) IS
	'Whether the store exists and the current user may use it (it has the privileges of the owner role, or administers wastore)';

-- The stores the caller may use, with their key counts per family (the
-- family app-state-sync-version is counted in sync_versions, where it is
-- stored).  The view reads the tables with its owner's rights: the caller's
-- own stores are chosen before anything of them is counted.
CREATE VIEW wastore.stores WITH (security_barrier) AS
SELECT s.store,
	   s.owner,
	   s.created_at,
	   (SELECT pg_catalog.jsonb_object_agg(f.family,
			   CASE WHEN f.family OPERATOR(pg_catalog.=) 'app-state-sync-version'::wastore.family
			   THEN (SELECT pg_catalog.count(*)
					   FROM wastore.sync_versions v
					  WHERE v.incarnation OPERATOR(pg_catalog.=) s.incarnation)
			   ELSE (SELECT pg_catalog.count(*)
					   FROM wastore.keys k
					  WHERE k.incarnation OPERATOR(pg_catalog.=) s.incarnation
						AND k.family OPERATOR(pg_catalog.=) f.family)
			   END)
		  FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::wastore.family)) AS f(family)
	   ) AS key_counts
  FROM wastore.store_owners s
 WHERE wastore.owns_store(s.store);
COMMENT ON VIEW wastore.stores IS
	'The stores the caller may use (its own and those of roles it is a member of; every store for wastore''s administrators), with the number of keys per family';

-- The trigger function is for the trigger alone.
REVOKE EXECUTE ON FUNCTION wastore.store_owners_purge() FROM PUBLIC;
COMMENT ON FUNCTION wastore.store_owners_purge() IS
	'Trigger: deleting a store ends its incarnation: it waits for the store''s writers and deletes the incarnation''s rows in every state table; an update may change only the owner; either makes every backend forget the stores it cached';
-- Updates too: backends cache resolved stores, and forget them when a row
-- is deleted or its owner changes.
DROP TRIGGER purge_store_rows ON wastore.store_owners;
CREATE TRIGGER purge_store_rows BEFORE DELETE OR UPDATE ON wastore.store_owners
	FOR EACH ROW EXECUTE FUNCTION wastore.store_owners_purge();
COMMENT ON TRIGGER purge_store_rows ON wastore.store_owners IS
	'Deleting a store purges its incarnation''s rows; an update may change only its owner; both invalidate every backend''s cache of stores';

-- Internal SQL: long statements of the C functions, kept here rather than
-- in C strings.  The C functions run them as the tables' owner after the
-- store check; no other role may use the schema.  Bodies are BEGIN ATOMIC:
-- parsed once, here, so the caller's search_path never changes their
-- meaning, and the tables they read cannot be dropped under them.
CREATE SCHEMA wastore_internal;
REVOKE ALL ON SCHEMA wastore_internal FROM PUBLIC;
COMMENT ON SCHEMA wastore_internal IS
	'wastore''s internal SQL, run by its C functions as the tables'' owner; not for clients';

-- A snapshot part of the given JSON type, or an empty one of that type.
CREATE FUNCTION wastore_internal.json_part(snapshot jsonb, part text, kind text)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE
		WHEN jsonb_typeof(snapshot -> part) = kind THEN snapshot -> part
		WHEN kind = 'array' THEN '[]'::jsonb
		ELSE '{}'::jsonb
	END;
END;
COMMENT ON FUNCTION wastore_internal.json_part(jsonb, text, text) IS
	'The snapshot''s part when it is a JSON value of the given type, else an empty one';

-- An id in a snapshot: a JSON string, or a number taken as its text.
CREATE FUNCTION wastore_internal.json_id(v jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE WHEN jsonb_typeof(v) IN ('string', 'number') THEN v #>> '{}' END;
END;
COMMENT ON FUNCTION wastore_internal.json_id(jsonb) IS
	'A JSON string, or a JSON number as its text; NULL for anything else';

-- Ids longer than the functions accept (WASTORE_MAX_KEY_ID_BYTES) are left out.
CREATE FUNCTION wastore_internal.id_fits(id text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT octet_length(id) <= 1024;
END;
COMMENT ON FUNCTION wastore_internal.id_fits(text) IS
	'Whether an id is within the 1024-byte limit of every id wastore''s functions accept';

-- wastore_internal.chat_snapshot is defined with the chat tables of v2 below.

-- Dedupe keys of a snapshot list: [adapter, message_id] pairs (the message
-- id may be a number), with their positions; other entries are left out.
CREATE FUNCTION wastore_internal.chat_dedupe_pairs(list jsonb)
RETURNS TABLE (adapter text, message_id text, n bigint) LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
	SELECT p.adapter, p.message_id, p.n
	  FROM (SELECT CASE WHEN jsonb_typeof(a.e -> 0) = 'string' THEN a.e ->> 0 END AS adapter,
				   wastore_internal.json_id(a.e -> 1) AS message_id,
				   a.n
			  FROM jsonb_array_elements(list) WITH ORDINALITY AS a(e, n)
			 WHERE CASE WHEN jsonb_typeof(a.e) = 'array' THEN jsonb_array_length(a.e) = 2
						ELSE false END) p
	 WHERE p.adapter IS NOT NULL AND p.message_id IS NOT NULL
	   AND wastore_internal.id_fits(p.adapter) AND wastore_internal.id_fits(p.message_id);
END;
COMMENT ON FUNCTION wastore_internal.chat_dedupe_pairs(jsonb) IS
	'The well-formed [adapter, message_id] pairs of a snapshot''s dedupe list, with their positions';

-- Loading a snapshot: the incarnation's chat state is emptied, then each
-- part is inserted, normalised.  A part of the wrong JSON type counts as
-- empty; entries of the wrong shape, and overlong ids, are left out.  The
-- inserts upsert, so that a lock or state row that a concurrent session
-- wrote after the delete is replaced as well (dedupe keys cannot race: the
-- caller holds the store's dedupe lock).
CREATE FUNCTION wastore_internal.chat_load_snapshot(store_incarnation bigint, snapshot jsonb)
RETURNS void LANGUAGE sql VOLATILE
BEGIN ATOMIC
	DELETE FROM wastore.chat_subscriptions WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_dedupe WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_thread_state WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_channel_state WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_locks WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_pending WHERE incarnation = store_incarnation;

	-- Subscriptions: a list of ids, or a map-set {"<id>": true, ...} whose
	-- members are the keys not mapped to false or null.
	INSERT INTO wastore.chat_subscriptions (incarnation, thread_id)
	SELECT DISTINCT store_incarnation, s.id
	  FROM (SELECT wastore_internal.json_id(a.e) AS id
			  FROM jsonb_array_elements(wastore_internal.json_part(snapshot, 'subscriptions', 'array')) AS a(e)
			UNION ALL
			SELECT o.k
			  FROM jsonb_each(wastore_internal.json_part(snapshot, 'subscriptions', 'object')) AS o(k, v)
			 WHERE jsonb_typeof(o.v) <> 'null' AND o.v <> 'false'::jsonb) s
	 WHERE s.id IS NOT NULL AND wastore_internal.id_fits(s.id)
	ON CONFLICT (incarnation, thread_id) DO NOTHING;

	-- Dedupe: the set and the order list both count; the order list gives
	-- the insertion order (first occurrence), and keys only in the set come
	-- before it, oldest, in byte order.
	INSERT INTO wastore.chat_dedupe (incarnation, adapter, message_id, seq)
	SELECT store_incarnation, k.adapter, k.message_id,
		   row_number() OVER (ORDER BY k.rank, k.adapter COLLATE "C", k.message_id COLLATE "C")
	  FROM (SELECT u.adapter, u.message_id, COALESCE(min(u.n), 0) AS rank
			  FROM (SELECT d.adapter, d.message_id, NULL::bigint AS n
					  FROM wastore_internal.chat_dedupe_pairs(
							   wastore_internal.json_part(snapshot, 'dedupe', 'array')) d
					UNION ALL
					SELECT o.adapter, o.message_id, o.n
					  FROM wastore_internal.chat_dedupe_pairs(
							   wastore_internal.json_part(snapshot, 'dedupe_order', 'array')) o) u
			 GROUP BY u.adapter, u.message_id) k;

	INSERT INTO wastore.chat_thread_state (incarnation, thread_id, state)
	SELECT store_incarnation, o.k, o.v
	  FROM jsonb_each(wastore_internal.json_part(snapshot, 'thread_state', 'object')) AS o(k, v)
	 WHERE jsonb_typeof(o.v) = 'object' AND wastore_internal.id_fits(o.k)
	ON CONFLICT (incarnation, thread_id) DO UPDATE SET state = excluded.state;

	INSERT INTO wastore.chat_channel_state (incarnation, channel_id, state)
	SELECT store_incarnation, o.k, o.v
	  FROM jsonb_each(wastore_internal.json_part(snapshot, 'channel_state', 'object')) AS o(k, v)
	 WHERE jsonb_typeof(o.v) = 'object' AND wastore_internal.id_fits(o.k)
	ON CONFLICT (incarnation, channel_id) DO UPDATE SET state = excluded.state;

	-- Locks: {"<key>": {"owner": "...", "strategy": "reject" | "queue" |
	-- "debounce", "metadata": {...}, "expires_at": <ms since the epoch>}}.
	-- owner is required; strategy defaults to reject, metadata to {},
	-- expires_at to none (a fraction of a millisecond is dropped; the
	-- milliseconds of every timestamp PostgreSQL can store are accepted,
	-- 4714-11-24 BC to 294276-12-31 23:59:59.999 UTC, which is what a
	-- snapshot can hold).  Any member of another type or value leaves the
	-- lock out.  The days and the time of day are added apart, to a UTC
	-- timestamp: a whole interval of microseconds would overflow near the
	-- end of the range.
	INSERT INTO wastore.chat_locks (incarnation, lock_key, owner, strategy, metadata, expires_at)
	SELECT store_incarnation, f.k, f.owner, f.strategy::wastore.lock_strategy, f.metadata,
		   CASE WHEN f.ms IS NOT NULL THEN
			   ('1970-01-01 00:00:00'::timestamp
				+ make_interval(days => div(f.ms, 86400000)::integer,
								secs => (mod(f.ms, 86400000) / 1000)::float8)) AT TIME ZONE 'UTC'
		   END
	  FROM (SELECT o.k,
				   CASE WHEN jsonb_typeof(o.v -> 'owner') = 'string' THEN o.v ->> 'owner' END AS owner,
				   CASE WHEN COALESCE(jsonb_typeof(o.v -> 'strategy'), 'null') = 'null' THEN 'reject'
						WHEN jsonb_typeof(o.v -> 'strategy') = 'string'
						 AND o.v ->> 'strategy' IN ('reject', 'queue', 'debounce')
						THEN o.v ->> 'strategy'
				   END AS strategy,
				   CASE WHEN COALESCE(jsonb_typeof(o.v -> 'metadata'), 'null') = 'null' THEN '{}'::jsonb
						WHEN jsonb_typeof(o.v -> 'metadata') = 'object' THEN o.v -> 'metadata'
				   END AS metadata,
				   COALESCE(jsonb_typeof(o.v -> 'expires_at'), 'null') AS ms_type,
				   CASE WHEN jsonb_typeof(o.v -> 'expires_at') = 'number'
						THEN floor((o.v ->> 'expires_at')::numeric)
				   END AS ms
			  FROM jsonb_each(wastore_internal.json_part(snapshot, 'locks', 'object')) AS o(k, v)
			 WHERE jsonb_typeof(o.v) = 'object') f
	 WHERE f.owner IS NOT NULL AND f.strategy IS NOT NULL AND f.metadata IS NOT NULL
	   AND wastore_internal.id_fits(f.k) AND wastore_internal.id_fits(f.owner)
	   AND (f.ms_type = 'null' OR f.ms BETWEEN -210866803200000 AND 9224318015999999)
	ON CONFLICT (incarnation, lock_key) DO UPDATE
	   SET owner = excluded.owner, strategy = excluded.strategy,
		   metadata = excluded.metadata, expires_at = excluded.expires_at;

	-- Pending entries: {"<key>": [entry, ...]}, every entry a JSON object,
	-- numbered in the order of the keys and of each list.
	INSERT INTO wastore.chat_pending (incarnation, lock_key, seq, entry)
	SELECT store_incarnation, p.k, nextval('wastore.chat_seq'), p.e
	  FROM (SELECT o.k, a.e, a.n
			  FROM jsonb_each(wastore_internal.json_part(snapshot, 'pending_locks', 'object')) AS o(k, v),
				   LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(o.v) = 'array' THEN o.v
													 ELSE '[]'::jsonb END) WITH ORDINALITY AS a(e, n)
			 WHERE jsonb_typeof(a.e) = 'object' AND wastore_internal.id_fits(o.k)
			 ORDER BY o.k, a.n) p;
END;
COMMENT ON FUNCTION wastore_internal.chat_load_snapshot(bigint, jsonb) IS
	'Replaces the chat state of a store incarnation with a snapshot, normalised (wastore.chat_load_snapshot)';

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA wastore_internal FROM PUBLIC;

-- Leases with fencing tokens (src/lease.c): one live client per store.  A
-- lease is a row keyed by the store's incarnation, so drop_store ends it and
-- it needs no session state (it works through PgBouncer's transaction
-- pooling).  Tokens come from one sequence: never reused for a store id,
-- across drops, re-creations and dump/restore.
CREATE SEQUENCE wastore.lease_token_seq AS bigint;
COMMENT ON SEQUENCE wastore.lease_token_seq IS
	'Fencing tokens: every lease_acquire draws a new one, so tokens only grow';
SELECT pg_catalog.pg_extension_config_dump('wastore.lease_token_seq', '');

CREATE TABLE wastore.leases (
	incarnation bigint PRIMARY KEY,
	holder text COLLATE "C" NOT NULL
		CHECK (holder <> '' AND octet_length(holder) <= 1024),
	token bigint NOT NULL CHECK (token > 0),
	acquired_at timestamptz NOT NULL CHECK (isfinite(acquired_at)),
	expires_at timestamptz NOT NULL CHECK (isfinite(expires_at) AND expires_at > acquired_at)
);
COMMENT ON TABLE wastore.leases IS
	'The lease of each store incarnation that has one: who holds it, its fencing token, until when';
COMMENT ON COLUMN wastore.leases.token IS
	'The fencing token: writes that carry another one raise 55W01';
ALTER TABLE wastore.leases ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('wastore.leases', '');

CREATE FUNCTION wastore.lease_acquire(store text, holder text, ttl interval, steal boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'lease_acquire'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.lease_acquire(text, text, interval, boolean) IS
	'The store''s lease for holder until now + ttl, with a new fencing token, when free, expired or stolen; NULL when held';

CREATE FUNCTION wastore.lease_renew(store text, token bigint, ttl interval)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lease_renew'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.lease_renew(text, bigint, interval) IS
	'Extends the lease to now + ttl when token is current and unexpired; false otherwise (never revives a lease)';

CREATE FUNCTION wastore.lease_release(store text, token bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lease_release'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.lease_release(text, bigint) IS
	'Ends the lease when token is current; false otherwise';

CREATE FUNCTION wastore.lease(store text)
RETURNS TABLE (holder text, token bigint, acquired_at timestamptz, expires_at timestamptz)
AS 'MODULE_PATHNAME', 'lease_read'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION wastore.lease(text) IS
	'The store''s current lease, expired or not; no row when none';

-- The stores view reads a function that chooses the caller's stores before
-- it reads anything of them (src/stores_view.c): no condition a caller puts
-- on the view reaches the tables, so EXPLAIN (ANALYZE) of the view counts
-- no other tenant's store.  It also shows each store's lease.
CREATE FUNCTION wastore.stores_visible()
RETURNS TABLE (store text, owner regrole, created_at timestamptz, key_counts jsonb,
			   lease_holder text, lease_token bigint, lease_expires_at timestamptz)
AS 'MODULE_PATHNAME', 'stores_visible'
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 10;
COMMENT ON FUNCTION wastore.stores_visible() IS
	'The rows of the stores view: the stores the caller may use, with key counts and lease';

CREATE OR REPLACE VIEW wastore.stores AS
SELECT v.store COLLATE "C" AS store, v.owner, v.created_at, v.key_counts,
	   v.lease_holder COLLATE "C" AS lease_holder, v.lease_token, v.lease_expires_at
  FROM wastore.stores_visible() v;
ALTER VIEW wastore.stores RESET (security_barrier);
COMMENT ON VIEW wastore.stores IS
	'The stores the caller may use (its own and those of roles it is a member of; every store for wastore''s administrators), with the number of keys per family and the lease';

--------------------------------------------------------------------------
-- Chat state, v2 (src/chat_kv.c, chat_list.c, chat_queue.c, prune.c): what
-- the Chat SDK's StateAdapter needs beyond 1.1 -- a key-value store with
-- TTLs, capped lists, queues with per-entry expiry, dedupe keys with a TTL,
-- lock heartbeats -- and prune.  Expiry is by the server's clock; expired
-- rows are invisible to every function before prune deletes them.  Every
-- table is keyed by the incarnation first (drop_store purges it), private
-- to the owner, with row-level security and no policy, and dumped.
--------------------------------------------------------------------------

-- Key-value entries: any JSON value (null included), an optional expiry.
CREATE TABLE wastore.chat_kv (
	incarnation bigint NOT NULL,
	key text COLLATE "C" NOT NULL
		CONSTRAINT key_length CHECK (pg_catalog.octet_length(key) OPERATOR(pg_catalog.<=) 1024),
	value jsonb NOT NULL,
	expires_at timestamptz
		CONSTRAINT expires_at_range CHECK (expires_at OPERATOR(pg_catalog.>=) '4714-11-24 00:00:00+00 BC'::timestamptz
			AND expires_at OPERATOR(pg_catalog.<=) '294276-12-31 23:59:59.999999+00'::timestamptz),
	PRIMARY KEY (incarnation, key)
);
CREATE INDEX chat_kv_expires_at ON wastore.chat_kv (expires_at) WHERE expires_at IS NOT NULL;
COMMENT ON TABLE wastore.chat_kv IS
	'Chat key-value entries (chat_kv_*): a JSON value and an optional expiry; expired entries count as absent';
ALTER TABLE wastore.chat_kv ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_kv', '');

-- Capped lists: a head row per list (its expiry, the next number, the first
-- live number) and the items.  Appends to one list take the head's row lock
-- in turn, so numbers have no gaps and a trim keeps exactly the newest.
CREATE TABLE wastore.chat_lists (
	incarnation bigint NOT NULL,
	list_key text COLLATE "C" NOT NULL
		CONSTRAINT list_key_length CHECK (pg_catalog.octet_length(list_key) OPERATOR(pg_catalog.<=) 1024),
	last_seq bigint NOT NULL,
	first_seq bigint NOT NULL,
	expires_at timestamptz
		CONSTRAINT expires_at_range CHECK (expires_at OPERATOR(pg_catalog.>=) '4714-11-24 00:00:00+00 BC'::timestamptz
			AND expires_at OPERATOR(pg_catalog.<=) '294276-12-31 23:59:59.999999+00'::timestamptz),
	CONSTRAINT seq_range CHECK (first_seq OPERATOR(pg_catalog.>=) 1
		AND last_seq OPERATOR(pg_catalog.>=) first_seq
		AND last_seq OPERATOR(pg_catalog.<) 9223372036854775807),
	PRIMARY KEY (incarnation, list_key)
);
CREATE INDEX chat_lists_expires_at ON wastore.chat_lists (expires_at) WHERE expires_at IS NOT NULL;
COMMENT ON TABLE wastore.chat_lists IS
	'Chat lists (chat_list_*): the items first_seq .. last_seq are the list, oldest first; the list expires as a whole';
ALTER TABLE wastore.chat_lists ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_lists', '');

CREATE TABLE wastore.chat_list_items (
	incarnation bigint NOT NULL,
	list_key text COLLATE "C" NOT NULL
		CONSTRAINT list_key_length CHECK (pg_catalog.octet_length(list_key) OPERATOR(pg_catalog.<=) 1024),
	seq bigint NOT NULL CONSTRAINT seq_range CHECK (seq OPERATOR(pg_catalog.>=) 1),
	value jsonb NOT NULL,
	PRIMARY KEY (incarnation, list_key, seq)
);
COMMENT ON TABLE wastore.chat_list_items IS
	'The items of the chat lists, numbered per list from 1';
ALTER TABLE wastore.chat_list_items ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_list_items', '');

-- Queue entries, each with its own expiry; seq (wastore.chat_seq) orders them.
CREATE TABLE wastore.chat_queue (
	incarnation bigint NOT NULL,
	queue_key text COLLATE "C" NOT NULL
		CONSTRAINT queue_key_length CHECK (pg_catalog.octet_length(queue_key) OPERATOR(pg_catalog.<=) 1024),
	seq bigint NOT NULL CONSTRAINT seq_range CHECK (seq OPERATOR(pg_catalog.>=) 1),
	entry jsonb NOT NULL,
	expires_at timestamptz NOT NULL
		CONSTRAINT expires_at_range CHECK (expires_at OPERATOR(pg_catalog.>=) '4714-11-24 00:00:00+00 BC'::timestamptz
			AND expires_at OPERATOR(pg_catalog.<=) '294276-12-31 23:59:59.999999+00'::timestamptz),
	PRIMARY KEY (incarnation, queue_key, seq)
);
CREATE INDEX chat_queue_expires_at ON wastore.chat_queue (expires_at);
COMMENT ON TABLE wastore.chat_queue IS
	'Chat queue entries (chat_enqueue, chat_dequeue): oldest first by seq, each live until its expires_at';
ALTER TABLE wastore.chat_queue ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('wastore.chat_queue', '');

-- Dedupe keys may expire (chat_mark_dedupe's ttl).
ALTER TABLE wastore.chat_dedupe ADD COLUMN expires_at timestamptz
	CONSTRAINT expires_at_range CHECK (expires_at OPERATOR(pg_catalog.>=) '4714-11-24 00:00:00+00 BC'::timestamptz
		AND expires_at OPERATOR(pg_catalog.<=) '294276-12-31 23:59:59.999999+00'::timestamptz);
COMMENT ON COLUMN wastore.chat_dedupe.expires_at IS
	'NULL: the key stays until evicted; else it counts as absent from then on';
CREATE INDEX chat_dedupe_expires_at ON wastore.chat_dedupe (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX chat_locks_expires_at ON wastore.chat_locks (expires_at) WHERE expires_at IS NOT NULL;

-- The snapshot, with the parts of v2: dedupe keys with an expiry
-- (dedupe_expires_at), kv, lists and queues.  Expired rows are left out
-- (locks excepted: an expired lock shows until it is taken over or pruned,
-- as before).  Times are milliseconds since the Unix epoch.
CREATE FUNCTION wastore_internal.chat_snapshot(store_incarnation bigint)
RETURNS jsonb LANGUAGE sql VOLATILE
BEGIN ATOMIC
	WITH now AS (SELECT clock_timestamp() AS t),
	dedupe AS (SELECT d.* FROM wastore.chat_dedupe d, now
				WHERE d.incarnation = store_incarnation AND (d.expires_at IS NULL OR d.expires_at > now.t))
	SELECT jsonb_build_object(
		'subscriptions',
		(SELECT COALESCE(jsonb_agg(s.thread_id ORDER BY s.thread_id), '[]')
		   FROM wastore.chat_subscriptions s WHERE s.incarnation = store_incarnation),
		'dedupe',
		(SELECT COALESCE(jsonb_agg(jsonb_build_array(d.adapter, d.message_id)
								   ORDER BY d.adapter, d.message_id), '[]') FROM dedupe d),
		'dedupe_order',
		(SELECT COALESCE(jsonb_agg(jsonb_build_array(d.adapter, d.message_id) ORDER BY d.seq), '[]') FROM dedupe d),
		'dedupe_expires_at',
		(SELECT COALESCE(jsonb_agg(jsonb_build_array(d.adapter, d.message_id,
									floor(EXTRACT(epoch FROM d.expires_at) * 1000)::bigint)
								   ORDER BY d.adapter, d.message_id), '[]')
		   FROM dedupe d WHERE d.expires_at IS NOT NULL),
		'thread_state',
		(SELECT COALESCE(jsonb_object_agg(t.thread_id, t.state), '{}')
		   FROM wastore.chat_thread_state t WHERE t.incarnation = store_incarnation),
		'channel_state',
		(SELECT COALESCE(jsonb_object_agg(c.channel_id, c.state), '{}')
		   FROM wastore.chat_channel_state c WHERE c.incarnation = store_incarnation),
		'locks',
		(SELECT COALESCE(jsonb_object_agg(l.lock_key, jsonb_build_object(
					'owner', l.owner, 'strategy', l.strategy, 'metadata', l.metadata,
					'expires_at', floor(EXTRACT(epoch FROM l.expires_at) * 1000)::bigint)), '{}')
		   FROM wastore.chat_locks l WHERE l.incarnation = store_incarnation),
		'pending_locks',
		(SELECT COALESCE(jsonb_object_agg(p.lock_key, p.entries), '{}')
		   FROM (SELECT lock_key, jsonb_agg(entry ORDER BY seq) AS entries
				   FROM wastore.chat_pending WHERE incarnation = store_incarnation
				  GROUP BY lock_key) p),
		'kv',
		(SELECT COALESCE(jsonb_object_agg(k.key, jsonb_build_object('value', k.value,
					'expires_at', floor(EXTRACT(epoch FROM k.expires_at) * 1000)::bigint)), '{}')
		   FROM wastore.chat_kv k, now
		  WHERE k.incarnation = store_incarnation AND (k.expires_at IS NULL OR k.expires_at > now.t)),
		'lists',
		(SELECT COALESCE(jsonb_object_agg(l.list_key, jsonb_build_object(
					'values', (SELECT COALESCE(jsonb_agg(i.value ORDER BY i.seq), '[]')
								 FROM wastore.chat_list_items i
								WHERE i.incarnation = l.incarnation AND i.list_key = l.list_key
								  AND i.seq BETWEEN l.first_seq AND l.last_seq),
					'expires_at', floor(EXTRACT(epoch FROM l.expires_at) * 1000)::bigint)), '{}')
		   FROM wastore.chat_lists l, now
		  WHERE l.incarnation = store_incarnation AND (l.expires_at IS NULL OR l.expires_at > now.t)),
		'queues',
		(SELECT COALESCE(jsonb_object_agg(q.queue_key, q.entries), '{}')
		   FROM (SELECT e.queue_key, jsonb_agg(jsonb_build_object('entry', e.entry,
						'expires_at', floor(EXTRACT(epoch FROM e.expires_at) * 1000)::bigint) ORDER BY e.seq) AS entries
				   FROM wastore.chat_queue e, now
				  WHERE e.incarnation = store_incarnation AND e.expires_at > now.t
				  GROUP BY e.queue_key) q))
	  FROM now;
END;
COMMENT ON FUNCTION wastore_internal.chat_snapshot(bigint) IS
	'The chat state of a store incarnation as a normalised snapshot (wastore.chat_snapshot), expired rows left out';

-- A time in a snapshot: whole milliseconds since the Unix epoch within
-- PostgreSQL's range (a fraction is dropped), as a timestamptz; NULL for
-- anything else.  The days and the time of day are added apart (see
-- chat_load_snapshot).
CREATE FUNCTION wastore_internal.json_time(v jsonb)
RETURNS timestamptz LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
	SELECT CASE WHEN jsonb_typeof(v) = 'number'
				 AND floor((v #>> '{}')::numeric) BETWEEN -210866803200000 AND 9224318015999999
			THEN ('1970-01-01 00:00:00'::timestamp
				  + make_interval(days => div(floor((v #>> '{}')::numeric), 86400000)::integer,
								  secs => (mod(floor((v #>> '{}')::numeric), 86400000) / 1000)::float8))
				 AT TIME ZONE 'UTC'
		   END;
END;
COMMENT ON FUNCTION wastore_internal.json_time(jsonb) IS
	'A snapshot time (milliseconds since the epoch, within range) as a timestamptz, NULL when it is not one';

-- Loading the parts of v2, after chat_load_snapshot (which emptied the
-- dedupe keys and loaded them without expiry).  A missing part is empty, so
-- a snapshot of 1.1 loads with no kv, lists or queues.  Entries whose
-- expires_at is present but not a time in range are left out; expired ones
-- too.
CREATE FUNCTION wastore_internal.chat_load_snapshot_v2(store_incarnation bigint, snapshot jsonb)
RETURNS void LANGUAGE sql VOLATILE
BEGIN ATOMIC
	DELETE FROM wastore.chat_kv WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_list_items WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_lists WHERE incarnation = store_incarnation;
	DELETE FROM wastore.chat_queue WHERE incarnation = store_incarnation;

	-- dedupe_expires_at: [[adapter, message_id, ms], ...]; a key whose
	-- expiry has passed is dropped.
	UPDATE wastore.chat_dedupe d SET expires_at = x.t
	  FROM (SELECT p.adapter, p.message_id, min(wastore_internal.json_time(e -> 2)) AS t
			  FROM jsonb_array_elements(wastore_internal.json_part(snapshot, 'dedupe_expires_at', 'array')) a(e),
				   LATERAL wastore_internal.chat_dedupe_pairs(jsonb_build_array(jsonb_build_array(e -> 0, e -> 1))) p
			 WHERE jsonb_typeof(e) = 'array'
			   AND wastore_internal.json_time(e -> 2) IS NOT NULL
			 GROUP BY p.adapter, p.message_id) x
	 WHERE d.incarnation = store_incarnation AND d.adapter = x.adapter AND d.message_id = x.message_id;
	DELETE FROM wastore.chat_dedupe
	 WHERE incarnation = store_incarnation AND expires_at <= clock_timestamp();

	-- kv: {"<key>": {"value": v, "expires_at": ms | null}}
	INSERT INTO wastore.chat_kv (incarnation, key, value, expires_at)
	SELECT store_incarnation, o.k, o.v -> 'value', wastore_internal.json_time(o.v -> 'expires_at')
	  FROM jsonb_each(wastore_internal.json_part(snapshot, 'kv', 'object')) AS o(k, v)
	 WHERE jsonb_typeof(o.v) = 'object' AND o.v ? 'value' AND wastore_internal.id_fits(o.k)
	   AND (COALESCE(jsonb_typeof(o.v -> 'expires_at'), 'null') = 'null'
			OR wastore_internal.json_time(o.v -> 'expires_at') > clock_timestamp());

	-- lists: {"<key>": {"values": [...], "expires_at": ms | null}}
	INSERT INTO wastore.chat_lists (incarnation, list_key, last_seq, first_seq, expires_at)
	SELECT store_incarnation, o.k, jsonb_array_length(o.v -> 'values'), 1,
		   wastore_internal.json_time(o.v -> 'expires_at')
	  FROM jsonb_each(wastore_internal.json_part(snapshot, 'lists', 'object')) AS o(k, v)
	 WHERE jsonb_typeof(o.v) = 'object'
	   AND CASE WHEN jsonb_typeof(o.v -> 'values') = 'array' THEN jsonb_array_length(o.v -> 'values') > 0 END
	   AND wastore_internal.id_fits(o.k)
	   AND (COALESCE(jsonb_typeof(o.v -> 'expires_at'), 'null') = 'null'
			OR wastore_internal.json_time(o.v -> 'expires_at') > clock_timestamp());
	INSERT INTO wastore.chat_list_items (incarnation, list_key, seq, value)
	SELECT store_incarnation, l.list_key, a.n, a.e
	  FROM wastore.chat_lists l,
		   jsonb_each(wastore_internal.json_part(snapshot, 'lists', 'object')) AS o(k, v),
		   LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(o.v -> 'values') = 'array' THEN o.v -> 'values'
											 ELSE '[]'::jsonb END) WITH ORDINALITY AS a(e, n)
	 WHERE l.incarnation = store_incarnation AND l.list_key = o.k;

	-- queues: {"<key>": [{"entry": e, "expires_at": ms}, ...]}, live entries
	INSERT INTO wastore.chat_queue (incarnation, queue_key, seq, entry, expires_at)
	SELECT store_incarnation, q.k, nextval('wastore.chat_seq'), q.e, q.t
	  FROM (SELECT o.k, a.e -> 'entry' AS e, wastore_internal.json_time(a.e -> 'expires_at') AS t, a.n
			  FROM jsonb_each(wastore_internal.json_part(snapshot, 'queues', 'object')) AS o(k, v),
				   LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(o.v) = 'array' THEN o.v
													 ELSE '[]'::jsonb END) WITH ORDINALITY AS a(e, n)
			 WHERE jsonb_typeof(a.e) = 'object' AND a.e ? 'entry' AND wastore_internal.id_fits(o.k)
			 ORDER BY o.k, a.n) q
	 WHERE q.t > clock_timestamp()
	 ORDER BY q.k, q.n;
END;
COMMENT ON FUNCTION wastore_internal.chat_load_snapshot_v2(bigint, jsonb) IS
	'Loads the parts of a snapshot that chat state v2 added (kv, lists, queues, dedupe expiries), after chat_load_snapshot';

-- Pruning: what has expired at now, of one incarnation (or of all, NULL).
-- An expired lock goes, its pending entries stay (the next holder gets them,
-- as when it takes an expired lock over).  The rows removed are counted.
CREATE FUNCTION wastore_internal.prune(store_incarnation bigint, now timestamptz)
RETURNS bigint LANGUAGE sql VOLATILE
BEGIN ATOMIC
	WITH kv AS (DELETE FROM wastore.chat_kv
				 WHERE incarnation = store_incarnation AND expires_at <= now RETURNING 1),
	lists AS (DELETE FROM wastore.chat_lists
			   WHERE incarnation = store_incarnation AND expires_at <= now RETURNING list_key),
	items AS (DELETE FROM wastore.chat_list_items i USING lists l
			   WHERE i.incarnation = store_incarnation AND i.list_key = l.list_key RETURNING 1),
	queue AS (DELETE FROM wastore.chat_queue
			   WHERE incarnation = store_incarnation AND expires_at <= now RETURNING 1),
	dedupe AS (DELETE FROM wastore.chat_dedupe
				WHERE incarnation = store_incarnation AND expires_at <= now RETURNING 1),
	locks AS (DELETE FROM wastore.chat_locks
			   WHERE incarnation = store_incarnation AND expires_at <= now RETURNING 1),
	leases AS (DELETE FROM wastore.leases
				WHERE incarnation = store_incarnation AND expires_at <= now RETURNING 1)
	SELECT (SELECT count(*) FROM kv) + (SELECT count(*) FROM lists) + (SELECT count(*) FROM items)
		 + (SELECT count(*) FROM queue) + (SELECT count(*) FROM dedupe) + (SELECT count(*) FROM locks)
		 + (SELECT count(*) FROM leases);
END;
COMMENT ON FUNCTION wastore_internal.prune(bigint, timestamptz) IS
	'Deletes the expired rows of one store incarnation (wastore.prune); returns how many';

CREATE FUNCTION wastore_internal.prune_all(now timestamptz)
RETURNS bigint LANGUAGE sql VOLATILE
BEGIN ATOMIC
	WITH kv AS (DELETE FROM wastore.chat_kv WHERE expires_at <= now RETURNING 1),
	lists AS (DELETE FROM wastore.chat_lists WHERE expires_at <= now RETURNING incarnation, list_key),
	items AS (DELETE FROM wastore.chat_list_items i USING lists l
			   WHERE i.incarnation = l.incarnation AND i.list_key = l.list_key RETURNING 1),
	queue AS (DELETE FROM wastore.chat_queue WHERE expires_at <= now RETURNING 1),
	dedupe AS (DELETE FROM wastore.chat_dedupe WHERE expires_at <= now RETURNING 1),
	locks AS (DELETE FROM wastore.chat_locks WHERE expires_at <= now RETURNING 1),
	leases AS (DELETE FROM wastore.leases WHERE expires_at <= now RETURNING 1)
	SELECT (SELECT count(*) FROM kv) + (SELECT count(*) FROM lists) + (SELECT count(*) FROM items)
		 + (SELECT count(*) FROM queue) + (SELECT count(*) FROM dedupe) + (SELECT count(*) FROM locks)
		 + (SELECT count(*) FROM leases);
END;
COMMENT ON FUNCTION wastore_internal.prune_all(timestamptz) IS
	'Deletes the expired rows of every store (wastore.prune(NULL) by an administrator); returns how many';

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA wastore_internal FROM PUBLIC;

-- The functions.
CREATE FUNCTION wastore.chat_acquire_lock_until(store text, lock_key text, owner text,
	strategy wastore.lock_strategy DEFAULT 'reject', metadata jsonb DEFAULT '{}', ttl interval DEFAULT NULL)
RETURNS TABLE (result wastore.lock_result, expires_at timestamptz)
AS 'MODULE_PATHNAME', 'chat_acquire_lock_until'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_acquire_lock_until(text, text, text, wastore.lock_strategy, jsonb, interval) IS
	'chat_acquire_lock, and the lock''s expiry as the server computed it (NULL without ttl, or when not acquired)';

CREATE FUNCTION wastore.chat_extend_lock(store text, lock_key text, owner text, ttl interval)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_extend_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_extend_lock(text, text, text, interval) IS
	'The owner''s unexpired lock now expires at now + ttl; false, changing nothing, when owner does not hold it or it has expired';

CREATE FUNCTION wastore.chat_kv_get(store text, key text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chat_kv_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_kv_get(text, text) IS
	'The value of a key, NULL when absent or expired (JSON null is a value: chat_kv_exists tells them apart)';

CREATE FUNCTION wastore.chat_kv_exists(store text, key text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_kv_exists'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_kv_exists(text, text) IS
	'Whether the key has a value that has not expired';

CREATE FUNCTION wastore.chat_kv_set(store text, key text, value jsonb, ttl interval DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_kv_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_kv_set(text, text, jsonb, interval) IS
	'Sets the key''s value (any JSON value), expiring after ttl (never without)';

CREATE FUNCTION wastore.chat_kv_set_if_absent(store text, key text, value jsonb, ttl interval DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_kv_set_if_absent'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_kv_set_if_absent(text, text, jsonb, interval) IS
	'Sets the key when it is absent or expired and returns true; false otherwise (exactly one of concurrent callers wins)';

CREATE FUNCTION wastore.chat_kv_delete(store text, key text)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_kv_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_kv_delete(text, text) IS
	'Deletes the key (idempotent)';

CREATE FUNCTION wastore.chat_list_append(store text, key text, value jsonb,
	max_length integer DEFAULT NULL, ttl interval DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'chat_list_append'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_list_append(text, text, jsonb, integer, interval) IS
	'Appends to the list, keeps its newest max_length values and sets the whole list''s expiry (none without ttl), atomically';

CREATE FUNCTION wastore.chat_list_get(store text, key text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chat_list_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_list_get(text, text) IS
	'The list as a JSON array, oldest first; [] when absent or expired';

CREATE FUNCTION wastore.chat_enqueue(store text, key text, entry jsonb, max_size integer, expires_at timestamptz)
RETURNS integer
AS 'MODULE_PATHNAME', 'chat_enqueue'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_enqueue(text, text, jsonb, integer, timestamptz) IS
	'Appends an entry live until expires_at; drops the oldest live entries beyond max_size; returns the live depth';

CREATE FUNCTION wastore.chat_dequeue(store text, key text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chat_dequeue'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_dequeue(text, text) IS
	'Removes and returns the oldest live entry (NULL when none); concurrent callers never get the same entry';

CREATE FUNCTION wastore.chat_queue_depth(store text, key text)
RETURNS integer
AS 'MODULE_PATHNAME', 'chat_queue_depth'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_queue_depth(text, text) IS
	'The number of live entries of the queue';

DROP FUNCTION wastore.chat_mark_dedupe(text, text, text, integer);
CREATE FUNCTION wastore.chat_mark_dedupe(store text, adapter text, message_id text,
	dedupe_limit integer DEFAULT 1000, ttl interval DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_mark_dedupe'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_mark_dedupe(text, text, text, integer, interval) IS
	'Records the dedupe key, true when it was new (exactly one of concurrent callers); then keeps only the store''s newest dedupe_limit keys, evicting the oldest first; with a ttl the key counts as absent once it has passed';

CREATE FUNCTION wastore.chat_unmark_dedupe(store text, adapter text, message_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chat_unmark_dedupe'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.chat_unmark_dedupe(text, text, text) IS
	'Forgets a dedupe key; true when it was there (and had not expired)';

CREATE FUNCTION wastore.prune(store text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wastore_prune'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.prune(text) IS
	'Deletes what has expired (chat kv, lists, queue entries, dedupe keys, locks, leases) of one store, or of every store for an administrator (NULL); returns the rows removed';

-- Every function that resolves a store is PARALLEL UNSAFE: a query in
-- parallel mode cannot take the fresh snapshot the owner check reads with,
-- and src/store.c refuses to resolve a store there.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_depend d
			ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
		  JOIN pg_catalog.pg_extension e
			ON e.oid OPERATOR(pg_catalog.=) d.refobjid AND e.extname OPERATOR(pg_catalog.=) 'wastore'
		 WHERE p.proargnames[1] OPERATOR(pg_catalog.=) 'store'
		   AND p.proparallel OPERATOR(pg_catalog.<>) 'u'
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s PARALLEL UNSAFE', f);
	END LOOP;
END
$$;

-- Fencing: every writing function takes a last argument lease bigint DEFAULT
-- NULL (src/lease.c).  A write that passes a token lands only while it is
-- the store's current, unexpired lease token (55W01 otherwise); a write
-- without one is accepted, as before.  Adding an argument re-creates each
-- function; the grants are given again at the end of this script.

DROP FUNCTION wastore.set(text, jsonb);
CREATE FUNCTION wastore.set(store text, data jsonb, lease bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'keys_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.set(text, jsonb, bigint) IS
	'Writes {"<family>": {"<id>": value or null}} atomically (null deletes); retries transient failures (not a single key written first in a transaction of its own, which runs without the savepoint), then raises; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.try_set(text, jsonb);
CREATE FUNCTION wastore.try_set(store text, data jsonb, lease bigint DEFAULT NULL)
RETURNS wastore.commit_result
AS 'MODULE_PATHNAME', 'keys_try_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.try_set(text, jsonb, bigint) IS
	'Like set, but reports a failure as (false, attempts, sqlstate, message) and leaves the store and the caller''s transaction as before the call; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.clear(text);
CREATE FUNCTION wastore.clear(store text, lease bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'keys_clear'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.clear(text, bigint) IS
	'Deletes every key of every family of the store, app-state sync versions included; creds and other parts stay; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.merge_creds(text, jsonb, boolean);
CREATE FUNCTION wastore.merge_creds(store text, updates jsonb, deep boolean DEFAULT false, lease bigint DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'creds_merge_creds'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.merge_creds(text, jsonb, boolean, bigint) IS
	'Merges updates into the creds projection of the store''s auth state in one locked step (from {} when there is none) and returns the new creds; deep = false replaces top-level members (Object.assign), deep = true merges objects recursively and replaces anything else; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.conn_put(text, text, jsonb);
CREATE FUNCTION wastore.conn_put(store text, key text, value jsonb, lease bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'creds_conn_put'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.conn_put(text, text, jsonb, bigint) IS
	'Writes one connection-store value; JSON null or SQL NULL deletes it; the keys auth_state and creds are read-only; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.conn_delete(text, text);
CREATE FUNCTION wastore.conn_delete(store text, key text, lease bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'creds_conn_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.conn_delete(text, text, bigint) IS
	'Deletes one connection-store value; a no-op when it does not exist; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.put_app_state_sync_key(text, text, jsonb);
CREATE FUNCTION wastore.put_app_state_sync_key(store text, key_id text, value jsonb, lease bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'appstate_put_sync_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.put_app_state_sync_key(text, text, jsonb, bigint) IS
	'Stores an app-state sync key under its base64 key id (family app-state-sync-key); SQL or JSON null deletes it; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.put_app_state_sync_version(text, text, jsonb);
CREATE FUNCTION wastore.put_app_state_sync_version(store text, collection text, state jsonb, lease bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'appstate_put_version'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wastore.put_app_state_sync_version(text, text, jsonb, bigint) IS
	'Replaces the collection''s state with Baileys LTHashState JSON; SQL or JSON null deletes it; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.apply_app_state_patch(text, text, bigint, text[], bytea[], bytea[], bytea, bytea);
CREATE FUNCTION wastore.apply_app_state_patch(store text, collection text, version bigint,
	operations text[], index_macs bytea[], value_macs bytea[],
	snapshot_mac bytea DEFAULT NULL, snapshot_mac_key bytea DEFAULT NULL, lease bigint DEFAULT NULL)
RETURNS TABLE (version bigint, hash wastore.lthash)
AS 'MODULE_PATHNAME', 'appstate_apply_patch'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION wastore.apply_app_state_patch(text, text, bigint, text[], bytea[], bytea[], bytea, bytea, bigint) IS
	'Applies one patch in O(its mutations) with Baileys'' rules; the version must advance (22023); a snapshot MAC that does not match raises 22W01 and changes nothing; a lease token fences the write (55W01 when it is not the current one)';

DROP FUNCTION wastore.apply_app_state_snapshot(text, text, bigint, bytea[], bytea[], bytea, bytea);
CREATE FUNCTION wastore.apply_app_state_snapshot(store text, collection text, version bigint,
	index_macs bytea[], value_macs bytea[],
	snapshot_mac bytea DEFAULT NULL, snapshot_mac_key bytea DEFAULT NULL, lease bigint DEFAULT NULL)
RETURNS TABLE (version bigint, hash wastore.lthash)
AS 'MODULE_PATHNAME', 'appstate_apply_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION wastore.apply_app_state_snapshot(text, text, bigint, bytea[], bytea[], bytea, bytea, bigint) IS
	'Replaces the collection''s state with a snapshot; a snapshot MAC that does not match raises 22W01 and changes nothing; a lease token fences the write (55W01 when it is not the current one)';

-- wastore's C functions run their statements under a search path of their
-- own (src/plans.c), whatever the caller's; a SET clause on each function
-- would cost a GUC save and restore on every call, the hottest ones included.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_depend d
		    ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
		  JOIN pg_catalog.pg_extension e
		    ON e.oid OPERATOR(pg_catalog.=) d.refobjid AND e.extname OPERATOR(pg_catalog.=) 'wastore'
		 WHERE p.prolang OPERATOR(pg_catalog.=) (SELECT l.oid FROM pg_catalog.pg_language l
												  WHERE l.lanname OPERATOR(pg_catalog.=) 'c')
		   AND p.proconfig IS NOT NULL
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s RESET search_path', f);
	END LOOP;
END
$$;

-- The role argument of grant_access and revoke_access, as the name their
-- statements use.  A regrole is an OID, and one that names no role (0, a
-- dropped role's) would reach the statements as "-" or a bare number: a
-- syntax error (42601) instead of "no such role" (42704).
CREATE FUNCTION wastore_internal.role_name(role regrole)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) role::pg_catalog.oid) THEN
		RAISE EXCEPTION 'role with OID % does not exist', role::pg_catalog.oid
			USING ERRCODE = 'undefined_object',
				  HINT = 'Pass a role name, such as ''bot_service''; it is taken as regrole.';
	END IF;
	RETURN role::pg_catalog.text;
END
$$;
COMMENT ON FUNCTION wastore_internal.role_name(regrole) IS
	'The role argument of grant_access / revoke_access as a quoted name: 22004 for NULL, 42704 for an OID that is no role';
REVOKE EXECUTE ON FUNCTION wastore_internal.role_name(regrole) FROM PUBLIC;

-- Granting a service role access: one call by the extension's owner (or a
-- superuser).  The role gets the schema, the functions and the stores view;
-- no table: its stores' rows are reached through the functions only.
CREATE OR REPLACE FUNCTION wastore.grant_access(role regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text := wastore_internal.role_name(role);
BEGIN
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA wastore TO %s', name);
	EXECUTE pg_catalog.format('GRANT SELECT ON wastore.stores TO %s', name);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA wastore TO %s', name);
	EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION wastore.grant_access(regrole), '
							  'wastore.revoke_access(regrole), wastore.store_owners_purge() FROM %s', name);
END
$$;
COMMENT ON FUNCTION wastore.grant_access(regrole) IS
	'Lets a role use wastore: its own stores (and those of roles whose privileges it has), through the functions and the stores view; run by the extension''s owner or a superuser';

CREATE OR REPLACE FUNCTION wastore.revoke_access(role regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text := wastore_internal.role_name(role);
BEGIN
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA wastore FROM %s', name);
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA wastore FROM %s', name);
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA wastore FROM %s', name);
	EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA wastore FROM %s', name);
END
$$;

-- Roles granted access under 1.1 keep it, without the tables.
DO $$
DECLARE
	grantee regrole;
BEGIN
	FOR grantee IN
		SELECT DISTINCT a.grantee::regrole
		  FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
		 WHERE n.nspname OPERATOR(pg_catalog.=) 'wastore'
		   AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
		   AND a.grantee OPERATOR(pg_catalog.<>) 0
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA wastore FROM %s', grantee);
		EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA wastore FROM %s', grantee);
		PERFORM wastore.grant_access(grantee);
	END LOOP;
END
$$;

--------------------------------------------------------------------------
-- What the functions rely on, held by the tables
--------------------------------------------------------------------------

-- The functions accept store ids of 1 to 256 bytes, other ids of at most
-- 1024 bytes (WASTORE_MAX_KEY_ID_BYTES: index keys stay far below the btree
-- limit), 32-byte MACs, lock expiries that pg_dump can write and pg_restore
-- read back, and dedupe numbers that can be counted on from.  The tables
-- hold every row to the same rules, so that no row written at psql can make
-- a function fail with an internal error or an overflow later, nor a dump
-- fail to restore.
--
-- An install updated from 1.1 may hold rows that break them: 1.1 let
-- tenants write the tables directly, and 1.1's chat_acquire_lock could
-- store an expiry just past the largest timestamp.  Rows are repaired where
-- the repair keeps their meaning and dropped where no function could use
-- them (an id no function accepts names nothing); a WARNING counts each kind.

DO $$
DECLARE
	n bigint;
BEGIN
	-- A store id no function accepts (1.0 did not check rows written at
	-- psql; 1.1 checks new ones): the store is dropped, its rows purged.
	PERFORM pg_temp.repair_rows($q$
		DELETE FROM wastore.store_owners
		 WHERE NOT (pg_catalog.octet_length(store) OPERATOR(pg_catalog.>=) 1
					AND pg_catalog.octet_length(store) OPERATOR(pg_catalog.<=) 256)
	$q$, 'dropped % store(s) whose id is empty or longer than 256 bytes');


	-- A collection with a MAC of another length than 32 bytes, or a name
	-- no function accepts: its hash cannot be trusted to sum its entries,
	-- so its whole state goes (the client resyncs it from a snapshot).
	WITH bad AS (
		SELECT i.incarnation, i.collection FROM wastore.sync_index i
		 WHERE pg_catalog.octet_length(i.index_mac) OPERATOR(pg_catalog.<>) 32
			OR pg_catalog.octet_length(i.value_mac) OPERATOR(pg_catalog.<>) 32
			OR pg_catalog.octet_length(i.collection) OPERATOR(pg_catalog.>) 1024
		UNION
		SELECT v.incarnation, v.collection FROM wastore.sync_versions v
		 WHERE pg_catalog.octet_length(v.collection) OPERATOR(pg_catalog.>) 1024),
	gone_versions AS (
		DELETE FROM wastore.sync_versions v USING bad
		 WHERE v.incarnation OPERATOR(pg_catalog.=) bad.incarnation
		   AND v.collection OPERATOR(pg_catalog.=) bad.collection),
	gone_index AS (
		DELETE FROM wastore.sync_index i USING bad
		 WHERE i.incarnation OPERATOR(pg_catalog.=) bad.incarnation
		   AND i.collection OPERATOR(pg_catalog.=) bad.collection)
	SELECT pg_catalog.count(*) INTO n FROM bad;
	IF n OPERATOR(pg_catalog.>) 0 THEN
		RAISE WARNING 'wastore: dropped the app-state sync state of % collection(s) with a MAC that is not 32 bytes or a name longer than 1024 bytes', n;
	END IF;



	-- A dedupe window with a seq out of range: numbered afresh from 1, in
	-- its order.
	PERFORM pg_temp.repair_rows($q$
		WITH bad AS (
			SELECT DISTINCT incarnation FROM wastore.chat_dedupe
			 WHERE seq OPERATOR(pg_catalog.<) 1 OR seq OPERATOR(pg_catalog.>) 9223372036854775806),
		old AS (
			DELETE FROM wastore.chat_dedupe d USING bad
			 WHERE d.incarnation OPERATOR(pg_catalog.=) bad.incarnation
			RETURNING d.incarnation, d.adapter, d.message_id, d.seq)
		INSERT INTO wastore.chat_dedupe (incarnation, adapter, message_id, seq)
		SELECT incarnation, adapter, message_id,
			   pg_catalog.row_number() OVER (PARTITION BY incarnation ORDER BY seq, adapter, message_id)
		  FROM old
	$q$, 'renumbered % chat dedupe key(s) of windows with a seq out of range');

	-- An expiry out of range keeps its meaning: infinity never expires (no
	-- TTL), -infinity has expired, and an instant past the last one
	-- PostgreSQL can store becomes that instant.
	PERFORM pg_temp.repair_rows($q$
		UPDATE wastore.chat_locks
		   SET expires_at = CASE
				WHEN expires_at OPERATOR(pg_catalog.=) 'infinity'::timestamptz THEN NULL
				WHEN expires_at OPERATOR(pg_catalog.<) '4714-11-24 00:00:00+00 BC'::timestamptz
					THEN '4714-11-24 00:00:00+00 BC'::timestamptz
				ELSE '294276-12-31 23:59:59.999+00'::timestamptz
			END
		 WHERE expires_at OPERATOR(pg_catalog.<) '4714-11-24 00:00:00+00 BC'::timestamptz
			OR expires_at OPERATOR(pg_catalog.>) '294276-12-31 23:59:59.999999+00'::timestamptz
	$q$, 'brought the expiry of % chat lock(s) into the range of timestamps');

	-- Pending entries numbered below the sequence's range: the lock key's
	-- entries are numbered afresh from the sequence, in their order.
	PERFORM pg_temp.repair_rows($q$
		WITH bad AS (
			SELECT DISTINCT incarnation, lock_key FROM wastore.chat_pending WHERE seq OPERATOR(pg_catalog.<) 1),
		old AS (
			DELETE FROM wastore.chat_pending p USING bad
			 WHERE p.incarnation OPERATOR(pg_catalog.=) bad.incarnation
			   AND p.lock_key OPERATOR(pg_catalog.=) bad.lock_key
			RETURNING p.incarnation, p.lock_key, p.seq, p.entry)
		INSERT INTO wastore.chat_pending (incarnation, lock_key, seq, entry)
		SELECT o.incarnation, o.lock_key, pg_catalog.nextval('wastore.chat_seq'), o.entry
		  FROM (SELECT * FROM old ORDER BY incarnation, lock_key, seq) o
	$q$, 'renumbered % pending chat lock entr(ies) with a seq below 1');
END
$$;
DROP FUNCTION pg_temp.repair_rows(text, text);

-- 1.1 checked new store rows only (NOT VALID); every row is checked now.
ALTER TABLE wastore.store_owners VALIDATE CONSTRAINT store_id_length;
COMMENT ON CONSTRAINT store_id_length ON wastore.store_owners IS
	'A store id is 1 to 256 bytes, as every function requires';

-- The key ids' rule is a domain, not a CHECK constraint of the table: a
-- table's CHECK constraints are read from the catalog and planned afresh by
-- every statement that writes it (ExecRelCheck), which every single-key set
-- paid, the hottest write there is (a session after every message); a
-- domain's constraint is planned once per backend (the type cache) and only
-- evaluated per row.  The other tables keep their CHECK constraints, whose
-- columns compare as plain text in every polymorphic function at psql.
CREATE DOMAIN wastore.key_id AS text COLLATE "C"
	CONSTRAINT key_id_length CHECK (pg_catalog.octet_length(VALUE) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON DOMAIN wastore.key_id IS
	'A key id: at most 1024 bytes (WASTORE_MAX_KEY_ID_BYTES: index keys stay far below the btree limit), compared byte by byte, as every function requires';
ALTER TABLE wastore.keys ALTER COLUMN id TYPE wastore.key_id;

-- Session records are the values written most often (one after every
-- message), and at 2 to 12 kB of JSON most of them are compressed on the
-- way in: lz4 does that with a third less work per write than the default
-- pglz (a 7 kB session: 2.36 million instructions per set with pglz, 1.60
-- with lz4, counted under callgrind), and reads back faster.  The creds are
-- rewritten on every creds.update.  Values already stored keep their
-- compression until they are next written.  A server built without lz4
-- keeps pglz.
DO $$
BEGIN
	ALTER TABLE wastore.keys ALTER COLUMN value SET COMPRESSION lz4;
	ALTER TABLE wastore.auth_states ALTER COLUMN auth_state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END
$$;

ALTER TABLE wastore.sync_versions ADD CONSTRAINT collection_length
	CHECK (pg_catalog.octet_length(collection) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT collection_length ON wastore.sync_versions IS
	'A collection name is at most 1024 bytes, as every function requires';
ALTER TABLE wastore.sync_index ADD CONSTRAINT collection_length
	CHECK (pg_catalog.octet_length(collection) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT collection_length ON wastore.sync_index IS
	'A collection name is at most 1024 bytes, as every function requires';
ALTER TABLE wastore.sync_index ADD CONSTRAINT mac_lengths
	CHECK (pg_catalog.octet_length(index_mac) OPERATOR(pg_catalog.=) 32
		   AND pg_catalog.octet_length(value_mac) OPERATOR(pg_catalog.=) 32);
COMMENT ON CONSTRAINT mac_lengths ON wastore.sync_index IS
	'Index and value MACs are 32 bytes (HMAC-SHA256), which patches and the LTHashState projection rely on';

ALTER TABLE wastore.conn_values ADD CONSTRAINT key_length
	CHECK (pg_catalog.octet_length(key) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT key_length ON wastore.conn_values IS
	'A connection-store key is at most 1024 bytes, as every function requires';

ALTER TABLE wastore.chat_subscriptions ADD CONSTRAINT thread_id_length
	CHECK (pg_catalog.octet_length(thread_id) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT thread_id_length ON wastore.chat_subscriptions IS
	'A thread id is at most 1024 bytes, as every function requires';
ALTER TABLE wastore.chat_thread_state ADD CONSTRAINT thread_id_length
	CHECK (pg_catalog.octet_length(thread_id) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT thread_id_length ON wastore.chat_thread_state IS
	'A thread id is at most 1024 bytes, as every function requires';
ALTER TABLE wastore.chat_channel_state ADD CONSTRAINT channel_id_length
	CHECK (pg_catalog.octet_length(channel_id) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT channel_id_length ON wastore.chat_channel_state IS
	'A channel id is at most 1024 bytes, as every function requires';

ALTER TABLE wastore.chat_dedupe ADD CONSTRAINT id_lengths
	CHECK (pg_catalog.octet_length(adapter) OPERATOR(pg_catalog.<=) 1024
		   AND pg_catalog.octet_length(message_id) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT id_lengths ON wastore.chat_dedupe IS
	'An adapter and a message id are at most 1024 bytes each, as every function requires';
ALTER TABLE wastore.chat_dedupe ADD CONSTRAINT seq_range
	CHECK (seq OPERATOR(pg_catalog.>=) 1 AND seq OPERATOR(pg_catalog.<=) 9223372036854775806);
COMMENT ON CONSTRAINT seq_range ON wastore.chat_dedupe IS
	'seq counts from 1 and stays below the largest bigint, so that chat_mark_dedupe can always number the next key (a window at the top is numbered afresh)';

ALTER TABLE wastore.chat_locks ADD CONSTRAINT id_lengths
	CHECK (pg_catalog.octet_length(lock_key) OPERATOR(pg_catalog.<=) 1024
		   AND pg_catalog.octet_length(owner) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT id_lengths ON wastore.chat_locks IS
	'A lock key and an owner are at most 1024 bytes each, as every function requires';
ALTER TABLE wastore.chat_locks ADD CONSTRAINT expires_at_range
	CHECK (expires_at OPERATOR(pg_catalog.>=) '4714-11-24 00:00:00+00 BC'::timestamptz
		   AND expires_at OPERATOR(pg_catalog.<=) '294276-12-31 23:59:59.999999+00'::timestamptz);
COMMENT ON CONSTRAINT expires_at_range ON wastore.chat_locks IS
	'An expiry is NULL (no TTL) or a finite timestamp within PostgreSQL''s range: chat_snapshot gives it in milliseconds, and pg_dump writes what pg_restore reads back';

ALTER TABLE wastore.chat_pending ADD CONSTRAINT lock_key_length
	CHECK (pg_catalog.octet_length(lock_key) OPERATOR(pg_catalog.<=) 1024);
COMMENT ON CONSTRAINT lock_key_length ON wastore.chat_pending IS
	'A lock key is at most 1024 bytes, as every function requires';
ALTER TABLE wastore.chat_pending ADD CONSTRAINT seq_range
	CHECK (seq OPERATOR(pg_catalog.>=) 1);
COMMENT ON CONSTRAINT seq_range ON wastore.chat_pending IS
	'seq comes from wastore.chat_seq, whose values start at 1';
