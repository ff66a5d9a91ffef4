# Sourced by the bench scripts. bench_postgres_start DIR PORT [OPTIONS] starts a throw-away
# PostgreSQL cluster in DIR on 127.0.0.1:PORT (fsync stays on, as in production; OPTIONS are more
# "-c name=value" server settings) with an empty database agentapi, and sets BENCH_CONNECTION to
# its connection string. bench_psql runs a query there; bench_postgres_stop stops the cluster.

bench_postgres_bin() {
    local dir
    for dir in $(command -v initdb 2>/dev/null | xargs -r dirname) $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/psql" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    echo "PostgreSQL server binaries were not found; install them with: apt-get install -y postgresql" >&2
    return 1
}

# Runs a PostgreSQL binary as the postgres user when this shell is root, because initdb refuses root.
bench_postgres_as_owner() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

bench_postgres_start() {
    local dir="$1" port="$2" extra="${3:-}" bin
    bin=$(bench_postgres_bin)
    mkdir -p "$dir"
    [[ "$(id -u)" -eq 0 ]] && chown postgres "$dir"
    bench_postgres_as_owner "$bin/initdb" -D "$dir" -A trust -U postgres > "$dir.initdb.log" 2>&1
    bench_postgres_as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $extra" start > /dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    bench_postgres_as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "create database agentapi" > /dev/null
    BENCH_POSTGRES_DIR="$dir"
    BENCH_POSTGRES_BIN="$bin"
    BENCH_POSTGRES_PORT="$port"
    BENCH_CONNECTION="Host=127.0.0.1;Port=$port;Username=postgres;Database=agentapi"
}

bench_postgres_stop() {
    if [[ -n "${BENCH_POSTGRES_DIR:-}" ]]; then
        bench_postgres_as_owner "$BENCH_POSTGRES_BIN/pg_ctl" -D "$BENCH_POSTGRES_DIR" -m fast -w stop > /dev/null 2>&1 || true
        BENCH_POSTGRES_DIR=""
    fi
}

# Runs one query against the bench cluster and prints the rows, unaligned.
bench_psql() {
    bench_postgres_as_owner "$BENCH_POSTGRES_BIN/psql" -h 127.0.0.1 -p "$BENCH_POSTGRES_PORT" -U postgres -d agentapi -tAc "$1"
}
