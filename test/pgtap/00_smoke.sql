BEGIN;
SELECT plan(2);
SELECT lives_ok($$SELECT wastore.set('s1', '{"session": {"a": {"x": 1}}}')$$, 'set lives');
SELECT results_eq($$SELECT id, value FROM wastore.get('s1', 'session', ARRAY['a','b'])$$,
  $$VALUES ('a'::text, '{"x": 1}'::jsonb)$$, 'get returns what set wrote');
SELECT * FROM finish();
ROLLBACK;
