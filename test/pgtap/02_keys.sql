-- The key store: exact round trips, deletes, reads, clear, argument errors.
BEGIN;
SELECT plan(43);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

-- Value shapes clients write (Baileys BufferJSON, protobuf JSON with base64
-- strings, plain strings, string arrays, nested objects, scalars).
CREATE TEMP TABLE shapes (id text, value jsonb) ON COMMIT DROP;
INSERT INTO shapes VALUES
	('buffer',    '{"type": "Buffer", "data": "AQIDBAUGBwgJCgsMDQ4PEA=="}'),
	('keypair',   '{"public": {"type": "Buffer", "data": "BQFiwL4="}, "private": {"type": "Buffer", "data": "cGsK"}}'),
	('protobuf',  '{"rootKey": "q83vASNFZ4k=", "index": 7, "chains": [{"senderRatchetKey": "AAE=", "messageKeys": []}]}'),
	('string',    '"AAECAwQF"'),
	('array',     '["123@s.whatsapp.net", "456@lid"]'),
	('nested',    '{"a": {"b": [1, {"c": null}, true, 2.50]}, "emoji": "ü😀", "empty": {}}'),
	('number',    '42'),
	('boolean',   'false'),
	('token',     '{"token": {"type": "Buffer", "data": "dGs="}, "timestamp": "1700000000"}'),
	('big',       jsonb_build_object('blob', repeat('A', 300000))),
	('8613800.0', '{"type": "Buffer", "data": ""}'),
	('',          '"empty id"');

-- every family but app-state-sync-version (stored normalised as LTHashState)
-- and app-state-sync-key (its ids are base64: below)
CREATE TEMP TABLE fams ON COMMIT DROP AS
	SELECT f FROM unnest(enum_range(NULL::wastore.family)) f
	 WHERE f NOT IN ('app-state-sync-version', 'app-state-sync-key');

SELECT lives_ok($$
	SELECT wastore.set('rt', (SELECT jsonb_object_agg(f, (SELECT jsonb_object_agg(id, value) FROM shapes)) FROM fams))
$$, 'one set writes every shape into every family');
SELECT wastore.set('rt-sk', jsonb_build_object('app-state-sync-key',
	(SELECT jsonb_object_agg(translate(encode(convert_to('k' || id, 'UTF8'), 'base64'), E'\n', ''), value) FROM shapes)));

SELECT set_eq($$
	SELECT g.f::text, g.id, g.value FROM fams, LATERAL (SELECT fams.f, * FROM wastore.get('rt', fams.f, (SELECT array_agg(id) FROM shapes))) g
$$, $$ SELECT f::text, id, value FROM fams, shapes $$,
	'every value of every family reads back exactly as written');
SELECT set_eq($$
	SELECT id, value FROM wastore.get('rt-sk', 'app-state-sync-key',
		(SELECT array_agg(translate(encode(convert_to('k' || id, 'UTF8'), 'base64'), E'\n', '')) FROM shapes))
$$, $$ SELECT translate(encode(convert_to('k' || id, 'UTF8'), 'base64'), E'\n', ''), value FROM shapes $$,
	'... and of the family app-state-sync-key, under base64 ids');

SELECT set_eq($$ SELECT id, value FROM wastore.list('rt', 'session') $$,
	$$ SELECT id, value FROM shapes $$, 'list returns every id and value');
SELECT results_eq($$ SELECT * FROM wastore.list_ids('rt', 'tctoken') $$,
	$$ SELECT id FROM shapes ORDER BY id COLLATE "C" $$, 'list_ids returns every id, in byte order');
SELECT results_eq($$ SELECT id FROM wastore.list('rt', 'pre-key') $$,
	$$ SELECT id FROM shapes ORDER BY id COLLATE "C" $$, 'list is in id order');

-- reads
SELECT results_eq($$ SELECT id, value FROM wastore.get('rt', 'session', ARRAY['string', 'missing', 'nope']) $$,
	$$ VALUES ('string', '"AAECAwQF"'::jsonb) $$, 'missing ids are absent');
SELECT results_eq($$ SELECT id FROM wastore.get('rt', 'session', ARRAY['number', 'number']) $$,
	$$ VALUES ('number') $$, 'an id asked for twice comes once');
SELECT is_empty($$ SELECT * FROM wastore.get('rt', 'session', '{}') $$, 'no ids, no rows');
SELECT is_empty($$ SELECT * FROM wastore.get('rt', 'app-state-sync-version', ARRAY['string']) $$,
	'families are separate');
SELECT results_eq($$ SELECT id FROM wastore.get('rt', 'session', ARRAY[['string', 'array'], ['number', 'x']]) ORDER BY 1 $$,
	$$ VALUES ('array'), ('number'), ('string') $$, 'a two-dimensional ids array is taken element by element');

-- deletes
SELECT lives_ok($$ SELECT wastore.set('rt', '{"session": {"string": null, "array": null}, "pre-key": {"never-there": null}}') $$,
	'null deletes, and a pre-key delete of a missing id is a no-op');
SELECT is_empty($$ SELECT * FROM wastore.get('rt', 'session', ARRAY['string', 'array']) $$, 'deleted ids are gone');
SELECT is((SELECT count(*)::int FROM wastore.list('rt', 'session')), 10, 'the other ids of the family stay');
SELECT is((SELECT count(*)::int FROM wastore.list('rt', 'pre-key')), 12, 'other families stay');

-- overwrite, and writing the same value again
SELECT lives_ok($$ SELECT wastore.set('rt', '{"session": {"number": 43}}') $$, 'overwrite');
SELECT is((SELECT value FROM wastore.get('rt', 'session', ARRAY['number'])), '43'::jsonb, 'the new value is read back');
SELECT lives_ok($$ SELECT wastore.set('rt', '{"session": {"number": 43}}') $$, 'writing an unchanged value');
SELECT is((SELECT value FROM wastore.get('rt', 'session', ARRAY['number'])), '43'::jsonb, '... keeps it');
SELECT lives_ok($$ SELECT wastore.set('rt', '{}') $$, 'an empty batch');
SELECT lives_ok($$ SELECT wastore.set('rt', '{"session": {}}') $$, 'an empty family');

-- clear: every key of one store, nothing of another
SELECT wastore.set('other', '{"session": {"a": 1}, "identity-key": {"b": 2}}');
SELECT lives_ok($$ SELECT wastore.clear('rt') $$, 'clear');
SELECT is((SELECT count(*)::int FROM wastore.keys WHERE incarnation = pg_temp.inc('rt')), 0, 'clear removes every key of the store');
SELECT is((SELECT count(*)::int FROM wastore.keys WHERE incarnation = pg_temp.inc('other')), 2, 'clear leaves other stores untouched');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'rt'), 1, 'clear keeps the store itself');
SELECT lives_ok($$ SELECT wastore.clear('no-such-store') $$, 'clear of a missing store is a no-op');

-- bad input: the documented SQLSTATE, and nothing changed
CREATE TEMP TABLE before ON COMMIT DROP AS SELECT * FROM wastore.keys;
SELECT throws_ok($$ SELECT wastore.set('other', '{"session": {"a": 9}, "bogus": {"x": 1}}') $$,
	'22023', 'unknown key family "bogus"', 'an unknown family');
SELECT throws_ok($$ SELECT wastore.set('other', '[{"session": {}}]') $$,
	'22023', 'data must be a JSON object', 'an array as data');
SELECT throws_ok($$ SELECT wastore.set('other', '"session"') $$,
	'22023', 'data must be a JSON object', 'a string as data');
SELECT throws_ok($$ SELECT wastore.set('other', '{"session": {"a": 9}, "pre-key": [1, 2]}') $$,
	'22023', 'the entries of family "pre-key" must be a JSON object', 'a family whose entries are not an object');
SELECT throws_ok($$ SELECT wastore.set('other', jsonb_build_object('session', jsonb_build_object(repeat('i', 1025), 1))) $$,
	'22023', 'key id is too long', 'an overlong key id');
SELECT throws_ok($$ SELECT wastore.set(NULL, '{}') $$, '22004', 'store must not be NULL', 'set with a NULL store');
SELECT throws_ok($$ SELECT wastore.set('other', NULL) $$, '22004', 'data must not be NULL', 'set with NULL data');
SELECT throws_ok($$ SELECT * FROM wastore.get('other', 'bogus', ARRAY['a']) $$, '22P02', NULL, 'get of an unknown family');
SELECT throws_ok($$ SELECT * FROM wastore.get('other', NULL, ARRAY['a']) $$, '22004', 'family must not be NULL', 'get with a NULL family');
SELECT throws_ok($$ SELECT * FROM wastore.get('other', 'session', NULL) $$, '22004', 'ids must not be NULL', 'get with NULL ids');
SELECT throws_ok($$ SELECT * FROM wastore.get('other', 'session', ARRAY['a', NULL]) $$,
	'22004', 'ids must not contain NULL elements', 'get with a NULL id');
SELECT throws_ok($$ SELECT * FROM wastore.list(NULL, 'session') $$, '22004', NULL, 'list with a NULL store');
SELECT throws_ok($$ SELECT * FROM wastore.list_ids('other', NULL) $$, '22004', NULL, 'list_ids with a NULL family');
SELECT set_eq($$ SELECT * FROM wastore.keys $$, $$ SELECT * FROM before $$, 'no failed call changed anything');

-- The table: key ids of the domain wastore.key_id (at most 1024 bytes), and
-- values compressed with lz4 where the server has it (Debian's has).
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = 'wastore.keys'::regclass AND attname = 'id'),
	'wastore.key_id', 'keys.id is of the domain wastore.key_id');
SELECT throws_ok($$ SELECT repeat('k', 1025)::wastore.key_id $$, '23514', NULL,
	'wastore.key_id refuses an id over 1024 bytes');
SELECT is((SELECT attcompression::text FROM pg_attribute
			WHERE attrelid = 'wastore.keys'::regclass AND attname = 'value'),
	CASE WHEN (SELECT setting FROM pg_config WHERE name = 'CONFIGURE') LIKE '%--with-lz4%'
		 THEN 'l' ELSE '' END,
	'keys.value is compressed with lz4 where the server has it');

SELECT * FROM finish();
ROLLBACK;
