-- What spans stores fans out to every partition and merges: the stores
-- view is the union of the shards' views (each shard filters to the
-- stores the connecting role may use).  owner is the role's name: roles
-- are per cluster, and the proxy may not know a shard's roles.
CREATE FUNCTION wastore.stores_on_shards(
	OUT store text, OUT owner text, OUT created_at timestamptz, OUT key_counts jsonb,
	OUT lease_holder text, OUT lease_token bigint, OUT lease_expires_at timestamptz)
RETURNS SETOF record
LANGUAGE plproxy AS $plproxy$
	CLUSTER 'wastore';
	RUN ON ALL;
	SELECT store, owner::text AS owner, created_at, key_counts,
	       lease_holder, lease_token, lease_expires_at
	  FROM wastore.stores;
$plproxy$;
COMMENT ON FUNCTION wastore.stores_on_shards() IS 'the stores view of every partition (PL/Proxy RUN ON ALL)';

CREATE VIEW wastore.stores AS
	SELECT store, owner, created_at, key_counts, lease_holder, lease_token, lease_expires_at
	  FROM wastore.stores_on_shards();
COMMENT ON VIEW wastore.stores IS 'one row per store the caller may use, on every shard (the union of the shards'' stores views)';

-- Giving a role the use of the proxy: the schema, the view and the
-- cluster.  The role also needs a user mapping for the server wastore and
-- wastore.grant_access on every shard (README, "Scale-out").
CREATE FUNCTION wastore.grant_access(role regrole) RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE format('GRANT USAGE ON SCHEMA wastore TO %s', role);
	EXECUTE format('GRANT SELECT ON wastore.stores, wastore.proxy_routed TO %s', role);
	IF EXISTS (SELECT FROM pg_foreign_server WHERE srvname = 'wastore') THEN
		EXECUTE format('GRANT USAGE ON FOREIGN SERVER wastore TO %s', role);
	END IF;
END
$$;
COMMENT ON FUNCTION wastore.grant_access(regrole) IS 'gives a role the use of the proxy: USAGE on schema wastore and on the server wastore, SELECT on the stores view';
REVOKE ALL ON FUNCTION wastore.grant_access(regrole) FROM PUBLIC;
