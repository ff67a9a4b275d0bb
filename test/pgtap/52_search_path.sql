-- A tenant's search_path cannot redirect wastore's statements, which run as
-- the tables' owner.  The tenant's own types and functions, named like the
-- ones the statements use and first on its search_path, are never found:
-- this backend prepares the statements for the first time under that path.
BEGIN;
SELECT plan(4);

CREATE ROLE wastore_sp_tenant NOLOGIN;
SELECT wastore.grant_access('wastore_sp_tenant');
CREATE SCHEMA sp_evil AUTHORIZATION wastore_sp_tenant;

SET LOCAL ROLE wastore_sp_tenant;
CREATE DOMAIN sp_evil.text AS pg_catalog.int4 CHECK (VALUE > 0);
CREATE DOMAIN sp_evil.jsonb AS pg_catalog.int4 CHECK (VALUE > 0);
CREATE DOMAIN sp_evil.int8 AS pg_catalog.int4 CHECK (VALUE > 0);
CREATE FUNCTION sp_evil.jsonb_build_object(VARIADIC pg_catalog.text[]) RETURNS pg_catalog.jsonb
	LANGUAGE sql AS $$ SELECT '{"evil": true}'::pg_catalog.jsonb $$;
SET LOCAL search_path = sp_evil, pg_catalog;
CREATE TEMP TABLE sp_results AS
SELECT wastore.chat_acquire_lock('sp', 'k', 'o1')::pg_catalog.text AS first,
	   wastore.chat_acquire_lock('sp', 'k', 'o2', 'queue', '{"m": 1}')::pg_catalog.text AS second,
	   (SELECT pending FROM wastore.chat_release_lock('sp', 'k', 'o1')) AS pending,
	   wastore.chat_snapshot('sp') AS snapshot;
RESET search_path;
RESET ROLE;

SELECT is((SELECT first FROM sp_results), 'acquired', 'with a hostile search_path: a lock is acquired');
SELECT is((SELECT second FROM sp_results), 'queued', '... queued (a statement that casts to text and jsonb)');
SELECT is((SELECT pending FROM sp_results), '[{"owner": "o2", "strategy": "queue", "metadata": {"m": 1}}]',
	'... and released with the entry built by pg_catalog''s jsonb_build_object');
SELECT is((SELECT snapshot -> 'locks' FROM sp_results), '{}', '... and the snapshot is pg_catalog''s');

SELECT * FROM finish();
ROLLBACK;
