#!/usr/bin/env bash
# All benchmarks, or the ones named: keys, lthash, proxy, chat.  Each sets up its own
# cluster and prints its table of medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(keys lthash proxy chat)
for part in "${parts[@]}"; do
	"bench/$part/run.sh"
done
