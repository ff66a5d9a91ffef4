// The overview: lane rows follow laneChanged messages, the limit forms call PUT /api/lanes/{name},
// and the queue depths and chart are fetched again on a timer and after task events, because no
// hub message carries them.

import { startLive } from "./live.js";
import { coalesce, fetchHtml, fetchJson, problemText, sendJson, statusAfter } from "./dashboard.js";

const activityIntervalMs = 10000;

function applyLane(lane) {
    const row = document.querySelector(`#lanes tr[data-lane="${CSS.escape(lane.name)}"]`);
    if (!row) {
        return;
    }

    const percent = lane.maxConcurrent === 0 ? 0 : Math.min(100, Math.floor(lane.active * 100 / lane.maxConcurrent));
    const meter = row.querySelector("[data-role=utilisation]");
    meter.setAttribute("aria-valuemax", lane.maxConcurrent);
    meter.setAttribute("aria-valuenow", lane.active);
    meter.querySelector(".bar-fill").style.width = `${percent}%`;
    const paused = lane.maxConcurrent === 0 ? " (paused)" : "";
    row.querySelector("[data-role=utilisation-text]").textContent = `${lane.active} of ${lane.maxConcurrent} active${paused}`;
    row.querySelector("[data-role=waiting]").textContent = `${lane.queued}`;
    row.querySelector("[data-role=wait-reason]").textContent = lane.waitReason ? lane.waitReason.replaceAll("_", " ") : "none";
    row.querySelector("[data-role=wait-times]").textContent = `${lane.waitMs.p50} ms / ${lane.waitMs.p95} ms`;

    const limit = row.querySelector("[data-role=limit]");
    if (limit) {
        limit.textContent = `${lane.maxConcurrent}`;
    }
    const input = row.querySelector("input[name=maxConcurrent]");
    if (input && document.activeElement !== input) {
        input.value = lane.maxConcurrent;
    }
}

async function refreshLanes() {
    const lanes = await fetchJson("/api/lanes");
    lanes.forEach(applyLane);
}

async function refreshActivity() {
    document.getElementById("activity").innerHTML = await fetchHtml("/?handler=Activity");
}

// A queued, started or finished task changes a queue depth or the chart. A burst of them needs one fetch.
const scheduleActivityRefresh = coalesce(refreshActivity, 2000);

function onTaskEvent(event) {
    if (statusAfter(event.type)) {
        scheduleActivityRefresh();
    }
}

async function submitLimit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const message = form.querySelector("[data-role=limit-message]");
    const lane = form.dataset.lane;
    const value = form.elements.maxConcurrent.value.trim();
    const limit = /^\d+$/.test(value) ? Number(value) : null;

    const result = await sendJson("PUT", `/api/lanes/${encodeURIComponent(lane)}`, { maxConcurrent: limit });
    if (result.ok) {
        applyLane(result.body);
        message.textContent = `Limit set to ${result.body.maxConcurrent}.`;
        message.classList.remove("error");
        return;
    }

    const fieldErrors = result.body?.errors?.maxConcurrent;
    message.textContent = fieldErrors ? fieldErrors.join(" ") : problemText(result);
    message.classList.add("error");
}

for (const form of document.querySelectorAll("form.lane-limit")) {
    form.addEventListener("submit", submitLimit);
}

setInterval(() => refreshActivity().catch(error => console.warn("Refreshing the queues and chart failed.", error)), activityIntervalMs);

startLive({
    subscribe: connection => connection.invoke("SubscribeAllBatched"),
    refresh: () => Promise.all([refreshLanes(), refreshActivity()]),
    handlers: { laneChanged: applyLane, taskEvent: onTaskEvent },
});
