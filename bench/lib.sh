# The helpers every benchmark shares: the run's directory and server,
# running pgbench scripts, medians and ratios, and the table rows.  Sourced
# after scripts/lib.sh by bench/*/run.sh, which set $rounds; bench_begin sets
# $work (the run's directory).

# bench_begin STOP: one benchmark or test run at a time, since each installs
# wastore into the one system PostgreSQL: takes the tests' lock, builds and
# installs wastore, and makes $work, which the server's user may enter.  At
# exit the command STOP stops the run's servers, and $work goes unless
# BENCH_KEEP is set.
bench_begin() {
	exec 9>/tmp/wastore-test.lock
	flock 9
	build_and_install
	work=$(mktemp -d /tmp/wastore-bench.XXXXXX)
	chmod 755 "$work"
	trap "$1"'; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
	[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work"
	return 0
}

# bench_server SHARED_BUFFERS [postgres options...]: the benchmarks' server,
# in $work/pg.  synchronous_commit is off so that the figures compare the
# work of each statement, not this machine's fsync (which every variant pays
# equally per commit; the multi-file store does not fsync at all).
bench_server() {
	local shared_buffers=$1; shift
	cluster_start "$work/pg" -c shared_buffers="$shared_buffers" -c synchronous_commit=off \
		-c max_connections=100 -c checkpoint_timeout=30min -c max_wal_size=8GB "$@"
}

# sql [psql options...]: psql as the server's user, quiet, tuples only,
# stopping at the first error.
sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA "$@"; }

# script NAME: standard input becomes $work/NAME.sql, readable by the
# server's user.
script() { cat >"$work/$1.sql"; [ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work/$1.sql"; return 0; }

# pgbench_tps NAME CLIENTS [pgbench options...]: runs $work/NAME.sql and
# prints transactions per second (a failed or aborted run stops the bench).
pgbench_tps() {
	local name=$1 clients=$2; shift 2
	local jobs=$((clients < 2 ? clients : 2))
	as_pg "$PG_BIN/pgbench" -n -M prepared -c "$clients" -j "$jobs" "$@" \
		-f "$work/$name.sql" >"$work/$name.out" 2>&1 ||
		{ cat "$work/$name.out" >&2; die "pgbench $name failed"; }
	if grep -q "aborted" "$work/$name.out"; then
		cat "$work/$name.out" >&2; die "pgbench $name: clients aborted"
	fi
	sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' "$work/$name.out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

rows=()
row() { rows+=("$(printf '%-46s %14s %14s %8s  %s' "$@")"); }

# compare TITLE UNIT CLIENTS A B NOTE [pgbench options]: interleaves A and B
# over the rounds and adds a table row: median of A, median of B, A/B.
compare() {
	local title=$1 unit=$2 clients=$3 a=$4 b=$5 note=$6; shift 6
	local r ta=() tb=()
	for ((r = 0; r < rounds; r++)); do
		ta+=("$(pgbench_tps "$a" "$clients" "$@")")
		tb+=("$(pgbench_tps "$b" "$clients" "$@")")
	done
	local ma mb
	ma=$(printf '%s\n' "${ta[@]}" | median)
	mb=$(printf '%s\n' "${tb[@]}" | median)
	row "$title" "$(printf '%.0f' "$ma") $unit" "$(printf '%.0f' "$mb") $unit" "$(ratio "$ma" "$mb")x" "$note"
}
