-- The wastore.lthash type: text and binary I/O, casts, equality and hashing,
-- the arithmetic against every LTHash vector of lthash-vectors.md, the
-- aggregate, property tests over random MAC sets, and bad input.
BEGIN;
SELECT plan(72);
SET LOCAL search_path = wastore, public;

-- the vectors (lthash-vectors.md)
CREATE TEMP TABLE v (name text PRIMARY KEY, hex text) ON COMMIT DROP;
INSERT INTO v VALUES
	('A add 01', '480731be8120f60bc4ec932b3d4a39963619f5159f1b76eb47c202e2015b5eacfaeb9739457e87ebe9b32113d372c334184c526cb53a7b3a62ec3732838ee43b94d8b11eeb4c6a278ac31f15e3d4b26e23f637f31e278ff399d2141a81dbc5f400aa882afeff5deeedd3ebcdd7e6e0757b7f0fb0595de01935b2819f1ab58173'),
	('A add 01 02', '530d65c5e08d8d0a3accb9e7b460caecbd83baba3240092381e5c30f7184d83ab5005be5ffb6764e69de87199bb35696e25c322762752ee97a3eea10a2f6bee5975b981c2445d73080f6c9a0a3b74d506bada8b1448e1d300e636ecb4cc782deaf512e1c7d489d23904966e24f3f153d22693053f7780deb018d7158d0ab517e'),
	('A sub 01', 'b8f8cf417fdf0af43c136dd4c3b5c769cae60bea61e48a14b93dfe1dffa4a253061469c6bb817914174cdfec2d8d3dcbe8b3ae934bc585c59e13c9cd7d711cc46c274fe115b396d8763ce1ea1d2b4e91dd09c90ce2d8710c672dece57f243b0b005678d50200a311132c15322919208a8580f14fa7a220e6cb4d7f60e64a7f8c'),
	('A sta', '0b0634075f6d97fe76df26bc77169156876ac5a4932493373a23c12d70297a8ebb14c4abba38ef62802a6606c8409361ca10e0baad3ab3ae1852b3de1f68daa90383e7fd39f86d09f632aa8bc0e29be148b771be26678e3c75905ab1cbebbde9afa7a6f17f484035a3757b14785835c7a7e921a39e1b2dd1ccdaf0b8b6f6d00a'),
	('B add a', 'a1e55bb204e701f072e19f5f863098f158eef7272075f13cfa8aec059e52ccaa9e582e1328d956b0ef0e4d793429390152f33b38c5784cce96d5ea3274433f8ef733e23c5c6b28d67ef6211be04ad7f8e6cb1ceba0dffae63122fd5c43c55ad9bc4075796aa0487faa3e135eea790e65cd7c2854455fa1d988b3ef42fd2c856f'),
	('B add a b', '74c4f3abbedcd83267fee58512f10f9f2e685a55904f2bd51da8c5b2767df37bc5854e22db0c143f41ceabf9f606ed6d712628c8d20d67d586154beb3c8e2c9231c57000dbe17781eae4ecc27cddc7d10281c273c64a8e0a8273320446cbc04473fa8a59ff5b40c6219029e542467beaea79aeab27883269723be11944bfda4d'),
	('B sta', 'd3de98f9baf5d742f51c46268cc077add679632d70da3a98231dd9acd82a27d1272d200fb333be8e52bf5e80c2ddb46c1f33ed8f0d951b07f03f61b8c84aed033a918ec37f764fab6ceecba79c92f0d81cb5a688266b9423515135a70306666bb7b915e095bbf8467751168758cc6d851dfd8657e228918fea87f2d6479255de'),
	('B wrong', '5c9685d63228e2f99d3e14f51a1015cd89253466915b9d569712d6e408a2f885084f4fa440788cd185d264be2b03aa4b7aed8d31b894e6e39993556d1c6a6924520847b8a4393a9fc2af208e8709b2b549a3e6b087d8e4cffe021e59c8ea002bcb1a64feb57c8c5ea160aa271d549e991e827994394453d5636120283500b1d5');
CREATE FUNCTION pg_temp.vec(n text) RETURNS lthash LANGUAGE sql AS $$ SELECT hex::wastore.lthash FROM v WHERE name = n $$;
CREATE FUNCTION pg_temp.fill(b int) RETURNS bytea LANGUAGE sql AS $$ SELECT decode(repeat(lpad(to_hex(b), 2, '0'), 32), 'hex') $$;
CREATE FUNCTION pg_temp.mac(s text) RETURNS bytea LANGUAGE sql AS $$ SELECT sha256(convert_to(s, 'UTF8')) $$;

-- the type
SELECT has_type('wastore', 'lthash', 'type wastore.lthash exists');
SELECT is((SELECT typlen FROM pg_type WHERE oid = 'wastore.lthash'::regtype), 128::smallint, 'it is fixed-length, 128 bytes');
SELECT is(lthash_zero()::text, repeat('0', 256), 'lthash_zero is 128 zero bytes, printed as 256 hex digits');

-- set A
SELECT is(lthash_add(lthash_zero(), ARRAY[pg_temp.fill(1)])::text, (SELECT hex FROM v WHERE name = 'A add 01'),
	'A: add(zero, [01x32]) (text output is lower-case hex)');
SELECT is(lthash_add(lthash_zero(), ARRAY[pg_temp.fill(1), pg_temp.fill(2)]), pg_temp.vec('A add 01 02'),
	'A: add(zero, [01x32, 02x32])');
SELECT is(lthash_subtract(lthash_zero(), ARRAY[pg_temp.fill(1)]), pg_temp.vec('A sub 01'),
	'A: subtract(zero, [01x32]) wraps around');
SELECT is(lthash_subtract_then_add(pg_temp.vec('A add 01'), ARRAY[pg_temp.fill(1)], ARRAY[pg_temp.fill(2)]),
	pg_temp.vec('A sta'), 'A: subtract_then_add(add(zero, [01]), sub [01], add [02])');
SELECT is(pg_temp.vec('A sta'), lthash_add(lthash_zero(), ARRAY[pg_temp.fill(2)]),
	'A: ... which is add(zero, [02x32])');

-- set B
SELECT is(pg_temp.mac('value_mac_a'), '\xaba8b9c205e5542477c5eba406bc266dae3544d73add097cbbac08d2b36967c7'::bytea, 'B: mac_a');
SELECT is(pg_temp.mac('value_mac_b'), '\x9b94d218f15f2c92a8177663ab394bd482e022206d7079207bc055402cb8bf16'::bytea, 'B: mac_b');
SELECT is(lthash_add(lthash_zero(), ARRAY[pg_temp.mac('value_mac_a')]), pg_temp.vec('B add a'),
	'B: add(zero, [mac_a]), the corrected value');
SELECT isnt(lthash_add(lthash_zero(), ARRAY[pg_temp.mac('value_mac_a')]), pg_temp.vec('B wrong'),
	'B: not the value of the SHA-256 counter expansion one port pins');
SELECT is(lthash_add(lthash_zero(), ARRAY[pg_temp.mac('value_mac_a'), pg_temp.mac('value_mac_b')]), pg_temp.vec('B add a b'),
	'B: add(zero, [mac_a, mac_b])');
SELECT is(lthash_subtract_then_add(pg_temp.vec('B add a'), ARRAY[pg_temp.mac('value_mac_a')], ARRAY[pg_temp.mac('value_mac_b')]),
	pg_temp.vec('B sta'), 'B: subtract_then_add(add(zero, [mac_a]), sub [mac_a], add [mac_b])');

-- operators
SELECT is(lthash_zero() + pg_temp.fill(1), pg_temp.vec('A add 01'), 'lthash + bytea adds one item');
SELECT is(lthash_zero() + pg_temp.fill(1) + pg_temp.fill(2), pg_temp.vec('A add 01 02'), '... and chains');
SELECT is(lthash_zero() - pg_temp.fill(1), pg_temp.vec('A sub 01'), 'lthash - bytea subtracts one item');
SELECT is(pg_temp.vec('A add 01') - pg_temp.fill(1) + pg_temp.fill(2), pg_temp.vec('A sta'), 'minus then plus');
SELECT is(lthash_add(pg_temp.vec('A add 01'), '{}'), pg_temp.vec('A add 01'), 'adding no items changes nothing');
SELECT is(lthash_add(lthash_zero(), ARRAY[[pg_temp.fill(1)], [pg_temp.fill(2)]]), pg_temp.vec('A add 01 02'),
	'a two-dimensional items array is taken element by element');
SELECT is(lthash_add(lthash_zero(), ARRAY['\x'::bytea, '\x01'::bytea, decode(repeat('ab', 100), 'hex')])
		- '\x'::bytea - '\x01'::bytea - decode(repeat('ab', 100), 'hex'),
	lthash_zero(), 'items of other lengths than 32 bytes expand with the general HKDF and cancel out');

-- text input forms
SELECT is(upper((SELECT hex FROM v WHERE name = 'A add 01'))::lthash, pg_temp.vec('A add 01'), 'upper-case hex input');
SELECT is(('\x' || (SELECT hex FROM v WHERE name = 'A add 01'))::lthash, pg_temp.vec('A add 01'), '\x hex input');
SELECT is(translate(encode(decode((SELECT hex FROM v WHERE name = 'A add 01'), 'hex'), 'base64'), E'\n', '')::lthash, pg_temp.vec('A add 01'),
	'padded base64 input');
SELECT is(length(translate(encode(decode((SELECT hex FROM v WHERE name = 'A add 01'), 'hex'), 'base64'), E'\n', '')), 172,
	'... which is 172 characters');

-- bytea casts and binary I/O
SELECT is(pg_temp.vec('A add 01')::bytea, decode((SELECT hex FROM v WHERE name = 'A add 01'), 'hex'), 'cast to bytea: the raw 128 bytes');
SELECT is(decode((SELECT hex FROM v WHERE name = 'A add 01'), 'hex')::lthash, pg_temp.vec('A add 01'), 'cast from bytea');
SELECT is(lthash_send(pg_temp.vec('A add 01')), pg_temp.vec('A add 01')::bytea, 'send: the raw 128 bytes');

CREATE TEMP TABLE hashes (h lthash) ON COMMIT DROP;
INSERT INTO hashes SELECT lthash_add(lthash_zero(), ARRAY[pg_temp.mac(i::text)]) FROM generate_series(1, 20) i;
CREATE TABLE wastore_test_recv (h wastore.lthash);
DO $$
BEGIN
	EXECUTE format('COPY (SELECT h FROM hashes) TO %L WITH (FORMAT binary)', current_setting('data_directory') || '/lthash_test.bin');
	EXECUTE format('COPY wastore_test_recv FROM %L WITH (FORMAT binary)', current_setting('data_directory') || '/lthash_test.bin');
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', '\x' || repeat('00', 127), current_setting('data_directory') || '/lthash_short.bin');
END $$;
SELECT set_eq('SELECT h::text FROM wastore_test_recv', 'SELECT h::text FROM hashes', 'binary COPY out and in (send/recv) round-trips');
SELECT throws_ok(format('COPY wastore_test_recv FROM %L WITH (FORMAT binary)', current_setting('data_directory') || '/lthash_short.bin'),
	'22P03', 'invalid external wastore.lthash value', 'recv of 127 bytes');

-- equality, hashing
SELECT ok(pg_temp.vec('A add 01') = pg_temp.vec('A add 01') AND NOT (pg_temp.vec('A add 01') <> pg_temp.vec('A add 01')), '= and <>');
SELECT ok(pg_temp.vec('A add 01') <> pg_temp.vec('A add 01 02') AND NOT (pg_temp.vec('A add 01') = pg_temp.vec('A add 01 02')), '<> and =, different values');
SELECT ok(lthash_hash(pg_temp.vec('A add 01')) = lthash_hash(('\x' || (SELECT hex FROM v WHERE name = 'A add 01'))::lthash), 'equal values hash alike');
CREATE FUNCTION pg_temp.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END $$;
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_nestloop = off;
SELECT matches(pg_temp.plan('SELECT * FROM hashes a JOIN hashes b ON a.h = b.h'), 'Hash Join', 'the planner hash-joins on =');
SELECT is((SELECT count(*)::int FROM hashes a JOIN hashes b ON a.h = b.h), 20, '... with the right result');
RESET enable_mergejoin;
RESET enable_nestloop;
INSERT INTO hashes SELECT h FROM hashes;
SET LOCAL enable_sort = off;
SELECT is((SELECT count(*)::int FROM (SELECT h FROM hashes GROUP BY h) g), 20, 'GROUP BY (hash aggregation)');
SELECT is((SELECT count(DISTINCT h)::int FROM hashes), 20, 'count(DISTINCT)');
RESET enable_sort;
SELECT lives_ok('CREATE INDEX ON wastore_test_recv USING hash (h)', 'a hash index');
SELECT lives_ok('CREATE UNIQUE INDEX ON wastore_test_recv (h)', 'a unique btree index (byte order)');
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_nestloop = off;
SELECT matches(pg_temp.plan('SELECT * FROM hashes a JOIN hashes b ON a.h = b.h'), 'Merge Join', 'merge joins on =');
SELECT is((SELECT count(*)::int FROM wastore_test_recv a JOIN wastore_test_recv b ON a.h = b.h), 20, '... with the right result');
RESET enable_hashjoin;
RESET enable_nestloop;
SELECT ok((SELECT bool_and(a.h < b.h AND b.h > a.h AND a.h <= b.h AND NOT a.h >= b.h) FROM
	(SELECT h, row_number() OVER (ORDER BY h::bytea) r FROM wastore_test_recv) a JOIN
	(SELECT h, row_number() OVER (ORDER BY h::bytea) r FROM wastore_test_recv) b ON b.r = a.r + 1), 'the order is the byte order of the 128 bytes');

-- the aggregate
CREATE TEMP TABLE items (grp int, i int, m bytea) ON COMMIT DROP;
INSERT INTO items SELECT g, i, pg_temp.mac(g || '/' || i) FROM generate_series(1, 9) g, generate_series(1, g * 7 - 5) i;
SELECT is(lthash_agg(m), pg_temp.vec('A add 01 02'), 'lthash_agg over the A items') FROM (VALUES (pg_temp.fill(1)), (pg_temp.fill(2))) t(m);
SELECT is((SELECT lthash_agg(m) FROM items WHERE false), lthash_zero(), 'lthash_agg over no rows is zero');
SELECT is((SELECT count(*)::int FROM (
		SELECT grp, lthash_agg(m) AS h, lthash_add(lthash_zero(), array_agg(m)) AS a FROM items GROUP BY grp) t
	WHERE h = a), 9, 'lthash_agg over rows equals lthash_add over the array (9 groups of 2..58 items)');
SELECT is((SELECT lthash_agg(m ORDER BY i DESC) FROM items WHERE grp = 5), (SELECT lthash_agg(m ORDER BY i) FROM items WHERE grp = 5),
	'the order of the rows does not matter');
SELECT is((SELECT lthash_agg(x) FROM (VALUES ('\x01'::bytea), (pg_temp.fill(3)), ('\x'::bytea)) t(x)),
	lthash_add(lthash_zero(), ARRAY['\x01'::bytea, pg_temp.fill(3), '\x'::bytea]), 'lthash_agg with items of other lengths');
-- moving window frames use the inverse transition function
SELECT is((SELECT count(*)::int FROM (
		SELECT i, lthash_agg(m) OVER (ORDER BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS w,
			   lthash_add(lthash_zero(), array_agg(m) OVER (ORDER BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)) AS a
		  FROM items WHERE grp = 9) t
	WHERE w = a), 58, 'lthash_agg over a moving window frame');

-- parallel aggregation: partial states combined (serial/deserial/combine)
CREATE TABLE wastore_test_par AS SELECT pg_temp.mac('p' || i) AS m FROM generate_series(1, 30000) i;
ANALYZE wastore_test_par;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan('SELECT wastore.lthash_agg(m) FROM wastore_test_par'), 'Partial Aggregate', 'lthash_agg runs in parallel');
SELECT is((SELECT lthash_agg(m) FROM wastore_test_par), (SELECT lthash_add(lthash_zero(), array_agg(m)) FROM wastore_test_par),
	'... and equals lthash_add over the array');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- properties over random MAC sets (pseudo-random, reproducible)
SELECT setseed(0.3);
CREATE TEMP TABLE sets ON COMMIT DROP AS
	SELECT s, (SELECT array_agg(pg_temp.mac(s || ':' || j || ':' || random())) FROM generate_series(1, 1 + (random() * 40)::int + s % 2) j) AS items,
		   lthash_add(lthash_zero(), ARRAY[pg_temp.mac('start' || s)]) AS start
	  FROM generate_series(1, 60) s;
SELECT is((SELECT count(*)::int FROM sets WHERE lthash_subtract(lthash_add(start, items), items) = start), 60,
	'property: add then subtract returns the start (60 random sets)');
SELECT is((SELECT count(*)::int FROM sets WHERE lthash_add(lthash_subtract(start, items), items) = start), 60,
	'property: subtract then add returns the start');
SELECT is((SELECT count(*)::int FROM sets
	WHERE lthash_add(start, items) = lthash_add(start, (SELECT array_agg(x ORDER BY random()) FROM unnest(items) x))), 60,
	'property: the order of the items does not matter');
SELECT is((SELECT count(*)::int FROM sets
	WHERE lthash_add(start, items) = lthash_add(lthash_add(start, items[1:cardinality(items) / 2]), items[cardinality(items) / 2 + 1:])), 60,
	'property: adding in two steps equals adding at once');
SELECT is((SELECT count(*)::int FROM sets
	WHERE lthash_add(start, items) = (SELECT lthash_agg(x) FROM unnest(items || ARRAY[pg_temp.mac('start' || s)]) x)), 60,
	'property: lthash_agg over rows equals lthash_add over the array');
SELECT is((SELECT count(*)::int FROM sets a JOIN sets b ON a.s = b.s % 60 + 1
	WHERE lthash_subtract_then_add(lthash_add(a.start, a.items), a.items, b.items) = lthash_add(a.start, b.items)), 60,
	'property: subtract_then_add replaces one set by another');

-- bad input: malformed text 22P02
SELECT throws_ok($$ SELECT 'zz'::wastore.lthash $$, '22P02', 'invalid input syntax for type wastore.lthash: wrong length', 'too short');
SELECT throws_ok($$ SELECT repeat('0', 255)::wastore.lthash $$, '22P02', 'invalid input syntax for type wastore.lthash: wrong length', '255 hex digits');
SELECT throws_ok($$ SELECT (repeat('0', 100) || 'g' || repeat('0', 155))::wastore.lthash $$, '22P02',
	'invalid input syntax for type wastore.lthash: Not a hex digit', 'a character that is not hex');
SELECT throws_ok($$ SELECT (' ' || repeat('0', 256))::wastore.lthash $$, '22P02', NULL, 'a leading space');
SELECT throws_ok($$ SELECT ('\X' || repeat('0', 256))::wastore.lthash $$, '22P02', NULL, '\X is not a hex prefix');
SELECT throws_ok($$ SELECT (repeat('A', 170) || '-=')::wastore.lthash $$, '22P02',
	'invalid input syntax for type wastore.lthash: Not a base64 character', 'base64url is not base64');
SELECT throws_ok($$ SELECT (repeat('A', 170) || '==')::wastore.lthash $$, '22P02',
	'invalid input syntax for type wastore.lthash: Bad base64 padding', 'base64 of 127 bytes');
SELECT throws_ok($$ SELECT (repeat('A', 170) || 'B=')::wastore.lthash $$, '22P02',
	'invalid input syntax for type wastore.lthash: Bad base64 padding', 'non-canonical base64 (pad bits set)');

-- wrong lengths 22023
SELECT throws_ok($$ SELECT '\x00'::bytea::wastore.lthash $$, '22023', 'an lthash is 128 bytes', 'a 1-byte bytea');
SELECT throws_ok($$ SELECT decode(repeat('00', 129), 'hex')::wastore.lthash $$, '22023', 'an lthash is 128 bytes', 'a 129-byte bytea');

-- NULLs 22004
SELECT throws_ok($$ SELECT wastore.lthash_add(wastore.lthash_zero(), ARRAY[NULL::bytea]) $$, '22004',
	'items must not contain NULL elements', 'a NULL item');
SELECT throws_ok($$ SELECT wastore.lthash_add(NULL, ARRAY['\x01'::bytea]) $$, '22004', 'h must not be NULL', 'a NULL hash');
SELECT throws_ok($$ SELECT wastore.lthash_subtract(wastore.lthash_zero(), NULL) $$, '22004', 'items must not be NULL', 'NULL items');
SELECT throws_ok($$ SELECT wastore.lthash_subtract_then_add(wastore.lthash_zero(), ARRAY['\x01'::bytea], ARRAY['\x02'::bytea, NULL]) $$,
	'22004', 'add must not contain NULL elements', 'a NULL in the add list');
SELECT throws_ok($$ SELECT wastore.lthash_zero() OPERATOR(wastore.+) NULL::bytea $$, '22004', 'item must not be NULL', 'lthash + NULL');
SELECT throws_ok($$ SELECT wastore.lthash_agg(m) FROM (VALUES ('\x01'::bytea), (NULL)) t(m) $$, '22004',
	'lthash_agg items must not be NULL', 'lthash_agg over a NULL row');

SELECT * FROM finish();
ROLLBACK;
