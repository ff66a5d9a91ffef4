using Microsoft.AspNetCore.SignalR;

namespace AgentApi.Events;

/// <summary>
/// The messages on their way to one connection that follows every task, written one at a time in
/// the order they were sent. <see cref="Send"/> never waits: it writes at once when the connection
/// is idle, and otherwise queues the message behind the write under way. A connection falls
/// behind when its oldest unwritten message was sent more than <c>slowClientTimeout</c> ago, or
/// when its queue would hold more than <see cref="TaskHubLifetimeManager.MaxQueuedBytes"/>; it is
/// then closed, so that a client that stops reading holds up no other client and keeps no memory.
/// </summary>
internal sealed class Outbox(HubConnectionContext connection, TimeSpan slowClientTimeout, TimeProvider timeProvider, ILogger logger)
{
    private readonly Lock _sync = new();
    private readonly Queue<(SerializedHubMessage Message, int Length, long SentAt)> _queue = new();
    private bool _writing;
    private bool _closed;
    private long _queuedBytes;

    /// <summary>When the message being written was sent, as a <see cref="TimeProvider"/> timestamp.</summary>
    private long _writingSentAt;

    public HubConnectionContext Connection => connection;

    /// <summary>
    /// Writes <paramref name="message"/> now, or queues it behind the write under way.
    /// <paramref name="length"/> is its length in the connection's protocol, which counts against
    /// the queue's limit.
    /// </summary>
    public void Send(SerializedHubMessage message, int length)
    {
        var now = timeProvider.GetTimestamp();
        bool close;
        string? reason = null;
        lock (_sync)
        {
            if (_closed)
            {
                return;
            }

            if (!_writing)
            {
                _writing = true;
                _writingSentAt = now;
                close = false;
            }
            else if (timeProvider.GetElapsedTime(_writingSentAt, now) <= slowClientTimeout
                && _queuedBytes + length <= TaskHubLifetimeManager.MaxQueuedBytes)
            {
                _queue.Enqueue((message, length, now));
                _queuedBytes += length;
                return;
            }
            else
            {
                close = true;
                reason = timeProvider.GetElapsedTime(_writingSentAt, now) > slowClientTimeout
                    ? TimeoutReason()
                    : $"it had more than {TaskHubLifetimeManager.MaxQueuedBytes} bytes waiting";
                CloseLocked();
            }
        }

        if (close)
        {
            Abort(reason!);
            return;
        }

        WriteFrom(message);
    }

    /// <summary>
    /// Closes the connection if the message being written was sent more than the timeout ago, so
    /// that a client that stopped reading is closed even when nothing more is sent to it.
    /// </summary>
    public void CloseIfBehind()
    {
        lock (_sync)
        {
            if (_closed || !_writing || timeProvider.GetElapsedTime(_writingSentAt) <= slowClientTimeout)
            {
                return;
            }

            CloseLocked();
        }

        Abort(TimeoutReason());
    }

    private string TimeoutReason() => $"its oldest unsent message waited longer than {slowClientTimeout}";

    private void CloseLocked()
    {
        _closed = true;
        _queue.Clear();
        _queuedBytes = 0;
    }

    private void Abort(string reason)
    {
        EventsLog.SlowClientClosed(logger, connection.ConnectionId, reason);
        connection.Abort();
    }

    /// <summary>Writes messages for as long as each write completes at once; hands over to <see cref="DrainAsync"/> at the first that does not.</summary>
    private void WriteFrom(SerializedHubMessage message)
    {
        while (true)
        {
            var write = connection.WriteAsync(message);
            if (!write.IsCompletedSuccessfully)
            {
                _ = DrainAsync(write);
                return;
            }

            if (!TryTakeNext(out message))
            {
                return;
            }
        }
    }

    private async Task DrainAsync(ValueTask write)
    {
        while (true)
        {
            try
            {
                await write;
            }
            catch (Exception)
            {
                // A failed write closes the connection; SignalR has logged it.
            }

            if (!TryTakeNext(out var next))
            {
                return;
            }

            write = connection.WriteAsync(next);
        }
    }

    private bool TryTakeNext(out SerializedHubMessage message)
    {
        lock (_sync)
        {
            if (!_closed && _queue.TryDequeue(out var next))
            {
                _queuedBytes -= next.Length;
                _writingSentAt = next.SentAt;
                message = next.Message;
                return true;
            }

            _writing = false;
            message = null!;
            return false;
        }
    }
}
