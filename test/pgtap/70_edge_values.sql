-- Edge values: every refused call raises its documented SQLSTATE and
-- changes nothing.  Ids are checked alike on every write path, and an error
-- about one key names its family and id.
BEGIN;
SELECT plan(14);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

-- The outcome of a statement as "SQLSTATE: message | detail" ("ok" when it
-- succeeds).
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	det text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
	RETURN st || ': ' || msg || coalesce(' | ' || nullif(det, ''), '');
END
$$;

-- Everything wastore stores, one digest per table: "nothing changed"
-- compares it before and after.
CREATE FUNCTION pg_temp.everything() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
	d text;
	acc text := '';
BEGIN
	FOR t IN SELECT c.oid::regclass FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid
			  WHERE e.extname = 'wastore' AND c.relkind = 'r' ORDER BY 1 LOOP
		EXECUTE format('SELECT coalesce(md5(string_agg(r::text, E''\n'' ORDER BY r::text)), ''-'') FROM %s r', t) INTO d;
		acc := acc || t::text || ' ' || d || E'\n';
	END LOOP;
	RETURN acc;
END
$$;
CREATE TEMP TABLE before (d text);
CREATE FUNCTION pg_temp.snap() RETURNS void LANGUAGE sql AS $$ DELETE FROM before; INSERT INTO before SELECT pg_temp.everything() $$;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS $$ SELECT pg_temp.everything() = (SELECT d FROM before) $$;

SELECT wastore.set('edge', '{"session": {"s.0": 1}, "app-state-sync-key": {"AAAAAHsB": {"keyData": "a2V5"}}}');

--------------------------------------------------------------------------
-- App-state sync key ids: set checks them as put_app_state_sync_key does
--------------------------------------------------------------------------
SELECT pg_temp.snap();
SELECT is(pg_temp.err($$ SELECT wastore.set('edge', '{"session": {"s.1": 2}, "app-state-sync-key": {"not base64!": {"keyData": "eA=="}}}') $$),
	'22023: key id must be standard padded base64 | The app-state-sync-key id is "not base64!".',
	'set: an app-state-sync-key id that is not base64 raises 22023 naming the family and the id');
SELECT is(pg_temp.err($$ SELECT wastore.set('edge', '{"app-state-sync-key": {"": {"keyData": "eA=="}}}') $$),
	'22023: key id must be standard padded base64 | The app-state-sync-key id is "".',
	'set: the empty app-state-sync-key id too');
SELECT is(pg_temp.err($$ SELECT wastore.set('edge', '{"app-state-sync-key": {"AAAAAHs": {"keyData": "eA=="}}}') $$),
	'22023: key id must be standard padded base64 | The app-state-sync-key id is "AAAAAHs".',
	'set: unpadded base64 too');
SELECT is(pg_temp.err($$ SELECT wastore.set('edge', '{"app-state-sync-key": {"AAAAAHsC": null, "AAAA AHs=": null}}') $$),
	'22023: key id must be standard padded base64 | The app-state-sync-key id is "AAAA AHs=".',
	'set: a deletion by such an id too');
SELECT is((SELECT (ok, sqlstate, message) FROM wastore.try_set('edge', '{"app-state-sync-key": {"not base64!": {}}}')),
	(false, '22023'::text, 'key id must be standard padded base64'::text), 'try_set reports it');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_key('edge', '', '{}') $$),
	'22023: key id must be standard padded base64 | The app-state-sync-key id is "".',
	'put_app_state_sync_key: the same check, the same error');
SELECT is(pg_temp.err($$ SELECT wastore.get_app_state_sync_key('edge', 'not base64!') $$),
	'22023: key id must be standard padded base64 | The app-state-sync-key id is "not base64!".',
	'get_app_state_sync_key: the same');
SELECT is(pg_temp.err(format($$ SELECT wastore.set('edge', '{"app-state-sync-key": {"%s": {}}}') $$, repeat('A', 1028))),
	format('22023: key id is too long | The app-state-sync-key id "%s..." has 1028 bytes; an id has at most 1024.', repeat('A', 40)),
	'set: an overlong app-state-sync-key id names the family and the id');
SELECT is(pg_temp.err(format($$ SELECT wastore.put_app_state_sync_key('edge', '%s', '{}') $$, repeat('A', 1028))),
	format('22023: key_id is too long | The app-state-sync-key id "%s..." has 1028 bytes; an id has at most 1024.', repeat('A', 40)),
	'put_app_state_sync_key: an overlong key id names the family too');
SELECT is(pg_temp.err(format($$ SELECT wastore.set('edge', '{"session": {"%s": 1}}') $$, repeat('é', 600))),
	format('22023: key id is too long | The session id "%s..." has 1200 bytes; an id has at most 1024.', repeat('é', 20)),
	'set: an overlong id of any family names the family and the id');
SELECT ok(pg_temp.unchanged(), 'no refused id changed anything');
SELECT lives_ok($$ SELECT wastore.set('edge', '{"app-state-sync-key": {"AAAAAHsC": {"keyData": "eA=="}, "AAAAAHsB": null}}') $$,
	'set: padded base64 ids are written and deleted');
SELECT is(wastore.get_app_state_sync_key('edge', 'AAAAAHsC'), '{"keyData": "eA=="}'::jsonb, '... and read by get_app_state_sync_key');
SELECT is((SELECT count(*)::int FROM wastore.get('edge', 'app-state-sync-key', ARRAY['AAAAAHsB'])), 0, '... the deleted one is gone');

SELECT * FROM finish();
ROLLBACK;
