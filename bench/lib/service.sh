# Sourced by the bench scripts. bench_service_start PORT LOG [NAME=VALUE ...] builds the service in
# Release mode (once per script), starts it on 127.0.0.1:PORT with the given settings as
# environment variables and a fresh API key in BENCH_KEY, and waits until /health/ready
# responds with 200.
# BENCH_SERVICE_PID is its process id; bench_service_stop stops it.

bench_service_start() {
    local port="$1" log="$2"
    shift 2
    if [[ -z "${BENCH_BUILT:-}" ]]; then
        dotnet build -c Release "$BENCH_ROOT/src/AgentApi" > "$log.build" 2>&1 || { cat "$log.build" >&2; return 1; }
        BENCH_BUILT=1
    fi
    BENCH_KEY="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    env Auth__ApiKeys__0="$BENCH_KEY" RateLimits__PermitsPerWindow=0 Logging__LogLevel__Default=Warning "$@" \
        dotnet "$BENCH_ROOT/src/AgentApi/bin/Release/net10.0/AgentApi.dll" --urls "http://127.0.0.1:$port" > "$log" 2>&1 &
    BENCH_SERVICE_PID=$!
    local _
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null && return 0
        kill -0 "$BENCH_SERVICE_PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "the service did not start; see the log:" >&2
    cat "$log" >&2
    return 1
}

bench_service_stop() {
    if [[ -n "${BENCH_SERVICE_PID:-}" ]]; then
        kill "$BENCH_SERVICE_PID" 2>/dev/null || true
        wait "$BENCH_SERVICE_PID" 2>/dev/null || true
        BENCH_SERVICE_PID=""
    fi
}

# Prints the resident memory of a process in bytes.
bench_rss_bytes() {
    awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"
}

# Prints the CPU seconds (user and system) the given processes have used so far.
bench_cpu_seconds() {
    local ticks
    ticks=$(getconf CLK_TCK)
    for pid in "$@"; do
        [[ -r "/proc/$pid/stat" ]] && awk '{ print $14 + $15 }' "/proc/$pid/stat"
    done | awk -v t="$ticks" '{ s += $1 } END { printf "%.2f\n", s / t }'
}

# Prints the process ids of the PostgreSQL server running from data folder $1 and its backends.
bench_postgres_pids() {
    local main
    main=$(head -1 "$1/postmaster.pid")
    echo "$main" $(pgrep -P "$main")
}
