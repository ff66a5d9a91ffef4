#!/usr/bin/env bash
# Runs the project's whole test suite and prints "N passed, N failed, N skipped" as the
# last line. Extra arguments go to `dotnet test`, e.g. --filter "FullyQualifiedName~Infrastructure".
# The exit code is that of `dotnet test`.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
results_dir="$repo_root/TestResults"

# Prints the first directory that contains initdb, pg_ctl and postgres: on PATH first,
# else the highest version under /usr/lib/postgresql/*/bin. tests/AgentApi.Tests/Infrastructure/PostgresServer.cs
# searches the same way.
find_postgres_bin_dir() {
  local dir
  local -a path_dirs
  IFS=: read -r -a path_dirs <<< "${PATH:-}"
  for dir in "${path_dirs[@]}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -V -r); do
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}

# A server named by ConnectionStrings__Postgres makes local binaries unnecessary.
if [[ -z "${ConnectionStrings__Postgres:-}" ]] && ! find_postgres_bin_dir > /dev/null; then
  if [[ "$(id -u)" -eq 0 ]]; then
    echo "PostgreSQL server binaries were not found, so the postgresql package is being installed." >&2
    apt-get update
    # The tests start their own throw-away cluster, so the Debian cluster need not run.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
    if ! find_postgres_bin_dir > /dev/null; then
      echo "PostgreSQL server binaries are still missing after installing postgresql." >&2
      exit 1
    fi
  else
    echo "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or under /usr/lib/postgresql/*/bin." >&2
    echo "Install them as root, e.g. apt-get install -y postgresql, or set ConnectionStrings__Postgres to a running server." >&2
    exit 1
  fi
fi

# The browser tests drive Debian's Chromium at this path; Playwright's own browser downloads are
# never used. Without it those tests fail with a message saying so, and the others still run.
chromium_path=/usr/bin/chromium
if [[ ! -x "$chromium_path" ]]; then
  if [[ "$(id -u)" -eq 0 ]]; then
    echo "Chromium was not found at $chromium_path, so the chromium package is being installed for the browser tests." >&2
    apt-get update
    # fonts-liberation gives the screenshots readable text.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation
  else
    echo "Chromium was not found at $chromium_path, so the browser tests will fail. Install it as root: apt-get install -y chromium" >&2
  fi
fi

rm -rf "$results_dir"

set +e
dotnet test AgentApi.sln -c Release \
  --logger "trx;LogFilePrefix=results" \
  --logger "console;verbosity=minimal" \
  --results-directory "$results_dir" \
  "$@"
test_status=$?
set -e

# Prints one numeric attribute of a trx <Counters .../> element, or 0 when it is absent.
counter_value() {
  local counters="$1" name="$2"
  if [[ "$counters" =~ [[:space:]]$name=\"([0-9]+)\" ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}"
  else
    printf '0\n'
  fi
}

passed=0
failed=0
skipped=0
shopt -s nullglob
trx_files=("$results_dir"/*.trx)
shopt -u nullglob
if [[ ${#trx_files[@]} -eq 0 ]]; then
  echo "No .trx result files were written to $results_dir, so the build or the test run failed before any test ran." >&2
fi

for trx in "${trx_files[@]}"; do
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)"
  if [[ -z "$counters" ]]; then
    echo "No <Counters> element in $trx." >&2
    continue
  fi

  total="$(counter_value "$counters" total)"
  executed="$(counter_value "$counters" executed)"
  passed=$((passed + $(counter_value "$counters" passed)))
  # Errors, timeouts and aborted tests count as failures, so none of them go unreported.
  failed=$((failed + $(counter_value "$counters" failed) + $(counter_value "$counters" error) \
    + $(counter_value "$counters" timeout) + $(counter_value "$counters" aborted)))
  skipped=$((skipped + total - executed))
done

echo "$passed passed, $failed failed, $skipped skipped"
exit "$test_status"
