-- Rows 1.2's CHECK constraints reject, as 1.0's tables could hold them
-- (written at psql: 1.0 checked store ids in its functions only).  Run on a
-- 1.0 install; fill_repair_1.1.sql adds the rest after the update to 1.1.
SET client_min_messages = warning;

INSERT INTO wastore.store_owners (store, owner) VALUES
	('', 'postgres'), (repeat('s', 300), 'postgres'), ('repair', 'postgres'), ('repair-2', 'postgres');
INSERT INTO wastore.keys (store, family, id, value) VALUES
	('', 'session', 'a.0', '"of the empty store id"'),
	(repeat('s', 300), 'session', 'a.0', '"of the long store id"');
