#!/usr/bin/python3
"""With --log-format=json (here LONGRUN_LOG_FORMAT=json), every line longrun-api and
longrun-worker write is one JSON object with ts, level and event.

Starts the stack with JSON logs at debug level, runs jobs that succeed, fail, are retried
and are cancelled, stops everything (so start-up and shutdown lines are in), then parses
every line of both logs. One job is submitted in the caller's W3C trace (a `traceparent`
in the metadata): its trace id must be in its OperationMetadata and on every log line about
it; the others get a trace longrun started.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 json_logs_test.py
"""

import json
import os
import sys
import time

from harness import RPC_TIMEOUT, check, main as harness_main, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = "00-%s-00f067aa0ba902b7-01" % TRACE_ID


def run_test(env, stubs):
    v1 = stubs.v1_pb2
    os.environ["LONGRUN_LOG_FORMAT"] = "json"
    os.environ["LONGRUN_LOG_LEVEL"] = "debug"
    try:
        channel, _ = env.start_stack(worker_concurrency=4)
    finally:
        del os.environ["LONGRUN_LOG_FORMAT"]
        del os.environ["LONGRUN_LOG_LEVEL"]
    ops = stubs.v1_grpc.OperationsStub(channel)

    def submit(kind, input_, **extra):
        request = v1.SubmitRequest(kind=kind, **extra)
        request.input.update(input_)
        return ops.Submit(request, timeout=RPC_TIMEOUT).name

    # A job in the caller's trace (W3C traceparent metadata) and one without a trace.
    traced = v1.SubmitRequest(kind="demo.echo")
    traced.input.update({"traced": True})
    op = ops.Submit(traced, timeout=RPC_TIMEOUT, metadata=[("traceparent", TRACEPARENT)])
    traced_name, traced_meta = op.name, v1.OperationMetadata()
    op.metadata.Unpack(traced_meta)
    check(traced_meta.trace_id == TRACE_ID, "Submit's trace_id %r" % traced_meta.trace_id)
    names = [traced_name,
             submit("demo.echo", {"text": "caf\u00e9 \"quoted\"\nnew line"}),
             submit("demo.fail", {"failures": 1}),                    # retried, then succeeds
             submit("demo.fail", {"failures": 1, "permanent": True}),  # fails for good
             submit("demo.sleep", {"seconds": 30})]
    time.sleep(0.5)
    ops.CancelOperation(v1.CancelOperationRequest(name=names[-1]), timeout=RPC_TIMEOUT)
    deadline = time.monotonic() + 60
    for name in names:
        while not ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT).done:
            check(time.monotonic() < deadline, "%s not done" % name)
            time.sleep(0.05)
    # The trace id is the operation's (and one was started for the untraced job).
    for name in names[:2]:
        meta = v1.OperationMetadata()
        ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT).metadata.Unpack(meta)
        check(len(meta.trace_id) == 32, "%s: trace_id %r" % (name, meta.trace_id))
        if name == traced_name:
            check(meta.trace_id == TRACE_ID, "%s: trace_id %r" % (name, meta.trace_id))
    env.stop_processes()

    traced_id = traced_name.split("/", 1)[1]
    traced_lines = []
    lines = 0
    events = set()
    for log in env.logs:
        if os.path.basename(log) == "migrate.log":
            continue  # `migrate` prints its result for a human, not a log line
        with open(log, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    obj = json.loads(line)
                except ValueError as e:
                    check(False, "%s:%d is not JSON (%s): %r" % (log, n, e, line))
                check(isinstance(obj, dict) and {"ts", "level", "event"} <= obj.keys(),
                      "%s:%d lacks ts/level/event: %r" % (log, n, line))
                lines += 1
                events.add(obj["event"])
                if obj.get("operation") == traced_id:
                    traced_lines.append(obj)
    check(lines > 0, "no log lines at all")
    for event in ("serving", "worker_started", "job_started", "stopped"):
        check(event in events, "no %r line among %s" % (event, sorted(events)))
    # Every worker line about the traced job carries its trace id.
    check(traced_lines, "no log line about %s" % traced_id)
    for obj in traced_lines:
        check(obj.get("trace_id") == TRACE_ID, "line about %s without its trace id: %r"
              % (traced_id, obj))
    say("# %d log lines, all JSON objects (%d kinds of event); %d about the traced job, each "
        "with trace_id %s" % (lines, len(events), len(traced_lines), TRACE_ID))


def main():
    return harness_main("json_logs_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
