\echo Use "ALTER EXTENSION wastore UPDATE TO '1.1'" to load this file. \quit

-- wastore 1.1: tenants.  A role sees and changes only the stores whose owner
-- role it has the privileges of, through the functions (which always checked
-- that) and now through direct SQL on the tables too: row-level security on
-- every state table.  The extension's owner and superusers bypass the
-- policies (they own the tables) and administer every store.  Nothing is
-- granted to PUBLIC: an administrator gives a service role access with
-- wastore.grant_access(role).

CREATE FUNCTION wastore.owns_store(store text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'store_owns_store'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION wastore.owns_store(text) IS
	'Whether the current user may use the store (it exists and the user has the privileges of its owner role, or administers wastore); the row-level security policy of every state table';

-- store_owners: a role sees the stores of the roles whose privileges it has,
-- and may create (INSERT) or delete stores for those roles only.  There is no
-- UPDATE grant: renaming a store or giving it away would separate it from its
-- rows.
ALTER TABLE wastore.store_owners ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.store_owners
	USING (pg_catalog.pg_has_role(owner, 'USAGE'))
	WITH CHECK (pg_catalog.pg_has_role(owner, 'USAGE'));
COMMENT ON POLICY store_owner_role ON wastore.store_owners IS
	'A role sees and creates only stores owned by roles whose privileges it has';

-- The store id rules of the functions hold for rows written at psql too.
-- NOT VALID: an update never fails on rows written before it.
ALTER TABLE wastore.store_owners ADD CONSTRAINT store_id_length
	CHECK (pg_catalog.octet_length(store) OPERATOR(pg_catalog.>=) 1
		   AND pg_catalog.octet_length(store) OPERATOR(pg_catalog.<=) 256) NOT VALID;

-- Deleting a store row, however it is done, deletes the store's rows in
-- every part first.
CREATE FUNCTION wastore.store_owners_purge()
RETURNS trigger
AS 'MODULE_PATHNAME', 'store_owners_purge'
LANGUAGE C;
COMMENT ON FUNCTION wastore.store_owners_purge() IS
	'Trigger: deleting a store deletes its rows in every part, so that no row outlives its store';
CREATE TRIGGER purge_store_rows BEFORE DELETE ON wastore.store_owners
	FOR EACH ROW EXECUTE FUNCTION wastore.store_owners_purge();
COMMENT ON TRIGGER purge_store_rows ON wastore.store_owners IS
	'Deletes the store''s rows in every part before the store itself';

-- Every other state table: rows of the stores the current user may use.
ALTER TABLE wastore.keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.keys
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.keys IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.sync_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.sync_versions
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.sync_versions IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.sync_index ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.sync_index
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.sync_index IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.auth_states ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.auth_states
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.auth_states IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.conn_values ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.conn_values
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.conn_values IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.chat_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.chat_subscriptions
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.chat_subscriptions IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.chat_dedupe ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.chat_dedupe
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.chat_dedupe IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.chat_thread_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.chat_thread_state
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.chat_thread_state IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.chat_channel_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.chat_channel_state
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.chat_channel_state IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.chat_locks ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.chat_locks
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.chat_locks IS
	'Rows of the stores the current user may use (wastore.owns_store)';
ALTER TABLE wastore.chat_pending ENABLE ROW LEVEL SECURITY;
CREATE POLICY store_owner_role ON wastore.chat_pending
	USING (wastore.owns_store(store)) WITH CHECK (wastore.owns_store(store));
COMMENT ON POLICY store_owner_role ON wastore.chat_pending IS
	'Rows of the stores the current user may use (wastore.owns_store)';

-- Granting a service role access: one call by the extension's owner (or a
-- superuser).  The role gets the schema, the functions, the rows of its own
-- stores (row-level security), read access to the stores view and the
-- sequences the chat functions use.
CREATE FUNCTION wastore.grant_access(role regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	obj record;
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA wastore TO %s', role);
	FOR obj IN
		SELECT c.oid::regclass AS name, c.relkind
		  FROM pg_catalog.pg_depend d
		  JOIN pg_catalog.pg_class c ON c.oid = d.objid
		 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
		   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'wastore')
		   AND d.deptype = 'e'
		 ORDER BY 1
	LOOP
		EXECUTE pg_catalog.format('GRANT %s ON %s TO %s',
			CASE
				WHEN obj.name = 'wastore.store_owners'::pg_catalog.regclass THEN 'SELECT, INSERT, DELETE'
				WHEN obj.relkind = 'r' THEN 'SELECT, INSERT, UPDATE, DELETE'
				WHEN obj.relkind = 'S' THEN 'USAGE'
				ELSE 'SELECT'	-- views
			END, obj.name, role);
	END LOOP;
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA wastore TO %s', role);
	EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION wastore.grant_access(regrole), wastore.revoke_access(regrole) FROM %s', role);
END
$$;
COMMENT ON FUNCTION wastore.grant_access(regrole) IS
	'Lets a role use wastore: its own stores (and those of roles whose privileges it has), through the functions and the tables; run by the extension''s owner or a superuser';

CREATE FUNCTION wastore.revoke_access(role regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA wastore FROM %s', role);
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA wastore FROM %s', role);
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA wastore FROM %s', role);
	EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA wastore FROM %s', role);
END
$$;
COMMENT ON FUNCTION wastore.revoke_access(regrole) IS
	'Takes back what grant_access gave a role (its stores stay; drop them first to remove them)';

-- Functions are executable by PUBLIC by default, but without USAGE on the
-- schema nobody but the owner and those granted access reaches them; the two
-- administrative ones are not for PUBLIC at all.
REVOKE EXECUTE ON FUNCTION wastore.grant_access(regrole), wastore.revoke_access(regrole) FROM PUBLIC;
