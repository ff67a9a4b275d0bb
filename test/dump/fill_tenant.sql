-- A store that belongs to another role (1.1 and up).
CREATE ROLE dump_tenant;
SELECT wastore.grant_access('dump_tenant');
SET ROLE dump_tenant;
SELECT wastore.set('tenant-store', '{"session": {"x.0": "eA=="}}');
RESET ROLE;
