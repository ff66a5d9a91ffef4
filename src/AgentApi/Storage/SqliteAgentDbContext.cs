using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace AgentApi.Storage;

/// <summary>The SQLite flavour of <see cref="AgentDbContext"/>, with migrations in <c>migrations/Sqlite</c>.</summary>
public sealed class SqliteAgentDbContext(DbContextOptions<SqliteAgentDbContext> options)
    : AgentDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no date type that sorts and compares correctly, so instants are stored as
        // 64-bit numbers that keep their order.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}
