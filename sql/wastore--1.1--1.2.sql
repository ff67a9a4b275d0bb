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
	'Trigger: deleting a store ends its incarnation: it waits for the store''s writers and deletes the incarnation''s rows in every state table';

-- Granting a service role access: one call by the extension's owner (or a
-- superuser).  The role gets the schema, the functions and the stores view;
-- no table: its stores' rows are reached through the functions only.
CREATE OR REPLACE FUNCTION wastore.grant_access(role regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA wastore TO %s', role);
	EXECUTE pg_catalog.format('GRANT SELECT ON wastore.stores TO %s', role);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA wastore TO %s', role);
	EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION wastore.grant_access(regrole), '
							  'wastore.revoke_access(regrole), wastore.store_owners_purge() FROM %s', role);
END
$$;
COMMENT ON FUNCTION wastore.grant_access(regrole) IS
	'Lets a role use wastore: its own stores (and those of roles whose privileges it has), through the functions and the stores view; run by the extension''s owner or a superuser';

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
