#!/usr/bin/python3
"""With --log-format=json (here LONGRUN_LOG_FORMAT=json), every line longrun-api and
longrun-worker write is one JSON object with ts, level and event.

Starts the stack with JSON logs at debug level, runs jobs that succeed, fail, are retried
and are cancelled, stops everything (so start-up and shutdown lines are in), then parses
every line of both logs.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 json_logs_test.py
"""

import json
import os
import sys
import time

from harness import RPC_TIMEOUT, check, main as harness_main, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")


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

    names = [submit("demo.echo", {"text": "caf\u00e9 \"quoted\"\nnew line"}),
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
    env.stop_processes()

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
    check(lines > 0, "no log lines at all")
    for event in ("serving", "worker_started", "job_started", "stopped"):
        check(event in events, "no %r line among %s" % (event, sorted(events)))
    say("# %d log lines, all JSON objects (%d kinds of event)" % (lines, len(events)))


def main():
    return harness_main("json_logs_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
