#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds wastore with
# warnings as errors, starts a throw-away cluster as a non-root user and runs
# the unit tests, pgTAP (pg_prove), the isolation specs and the crash, dump
# and upgrade scripts against it.  Its last line counts individual tests:
# "wastore: N passed, M failed".
#
#   scripts/test.sh            everything
#   scripts/test.sh pgtap      one part: unit, pgtap, isolation, or a
#                              directory test/X with a run.sh (crash, ...)
#   WASTORE_VALGRIND=1 scripts/test.sh pgtap
#                              pgTAP with the server under valgrind memcheck
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(unit pgtap isolation crash dump upgrade pgbouncer proxy)
for part in "${parts[@]}"; do
	case $part in
	unit | pgtap | isolation) ;;
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

# The server's user reads the tests from a copy it can reach.
cp -r test "$work/test"
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
		pg_prove -d wastore_test "$work"/test/pgtap/*.sql 2>&1
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
	unit | pgtap | isolation) run_part "$part" "$part" ;;
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
