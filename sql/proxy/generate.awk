# Generates the routed functions of wastore_proxy from routed.list (see
# there): one PL/Proxy function per line, with a COMMENT, and the list
# itself as the table wastore.proxy_routed (what test/proxy/run.sh
# compares with a shard's catalog).
#
#   awk -f sql/proxy/generate.awk sql/proxy/routed.list
/^[ \t]*(#|$)/ { next }
{
	line = $0
	sub(/[ \t]+$/, "", line)
	name = line; sub(/\(.*/, "", name)
	if (name !~ /^[a-z_][a-z0-9_]*$/ || line !~ /^[a-z0-9_]+\(store text(,.*)?\) RETURNS .+$/) {
		printf "routed.list:%d: not NAME(store text, ...) RETURNS TYPE: %s\n", NR, line > "/dev/stderr"
		err = 1; exit 1
	}
	if (name in seen) {
		printf "routed.list:%d: %s listed twice\n", NR, name > "/dev/stderr"
		err = 1; exit 1
	}
	seen[name] = 1
	q = line; gsub(/'/, "''", q)
	printf "CREATE FUNCTION wastore.%s\nLANGUAGE plproxy AS $plproxy$\n\tCLUSTER 'wastore';\n\tRUN ON wastore.store_hash(store);\n$plproxy$;\n", line
	printf "COMMENT ON FUNCTION wastore.%s IS 'wastore.%s on the shard that owns the store (PL/Proxy, cluster wastore)';\n", \
		signature(line), name
	printf "INSERT INTO wastore.proxy_routed VALUES ('%s');\n\n", q
}
END { if (err) exit 1 }

# the identity form (argument types only) for COMMENT ON FUNCTION
function signature(l,    args, n, a, i, t, out) {
	args = l; sub(/^[a-z0-9_]+\(/, "", args); sub(/\) RETURNS .*$/, "", args)
	n = split(args, a, /, /)
	out = ""
	for (i = 1; i <= n; i++) {
		t = a[i]; sub(/ DEFAULT .*$/, "", t); sub(/^[a-z_0-9]+ /, "", t)
		out = out (i > 1 ? ", " : "") t
	}
	return name "(" out ")"
}
