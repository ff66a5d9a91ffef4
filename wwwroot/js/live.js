// Connects a page to the SignalR hub at /hubs/tasks and falls back to polling while the hub is
// unreachable or the SignalR client was not restored (see docs/dashboard.md).

const hubPath = "/hubs/tasks";
export const pollIntervalMs = 2000;
const retryDelayMs = 10000;

const statusTexts = {
    live: "Updates: live",
    connecting: "Updates: connecting…",
    polling: `Updates: every ${pollIntervalMs / 1000} s`,
};

function showState(state, text = statusTexts[state]) {
    const element = document.getElementById("live-status");
    if (element) {
        element.dataset.state = state;
        element.textContent = text;
    }
}

/** Shows in the header that the page refreshes on a timer of its own and not from the hub. */
export function showTimedRefresh(intervalMs) {
    showState("polling", `Updates: every ${intervalMs / 1000} s`);
}

/**
 * Starts live updates for a page.
 * subscribe(connection) calls the hub's Subscribe… methods; it runs after every (re)connect.
 * refresh() reloads the page's data over HTTP; it runs after every (re)connect, to catch up, and
 * every pollIntervalMs while the hub is not connected.
 * handlers maps the client methods taskEvent and laneChanged to functions; either may be left out.
 * The events of a taskEvents batch (after SubscribeAllBatched) go to the taskEvent handler one by one.
 */
export function startLive({ subscribe, refresh, handlers }) {
    let pollTimer = null;
    let retryTimer = null;

    const runRefresh = () => refresh().catch(error => console.warn("Refreshing the page data failed.", error));

    const startPolling = () => {
        if (pollTimer === null) {
            pollTimer = setInterval(runRefresh, pollIntervalMs);
        }
        showState("polling");
    };

    const stopPolling = () => {
        if (pollTimer !== null) {
            clearInterval(pollTimer);
            pollTimer = null;
        }
    };

    const signalR = window.signalR;
    if (!signalR) {
        startPolling();
        return;
    }

    const connection = new signalR.HubConnectionBuilder()
        .withUrl(hubPath)
        .withAutomaticReconnect()
        .configureLogging(signalR.LogLevel.Warning)
        .build();
    // SubscribeAllBatched sends taskEvents and laneChanged, and SubscribeTask sends taskEvent. The
    // SignalR client logs a warning for each message whose method has no handler, so a page that
    // ignores one still registers it.
    const onTaskEvent = handlers.taskEvent ?? (() => {});
    connection.on("taskEvent", onTaskEvent);
    connection.on("taskEvents", events => {
        for (const event of events) {
            onTaskEvent(event);
        }
    });
    connection.on("laneChanged", handlers.laneChanged ?? (() => {}));

    const scheduleRetry = () => {
        if (retryTimer === null) {
            retryTimer = setTimeout(() => {
                retryTimer = null;
                connect();
            }, retryDelayMs);
        }
    };

    const connected = async () => {
        await subscribe(connection);
        stopPolling();
        showState("live");
        await runRefresh();
    };

    async function connect() {
        try {
            if (connection.state === signalR.HubConnectionState.Disconnected) {
                showState("connecting");
                await connection.start();
            }
            await connected();
        } catch (error) {
            console.warn(`Live updates from ${hubPath} are unavailable; polling every ${pollIntervalMs} ms.`, error);
            startPolling();
            scheduleRetry();
        }
    }

    connection.onreconnecting(() => startPolling());
    connection.onreconnected(() => connected().catch(error => {
        console.warn("Subscribing again after the reconnect failed.", error);
        startPolling();
    }));
    connection.onclose(() => {
        startPolling();
        scheduleRetry();
    });

    connect();
}
