#!/usr/bin/env bash
# Submission throughput: 16 connections of wrk POST tasks for DURATION seconds, RUNS times, and
# print accepted tasks per second and p99 response time, with the median of the runs. The main
# lane is paused (limit 0), so that the figure is the cost of accepting a task durably (task row,
# queued event, and its place in the lane) and not of running it. The baseline, measured first on the same
# throw-away PostgreSQL, is pgbench with 8 clients doing one single-row insert per transaction.
# Usage: bench/submit.sh [DURATION_S=20] [RUNS=3] [CONNECTIONS=16] [PORT=5401]
set -euo pipefail
duration=${1:-20}
runs=${2:-3}
connections=${3:-16}
port=${4:-5401}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib/postgres.sh"
source "$BENCH_ROOT/bench/lib/service.sh"
command -v wrk > /dev/null || { echo "wrk is missing; install it with: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'bench_service_stop; bench_postgres_stop; rm -rf "$work"' EXIT

bench_postgres_start "$work/pg" $((port + 1000))
bench_psql "create table bench_insert (id bigserial primary key, payload text not null, created_at timestamptz not null default now())" > /dev/null
echo "insert into bench_insert (payload) values ('benchmark task');" > "$work/insert.sql"
chmod 644 "$work/insert.sql"
pgbench_tps=$(bench_postgres_as_owner "$BENCH_POSTGRES_BIN/pgbench" -h 127.0.0.1 -p "$BENCH_POSTGRES_PORT" -U postgres -n -c 8 -j 2 -T 10 \
    -f "$work/insert.sql" agentapi 2>/dev/null | awk '/^tps/ { printf "%.0f", $3 }')
echo "baseline: pgbench single-row insert, 8 clients: $pgbench_tps transactions/s"

bench_service_start "$port" "$work/service.log" ConnectionStrings__Postgres="$BENCH_CONNECTION" \
    Storage__DataDirectory="$work/data" Lanes__main__MaxConcurrent=0
export BENCH_KEY
url="http://127.0.0.1:$port/api/tasks"
wrk -t2 -c"$connections" -d5s -s "$BENCH_ROOT/bench/submit.lua" "$url" > /dev/null

rates=()
p99s=()
for run in $(seq 1 "$runs"); do
    service_cpu=$(bench_cpu_seconds "$BENCH_SERVICE_PID")
    postgres_cpu=$(bench_cpu_seconds $(bench_postgres_pids "$BENCH_POSTGRES_DIR"))
    out=$(wrk -t2 -c"$connections" -d"${duration}s" -s "$BENCH_ROOT/bench/submit.lua" "$url")
    service_cpu=$(awk -v a="$(bench_cpu_seconds "$BENCH_SERVICE_PID")" -v b="$service_cpu" -v d="$duration" 'BEGIN { printf "%.2f", (a - b) / d }')
    postgres_cpu=$(awk -v a="$(bench_cpu_seconds $(bench_postgres_pids "$BENCH_POSTGRES_DIR"))" -v b="$postgres_cpu" -v d="$duration" 'BEGIN { printf "%.2f", (a - b) / d }')
    rate=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<< "$out")
    p99=$(sed -nE 's/.*p99_ms=([0-9.]+).*/\1/p' <<< "$out")
    errors=$(sed -nE 's/.*errors=([0-9]+).*/\1/p' <<< "$out")
    echo "run $run: $rate accepted/s, p99 $p99 ms, $errors errors or non-2xx responses; cores busy: service $service_cpu, PostgreSQL $postgres_cpu"
    rates+=("$rate")
    p99s+=("$p99")
done
stored=$(bench_psql "select count(*) from tasks")
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rate=$(median "${rates[@]}")
echo "submit: median $rate accepted/s, p99 $(median "${p99s[@]}") ms over $runs runs of ${duration} s with $connections connections;" \
    "$(awk -v a="$rate" -v b="$pgbench_tps" 'BEGIN { printf "%.1f %%", 100 * a / b }') of the pgbench baseline; $stored tasks stored"
