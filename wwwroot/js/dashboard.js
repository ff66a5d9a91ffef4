// Helpers shared by the dashboard's page scripts.

const finalStatuses = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

/** Returns the status a task has after an event of this type, or null when the type changes none. */
export function statusAfter(eventType) {
    if (eventType === "queued") {
        return "queued";
    }
    if (eventType === "started") {
        return "running";
    }
    return finalStatuses.has(eventType) ? eventType : null;
}

export function isFinal(status) {
    return finalStatuses.has(status);
}

/** Sets the status badge inside container. */
export function setStatus(container, status) {
    const badge = container.querySelector("[data-role=status]");
    if (badge && badge.textContent !== status) {
        badge.textContent = status;
        badge.className = `badge status-${status}`;
    }
}

/** Sets the progress bar and text inside container. */
export function setProgress(container, percent, message) {
    const bar = container.querySelector("[data-role=progress] progress");
    const text = container.querySelector("[data-role=progress-text]");
    if (bar) {
        bar.value = percent;
        bar.textContent = `${percent} %`;
    }
    if (text) {
        text.textContent = message ? `${percent} % · ${message}` : `${percent} %`;
    }
}

/** Applies a task event to the badge and progress bar inside container. */
export function applyTaskEvent(container, event) {
    const status = statusAfter(event.type);
    if (status) {
        setStatus(container, status);
        if (status === "succeeded") {
            setProgress(container, 100, null);
        }
    }
    if (event.type === "progress" && event.data) {
        setProgress(container, event.data.percent ?? 0, event.data.message ?? null);
    }
}

function antiforgeryHeaders() {
    const token = document.querySelector("meta[name=request-verification-token]")?.content;
    return token ? { RequestVerificationToken: token } : {};
}

/** Fetches a page fragment as HTML; throws on a status other than 2xx. */
export async function fetchHtml(url) {
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (!response.ok) {
        throw new Error(`GET ${url} failed with HTTP ${response.status}.`);
    }
    return response.text();
}

/** Fetches JSON from the API; throws on a status other than 2xx. */
export async function fetchJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
        throw new Error(`GET ${url} failed with HTTP ${response.status}.`);
    }
    return response.json();
}

/**
 * Sends a request to the API with the sign-in cookie and returns { ok, status, body }, where body
 * is the parsed JSON response or problem details, or null when there is none.
 */
export async function sendJson(method, url, body) {
    const headers = { Accept: "application/json", ...antiforgeryHeaders() };
    if (body !== undefined) {
        headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const type = response.headers.get("Content-Type") ?? "";
    const parsed = type.includes("json") ? await response.json() : null;
    return { ok: response.ok, status: response.status, body: parsed };
}

/** Returns one line of text for a problem details body, or for a response without one. */
export function problemText(result) {
    const problem = result.body;
    if (problem && (problem.title || problem.detail)) {
        return [problem.title, problem.detail].filter(Boolean).join(": ");
    }
    return `The request failed with HTTP ${result.status}.`;
}

/** Formats an ISO 8601 instant as HH:mm:ss.fff in UTC, as the pages render it. */
export function utcTime(timestamp) {
    return new Date(timestamp).toISOString().slice(11, 23);
}

/** Formats an ISO 8601 instant as yyyy-MM-dd HH:mm:ss.fff in UTC, or "not yet" for null. */
export function utcDateTime(timestamp) {
    return timestamp ? new Date(timestamp).toISOString().replace("T", " ").slice(0, 23) : "not yet";
}

/** Returns a function that runs action once, delayMs after the first of the calls made in the meantime. */
export function coalesce(action, delayMs) {
    let timer = null;
    return () => {
        if (timer === null) {
            timer = setTimeout(() => {
                timer = null;
                action().catch(error => console.warn("A scheduled refresh failed.", error));
            }, delayMs);
        }
    };
}
