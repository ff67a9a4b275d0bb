
--------------------------------------------------------------------------
-- Creds and the connection store (baileys_ex Connection.Store)
--------------------------------------------------------------------------

-- The auth state of a store, one JSON object.  The creds projection is not
-- stored: it is derived on every read (auth_state->'creds' when that is an
-- object, else the auth state itself), so the two can never drift apart.
CREATE TABLE wastore.auth_states (
	store text COLLATE "C" PRIMARY KEY,
	auth_state jsonb NOT NULL
		CONSTRAINT auth_state_is_object
		CHECK (pg_catalog.jsonb_typeof(auth_state) OPERATOR(pg_catalog.=) 'object')
);
COMMENT ON TABLE wastore.auth_states IS
	'One row per store that has an auth state: the auth state (creds, flat or nested under "creds") as one JSON object';

CREATE TABLE wastore.conn_values (
	store text COLLATE "C" NOT NULL,
	key text COLLATE "C" NOT NULL,
	value jsonb NOT NULL,
	PRIMARY KEY (store, key)
);
COMMENT ON TABLE wastore.conn_values IS
	'The connection store: runtime values of a store by key, exactly as written';

SELECT pg_catalog.pg_extension_config_dump('wastore.auth_states', '');
SELECT pg_catalog.pg_extension_config_dump('wastore.conn_values', '');

CREATE FUNCTION wastore.merge_creds(store text, updates jsonb, deep boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'creds_merge_creds'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.merge_creds(text, jsonb, boolean) IS
	'Merges updates into the creds projection of the store''s auth state in one locked step (from {} when there is none) and returns the new creds; deep = false replaces top-level members (Object.assign), deep = true merges objects recursively and replaces anything else';

CREATE FUNCTION wastore.auth_state(store text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'creds_auth_state'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.auth_state(text) IS
	'The store''s auth state, or NULL when it has none';

CREATE FUNCTION wastore.creds(store text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'creds_creds'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.creds(text) IS
	'The creds projection of the store''s auth state (its "creds" member when that is an object, else the whole auth state), or NULL when it has none; never invented';

CREATE FUNCTION wastore.conn_put(store text, key text, value jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'creds_conn_put'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.conn_put(text, text, jsonb) IS
	'Writes one connection-store value; JSON null or SQL NULL deletes it; the keys auth_state and creds are read-only';

CREATE FUNCTION wastore.conn_get(store text, key text, default_value jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'creds_conn_get'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.conn_get(text, text, jsonb) IS
	'One connection-store value, or default_value when absent; the keys auth_state and creds read the auth state and its creds projection';

CREATE FUNCTION wastore.conn_delete(store text, key text)
RETURNS void
AS 'MODULE_PATHNAME', 'creds_conn_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.conn_delete(text, text) IS
	'Deletes one connection-store value; a no-op when it does not exist';

CREATE FUNCTION wastore.conn_snapshot(store text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'creds_conn_snapshot'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION wastore.conn_snapshot(text) IS
	'The whole connection store of the store as one object read in one snapshot: {"auth_state", "creds", "values": {key: value}, "app_state_sync_keys": {id: value}, "app_state_sync_versions": {collection: LTHashState}}';
