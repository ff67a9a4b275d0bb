-- ATTACKS (blocked): what a tenant can attach to or reach of wastore besides
-- the functions, and ownership changes seen through a backend's cache.
BEGIN;
SELECT plan(17);

CREATE ROLE wastore_misc_a NOLOGIN;
CREATE ROLE wastore_misc_b NOLOGIN;
CREATE ROLE wastore_misc_grp NOLOGIN;
CREATE ROLE wastore_misc_none NOLOGIN;
SELECT wastore.grant_access('wastore_misc_a'), wastore.grant_access('wastore_misc_b'),
	   wastore.grant_access('wastore_misc_grp');

SET LOCAL ROLE wastore_misc_b;
SELECT wastore.set('misc-b', '{"session": {"1": {"private": "B-SECRET"}}}');
RESET ROLE;

SET LOCAL ROLE wastore_misc_a;
SELECT throws_ok($$ CREATE TRIGGER evil BEFORE INSERT ON wastore.keys FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger() $$,
	'42501', NULL, 'a tenant cannot attach a trigger to a table');
SELECT throws_ok($$ CREATE RULE evil AS ON INSERT TO wastore.keys DO ALSO NOTHING $$, '42501', NULL, '... nor a rule');
SELECT throws_ok($$ CREATE FUNCTION wastore.evil() RETURNS int LANGUAGE sql AS 'SELECT 1' $$, '42501', NULL,
	'... nor create anything in schema wastore');
SELECT throws_ok($$ SELECT wastore_internal.chat_snapshot(1) $$, '42501', NULL,
	'wastore_internal''s functions (which take an incarnation, unchecked) are out of reach');
SELECT throws_ok($$ SELECT wastore.store_owners_purge() $$, '42501', NULL, 'the trigger function is out of reach');
SELECT throws_ok($$ SELECT * FROM wastore.stores FOR UPDATE $$, '42501', NULL, 'the stores view cannot lock rows');
SELECT throws_ok($$ SELECT * FROM wastore.stores FOR KEY SHARE $$, '42501', NULL, '... in any mode');
SELECT throws_ok($$ LOCK TABLE wastore.stores IN ROW EXCLUSIVE MODE $$, '42501', NULL,
	'LOCK of the view: nothing stronger than ACCESS SHARE');
SELECT throws_ok($$ SELECT wastore.in_transaction('misc-b') $$, '42501', NULL, 'in_transaction of another tenant''s store');
SELECT throws_ok($$ SELECT wastore.conn_get('misc-b', 'creds', '"fallback"') $$, '42501', NULL, 'conn_get with a default');
SELECT throws_ok($$ SELECT wastore.chat_acquire_lock('misc-b', 'k', 'o', 'concurrent') $$, '42501', NULL,
	'chat_acquire_lock concurrent (stores nothing) still checks');
SELECT is(wastore.owns_store('misc-b'), false, 'owns_store of another tenant''s store');
RESET ROLE;

-- no grant: nothing at all
SET LOCAL ROLE wastore_misc_none;
SELECT throws_ok($$ SELECT wastore.owns_store('misc-b') $$, '42501', NULL, 'no grant: owns_store');
SELECT throws_ok($$ SELECT * FROM wastore.stores $$, '42501', NULL, 'no grant: the stores view');
RESET ROLE;

-- membership: revoked or NOINHERIT, access ends at once
GRANT wastore_misc_grp TO wastore_misc_a;
SET LOCAL ROLE wastore_misc_grp;
SELECT wastore.set('misc-grp', '{"session": {"1": {"x": 1}}}');
RESET ROLE;
SET LOCAL ROLE wastore_misc_a;
SELECT is((SELECT count(*)::int FROM wastore.get('misc-grp', 'session', ARRAY['1'])), 1, 'a member uses the group''s store');
RESET ROLE;
REVOKE wastore_misc_grp FROM wastore_misc_a;
SET LOCAL ROLE wastore_misc_a;
SELECT throws_ok($$ SELECT * FROM wastore.get('misc-grp', 'session', ARRAY['1']) $$, '42501', NULL,
	'after REVOKE the former member is refused');
RESET ROLE;
GRANT wastore_misc_grp TO wastore_misc_a;
ALTER ROLE wastore_misc_a NOINHERIT;
SET LOCAL ROLE wastore_misc_a;
SELECT throws_ok($$ SELECT * FROM wastore.get('misc-grp', 'session', ARRAY['1']) $$, '42501', NULL,
	'a NOINHERIT member has not the group''s privileges');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
