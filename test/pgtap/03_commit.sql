-- The savepoint commit: a batch lands whole or not at all, transient
-- failures are retried, set raises and try_set reports.
BEGIN;
SELECT plan(29);

-- the settings exist once the library is loaded (by the first wastore call)
SELECT wastore.in_transaction('acct');

SELECT is(current_setting('wastore.max_commit_retries'), '3', 'max_commit_retries defaults to 3');
SELECT is(current_setting('wastore.commit_retry_delay_ms'), '10ms', 'commit_retry_delay_ms defaults to 10ms');

SELECT wastore.set('acct', '{"session": {"s1": "old-s1", "s2": "old-s2"}, "pre-key": {"1": "old-1", "2": "old-2"}, "identity-key": {"peer": "old-peer"}}');
CREATE TEMP TABLE before ON COMMIT DROP AS SELECT * FROM wastore.keys;

-- A key that fails at the database after other keys of the batch were
-- already written: a test trigger rejects identity-key "poison" (identity-key
-- sorts after session and pre-key, so those are written first).
CREATE FUNCTION pg_temp.poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 'poison' THEN
		RAISE EXCEPTION 'poisoned key' USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.id = 'flaky' AND nextval('flaky_seq') <= current_setting('test.flaky_failures')::int THEN
		RAISE EXCEPTION 'flaky key' USING ERRCODE = 'serialization_failure';
	END IF;
	IF NEW.id = 'deadlocky' THEN
		RAISE EXCEPTION 'always conflicting' USING ERRCODE = 'deadlock_detected';
	END IF;
	RETURN NEW;
END $$;
CREATE TEMP SEQUENCE flaky_seq;
CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON wastore.keys FOR EACH ROW EXECUTE FUNCTION pg_temp.poison();

SELECT throws_ok($$ SELECT wastore.set('acct', '{"session": {"s1": "new", "s3": "new"}, "pre-key": {"1": null, "3": "new"}, "identity-key": {"poison": "x"}}') $$,
	'23514', 'poisoned key', 'set raises the original SQLSTATE of the failing key');
SELECT set_eq($$ SELECT * FROM wastore.keys $$, $$ SELECT * FROM before $$,
	'a multi-family batch with one failing key leaves every stored value unchanged');

-- the detail names the family and id
CREATE FUNCTION pg_temp.set_detail(data jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
	PERFORM wastore.set('acct', data);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN d;
END $$;
SELECT is(pg_temp.set_detail('{"session": {"s1": "new"}, "identity-key": {"poison": "x"}}'),
	'Failed at family identity-key, id "poison" after 1 attempt.', 'the detail names the family and id');

-- try_set reports, and the caller's transaction goes on
SELECT is(wastore.try_set('acct', '{"session": {"s1": "new"}, "pre-key": {"2": null}, "identity-key": {"poison": "x"}}'),
	ROW(false, 1, '23514', 'poisoned key (family identity-key, id "poison")')::wastore.commit_result,
	'try_set reports ok = false with the SQLSTATE');
SELECT set_eq($$ SELECT * FROM wastore.keys $$, $$ SELECT * FROM before $$, '... and leaves the store exactly as before');
SELECT is((SELECT count(*)::int FROM before), 5, 'the caller''s transaction is still usable');
SELECT is(wastore.try_set('acct', '{"session": {"s1": "newer"}}'),
	ROW(true, 1, NULL, NULL)::wastore.commit_result, 'a good try_set reports ok = true');
SELECT is((SELECT value FROM wastore.get('acct', 'session', ARRAY['s1'])), '"newer"'::jsonb, '... and wrote');

-- try_set reports bad arguments instead of raising
SELECT is((wastore.try_set('acct', '[]')).sqlstate, '22023', 'try_set reports non-object data');
SELECT is((wastore.try_set('acct', '{"bogus": {}}')).message, 'unknown key family "bogus"', 'try_set reports an unknown family');
SELECT is((wastore.try_set(NULL, '{}')).sqlstate, '22004', 'try_set reports a NULL store');
SELECT is((wastore.try_set('acct', NULL)).sqlstate, '22004', 'try_set reports NULL data');

-- transient failures are retried
SET wastore.commit_retry_delay_ms = 0;
SET test.flaky_failures = 2;
SELECT is(wastore.try_set('acct', '{"session": {"flaky": 1, "s2": "retried"}}'),
	ROW(true, 3, NULL, NULL)::wastore.commit_result, 'two serialization failures, then success on the third attempt');
SELECT is((SELECT count(*)::int FROM wastore.get('acct', 'session', ARRAY['flaky', 's2'])), 2, '... which wrote the batch once');
SELECT is(wastore.try_set('acct', '{"session": {"deadlocky": 1}}'),
	ROW(false, 4, '40P01', 'always conflicting (family session, id "deadlocky")')::wastore.commit_result,
	'a failure that stays transient gives up after 1 + max_commit_retries attempts');
SET wastore.max_commit_retries = 0;
SELECT is((wastore.try_set('acct', '{"session": {"deadlocky": 1}}')).attempts, 1, 'max_commit_retries = 0 disables retries');
SET wastore.max_commit_retries = 1;
SELECT throws_ok($$ SELECT wastore.set('acct', '{"session": {"deadlocky": 1}}') $$, '40P01', 'always conflicting',
	'set raises the transient SQLSTATE once the retries are used up');
SELECT is(pg_temp.set_detail('{"session": {"deadlocky": 1}}'),
	'Failed at family session, id "deadlocky" after 2 attempts.', '... naming the key and the attempts');
SELECT is((wastore.try_set('acct', '{"session": {"poison2": 1}, "identity-key": {"poison": 1}}')).attempts, 1,
	'a non-transient failure is not retried');

-- a family of several keys is one statement; when it fails, one more attempt
-- key by key names the key
SELECT is((wastore.try_set('acct', '{"pre-key": {"10": "a", "11": "b", "12": "c", "1": null, "2": null}}')).attempts, 1,
	'several keys of a family are written in one attempt');
SELECT is((SELECT count(*)::int FROM wastore.get('acct', 'pre-key', ARRAY['10', '11', '12'])), 3, '... all of them');
SELECT is(wastore.try_set('acct', '{"identity-key": {"a": 1, "poison": 2, "z": 3}}'),
	ROW(false, 2, '23514', 'poisoned key (family identity-key, id "poison")')::wastore.commit_result,
	'a failure among several keys of a family names the key, after one attempt key by key');
SELECT is(pg_temp.set_detail('{"identity-key": {"a": 1, "poison": 2}}'),
	'Failed at family identity-key, id "poison" after 2 attempts.', '... in the detail of set too');

-- GUC bounds
SELECT throws_ok($$ SET wastore.max_commit_retries = -1 $$, '22023', NULL, 'max_commit_retries cannot be negative');
SELECT throws_ok($$ SET wastore.commit_retry_delay_ms = 60001 $$, '22023', NULL, 'commit_retry_delay_ms is at most a minute');

-- a store created by a failed batch is rolled back with it
SELECT is((wastore.try_set('brand-new', '{"identity-key": {"poison": 1}}')).ok, false, 'a failing first batch of a new store');
SELECT is((SELECT count(*)::int FROM wastore.stores WHERE store = 'brand-new'), 0, '... does not leave the store behind');

SELECT * FROM finish();
ROLLBACK;
