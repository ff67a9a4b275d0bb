#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds wastore with
# warnings as errors, starts a throw-away cluster as a non-root user and runs
# the unit tests, pgTAP (pg_prove), the Node client's suites, the isolation
# specs and the crash, chaos, dump and upgrade scripts against it.  Its last line counts individual tests:
# "wastore: N passed, M failed".
#
#   scripts/test.sh            everything
#   scripts/test.sh pgtap      one part: unit, pgtap, node, isolation,
#                              concurrency, or a directory test/X with a
#                              run.sh (crash, chaos, ...)
#   WASTORE_VALGRIND=1 scripts/test.sh pgtap
#                              pgTAP with the server under valgrind memcheck
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(unit pgtap node isolation concurrency crash chaos dump upgrade pgbouncer proxy cron)
for part in "${parts[@]}"; do
	case $part in
	unit | pgtap | node | isolation | concurrency) ;;
	*) [ -x "test/$part/run.sh" ] || die "unknown part: $part" ;;
	esac
done

# One build+test at a time on a machine: the extension installs into the
# server's one library and share directory.
exec 9>/tmp/wastore-test.lock
flock 9

ensure_packages ${WASTORE_VALGRIND:+valgrind}
build_and_install

work=$(mktemp -d /tmp/wastore-test.XXXXXX)
chmod 755 "$work"
# WASTORE_TEST_KEEP=1 keeps the work directory (results, server log)
trap 'cluster_stop "$work/pg"; [ -n "${WASTORE_TEST_KEEP:-}" ] || rm -rf "$work"' EXIT

# The server's user reads the tests from a copy it can reach (the README
# too: the hostile-input test checks errors against its error table).
cp -r test "$work/test"
cp README.md "$work/README.md"
[ "$(id -u)" -eq 0 ] && chown -R "$PG_OS_USER" "$work"

cluster_start "$work/pg" -c fsync=off -c max_prepared_transactions=4

# The parts.  Each prints its results on standard output; count_PART reads
# them back and prints "PASSED FAILED", one per individual test.

part_unit() {
	[ -f test/unit/Makefile ] || return 0
	log "unit tests (the backend-free core)"
	# no counts left from an earlier run: a binary that does not build or
	# run must not pass on old output
	rm -f test/unit/*.out
	make -s -C test/unit check
}
# Every core test runs twice, optimised and sanitised: it passes when it
# says "ok" in both (a crash of one run fails the tests it did not reach).
# The fuzz run is one test more.
count_unit() {
	[ -f test/unit/Makefile ] || { echo 0 0; return; }
	{ cat test/unit/test_lthash_core.out 2>/dev/null || true; echo '# end'
	  cat test/unit/test_lthash_core_san.out 2>/dev/null || true; echo '# end'
	  grep -c '^fuzz: .* no failure' "$1" || true; } | awk '
		/^# end$/ { run++; next }
		run < 2 && /^ok [0-9]+/ { good[$2]++; if ($2 > n) n = $2; next }
		run < 2 && /^not ok [0-9]+/ { if ($3 > n) n = $3; next }
		run < 2 && /^1\.\.[0-9]+$/ { sub(/^1\.\./, ""); if ($0 + 0 > n) n = $0 + 0; next }
		run == 2 { fuzz = $0 + 0 }
		END { p = 0; for (i = 1; i <= n; i++) if (good[i] == 2) p++
		      print p + (fuzz ? 1 : 0), n - p + (fuzz ? 0 : 1) }'
}

part_pgtap() {
	log "pgTAP"
	as_pg psql -q -X -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE DATABASE wastore_test" >/dev/null
	as_pg psql -q -X -v ON_ERROR_STOP=1 -d wastore_test \
		-c "CREATE EXTENSION wastore" -c "CREATE EXTENSION pgtap" >/dev/null
	as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
		pg_prove -d wastore_test --set readme="$work/README.md" "$work"/test/pgtap/*.sql 2>&1
}
# From pg_prove's summary: "Files=F, Tests=T" counts every test run; each
# file in the "Test Summary Report" adds its "Failed: n", the tests its plan
# announced but never ran ("You planned P tests but ran R"), and at least
# one failure when it otherwise went wrong (no plan, a non-zero exit).
count_pgtap() {
	awk '
		function flush() {
			if (!infile) return
			f = failed_here + missing
			if (f == 0 && bad) f = 1
			total_failed += f; infile = 0
		}
		/^Files=[0-9]+, Tests=[0-9]+/ { flush(); split($0, a, /[=,]/); tests = a[4] + 0; next }
		/\(Wstat: .*Tests: [0-9]+ Failed: [0-9]+\)$/ {
			flush(); infile = 1; bad = 0; missing = 0
			match($0, /Failed: [0-9]+\)$/)
			failed_here = substr($0, RSTART + 8, RLENGTH - 9) + 0
			failed_sum += failed_here
			next
		}
		infile && /Parse errors:|Non-zero (exit|wait) status:/ { bad = 1 }
		infile && match($0, /You planned [0-9]+ tests? but ran [0-9]+/) {
			split(substr($0, RSTART, RLENGTH), w, " ")
			if (w[3] > w[7]) missing += w[3] - w[7]
		}
		END { flush(); print tests - failed_sum, total_failed + 0 }' "$1"
}

# The Node package (clients/node): its node:test suites against a database
# of its own, with what package-lock.json pins installed from npm (npm ci:
# real Baileys 6.17.x and 7.0.0-rc, libsignal).  Node runs as the invoking
# user and connects over the cluster's socket as postgres.  Without Node.js
# 20 or later (and npm) the part says so and is skipped.
part_node() {
	log "node client (clients/node)"
	local v
	v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if [ "$v" -lt 20 ] || ! command -v npm >/dev/null; then
		echo "# SKIP node: needs Node.js >= 20 and npm (found: $(node --version 2>/dev/null || echo none))"
		return 0
	fi
	as_pg psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS wastore_node" -c "CREATE DATABASE wastore_node" >/dev/null
	as_pg psql -q -X -v ON_ERROR_STOP=1 -d wastore_node -c "CREATE EXTENSION wastore" >/dev/null
	(cd clients/node && npm ci --no-audit --no-fund --loglevel=error >&2)
	# a PgBouncer in transaction pooling mode in front of the database, for
	# test/pgbouncer.test.js: two server connections for the suite's pools
	local bdir=$work/node-bouncer bport=${NODE_BOUNCER_PORT:-6441}
	trap 'bouncer_stop "'"$bdir"'"' EXIT
	bouncer_start "$bdir" "$bport" wastore_node
	(cd clients/node && PGDATABASE=wastore_node \
		WASTORE_TEST_BOUNCER_HOST=$bdir WASTORE_TEST_BOUNCER_PORT=$bport \
		node --test --test-concurrency=1 --test-reporter=tap test/ 2>&1)
}
# node's TAP: every test's "ok N - ..." or "not ok N - ...", subtests
# indented by 4 under their parent, a parent's line right after its
# subtests' plan ("    1..3").  Each test without subtests counts once; a
# parent counts only when it failed while its subtests all passed (an error
# in its own body), so that no failure is counted twice or lost; a skipped
# test counts neither way.
count_node() {
	awk '
		function indent(s) { match(s, /^ */); return RLENGTH }
		BEGIN { plan = -1 }
		/^ *1\.\.[0-9]+$/ { plan = indent($0); next }
		/^ *ok [0-9]+.* # SKIP/ { plan = -1; next }
		/^ *(not )?ok [0-9]+/ {
			d = indent($0); bad = ($0 ~ /^ *not ok/)
			if (plan == d + 4) {
				if (bad && !fails[d + 4]) failed++
				if (bad || fails[d + 4]) fails[d]++
				fails[d + 4] = 0
			} else if (bad) { failed++; fails[d]++ } else passed++
			plan = -1; next
		}
		END { print passed + 0, failed + 0 }' "$1"
}

isolation_specs() { (cd test/isolation/specs && ls ./*.spec | sed 's|^\./||; s/\.spec$//'); }
part_isolation() {
	log "isolation specs"
	local specs
	specs=$(isolation_specs)
	# shellcheck disable=SC2086
	as_pg "$(dirname "$($PG_CONFIG --pgxs)")/../test/isolation/pg_isolation_regress" \
		--inputdir="$work/test/isolation" --outputdir="$work/isolation" \
		--bindir="$PG_BIN" --load-extension=wastore --dbname=wastore_isolation \
		$specs || { cat "$work/isolation/regression.diffs" 2>/dev/null || true; return 1; }
}
# One test per spec: "test NAME ... ok"; a spec that failed or never ran
# is a failure.
count_isolation() {
	local n ok
	n=$(isolation_specs | wc -l)
	ok=$(grep -cE '^(test |     )?[a-z0-9_]+ +\.\.\. ok' "$1" || true)
	echo "$ok" $((n - ok))
}

# Concurrent mixed batches: 8 clients, 25 sets each, every set writing one
# half of a small key set and deleting the other half, the two halves
# swapped at random (a set used to lock a family's upserts before its
# deletes, so a batch that writes k00..k31 and deletes k32..k63 locked them
# in the opposite order to one doing the reverse, and the two deadlocked).
# Retries are off, so a single deadlock fails a transaction; the table is
# analysed first, so that wastore's statements are planned as for a small
# store (sequential scans, which meet rows in physical order).  Then the
# store must be whole: each half, and each pre-key, written by one batch
# (all its keys with that batch's tag) or deleted.  TAP lines, like the
# script parts.
part_concurrency() {
	log "concurrent batches mixing writes and deletes"
	local dir=$work/concurrency n=32
	mkdir -p "$dir"
	sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA -d wastore_concurrency "$@"; }
	as_pg psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE wastore_concurrency"
	sql -c "CREATE EXTENSION wastore" \
		-c "SELECT wastore.set('mixed', jsonb_build_object('session', (SELECT jsonb_object_agg(format('k%s', lpad(i::text, 2, '0')), 0) FROM generate_series(0, 2 * $n - 1) i)))" \
		-c "ANALYZE wastore.keys" >/dev/null
	local half first
	for half in fwd rev; do
		first=0
		[ $half = rev ] && first=$n
		# one tag per batch, on every key it writes
		cat >"$dir/$half.sql" <<-SQL
			\set tag random(1, 1000000000)
			SELECT wastore.set('mixed', jsonb_build_object(
				'session', (SELECT jsonb_object_agg(format('k%s', lpad(i::text, 2, '0')),
						CASE WHEN i >= $first AND i < $first + $n THEN v ELSE 'null' END)
					FROM generate_series(0, 2 * $n - 1) i),
				'pre-key', jsonb_build_object('p$((first / n))', v, 'p$((1 - first / n))', NULL)))
			  FROM (SELECT jsonb_build_object('by', '$half', 'tag', :tag) AS v) b;
		SQL
	done
	local out=$dir/pgbench.out rc=0
	as_pg env PGOPTIONS="-c wastore.max_commit_retries=0" "$PG_BIN/pgbench" -n \
		-c 8 -j 2 -t 25 --failures-detailed -f "$dir/fwd.sql" -f "$dir/rev.sql" \
		wastore_concurrency >"$out" 2>&1 || rc=$?
	local done_tx failed
	done_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
	[ "$rc" -eq 0 ] && ! grep -q aborted "$out" ||
		check_fail "pgbench: clients aborted (exit status $rc)"$'\n'"$(cat "$out")"
	check_ok "8 clients x 25 mixed batches: no client aborted"
	[ "${failed:-1}" -eq 0 ] && [ "${done_tx:-0}" -eq 200 ] ||
		check_fail "mixed batches: ${done_tx:-?} of 200 processed, ${failed:-?} failed"$'\n'"$(cat "$out")"
	check_ok "mixed batches: 200 processed, 0 failed (no deadlock, no retry)"
	local bad
	bad=$(sql -v n="$n" <<-'SQL'
		WITH k AS (SELECT id, value FROM wastore.list('mixed', 'session')),
		half AS (
			SELECT h, count(k.id) AS keys, count(DISTINCT k.value->>'tag') AS tags,
				   bool_and(k.value->>'by' = CASE h WHEN 0 THEN 'fwd' ELSE 'rev' END) AS by_writer
			  FROM generate_series(0, 1) h
			  LEFT JOIN k ON k.id IN (SELECT format('k%s', lpad((h * :n + i)::text, 2, '0'))
										FROM generate_series(0, :n - 1) i)
			 GROUP BY h)
		SELECT string_agg(format('half %s: %s keys, %s tags', h, keys, tags), '; ')
		  FROM half WHERE NOT (keys = 0 OR (keys = :n AND tags = 1 AND by_writer))
		UNION ALL
		SELECT string_agg(format('key %s: %s', id, value), '; ')
		  FROM wastore.list('mixed', 'session') WHERE id !~ '^k[0-9]{2}$' OR substr(id, 2)::int >= 2 * :n
		UNION ALL
		SELECT string_agg(format('pre-key %s: %s', id, value), '; ')
		  FROM wastore.list('mixed', 'pre-key')
		 WHERE value->>'by' IS DISTINCT FROM CASE id WHEN 'p0' THEN 'fwd' WHEN 'p1' THEN 'rev' END
	SQL
	)
	[ -z "$(printf '%s' "$bad" | tr -d '\n')" ] || check_fail "the store is not whole after the mixed batches: $bad"
	check_ok "after the mixed batches every half of the key set is whole or gone"
}
count_concurrency() { count_script "$1"; }

# test/X/run.sh: the script's own TAP lines, "ok N - ..." and "not ok N - ...".
part_script() {
	log "$1"
	"test/$1/run.sh"
}
count_script() {
	echo "$(grep -c '^ok ' "$1" || true)" "$(grep -c '^not ok ' "$1" || true)"
}

# run_part PART: runs it in a subshell with errexit of its own, its output
# shown and kept in $work/PART.out, and adds its counts to the tally.  A
# part that fails keeps the passes it made, the next part still runs, and a
# part that exits non-zero without a failed test of its own (it died before
# or between its tests) counts one failure, so a crash never looks clean.
passed=0 failed=0
run_part() {
	local part=$1 kind=$2 out=$work/$1.out rc p f
	set +e
	( set -e; "part_$kind" "$part" ) | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	read -r p f < <("count_$kind" "$out")
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	log "$part: $p passed, $f failed"
	passed=$((passed + p)) failed=$((failed + f))
}

for part in "${parts[@]}"; do
	case $part in
	unit | pgtap | node | isolation | concurrency) run_part "$part" "$part" ;;
	*) run_part "$part" script ;;
	esac
done

if [ -n "${WASTORE_VALGRIND:-}" ]; then
	errors=$(valgrind_errors "$work/pg")
	if [ -n "$errors" ]; then
		printf '%b\n' "$errors" >&2
		log "valgrind found errors in wastore's code: see above"
		failed=$((failed + 1))
	else
		log "valgrind: no errors in wastore's code ($(ls "$work"/pg/valgrind.*.log | wc -l) processes checked)"
	fi
fi

echo "wastore: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
