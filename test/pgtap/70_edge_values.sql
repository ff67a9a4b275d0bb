-- Edge values: every refused call raises its documented SQLSTATE and
-- changes nothing.  Ids are checked alike on every write path, and an error
-- about one key names its family and id.
BEGIN;
SELECT plan(86);

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

-- The CONTEXT lines of a failing statement.
CREATE FUNCTION pg_temp.context_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	ctx text;
BEGIN
	EXECUTE q;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	RETURN ctx;
END
$$;

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

--------------------------------------------------------------------------
-- LTHashState input is checked whole: Baileys' camelCase or baileys_ex's
-- snake_case, never mixed, no unknown member, and a hash that is the sum
-- of the entries' value MACs
--------------------------------------------------------------------------
CREATE FUNCTION pg_temp.mac(s text) RETURNS bytea LANGUAGE sql AS $$ SELECT sha256(convert_to(s, 'UTF8')) $$;
CREATE FUNCTION pg_temp.b64(b bytea) RETURNS text LANGUAGE sql AS $$ SELECT translate(encode(b, 'base64'), E'\n', '') $$;
CREATE FUNCTION pg_temp.buf(b bytea) RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object('type', 'Buffer', 'data', pg_temp.b64(b)) $$;
-- a state of n entries ('i1' -> 'v1', ...), its hash the given one (NULL:
-- the right one), in Baileys' spelling or baileys_ex's
CREATE FUNCTION pg_temp.state(n int, snake boolean, hash bytea DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('version', 10,
		'hash', pg_temp.buf(coalesce(hash, (SELECT wastore.lthash_agg(pg_temp.mac('v' || i)) FROM generate_series(1, n) i)::bytea)),
		CASE WHEN snake THEN 'index_value_map' ELSE 'indexValueMap' END,
		coalesce((SELECT jsonb_object_agg(pg_temp.b64(pg_temp.mac('i' || i)),
										  jsonb_build_object(CASE WHEN snake THEN 'value_mac' ELSE 'valueMac' END, pg_temp.buf(pg_temp.mac('v' || i))))
					FROM generate_series(1, n) i), '{}'))
$$;

SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', pg_temp.state(3, true)) $$,
	'put: baileys_ex''s snake_case LTHashState is accepted');
SELECT is(wastore.get_app_state_sync_version('edge', 'regular'), pg_temp.state(3, false),
	'... with its entries, read back in Baileys'' camelCase');
SELECT lives_ok($$ SELECT wastore.set('edge', jsonb_build_object('app-state-sync-version', jsonb_build_object('regular_low', pg_temp.state(2, true)))) $$,
	'set: the family app-state-sync-version takes the snake_case spelling too');
SELECT is(wastore.get_app_state_sync_version('edge', 'regular_low'), pg_temp.state(2, false), '... with its entries');
SELECT is((SELECT hash::bytea FROM wastore.apply_app_state_patch('edge', 'regular', 11, ARRAY['remove'], ARRAY[pg_temp.mac('i1')], ARRAY[pg_temp.mac('v1')],
		wastore.snapshot_mac((SELECT wastore.lthash_agg(pg_temp.mac('v' || i)) FROM generate_series(2, 3) i), 11, 'regular', pg_temp.mac('key')),
		pg_temp.mac('key'))),
	(SELECT wastore.lthash_agg(pg_temp.mac('v' || i)) FROM generate_series(2, 3) i)::bytea,
	'a patch checked against its snapshot MAC applies on a state put in snake_case');
SELECT lives_ok($$ SELECT wastore.put_app_state_sync_version('edge', 'critical_block', pg_temp.state(0, true, wastore.lthash_zero()::bytea)) $$,
	'an empty map sums to the zero hash');

SELECT pg_temp.snap();
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', pg_temp.state(3, true, wastore.lthash_zero()::bytea)) $$),
	'22023: the "hash" of an app-state sync version must be the LTHash of its value MACs | The 3 value MACs of its "index_value_map" sum to another hash.',
	'put: a snake_case state whose hash is not the sum of its entries (the issue''s case) raises 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', pg_temp.state(3, false, pg_temp.mac('x') || pg_temp.mac('x') || pg_temp.mac('x') || pg_temp.mac('x'))) $$),
	'22023: the "hash" of an app-state sync version must be the LTHash of its value MACs | The 3 value MACs of its "indexValueMap" sum to another hash.',
	'put: a camelCase state whose hash is not the sum of its entries raises 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', pg_temp.state(0, false, pg_temp.mac('x') || pg_temp.mac('x') || pg_temp.mac('x') || pg_temp.mac('x'))) $$),
	'22023: the "hash" of an app-state sync version must be the LTHash of its value MACs | It has no entries, which sum to the zero hash, but its hash is not zero.',
	'put: an empty map with a hash that is not zero raises 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', jsonb_build_object('version', 1, 'hash', pg_temp.buf(pg_temp.mac('v1') || pg_temp.mac('v1') || pg_temp.mac('v1') || pg_temp.mac('v1')))) $$),
	'22023: the "hash" of an app-state sync version must be the LTHash of its value MACs | It has no entries, which sum to the zero hash, but its hash is not zero.',
	'put: no map at all with a hash that is not zero raises 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', pg_temp.state(1, false) || '{"extra": 1}') $$),
	'22023: unknown member "extra" in an app-state sync version | Its members are "version", "hash" and "indexValueMap" (or "index_value_map").',
	'put: an unknown member raises 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', pg_temp.state(1, false) || jsonb_build_object('index_value_map', '{}'::jsonb)) $$),
	'22023: an app-state sync version must not mix Baileys'' and baileys_ex''s spellings | It has both "indexValueMap" and "index_value_map".',
	'put: both spellings of the map raise 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', jsonb_set(pg_temp.state(1, false),
		ARRAY['indexValueMap', pg_temp.b64(pg_temp.mac('i1'))], jsonb_build_object('value_mac', pg_temp.buf(pg_temp.mac('v1'))))) $$),
	format('22023: an app-state sync version must not mix Baileys'' and baileys_ex''s spellings | The entry of "indexValueMap" key "%s" has "value_mac", where "indexValueMap" entries have "valueMac".', pg_temp.b64(pg_temp.mac('i1'))),
	'put: a snake_case entry in a camelCase map raises 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', jsonb_set(pg_temp.state(1, true),
		ARRAY['index_value_map', pg_temp.b64(pg_temp.mac('i1')), 'seen'], 'true')) $$),
	format('22023: unknown member "seen" in the entry of "index_value_map" key "%s" | An entry has exactly one member, "value_mac".', pg_temp.b64(pg_temp.mac('i1'))),
	'put: an unknown member of an entry raises 22023');
SELECT is(pg_temp.err($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', jsonb_set(pg_temp.state(1, false), '{hash,encoding}', '"base64"')) $$),
	'22023: "hash" must be a Buffer | It has a member "encoding" besides "type" and "data".',
	'put: an unknown member of a Buffer raises 22023');
SELECT ok(pg_temp.context_of($$ SELECT wastore.put_app_state_sync_version('edge', 'regular', pg_temp.state(1, false) || '{"extra": 1}') $$)
		  LIKE 'app-state-sync-version "regular"%', '... and the error''s context names the family and the collection');
SELECT is(pg_temp.err($$ SELECT wastore.set('edge', jsonb_build_object('session', jsonb_build_object('s.9', 9),
		'app-state-sync-version', jsonb_build_object('regular', pg_temp.state(3, true, wastore.lthash_zero()::bytea)))) $$),
	'22023: the "hash" of an app-state sync version must be the LTHash of its value MACs | Failed at family app-state-sync-version, id "regular" after 1 attempt. The 3 value MACs of its "index_value_map" sum to another hash.',
	'set: a mis-summed LTHashState raises 22023 naming the family and the id');
SELECT is((SELECT (ok, sqlstate) FROM wastore.try_set('edge', jsonb_build_object('app-state-sync-version',
		jsonb_build_object('regular', pg_temp.state(2, false) || '{"extra": 1}')))),
	(false, '22023'::text), 'try_set reports an unknown member as 22023');
SELECT ok(pg_temp.unchanged(), 'no refused LTHashState changed anything, the batch''s other keys included');

--------------------------------------------------------------------------
-- The tables hold every row to what the functions rely on: a row written
-- at psql that breaks it is refused (23514) and changes nothing
--------------------------------------------------------------------------
SELECT wastore.chat_mark_dedupe('edge', 'wa', 'm' || i, 3) FROM generate_series(1, 3) i;
SELECT wastore.chat_acquire_lock('edge', 'lock', 'owner-1', 'reject', '{}', '1 hour');
SELECT wastore.chat_acquire_lock('edge', 'lock', 'owner-2', 'queue');
SELECT pg_temp.snap();
SELECT pg_temp.inc('edge') AS edge \gset
SELECT throws_ok(format($$ INSERT INTO wastore.sync_index (incarnation, collection, index_mac, value_mac) VALUES (%s, 'regular', sha256('i'), '\x0102') $$, :edge),
	'23514', NULL, 'sync_index: a value MAC that is not 32 bytes');
SELECT throws_ok(format($$ INSERT INTO wastore.sync_index (incarnation, collection, index_mac, value_mac) VALUES (%s, 'regular', '\x01', sha256('v')) $$, :edge),
	'23514', NULL, 'sync_index: an index MAC that is not 32 bytes');
SELECT throws_ok(format($$ INSERT INTO wastore.sync_index (incarnation, collection, index_mac, value_mac) VALUES (%s, repeat('c', 1025), sha256('i'), sha256('v')) $$, :edge),
	'23514', NULL, 'sync_index: a collection over 1024 bytes');
SELECT throws_ok(format($$ INSERT INTO wastore.sync_versions (incarnation, collection, version, hash) VALUES (%s, repeat('c', 1025), 1, wastore.lthash_zero()) $$, :edge),
	'23514', NULL, 'sync_versions: a collection over 1024 bytes');
SELECT throws_ok($$ UPDATE wastore.chat_locks SET expires_at = 'infinity' $$, '23514', NULL, 'chat_locks: expires_at infinity');
SELECT throws_ok($$ UPDATE wastore.chat_locks SET expires_at = '-infinity' $$, '23514', NULL, 'chat_locks: expires_at -infinity');
SELECT throws_ok($$ UPDATE wastore.chat_locks SET owner = repeat('o', 1025) $$, '23514', NULL, 'chat_locks: an owner over 1024 bytes');
SELECT throws_ok($$ UPDATE wastore.chat_dedupe SET seq = 9223372036854775807 WHERE message_id = 'm3' $$,
	'23514', NULL, 'chat_dedupe: a seq of 2^63 - 1, which the next mark could not count on from');
SELECT throws_ok($$ UPDATE wastore.chat_dedupe SET seq = 0 WHERE message_id = 'm1' $$, '23514', NULL, 'chat_dedupe: a seq below 1');
SELECT throws_ok($$ UPDATE wastore.chat_dedupe SET message_id = repeat('m', 1025) WHERE message_id = 'm1' $$,
	'23514', NULL, 'chat_dedupe: a message id over 1024 bytes');
SELECT throws_ok($$ UPDATE wastore.chat_pending SET seq = 0 $$, '23514', NULL, 'chat_pending: a seq below 1');
SELECT throws_ok($$ UPDATE wastore.chat_pending SET lock_key = repeat('k', 1025) $$, '23514', NULL, 'chat_pending: a lock key over 1024 bytes');
SELECT throws_ok($$ UPDATE wastore.keys SET id = repeat('k', 1025) WHERE id = 's.0' $$, '23514', NULL, 'keys: an id over 1024 bytes');
SELECT throws_ok(format($$ INSERT INTO wastore.conn_values (incarnation, key, value) VALUES (%s, repeat('k', 1025), '1') $$, :edge),
	'23514', NULL, 'conn_values: a key over 1024 bytes');
SELECT throws_ok(format($$ INSERT INTO wastore.chat_subscriptions (incarnation, thread_id) VALUES (%s, repeat('t', 1025)) $$, :edge),
	'23514', NULL, 'chat_subscriptions: a thread id over 1024 bytes');
SELECT throws_ok(format($$ INSERT INTO wastore.chat_thread_state (incarnation, thread_id, state) VALUES (%s, repeat('t', 1025), '{}') $$, :edge),
	'23514', NULL, 'chat_thread_state: a thread id over 1024 bytes');
SELECT throws_ok(format($$ INSERT INTO wastore.chat_channel_state (incarnation, channel_id, state) VALUES (%s, repeat('c', 1025), '{}') $$, :edge),
	'23514', NULL, 'chat_channel_state: a channel id over 1024 bytes');
SELECT throws_ok($$ INSERT INTO wastore.store_owners (store, owner) VALUES ('', 'postgres') $$, '23514', NULL, 'store_owners: an empty store id');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE connamespace = 'wastore'::regnamespace AND contype = 'c' AND NOT convalidated), 0,
	'every CHECK constraint of the tables holds for every row (none NOT VALID)');
SELECT ok(pg_temp.unchanged(), 'no refused row changed anything');

--------------------------------------------------------------------------
-- Computed values stay in range
--------------------------------------------------------------------------
-- The largest TTL: its end, rounded up to whole milliseconds, would leave
-- the range of timestamps; it is clamped to the last millisecond instead.
SELECT is(wastore.chat_acquire_lock('edge', 'forever', 'owner-1', 'reject', '{}',
		'294276-12-31 23:59:59.999+00'::timestamptz - clock_timestamp()), 'acquired',
	'chat_acquire_lock with a TTL that ends in the last millisecond PostgreSQL can store');
SELECT is((SELECT expires_at FROM wastore.chat_locks WHERE incarnation = :edge AND lock_key = 'forever'),
	'294276-12-31 23:59:59.999+00'::timestamptz, '... expires at that millisecond, not past the largest timestamp');
SELECT is((SELECT expires_at::text::timestamptz FROM wastore.chat_locks WHERE incarnation = :edge AND lock_key = 'forever'),
	'294276-12-31 23:59:59.999+00'::timestamptz, '... which reads back from its text (what pg_dump writes)');
SELECT is(wastore.chat_acquire_lock('edge', 'forever', 'owner-2'), 'busy', '... and is held');
SELECT is(wastore.chat_snapshot('edge') #> '{locks,forever,expires_at}', '9224318015999999'::jsonb,
	'chat_snapshot gives its expiry in milliseconds');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('edge-copy', wastore.chat_snapshot('edge')) $$,
	'chat_load_snapshot of that snapshot');
SELECT is((SELECT expires_at FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('edge-copy') AND lock_key = 'forever'),
	'294276-12-31 23:59:59.999+00'::timestamptz, '... keeps the lock and its expiry');
SELECT pg_temp.snap();
SELECT is(pg_temp.err($$ SELECT wastore.chat_acquire_lock('edge', 'later', 'owner-1', 'reject', '{}', '300000 years') $$),
	'22008: timestamp out of range', 'a TTL that ends past the largest timestamp raises 22008');
SELECT is(pg_temp.err($$ SELECT wastore.chat_acquire_lock('edge', 'later', 'owner-1', 'queue', '{}', '294276-12-31 23:59:59.999999+00'::timestamptz - clock_timestamp() + interval '1 microsecond') $$),
	'22008: timestamp out of range', '... one that ends just past it too');
SELECT ok(pg_temp.unchanged(), '... and changes nothing');
-- The earliest expiry a row can hold goes through a snapshot too.
UPDATE wastore.chat_locks SET expires_at = '4714-11-24 00:00:00+00 BC' WHERE incarnation = :edge AND lock_key = 'lock';
SELECT is(wastore.chat_snapshot('edge') #> '{locks,lock,expires_at}', '-210866803200000'::jsonb,
	'the earliest expiry a lock can hold, in milliseconds');
SELECT lives_ok($$ SELECT wastore.chat_load_snapshot('edge-copy', wastore.chat_snapshot('edge')) $$, '... loaded');
SELECT is((SELECT expires_at FROM wastore.chat_locks WHERE incarnation = pg_temp.inc('edge-copy') AND lock_key = 'lock'),
	'4714-11-24 00:00:00+00 BC'::timestamptz, '... it round-trips');
SELECT is(wastore.chat_acquire_lock('edge-copy', 'lock', 'owner-3'), 'acquired', '... and counts as expired');

-- A dedupe window whose newest seq is the largest the table holds (an
-- administrator's row): the next mark numbers the window afresh instead of
-- overflowing.
UPDATE wastore.chat_dedupe SET seq = 9223372036854775806 - 3 + seq WHERE incarnation = :edge;
SELECT is(wastore.chat_mark_dedupe('edge', 'wa', 'm4', 3), true, 'chat_mark_dedupe after a seq of 2^63 - 2: a new key');
SELECT results_eq(format($$ SELECT message_id COLLATE "default", seq FROM wastore.chat_dedupe WHERE incarnation = %s ORDER BY seq $$, :edge),
	$$ VALUES ('m2', 2::bigint), ('m3', 3), ('m4', 4) $$, '... numbered afresh in order, the oldest evicted, the limit kept');
SELECT is(wastore.chat_mark_dedupe('edge', 'wa', 'm3', 3), false, '... the window still knows its keys');
SELECT is(wastore.chat_snapshot('edge') -> 'dedupe_order', '[["wa", "m2"], ["wa", "m3"], ["wa", "m4"]]'::jsonb, '... in their order');

--------------------------------------------------------------------------
-- Every public object works or raises a documented SQLSTATE
--------------------------------------------------------------------------
CREATE ROLE wastore_edge_tenant NOLOGIN;
SELECT wastore.grant_access('wastore_edge_tenant');
CREATE TEMP TABLE grants_before AS
	SELECT p.oid::regprocedure::text AS fn, p.proacl::text AS acl FROM pg_proc p WHERE p.pronamespace = 'wastore'::regnamespace
	UNION ALL SELECT n.nspname, n.nspacl::text FROM pg_namespace n WHERE n.nspname = 'wastore';
SELECT is(pg_temp.err($$ SELECT wastore.grant_access(0::oid::regrole) $$),
	'42704: role with OID 0 does not exist', 'grant_access of OID 0 (no role) raises 42704');
SELECT is(pg_temp.err($$ SELECT wastore.grant_access('-') $$),
	'42704: role with OID 0 does not exist', '... so does ''-'', which regrole reads as OID 0');
SELECT is(pg_temp.err($$ SELECT wastore.grant_access(4294967295::oid::regrole) $$),
	'42704: role with OID 4294967295 does not exist', '... and an OID that names no role');
SELECT is(pg_temp.err($$ SELECT wastore.revoke_access(0::oid::regrole) $$),
	'42704: role with OID 0 does not exist', 'revoke_access of OID 0 raises 42704');
SELECT is(pg_temp.err($$ SELECT wastore.grant_access('wastore_no_such_role') $$),
	'42704: role "wastore_no_such_role" does not exist', 'a role name that names no role: 42704 (regrole''s own input error)');
SELECT set_eq($$ SELECT p.oid::regprocedure::text, p.proacl::text FROM pg_proc p WHERE p.pronamespace = 'wastore'::regnamespace
				 UNION ALL SELECT n.nspname, n.nspacl::text FROM pg_namespace n WHERE n.nspname = 'wastore' $$,
	$$ SELECT * FROM grants_before $$, '... and no privilege changed');

SELECT is(pg_temp.err($$ SELECT wastore.store_owners_purge() $$),
	'39P01: wastore.store_owners_purge() must be called as a BEFORE DELETE OR UPDATE row trigger',
	'the trigger function called directly by an administrator raises 39P01');
SET LOCAL ROLE wastore_edge_tenant;
SELECT is(pg_temp.err($$ SELECT wastore.store_owners_purge() $$),
	'42501: permission denied for function store_owners_purge', '... and is not for tenants (42501)');
RESET ROLE;

-- lock_records: at most half of the server's lock table per call, refused
-- before any record is locked
CREATE TEMP TABLE lock_limit AS
	SELECT current_setting('max_locks_per_transaction')::int
		   * (current_setting('max_connections')::int + current_setting('autovacuum_max_workers')::int + 1
			  + current_setting('max_worker_processes')::int + current_setting('max_wal_senders')::int
			  + current_setting('max_prepared_transactions')::int) / 2 AS n;
CREATE FUNCTION pg_temp.record_locks() RETURNS int LANGUAGE sql AS $$
	SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 30563 AND pid = pg_backend_pid() $$;
SELECT is(pg_temp.err($$ SELECT wastore.lock_records('edge', 'session', (SELECT array_agg(i::text) FROM generate_series(1, 200000) i)) $$),
	format('54000: lock_records cannot lock 200000 records in one call | One call locks at most %s records: half of the server''s lock table, which holds max_locks_per_transaction (%s) locks for each of its %s backends and prepared transactions.',
		   (SELECT n FROM lock_limit), current_setting('max_locks_per_transaction'),
		   (SELECT n FROM lock_limit) * 2 / current_setting('max_locks_per_transaction')::int),
	'lock_records of 200,000 ids raises 54000 with the limit in the detail');
SELECT is(pg_temp.err(format($$ SELECT wastore.lock_records('edge', 'session', (SELECT array_agg(i::text) FROM generate_series(1, %s) i)) $$, (SELECT n + 1 FROM lock_limit))),
	format('54000: lock_records cannot lock %s records in one call', (SELECT n + 1 FROM lock_limit)) || ' | ' ||
	format('One call locks at most %s records: half of the server''s lock table, which holds max_locks_per_transaction (%s) locks for each of its %s backends and prepared transactions.',
		   (SELECT n FROM lock_limit), current_setting('max_locks_per_transaction'),
		   (SELECT n FROM lock_limit) * 2 / current_setting('max_locks_per_transaction')::int),
	'... one id over the limit too');
SELECT is(pg_temp.record_locks(), 0, '... and no record was locked');
SELECT lives_ok(format($$ SELECT wastore.lock_records('edge', 'session', (SELECT array_agg((i %% 10)::text) FROM generate_series(1, %s) i)) $$, (SELECT n + 1 FROM lock_limit)),
	'duplicates count once: as many ids, 10 records');
SELECT is(pg_temp.record_locks(), 10, '... 10 record locks');
SELECT lives_ok(format($$ SELECT wastore.lock_records('edge', 'pre-key', (SELECT array_agg(i::text) FROM generate_series(1, %s) i)) $$, (SELECT n FROM lock_limit)),
	'exactly the limit is locked');
SELECT is(pg_temp.record_locks(), (SELECT n + 10 FROM lock_limit), '... every record');

SELECT * FROM finish();
ROLLBACK;
