# Shared by the scripts: packages, build, and throw-away clusters.
# Sourced, not run.

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
export PG_CONFIG=$PG_BIN/pg_config

# Everything the build, the tests and the demo need on Debian 12.
WASTORE_PACKAGES=(
	make gcc libssl-dev
	postgresql-$PG_MAJOR postgresql-client-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
	postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl
	clang-14 libclang-rt-14-dev
)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The server refuses to run as root; root runs it as the postgres user.
if [ "$(id -u)" -eq 0 ]; then
	PG_OS_USER=postgres
	as_pg() { runuser -u postgres -- "$@"; }
else
	PG_OS_USER=$(id -un)
	as_pg() { "$@"; }
fi

# Installs the missing packages of WASTORE_PACKAGES plus any given.
ensure_packages() {
	local missing=() p
	for p in "${WASTORE_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}

# Builds wastore (warnings are errors) and installs it into the server.
build_and_install() {
	log "building wastore"
	make -s clean >/dev/null
	make -s WASTORE_CFLAGS="-Werror ${WASTORE_EXTRA_CFLAGS:-}" >/dev/null
	as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
}

# cluster_start DIR [postgres -c options...]: initdb and start a private
# cluster with its socket in DIR, port CLUSTER_PORT (5432), listening on
# CLUSTER_LISTEN (nothing: no TCP).  Sets PGHOST/PGPORT/PGUSER.
cluster_start() {
	local dir=$1; shift
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$dir"
	as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	cluster_run "$dir" "$@"
}

# cluster_run DIR [options...]: starts an initdb'ed cluster.
cluster_run() {
	local dir=$1; shift
	local port=${CLUSTER_PORT:-5432}
	local opts="-c listen_addresses='${CLUSTER_LISTEN:-}' -k $dir -p $port"
	local o
	for o in "$@"; do opts="$opts $o"; done
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w start >/dev/null ||
		{ cat "$dir/server.log" >&2; die "the server did not start"; }
	export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

cluster_stop() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] &&
		as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	return 0
}
