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

# The script tests (test/*/run.sh) print their checks as TAP lines, which
# scripts/test.sh counts one by one: check_ok WHAT prints "ok N - WHAT";
# check_fail WHAT prints "not ok N - WHAT" (further lines of WHAT as "# "
# comments) and stops the script, since the later checks build on it.
tap_n=0
check_ok() { tap_n=$((tap_n + 1)); printf 'ok %d - %s\n' "$tap_n" "$*"; }
check_fail() {
	tap_n=$((tap_n + 1))
	printf '%s\n' "$*" | sed "1s/^/not ok $tap_n - /; 2,\$s/^/# /"
	exit 1
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The server refuses to run as root; root runs it as the postgres user.
# From /: the clone may sit where only root can enter (/root/wastore), and
# PostgreSQL's programs look up their own path from the working directory
# ("could not change directory to ...: Permission denied").  So whatever
# the postgres user runs is given absolute paths to files it can read, or
# its input on standard input.
if [ "$(id -u)" -eq 0 ]; then
	PG_OS_USER=postgres
	as_pg() { (cd / && runuser -u postgres -- "$@"); }
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
# The cluster is UTF-8 whatever the caller's locale: with LANG unset (a
# fresh Debian) initdb would make it SQL_ASCII, where jsonb cannot hold a
# "\u00e9".  C.UTF-8 is in every Debian 12 (libc-bin).
cluster_start() {
	local dir=$1; shift
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$dir"
	as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync \
		-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
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
	# 9>&-: the server must not inherit the scripts' lock on fd 9 (a
	# long-lived dev cluster would hold it for ever).
	if [ -n "${WASTORE_VALGRIND:-}" ]; then
		valgrind_start "$dir" "$opts"
	else
		# After a crash (the crash test's SIGKILL, a power cut) postmaster.pid
		# is left behind and pg_ctl warns "another server might be running;
		# trying to start server anyway".  When the start then succeeds the
		# file was stale and the warning means nothing: drop that line, keep
		# any other message; when the start fails, show everything.
		local err
		if ! err=$(as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w start 2>&1 >/dev/null 9>&-); then
			printf '%s\n' "$err" >&2
			cat "$dir/server.log" >&2
			die "the server did not start"
		fi
		err=$(printf '%s\n' "$err" | grep -v '^pg_ctl: another server might be running' || true)
		[ -z "$err" ] || printf '%s\n' "$err" >&2
	fi
	export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

# WASTORE_VALGRIND=1: the server and every backend run under valgrind's
# memcheck, each process logging to DIR/valgrind.PID.log; valgrind_errors
# DIR prints the errors whose stack passes through wastore's code (the
# server binary is not built for valgrind, so errors elsewhere are noise).
valgrind_start() {
	local dir=$1 opts=$2
	as_pg bash -c "exec valgrind --quiet --trace-children=yes --num-callers=40 \
		--log-file='$dir/valgrind.%p.log' '$PG_BIN/postgres' -D '$dir/data' $opts \
		>>'$dir/server.log' 2>&1 9>&- &"
	local i
	for ((i = 0; i < 240; i++)); do
		as_pg "$PG_BIN/pg_isready" -q -h "$dir" -p "${CLUSTER_PORT:-5432}" && return 0
		sleep 0.5
	done
	cat "$dir/server.log" >&2
	die "the server did not start under valgrind"
}

valgrind_errors() {
	local dir=$1
	cat "$dir"/valgrind.*.log 2>/dev/null | awk '
		/^==[0-9]+== $/ { if (block ~ /wastore\.so|\((args|wastore|store|store_cache|keys|commit|locks|plans|creds|chat|chat_[a-z]+|prune|lthash|lthash_core_[a-z0-9]+|appstate_[a-z_]+)\.c:/) print block; block = ""; next }
		{ block = block $0 "\n" }
		END { if (block ~ /wastore\.so|\((args|wastore|store|store_cache|keys|commit|locks|plans|creds|chat|chat_[a-z]+|prune|lthash|lthash_core_[a-z0-9]+|appstate_[a-z_]+)\.c:/) print block }'
}

cluster_stop() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] &&
		as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	return 0
}

# bouncer_start DIR PORT DB: Debian's pgbouncer in transaction pooling mode
# with two server connections, in front of database DB of the cluster that
# PGHOST/PGPORT name, its socket in DIR (a directory the postgres user can
# write); the caller stops it with bouncer_stop DIR.
bouncer_start() {
	local dir=$1 port=$2 db=$3 i
	ensure_packages pgbouncer
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$dir"
	as_pg tee "$dir/pgbouncer.ini" >/dev/null <<-INI
		[databases]
		$db = host=$PGHOST port=$PGPORT dbname=$db user=postgres
		[pgbouncer]
		listen_addr =
		listen_port = $port
		unix_socket_dir = $dir
		auth_type = trust
		auth_file = $dir/userlist.txt
		pool_mode = transaction
		default_pool_size = 2
		max_client_conn = 100
		logfile = $dir/pgbouncer.log
		pidfile = $dir/pgbouncer.pid
	INI
	echo '"postgres" ""' | as_pg tee "$dir/userlist.txt" >/dev/null
	as_pg /usr/sbin/pgbouncer -d "$dir/pgbouncer.ini" 9>&-
	for i in $(seq 50); do [ -S "$dir/.s.PGSQL.$port" ] && break; sleep 0.1; done
	[ -S "$dir/.s.PGSQL.$port" ] || { cat "$dir/pgbouncer.log" >&2; die "pgbouncer did not start"; }
}
bouncer_stop() { as_pg kill "$(cat "$1/pgbouncer.pid" 2>/dev/null)" 2>/dev/null || true; }
