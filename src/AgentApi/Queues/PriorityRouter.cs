using System.Text.RegularExpressions;
using AgentApi.Tasks;
using Microsoft.Extensions.Options;

namespace AgentApi.Queues;

/// <summary>Chooses a task's priority: the submitted one, else the first matching route, else default.</summary>
public sealed class PriorityRouter
{
    private readonly IReadOnlyList<(Regex Pattern, TaskPriority Priority)> _routes;

    public PriorityRouter(IOptions<QueueOptions> options)
    {
        List<(Regex, TaskPriority)> routes = [];
        foreach (var route in options.Value.Routes)
        {
            if (!WireNames<TaskPriority>.TryParse(route.Priority, out var priority))
            {
                throw new InvalidOperationException(
                    $"Queues:Routes has priority '{route.Priority}' for pattern '{route.Pattern}'; " +
                    $"use one of {string.Join(", ", WireNames<TaskPriority>.All)}.");
            }

            routes.Add((GlobToRegex(route.Pattern), priority));
        }

        _routes = routes;
    }

    public TaskPriority Route(TaskPriority? requested, string? name)
    {
        if (requested is { } priority)
        {
            return priority;
        }

        if (name is not null)
        {
            foreach (var (pattern, routed) in _routes)
            {
                if (pattern.IsMatch(name))
                {
                    return routed;
                }
            }
        }

        return TaskPriority.Default;
    }

    private static Regex GlobToRegex(string glob)
    {
        var pattern = "^" + Regex.Escape(glob).Replace(@"\*", ".*", StringComparison.Ordinal)
            .Replace(@"\?", ".", StringComparison.Ordinal) + "$";
        return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase | RegexOptions.Compiled, TimeSpan.FromMilliseconds(100));
    }
}
