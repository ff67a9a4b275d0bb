#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds wastore with
# warnings as errors, starts a throw-away cluster as a non-root user and runs
# the unit tests, pgTAP (pg_prove) and the isolation specs against it.
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
[ ${#parts[@]} -eq 0 ] && parts=(unit pgtap isolation crash dump upgrade)

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
passed=0 failed=0

for part in "${parts[@]}"; do
	case $part in
	unit)
		if [ -f test/unit/Makefile ]; then
			log "unit tests (the backend-free core)"
			if make -s -C test/unit check; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
		fi
		;;
	pgtap)
		log "pgTAP"
		as_pg psql -q -X -v ON_ERROR_STOP=1 -d postgres \
			-c "CREATE DATABASE wastore_test" >/dev/null
		as_pg psql -q -X -v ON_ERROR_STOP=1 -d wastore_test \
			-c "CREATE EXTENSION wastore" -c "CREATE EXTENSION pgtap" >/dev/null
		out=$work/pg_prove.out
		if as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
			pg_prove -d wastore_test "$work"/test/pgtap/*.sql 2>&1 | tee "$out"; then
			rc=0
		else
			rc=1
		fi
		tests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\).*/\1/p' "$out")
		if [ $rc -eq 0 ] && grep -q '^Result: PASS' "$out"; then
			passed=$((passed + ${tests:-0}))
		else
			failed=$((failed + 1))
		fi
		;;
	isolation)
		log "isolation specs"
		specs=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//')
		# shellcheck disable=SC2086
		if as_pg "$(dirname "$($PG_CONFIG --pgxs)")/../test/isolation/pg_isolation_regress" \
			--inputdir="$work/test/isolation" --outputdir="$work/isolation" \
			--bindir="$PG_BIN" --load-extension=wastore --dbname=wastore_isolation \
			$specs; then
			passed=$((passed + $(echo "$specs" | wc -w)))
		else
			cat "$work/isolation/regression.diffs" 2>/dev/null || true
			failed=$((failed + 1))
		fi
		;;
	*)
		if [ -x "test/$part/run.sh" ]; then
			log "$part"
			if "test/$part/run.sh"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
		else
			die "unknown part: $part"
		fi
		;;
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
