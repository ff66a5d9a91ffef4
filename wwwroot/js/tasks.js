// The task list: rows follow task events from the hub, the list is fetched again when a task
// that is not shown may belong in it, and the form posts to /api/tasks without leaving the page.

import { startLive } from "./live.js";
import { applyTaskEvent, coalesce, fetchHtml, problemText, sendJson, statusAfter } from "./dashboard.js";

const rows = document.getElementById("task-rows");
const table = rows.closest("table");
const statusFilter = table.dataset.statusFilter || null;
const firstPage = table.dataset.firstPage === "true";

async function refreshRows() {
    const query = new URLSearchParams(location.search);
    query.set("handler", "Rows");
    rows.innerHTML = await fetchHtml(`/tasks?${query}`);
}

// New tasks arrive in bursts, so one fetch of the list covers a burst.
const scheduleRefresh = coalesce(refreshRows, 500);

function onTaskEvent(event) {
    const row = rows.querySelector(`tr[data-task-id="${event.taskId}"]`);
    if (row) {
        applyTaskEvent(row, event);
        return;
    }

    // Only the first page gains tasks, and a task shows only once it has the filtered status.
    const status = statusAfter(event.type);
    if (firstPage && status && (statusFilter === null || statusFilter === status)) {
        scheduleRefresh();
    }
}

// Shows each field's messages next to it and returns the messages of fields the form lacks.
function showErrors(form, errors) {
    const shownKeys = new Set();
    for (const element of form.querySelectorAll("[data-error-for]:not([data-error-for=''])")) {
        const field = element.dataset.errorFor;
        const entries = Object.entries(errors).filter(([key]) => key === field || key.startsWith(`${field}[`));
        entries.forEach(([key]) => shownKeys.add(key));
        element.textContent = entries
            .flatMap(([key, values]) => key === field ? values : values.map(value => `${key}: ${value}`))
            .join(" ");
    }
    return Object.entries(errors)
        .filter(([key]) => !shownKeys.has(key))
        .flatMap(([key, values]) => values.map(value => `${key}: ${value}`));
}

function readSubmission(form) {
    const fields = form.elements;
    const subtasks = fields.subtasks.value
        .split("\n")
        .map(line => line.trim())
        .filter(line => line.length > 0)
        .map(input => ({ input }));
    const submission = {
        agent: fields.agent.value,
        input: fields.input.value,
        lane: fields.lane.value,
    };
    if (fields.priority.value) {
        submission.priority = fields.priority.value;
    }
    if (subtasks.length > 0) {
        submission.subtasks = subtasks;
    }
    return submission;
}

async function submitTask(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const message = document.getElementById("submit-message");
    const general = form.querySelector("[data-error-for='']");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
        const result = await sendJson("POST", "/api/tasks", readSubmission(form));
        if (result.ok) {
            showErrors(form, {});
            general.textContent = "";
            form.elements.input.value = "";
            form.elements.subtasks.value = "";
            message.replaceChildren("Task ", Object.assign(document.createElement("a"), {
                href: `/tasks/${result.body.id}`,
                textContent: result.body.id,
            }), " queued.");
            await refreshRows();
            return;
        }

        message.textContent = "";
        const unshown = showErrors(form, result.body?.errors ?? {});
        general.textContent = result.body?.errors ? unshown.join(" ") : problemText(result);
    } finally {
        button.disabled = false;
    }
}

document.getElementById("submit-form")?.addEventListener("submit", submitTask);

startLive({
    subscribe: connection => connection.invoke("SubscribeAllBatched"),
    refresh: refreshRows,
    handlers: { taskEvent: onTaskEvent },
});
