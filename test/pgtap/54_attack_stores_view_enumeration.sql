-- ATTACK (leaked before the fix: the view now reads wastore.stores_visible(),
-- which chooses the caller's stores before reading anything): the stores view is a security_barrier view over
-- store_owners filtered by wastore.owns_store.  A tenant's own qualifiers
-- on the view that are leakproof (text comparisons: texteq, text_lt,
-- text_ge, ...) are pushed below the barrier, and on the store column they
-- become the Index Cond of a scan of store_owners_pkey; owns_store is then
-- only the Filter.  EXPLAIN ANALYZE shows "Rows Removed by Filter" (and
-- "Heap Fetches"): the exact number of other tenants' stores whose ids lie
-- in any range the tenant chooses.  Halving ranges enumerates every store
-- id in the database (WhatsApp numbers, typically) without a single guess,
-- where the README allows only confirming a guessed id.
--
-- Secure behaviour asserted here: EXPLAIN ANALYZE of the view over a range
-- that holds another tenant's stores reads the same as over an empty range.
BEGIN;
SELECT plan(2);

CREATE ROLE wastore_enum_a NOLOGIN;
CREATE ROLE wastore_enum_b NOLOGIN;
SELECT wastore.grant_access('wastore_enum_a'), wastore.grant_access('wastore_enum_b');

-- the plan of a query over the view as the tenant sees it, without the
-- lines that quote the tenant's own constants
CREATE FUNCTION pg_temp.explained(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		IF line !~ '(Cond|Filter):' THEN
			result := result || line || E'\n';
		END IF;
	END LOOP;
	RETURN result;
END
$$;

SET LOCAL ROLE wastore_enum_b;
SELECT wastore.create_store('enum-491511111'), wastore.create_store('enum-491522222'),
	   wastore.create_store('enum-491533333');
RESET ROLE;

SET LOCAL ROLE wastore_enum_a;
SELECT wastore.create_store('enum-mine');
SET LOCAL enable_seqscan = off;
SELECT is(pg_temp.explained($$ SELECT store FROM wastore.stores WHERE store >= 'enum-4915' AND store < 'enum-4916' $$),
		  pg_temp.explained($$ SELECT store FROM wastore.stores WHERE store >= 'enum-4917' AND store < 'enum-4918' $$),
		  'EXPLAIN ANALYZE of the stores view does not count another tenant''s stores in an id range');
SELECT is(pg_temp.explained($$ SELECT store FROM wastore.stores WHERE store >= 'enum-49152' AND store < 'enum-49153' $$),
		  pg_temp.explained($$ SELECT store FROM wastore.stores WHERE store >= 'enum-49172' AND store < 'enum-49173' $$),
		  '... nor tells whether one id prefix is taken');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
