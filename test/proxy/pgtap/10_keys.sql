-- The key store through the proxy: every call is routed to the shard that
-- owns its store.  Remote calls commit on their shard whatever the proxy's
-- transaction does, so each file uses store ids of its own (px-keys-*).
SET client_min_messages = warning;
SELECT plan(22);

CREATE TEMP TABLE shapes (id text, value jsonb);
INSERT INTO shapes VALUES
	('buffer',    '{"type": "Buffer", "data": "AQIDBAUGBwgJCgsMDQ4PEA=="}'),
	('keypair',   '{"public": {"type": "Buffer", "data": "BQFiwL4="}, "private": {"type": "Buffer", "data": "cGsK"}}'),
	('string',    '"AAECAwQF"'),
	('array',     '["123@s.whatsapp.net", "456@lid"]'),
	('nested',    '{"a": {"b": [1, {"c": null}, true, 2.50]}, "emoji": "ü😀", "empty": {}}'),
	('number',    '42'),
	('big',       jsonb_build_object('blob', repeat('A', 300000))),
	('',          '"empty id"');
-- every family that takes any id and any JSON (app-state-sync-key ids are
-- base64 and app-state-sync-version values LTHashStates: 30_appstate.sql)
CREATE TEMP TABLE fams AS
	SELECT f FROM unnest(enum_range(NULL::wastore.family)) f
	 WHERE f NOT IN ('app-state-sync-version', 'app-state-sync-key');
CREATE TEMP TABLE st AS SELECT 'px-keys-' || i AS store FROM generate_series(1, 8) i;

SELECT lives_ok($$
	SELECT wastore.set(store, (SELECT jsonb_object_agg(f, (SELECT jsonb_object_agg(id, value) FROM shapes)) FROM fams)) FROM st
$$, 'set writes every shape into every family of 8 stores');

SELECT set_eq($$
	SELECT st.store, g.f::text, g.id, g.value FROM st, fams,
	       LATERAL (SELECT fams.f, * FROM wastore.get(st.store, fams.f, (SELECT array_agg(id) FROM shapes))) g
$$, $$ SELECT store, f::text, id, value FROM st, fams, shapes $$,
	'every value of every family of every store reads back exactly as written');

SELECT is((SELECT count(DISTINCT wastore.partition_for(store)) FROM st), 4::bigint,
	'the 8 stores spread over the 4 partitions');

SELECT set_eq($$ SELECT id, value FROM wastore.list('px-keys-1', 'session') $$,
	$$ SELECT id, value FROM shapes $$, 'list streams every id and value from the shard');
SELECT results_eq($$ SELECT * FROM wastore.list_ids('px-keys-2', 'tctoken') $$,
	$$ SELECT id FROM shapes ORDER BY convert_to(id, 'UTF8') $$, 'list_ids in byte order');
SELECT is_empty($$ SELECT * FROM wastore.get('px-keys-1', 'session', ARRAY['missing']) $$,
	'a missing id is absent');

SELECT lives_ok($$ SELECT wastore.set('px-keys-1', '{"session": {"buffer": null, "missing": null}}') $$,
	'null deletes, a missing id too');
SELECT is_empty($$ SELECT * FROM wastore.get('px-keys-1', 'session', ARRAY['buffer']) $$,
	'the deleted id is gone');
SELECT isnt_empty($$ SELECT * FROM wastore.get('px-keys-2', 'session', ARRAY['buffer']) $$,
	'... and only in its store');

SELECT is((SELECT row(ok, attempts, sqlstate) FROM wastore.try_set('px-keys-3', '{"session": {"t": 1}}')),
	row(true, 1, NULL::text), 'try_set reports success as a commit_result');
SELECT is((SELECT row(ok, sqlstate) FROM wastore.try_set('px-keys-3', '{"session": {"u": 1}, "bogus": {}}')),
	row(false, '22023'::text), 'try_set reports bad data with its SQLSTATE');
SELECT is_empty($$ SELECT * FROM wastore.get('px-keys-3', 'session', ARRAY['u']) $$,
	'... and wrote nothing of the batch');

SELECT throws_ok($$ SELECT wastore.set('px-keys-3', '{"bogus": {}}') $$, '22023', NULL,
	'set raises the shard''s SQLSTATE through the proxy (unknown family)');
SELECT throws_ok($$ SELECT wastore.set('px-keys-3', '[]') $$, '22023', NULL, 'a non-object batch: 22023');
SELECT throws_ok($$ SELECT wastore.set(NULL, '{}') $$, '22004', NULL, 'a NULL store: 22004, as on one server');
SELECT throws_ok($$ SELECT wastore.set('', '{}') $$, '22023', NULL, 'an empty store id: 22023');
SELECT throws_ok($$ SELECT * FROM wastore.get('px-keys-3', 'nope', ARRAY['x']) $$, '22P02', NULL,
	'an unknown family as text: 22P02 (the proxy''s copy of the enum)');

SELECT lives_ok($$ SELECT wastore.clear('px-keys-4') $$, 'clear');
SELECT is_empty($$ SELECT * FROM wastore.list('px-keys-4', 'pre-key') $$, 'clear removed every key');

SELECT lives_ok($$ SELECT wastore.set('px-keys-5', '{"pre-key": {"1": {"k": 1}}, "creds": {"nextPreKeyId": 2}}') $$,
	'a batch with creds');
SELECT is(wastore.creds('px-keys-5')->'nextPreKeyId', '2'::jsonb, '... merged in the same commit');

SELECT ok(wastore.owns_store('px-keys-6') AND NOT wastore.owns_store('px-keys-none'),
	'owns_store through the proxy');

SELECT * FROM finish();
