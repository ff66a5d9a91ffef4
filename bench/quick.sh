#!/usr/bin/env bash
# The quick version of the whole benchmark suite, in about 6 minutes on two cores: each script once
# with a short duration, one after another so that they do not share the cores. The figures are
# single runs, so use the scripts themselves (three runs each, as their defaults) for recorded ones.
# Usage: bench/quick.sh
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s)
run() {
    echo "== $*"
    "$@" 2>&1 | grep -E '^(submit|e2e|sql-cost|queued-memory|baseline|soak|summary):|^run [0-9]+: client|^parent [a-z]+:' || echo "   $1 failed; run it on its own to see why"
}
run bash "$bench/submit.sh" 10 1
run bash "$bench/e2e.sh" 10 1 2000
run bash "$bench/pickup.sh" 300 1
run bash "$bench/sql-cost.sh" 500
run bash "$bench/queued-memory.sh" 20000
run bash "$bench/fan-out.sh" 1000
run bash "$bench/soak.sh" 90 20 5393 30
echo "quick suite: $(( $(date +%s) - started )) s"
