-- App-state sync versions stored normalised: apply_app_state_patch and
-- _snapshot (Baileys' mix rules, version, snapshot MAC), the LTHashState JSON
-- projection through get/put_app_state_sync_version and the family
-- app-state-sync-version, app-state sync keys, a property test over random
-- patches, and bad input that changes nothing.
BEGIN;
SELECT plan(115);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;
SET LOCAL search_path = wastore, public;

CREATE FUNCTION pg_temp.mac(s text) RETURNS bytea LANGUAGE sql AS $$ SELECT sha256(convert_to(s, 'UTF8')) $$;
CREATE FUNCTION pg_temp.b64(b bytea) RETURNS text LANGUAGE sql AS $$ SELECT translate(encode(b, 'base64'), E'\n', '') $$;
CREATE FUNCTION pg_temp.buf(b bytea) RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object('type', 'Buffer', 'data', pg_temp.b64(b)) $$;
-- the index of a collection, as rows
CREATE FUNCTION pg_temp.idx(s text, c text) RETURNS TABLE (index_mac bytea, value_mac bytea) LANGUAGE sql AS $$
	SELECT index_mac, value_mac FROM wastore.sync_index WHERE incarnation = pg_temp.inc(s) AND collection = c $$;
-- the stored state of a collection, as Baileys' LTHashState, built from the tables
CREATE FUNCTION pg_temp.expected(s text, c text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('version', v.version, 'hash', pg_temp.buf(v.hash::bytea),
		'indexValueMap', coalesce((SELECT jsonb_object_agg(pg_temp.b64(i.index_mac), jsonb_build_object('valueMac', pg_temp.buf(i.value_mac)))
									FROM wastore.sync_index i WHERE i.incarnation = pg_temp.inc(s) AND i.collection = c), '{}'))
	  FROM wastore.sync_versions v WHERE v.incarnation = pg_temp.inc(s) AND v.collection = c $$;
-- everything wastore stores, as one text: "changes nothing" compares it
CREATE FUNCTION pg_temp.dump() RETURNS text LANGUAGE sql AS $$
	SELECT coalesce((SELECT string_agg(format('%s|%s|%s|%s', incarnation, collection, version, hash), ',' ORDER BY incarnation, collection) FROM wastore.sync_versions), '')
		|| '#' || coalesce((SELECT string_agg(format('%s|%s|%s|%s', incarnation, collection, index_mac, value_mac), ',' ORDER BY incarnation, collection, index_mac) FROM wastore.sync_index), '')
		|| '#' || coalesce((SELECT string_agg(format('%s|%s|%s|%s', incarnation, family, id, value), ',' ORDER BY incarnation, family, id) FROM wastore.keys), '') $$;

SELECT has_table('wastore', 'sync_versions', 'table sync_versions');
SELECT has_table('wastore', 'sync_index', 'table sync_index');
SELECT col_is_pk('wastore', 'sync_index', ARRAY['incarnation', 'collection', 'index_mac'], 'sync_index is keyed by the store incarnation first');

-- a first patch: from version 0 and the zero hash
SELECT results_eq($$ SELECT version, hash::text FROM wastore.apply_app_state_patch('p', 'regular_high', 1,
		ARRAY['set', 'set'], ARRAY[pg_temp.mac('i1'), pg_temp.mac('i2')], ARRAY[pg_temp.mac('v1'), pg_temp.mac('v2')]) $$,
	$$ SELECT 1::bigint, wastore.lthash_add(wastore.lthash_zero(), ARRAY[pg_temp.mac('v1'), pg_temp.mac('v2')])::text $$,
	'a first patch starts from version 0 and the zero hash');
SELECT set_eq($$ SELECT * FROM pg_temp.idx('p', 'regular_high') $$,
	$$ VALUES (pg_temp.mac('i1'), pg_temp.mac('v1')), (pg_temp.mac('i2'), pg_temp.mac('v2')) $$, 'one index row per SET');
SELECT is((SELECT count(*)::int FROM stores WHERE store = 'p'), 1, 'the patch created the store');

-- SET of a stored index: subtract the stored value MAC, add the new
SELECT is((SELECT hash FROM apply_app_state_patch('p', 'regular_high', 2, ARRAY['set'], ARRAY[pg_temp.mac('i1')], ARRAY[pg_temp.mac('v1b')])),
	lthash_add(lthash_zero(), ARRAY[pg_temp.mac('v1b'), pg_temp.mac('v2')]), 'a SET replaces the stored value MAC of its index');
SELECT is((SELECT value_mac FROM pg_temp.idx('p', 'regular_high') WHERE index_mac = pg_temp.mac('i1')), pg_temp.mac('v1b'), '... in the index');

-- two SETs of one index in one patch: the earlier one is subtracted again
SELECT is((SELECT hash FROM apply_app_state_patch('p', 'regular_high', 3, ARRAY['set', 'set'],
		ARRAY[pg_temp.mac('i3'), pg_temp.mac('i3')], ARRAY[pg_temp.mac('v3a'), pg_temp.mac('v3b')])),
	lthash_add(lthash_zero(), ARRAY[pg_temp.mac('v1b'), pg_temp.mac('v2'), pg_temp.mac('v3b')]),
	'two SETs of one index in a patch: the later wins, the earlier is subtracted');
SELECT is((SELECT value_mac FROM pg_temp.idx('p', 'regular_high') WHERE index_mac = pg_temp.mac('i3')), pg_temp.mac('v3b'), '... in the index');

-- REMOVE: subtract and delete; REMOVE of nothing: skipped
SELECT is((SELECT hash FROM apply_app_state_patch('p', 'regular_high', 4, ARRAY['remove', 'remove'],
		ARRAY[pg_temp.mac('i2'), pg_temp.mac('never')], ARRAY[pg_temp.mac('r2'), pg_temp.mac('r-never')])),
	lthash_add(lthash_zero(), ARRAY[pg_temp.mac('v1b'), pg_temp.mac('v3b')]),
	'a REMOVE subtracts the stored value MAC; a REMOVE of an index with no value is skipped');
SELECT set_eq($$ SELECT index_mac FROM pg_temp.idx('p', 'regular_high') $$,
	$$ VALUES (pg_temp.mac('i1')), (pg_temp.mac('i3')) $$, '... the removed index is gone and the skipped one inserted nothing');

-- SET then REMOVE of a new index in one patch; REMOVE then SET of a stored one
SELECT is((SELECT hash FROM apply_app_state_patch('p', 'regular_high', 5, ARRAY['set', 'remove', 'remove', 'set'],
		ARRAY[pg_temp.mac('i4'), pg_temp.mac('i4'), pg_temp.mac('i1'), pg_temp.mac('i1')],
		ARRAY[pg_temp.mac('v4'), pg_temp.mac('r4'), pg_temp.mac('r1'), pg_temp.mac('v1c')])),
	lthash_add(lthash_zero(), ARRAY[pg_temp.mac('v1c'), pg_temp.mac('v3b')]),
	'SET then REMOVE of a new index cancels out; REMOVE then SET of a stored one replaces it');
SELECT set_eq($$ SELECT * FROM pg_temp.idx('p', 'regular_high') $$,
	$$ VALUES (pg_temp.mac('i1'), pg_temp.mac('v1c')), (pg_temp.mac('i3'), pg_temp.mac('v3b')) $$, '... in the index');
SELECT is((SELECT hash FROM sync_versions WHERE incarnation = pg_temp.inc('p') AND collection = 'regular_high'),
	(SELECT lthash_agg(value_mac) FROM pg_temp.idx('p', 'regular_high')), 'the stored hash is the sum of the stored value MACs');

-- an empty patch advances the version only; versions may skip
SELECT results_eq($$ SELECT version, hash::text FROM wastore.apply_app_state_patch('p', 'regular_high', 9, '{}', '{}', '{}') $$,
	$$ SELECT 9::bigint, hash::text FROM wastore.sync_versions WHERE incarnation = pg_temp.inc('p') AND collection = 'regular_high' $$,
	'an empty patch advances the version and keeps the hash');
SELECT is((SELECT hash FROM apply_app_state_patch('p', 'regular_low', 1, ARRAY['SET'], ARRAY[pg_temp.mac('i1')], ARRAY[pg_temp.mac('low')])),
	lthash_add(lthash_zero(), ARRAY[pg_temp.mac('low')]), 'collections are separate (and SET may be upper-case)');

-- the snapshot MAC, when given, is checked against the new hash
CREATE TEMP TABLE k ON COMMIT DROP AS SELECT * FROM expand_app_state_keys(decode(repeat('ab', 32), 'hex'));
SELECT lives_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 10, ARRAY['set'], ARRAY[pg_temp.mac('i5')], ARRAY[pg_temp.mac('v5')],
		wastore.snapshot_mac(wastore.lthash_add(wastore.lthash_zero(), ARRAY[pg_temp.mac('v1c'), pg_temp.mac('v3b'), pg_temp.mac('v5')]), 10, 'regular_high', (SELECT snapshot_mac_key FROM k)),
		(SELECT snapshot_mac_key FROM k)) $$, 'a patch whose snapshot MAC matches');
CREATE TEMP TABLE before ON COMMIT DROP AS SELECT pg_temp.dump() AS d;
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 11, ARRAY['set'], ARRAY[pg_temp.mac('i6')], ARRAY[pg_temp.mac('v6')],
		wastore.snapshot_mac(wastore.lthash_zero(), 11, 'regular_high', (SELECT snapshot_mac_key FROM k)), (SELECT snapshot_mac_key FROM k)) $$,
	'22W01', 'snapshot MAC mismatch for app-state collection "regular_high" at version 11', 'a wrong snapshot MAC raises 22W01');
SELECT is(pg_temp.dump(), (SELECT d FROM before), '... and changes nothing');
CREATE FUNCTION pg_temp.caught(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	hint text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN data_exception THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, hint = PG_EXCEPTION_HINT;
	RETURN state || ': ' || hint;
END $$;
SELECT is(pg_temp.caught($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 11, '{}', '{}', '{}', decode(repeat('00', 32), 'hex'), (SELECT snapshot_mac_key FROM k)) $$),
	'22W01: The stored state is out of step with the server''s: resync the collection from a snapshot.',
	'22W01 is a data_exception (class 22), with a hint to resync');

-- the version must advance
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 10, ARRAY['set'], ARRAY[pg_temp.mac('i7')], ARRAY[pg_temp.mac('v7')]) $$,
	'22023', 'version 10 does not advance app-state collection "regular_high"', 'the same version again');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 3, '{}', '{}', '{}') $$,
	'22023', 'version 3 does not advance app-state collection "regular_high"', 'an older version');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'new_collection', 0, '{}', '{}', '{}') $$,
	'22023', 'version 0 does not advance app-state collection "new_collection"', 'version 0 on a new collection');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', -1, '{}', '{}', '{}') $$,
	'22023', 'version must not be negative', 'a negative version');

-- malformed patches
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set', 'update'], ARRAY[pg_temp.mac('a'), pg_temp.mac('b')], ARRAY[pg_temp.mac('c'), pg_temp.mac('d')]) $$,
	'22023', 'operation must be set or remove', 'an operation other than set or remove');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set', NULL], ARRAY[pg_temp.mac('a'), pg_temp.mac('b')], ARRAY[pg_temp.mac('c'), pg_temp.mac('d')]) $$,
	'22004', 'operations must not contain NULL elements', 'a NULL operation');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set'], ARRAY[pg_temp.mac('a'), pg_temp.mac('b')], ARRAY[pg_temp.mac('c'), pg_temp.mac('d')]) $$,
	'22023', 'operations, index_macs and value_macs must have the same length', 'fewer operations than MACs');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set', 'set'], ARRAY[pg_temp.mac('a'), pg_temp.mac('b')], ARRAY[pg_temp.mac('c')]) $$,
	'22023', 'operations, index_macs and value_macs must have the same length', 'fewer value MACs');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set'], ARRAY['\x0102'::bytea], ARRAY[pg_temp.mac('c')]) $$,
	'22023', 'every element of index_macs must be 32 bytes', 'a short index MAC');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set'], ARRAY[pg_temp.mac('a')], ARRAY[pg_temp.mac('c') || '\x00'::bytea]) $$,
	'22023', 'every element of value_macs must be 32 bytes', 'a long value MAC');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set'], ARRAY[NULL::bytea], ARRAY[pg_temp.mac('c')]) $$,
	'22004', 'index_macs must not contain NULL elements', 'a NULL index MAC');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, ARRAY['set'], ARRAY[pg_temp.mac('a')], NULL) $$,
	'22004', 'value_macs must not be NULL', 'NULL value MACs');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', NULL, '{}', '{}', '{}') $$,
	'22004', 'version must not be NULL', 'a NULL version');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch(NULL, 'regular_high', 20, '{}', '{}', '{}') $$,
	'22004', 'store must not be NULL', 'a NULL store');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', NULL, 20, '{}', '{}', '{}') $$,
	'22004', 'collection must not be NULL', 'a NULL collection');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, '{}', '{}', '{}', decode(repeat('00', 32), 'hex')) $$,
	'22004', 'snapshot_mac_key must not be NULL when snapshot_mac is given', 'a snapshot MAC without its key');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, '{}', '{}', '{}', NULL, decode(repeat('00', 32), 'hex')) $$,
	'22004', 'snapshot_mac must not be NULL when snapshot_mac_key is given', 'a snapshot MAC key without the MAC');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('p', 'regular_high', 20, '{}', '{}', '{}', '\x00', decode(repeat('00', 32), 'hex')) $$,
	'22023', 'snapshot_mac must be 32 bytes', 'a short snapshot MAC');
SELECT is(pg_temp.dump(), (SELECT d FROM before), 'no failed patch changed anything');

-- snapshots replace the collection wholesale
SELECT is((SELECT hash FROM apply_app_state_snapshot('p', 'regular_high', 30,
		ARRAY[pg_temp.mac('s1'), pg_temp.mac('s2'), pg_temp.mac('s1')], ARRAY[pg_temp.mac('w1'), pg_temp.mac('w2'), pg_temp.mac('w1b')])),
	lthash_add(lthash_zero(), ARRAY[pg_temp.mac('w1b'), pg_temp.mac('w2')]), 'a snapshot: the hash of its value MACs (a repeated index: the later wins)');
SELECT set_eq($$ SELECT * FROM pg_temp.idx('p', 'regular_high') $$,
	$$ VALUES (pg_temp.mac('s1'), pg_temp.mac('w1b')), (pg_temp.mac('s2'), pg_temp.mac('w2')) $$, '... the index is exactly the snapshot''s');
SELECT is((SELECT version FROM apply_app_state_snapshot('p', 'regular_high', 29, '{}', '{}')), 29::bigint,
	'a snapshot need not advance the version (it replaces the state)');
SELECT is((SELECT count(*)::int FROM pg_temp.idx('p', 'regular_high')), 0, '... an empty snapshot empties the index');
SELECT is((SELECT hash FROM sync_versions WHERE incarnation = pg_temp.inc('p') AND collection = 'regular_high'), lthash_zero(), '... and zeroes the hash');
SELECT lives_ok($$ SELECT * FROM wastore.apply_app_state_snapshot('p', 'regular_high', 31, ARRAY[pg_temp.mac('s1')], ARRAY[pg_temp.mac('w1')],
		wastore.snapshot_mac(wastore.lthash_add(wastore.lthash_zero(), ARRAY[pg_temp.mac('w1')]), 31, 'regular_high', (SELECT snapshot_mac_key FROM k)),
		(SELECT snapshot_mac_key FROM k)) $$, 'a snapshot whose MAC matches');
DELETE FROM before;
INSERT INTO before SELECT pg_temp.dump();
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_snapshot('p', 'regular_high', 32, ARRAY[pg_temp.mac('s9')], ARRAY[pg_temp.mac('w9')],
		decode(repeat('00', 32), 'hex'), (SELECT snapshot_mac_key FROM k)) $$,
	'22W01', NULL, 'a snapshot with a wrong MAC raises 22W01');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_snapshot('p', 'regular_high', 32, ARRAY[pg_temp.mac('s9')], '{}') $$,
	'22023', 'index_macs and value_macs must have the same length', 'a snapshot with mismatched arrays');
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_snapshot('p', 'regular_high', 32, ARRAY[pg_temp.mac('s9')], ARRAY[NULL::bytea]) $$,
	'22004', 'value_macs must not contain NULL elements', 'a snapshot with a NULL value MAC');
SELECT is(pg_temp.dump(), (SELECT d FROM before), '... neither changed anything');

-- property: a sequence of random patches keeps the hash equal to lthash_agg
-- over the current value MACs, and the index equal to a model of the rules
SELECT setseed(0.7);
CREATE TEMP TABLE prop (p int, hash_ok boolean, stored_ok boolean) ON COMMIT DROP;
CREATE TEMP TABLE model (index_mac bytea PRIMARY KEY, value_mac bytea) ON COMMIT DROP;
DO $$
DECLARE
	ops text[];
	idx bytea[];
	val bytea[];
	h wastore.lthash;
BEGIN
	FOR p IN 1..80 LOOP
		SELECT coalesce(array_agg(CASE WHEN random() < 0.35 THEN 'remove' ELSE 'set' END), '{}'),
			   coalesce(array_agg(pg_temp.mac('idx' || (random() * 12)::int)), '{}'),
			   coalesce(array_agg(pg_temp.mac('val' || random())), '{}')
		  INTO ops, idx, val
		  FROM generate_series(1, (random() * 6)::int);
		SELECT r.hash INTO h FROM wastore.apply_app_state_patch('prop', 'regular', p, ops, idx, val) r;
		FOR i IN 1..coalesce(array_length(ops, 1), 0) LOOP
			IF ops[i] = 'set' THEN
				INSERT INTO model VALUES (idx[i], val[i]) ON CONFLICT (index_mac) DO UPDATE SET value_mac = excluded.value_mac;
			ELSE
				DELETE FROM model WHERE index_mac = idx[i];
			END IF;
		END LOOP;
		INSERT INTO prop VALUES (p,
			h = (SELECT wastore.lthash_agg(value_mac) FROM wastore.sync_index WHERE incarnation = pg_temp.inc('prop') AND collection = 'regular')
				AND h = (SELECT wastore.lthash_agg(value_mac) FROM model),
			h = (SELECT s.hash FROM wastore.sync_versions s WHERE incarnation = pg_temp.inc('prop') AND collection = 'regular'));
	END LOOP;
END $$;
SELECT is((SELECT count(*)::int FROM prop WHERE hash_ok AND stored_ok), 80,
	'property: after each of 80 random patches, the hash equals lthash_agg over the current value MACs');
SELECT set_eq($$ SELECT * FROM pg_temp.idx('prop', 'regular') $$, $$ SELECT * FROM model $$,
	'property: the index equals a model of the SET/REMOVE rules');
SELECT cmp_ok((SELECT count(*)::int FROM model), '>', 3, '... which is not trivially small');

-- the LTHashState JSON projection
SELECT is(get_app_state_sync_version('p', 'regular_high'), pg_temp.expected('p', 'regular_high'),
	'get_app_state_sync_version: {version, hash: Buffer, indexValueMap: {b64: {valueMac: Buffer}}}');
SELECT is(get_app_state_sync_version('p', 'regular_high')->'hash', pg_temp.buf((SELECT hash::bytea FROM sync_versions WHERE incarnation = pg_temp.inc('p') AND collection = 'regular_high')),
	'the hash is Baileys'' BufferJSON of the 128 bytes');
SELECT is(get_app_state_sync_version('prop', 'regular'), pg_temp.expected('prop', 'regular'), '... for the property test''s collection too');
SELECT is(get_app_state_sync_version('p', 'none'), NULL, 'NULL when the collection has no state');
SELECT is(get_app_state_sync_version('nobody', 'regular'), NULL, 'NULL when the store does not exist');

SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', pg_temp.expected('prop', 'regular')) $$, 'put LTHashState JSON');
SELECT is(get_app_state_sync_version('j', 'regular'), get_app_state_sync_version('prop', 'regular'), '... and read it back');
SELECT set_eq($$ SELECT * FROM pg_temp.idx('j', 'regular') $$, $$ SELECT * FROM pg_temp.idx('prop', 'regular') $$, '... stored normalised');
SELECT is((SELECT hash FROM apply_app_state_patch('j', 'regular', 81, ARRAY['set'], ARRAY[pg_temp.mac('x')], ARRAY[pg_temp.mac('y')])),
	(SELECT lthash_agg(value_mac) FROM pg_temp.idx('j', 'regular')), 'patches apply on a state that was put as JSON');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular_low', jsonb_build_object(
		'version', 4,
		'hash', jsonb_build_object('type', 'Buffer', 'data', (SELECT jsonb_agg(get_byte(wastore.lthash_add(wastore.lthash_zero(), ARRAY[pg_temp.mac('m')])::bytea, i)) FROM generate_series(0, 127) i)),
		'indexValueMap', jsonb_build_object(pg_temp.b64(pg_temp.mac('n')), jsonb_build_object('valueMac', pg_temp.b64(pg_temp.mac('m')))))) $$,
	'put accepts Node''s Buffer JSON (data as an array of bytes) and plain base64 strings');
SELECT is(get_app_state_sync_version('j', 'regular_low'), jsonb_build_object('version', 4, 'hash', pg_temp.buf(lthash_add(lthash_zero(), ARRAY[pg_temp.mac('m')])::bytea),
		'indexValueMap', jsonb_build_object(pg_temp.b64(pg_temp.mac('n')), jsonb_build_object('valueMac', pg_temp.buf(pg_temp.mac('m'))))),
	'... read back as BufferJSON');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('j', 'critical_block', jsonb_build_object('version', 0, 'hash', pg_temp.buf(wastore.lthash_zero()::bytea))) $$,
	'put without indexValueMap: an empty index');
SELECT is(get_app_state_sync_version('j', 'critical_block')->'indexValueMap', '{}'::jsonb, '... read back as {}');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('j', 'critical_block', 'null') $$, 'JSON null deletes');
SELECT is(get_app_state_sync_version('j', 'critical_block'), NULL, '... the state is gone');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular_low', NULL) $$, 'SQL NULL deletes');
SELECT is((SELECT count(*)::int FROM pg_temp.idx('j', 'regular_low')), 0, '... with its index rows');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('nobody', 'regular', NULL) $$, 'deleting from a missing store is a no-op');
SELECT is((SELECT count(*)::int FROM stores WHERE store = 'nobody'), 0, '... that does not create the store');

DELETE FROM before;
INSERT INTO before SELECT pg_temp.dump();
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', '[1, 2]') $$,
	'22023', 'an app-state sync version must be a JSON object', 'put of an array');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('hash', pg_temp.buf(wastore.lthash_zero()::bytea))) $$,
	'22023', 'an app-state sync version must have a "version"', 'put without version');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', 1.5, 'hash', pg_temp.buf(wastore.lthash_zero()::bytea))) $$,
	'22023', '"version" must be a non-negative integer', 'a fractional version');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', '3', 'hash', pg_temp.buf(wastore.lthash_zero()::bytea))) $$,
	'22023', '"version" must be a non-negative integer', 'a version that is a string');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', 3)) $$,
	'22023', 'an app-state sync version must have a "hash"', 'put without hash');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', 3, 'hash', pg_temp.buf('\x00'))) $$,
	'22023', '"hash" must be 128 bytes in standard padded base64', 'a 1-byte hash');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', 3, 'hash', jsonb_build_object('type', 'Uint8Array', 'data', ''))) $$,
	'22023', '"hash" must be a Buffer', 'a hash that is not a Buffer');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', 3, 'hash', pg_temp.buf(wastore.lthash_zero()::bytea),
		'indexValueMap', jsonb_build_object('not base64!', jsonb_build_object('valueMac', pg_temp.buf(pg_temp.mac('m')))))) $$,
	'22023', '"indexValueMap" key "not base64!" is not the standard padded base64 of a 32-byte index MAC', 'an index key that is not base64');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', 3, 'hash', pg_temp.buf(wastore.lthash_zero()::bytea),
		'indexValueMap', jsonb_build_object(pg_temp.b64(pg_temp.mac('n')), jsonb_build_object('value', 1)))) $$,
	'22023', NULL, 'an index entry without valueMac');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', 'regular', jsonb_build_object('version', 3, 'hash', pg_temp.buf(wastore.lthash_zero()::bytea),
		'indexValueMap', jsonb_build_object(pg_temp.b64(pg_temp.mac('n')), jsonb_build_object('valueMac', pg_temp.buf('\x01'))))) $$,
	'22023', NULL, 'a short value MAC');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('j', NULL, NULL) $$, '22004', 'collection must not be NULL', 'a NULL collection');
SELECT is(pg_temp.dump(), (SELECT d FROM before), 'no failed put changed anything');

-- the family app-state-sync-version reads and writes the same state
SELECT results_eq($$ SELECT id, value FROM wastore.get('j', 'app-state-sync-version', ARRAY['regular', 'nope', 'regular']) $$,
	$$ VALUES ('regular', wastore.get_app_state_sync_version('j', 'regular')) $$, 'get of the family: the LTHashState JSON, each id once');
SELECT results_eq($$ SELECT * FROM wastore.list_ids('p', 'app-state-sync-version') $$,
	$$ VALUES ('regular_high'), ('regular_low') $$, 'list_ids of the family: the collections, in order');
SELECT results_eq($$ SELECT id, value FROM wastore.list('p', 'app-state-sync-version') $$,
	$$ VALUES ('regular_high', wastore.get_app_state_sync_version('p', 'regular_high')), ('regular_low', wastore.get_app_state_sync_version('p', 'regular_low')) $$,
	'list of the family');
SELECT lives_ok($$ SELECT wastore.set('fam', jsonb_build_object('session', jsonb_build_object('s', 1),
		'app-state-sync-version', jsonb_build_object('regular', wastore.get_app_state_sync_version('p', 'regular_high')))) $$,
	'set writes the family (with another family, in one batch)');
SELECT is(get_app_state_sync_version('fam', 'regular'), get_app_state_sync_version('p', 'regular_high'), '... through the normalised state');
SELECT is((SELECT count(*)::int FROM keys WHERE family = 'app-state-sync-version'), 0, '... never as rows of wastore.keys');
SELECT is((SELECT key_counts->'app-state-sync-version' FROM stores WHERE store = 'p'), '2'::jsonb, 'the stores view counts the family''s collections');
DELETE FROM before;
INSERT INTO before SELECT pg_temp.dump();
SELECT results_eq($$ SELECT ok, sqlstate FROM wastore.try_set('fam', jsonb_build_object('session', jsonb_build_object('s', 2),
		'app-state-sync-version', jsonb_build_object('regular', jsonb_build_object('version', -1, 'hash', pg_temp.buf(wastore.lthash_zero()::bytea))))) $$,
	$$ VALUES (false, '22023') $$, 'try_set with a bad LTHashState reports 22023');
SELECT is(pg_temp.dump(), (SELECT d FROM before), '... and changes nothing, the other family''s key included');
SELECT lives_ok($$ SELECT wastore.set('fam', '{"app-state-sync-version": {"regular": null}}') $$, 'set with null deletes the collection''s state');
SELECT is(get_app_state_sync_version('fam', 'regular'), NULL, '... gone');
SELECT wastore.set('fam', jsonb_build_object('app-state-sync-version', jsonb_build_object('regular', wastore.get_app_state_sync_version('p', 'regular_high'))));
SELECT lives_ok($$ SELECT wastore.clear('fam') $$, 'clear');
SELECT is((SELECT count(*)::int FROM sync_versions WHERE incarnation = pg_temp.inc('fam')) + (SELECT count(*)::int FROM sync_index WHERE incarnation = pg_temp.inc('fam')), 0,
	'clear deletes the app-state sync versions (a key family)');
SELECT pg_temp.inc('p') AS dropped \gset
SELECT lives_ok($$ SELECT wastore.drop_store('p') $$, 'drop_store');
SELECT is((SELECT count(*)::int FROM sync_versions WHERE incarnation = :dropped) + (SELECT count(*)::int FROM sync_index WHERE incarnation = :dropped), 0,
	'drop_store deletes the app-state sync versions');

-- app-state sync keys: the family app-state-sync-key
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_key('sk', 'AAAAAHsB', '{"keyData": {"type": "Buffer", "data": "q83v"}, "timestamp": "1700000000"}') $$,
	'put_app_state_sync_key');
SELECT is(get_app_state_sync_key('sk', 'AAAAAHsB'), '{"keyData": {"type": "Buffer", "data": "q83v"}, "timestamp": "1700000000"}'::jsonb, 'get_app_state_sync_key');
SELECT is((SELECT value FROM wastore.get('sk', 'app-state-sync-key', ARRAY['AAAAAHsB'])), get_app_state_sync_key('sk', 'AAAAAHsB'),
	'the same row as the family app-state-sync-key');
SELECT wastore.set('sk', '{"app-state-sync-key": {"AAAAAHsC": {"keyData": "x"}}}');
SELECT is(get_app_state_sync_key('sk', 'AAAAAHsC'), '{"keyData": "x"}'::jsonb, '... both ways');
SELECT throws_ok($$ SELECT wastore.get_app_state_sync_key('sk', 'AAAAAHsD') $$, 'P0002', 'app state sync key "AAAAAHsD" not found', 'a missing key: P0002 naming the id');
SELECT throws_ok($$ SELECT wastore.get_app_state_sync_key('nobody', 'AAAAAHsD') $$, 'P0002', NULL, '... also in a missing store');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_key('sk', 'AAAAAHsC', 'null') $$, 'JSON null deletes');
SELECT throws_ok($$ SELECT wastore.get_app_state_sync_key('sk', 'AAAAAHsC') $$, 'P0002', NULL, '... the key is gone');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_key('sk', 'AAAAAHsB', NULL) $$, 'SQL NULL deletes');
SELECT is((SELECT count(*)::int FROM keys WHERE incarnation = pg_temp.inc('sk')), 0, '... the key is gone');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_key('sk', 'not base64', '{}') $$, '22023', 'key id must be standard padded base64', 'a key id that is not base64');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_key('sk', NULL, '{}') $$, '22004', 'key_id must not be NULL', 'a NULL key id');

-- another role's store
CREATE ROLE wastore_test_owner NOLOGIN;
CREATE ROLE wastore_test_other NOLOGIN;
GRANT USAGE ON SCHEMA wastore TO wastore_test_owner, wastore_test_other;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA wastore TO wastore_test_owner, wastore_test_other;
SET LOCAL ROLE wastore_test_owner;
SELECT lives_ok($$ SELECT * FROM wastore.apply_app_state_patch('owned', 'regular', 1, ARRAY['set'], ARRAY[sha256('\x01')], ARRAY[sha256('\x02')]) $$,
	'a role applies a patch to its store');
RESET ROLE;
SET LOCAL ROLE wastore_test_other;
SELECT throws_ok($$ SELECT * FROM wastore.apply_app_state_patch('owned', 'regular', 2, '{}', '{}', '{}') $$, '42501', NULL, 'another role cannot patch it');
SELECT throws_ok($$ SELECT wastore.get_app_state_sync_version('owned', 'regular') $$, '42501', NULL, '... nor read its state');
SELECT throws_ok($$ SELECT wastore.put_app_state_sync_version('owned', 'regular', NULL) $$, '42501', NULL, '... nor delete it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
