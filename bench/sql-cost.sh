#!/usr/bin/env bash
# SQL cost per task: after a warm-up, runs COUNT tasks on the simulated model at 0 ms (16 at a
# time) on a cluster with pg_stat_statements. It prints statements and transactions per task over
# each task's whole life (submission, start, events, completion, and the Hangfire job of a task
# that takes one), and the statements with the most calls. Background work of the idle service
# (Hangfire's polling, lease renewal, the recovery sweep) during the same time is counted too and
# reported apart.
# Usage: bench/sql-cost.sh [COUNT=2000] [PORT=5404]
set -euo pipefail
count=${1:-2000}
port=${2:-5404}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib/postgres.sh"
source "$BENCH_ROOT/bench/lib/service.sh"
work=$(mktemp -d)
chmod 755 "$work"
trap 'bench_service_stop; bench_postgres_stop; rm -rf "$work"' EXIT

bench_postgres_start "$work/pg" $((port + 1000)) "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
bench_psql "create extension pg_stat_statements" > /dev/null
bench_service_start "$port" "$work/service.log" ConnectionStrings__Postgres="$BENCH_CONNECTION" \
    Storage__DataDirectory="$work/data" Lanes__main__MaxConcurrent=16 Models__Default__LatencyMs=0

submit() { python3 "$BENCH_ROOT/bench/submit-many.py" "http://127.0.0.1:$port" "$BENCH_KEY" "$1"; }
wait_idle() {
    for _ in $(seq 1 600); do
        [[ "$(bench_psql "select count(*) from tasks where status not in ('succeeded', 'failed', 'cancelled', 'timed_out')")" == 0 ]] && return
        sleep 0.5
    done
}
counters() { bench_psql "select sum(calls) from pg_stat_statements where query not like '%pg_stat_statements%'" ; }
commits() { bench_psql "select xact_commit + xact_rollback from pg_stat_database where datname = 'agentapi'"; }

submit 200
wait_idle
sleep 2
# Idle background work first, over the same wall time as the measured run takes, afterwards.
bench_psql "select pg_stat_statements_reset()" > /dev/null
bench_psql "select pg_stat_reset()" > /dev/null
start=$(date +%s.%N)
submit "$count"
wait_idle
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
# Backends publish their transaction counts up to a second late.
sleep 2
statements=$(counters)
transactions=$(commits)
bench_psql "select calls, left(regexp_replace(query, '\s+', ' ', 'g'), 110) from pg_stat_statements
    where query not like '%pg_stat_statements%' order by calls desc limit 15" > "$work/top.txt"
bench_psql "select pg_stat_statements_reset()" > /dev/null
bench_psql "select pg_stat_reset()" > /dev/null
sleep "$elapsed"
sleep 2
idle_statements=$(counters)
idle_transactions=$(commits)
awk -v n="$count" -v s="$statements" -v t="$transactions" -v is="$idle_statements" -v it="$idle_transactions" -v e="$elapsed" 'BEGIN {
    printf "sql-cost: %d tasks in %.1f s: %.1f statements and %.1f transactions per task (%.1f and %.1f after taking away the idle service'"'"'s %d statements and %d transactions over the same time)\n",
        n, e, s / n, t / n, (s - is) / n, (t - it) / n, is, it }'
echo "most called statements (calls, query):"
sed 's/^/  /' "$work/top.txt"
