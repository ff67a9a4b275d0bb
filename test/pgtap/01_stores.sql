-- Stores: creation, implicit creation, the stores view, drop_store, errors.
BEGIN;
SELECT plan(21);

CREATE FUNCTION pg_temp.inc(store text) RETURNS bigint LANGUAGE sql STABLE
	AS $$ SELECT incarnation FROM wastore.store_owners WHERE store = $1 $$;

SELECT has_schema('wastore');
SELECT has_view('wastore', 'stores', 'the stores view exists');
SELECT enum_has_labels('wastore', 'family',
	ARRAY['session', 'pre-key', 'sender-key', 'sender-key-memory',
		  'app-state-sync-key', 'app-state-sync-version', 'lid-mapping',
		  'device-list', 'tctoken', 'identity-key'],
	'family has the ten client families, in the order the C code assumes');

SELECT lives_ok($$SELECT wastore.create_store('acct-1')$$, 'create_store');
SELECT lives_ok($$SELECT wastore.create_store('acct-1')$$, 'create_store is idempotent for its owner');
SELECT is((SELECT owner::text FROM wastore.stores WHERE store = 'acct-1'), current_user::text,
	'the store belongs to current_user');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'acct-2'), 0,
	'no store before the first write');
SELECT lives_ok($$SELECT wastore.set('acct-2', '{"session": {"a": "x"}, "pre-key": {"1": "y", "2": "z"}}')$$,
	'a write to a missing store creates it');
SELECT is((SELECT key_counts FROM wastore.stores WHERE store = 'acct-2'),
	'{"session": 1, "pre-key": 2, "sender-key": 0, "sender-key-memory": 0, "app-state-sync-key": 0,
	  "app-state-sync-version": 0, "lid-mapping": 0, "device-list": 0, "tctoken": 0, "identity-key": 0}'::jsonb,
	'the stores view counts keys per family');
SELECT is((SELECT count(*)::int FROM wastore.get('acct-3', 'session', ARRAY['a'])), 0,
	'reading a missing store returns nothing');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'acct-3'), 0,
	'... and does not create it');

-- drop_store leaves nothing behind, and only for that store
SELECT wastore.set('acct-1', '{"session": {"a": "keep"}}');
SELECT pg_temp.inc('acct-2') AS dropped \gset
SELECT lives_ok($$SELECT wastore.drop_store('acct-2')$$, 'drop_store');
SELECT is((SELECT count(*)::int FROM wastore.keys WHERE incarnation = :dropped), 0, 'drop_store removes every key');
SELECT is((SELECT count(*)::int FROM wastore.store_owners WHERE store = 'acct-2'), 0, 'drop_store removes the store');
SELECT is((SELECT value FROM wastore.get('acct-1', 'session', ARRAY['a'])), '"keep"'::jsonb,
	'drop_store leaves other stores alone');
SELECT lives_ok($$SELECT wastore.drop_store('never-existed')$$, 'drop_store of a missing store is a no-op');

-- bad store ids
SELECT throws_ok($$SELECT wastore.create_store(NULL)$$, '22004', 'store must not be NULL', 'NULL store id');
SELECT throws_ok($$SELECT wastore.create_store('')$$, '22023', 'store id must not be empty', 'empty store id');
SELECT throws_ok($$SELECT wastore.create_store(repeat('x', 257))$$, '22023', 'store id is too long', 'overlong store id');
SELECT lives_ok($$SELECT wastore.create_store(repeat('x', 256))$$, 'a 256-byte store id is fine');
SELECT throws_ok($$SELECT wastore.drop_store(NULL)$$, '22004', NULL, 'drop_store of NULL');

SELECT * FROM finish();
ROLLBACK;
