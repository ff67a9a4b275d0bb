# Shared by test/proxy/run.sh and bench/proxy/run.sh: a proxy cluster and
# shard clusters on this machine, wired as the README's "Scale-out" says.
# Sourced after scripts/lib.sh.

# proxy_clusters_start WORK PORT NODES [postgres -c options...]: starts
# NODES+1 clusters in WORK/proxy, WORK/node1, ... on ports PORT, PORT+1, ...
proxy_clusters_start() {
	local work=$1 port=$2 nodes=$3 i; shift 3
	CLUSTER_PORT=$port cluster_start "$work/proxy" "$@"
	for ((i = 1; i <= nodes; i++)); do
		CLUSTER_PORT=$((port + i)) cluster_start "$work/node$i" "$@"
	done
}

proxy_clusters_stop() {
	local work=$1 d
	for d in "$work"/proxy "$work"/node*; do [ -d "$d" ] && cluster_stop "$d"; done
	return 0
}

# proxy_setup WORK PORT NODES PARTITIONS [EXTRA...]: partition p (0..PARTITIONS-1)
# is the database wastore_pP on node (p mod NODES)+1 with wastore (and the
# extensions EXTRA); the proxy database "proxy" on WORK/proxy has
# wastore_proxy and the server wastore naming them.  Prints nothing.
proxy_setup() {
	local work=$1 port=$2 nodes=$3 parts=$4 p node opts=; shift 4
	local ext
	for ((p = 0; p < parts; p++)); do
		node=$((p % nodes + 1))
		as_pg psql -X -q -h "$work/node$node" -p $((port + node)) -d postgres \
			-c "CREATE DATABASE wastore_p$p" >/dev/null
		as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$work/node$node" -p $((port + node)) -d wastore_p$p \
			-c "CREATE EXTENSION wastore" >/dev/null
		for ext in "$@"; do
			as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$work/node$node" -p $((port + node)) \
				-d wastore_p$p -c "CREATE EXTENSION $ext" >/dev/null
		done
		opts="$opts${opts:+, }p$p 'host=$work/node$node port=$((port + node)) dbname=wastore_p$p'"
	done
	as_pg psql -X -q -h "$work/proxy" -p "$port" -d postgres -c "CREATE DATABASE proxy" >/dev/null
	as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$work/proxy" -p "$port" -d proxy \
		-c "SET client_min_messages = warning" -c "CREATE EXTENSION wastore_proxy CASCADE" \
		-c "CREATE SERVER wastore FOREIGN DATA WRAPPER plproxy OPTIONS ($opts)" \
		-c "CREATE USER MAPPING FOR PUBLIC SERVER wastore" >/dev/null
	for ext in "$@"; do
		as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$work/proxy" -p "$port" -d proxy \
			-c "CREATE EXTENSION $ext" >/dev/null
	done
}
