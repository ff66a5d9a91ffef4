using Microsoft.AspNetCore.SignalR;

namespace AgentApi.Events;

/// <summary>
/// Logs failed hub method calls in place of SignalR's dispatcher, which logs every one at error
/// level with a stack trace. A <see cref="HubException"/> is the client's own mistake (an unknown
/// task id, the other subscription mode), so it is logged at debug level; anything else stays an
/// error. The client gets the same error message either way.
/// </summary>
internal sealed class HubErrorLogging(ILogger<TaskHub> logger) : IHubFilter
{
    /// <summary>SignalR's hub dispatcher, whose own error log this filter replaces.</summary>
    public const string DispatcherCategory = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    public async ValueTask<object?> InvokeMethodAsync(
        HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (HubException exception)
        {
            EventsLog.HubCallRejected(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, exception.Message);
            throw;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            EventsLog.HubCallFailed(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, exception);
            throw;
        }
    }
}
