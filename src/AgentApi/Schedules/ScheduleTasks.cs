using System.Text.Json;
using System.Text.Json.Serialization;
using AgentApi.Agents;
using AgentApi.Lanes;
using AgentApi.Tasks;

namespace AgentApi.Schedules;

/// <summary>Stores a schedule's task body and builds the task submission of each run from it.</summary>
public static class ScheduleTasks
{
    /// <summary>The metadata key of each run's task, reserved in schedule task bodies.</summary>
    public const string MetadataKey = "schedule";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(SubmitTaskRequest body) => JsonSerializer.Serialize(body, JsonOptions);

    public static JsonElement ToJson(string taskJson) => JsonDocument.Parse(taskJson).RootElement.Clone();

    /// <summary>
    /// Builds the submission of one run: the stored body in the <c>cron</c> lane unless it names
    /// another, named <c>schedule.&lt;id&gt;</c> unless it has a name, in a fresh session of its
    /// own unless it gives a <c>sessionKey</c> to reuse, with the schedule's webhook URL, and
    /// tagged under <see cref="MetadataKey"/> with the schedule id, the slot and the run.
    /// </summary>
    public static SubmitTaskRequest BuildRun(
        string scheduleId,
        string taskJson,
        string? webhookUrl,
        Guid runId,
        DateTimeOffset scheduledAt,
        ScheduleRunTrigger trigger)
    {
        var request = JsonSerializer.Deserialize<SubmitTaskRequest>(taskJson, JsonOptions)
            ?? throw new InvalidOperationException($"Schedule '{scheduleId}' has an empty task body.");

        request.Lane ??= LaneNames.Cron;
        request.Name ??= $"schedule.{scheduleId}";
        request.SessionKey ??= SessionKeys.NewCronRun(request.Agent ?? AgentCatalog.DefaultAgent, scheduleId, runId);
        request.WebhookUrl = webhookUrl ?? request.WebhookUrl;
        request.Metadata = new Dictionary<string, JsonElement>(request.Metadata ?? [], StringComparer.Ordinal)
        {
            [MetadataKey] = JsonSerializer.SerializeToElement(
                new ScheduleTag(scheduleId, scheduledAt.ToUniversalTime(), WireNames<ScheduleRunTrigger>.ToName(trigger), runId),
                JsonOptions),
        };
        return request;
    }

    /// <summary>The tag each run's task carries in its metadata.</summary>
    private sealed record ScheduleTag(string Id, DateTimeOffset ScheduledAt, string Trigger, Guid RunId);
}
