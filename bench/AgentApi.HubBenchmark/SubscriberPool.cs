using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime;
using AgentApi.Events;
using HdrHistogram;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;

namespace AgentApi.HubBenchmark;

/// <summary>
/// SignalR clients of the hub over WebSockets, each subscribed with <c>SubscribeAll</c>, or with
/// <c>SubscribeAllBatched</c> when the pool is batched, each reading events in one of the ways of
/// <see cref="ClientKind"/>. Each one keeps a bit per measured event, so that it can count
/// distinct, duplicate and reordered events, and records each event's latency in a histogram of
/// the thread that ran its handler, or that parsed it with <c>--client parser</c>.
/// </summary>
internal sealed class SubscriberPool : ISubscribers
{
    private const int ConnectConcurrency = 20;

    /// <summary>Latencies above ten minutes are recorded as ten minutes.</summary>
    private const long MaxLatencyMicroseconds = 600_000_000;

    private readonly Subscriber[] _subscribers;
    private readonly long _eventCount;
    private readonly ThreadLocal<LongHistogram> _latency = new(
        () => new LongHistogram(MaxLatencyMicroseconds, numberOfSignificantValueDigits: 3),
        trackAllValues: true);

    private ResourceUsage.Snapshot? _start;

    private SubscriberPool(Uri hubUrl, string apiKey, int clients, long eventCount, bool batched, ClientProtocol protocol, ClientKind client, int readAheadBytes)
    {
        _eventCount = eventCount;
        var webSocketFactory = readAheadBytes > 0 ? ReadAheadStream.WebSocketFactory(readAheadBytes) : null;
        _subscribers = Enumerable.Range(0, clients)
            .Select(_ => new Subscriber(this, hubUrl, apiKey, batched, protocol, client, webSocketFactory))
            .ToArray();
    }

    /// <summary>
    /// Connects <paramref name="clients"/> clients and subscribes each one; returns when all are
    /// subscribed. With <paramref name="readAheadBytes"/> above zero each connection reads through
    /// a <see cref="ReadAheadStream"/> of that size.
    /// </summary>
    public static async Task<SubscriberPool> ConnectAsync(
        Uri hubUrl,
        string apiKey,
        int clients,
        long eventCount,
        bool batched,
        ClientProtocol protocol,
        ClientKind client,
        int readAheadBytes,
        CancellationToken cancellationToken)
    {
        var pool = new SubscriberPool(hubUrl, apiKey, clients, eventCount, batched, protocol, client, readAheadBytes);
        using var gate = new SemaphoreSlim(ConnectConcurrency);
        await Task.WhenAll(pool._subscribers.Select(async subscriber =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                await subscriber.ConnectAsync(cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        }));

        return pool;
    }

    public Task<ReceivedCounts> GetCountsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ReceivedCounts(
            _subscribers.Sum(subscriber => Volatile.Read(ref subscriber.WarmupReceived)),
            CountMeasured(),
            JitInfo.GetCompiledMethodCount()));

    public Task StartMeasuringAsync(CancellationToken cancellationToken)
    {
        _start = ResourceUsage.Take();
        return Task.CompletedTask;
    }

    public async Task<SubscriberResult> FinishAsync(TimeSpan drain, CancellationToken cancellationToken)
    {
        var start = _start ?? throw new InvalidOperationException("StartMeasuringAsync was not called.");
        var expected = _subscribers.Length * _eventCount;
        var drainStart = Stopwatch.GetTimestamp();
        while (CountMeasured() < expected && Stopwatch.GetElapsedTime(drainStart) < drain)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }

        var resources = ResourceUsage.Since(start);

        // Handlers may still record a late event while the histograms are merged. Such an event
        // is then in some counts and not in others, which matters only in runs that lose events.
        var latency = new LongHistogram(MaxLatencyMicroseconds, numberOfSignificantValueDigits: 3);
        foreach (var histogram in _latency.Values)
        {
            latency.Add(histogram);
        }

        var received = _subscribers.Select(subscriber => Volatile.Read(ref subscriber.Received)).ToArray();
        var firstReceived = _subscribers.Select(subscriber => subscriber.FirstReceivedAt).Where(at => at != 0).DefaultIfEmpty().Min();
        return new SubscriberResult(
            _subscribers.Length,
            _eventCount,
            received.Sum(),
            _subscribers.Sum(subscriber => subscriber.Duplicates),
            _subscribers.Sum(subscriber => subscriber.Reordered),
            _subscribers.Sum(subscriber => subscriber.Unexpected),
            received.Count(count => count < _eventCount),
            received.DefaultIfEmpty().Min(),
            _subscribers.Count(subscriber => subscriber.Connection.State != HubConnectionState.Connected),
            firstReceived,
            _subscribers.Max(subscriber => subscriber.LastReceivedAt),
            LatencySummary.From(latency),
            resources);
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_subscribers.Select(subscriber => subscriber.Connection.DisposeAsync().AsTask()));
        _latency.Dispose();
    }

    private long CountMeasured() => _subscribers.Sum(subscriber => Volatile.Read(ref subscriber.Received));

    /// <summary>One client. SignalR runs one connection's handlers one at a time, so its counters need no lock.</summary>
    private sealed class Subscriber
    {
        private readonly SubscriberPool _pool;
        private readonly string _subscribeMethod;
        private readonly ulong[] _seen;
        private long _highestIndex = -1;

        // Fields, not properties, so the pool can read them with Volatile.Read.
        public long Received;
        public long WarmupReceived;
        public long Duplicates;
        public long Reordered;
        public long Unexpected;
        public long FirstReceivedAt;
        public long LastReceivedAt;

        public Subscriber(
            SubscriberPool pool,
            Uri hubUrl,
            string apiKey,
            bool batched,
            ClientProtocol protocol,
            ClientKind client,
            Func<WebSocketConnectionContext, CancellationToken, ValueTask<WebSocket>>? webSocketFactory)
        {
            _pool = pool;
            _subscribeMethod = batched ? "SubscribeAllBatched" : "SubscribeAll";
            _seen = new ulong[(pool._eventCount + 63) / 64];
            var builder = new HubConnectionBuilder()
                .WithUrl(hubUrl, options =>
                {
                    options.Transports = HttpTransportType.WebSockets;
                    options.Headers["X-Api-Key"] = apiKey;
                    options.WebSocketFactory = webSocketFactory;
                });
            if (protocol == ClientProtocol.MessagePack)
            {
                // The service's own options, for their DateTimeOffset formatter: the hub sends
                // timestamps as the MessagePack timestamp extension. The lean options add the
                // lean formatter to them.
                var serializerOptions = client == ClientKind.Full
                    ? HubMessagePack.SerializerOptions
                    : LeanReceivedEventFormatter.SerializerOptions;
                builder.AddMessagePackProtocol(options => options.SerializerOptions = serializerOptions);
                if (client == ClientKind.Parser)
                {
                    builder.Services.AddSingleton<IHubProtocol>(provider => new ParsingHubProtocol(
                        ActivatorUtilities.CreateInstance<MessagePackHubProtocol>(provider),
                        (taskEvent, now) => Record(taskEvent.Index, taskEvent.SentAt, now, _pool._latency.Value!)));
                }
            }
            else
            {
                builder.AddJsonProtocol(options => options.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ReceivedEventJsonContext.Default));
            }

            Connection = builder.Build();
            AddHandler(batched, client);
        }

        public HubConnection Connection { get; }

        public async Task ConnectAsync(CancellationToken cancellationToken)
        {
            await Connection.StartAsync(cancellationToken);
            await Connection.InvokeAsync(_subscribeMethod, cancellationToken);
        }

        /// <summary>
        /// Registers the handler of <c>taskEvents</c> batches or of single <c>taskEvent</c> calls,
        /// with the payload type of the client kind.
        /// </summary>
        private void AddHandler(bool batched, ClientKind client)
        {
            switch ((batched, client))
            {
                case (true, ClientKind.Lean):
                    Connection.On<LeanReceivedEvent[]>("taskEvents", OnLeanTaskEvents);
                    break;
                case (true, ClientKind.Full):
                    Connection.On<ReceivedEvent[]>("taskEvents", OnTaskEvents);
                    break;
                case (false, ClientKind.Parser):
                    // ParsingHubProtocol records the events; an event it cannot read stays unbound and counts as missing.
                    break;
                case (false, ClientKind.Lean):
                    Connection.On<LeanReceivedEvent>("taskEvent", taskEvent => Record(taskEvent.Index, taskEvent.SentAt, Stopwatch.GetTimestamp(), _pool._latency.Value!));
                    break;
                default:
                    Connection.On<ReceivedEvent>("taskEvent", taskEvent => Record(taskEvent.Data?.Index, taskEvent.Data?.SentAt, Stopwatch.GetTimestamp(), _pool._latency.Value!));
                    break;
            }
        }

        /// <summary>Records each event of a batch with the batch's one arrival time.</summary>
        private void OnTaskEvents(ReceivedEvent[] batch)
        {
            var now = Stopwatch.GetTimestamp();
            var latency = _pool._latency.Value!;
            foreach (var taskEvent in batch)
            {
                Record(taskEvent.Data?.Index, taskEvent.Data?.SentAt, now, latency);
            }
        }

        /// <summary>Records each event of a lean batch with the batch's one arrival time.</summary>
        private void OnLeanTaskEvents(LeanReceivedEvent[] batch)
        {
            var now = Stopwatch.GetTimestamp();
            var latency = _pool._latency.Value!;
            foreach (var taskEvent in batch)
            {
                Record(taskEvent.Index, taskEvent.SentAt, now, latency);
            }
        }

        /// <summary>
        /// Counts an event and records its latency up to <paramref name="now"/>, a Stopwatch
        /// timestamp, in <paramref name="latency"/>, the calling thread's histogram, which a batch
        /// handler fetches once for all its events. Both client kinds record through here. An
        /// event without an index or a publish time (<paramref name="eventIndex"/> or
        /// <paramref name="eventSentAt"/> null) counts as unexpected.
        /// </summary>
        private void Record(long? eventIndex, long? eventSentAt, long now, LongHistogram latency)
        {
            if (eventIndex is not { } index || eventSentAt is not { } sentAt || index >= _pool._eventCount)
            {
                Unexpected++;
                return;
            }

            if (index < 0)
            {
                Volatile.Write(ref WarmupReceived, WarmupReceived + 1);
                return;
            }

            var word = index / 64;
            var bit = 1UL << (int)(index % 64);
            if ((_seen[word] & bit) != 0)
            {
                Duplicates++;
                return;
            }

            _seen[word] |= bit;
            if (index < _highestIndex)
            {
                Reordered++;
            }

            _highestIndex = Math.Max(_highestIndex, index);
            var microseconds = (now - sentAt) * 1_000_000 / Stopwatch.Frequency;
            latency.RecordValue(Math.Clamp(microseconds, 0, MaxLatencyMicroseconds));
            if (FirstReceivedAt == 0)
            {
                FirstReceivedAt = now;
            }

            LastReceivedAt = now;
            Volatile.Write(ref Received, Received + 1);
        }
    }
}
