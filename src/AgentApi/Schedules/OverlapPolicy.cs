namespace AgentApi.Schedules;

/// <summary>What a slot does while an earlier run of its schedule is unfinished: <c>skip</c> (the default) or <c>allow</c>.</summary>
public enum OverlapPolicy
{
    Skip,
    Allow,
}
