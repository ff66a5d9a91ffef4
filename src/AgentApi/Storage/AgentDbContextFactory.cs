using Microsoft.EntityFrameworkCore;

namespace AgentApi.Storage;

/// <summary>Hands out the provider's context as the base <see cref="AgentDbContext"/>.</summary>
internal sealed class AgentDbContextFactory<TContext>(IDbContextFactory<TContext> inner)
    : IDbContextFactory<AgentDbContext>
    where TContext : AgentDbContext
{
    public AgentDbContext CreateDbContext() => inner.CreateDbContext();
}
