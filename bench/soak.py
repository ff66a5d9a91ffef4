"""Soak load for bench/soak.sh: submits tasks at a fixed rate for a fixed time and prints,
once per interval, throughput, errors and the service's resident memory.

Usage: soak.py BASE_URL KEY PID DURATION_S RATE INTERVAL_S WARMUP_S PSQL...
PSQL is the command that runs one query against the service's database and prints the rows.
The last line is a summary. The exit code is 1 when any request failed or any task did not
succeed.
"""
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

base, key, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
duration, rate, interval, warmup = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
psql = sys.argv[8:]
url = urllib.parse.urlparse(base)
local = threading.local()
lock = threading.Lock()
counts = {"accepted": 0, "errors": 0, "resent": 0}
run_id = f"{time.time_ns():x}"
error_samples = []
latencies = []


def connection():
    if getattr(local, "conn", None) is None:
        local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    return local.conn


def request(method, path, body=None, idempotency_key=None):
    headers = {"X-Api-Key": key}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    # A kept-alive connection that the server closed while it was idle fails on first use, so
    # a failure is sent once more on a new connection. The Idempotency-Key makes that safe.
    for attempt in (1, 2):
        try:
            conn = connection()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            local.conn = None
            if attempt == 2:
                return None, str(error).encode()
            with lock:
                counts["resent"] += 1


def submit(number):
    body = json.dumps({"input": f"soak task {number}", "metadata": {"soak": str(number)}})
    started = time.perf_counter()
    status, payload = request("POST", "/api/tasks", body, idempotency_key=f"soak-{run_id}-{number}")
    elapsed = time.perf_counter() - started
    with lock:
        latencies.append(elapsed)
        if status == 202:
            counts["accepted"] += 1
        else:
            counts["errors"] += 1
            if len(error_samples) < 5:
                error_samples.append(f"{status}: {payload[:200]!r}")


def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def finished_count():
    # Counts the soak's tasks by final state in the database; the API's listing has no totals.
    rows = subprocess.run(psql + ["select status, count(*) from tasks where status in "
                                  "('succeeded', 'failed', 'cancelled', 'timed_out') group by status"],
                          capture_output=True, text=True, check=True).stdout
    total = {"succeeded": 0, "failed": 0, "cancelled": 0, "timed_out": 0}
    for line in rows.splitlines():
        if "|" in line:
            status, count = line.split("|")
            total[status] = int(count)
    return total


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000 if ordered else float("nan")


pool = ThreadPoolExecutor(max_workers=16)
start = time.monotonic()
next_report = start + interval
number = 0
samples = []
previous_done, previous_time = 0, start
print("minute  accepted  errors  finished  done/s  p99_ms  rss_mib", flush=True)
while True:
    now = time.monotonic()
    if now - start >= duration:
        break
    due = int((now - start) * rate)
    while number < due:
        pool.submit(submit, number)
        number += 1
    if now >= next_report:
        finals = finished_count()
        done = sum(finals.values())
        with lock:
            window, latencies[:] = list(latencies), []
            accepted, errors = counts["accepted"], counts["errors"]
        rss = rss_mib()
        samples.append((now - start, rss))
        print(f"{(now - start) / 60:6.1f}  {accepted:8d}  {errors:6d}  {done:8d}  {(done - previous_done) / (now - previous_time):6.1f}"
              f"  {percentile(window, 0.99):6.1f}  {rss:7.1f}", flush=True)
        previous_done, previous_time = done, now
        next_report += interval
    time.sleep(min(0.01, 1 / rate))

pool.shutdown(wait=True)
# Waits up to 60 s for the last submissions to finish.
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    finals = finished_count()
    if sum(finals.values()) >= counts["accepted"]:
        break
    time.sleep(1)
finals = finished_count()
rss_end = rss_mib()
after_warmup = [rss for elapsed, rss in samples if elapsed >= warmup]
baseline = after_warmup[0] if after_warmup else float("nan")
growth = 100 * (rss_end - baseline) / baseline if after_warmup else float("nan")
not_succeeded = counts["accepted"] - finals["succeeded"]
for sample in error_samples:
    print("error:", sample)
print(f"summary: {counts['accepted']} accepted, {counts['errors']} request errors ({counts['resent']} resent once on a new connection), {finals['succeeded']} succeeded, "
      f"{not_succeeded} not succeeded; {counts['accepted'] / duration:.1f} accepted/s; "
      f"rss {baseline:.1f} MiB after warm-up, {rss_end:.1f} MiB at end ({growth:+.1f} %)", flush=True)
sys.exit(1 if counts["errors"] or not_succeeded else 0)
