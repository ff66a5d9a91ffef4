"""Pickup latency for bench/pickup.sh: submits COUNT tasks one after another, each after the
previous one finished, and prints p50 and p99 of the time from the 202 response to the task's
started event, read from the event stream.

Usage: pickup.py BASE_URL KEY COUNT
"""
import http.client
import json
import sys
import time
import urllib.parse

base, key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = urllib.parse.urlparse(base)
submit = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
stream = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
latencies = []
for number in range(count):
    submit.request("POST", "/api/tasks", body=json.dumps({"input": f"pickup {number}"}),
                   headers={"X-Api-Key": key, "Content-Type": "application/json"})
    response = submit.getresponse()
    body = response.read()
    accepted = time.perf_counter()
    if response.status != 202:
        sys.exit(f"task {number}: {response.status} {body[:200]!r}")
    task_id = json.loads(body)["id"]
    # The stream replays stored events first, so a start before this request is not missed.
    stream.request("GET", f"/api/tasks/{task_id}/events", headers={"X-Api-Key": key, "Accept": "text/event-stream"})
    events = stream.getresponse()
    started = None
    for raw in events:
        line = raw.decode().strip()
        if line.startswith("event:") and line.split(":", 1)[1].strip() == "started" and started is None:
            started = time.perf_counter()
        if line.startswith("event:") and line.split(":", 1)[1].strip() in ("succeeded", "failed", "cancelled", "timed_out"):
            break
    events.read()
    if started is None:
        sys.exit(f"task {task_id}: no started event")
    latencies.append((started - accepted) * 1000)

latencies.sort()
p50 = latencies[len(latencies) // 2]
p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
print(f"pickup: {count} sequential tasks, 202 to started event: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms")
