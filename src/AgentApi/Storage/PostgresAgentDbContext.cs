using Microsoft.EntityFrameworkCore;

namespace AgentApi.Storage;

/// <summary>The PostgreSQL flavour of <see cref="AgentDbContext"/>, with migrations in <c>migrations/Postgres</c>.</summary>
public sealed class PostgresAgentDbContext(DbContextOptions<PostgresAgentDbContext> options)
    : AgentDbContext(options);
