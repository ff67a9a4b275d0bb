#!/usr/bin/env bash
# All benchmarks, or the ones named: keys, lthash, proxy, chat, node.  Each sets up its own
# cluster and prints its table of medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(keys lthash proxy chat node)
for part in "${parts[@]}"; do
	"bench/$part/run.sh"
done
