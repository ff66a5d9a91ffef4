using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentApi.Tests.Infrastructure;

namespace AgentApi.Tests.Schedules;

/// <summary>Calls of the schedule API as the tests make them, each bounded by a timeout.</summary>
internal static class ScheduleClient
{
    /// <summary>A cron expression with a slot every 2 seconds.</summary>
    public const string EveryTwoSeconds = "*/2 * * * * *";

    public static async Task<ScheduleDto> CreateAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("/api/schedules", body).WaitAsync(TestTimeouts.Request);
        var text = await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Expected 201, got {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<ScheduleDto>(text, JsonSerializerOptions.Web)!;
    }

    public static async Task<ScheduleDto?> GetAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync($"/api/schedules/{id}").WaitAsync(TestTimeouts.Request);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<ScheduleDto>().WaitAsync(TestTimeouts.Request);
    }

    public static async Task<List<RunDto>> GetRunsAsync(HttpClient client, string id)
    {
        var runs = await client.GetFromJsonAsync<List<RunDto>>($"/api/schedules/{id}/runs?limit=1000").WaitAsync(TestTimeouts.Request);
        return runs!;
    }

    public static async Task<TriggerDto> TriggerAsync(HttpClient client, string id)
    {
        using var response = await client.PostAsync($"/api/schedules/{id}/trigger", content: null).WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TriggerDto>().WaitAsync(TestTimeouts.Request))!;
    }

    public static async Task DeleteAsync(HttpClient client, string id)
    {
        using var response = await client.DeleteAsync($"/api/schedules/{id}").WaitAsync(TestTimeouts.Request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>Polls the runs until <paramref name="predicate"/> holds, and returns them; throws after the timeout.</summary>
    public static async Task<List<RunDto>> WaitForRunsAsync(HttpClient client, string id, Func<List<RunDto>, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = TimeProvider.System.GetUtcNow() + (timeout ?? TestTimeouts.Task);
        List<RunDto> runs = [];
        while (TimeProvider.System.GetUtcNow() < deadline)
        {
            runs = await GetRunsAsync(client, id);
            if (predicate(runs))
            {
                return runs;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The runs of schedule '{id}' did not reach the expected state; last: {string.Join(", ", runs.Select(run => $"{run.ScheduledAt:HH:mm:ss.fff} {run.Trigger} {run.Outcome} {run.TaskStatus}"))}.");
    }

    /// <summary>Waits until every run that submitted a task has a finished task.</summary>
    public static Task<List<RunDto>> WaitForTasksFinishedAsync(HttpClient client, string id) =>
        WaitForRunsAsync(client, id, runs => runs.Where(run => run.TaskId is not null).All(run => run.TaskStatus is "succeeded" or "failed" or "cancelled" or "timed_out"));

    /// <summary>Whether the slots from the oldest to the newest follow each other without a gap.</summary>
    public static bool IsContiguous(IReadOnlyList<RunDto> runs, TimeSpan interval)
    {
        var slots = runs.Where(run => run.Trigger != "manual").Select(run => run.ScheduledAt).Order().ToList();
        return slots.Zip(slots.Skip(1)).All(pair => pair.Second - pair.First == interval);
    }

    /// <summary>Asserts that the non-manual runs cover each slot once, and that consecutive slots are one interval apart.</summary>
    public static void AssertEachSlotOnce(IReadOnlyList<RunDto> runs, TimeSpan interval)
    {
        var slots = runs.Where(run => run.Trigger != "manual").Select(run => run.ScheduledAt).Order().ToList();
        Assert.Equal(slots.Count, slots.Distinct().Count());
        for (var index = 1; index < slots.Count; index++)
        {
            Assert.True(slots[index] - slots[index - 1] == interval, $"Slots {slots[index - 1]:O} and {slots[index]:O} are not {interval} apart: a slot has no row.");
        }
    }
}

public sealed record ScheduleDto(
    string Id,
    string? Cron,
    DateTimeOffset? At,
    string TimeZone,
    JsonElement Task,
    bool Enabled,
    string Overlap,
    string CatchUp,
    string? WebhookUrl,
    DateTimeOffset? NextRunAt,
    DateTimeOffset? LastRunAt,
    string? HangfireJobId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record RunDto(
    Guid Id,
    DateTimeOffset ScheduledAt,
    DateTimeOffset? StartedAt,
    string Outcome,
    string Trigger,
    Guid? TaskId,
    string? TaskStatus);

public sealed record TriggerDto(Guid TaskId, Guid RunId);

public sealed record ProblemDto(string Title, int Status, string? Detail, Dictionary<string, string[]>? Errors);
