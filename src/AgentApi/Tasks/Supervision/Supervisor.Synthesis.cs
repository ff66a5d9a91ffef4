using System.Text;
using AgentApi.Agents;
using AgentApi.Lanes;
using Microsoft.Extensions.AI;

namespace AgentApi.Tasks.Supervision;

public sealed partial class Supervisor
{
    /// <summary>Maximum characters of one child's result passed to the synthesis step.</summary>
    private const int MaxResultCharacters = 20_000;

    /// <summary>
    /// Turns the children's outcomes into the parent's result. <c>first</c> takes the winner's
    /// text as it is; the other modes run a synthesis step in the <c>nested</c> lane that gets
    /// every successful result and a structured error for each failure.
    /// </summary>
    private async Task<AgentRunResult> CombineAsync(
        TaskWorkItem parentItem,
        AgentTask parent,
        AgentTask[] outcomes,
        AgentRunContext context,
        CancellationToken cancellationToken)
    {
        var succeeded = outcomes.Where(child => child.Status == AgentTaskStatus.Succeeded).ToList();
        var failed = outcomes.Where(child => child.Status != AgentTaskStatus.Succeeded).ToList();

        if (parent.Coordination == TaskCoordination.FailFast && failed.Count > 0)
        {
            var first = failed.OrderBy(child => child.FinishedAt).First();
            throw new AgentRunException("child_failed",
                $"Subtask {first.SubtaskIndex} ({first.Agent}) ended {WireNames<AgentTaskStatus>.ToName(first.Status)}: {first.ErrorMessage}");
        }

        if (succeeded.Count == 0)
        {
            throw new AgentRunException("all_children_failed",
                $"All {outcomes.Length} subtasks failed; the first error was: {failed[0].ErrorType}: {failed[0].ErrorMessage}");
        }

        if (parent.Coordination == TaskCoordination.First)
        {
            var winner = succeeded.OrderBy(child => child.FinishedAt).First();
            return new AgentRunResult(winner.ResultText ?? string.Empty, winner.ResultModel, null, null);
        }

        // as_completed combines the results in the order they arrived, the other modes in subtask order.
        var ordered = parent.Coordination == TaskCoordination.AsCompleted
            ? outcomes.OrderBy(child => child.FinishedAt).ThenBy(child => child.SubtaskIndex).ToList()
            : outcomes.OrderBy(child => child.SubtaskIndex).ToList();
        List<ChatMessage> messages =
        [
            new(ChatRole.System, SynthesisInstructions),
            new(ChatRole.User, DescribeResults(parent, ordered)),
        ];

        var synthesis = new LaneCall<AgentRunResult>(
            LaneNames.Nested,
            $"{parent.Id}:synthesis",
            parentItem.Priority,
            token => agents.CompleteAsync(parent, "synthesis", messages, null, context, token),
            cancellationToken)
        {
            // The children's results are in, so the parent can still finish during a shutdown's grace period.
            RunsDuringGrace = true,
        };
        if (!dispatcher.Schedule(synthesis, holder: parentItem))
        {
            throw new InstanceStoppingException("The instance's shutdown grace period is over; the synthesis runs with the parent's next attempt.");
        }

        var result = await synthesis.Result;
        return result with { Partial = failed.Count > 0 };
    }

    private const string SynthesisInstructions =
        "You combine the results of subtasks into one answer to the original task. Use every successful result, "
        + "say plainly which parts are missing because a subtask failed, and do not invent what a failed subtask would have found.";

    private static string DescribeResults(AgentTask parent, IReadOnlyList<AgentTask> ordered)
    {
        var text = new StringBuilder();
        text.Append("Original task:\n").Append(parent.Input).Append("\n\n");
        text.Append("Results of the ").Append(ordered.Count).Append(" subtasks:\n");
        foreach (var child in ordered)
        {
            text.Append("\n### Subtask ").Append(child.SubtaskIndex + 1).Append(" (agent ").Append(child.Agent).Append("): ");
            if (child.Status == AgentTaskStatus.Succeeded)
            {
                var result = child.ResultText ?? string.Empty;
                text.Append("succeeded\n").Append(result.Length <= MaxResultCharacters ? result : result[..MaxResultCharacters] + "…").Append('\n');
            }
            else
            {
                text.Append(WireNames<AgentTaskStatus>.ToName(child.Status))
                    .Append("\nerror: {\"type\": \"").Append(child.ErrorType).Append("\", \"message\": ")
                    .Append(System.Text.Json.JsonSerializer.Serialize(child.ErrorMessage)).Append("}\n");
            }
        }

        text.Append("\nCombine these into one answer to the original task.");
        return text.ToString();
    }
}
