#!/usr/bin/env bash
# Adds an EF Core migration for both database providers: scripts/add-migration.sh NAME
# The model snapshot is moved next to the migrations, because dotnet ef writes it under the
# project folder when the migrations folder lies outside the project.
set -euo pipefail
name=${1:?usage: scripts/add-migration.sh NAME}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dotnet tool restore >/dev/null
for provider in Postgres Sqlite; do
    dotnet ef migrations add "$name" \
        --project src/AgentApi \
        --context "${provider}AgentDbContext" \
        --output-dir "../../migrations/$provider" \
        --namespace "AgentApi.Migrations.$provider"
    stray="src/AgentApi/AgentApi/Migrations/$provider"
    if [ -d "$stray" ]; then
        mv "$stray"/*.cs "migrations/$provider/"
    fi
done
rm -rf src/AgentApi/AgentApi
