-- The contents of every part of wastore, one line per table (or sequence)
-- registered with pg_extension_config_dump: its name, then a digest of its
-- rows in a fixed order and their number (a sequence: its last value).
SELECT c.oid::regclass::text, r.digest
  FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid,
	   LATERAL (SELECT CASE c.relkind
		WHEN 'S' THEN (xpath('/row/last_value/text()', query_to_xml('SELECT last_value FROM ' || c.oid::regclass, false, false, '')))[1]::text
		ELSE (xpath('/row/d/text()', query_to_xml('SELECT md5(string_agg(t::text, E''\n'' ORDER BY t::text)) || '' '' || count(*) AS d FROM ' || c.oid::regclass || ' t', false, false, '')))[1]::text
		END AS digest) r
 WHERE e.extname = 'wastore'
 ORDER BY 1;
