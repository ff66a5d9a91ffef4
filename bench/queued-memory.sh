#!/usr/bin/env bash
# Memory per queued task: pauses the main lane (limit 0), submits COUNT tasks and waits until each
# one waits in the lane (a task without a session key goes there when its row is stored). It
# prints the growth of the service's resident memory divided by the number of tasks that joined
# the lane, with the readings before and after.
# Usage: bench/queued-memory.sh [COUNT=100000] [PORT=5405]
set -euo pipefail
count=${1:-100000}
port=${2:-5405}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib/postgres.sh"
source "$BENCH_ROOT/bench/lib/service.sh"
work=$(mktemp -d)
chmod 755 "$work"
trap 'bench_service_stop; bench_postgres_stop; rm -rf "$work"' EXIT

bench_postgres_start "$work/pg" $((port + 1000))
bench_service_start "$port" "$work/service.log" ConnectionStrings__Postgres="$BENCH_CONNECTION" \
    Storage__DataDirectory="$work/data" Lanes__main__MaxConcurrent=0
base="http://127.0.0.1:$port"
waiting() {
    curl -s "$base/api/lanes" -H "X-Api-Key: $BENCH_KEY" \
        | python3 -c "import json, sys; print(next(lane['queued'] for lane in json.load(sys.stdin) if lane['name'] == 'main'))"
}
wait_for_waiting() {
    local _
    for _ in $(seq 1 1200); do
        [[ "$(waiting)" -ge "$1" ]] && return
        sleep 1
    done
    echo "fewer than $1 tasks reached the lane" >&2
    return 1
}

# A warm-up of 1,000 tasks, so that the first reading includes the code paths and pools in use.
python3 "$BENCH_ROOT/bench/submit-many.py" "$base" "$BENCH_KEY" 1000
wait_for_waiting 1000
sleep 5
before=$(bench_rss_bytes "$BENCH_SERVICE_PID")
before_waiting=$(waiting)

start=$(date +%s)
python3 "$BENCH_ROOT/bench/submit-many.py" "$base" "$BENCH_KEY" "$count"
wait_for_waiting $((before_waiting + count))
sleep 5
after=$(bench_rss_bytes "$BENCH_SERVICE_PID")
queued=$(( $(waiting) - before_waiting ))
echo "queued-memory: $queued more tasks waiting in the paused lane after $(( $(date +%s) - start )) s;" \
    "resident memory $((before / 1048576)) MiB before, $((after / 1048576)) MiB after:" \
    "$(awk -v a="$after" -v b="$before" -v n="$queued" 'BEGIN { printf "%.0f", (a - b) / n }') bytes per queued task"
