#!/usr/bin/python3
"""Prometheus metrics of longrun-api and longrun-worker agree with the database.

Starts the api and a worker, each with --metrics-listen on a port from the kernel, runs
500 jobs (most succeed; some are retried and succeed; some fail for good, some after
exhausting their attempts; some are cancelled while waiting, some while running), then
scrapes both processes and checks, summing the two as a dashboard would:
  - longrun_operations_submitted_total = rows;
  - longrun_jobs_finished_total by outcome = rows by state;
  - longrun_retries_total = attempts that ended and were retried (from the attempt history);
  - grpc_server_handled_total for Submit = 500, with code OK;
  - longrun_queue_depth returns to 0 everywhere, and longrun_watch_streams follows an open
    WatchOperation stream;
  - `promtool check metrics` (Debian's prometheus package) finds nothing in either scrape.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 metrics_test.py
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

from harness import RPC_TIMEOUT, check, main as harness_main, psql, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        check(r.status == 200, "GET /metrics: HTTP %d" % r.status)
        return r.read().decode("utf-8")


def samples(text):
    """[(name, {label: value}, float)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        check(m is not None, "unparsable sample line %r" % line)
        out.append((m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))))
    return out


def total(texts, name, **labels):
    """Sum of the series called `name` whose labels include `labels`, over all scrapes."""
    return sum(v for text in texts for n, l, v in samples(text)
               if n == name and all(l.get(k) == want for k, want in labels.items()))


def promtool_check(text, what):
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    check(result.returncode == 0 and not result.stdout.strip(),
          "promtool check metrics on the %s scrape (exit %d):\n%s"
          % (what, result.returncode, result.stdout))


def run_test(env, stubs):
    v1 = stubs.v1_pb2
    check(os.access(PROMTOOL, os.X_OK), "promtool not found (Debian package prometheus)")
    api_port_file = os.path.join(env.tmp, "api.metrics.port")
    worker_port_file = os.path.join(env.tmp, "worker.metrics.port")
    channel, _ = env.start_stack(
        native_worker=False,
        api_args=["--metrics-listen=127.0.0.1:0", "--metrics-port-file=" + api_port_file,
                  "--metrics-queue-interval=200ms"])
    env.start_native_worker(concurrency=8, extra=[
        "--metrics-listen=127.0.0.1:0", "--metrics-port-file=" + worker_port_file,
        "--retry-base=10ms", "--retry-cap=50ms"])
    deadline = time.monotonic() + 30
    api_port = env.await_port_file(api_port_file, deadline)
    worker_port = env.await_port_file(worker_port_file, deadline)
    ops = stubs.v1_grpc.OperationsStub(channel)

    def submit(kind, input_, **extra):
        request = v1.SubmitRequest(kind=kind, **extra)
        request.input.update(input_)
        return ops.Submit(request, timeout=RPC_TIMEOUT).name

    # A watcher on a job scheduled an hour ahead: one open stream until it is cancelled.
    scheduled = v1.SubmitRequest(kind="demo.echo")
    scheduled.schedule_time.FromSeconds(int(time.time()) + 3600)
    watched = ops.Submit(scheduled, timeout=RPC_TIMEOUT).name
    stream = ops.WatchOperation(v1.WatchOperationRequest(name=watched), timeout=120)
    first = threading.Event()
    seen = []

    def follow():
        for op in stream:
            seen.append(op)
            first.set()
    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    check(first.wait(30), "WatchOperation sent nothing")

    names = [watched]
    names += [submit("demo.echo", {"i": i}) for i in range(389)]
    names += [submit("demo.fail", {"failures": 1}) for _ in range(50)]   # retried, succeed
    names += [submit("demo.fail", {"failures": 1, "permanent": True}) for _ in range(25)]
    names += [submit("demo.fail", {"failures": 5}, max_attempts=2) for _ in range(15)]
    running = [submit("demo.sleep", {"seconds": 60}) for _ in range(5)]
    later = []
    for _ in range(15):
        r = v1.SubmitRequest(kind="demo.echo")
        r.schedule_time.FromSeconds(int(time.time()) + 3600)
        later.append(ops.Submit(r, timeout=RPC_TIMEOUT).name)
    names += running + later
    check(len(names) == 500, "submitted %d jobs, meant 500" % len(names))

    def state_counts():
        rows = psql(env.db_url, "SELECT state, count(*) FROM operations GROUP BY state")
        return {s: int(n) for s, n in (line.split("|") for line in rows.split())}

    # Cancel the sleepers once they run (the worker ends them CANCELLED) and the scheduled
    # ones while they wait (the api ends them at once).
    deadline = time.monotonic() + 60
    while int(psql(env.db_url, "SELECT count(*) FROM operations WHERE kind = 'demo.sleep' "
                               "AND state = 'RUNNING'")) < len(running):
        check(time.monotonic() < deadline, "the sleepers did not all start: %s" % state_counts())
        time.sleep(0.05)
    api_texts = [scrape(api_port)]
    check(total(api_texts, "longrun_watch_streams") == 1,
          "longrun_watch_streams with one open stream: %s" % total(api_texts, "longrun_watch_streams"))
    for name in running + later + [watched]:
        ops.CancelOperation(v1.CancelOperationRequest(name=name), timeout=RPC_TIMEOUT)
    follower.join(30)
    check(not follower.is_alive() and seen and seen[-1].done,
          "the watch did not end with the cancelled operation")

    deadline = time.monotonic() + 120
    while True:
        counts = state_counts()
        if sum(counts.get(s, 0) for s in ("SUCCEEDED", "FAILED", "CANCELLED")) == 500:
            break
        check(time.monotonic() < deadline, "jobs not all finished: %s" % counts)
        time.sleep(0.1)
    say("# database: %s" % counts)

    # The queue sampler reads every 200ms: depths fall back to 0.
    deadline = time.monotonic() + 30
    while True:
        api_text = scrape(api_port)
        depth = total([api_text], "longrun_queue_depth")
        age = total([api_text], "longrun_queue_oldest_age_seconds")
        if depth == 0 and age == 0 and "longrun_queue_depth{" in api_text:
            break
        check(time.monotonic() < deadline, "queue depth stays %s (oldest age %s)" % (depth, age))
        time.sleep(0.1)
    texts = [api_text, scrape(worker_port)]

    rows = 500
    check(total(texts, "longrun_operations_submitted_total") == rows,
          "submitted_total %s, rows %d" % (total(texts, "longrun_operations_submitted_total"), rows))
    for state in ("SUCCEEDED", "FAILED", "CANCELLED"):
        got = total(texts, "longrun_jobs_finished_total", outcome=state)
        check(got == counts.get(state, 0),
              "finished_total{outcome=%s} %s, rows %d" % (state, got, counts.get(state, 0)))
    retried = int(psql(env.db_url,
                       "SELECT coalesce(sum(jsonb_array_length(attempts)), 0) "
                       "  - count(*) FILTER (WHERE jsonb_array_length(attempts) > 0) "
                       "FROM operations"))
    check(retried == 50 + 15, "the history shows %d retried attempts, expected 65" % retried)
    check(total(texts, "longrun_retries_total") == retried,
          "retries_total %s, history %d" % (total(texts, "longrun_retries_total"), retried))
    submits = total(texts, "grpc_server_handled_total", grpc_service="longrun.v1.Operations",
                    grpc_method="Submit")
    submits_ok = total(texts, "grpc_server_handled_total", grpc_service="longrun.v1.Operations",
                       grpc_method="Submit", grpc_code="OK")
    check(submits == 500 and submits_ok == 500, "Submit handled %s (OK %s)" % (submits, submits_ok))
    check(total(texts, "grpc_server_started_total", grpc_method="Submit") == 500,
          "Submit started_total")
    claims = 389 + 50 * 2 + 25 + 15 * 2 + len(running)  # every attempt started
    check(total(texts, "longrun_job_pickup_seconds_count") == claims,
          "pickup_seconds_count %s, attempts %d"
          % (total(texts, "longrun_job_pickup_seconds_count"), claims))
    check(total(texts, "longrun_watch_streams") == 0, "watch streams still open")
    check(total(texts, "longrun_notify_lag_seconds_count") > 0, "no notification lag observed")
    check(total(texts, "longrun_worker_slots", state="free") == 8, "worker slots free != 8")
    check(total([texts[1]], "longrun_db_pool_connections", state="idle") > 0,
          "the worker's pool shows no idle connection")
    for text, what in ((texts[0], "api"), (texts[1], "worker")):
        for n, labels, _ in samples(text):
            check(not any(UUID.search(v) for v in labels.values()),
                  "an operation id in a label of the %s scrape: %s %s" % (what, n, labels))
        promtool_check(text, what)
    say("# api and worker scrapes agree with the database; promtool check metrics is clean")


def main():
    return harness_main("metrics_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
