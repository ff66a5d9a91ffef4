// The system page: fetches its rows again on a timer, because memory use changes.

import { fetchHtml } from "./dashboard.js";
import { showTimedRefresh } from "./live.js";

const refreshIntervalMs = 10000;

async function refresh() {
    document.getElementById("resources").innerHTML = await fetchHtml("/system?handler=Values");
}

showTimedRefresh(refreshIntervalMs);
setInterval(() => refresh().catch(error => console.warn("Refreshing the system values failed.", error)), refreshIntervalMs);
