// The system page: fetches its resource rows and the running process subagents again on a timer,
// because memory use and the running programs change.

import { fetchHtml } from "./dashboard.js";
import { showTimedRefresh } from "./live.js";

const refreshIntervalMs = 10000;

async function refresh() {
    document.getElementById("resources").innerHTML = await fetchHtml("/system?handler=Values");
    document.getElementById("processes").innerHTML = await fetchHtml("/system?handler=Processes");
}

showTimedRefresh(refreshIntervalMs);
setInterval(() => refresh().catch(error => console.warn("Refreshing the system values failed.", error)), refreshIntervalMs);
