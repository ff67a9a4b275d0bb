# The helpers every benchmark shares: running pgbench scripts, medians and
# ratios, and the table rows.  Sourced after scripts/lib.sh by bench/*/run.sh,
# which set $work (the run's directory), $rounds and PG_BIN.

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
