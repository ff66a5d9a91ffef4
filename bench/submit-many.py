"""Submits COUNT tasks to the service from CONCURRENCY threads, each with its own keep-alive
connection, and exits with an error at the first response other than 202.

Usage: submit-many.py BASE_URL KEY COUNT [CONCURRENCY=16]
"""
import http.client
import json
import sys
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

base, key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else 16
url = urllib.parse.urlparse(base)
local = threading.local()


def submit(number):
    if getattr(local, "conn", None) is None:
        local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    local.conn.request("POST", "/api/tasks", body=json.dumps({"input": f"bench task {number}"}),
                       headers={"X-Api-Key": key, "Content-Type": "application/json"})
    response = local.conn.getresponse()
    body = response.read()
    if response.status != 202:
        raise RuntimeError(f"task {number}: {response.status} {body[:200]!r}")


with ThreadPoolExecutor(concurrency) as pool:
    for _ in pool.map(submit, range(count)):
        pass
