using System.Diagnostics.Metrics;

namespace AgentApi.Lanes;

/// <summary>
/// Lane metrics under the meter <c>AgentApi.Lanes</c>, for OpenTelemetry or
/// <c>dotnet-counters monitor --counters AgentApi.Lanes</c>.
/// </summary>
public sealed class LaneMetrics
{
    public const string MeterName = "AgentApi.Lanes";

    private readonly Meter _meter;
    private readonly Histogram<double> _wait;
    private readonly Histogram<double> _run;
    private readonly Counter<long> _finished;

    public LaneMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _wait = _meter.CreateHistogram<double>("agentapi.lane.wait_time", "ms", "Time work waited in its lane before it started.");
        _run = _meter.CreateHistogram<double>("agentapi.lane.run_time", "ms", "Time work ran once it had a slot.");
        _finished = _meter.CreateCounter<long>("agentapi.lane.finished", "{item}", "Work that finished, by lane and outcome.");
    }

    internal void Observe(LaneDispatcher dispatcher)
    {
        _meter.CreateObservableGauge(
            "agentapi.lane.queued",
            () => dispatcher.GetSnapshots().Select(lane => new Measurement<int>(lane.Queued, new KeyValuePair<string, object?>("lane", lane.Name))),
            "{item}",
            "Work waiting in each lane.");
        _meter.CreateObservableGauge(
            "agentapi.lane.active",
            () => dispatcher.GetSnapshots().Select(lane => new Measurement<int>(lane.Active, new KeyValuePair<string, object?>("lane", lane.Name))),
            "{item}",
            "Work running in each lane.");
        _meter.CreateObservableGauge(
            "agentapi.lane.limit",
            () => dispatcher.GetSnapshots().Select(lane => new Measurement<int>(lane.MaxConcurrent, new KeyValuePair<string, object?>("lane", lane.Name))),
            "{item}",
            "Concurrency limit of each lane.");
    }

    internal void RecordWait(string lane, double milliseconds)
    {
        if (_wait.Enabled)
        {
            _wait.Record(milliseconds, new KeyValuePair<string, object?>("lane", lane));
        }
    }

    /// <summary>True while a listener collects run times, so the dispatcher reads the clock only then.</summary>
    internal bool IsRunTimeEnabled => _run.Enabled;

    internal void RecordRun(string lane, double milliseconds, bool succeeded)
    {
        RecordRunTime(lane, milliseconds);
        CountFinished(lane, succeeded);
    }

    internal void RecordRunTime(string lane, double milliseconds)
    {
        if (_run.Enabled)
        {
            _run.Record(milliseconds, new KeyValuePair<string, object?>("lane", lane));
        }
    }

    internal void CountFinished(string lane, bool succeeded)
    {
        if (_finished.Enabled)
        {
            _finished.Add(1, new KeyValuePair<string, object?>("lane", lane), new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : "failed"));
        }
    }
}
