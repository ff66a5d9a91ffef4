#!/usr/bin/env bash
# Soak run: starts a throw-away PostgreSQL and the service in Release mode with the simulated
# model, and submits RATE tasks per second for DURATION seconds. Once a minute it prints accepted
# and finished counts, errors, p99 submission time and the service's resident memory. The last
# line compares resident memory after WARMUP seconds with the end of the run.
# Usage: bench/soak.sh [DURATION_S=1800] [RATE=20] [PORT=5393] [WARMUP_S=300]
set -euo pipefail
duration=${1:-1800}
rate=${2:-20}
port=${3:-5393}
warmup=${4:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib/postgres.sh"
work=$(mktemp -d)
chmod 755 "$work"
pid=""
cleanup() {
    [[ -n "$pid" ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    bench_postgres_stop
    rm -rf "$work"
}
trap cleanup EXIT

bench_postgres_start "$work/pg" $((port + 1000))
dotnet build -c Release "$root/src/AgentApi" > "$work/build.log"
key="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ConnectionStrings__Postgres="$BENCH_CONNECTION" Auth__ApiKeys__0="$key" Storage__DataDirectory="$work/data" \
Lanes__main__MaxConcurrent=8 Models__Default__LatencyMs=200 RateLimits__PermitsPerWindow=0 \
Logging__LogLevel__Default=Warning \
    dotnet "$root/src/AgentApi/bin/Release/net10.0/AgentApi.dll" --urls "http://127.0.0.1:$port" > "$work/service.log" 2>&1 &
pid=$!

for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null && break
    sleep 0.2
done
curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null || { echo "the service did not start; see the log:" >&2; cat "$work/service.log" >&2; exit 1; }

echo "soak: ${duration} s at ${rate} tasks/s, simulated model 200 ms, main lane 8, PostgreSQL $("$BENCH_POSTGRES_BIN/postgres" --version | awk '{print $3}'), $(nproc) cores"
psql=("$BENCH_POSTGRES_BIN/psql" -h 127.0.0.1 -p $((port + 1000)) -U postgres -d agentapi -tAc)
[[ "$(id -u)" -eq 0 ]] && psql=(runuser -u postgres -- "${psql[@]}")
status=0
python3 "$root/bench/soak.py" "http://127.0.0.1:$port" "$key" "$pid" "$duration" "$rate" 60 "$warmup" "${psql[@]}" || status=$?
warnings=$(grep -c -E '^(warn|fail|crit):' "$work/service.log" || true)
echo "service log: $warnings warnings or errors, by level, category and event id:"
grep -E '^(warn|fail|crit):' "$work/service.log" | sort | uniq -c | sort -rn | head -10 || true
grep -E -A3 '^(fail|crit):' "$work/service.log" | head -20 || true
exit "$status"
