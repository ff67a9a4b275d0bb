
--------------------------------------------------------------------------
-- App-state integrity: MACs, and app-state sync versions stored normalised
--------------------------------------------------------------------------

-- Both tables are updated in place by every patch (a new value MAC, a new
-- version and hash) on columns no index covers: the free space a fillfactor
-- leaves in each page lets those updates be HOT (no new index entries), so
-- a patch costs the same whether its collection has a thousand entries or a
-- hundred thousand (bench/lthash: without it, 1.5x slower at 100,000).

-- One row per (store, collection): the version and LTHash of the collection.
CREATE TABLE wastore.sync_versions (
	store text COLLATE "C" NOT NULL,
	collection text COLLATE "C" NOT NULL,
	version bigint NOT NULL CHECK (version OPERATOR(pg_catalog.>=) 0),
	hash wastore.lthash NOT NULL,
	PRIMARY KEY (store, collection)
) WITH (fillfactor = 70);
COMMENT ON TABLE wastore.sync_versions IS
	'App-state sync versions: per store and collection, the version and LTHash (Baileys LTHashState without its index map)';

-- One row per index MAC of a collection: its current value MAC.
CREATE TABLE wastore.sync_index (
	store text COLLATE "C" NOT NULL,
	collection text COLLATE "C" NOT NULL,
	index_mac bytea NOT NULL,
	value_mac bytea NOT NULL,
	PRIMARY KEY (store, collection, index_mac)
) WITH (fillfactor = 90);
COMMENT ON TABLE wastore.sync_index IS
	'App-state sync versions: per store, collection and index MAC, the current value MAC (Baileys indexValueMap)';

SELECT pg_catalog.pg_extension_config_dump('wastore.sync_versions', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.sync_index', '');

-- The stores the caller may use, with their key counts per family: the
-- family app-state-sync-version is counted in sync_versions (it is stored
-- there, not in wastore.keys), so the view comes with that table.
CREATE VIEW wastore.stores WITH (security_barrier) AS
SELECT s.store,
	   s.owner,
	   s.created_at,
	   (SELECT pg_catalog.jsonb_object_agg(f.family,
			   CASE WHEN f.family OPERATOR(pg_catalog.=) 'app-state-sync-version'::wastore.family
			   THEN (SELECT pg_catalog.count(*)
					   FROM wastore.sync_versions v
					  WHERE v.store OPERATOR(pg_catalog.=) s.store)
			   ELSE (SELECT pg_catalog.count(*)
					   FROM wastore.keys k
					  WHERE k.store OPERATOR(pg_catalog.=) s.store
						AND k.family OPERATOR(pg_catalog.=) f.family)
			   END)
		  FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::wastore.family)) AS f(family)
	   ) AS key_counts
  FROM wastore.store_owners s
 WHERE pg_catalog.pg_has_role(s.owner, 'USAGE');
COMMENT ON VIEW wastore.stores IS
	'The stores the caller may use (its own and those of roles it is a member of), with the number of keys per family';

-- MACs (pure functions; not STRICT: a NULL argument raises 22004)
CREATE FUNCTION wastore.expand_app_state_keys(key_data bytea)
RETURNS TABLE (index_key bytea, value_encryption_key bytea, value_mac_key bytea,
			   snapshot_mac_key bytea, patch_mac_key bytea)
AS 'MODULE_PATHNAME', 'appstate_expand_keys'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION wastore.expand_app_state_keys(bytea) IS
	'The five mutation keys of a 32-byte app-state sync key: HKDF-SHA256(key_data, info "WhatsApp Mutation Keys", 160 bytes) split in five';

CREATE FUNCTION wastore.snapshot_mac(hash wastore.lthash, version bigint, collection text, key bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'appstate_snapshot_mac'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.snapshot_mac(wastore.lthash, bigint, text, bytea) IS
	'HMAC-SHA256(key, hash || uint64 big-endian version || collection name)';

CREATE FUNCTION wastore.patch_mac(snapshot_mac bytea, value_macs bytea[], version bigint, collection text, key bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'appstate_patch_mac'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.patch_mac(bytea, bytea[], bigint, text, bytea) IS
	'HMAC-SHA256(key, snapshot_mac || value MACs || uint64 big-endian version || collection name)';

CREATE FUNCTION wastore.content_mac(operation text, data bytea, key_id bytea, key bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'appstate_content_mac'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.content_mac(text, bytea, bytea, bytea) IS
	'The value MAC of a mutation: HMAC-SHA512(key, op byte || key_id || data || uint64 big-endian length of op byte and key_id), first 32 bytes; operation set or remove';

CREATE FUNCTION wastore.index_mac(index bytea, key bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'appstate_index_mac'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION wastore.index_mac(bytea, bytea) IS
	'The index MAC of a mutation: HMAC-SHA256(index key, index JSON bytes)';

-- App-state sync versions
CREATE FUNCTION wastore.apply_app_state_patch(store text, collection text, version bigint,
	operations text[], index_macs bytea[], value_macs bytea[],
	snapshot_mac bytea DEFAULT NULL, snapshot_mac_key bytea DEFAULT NULL)
RETURNS TABLE (version bigint, hash wastore.lthash)
AS 'MODULE_PATHNAME', 'appstate_apply_patch'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.apply_app_state_patch(text, text, bigint, text[], bytea[], bytea[], bytea, bytea) IS
	'Applies one patch in O(its mutations) with Baileys'' rules; the version must advance (22023); a snapshot MAC that does not match raises 22W01 and changes nothing';

CREATE FUNCTION wastore.apply_app_state_snapshot(store text, collection text, version bigint,
	index_macs bytea[], value_macs bytea[],
	snapshot_mac bytea DEFAULT NULL, snapshot_mac_key bytea DEFAULT NULL)
RETURNS TABLE (version bigint, hash wastore.lthash)
AS 'MODULE_PATHNAME', 'appstate_apply_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.apply_app_state_snapshot(text, text, bigint, bytea[], bytea[], bytea, bytea) IS
	'Replaces the collection''s state with a snapshot; a snapshot MAC that does not match raises 22W01 and changes nothing';

CREATE FUNCTION wastore.get_app_state_sync_version(store text, collection text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'appstate_get_version'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.get_app_state_sync_version(text, text) IS
	'The collection''s state as Baileys LTHashState JSON, NULL when none; same data as family app-state-sync-version';

CREATE FUNCTION wastore.put_app_state_sync_version(store text, collection text, state jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'appstate_put_version'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.put_app_state_sync_version(text, text, jsonb) IS
	'Replaces the collection''s state with Baileys LTHashState JSON; SQL or JSON null deletes it';

-- App-state sync keys: rows of the family app-state-sync-key
CREATE FUNCTION wastore.put_app_state_sync_key(store text, key_id text, value jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'appstate_put_sync_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.put_app_state_sync_key(text, text, jsonb) IS
	'Stores an app-state sync key under its base64 key id (family app-state-sync-key); SQL or JSON null deletes it';

CREATE FUNCTION wastore.get_app_state_sync_key(store text, key_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'appstate_get_sync_key'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.get_app_state_sync_key(text, text) IS
	'The app-state sync key with that base64 key id; a missing key raises no_data_found (P0002) naming the id';
