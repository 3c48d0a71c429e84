#!/usr/bin/python3
"""WatchOperations is resumable and loses nothing.

10,000 operations are submitted by 4 concurrent submitters and run by 2 longrun-worker
processes while a consumer (`longrunctl events`, a separate process) follows the event
stream. The consumer is killed with SIGKILL 5 times along the way and restarted each time
with --since=<the cursor of the last line it printed>. At the end every operation's terminal
event has been seen at least once, and each operation's versions never went backwards across
the whole sequence (restarts included). Then: a filter, a snapshot, and a malformed cursor.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 events_test.py
"""

import json
import os
import subprocess
import sys
import threading
import time

import grpc

from harness import RPC_TIMEOUT, check, main as harness_main, psql, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")
OPERATIONS = 10000
SUBMITTERS = 4
KILLS = 5
STEP = 1500  # events each consumer incarnation prints before it is killed


class Consumer:
    """`longrunctl events` with its stdout parsed line by line."""

    def __init__(self, env, addr):
        self.env = env
        self.addr = addr
        self.lock = threading.Lock()
        self.events = []  # (name, version, done, state) in arrival order
        self.cursor = ""
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        argv = [self.env.binary("longrunctl"), "--server=" + self.addr, "events"]
        if self.cursor:
            argv.append("--since=" + self.cursor)
        log = os.path.join(self.env.tmp, "consumer-%d.log" % self.starts)
        self.env.logs.append(log)
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                                         stdin=subprocess.DEVNULL)
        self.env.procs.append(("consumer-%d" % self.starts, self.proc, log))
        say("# consumer %d (pid %d) since %r" % (self.starts, self.proc.pid, self.cursor))
        self.reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self.reader.start()

    def _read(self, proc):
        for line in proc.stdout:
            if not line.endswith(b"\n"):
                break  # cut off by the kill: the restart resumes before it
            event = json.loads(line)
            op = event["operation"]
            md = op["metadata"]
            with self.lock:
                self.events.append((op["name"], int(md.get("version", 0)), op.get("done", False),
                                    md.get("state")))
                self.cursor = event["cursor"]

    def kill(self):
        self.env.kill(self.proc)
        self.reader.join(timeout=10)

    def seen(self):
        with self.lock:
            return len(self.events)


def run_test(env, stubs):
    v1 = stubs.v1_pb2
    channel, addr = env.start_stack(native_worker=False)
    for i in range(2):
        env.start_native_worker(concurrency=8, name="longrun-worker-%d" % i)
    ops = stubs.v1_grpc.OperationsStub(channel)

    # Bad requests first.
    for request, code in [(v1.WatchOperationsRequest(start_after="nope"),
                           grpc.StatusCode.INVALID_ARGUMENT),
                          (v1.WatchOperationsRequest(filter="state = "),
                           grpc.StatusCode.INVALID_ARGUMENT)]:
        try:
            next(iter(ops.WatchOperations(request, timeout=RPC_TIMEOUT)))
            check(False, "WatchOperations(%s) streamed" % request)
        except grpc.RpcError as e:
            check(e.code() == code, "%s: %s %s" % (request, e.code(), e.details()))

    consumer = Consumer(env, addr)
    consumer.start()
    # The stream starts "now" once the consumer is connected: submit markers until one
    # shows up, so everything after is certainly after its start.
    deadline = time.monotonic() + 30
    while consumer.seen() == 0:
        ops.Submit(v1.SubmitRequest(kind="demo.echo", labels={"role": "marker"}),
                   timeout=RPC_TIMEOUT)
        check(time.monotonic() < deadline, "the consumer saw nothing")
        time.sleep(0.2)

    names = []
    names_lock = threading.Lock()
    errors = []

    def submitter(index):
        try:
            mine = []
            for i in range(OPERATIONS // SUBMITTERS):
                request = v1.SubmitRequest(kind="demo.echo", labels={"role": "load"})
                request.input.update({"s": index, "i": i})
                mine.append(ops.Submit(request, timeout=RPC_TIMEOUT).name)
            with names_lock:
                names.extend(mine)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=submitter, args=(i,)) for i in range(SUBMITTERS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    # Kill and resume the consumer as events pour in: each incarnation is killed once it
    # has printed STEP events (or, once the submitters are done, has been quiet for 3 s: a
    # consumer behind the head sees each operation's newest state once, so the total is not
    # known in advance).
    for k in range(KILLS):
        target = consumer.seen() + STEP
        deadline = time.monotonic() + 120
        quiet_since, last = time.monotonic(), consumer.seen()
        while consumer.seen() < target:
            env.check_alive()
            if consumer.seen() != last:
                quiet_since, last = time.monotonic(), consumer.seen()
            if not any(t.is_alive() for t in threads) and time.monotonic() - quiet_since > 3:
                break
            check(time.monotonic() < deadline, "consumer stalled at %d" % consumer.seen())
            time.sleep(0.02)
        consumer.kill()
        consumer.start()
    for t in threads:
        t.join()
    check(not errors, "submit failed: %r" % errors[:1])
    check(len(names) == OPERATIONS, "%d submitted" % len(names))
    say("# submitted %d in %.1fs" % (OPERATIONS, time.monotonic() - started))

    wanted = set(names)
    deadline = time.monotonic() + 180
    while True:
        with consumer.lock:
            done = {n for n, _, is_done, _ in consumer.events if is_done}
        missing = wanted - done
        if not missing:
            break
        env.check_alive()
        check(time.monotonic() < deadline,
              "%d terminal events missing, e.g. %s; %s" % (
                  len(missing), sorted(missing)[:3],
                  psql(env.db_url, "SELECT state, count(*) FROM operations GROUP BY state")))
        time.sleep(0.2)
    with consumer.lock:
        events = list(consumer.events)
    last = {}
    backwards = []
    for name, version, _, _ in events:
        if version < last.get(name, 0):
            backwards.append((name, last[name], version))
        last[name] = version
    check(not backwards, "versions went backwards: %r" % backwards[:5])
    counts = {}
    for name, _, is_done, _ in events:
        if is_done and name in wanted:
            counts[name] = counts.get(name, 0) + 1
    dupes = sum(1 for c in counts.values() if c > 1)
    say("# consumer: %d events over %d connections; every one of %d terminal events seen "
        "(%d more than once, from resumes)" % (len(events), consumer.starts, OPERATIONS, dupes))
    consumer.kill()

    # A filter, from the start of the log... and a snapshot of the same set.
    request = v1.WatchOperationsRequest(filter='labels.role = "marker" AND state = SUCCEEDED',
                                        include_snapshot=True)
    stream = ops.WatchOperations(request, timeout=60)
    markers = int(psql(env.db_url, "SELECT count(*) FROM operations "
                                   "WHERE labels->>'role' = 'marker'").strip())
    got = set()
    for event in stream:
        check(event.cursor.startswith("e2."), "cursor %r" % event.cursor)
        meta = v1.OperationMetadata()
        event.operation.metadata.Unpack(meta)
        check(meta.labels["role"] == "marker" and meta.state == v1.OperationMetadata.SUCCEEDED,
              "filter let through %s %s" % (meta.labels, meta.state))
        got.add(event.operation.name)
        if len(got) == markers:
            stream.cancel()
            break
    check(len(got) == markers, "snapshot: %d of %d markers" % (len(got), markers))
    say("# filter + snapshot: %d markers" % markers)


if __name__ == "__main__":
    sys.exit(harness_main("events", __doc__.splitlines()[0], run_test, STUBS))
