-- The contents of every state table of wastore, one line per table: its
-- name, then a digest of its rows and their number, each row named by its
-- store id rather than by the column that keys it.  The same data gives the
-- same lines whether the tables are keyed by store id (1.0, 1.1) or by store
-- incarnation (1.2 and up): the upgrade test compares the two.  Rows of no
-- store are left out (1.2 drops them).  Top-level members that are NULL are
-- left out of each row, so that a column added by an update (NULL in every
-- old row, such as chat_dedupe.expires_at in 1.2) changes no digest; a
-- value that changes to or from NULL still does.
CREATE FUNCTION pg_temp.nonnull(j jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT COALESCE(jsonb_object_agg(k, v), '{}') FROM jsonb_each(j) AS e(k, v) WHERE jsonb_typeof(v) <> 'null'
$$;
CREATE FUNCTION pg_temp.digest(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	rows text;
	result text;
BEGIN
	IF t = 'wastore.store_owners'::regclass THEN
		rows := 'SELECT pg_temp.nonnull(to_jsonb(r) - ''incarnation'' - ''lock_salt'')::text AS x FROM wastore.store_owners r';
	ELSIF EXISTS (SELECT FROM pg_attribute WHERE attrelid = t AND attname = 'incarnation' AND NOT attisdropped) THEN
		rows := format('SELECT o.store || '' '' || pg_temp.nonnull(to_jsonb(r) - ''incarnation'')::text AS x FROM %s r JOIN wastore.store_owners o USING (incarnation)', t);
	ELSE
		rows := format('SELECT r.store || '' '' || pg_temp.nonnull(to_jsonb(r) - ''store'')::text AS x FROM %s r JOIN wastore.store_owners o USING (store)', t);
	END IF;
	EXECUTE format('SELECT md5(string_agg(x, E''\n'' ORDER BY x)) || '' '' || count(*) FROM (%s) q', rows) INTO result;
	RETURN result;
END
$$;
SELECT c.oid::regclass::text, pg_temp.digest(c.oid)
  FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'wastore' AND c.relkind = 'r'
 ORDER BY 1;
