-- Benchmark data and helpers (bench/lthash/run.sh loads this once).
CREATE EXTENSION IF NOT EXISTS wastore;
CREATE SCHEMA bench;

-- a million stored 32-byte value MACs, and one 100,000-item array of them
CREATE TABLE bench.macs (m bytea NOT NULL);
INSERT INTO bench.macs SELECT sha256(int4send(i)) FROM generate_series(1, 1000000) i;
CREATE TABLE bench.arr AS SELECT array_agg(m) AS a FROM (SELECT m FROM bench.macs LIMIT 100000) t;
VACUUM ANALYZE bench.macs, bench.arr;

-- the best of n runs of a statement, in milliseconds
CREATE FUNCTION bench.best_ms(q text, n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	best float8 := 'Infinity';
BEGIN
	FOR r IN 1..n LOOP
		t0 := clock_timestamp();
		EXECUTE q;
		best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
	RETURN best;
END $$;

-- patch benchmark: collection "c<size>" holds index MACs sha256(int4send(i))
-- with value MACs sha256(int8send(i)), i = 1..size; versions come from one
-- sequence so that every patch advances its collection
CREATE SEQUENCE bench.version START 2;

-- the Baileys way: the whole LTHashState JSON in one key-value row (as a
-- SQL-backed Baileys auth state keeps it), read whole and written whole
CREATE TABLE bench.kv (id text PRIMARY KEY, value jsonb NOT NULL);

-- Baileys' patch of the state: one SET of index i to a new value MAC (the
-- LTHash arithmetic done with wastore's functions, the generous side)
CREATE FUNCTION bench.baileys_patch(st jsonb, i int, k bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	idx text := translate(encode(sha256(int4send(i)), 'base64'), E'\n', '');
	newv bytea := sha256(int8send(k));
	oldv bytea := decode(st->'indexValueMap'->idx->'valueMac'->>'data', 'base64');
	h wastore.lthash := decode(st->'hash'->>'data', 'base64')::wastore.lthash;
BEGIN
	h := wastore.lthash_subtract_then_add(h, CASE WHEN oldv IS NULL THEN '{}'::bytea[] ELSE ARRAY[oldv] END, ARRAY[newv]);
	st := jsonb_set(st, ARRAY['indexValueMap', idx],
		jsonb_build_object('valueMac', jsonb_build_object('type', 'Buffer', 'data', translate(encode(newv, 'base64'), E'\n', ''))));
	st := jsonb_set(st, '{hash,data}', to_jsonb(translate(encode(h::bytea, 'base64'), E'\n', '')));
	RETURN jsonb_set(st, '{version}', to_jsonb((st->>'version')::bigint + 1));
END $$;

CREATE FUNCTION bench.load_collection(size int) RETURNS void LANGUAGE sql AS $$
	SELECT count(*) FROM wastore.apply_app_state_snapshot('bench', 'c' || size, 1,
		(SELECT array_agg(sha256(int4send(i)) ORDER BY i) FROM generate_series(1, size) i),
		(SELECT array_agg(sha256(int8send(i)) ORDER BY i) FROM generate_series(1, size) i));
	INSERT INTO bench.kv VALUES ('c' || size, wastore.get_app_state_sync_version('bench', 'c' || size));
$$;
