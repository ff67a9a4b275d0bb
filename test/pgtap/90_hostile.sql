-- Hostile input: every public function of wastore, called many times with
-- arguments drawn at random from pools of malformed and extreme values
-- (garbage jsonb shapes, huge ids, empty and NULL arrays, NULL elements,
-- deeply nested JSON, wrong-length binaries, bad LTHash text, extreme
-- numbers, TTLs at the end of time, LTHashStates in both spellings and
-- mis-summed, bad app-state sync key ids, regroles that are no role, id
-- arrays larger than lock_records takes).  Each call must succeed or raise
-- one of the SQLSTATEs in the README's error table (read from the README
-- itself, so the two cannot drift apart), never XX000, and the server must
-- never restart.
--
-- The functions come from the catalog, so a new function is covered as soon
-- as it exists; a new argument type without a pool fails the test.
--
-- The README is read by psql: its path is the variable readme (pg_prove
-- --set readme=PATH; scripts/test.sh and make installcheck pass it),
-- README.md in the current directory by default.
\if :{?readme}
\else
\set readme README.md
\endif
\set readme_text `cat :'readme'`
BEGIN;
SELECT plan(6);

CREATE TEMP TABLE started AS SELECT pg_postmaster_start_time() AS t;

-- An LTHashState of one entry, snake_case or camelCase, its hash the sum of
-- its value MAC or not.
CREATE FUNCTION pg_temp.state(snake boolean, summed boolean) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('version', 3,
		'hash', translate(encode((CASE WHEN summed THEN wastore.lthash_add(wastore.lthash_zero(), ARRAY[sha256('v')])
									   ELSE wastore.lthash_zero() END)::bytea, 'base64'), E'\n', ''),
		CASE WHEN snake THEN 'index_value_map' ELSE 'indexValueMap' END,
		jsonb_build_object(encode(sha256('i'), 'base64'),
			jsonb_build_object(CASE WHEN snake THEN 'value_mac' ELSE 'valueMac' END, encode(sha256('v'), 'base64'))))
$$;

CREATE TEMP TABLE pool (type regtype, expr text);
INSERT INTO pool VALUES
	('text', 'NULL'), ('text', $$''$$), ('text', $$'h'$$), ('text', $$'hostile-store'$$),
	('text', $$'session:1.0'$$), ('text', $$'creds'$$), ('text', $$'auth_state'$$), ('text', 'repeat(''x'', 257)'),
	('text', 'repeat(''é'', 600)'), ('text', 'repeat(''x'', 100000)'), ('text', 'chr(1) || chr(127)'),
	('text', $$'AAAAAGNe'$$), ('text', $$'set'$$), ('text', $$'remove'$$), ('text', $$'regular_high'$$),
	('jsonb', 'NULL'), ('jsonb', $$'null'$$), ('jsonb', $$'[]'$$), ('jsonb', $$'1'$$), ('jsonb', $$'"s"'$$),
	('jsonb', $$'{}'$$), ('jsonb', $$'{"session": 1}'$$), ('jsonb', $$'{"session": {"a": null, "b": [1, {"c": "d"}]}}'$$),
	('jsonb', $$'{"pre-key": {"1": {"public": "x"}}, "creds": {"nextPreKeyId": 2}}'$$),
	('jsonb', $$'{"no-such-family": {}}'$$), ('jsonb', $$'{"creds": []}'$$), ('jsonb', $$'{"creds": null}'$$),
	('jsonb', $$'{"app-state-sync-version": {"regular": {"version": 1}}}'$$),
	('jsonb', $$'{"session": {"": "empty id"}}'$$),
	('jsonb', 'jsonb_build_object(''session'', jsonb_build_object(repeat(''i'', 2000), 1))'),
	('jsonb', '(repeat(''['', 3000) || repeat('']'', 3000))::jsonb'),
	('jsonb', '(repeat(''{"a": '', 3000) || ''1'' || repeat(''}'', 3000))::jsonb'),
	('jsonb', '(SELECT jsonb_build_object(''pre-key'', jsonb_object_agg(i, i)) FROM generate_series(1, 2000) i)'),
	('jsonb', $$'{"subscriptions": [1, "a", null], "dedupe": [["wa", 1], 7], "locks": {"k": {"owner": 3}}, "pending_locks": {"k": [1, {}]}}'$$),
	('jsonb', $$'"\u00e9\ud83d\ude00"'$$), ('jsonb', $$'"\u0000"'::text$$),
	('text[]', 'NULL'), ('text[]', $$'{}'$$), ('text[]', $$'{NULL}'$$), ('text[]', $$'{a, NULL, b}'$$),
	('text[]', $$'{{a, b}, {c, d}}'$$), ('text[]', 'ARRAY[repeat(''x'', 2000)]'), ('text[]', $$'{1, 1, 1}'$$),
	('text[]', '(SELECT array_agg(i::text) FROM generate_series(1, 1000) i)'), ('text[]', $$'{set, remove, set}'$$),
	('text[]', $$'{SET, delete}'$$),
	('wastore.family', 'NULL'), ('wastore.family', $$'session'$$), ('wastore.family', $$'pre-key'$$),
	('wastore.family', $$'app-state-sync-version'$$), ('wastore.family', $$'app-state-sync-key'$$),
	('wastore.lock_strategy', 'NULL'), ('wastore.lock_strategy', $$'reject'$$), ('wastore.lock_strategy', $$'queue'$$),
	('wastore.lock_strategy', $$'debounce'$$), ('wastore.lock_strategy', $$'concurrent'$$),
	('bytea', 'NULL'), ('bytea', $$''::bytea$$), ('bytea', $$'\x00'::bytea$$), ('bytea', 'sha256(''a'')'),
	('bytea', 'decode(repeat(''ab'', 127), ''hex'')'), ('bytea', 'decode(repeat(''ab'', 128), ''hex'')'),
	('bytea', 'decode(repeat(''ab'', 129), ''hex'')'), ('bytea', 'decode(repeat(''cd'', 160), ''hex'')'),
	('bytea', 'convert_to(repeat(''x'', 1000000), ''UTF8'')'),
	('bytea[]', 'NULL'), ('bytea[]', $$'{}'$$), ('bytea[]', $$'{NULL}'$$), ('bytea[]', 'ARRAY[sha256(''a''), sha256(''b'')]'),
	('bytea[]', 'ARRAY[''''::bytea]'), ('bytea[]', 'ARRAY[sha256(''a''), NULL]'),
	('bytea[]', '(SELECT array_agg(sha256(int4send(i))) FROM generate_series(1, 1000) i)'),
	('bigint', 'NULL'), ('bigint', '0'), ('bigint', '-1'), ('bigint', '1'), ('bigint', '2'),
	('bigint', '9223372036854775807'), ('bigint', '(-9223372036854775807 - 1)'),
	('integer', 'NULL'), ('integer', '0'), ('integer', '-1'), ('integer', '1'), ('integer', '2147483647'),
	('boolean', 'NULL'), ('boolean', 'true'), ('boolean', 'false'),
	('interval', 'NULL'), ('interval', $$'-1 day'$$), ('interval', $$'0'$$), ('interval', $$'1 ms'$$),
	('interval', $$'1000 years'$$), ('interval', $$'infinity'$$),
	('regrole', 'NULL'), ('regrole', $$'pg_monitor'$$),
	('wastore.lthash', 'NULL'), ('wastore.lthash', 'wastore.lthash_zero()'),
	('wastore.lthash', $$repeat('ff', 128)::wastore.lthash$$), ('wastore.lthash', $$('\x' || repeat('0A', 128))::wastore.lthash$$),
	('wastore.lthash', $$(repeat('A', 170) || '==')::wastore.lthash$$), ('wastore.lthash', $$repeat('f', 255)::wastore.lthash$$),
	('wastore.lthash', $$repeat('g', 256)::wastore.lthash$$), ('wastore.lthash', $$(repeat('A', 171) || '=')::wastore.lthash$$),
	('wastore.lthash', $$decode(repeat('ab', 127), 'hex')::wastore.lthash$$), ('wastore.lthash', $$' '::wastore.lthash$$),
	('cstring', 'NULL'), ('cstring', $$''$$), ('cstring', $$'zz'$$), ('cstring', $$repeat('0', 256)$$),
	-- issue 13: TTLs at the end of time
	('interval', $$'294276-12-31 23:59:59.999+00'::timestamptz - clock_timestamp()$$),
	('interval', $$'294276-12-31 23:59:59.999999+00'::timestamptz - clock_timestamp() + interval '1 microsecond'$$),
	('interval', $$'300000 years'$$),
	-- LTHashStates: baileys_ex's snake_case, summed and mis-summed, mixed
	-- spellings, an unknown member; alone (a state) and in a set batch
	('jsonb', $$(SELECT pg_temp.state(true, true))$$), ('jsonb', $$(SELECT pg_temp.state(true, false))$$),
	('jsonb', $$(SELECT pg_temp.state(false, false))$$), ('jsonb', $$(SELECT pg_temp.state(false, true) || '{"index_value_map": {}}')$$),
	('jsonb', $$(SELECT pg_temp.state(false, true) || '{"extra": 1}')$$),
	('jsonb', $$(SELECT jsonb_build_object('app-state-sync-version', jsonb_build_object('regular', pg_temp.state(true, true))))$$),
	('jsonb', $$(SELECT jsonb_build_object('app-state-sync-version', jsonb_build_object('regular', pg_temp.state(true, false))))$$),
	-- app-state sync key ids that are not padded base64, in set batches
	('jsonb', $$'{"session": {"a": 1}, "app-state-sync-key": {"not base64!": {"keyData": "eA=="}}}'$$),
	('jsonb', $$'{"app-state-sync-key": {"": null}}'$$), ('jsonb', $$'{"app-state-sync-key": {"AAAAAHsB": {}}}'$$),
	('text', $$'not base64!'$$),
	-- JSON that jsonb cannot hold: a lone surrogate (an emoji cut in half)
	('jsonb', $$'"\ud83d"'$$), ('jsonb', $$'{"session": {"a": "\ude00"}}'$$),
	-- regroles that are no role
	('regrole', '0::oid'), ('regrole', $$'-'$$), ('regrole', '4294967295::oid'),
	-- more ids than lock_records takes in one call
	('text[]', '(SELECT array_agg(i::text) FROM generate_series(1, 10000) i)'),
	-- chat state v2: queue entry expiries, past, near, far, infinite, at the ends of the range
	('timestamptz', 'NULL'), ('timestamptz', 'clock_timestamp()'), ('timestamptz', $$clock_timestamp() + interval '1 hour'$$),
	('timestamptz', $$'-infinity'$$), ('timestamptz', $$'infinity'$$), ('timestamptz', $$'4714-11-24 00:00:00+00 BC'$$),
	('timestamptz', $$'294276-12-31 23:59:59.999999+00'$$), ('timestamptz', $$'1970-01-01 00:00:00+00'$$);

-- What the README documents: every SQLSTATE in the first column of its
-- error table (the rows under "### Errors (SQLSTATEs)" up to the next
-- heading).
CREATE TEMP TABLE documented AS
SELECT DISTINCT c[1] AS sqlstate
  FROM regexp_split_to_table(
		   substring(:'readme_text' FROM '### Errors \(SQLSTATEs\)\n(.*?)\n#'), '\n') AS l(line),
	   regexp_matches(split_part(l.line, '|', 2), '\m([0-9A-Z]{5})\M', 'g') AS c
 WHERE l.line LIKE '| %';

-- The public functions: all of them but those that take internal (the
-- aggregate's support functions and the binary input, which SQL cannot
-- call), the trigger function included.
CREATE TEMP TABLE public_functions AS
SELECT p.oid FROM pg_proc p
 WHERE p.pronamespace = 'wastore'::regnamespace AND p.prokind = 'f'
   AND p.prorettype <> 'internal'::regtype AND NOT 'internal'::regtype = ANY (p.proargtypes::oid[]);

CREATE TEMP TABLE outcome (fn text, call text, sqlstate text, message text);

DO $$
DECLARE
	f record;
	args text;
	call text;
	missing text;
	st text;
	msg text;
BEGIN
	PERFORM setseed(0.4242);
	SELECT string_agg(DISTINCT t::regtype::text, ', ') INTO missing
	  FROM pg_proc p, unnest(p.proargtypes::oid[]) t
	 WHERE p.oid IN (SELECT oid FROM public_functions)
	   AND t::regtype NOT IN (SELECT type FROM pool);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'no hostile pool for argument type(s) %', missing;
	END IF;

	FOR f IN
		SELECT p.oid::regprocedure AS sig, p.proname, p.proargtypes::oid[] AS types, p.prorettype::regtype AS rettype
		  FROM pg_proc p
		 WHERE p.oid IN (SELECT oid FROM public_functions)
		 ORDER BY 1
	LOOP
		FOR i IN 1 .. 150 LOOP
			SELECT coalesce(string_agg(format('(%s)::%s', (SELECT expr FROM pool WHERE type = t::regtype ORDER BY random() LIMIT 1), t::regtype), ', ' ORDER BY n), '')
			  INTO args
			  FROM unnest(f.types) WITH ORDINALITY AS a(t, n);
			-- a trigger function cannot be in FROM
			call := format(CASE WHEN f.rettype = 'trigger'::regtype THEN 'SELECT wastore.%I(%s)'
								ELSE 'SELECT * FROM wastore.%I(%s)' END, f.proname, args);
			BEGIN
				EXECUTE call;
				-- roll the call back: every call starts from the same state
				RAISE SQLSTATE 'XH000';
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				INSERT INTO outcome VALUES (f.sig::text, call, nullif(st, 'XH000'), msg);
			END;
		END LOOP;
	END LOOP;
END
$$;

SELECT cmp_ok((SELECT count(*)::int FROM documented), '>=', 15, 'the README''s error table was read (set the psql variable readme)');
SELECT is((SELECT count(DISTINCT fn)::int FROM outcome),
		  (SELECT count(*)::int FROM public_functions),
		  'every public function was called');
SELECT is((SELECT count(*)::int FROM outcome WHERE sqlstate IS NULL) > 0, true, 'some calls succeed');
SELECT is_empty($$ SELECT fn, sqlstate, message, left(call, 300) FROM outcome WHERE sqlstate = 'XX000' $$,
				'no call raised an internal error (XX000)');
SELECT is_empty($$ SELECT fn, sqlstate, message, left(call, 300) FROM outcome
				  WHERE sqlstate IS NOT NULL AND sqlstate NOT IN (SELECT sqlstate FROM documented) $$,
				'every failing call raised a SQLSTATE of the README''s error table');
SELECT is(pg_postmaster_start_time(), (SELECT t FROM started), 'the server never restarted');

SELECT * FROM finish();
ROLLBACK;
