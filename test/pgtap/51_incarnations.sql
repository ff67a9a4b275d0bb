-- Store incarnations (1.2): a store id maps to its live incarnation only;
-- rows written under an id before its current incarnation never show in it;
-- wastore's lock tags are keyed by the incarnation's secret salt, so
-- pg_locks cannot be read by guessing a store id and label.
BEGIN;
SELECT plan(12);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;
-- the 64-bit hash in a wastore lock tag held by this backend, of one lock space
CREATE FUNCTION pg_temp.my_tags(space int) RETURNS SETOF bigint LANGUAGE sql AS $$
	SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks
	 WHERE locktype = 'advisory' AND objsubid = space AND pid = pg_backend_pid()
	   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) $$;

-- Incarnations are new for every create and never reused.
SELECT wastore.set('acct-a1', '{"session": {"15550001111.0": "c2Vzc2lvbg=="}}');
SELECT pg_temp.inc('acct-a1') AS first \gset
SELECT wastore.drop_store('acct-a1');
SELECT wastore.create_store('acct-a1');
SELECT cmp_ok(pg_temp.inc('acct-a1'), '>', :first::bigint, 'a store created again gets a new incarnation');
SELECT is(octet_length((SELECT lock_salt FROM wastore.store_owners WHERE store = 'acct-a1')), 32, '... with a 32-byte lock salt');
SELECT isnt((SELECT lock_salt FROM wastore.store_owners WHERE store = 'acct-a1'),
	(SELECT lock_salt FROM wastore.store_owners WHERE store = 'no-such') , '... of its own');

-- Rows written under the id before the current incarnation (a writer that
-- committed after the drop, or rows restored from elsewhere) never show.
INSERT INTO wastore.keys (incarnation, family, id, value) VALUES (:first, 'pre-key', '7', '{"private": "PLANTED"}');
INSERT INTO wastore.auth_states (incarnation, auth_state) VALUES (:first, '{"registrationId": 666}');
SELECT is((SELECT count(*)::int FROM wastore.get('acct-a1', 'pre-key', ARRAY['7'])), 0, 'rows of an earlier incarnation do not show through get');
SELECT is((SELECT count(*)::int FROM wastore.list('acct-a1', 'pre-key')), 0, '... nor list');
SELECT is(wastore.creds('acct-a1'), NULL, '... nor creds');
SELECT is((SELECT key_counts->>'pre-key' FROM wastore.stores WHERE store = 'acct-a1'), '0', '... nor the stores view');

-- Lock tags: not the unkeyed hash of 1.1 (hashtextextended of the label,
-- seeded with that of the store id), which anyone could compute.
SELECT wastore.lock('acct-a1', 'session:15550001111.0');
SELECT is((SELECT count(*)::int FROM pg_temp.my_tags(30562)), 1, 'lock holds one label lock');
SELECT is((SELECT count(*)::int FROM pg_temp.my_tags(30562) AS t(tag)
		   WHERE tag = hashtextextended('session:15550001111.0', hashtextextended('acct-a1', x'7761730002'::bigint))), 0,
	'its tag is not computable from the store id and label');
SELECT is(wastore.in_transaction('acct-a1', 'session:15550001111.0'), true, 'in_transaction finds the keyed lock');
-- the same id and label in another incarnation (as in another database,
-- whose salt differs too) lock another tag
SELECT wastore.drop_store('acct-a1');
SELECT wastore.lock('acct-a1', 'session:15550001111.0');
SELECT is((SELECT count(*)::int FROM pg_temp.my_tags(30562)), 2,
	'the same store id and label in another incarnation lock another tag');
SELECT is((SELECT count(DISTINCT t)::int FROM pg_temp.my_tags(30561) AS t), 3, '... and the store lock of each of the three incarnations has a tag of its own');

SELECT * FROM finish();
ROLLBACK;
