using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AgentApi.Storage;

/// <summary>Lets <c>dotnet ef migrations add</c> build the PostgreSQL model without a database.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresAgentDbContext>
{
    public PostgresAgentDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresAgentDbContext>()
            .UseNpgsql("Host=localhost;Database=agentapi_design")
            .UseSnakeCaseNamingConvention()
            .Options);
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the SQLite model without a file.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteAgentDbContext>
{
    public SqliteAgentDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteAgentDbContext>()
            .UseSqlite("Data Source=design.db")
            .UseSnakeCaseNamingConvention()
            .Options);
}
