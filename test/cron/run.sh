#!/usr/bin/env bash
# wastore.prune scheduled with pg_cron (Debian's postgresql-15-cron): a
# throw-away cluster with pg_cron preloaded, rows that expire, the job of
# the README's how-to, and one run of it (pg_cron 1.4's smallest schedule is
# a minute, so the test waits up to ~70 s for the first run) that removes
# the expired rows and leaves the live ones.
#
#   test/cron/run.sh     (run by scripts/test.sh; needs wastore installed)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

ensure_packages postgresql-$PG_MAJOR-cron

work=$(mktemp -d /tmp/wastore-cron.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop "$work"; rm -rf "$work"' EXIT
[ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$work"

# pg_cron runs its jobs in background workers: the cluster listens on no
# TCP port, so the default (a libpq connection to localhost) cannot work.
export CLUSTER_PORT=5434
cluster_start "$work" -c fsync=off -c shared_preload_libraries=pg_cron \
	-c cron.database_name=wastore_cron -c cron.use_background_workers=on -c max_worker_processes=16
as_pg psql -X -q -d postgres -c "CREATE DATABASE wastore_cron"
sql() { as_pg psql -X -q -v ON_ERROR_STOP=1 -tA -d wastore_cron "$@"; }
sql -c "CREATE EXTENSION wastore" -c "CREATE EXTENSION pg_cron"
check_ok "pg_cron $(sql -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'") and wastore in one database"

# Expired rows in every part prune handles, in two stores, and live ones.
sql >/dev/null <<'SQL'
SELECT wastore.chat_kv_set('cron-' || s, 'gone', '1', '50 ms'), wastore.chat_kv_set('cron-' || s, 'kept', '1', '1 day'),
	   wastore.chat_list_append('cron-' || s, 'l', '1', NULL, '50 ms'),
	   wastore.chat_enqueue('cron-' || s, 'q', '{}', 5, clock_timestamp() + interval '50 ms'),
	   wastore.chat_mark_dedupe('cron-' || s, 'wa', 'm', 10, '50 ms'),
	   wastore.chat_acquire_lock('cron-' || s, 'k', 'o', 'reject', '{}', '50 ms'),
	   wastore.lease_acquire('cron-' || s, 'h', '50 ms')
  FROM generate_series(1, 2) s;
SQL
expired_rows() {
	sql -c "SELECT (SELECT count(*) FROM wastore.chat_kv WHERE expires_at <= clock_timestamp())
		+ (SELECT count(*) FROM wastore.chat_lists WHERE expires_at <= clock_timestamp())
		+ (SELECT count(*) FROM wastore.chat_queue WHERE expires_at <= clock_timestamp())
		+ (SELECT count(*) FROM wastore.chat_dedupe WHERE expires_at <= clock_timestamp())
		+ (SELECT count(*) FROM wastore.chat_locks WHERE expires_at <= clock_timestamp())
		+ (SELECT count(*) FROM wastore.leases WHERE expires_at <= clock_timestamp())"
}
sleep 0.2
n=$(expired_rows)
[ "$n" -eq 12 ] || check_fail "expected 12 expired rows before the schedule, found $n"
check_ok "12 expired rows in two stores before the job runs"

# The job of the README: every minute, as the extension's owner.
job=$(sql -c "SELECT cron.schedule('wastore-prune', '* * * * *', 'SELECT wastore.prune()')")
[ -n "$job" ] || check_fail "cron.schedule returned no job id"
check_ok "cron.schedule('wastore-prune', '* * * * *', 'SELECT wastore.prune()') is job $job"

status=
for ((i = 0; i < 75; i++)); do
	status=$(sql -c "SELECT status FROM cron.job_run_details WHERE jobid = $job AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1")
	[ -n "$status" ] && break
	sleep 1
done
[ "$status" = succeeded ] ||
	check_fail "the job did not succeed within 75 s (status '${status:-none}'): $(sql -c "SELECT return_message FROM cron.job_run_details WHERE jobid = $job")"
check_ok "the job ran and succeeded ($(sql -c "SELECT return_message FROM cron.job_run_details WHERE jobid = $job ORDER BY runid LIMIT 1"))"

n=$(expired_rows)
[ "$n" -eq 0 ] || check_fail "$n expired rows left after the job"
check_ok "the job pruned every expired row"
kept=$(sql -c "SELECT (SELECT count(*) FROM wastore.chat_kv WHERE key = 'kept') + (SELECT count(*) FROM wastore.chat_list_items)")
[ "$kept" -eq 2 ] || check_fail "expected the two live kv entries and no list item, found $kept rows"
check_ok "live rows stay; list items went with their expired list"

sql -c "SELECT cron.unschedule('wastore-prune')" >/dev/null
check_ok "cron.unschedule removes the job"
