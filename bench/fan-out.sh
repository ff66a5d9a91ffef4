#!/usr/bin/env bash
# Times one parent with 1,000 children that each take 100 ms on the simulated model, with the
# subagent lane at 100, so the ideal is 10 waves of 100 ms = 1.0 s. The children's agent uses a
# model of its own ("Worker", 100 ms); the parent's synthesis uses Default at 0 ms. Runs in
# embedded mode, or on PostgreSQL when ConnectionStrings__Postgres is set. WARMUPS fan-outs of the
# same size run first (default 20), because the JIT keeps recompiling hot code for the first
# several thousand children and a long-running service is past that. After 8 warm-ups the
# service still used 1.2 to 1.3 s of CPU in the first measured fan-outs and 0.7 s in the fourth.
# Then RUNS fan-outs are measured (default 5).
# Usage: bench/fan-out.sh [CHILDREN] [PORT]
set -euo pipefail
children=${1:-1000}
port=${2:-5391}
warmups=${WARMUPS:-20}
runs=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/agents"
cat > "$work/agents/worker.md" <<'AGENT'
---
name: worker
description: A benchmark child that calls the Worker model once.
tools: []
model: Worker
---
Answer briefly.
AGENT

dotnet build -c Release "$root/src/AgentApi" > "$work/build.log"
key="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
Auth__ApiKeys__0="$key" Storage__DataDirectory="$work/data" Agents__Directory="$work/agents" \
Lanes__subagent__MaxConcurrent=100 Tasks__MaxChildren="$children" \
Models__Default__LatencyMs=0 Models__Worker__Provider=simulated Models__Worker__LatencyMs=100 \
Logging__LogLevel__Default=Warning \
    dotnet "$root/src/AgentApi/bin/Release/net10.0/AgentApi.dll" --urls "http://127.0.0.1:$port" > "$work/service.log" 2>&1 &
pid=$!

for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null && break
    sleep 0.2
done
curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null || { echo "the service did not start; see the log:" >&2; cat "$work/service.log" >&2; exit 1; }

# Warm-up fan-outs first, so the measured ones run on a warm process, as in production.
submit() {
    python3 -c "import json,sys; n=int(sys.argv[1]); print(json.dumps({'input':'Fan out','subtasks':[{'agent':'worker','input':f'child {i}'} for i in range(n)]}))" "$1" \
        | curl -s -X POST "http://127.0.0.1:$port/api/tasks" -H "X-Api-Key: $key" -H 'Content-Type: application/json' -d @- \
        | sed -E 's/.*"id":"([^"]+)".*/\1/'
}
# Follows the task's event stream, which ends after its final event, then reads the task once.
# Polling GET /api/tasks/{id} instead would load and serialize all its children about 20 times a
# second on the service's cores while it runs the fan-out being measured.
wait_for() {
    curl -sN --max-time 300 "http://127.0.0.1:$port/api/tasks/$1/events" \
        -H "X-Api-Key: $key" -H 'Accept: text/event-stream' > /dev/null
    task=$(curl -s "http://127.0.0.1:$port/api/tasks/$1" -H "X-Api-Key: $key")
}
for _ in $(seq 1 "$warmups"); do
    wait_for "$(submit "$children")"
done

# Prints the service's CPU time so far (user plus system) in clock ticks.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$pid/stat"
}
ticks_per_second=$(getconf CLK_TCK)

walls=()
for run in $(seq 1 "$runs"); do
    cpu_before=$(cpu_ticks)
    id=$(submit "$children")
    wait_for "$id"
    cpu_after=$(cpu_ticks)
    echo "run $run: service CPU $(awk -v t=$((cpu_after - cpu_before)) -v hz="$ticks_per_second" 'BEGIN { printf "%.2f", t / hz }') s from submission to the final event, load average $(cut -d' ' -f1 /proc/loadavg)" >&2
    walls+=("$(python3 - "$task" "$children" "$run" <<'PY'
import json, sys
from datetime import datetime
task = json.loads(sys.argv[1]); n = int(sys.argv[2])
started = datetime.fromisoformat(task["startedAt"]); finished = datetime.fromisoformat(task["finishedAt"])
wall = (finished - started).total_seconds()
ideal = (n + 99) // 100 * 0.1
ok = sum(1 for c in task["children"] if c["status"] == "succeeded")
print(f"run {sys.argv[3]}: parent {task['status']}: {ok} of {n} children succeeded; wall {wall:.3f} s, ideal {ideal:.1f} s, {100 * (wall - ideal) / ideal:+.1f} %", file=sys.stderr)
print(f"{wall:.3f}")
PY
)")
done
printf '%s\n' "${walls[@]}" | sort -n | awk -v n="$children" '{ w[NR] = $1 } END {
    ideal = int((n + 99) / 100) * 0.1; m = (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
    printf "median of %d runs: %.3f s, %+.1f %% (fastest %.3f s, slowest %.3f s)\n", NR, m, 100 * (m - ideal) / ideal, w[1], w[NR] }'
echo "service peak resident memory: $(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status"), now $(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status")"
