#!/usr/bin/env bash
# Pickup latency on an idle service: COUNT tasks one after another on the simulated model at
# 0 ms, each submitted after the previous one finished. Each run prints the client's time from
# the 202 to the started event on the task's event stream, an upper bound because the stream is
# opened after the 202. It also prints the server's time from the row's creation to that event,
# split at the timestamp of the queued event, which the service takes just before the insert.
# Usage: bench/pickup.sh [COUNT=1000] [RUNS=3] [PORT=5403]
set -euo pipefail
count=${1:-1000}
runs=${2:-3}
port=${3:-5403}
BENCH_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$BENCH_ROOT/bench/lib/postgres.sh"
source "$BENCH_ROOT/bench/lib/service.sh"
work=$(mktemp -d)
chmod 755 "$work"
trap 'bench_service_stop; bench_postgres_stop; rm -rf "$work"' EXIT

bench_postgres_start "$work/pg" $((port + 1000))
bench_service_start "$port" "$work/service.log" ConnectionStrings__Postgres="$BENCH_CONNECTION" \
    Storage__DataDirectory="$work/data" Models__Default__LatencyMs=0
python3 "$BENCH_ROOT/bench/pickup.py" "http://127.0.0.1:$port" "$BENCH_KEY" 100 > /dev/null
for run in $(seq 1 "$runs"); do
    bench_psql "truncate task_events" > /dev/null
    client=$(python3 "$BENCH_ROOT/bench/pickup.py" "http://127.0.0.1:$port" "$BENCH_KEY" "$count")
    server=$(bench_psql "select round(percentile_cont(0.5) within group (order by ms)::numeric, 2) || ' ms, p99 ' ||
            round(percentile_cont(0.99) within group (order by ms)::numeric, 2) || ' ms'
        from (select extract(epoch from e.timestamp - t.created_at) * 1000 as ms
              from task_events e join tasks t on t.id = e.task_id where e.type = 'started') started")
    split=$(bench_psql "select round(percentile_cont(0.5) within group (order by a)::numeric, 2) || ' ms, then to started p50 ' ||
            round(percentile_cont(0.5) within group (order by b)::numeric, 2) || ' ms, p99 ' ||
            round(percentile_cont(0.99) within group (order by b)::numeric, 2) || ' ms'
        from (select extract(epoch from q.timestamp - t.created_at) * 1000 as a, extract(epoch from s.timestamp - q.timestamp) * 1000 as b
              from tasks t join task_events q on q.task_id = t.id and q.type = 'queued'
              join task_events s on s.task_id = t.id and s.type = 'started') steps")
    echo "run $run: client ${client#pickup: }; server, row created to started: p50 $server"
    echo "run $run: server steps, row created to the queued event's timestamp p50 $split"
done
