#!/usr/bin/env bash
# Times a newcomer's first task: starts the service in embedded mode on a fresh data folder (or
# on PostgreSQL when ConnectionStrings__Postgres is set), reads the printed key, submits one task
# with curl and polls until it finishes. Prints the milliseconds from the POST to "succeeded"
# and whether the task ran through a Hangfire job, which the Hangfire dashboard would list. A task
# without a session key starts in-process and has none (Tasks__StartInProcess).
# Usage: bench/first-task.sh [PORT]
set -euo pipefail
port=${1:-5390}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

dotnet build -c Release "$root/src/AgentApi" > "$work/build.log"
Storage__DataDirectory="$work/data" dotnet "$root/src/AgentApi/bin/Release/net10.0/AgentApi.dll" \
    --urls "http://127.0.0.1:$port" > "$work/service.log" 2>&1 &
pid=$!

key=""
for _ in $(seq 1 100); do
    key=$(sed -n 's/^  API key: *//p' "$work/service.log")
    [ -n "$key" ] && break
    sleep 0.2
done
[ -n "$key" ] || { echo "no key was printed; see the log:" >&2; cat "$work/service.log" >&2; exit 1; }

start=$(date +%s%N)
id=$(curl -s -X POST "http://127.0.0.1:$port/api/tasks" -H "X-Api-Key: $key" -H 'Content-Type: application/json' \
    -d '{"input": "Summarise the three attached reports"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
status=""
for _ in $(seq 1 500); do
    status=$(curl -s "http://127.0.0.1:$port/api/tasks/$id" -H "X-Api-Key: $key" | sed -E 's/.*"status":"([^"]+)".*/\1/')
    [ "$status" = "succeeded" ] || [ "$status" = "failed" ] && break
    sleep 0.01
done
end=$(date +%s%N)

succeeded_jobs=$(curl -s "http://127.0.0.1:$port/hangfire/jobs/succeeded" -H "X-Api-Key: $key" | grep -c "RunTaskJob" || true)
echo "task $id: $status after $(( (end - start) / 1000000 )) ms; ran through a Hangfire job (RunTaskJob on the succeeded-jobs page): $([ "$succeeded_jobs" -gt 0 ] && echo yes || echo no)"
