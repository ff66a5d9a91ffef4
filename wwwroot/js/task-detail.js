// The task page: the task's own events are applied in sequence order, with no gap and no
// duplicate, from the hub's replay, its live stream and GET /api/tasks/{id}/events alike.
// Events of other tasks in the tree update their badges.

import { startLive } from "./live.js";
import {
    applyTaskEvent, coalesce, fetchHtml, fetchJson, isFinal, problemText, sendJson, setProgress, setStatus, statusAfter, utcDateTime, utcTime,
} from "./dashboard.js";

const page = document.getElementById("task");
const taskId = page.dataset.taskId;
const summary = document.getElementById("task-summary");
const output = document.getElementById("task-output");
const outputEmpty = document.getElementById("task-output-empty");
const timeline = document.getElementById("task-timeline");
const tree = document.getElementById("task-tree");
const cancelForm = document.getElementById("cancel-form");

// The API's largest page of events.
const eventPageSize = 1000;

// How long an event may wait for an earlier one before the missing ones are fetched over HTTP.
// The hub's all-tasks stream leaves out output events, so its events can arrive ahead of them.
const gapDelayMs = 3000;

const treeEvents = new Set(["child_started", "child_completed", "plan_created"]);

let nextSequence = Number(page.dataset.lastSequence) + 1;
const pending = new Map();
let gapTimer = null;

function appendTimelineRow(event) {
    const row = document.createElement("tr");
    row.dataset.sequence = event.sequence;
    const time = Object.assign(document.createElement("time"), { dateTime: event.timestamp, textContent: utcTime(event.timestamp) });
    const data = Object.assign(document.createElement("code"), { textContent: event.data == null ? "" : JSON.stringify(event.data) });
    for (const content of [`${event.sequence}`, time, event.type, data]) {
        const cell = document.createElement("td");
        cell.append(content);
        row.append(cell);
    }
    timeline.append(row);
}

function treeNode(id) {
    return tree.querySelector(`li[data-task-id="${id}"] > .tree-node`);
}

async function refreshTree() {
    tree.innerHTML = await fetchHtml(`/tasks/${taskId}?handler=Tree`);
}

async function refreshOutcome() {
    document.getElementById("task-outcome").innerHTML = await fetchHtml(`/tasks/${taskId}?handler=Outcome`);
}

async function refreshSummary() {
    const task = await fetchJson(`/api/tasks/${taskId}`);
    setStatus(summary, task.status);
    setProgress(summary, task.progress.percent, task.progress.message);
    summary.querySelector("[data-role=attempts]").textContent = `${task.attempts} of ${task.maxAttempts}`;
    summary.querySelector("[data-role=started-at]").textContent = utcDateTime(task.startedAt);
    summary.querySelector("[data-role=finished-at]").textContent = utcDateTime(task.finishedAt);
}

const scheduleTreeRefresh = coalesce(refreshTree, 500);
const scheduleSummaryRefresh = coalesce(refreshSummary, 500);

function render(event) {
    if (event.type === "output") {
        output.append(event.data?.text ?? "");
        outputEmpty.hidden = true;
        return;
    }

    appendTimelineRow(event);
    applyTaskEvent(summary, event);
    const node = treeNode(taskId);
    if (node) {
        applyTaskEvent(node, event);
    }

    if (treeEvents.has(event.type)) {
        scheduleTreeRefresh();
        scheduleSummaryRefresh();
    }

    const status = statusAfter(event.type);
    if (status === "running") {
        scheduleSummaryRefresh();
    }
    if (status && isFinal(status)) {
        cancelForm?.remove();
        Promise.all([refreshSummary(), refreshOutcome()])
            .catch(error => console.warn("Loading the finished task failed.", error));
    }
}

function accept(event) {
    if (event.sequence < nextSequence || pending.has(event.sequence)) {
        return;
    }

    pending.set(event.sequence, event);
    while (pending.has(nextSequence)) {
        const next = pending.get(nextSequence);
        pending.delete(nextSequence);
        nextSequence++;
        render(next);
    }

    if (pending.size > 0 && gapTimer === null) {
        gapTimer = setTimeout(() => {
            gapTimer = null;
            loadEvents().catch(error => console.warn("Loading the missing events failed.", error));
        }, gapDelayMs);
    }
}

async function loadEvents() {
    for (;;) {
        const after = nextSequence - 1;
        const events = await fetchJson(`/api/tasks/${taskId}/events?after=${after}`);
        events.forEach(accept);
        if (events.length < eventPageSize || nextSequence - 1 === after) {
            return;
        }
    }
}

function onTaskEvent(event) {
    if (event.taskId === taskId) {
        accept(event);
        return;
    }

    const node = treeNode(event.taskId);
    if (node) {
        applyTaskEvent(node, event);
    } else if (event.type === "queued" && event.data?.parentId && treeNode(event.data.parentId)) {
        scheduleTreeRefresh();
    }
}

async function cancelTask(event) {
    event.preventDefault();
    const message = document.getElementById("cancel-message");
    const result = await sendJson("POST", `/api/tasks/${taskId}/cancel`);
    message.textContent = result.ok ? "Cancellation requested." : problemText(result);
    message.classList.toggle("error", !result.ok);
}

cancelForm?.addEventListener("submit", cancelTask);

startLive({
    subscribe: async connection => {
        await connection.invoke("SubscribeTask", taskId, nextSequence - 1);
        await connection.invoke("SubscribeAllBatched");
    },
    refresh: () => Promise.all([loadEvents(), refreshTree(), refreshSummary()]),
    handlers: { taskEvent: onTaskEvent },
});
