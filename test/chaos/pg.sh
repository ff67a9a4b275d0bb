#!/usr/bin/env bash
# The chaos run's database faults, called by supervisor.js:
#   pg.sh kill DIR        SIGKILL the postmaster of the cluster in DIR and
#                         every backend (as a power cut would), and wait
#                         until they are gone
#   pg.sh start DIR PORT  start it again (crash recovery runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

case $1 in
kill)
	pm=$(head -1 "$2/data/postmaster.pid")
	kill -9 "$pm" $(pgrep -P "$pm") 2>/dev/null || true
	while kill -0 "$pm" 2>/dev/null || pgrep -P "$pm" >/dev/null 2>&1; do sleep 0.05; done
	;;
start)
	CLUSTER_PORT=$3 cluster_run "$2"
	;;
*) die "usage: pg.sh kill DIR | start DIR PORT" ;;
esac
