-- Creds: the projection (nested and flat layouts), shallow and deep merge,
-- auth_state/creds reads, the "creds" member of set, argument errors.
BEGIN;
SELECT plan(77);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

SELECT has_table('wastore', 'auth_states', 'auth_states exists');
SELECT col_is_pk('wastore', 'auth_states', 'incarnation', 'auth_states is keyed by the store incarnation');
SELECT has_function('wastore', 'merge_creds', ARRAY['text', 'jsonb', 'boolean', 'bigint'], 'merge_creds(text, jsonb, boolean, lease bigint)');
SELECT has_function('wastore', 'auth_state', ARRAY['text'], 'auth_state(text)');
SELECT has_function('wastore', 'creds', ARRAY['text'], 'creds(text)');
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'wastore' AND p.proname IN ('merge_creds', 'auth_state', 'creds')
	  AND obj_description(p.oid, 'pg_proc') IS NOT NULL), 3, 'every creds function has a comment');

--------------------------------------------------------------------------
-- No auth state: NULL, never invented
--------------------------------------------------------------------------
SELECT is(wastore.auth_state('nobody'), NULL, 'auth_state of a missing store is NULL');
SELECT is(wastore.creds('nobody'), NULL, 'creds of a missing store is NULL');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'nobody'), 0, '... and reading does not create it');
SELECT wastore.set('keys-only', '{"session": {"a": 1}}');
SELECT is(wastore.creds('keys-only'), NULL, 'creds of a store that has keys but no auth state is NULL');
SELECT is(wastore.auth_state('keys-only'), NULL, '... and so is its auth state');
SELECT is((SELECT count(*)::int FROM wastore.auth_states WHERE incarnation IN (pg_temp.inc('nobody'), pg_temp.inc('keys-only'))), 0,
	'reads wrote no auth state');

--------------------------------------------------------------------------
-- baileys_ex Connection.Store: a seeded nested auth state projects exactly
-- its inner creds map; a deep merge of "me" keeps "id", adds "lid", and a
-- binary field (BufferJSON) is replaced.
--------------------------------------------------------------------------
SELECT is(wastore.merge_creds('bx', '{"creds": {"me": {"id": "15551234567@s.whatsapp.net"}, "routing_info": {"type": "Buffer", "data": "AQID"}}}'),
	'{"me": {"id": "15551234567@s.whatsapp.net"}, "routing_info": {"type": "Buffer", "data": "AQID"}}'::jsonb,
	'seeding {"creds": {...}} into an empty store returns the inner map');
SELECT is(wastore.auth_state('bx'),
	'{"creds": {"me": {"id": "15551234567@s.whatsapp.net"}, "routing_info": {"type": "Buffer", "data": "AQID"}}}'::jsonb,
	'auth_state is the nested auth state');
SELECT is(wastore.creds('bx'),
	'{"me": {"id": "15551234567@s.whatsapp.net"}, "routing_info": {"type": "Buffer", "data": "AQID"}}'::jsonb,
	'creds is exactly the inner map');
SELECT is(wastore.merge_creds('bx', '{"routing_info": {"type": "Buffer", "data": "BAUG"}, "me": {"lid": "12345678901234@lid"}}', true),
	'{"me": {"id": "15551234567@s.whatsapp.net", "lid": "12345678901234@lid"}, "routing_info": {"type": "Buffer", "data": "BAUG"}}'::jsonb,
	'deep merge: me keeps id and gains lid, the binary field is replaced');
SELECT is(wastore.creds('bx'),
	'{"me": {"id": "15551234567@s.whatsapp.net", "lid": "12345678901234@lid"}, "routing_info": {"type": "Buffer", "data": "BAUG"}}'::jsonb,
	'... and creds reads it back');
SELECT is(wastore.auth_state('bx'),
	'{"creds": {"me": {"id": "15551234567@s.whatsapp.net", "lid": "12345678901234@lid"}, "routing_info": {"type": "Buffer", "data": "BAUG"}}}'::jsonb,
	'... inside the nested creds member of the auth state');
SELECT is(wastore.merge_creds('bx', '{"routing_info": "BwgJ"}', true) -> 'routing_info', '"BwgJ"'::jsonb,
	'deep merge: a binary field given as a base64 string replaces the Buffer object');

-- Baileys (shallow): Object.assign replaces the whole "me"
SELECT wastore.merge_creds('bl', '{"me": {"id": "1@s.whatsapp.net", "name": "A"}, "registered": false}');
SELECT is(wastore.merge_creds('bl', '{"me": {"lid": "2@lid"}, "registered": true}'),
	'{"me": {"lid": "2@lid"}, "registered": true}'::jsonb,
	'shallow merge (the default) replaces top-level members whole');
SELECT is(wastore.merge_creds('bl', '{"me": {"lid": "3@lid"}}', false),
	'{"me": {"lid": "3@lid"}, "registered": true}'::jsonb, 'deep = false is the same');

--------------------------------------------------------------------------
-- The projection: nested and flat layouts
--------------------------------------------------------------------------
SELECT wastore.merge_creds('nest', '{"creds": {"a": 1, "m": {"x": 1}}, "keys": {"pre-key": {"1": "k"}}, "v": 2}');
SELECT is(wastore.merge_creds('nest', '{"b": 2, "m": {"y": 2}}'),
	'{"a": 1, "b": 2, "m": {"y": 2}}'::jsonb, 'nested layout: a shallow merge lands inside creds');
SELECT is(wastore.auth_state('nest'),
	'{"creds": {"a": 1, "b": 2, "m": {"y": 2}}, "keys": {"pre-key": {"1": "k"}}, "v": 2}'::jsonb,
	'... and the other members of the auth state stay untouched');
SELECT is(wastore.merge_creds('nest', '{"m": {"x": 1}, "v": 3}', true),
	'{"a": 1, "b": 2, "m": {"x": 1, "y": 2}, "v": 3}'::jsonb, 'nested layout: a deep merge lands inside creds');
SELECT is(wastore.auth_state('nest') -> 'v', '2'::jsonb, '... a creds field named like an outer member does not touch it');
SELECT is(wastore.merge_creds('nest', '{"creds": {"z": 1}}') -> 'creds', '{"z": 1}'::jsonb,
	'nested layout: a "creds" update lands inside creds too');

SELECT wastore.merge_creds('flat', '{"noiseKey": {"private": "cA==", "public": "cQ=="}, "registrationId": 7}');
SELECT is(wastore.creds('flat'), wastore.auth_state('flat'), 'flat layout: creds is the auth state itself');
SELECT is(wastore.merge_creds('flat', '{"registrationId": 8, "platform": "web"}'),
	'{"noiseKey": {"private": "cA==", "public": "cQ=="}, "registrationId": 8, "platform": "web"}'::jsonb,
	'flat layout: updates land at the top');
SELECT is(wastore.auth_state('flat'), wastore.creds('flat'), '... and auth_state is the same object');

SELECT wastore.merge_creds('odd', '{"creds": "not an object", "x": 1}');
SELECT is(wastore.creds('odd'), '{"creds": "not an object", "x": 1}'::jsonb,
	'a "creds" member that is not an object: the auth state is flat');
SELECT is(wastore.merge_creds('odd', '{"y": 2}'), '{"creds": "not an object", "x": 1, "y": 2}'::jsonb,
	'... and updates land at the top');
SELECT wastore.merge_creds('odd2', '{"creds": null}');
SELECT is(wastore.merge_creds('odd2', '{"a": 1}'), '{"creds": null, "a": 1}'::jsonb, 'a null "creds" member: flat too');
SELECT is(wastore.merge_creds('odd', '{"creds": {"k": 1}}'), '{"k": 1}'::jsonb,
	'an update that makes "creds" an object switches to the nested layout and returns the inner map');
SELECT is(wastore.auth_state('odd'), '{"creds": {"k": 1}, "x": 1, "y": 2}'::jsonb, '... keeping the other members');

SELECT is(wastore.merge_creds('empty', '{}'), '{}'::jsonb, 'a store without auth state starts from {}');
SELECT is(wastore.auth_state('empty'), '{}'::jsonb, '... which merge_creds then stores');
SELECT is(wastore.merge_creds('empty', '{}', true), '{}'::jsonb, 'merging {} changes nothing');
SELECT is((SELECT owner::text FROM wastore.stores WHERE store = 'empty'), current_user::text,
	'merge_creds creates a missing store, owned by current_user');

--------------------------------------------------------------------------
-- Deep merge rules
--------------------------------------------------------------------------
CREATE TEMP TABLE deep_cases (n int, base jsonb, updates jsonb, expected jsonb, what text) ON COMMIT DROP;
INSERT INTO deep_cases VALUES
	(1, '{"a": {"x": 1, "y": 2}}', '{"a": null}', '{"a": null}', 'null replaces an object'),
	(2, '{"a": [1, 2, 3]}', '{"a": [4]}', '{"a": [4]}', 'an array replaces an array (no concatenation)'),
	(3, '{"a": {"x": 1}}', '{"a": [1]}', '{"a": [1]}', 'an array replaces an object'),
	(4, '{"a": [1]}', '{"a": {"x": 1}}', '{"a": {"x": 1}}', 'an object replaces an array'),
	(5, '{"a": "s"}', '{"a": {"x": 1}}', '{"a": {"x": 1}}', 'an object replaces a scalar'),
	(6, '{"a": {"x": 1}}', '{"a": 5}', '{"a": 5}', 'a scalar replaces an object'),
	(7, '{"a": {"b": {"c": {"d": 1, "e": 2}, "f": 3}}}', '{"a": {"b": {"c": {"e": 20, "g": 4}}}}',
		'{"a": {"b": {"c": {"d": 1, "e": 20, "g": 4}, "f": 3}}}', 'objects merge recursively at every depth'),
	(8, '{"a": {"x": 1}}', '{"a": {}}', '{"a": {"x": 1}}', 'an empty object update keeps the members'),
	(9, '{"a": 1}', '{"b": {"c": null}}', '{"a": 1, "b": {"c": null}}', 'a new member is added whole, nulls included'),
	(10, '{"a": {"x": null}}', '{"a": {"x": {"y": 1}}}', '{"a": {"x": {"y": 1}}}', 'an object replaces a null'),
	(11, '{"a": {"l": [{"x": 1}]}}', '{"a": {"l": [{"y": 2}]}}', '{"a": {"l": [{"y": 2}]}}', 'objects inside arrays are not merged'),
	(12, '{"ü": {"😀": 1}}', '{"ü": {"é": 2}}', '{"ü": {"😀": 1, "é": 2}}', 'non-ASCII keys'),
	(13, '{"a": {"x": 1}, "bb": 2, "c": 3}', '{"bb": {"y": 1}, "a": {"z": 2}}', '{"a": {"x": 1, "z": 2}, "bb": {"y": 1}, "c": 3}', 'keys of different lengths');
-- seeding runs in a statement of its own: within one statement the order
-- of two volatile calls is the planner's
SELECT count(wastore.merge_creds('deep-' || n, base)) + count(wastore.merge_creds('shallow-' || n, base)) FROM deep_cases;
SELECT results_eq($$ SELECT n, wastore.merge_creds('deep-' || n, updates, true) FROM deep_cases ORDER BY n $$,
	$$ SELECT n, expected FROM deep_cases ORDER BY n $$,
	'deep merge follows the rules: objects merge, anything else replaces');
SELECT results_eq($$ SELECT n, wastore.merge_creds('shallow-' || n, updates, false) FROM deep_cases ORDER BY n $$,
	$$ SELECT n, base || updates FROM deep_cases ORDER BY n $$,
	'shallow merge of the same cases equals jsonb ||');

-- Random objects: shallow equals ||, deep equals a reference implementation.
CREATE FUNCTION pg_temp.rand_json(depth int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	keys text[] := ARRAY['a', 'bb', 'me', 'ü', ''];
	o jsonb := '{}';
	r float8;
BEGIN
	FOR i IN 1 .. (random() * 6)::int LOOP
		r := random();
		o := o || jsonb_build_object(keys[1 + (random() * 4)::int],
			CASE WHEN depth > 0 AND r < 0.4 THEN pg_temp.rand_json(depth - 1)
				 WHEN r < 0.5 THEN 'null'::jsonb
				 WHEN r < 0.6 THEN jsonb_build_array(random() < 0.5, (random() * 10)::int)
				 WHEN r < 0.7 THEN '[]'::jsonb
				 WHEN r < 0.85 THEN to_jsonb((random() * 100)::int)
				 ELSE to_jsonb(md5(r::text)) END);
	END LOOP;
	RETURN o;
END $$;
CREATE FUNCTION pg_temp.ref_deep_merge(a jsonb, b jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT coalesce(jsonb_object_agg(k,
		CASE WHEN jsonb_typeof(a -> k) = 'object' AND jsonb_typeof(b -> k) = 'object'
			 THEN pg_temp.ref_deep_merge(a -> k, b -> k)
			 WHEN b ? k THEN b -> k
			 ELSE a -> k END), '{}')
		FROM (SELECT jsonb_object_keys(a) UNION SELECT jsonb_object_keys(b)) s(k));
END $$;
SELECT setseed(0.4242);
CREATE TEMP TABLE rand_cases ON COMMIT DROP AS
	SELECT n, pg_temp.rand_json(3) AS base, pg_temp.rand_json(3) AS updates
	  FROM generate_series(1, 300) n;
SELECT count(wastore.merge_creds('rsh-' || n, base)) + count(wastore.merge_creds('rdp-' || n, base))
	 + count(wastore.merge_creds('rn-' || n, jsonb_build_object('creds', base, 'keys', '{"k": 1}'::jsonb)))
  FROM rand_cases;
SELECT cmp_ok((SELECT count(*)::int FROM rand_cases r, LATERAL (SELECT r.base -> k, r.updates -> k FROM jsonb_object_keys(r.base) k
		WHERE jsonb_typeof(r.base -> k) = 'object' AND jsonb_typeof(r.updates -> k) = 'object') both_objects), '>', 30,
	'the random cases have many members that are objects on both sides');
SELECT is((SELECT count(*)::int FROM rand_cases
		WHERE wastore.merge_creds('rs-' || n, updates, false) IS DISTINCT FROM updates), 0,
	'merge_creds into a missing store returns {} || updates (300 random objects)');
SELECT is((SELECT count(*)::int FROM rand_cases WHERE wastore.auth_state('rs-' || n) IS DISTINCT FROM updates), 0,
	'... and stores it');
SELECT is((SELECT count(*)::int FROM rand_cases
		WHERE wastore.merge_creds('rsh-' || n, updates, false) IS DISTINCT FROM base || updates), 0,
	'shallow merge equals jsonb || (300 random pairs)');
SELECT is((SELECT count(*)::int FROM rand_cases WHERE wastore.auth_state('rsh-' || n) IS DISTINCT FROM base || updates), 0,
	'... and stores it');
SELECT is((SELECT count(*)::int FROM rand_cases
		WHERE wastore.merge_creds('rdp-' || n, updates, true) IS DISTINCT FROM pg_temp.ref_deep_merge(base, updates)), 0,
	'deep merge equals a reference implementation (300 random pairs)');
SELECT is((SELECT count(*)::int FROM rand_cases WHERE wastore.auth_state('rdp-' || n) IS DISTINCT FROM pg_temp.ref_deep_merge(base, updates)), 0,
	'... and stores it');
SELECT is((SELECT count(*)::int FROM rand_cases
		WHERE wastore.merge_creds('rn-' || n, updates, true) IS DISTINCT FROM pg_temp.ref_deep_merge(base, updates)), 0,
	'nested layout: deep merge of the inner map (300 random pairs)');
SELECT is((SELECT count(*)::int FROM rand_cases
		WHERE wastore.auth_state('rn-' || n) IS DISTINCT FROM jsonb_build_object('creds', pg_temp.ref_deep_merge(base, updates), 'keys', '{"k": 1}'::jsonb)), 0,
	'... and the rest of the auth state unchanged');

--------------------------------------------------------------------------
-- The "creds" member of wastore.set: merged like merge_creds(store, c, false)
-- in the same commit as the keys
--------------------------------------------------------------------------
SELECT wastore.merge_creds('acct', '{"creds": {"nextPreKeyId": 1, "firstUnuploadedPreKeyId": 1, "me": {"id": "1@s.whatsapp.net"}}}');
SELECT lives_ok($$ SELECT wastore.set('acct', '{"pre-key": {"1": "k1", "2": "k2"}, "creds": {"nextPreKeyId": 3}}') $$,
	'set with pre-keys and a creds counter');
SELECT is((SELECT count(*)::int FROM wastore.list('acct', 'pre-key')), 2, '... writes the pre-keys');
SELECT is(wastore.creds('acct'), '{"nextPreKeyId": 3, "firstUnuploadedPreKeyId": 1, "me": {"id": "1@s.whatsapp.net"}}'::jsonb,
	'... and merges the creds (nested layout)');
SELECT lives_ok($$ SELECT wastore.set('acct', '{"creds": {"me": {"lid": "9@lid"}}}') $$, 'set with only creds');
SELECT is(wastore.creds('acct') -> 'me', '{"lid": "9@lid"}'::jsonb, '... is a shallow merge, like Baileys');
SELECT is(wastore.try_set('acct', '{"creds": {"firstUnuploadedPreKeyId": 3}, "pre-key": {"1": null}}'),
	ROW(true, 1, NULL, NULL)::wastore.commit_result, 'try_set with creds');
SELECT is(wastore.creds('acct') -> 'firstUnuploadedPreKeyId', '3'::jsonb, '... merged the creds');
SELECT lives_ok($$ SELECT wastore.set('fresh', '{"creds": {"registrationId": 5}}') $$, 'set with creds on a missing store');
SELECT is(wastore.auth_state('fresh'), '{"registrationId": 5}'::jsonb, '... starts its auth state from {}');

--------------------------------------------------------------------------
-- Bad input: the documented SQLSTATE, and nothing changed
--------------------------------------------------------------------------
CREATE TEMP TABLE before_auth ON COMMIT DROP AS SELECT * FROM wastore.auth_states;
CREATE TEMP TABLE before_keys ON COMMIT DROP AS SELECT * FROM wastore.keys;
CREATE TEMP TABLE before_stores ON COMMIT DROP AS SELECT * FROM wastore.store_owners;
SELECT throws_ok($$ SELECT wastore.merge_creds('acct', '[1, 2]') $$, '22023', 'updates must be a JSON object', 'updates as an array');
SELECT throws_ok($$ SELECT wastore.merge_creds('acct', '"x"') $$, '22023', 'updates must be a JSON object', 'updates as a string');
SELECT throws_ok($$ SELECT wastore.merge_creds('acct', 'null') $$, '22023', 'updates must be a JSON object', 'updates as JSON null');
SELECT throws_ok($$ SELECT wastore.merge_creds('new-bad', '1') $$, '22023', 'updates must be a JSON object', 'updates as a number, on a missing store');
SELECT throws_ok($$ SELECT wastore.merge_creds('acct', NULL) $$, '22004', 'updates must not be NULL', 'NULL updates');
SELECT throws_ok($$ SELECT wastore.merge_creds('acct', '{}', NULL) $$, '22004', 'deep must not be NULL', 'NULL deep');
SELECT throws_ok($$ SELECT wastore.merge_creds(NULL, '{}') $$, '22004', 'store must not be NULL', 'merge_creds with a NULL store');
SELECT throws_ok($$ SELECT wastore.merge_creds('', '{}') $$, '22023', 'store id must not be empty', 'merge_creds with an empty store id');
SELECT throws_ok($$ SELECT wastore.creds(NULL) $$, '22004', 'store must not be NULL', 'creds with a NULL store');
SELECT throws_ok($$ SELECT wastore.auth_state(NULL) $$, '22004', 'store must not be NULL', 'auth_state with a NULL store');
SELECT throws_ok($$ SELECT wastore.set('acct', '{"pre-key": {"7": "k7"}, "creds": [1]}') $$,
	'22023', 'creds must be a JSON object', 'set with creds as an array');
SELECT throws_ok($$ SELECT wastore.set('acct', '{"pre-key": {"7": "k7"}, "creds": null}') $$,
	'22023', 'creds must be a JSON object', 'set with creds as JSON null');
SELECT is(wastore.try_set('acct', '{"pre-key": {"7": "k7"}, "creds": "x"}'),
	ROW(false, 1, '22023', 'creds must be a JSON object')::wastore.commit_result, 'try_set reports a non-object creds');
-- a creds merge that fails at the database: the keys of the batch go too
CREATE FUNCTION pg_temp.poison_creds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.auth_state -> 'creds' ? 'poison' THEN
		RAISE EXCEPTION 'poisoned creds' USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON wastore.auth_states FOR EACH ROW EXECUTE FUNCTION pg_temp.poison_creds();
CREATE FUNCTION pg_temp.set_detail(data jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
	PERFORM wastore.set('acct', data);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN d;
END $$;
SELECT throws_ok($$ SELECT wastore.set('acct', '{"pre-key": {"8": "k8"}, "creds": {"poison": 1}}') $$,
	'23514', 'poisoned creds', 'set raises the SQLSTATE of a failing creds merge');
SELECT is(pg_temp.set_detail('{"pre-key": {"8": "k8"}, "creds": {"poison": 1}}'), 'Failed at creds after 1 attempt.',
	'... and the detail names the creds');
SELECT throws_ok($$ SELECT wastore.merge_creds('acct', '{"poison": 1}') $$, '23514', 'poisoned creds',
	'merge_creds raises it as it is');
SELECT set_eq($$ SELECT * FROM wastore.auth_states $$, $$ SELECT * FROM before_auth $$, 'no failed call changed an auth state');
SELECT set_eq($$ SELECT * FROM wastore.keys $$, $$ SELECT * FROM before_keys $$, '... nor a key');
SELECT set_eq($$ SELECT * FROM wastore.store_owners $$, $$ SELECT * FROM before_stores $$, '... nor created a store');

SELECT * FROM finish();
ROLLBACK;
