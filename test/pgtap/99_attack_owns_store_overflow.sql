-- ATTACK (crashed the server before the fix: owns_store now refuses ids
-- create_store would refuse, and the cache errors on one): wastore.owns_store takes its argument
-- with PG_GETARG_TEXT_PP, not wastore_store_arg, so nothing bounds its
-- length; store_cache_get then copies it into a 257-byte stack buffer
-- (store_cache.c, cache_key: only an Assert guards the length, and release
-- builds drop it).  Any tenant overflows the stack of its backend as soon
-- as the backend has cached one store: stack smashing detected, SIGABRT or
-- SIGSEGV, and the postmaster restarts every backend of every tenant.
--
-- Secure behaviour asserted here: an overlong id is no store (false), or a
-- 22023, and the backend survives.  Last of the files: today it takes the
-- server down.

-- a store committed by another transaction: the only kind the cache holds
CREATE ROLE wastore_ovf_tenant NOLOGIN;
SELECT wastore.grant_access('wastore_ovf_tenant');
SET ROLE wastore_ovf_tenant;
SELECT wastore.create_store('ovf-own');
RESET ROLE;

BEGIN;
SELECT plan(4);
SET LOCAL ROLE wastore_ovf_tenant;
SELECT ok(wastore.owns_store('ovf-own'), 'the tenant''s store is cached');
SELECT ok(NOT wastore.owns_store(repeat('x', 300)), 'a 300-byte id is no store');
SELECT ok(NOT wastore.owns_store(repeat('x', 100000)), 'a 100000-byte id is no store');
SELECT ok(wastore.owns_store('ovf-own'), 'the backend survived');
SELECT * FROM finish();
ROLLBACK;

SELECT wastore.drop_store('ovf-own');
DROP OWNED BY wastore_ovf_tenant;
DROP ROLE wastore_ovf_tenant;
