-- wrk script for bench/submit.sh: every request submits one task.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Api-Key"] = os.getenv("BENCH_KEY")
wrk.body = '{"input":"benchmark task","metadata":{"bench":"submit"}}'

function done(summary, latency, requests)
    io.write(string.format("p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d\n",
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status))
end
