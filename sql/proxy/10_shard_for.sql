-- shard_for: the conninfo of the partition that owns a store, for the
-- clients that open a multi-statement transaction there (per-key locks,
-- read-modify-write).  The partitions are the options p0, p1, ... of the
-- foreign server `wastore` (PL/Proxy's SQL/MED cluster); credentials belong
-- in user mappings, which shard_for never shows.
CREATE FUNCTION wastore.shard_for(store text) RETURNS text
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	opts text[];
	n integer;
	part integer;
	conninfo text;
BEGIN
	SELECT s.srvoptions INTO opts FROM pg_foreign_server s
	 WHERE s.srvname = 'wastore';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no PL/Proxy cluster "wastore"'
			USING ERRCODE = 'undefined_object',
			      HINT = 'CREATE SERVER wastore FOREIGN DATA WRAPPER plproxy OPTIONS (p0 ''...'', ...)';
	END IF;
	SELECT count(*) INTO n FROM unnest(opts) o WHERE o ~ '^p[0-9]+=';
	IF n = 0 OR n & (n - 1) <> 0 THEN
		RAISE EXCEPTION 'the PL/Proxy cluster "wastore" has % partitions, not a power of 2', n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	part := wastore.store_hash(store) & (n - 1);
	SELECT substr(o, length('p' || part) + 2) INTO conninfo
	  FROM unnest(opts) o WHERE o LIKE 'p' || part || '=%';
	RETURN conninfo;
END
$$;
COMMENT ON FUNCTION wastore.shard_for(text) IS 'the conninfo of the partition (shard) that owns the store: open multi-statement transactions (lock, try_lock, lock_records) there';

CREATE FUNCTION wastore.partition_for(store text) RETURNS integer
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT wastore.store_hash(store) & (count(*)::integer - 1)
	  FROM pg_foreign_server s, unnest(s.srvoptions) o
	 WHERE s.srvname = 'wastore' AND o ~ '^p[0-9]+='
$$;
COMMENT ON FUNCTION wastore.partition_for(text) IS 'the number of the partition that owns the store (p0, p1, ... of the server wastore)';
