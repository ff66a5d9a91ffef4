#!/usr/bin/env bash
# End-to-end throughput: wrk submits tasks from 16 connections for DURATION seconds to a service
# whose main lane runs 64 at once on the simulated model at 0 ms. The figure is tasks completed
# per second from the first task's creation to the last stored result, read from the database.
# Run with a DURATION that gives at least 20,000 tasks. The baseline, in the same run and on the
# same PostgreSQL, is Hangfire's stock pipeline: no-op jobs enqueued and run by 10 workers.
# Usage: bench/e2e.sh [DURATION_S=20] [RUNS=3] [BASELINE_JOBS=5000] [PORT=5402]
set -euo pipefail
duration=${1:-20}
runs=${2:-3}
baseline_jobs=${3:-5000}
port=${4:-5402}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib/postgres.sh"
source "$BENCH_ROOT/bench/lib/service.sh"
command -v wrk > /dev/null || { echo "wrk is missing; install it with: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'bench_service_stop; bench_postgres_stop; rm -rf "$work"' EXIT
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

bench_postgres_start "$work/pg" $((port + 1000))
dotnet build -c Release "$BENCH_ROOT/bench/AgentApi.HangfireBaseline" > "$work/baseline.build" 2>&1 || { cat "$work/baseline.build" >&2; exit 1; }
baselines=()
for run in $(seq 1 "$runs"); do
    bench_psql "create database hangfire_$run" > /dev/null
    line=$(dotnet "$BENCH_ROOT/bench/AgentApi.HangfireBaseline/bin/Release/net10.0/AgentApi.HangfireBaseline.dll" \
        "Host=127.0.0.1;Port=$BENCH_POSTGRES_PORT;Username=postgres;Database=hangfire_$run" "$baseline_jobs")
    echo "baseline run $run: ${line#hangfire: }"
    baselines+=("$(sed -nE 's/.* = ([0-9]+) jobs\/s/\1/p' <<< "$line")")
done
baseline=$(median "${baselines[@]}")

export BENCH_KEY
rates=()
for run in $(seq 1 "$runs"); do
    bench_psql "create database agentapi_$run" > /dev/null
    connection="Host=127.0.0.1;Port=$BENCH_POSTGRES_PORT;Username=postgres;Database=agentapi_$run"
    bench_service_start "$port" "$work/service-$run.log" ConnectionStrings__Postgres="$connection" \
        Storage__DataDirectory="$work/data-$run" Lanes__main__MaxConcurrent=64 Models__Default__LatencyMs=0
    wrk -t2 -c16 -d"${duration}s" -s "$BENCH_ROOT/bench/submit.lua" "http://127.0.0.1:$port/api/tasks" > "$work/wrk-$run.txt"
    query() { bench_postgres_as_owner "$BENCH_POSTGRES_BIN/psql" -h 127.0.0.1 -p "$BENCH_POSTGRES_PORT" -U postgres -d "agentapi_$run" -tAc "$1"; }
    for _ in $(seq 1 600); do
        [[ "$(query "select count(*) from tasks where status not in ('succeeded', 'failed', 'cancelled', 'timed_out')")" == 0 ]] && break
        sleep 1
    done
    read -r count succeeded seconds < <(query "select count(*), count(*) filter (where status = 'succeeded'),
        extract(epoch from max(finished_at) - min(created_at)) from tasks" | tr '|' ' ')
    rate=$(awk -v n="$count" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
    echo "run $run: $count tasks ($succeeded succeeded) in $(printf '%.2f' "$seconds") s = $rate completed/s"
    rates+=("$rate")
    bench_service_stop
done
rate=$(median "${rates[@]}")
echo "e2e: median $rate completed/s over $runs runs; Hangfire no-op baseline median $baseline jobs/s;" \
    "ratio $(awk -v a="$rate" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')"
