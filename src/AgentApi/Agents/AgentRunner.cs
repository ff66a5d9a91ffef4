using System.Diagnostics;
using System.Text.Json;
using AgentApi.Agents.Models;
using AgentApi.Agents.Sessions;
using AgentApi.Agents.Tools;
using AgentApi.Tasks;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace AgentApi.Agents;

/// <summary>
/// Runs one attempt of a task's agent: its system prompt, the session's earlier messages and the
/// task input go to its model, and the tool calls the model makes are run and answered until the
/// model replies with text. The agent's allowlist is checked here on every call, whatever the
/// model requests.
/// </summary>
public sealed class AgentRunner(
    AgentCatalog catalog,
    ModelRegistry models,
    ToolRegistry tools,
    WorkspaceProvider workspaces,
    SessionStore sessions,
    Processes.ProcessAgentRunner processes,
    IOptions<AgentRunOptions> options,
    TimeProvider timeProvider,
    ILogger<AgentRunner> logger)
{
    private static readonly JsonSerializerOptions ArgumentSerializerOptions = new(JsonSerializerDefaults.Web);

    public async Task<AgentRunResult> RunAsync(AgentTask task, AgentRunContext context, CancellationToken cancellationToken)
    {
        var agent = FindAgent(task.Agent);
        if (agent.Process is { } program)
        {
            return await processes.RunAsync(task, agent, program, GetWorkspacePath(task), context.Observer, cancellationToken);
        }

        var settings = options.Value;
        var client = models.Get(agent.Model);
        var toolContext = new ToolContext(task.Id, agent.Name, task.TranscriptKey ?? $"task:{task.Id:D}", GetWorkspacePath(task))
        {
            Subtasks = context.Subtasks,
        };

        List<ChatMessage> messages = [new(ChatRole.System, agent.SystemPrompt)];
        if (task.TranscriptKey is { } sessionKey && !SessionKeys.IsSubagent(sessionKey))
        {
            messages.AddRange(await sessions.LoadHistoryAsync(sessionKey, settings.MaxHistoryMessages, cancellationToken));
        }

        var input = new ChatMessage(ChatRole.User, task.Input);
        messages.Add(input);
        var transcript = new SessionTranscriptBuilder(task, agent.Name, timeProvider);
        transcript.AddUser(task.Input);

        var chatOptions = CreateChatOptions(agent, context);
        var maxTurns = agent.MaxTurns ?? settings.MaxTurns;
        var identicalCalls = new Dictionary<string, int>(StringComparer.Ordinal);
        var usage = new UsageTotals();

        for (var turn = 1; turn <= maxTurns; turn++)
        {
            var response = await CallModelAsync(client, messages, chatOptions, context, turn, "turn", usage, cancellationToken);
            messages.AddMessages(response);

            var calls = response.Messages.SelectMany(message => message.Contents.OfType<FunctionCallContent>()).ToList();
            transcript.AddAssistant(response.Text, calls);
            if (calls.Count == 0)
            {
                return new AgentRunResult(response.Text, response.ModelId ?? usage.Model, usage.Input, usage.Output)
                {
                    Turns = turn,
                    Transcript = task.TranscriptKey is null ? [] : transcript.Messages,
                };
            }

            foreach (var call in calls)
            {
                CheckRepeats(task, call, identicalCalls, settings.MaxIdenticalToolCalls);
            }

            // Spawns requested in one reply run in parallel, which is how a model fans out. Other
            // tools run one after another, in the requested order, because they may depend on each other.
            var results = calls.Count > 1 && calls.All(call => call.Name == ToolNames.SpawnSubagent)
                ? await Task.WhenAll(calls.Select(call => InvokeToolAsync(agent, call, toolContext, context, turn, cancellationToken)))
                : await InvokeInOrderAsync(agent, calls, toolContext, context, turn, cancellationToken);
            for (var index = 0; index < calls.Count; index++)
            {
                var (text, errorCode) = results[index];
                messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(calls[index].CallId, text)]));
                transcript.AddToolResult(calls[index], text, errorCode is not null);
            }

            if (context.Observer is { } observer)
            {
                await observer.OnTurnEndedAsync(cancellationToken);
            }
        }

        throw new AgentRunException("max_turns",
            $"Agent '{agent.Name}' made {maxTurns} model round trips without a final answer (maxTurns {maxTurns}).");
    }

    /// <summary>
    /// One model call with the task's agent's model and no tools, for the supervisor's plan and
    /// synthesis. Its tokens count towards the task and its tree's budget.
    /// </summary>
    public async Task<AgentRunResult> CompleteAsync(
        AgentTask task,
        string purpose,
        IReadOnlyList<ChatMessage> messages,
        ChatOptions? chatOptions,
        AgentRunContext context,
        CancellationToken cancellationToken)
    {
        var agent = FindAgent(task.Agent);
        var client = models.Get(agent.Model);
        var usage = new UsageTotals();
        var callOptions = chatOptions?.Clone() ?? new ChatOptions();

        // A plan is for the supervisor, not for people to read as it arrives.
        AddObserver(callOptions, context, streamOutput: purpose != "plan");
        var response = await CallModelAsync(client, messages.ToList(), callOptions, context, 1, purpose, usage, cancellationToken);
        return new AgentRunResult(response.Text, response.ModelId ?? usage.Model, usage.Input, usage.Output);
    }

    /// <summary>
    /// Returns the transcript entries of a task's input and final reply, for a run without a tool
    /// loop of its own, such as a supervisor's, so the conversation continues from it.
    /// </summary>
    public IReadOnlyList<SessionMessage> Exchange(AgentTask task, string reply)
    {
        if (task.TranscriptKey is null)
        {
            return [];
        }

        var transcript = new SessionTranscriptBuilder(task, task.Agent, timeProvider);
        transcript.AddUser(task.Input);
        transcript.AddAssistant(reply, []);
        return transcript.Messages;
    }

    /// <summary>Whether <paramref name="name"/> is a process agent, which runs a program instead of a model.</summary>
    public bool IsProcessAgent(string name) => catalog.Find(name)?.Process is not null;

    private AgentDefinition FindAgent(string name) =>
        catalog.Find(name) ?? throw new AgentRunException("unknown_agent", $"Agent '{name}' is not defined any more.");

    private string GetWorkspacePath(AgentTask task)
    {
        try
        {
            return workspaces.GetPath(WorkspaceOf(task));
        }
        catch (InvalidOperationException exception)
        {
            // Something, such as an earlier bash command, put a file or a link where the folder belongs.
            throw new AgentRunException("invalid_workspace", exception.Message);
        }
    }

    private static string WorkspaceOf(AgentTask task) => task.Workspace ?? (task.RootId ?? task.Id).ToString("N");

    private ChatOptions CreateChatOptions(AgentDefinition agent, AgentRunContext context)
    {
        var chatOptions = new ChatOptions();
        var offered = tools.All
            .Where(tool => agent.Allows(tool.Name))
            .Select(tool => (AITool)AIFunctionFactory.CreateDeclaration(tool.Name, tool.Description, tool.ParametersSchema))
            .ToList();
        if (offered.Count > 0)
        {
            chatOptions.Tools = offered;
        }

        AddObserver(chatOptions, context, streamOutput: true);
        return chatOptions;
    }

    private static void AddObserver(ChatOptions chatOptions, AgentRunContext context, bool streamOutput)
    {
        if (context.Observer is { } observer)
        {
            chatOptions.AdditionalProperties ??= [];
            chatOptions.AdditionalProperties[IRateLimitObserver.OptionsKey] = observer;
            if (streamOutput)
            {
                chatOptions.AdditionalProperties[IModelOutputObserver.OptionsKey] = observer;
            }
        }
    }

    private async Task<ChatResponse> CallModelAsync(
        IChatClient client,
        List<ChatMessage> messages,
        ChatOptions chatOptions,
        AgentRunContext context,
        int turn,
        string purpose,
        UsageTotals usage,
        CancellationToken cancellationToken)
    {
        var budget = context.Budget;
        if (budget is { IsExceeded: true })
        {
            throw budget.ExceededError();
        }

        using var linked = budget is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        var startedAt = timeProvider.GetTimestamp();
        ChatResponse response;
        try
        {
            response = await client.GetResponseAsync(messages, chatOptions, linked?.Token ?? cancellationToken);
        }
        catch (OperationCanceledException) when (budget is { IsExceeded: true } && !cancellationToken.IsCancellationRequested)
        {
            throw budget.ExceededError();
        }

        var input = response.Usage?.InputTokenCount ?? 0;
        var output = response.Usage?.OutputTokenCount ?? 0;
        usage.Add(input, output, response.ModelId);
        context.Observer?.OnModelCall(new ModelCallRecord(
            turn, response.ModelId, input, output, (long)timeProvider.GetElapsedTime(startedAt).TotalMilliseconds, purpose));

        if (budget is not null && !budget.Add(input + output))
        {
            throw budget.ExceededError();
        }

        return response;
    }

    private void CheckRepeats(AgentTask task, FunctionCallContent call, Dictionary<string, int> identicalCalls, int limit)
    {
        var signature = call.Name + "\n" + JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), ArgumentSerializerOptions);
        var count = identicalCalls[signature] = identicalCalls.GetValueOrDefault(signature) + 1;
        if (count >= limit)
        {
            AgentLog.RepeatedToolCall(logger, task.Id, call.Name, count);
            throw new AgentRunException("step_limit",
                $"The model called '{call.Name}' with the same arguments {count} times, so the run was stopped instead of looping (setting Agents:MaxIdenticalToolCalls is {limit}).");
        }
    }

    private async Task<(string Text, string? ErrorCode)[]> InvokeInOrderAsync(
        AgentDefinition agent,
        List<FunctionCallContent> calls,
        ToolContext toolContext,
        AgentRunContext context,
        int turn,
        CancellationToken cancellationToken)
    {
        var results = new (string Text, string? ErrorCode)[calls.Count];
        for (var index = 0; index < calls.Count; index++)
        {
            results[index] = await InvokeToolAsync(agent, calls[index], toolContext, context, turn, cancellationToken);
        }

        return results;
    }

    private async Task<(string Text, string? ErrorCode)> InvokeToolAsync(
        AgentDefinition agent,
        FunctionCallContent call,
        ToolContext toolContext,
        AgentRunContext context,
        int turn,
        CancellationToken cancellationToken)
    {
        var startedAt = timeProvider.GetTimestamp();
        var (text, errorCode) = await InvokeCheckedAsync(agent, call, toolContext, cancellationToken);
        context.Observer?.OnToolCall(new ToolCallRecord(turn, call.Name, errorCode, (long)timeProvider.GetElapsedTime(startedAt).TotalMilliseconds));
        return (text, errorCode);
    }

    private async Task<(string Text, string? ErrorCode)> InvokeCheckedAsync(
        AgentDefinition agent,
        FunctionCallContent call,
        ToolContext toolContext,
        CancellationToken cancellationToken)
    {
        if (!agent.Allows(call.Name) || tools.Find(call.Name) is not { } tool)
        {
            AgentLog.ToolRefused(logger, toolContext.TaskId, call.Name, agent.Name);
            var allowed = string.Join(", ", tools.All.Select(t => t.Name).Where(agent.Allows));
            return ErrorResult("tool_not_allowed",
                $"Tool '{call.Name}' is not available to agent '{agent.Name}'. Its tools are: {(allowed.Length == 0 ? "none" : allowed)}.");
        }

        using var timeout = new CancellationTokenSource(options.Value.ToolCallTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var arguments = JsonSerializer.SerializeToElement(call.Arguments ?? new Dictionary<string, object?>(), ArgumentSerializerOptions);
            return (await tool.InvokeAsync(toolContext, arguments, linked.Token), null);
        }
        catch (ToolException exception)
        {
            return ErrorResult(exception.Code, exception.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ErrorResult("timeout", $"Tool '{call.Name}' did not finish within {options.Value.ToolCallTimeout.TotalSeconds:0} s.");
        }
        catch (Exception exception) when (exception is not OperationCanceledException and not AgentRunException)
        {
            AgentLog.ToolCrashed(logger, toolContext.TaskId, call.Name, exception);
            return ErrorResult("tool_failed", $"Tool '{call.Name}' failed: {exception.Message}");
        }
    }

    private static (string Text, string? ErrorCode) ErrorResult(string code, string message) =>
        ($"Error ({code}): {message}", code);

    /// <summary>Tokens of every model call of one run.</summary>
    private sealed class UsageTotals
    {
        public long Input { get; private set; }

        public long Output { get; private set; }

        public string? Model { get; private set; }

        public void Add(long input, long output, string? model)
        {
            Input += input;
            Output += output;
            Model ??= model;
        }
    }
}
