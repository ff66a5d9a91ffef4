namespace AgentApi.Dashboard;

/// <summary>Tasks that started and that finished within one minute.</summary>
/// <param name="Start">The first instant of the minute, in UTC.</param>
/// <param name="Started">Tasks whose first attempt started in the minute.</param>
/// <param name="Finished">Tasks that reached a final status in the minute.</param>
public sealed record ActivityMinute(DateTimeOffset Start, int Started, int Finished);
