#!/usr/bin/env python3
"""1,000 concurrent SSE watchers on one longrun-api (issue 15): 1,000
`GET /v1/operations/{id}:watch` streams, 20 on each of 50 demo.sleep operations, held open
from one asyncio loop (no thread per stream) while the operations run; every stream must get
its operation's terminal event. Prints the api's resident memory per open stream (VmRSS with
the streams open minus before, over the count) for docs/BENCHMARKS.md. Loopback only.

    [LONGRUN_TEST_PG_DIR=DIR] [SSE_WATCHERS=1000] /usr/bin/python3 sse_watchers_test.py
"""

import asyncio
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, say  # noqa: E402
from http_test import Http, op_id  # noqa: E402

WATCHERS = int(os.environ.get("SSE_WATCHERS", "1000"))
OPERATIONS = 50
SLEEP_SECONDS = 3
CONNECT_BATCH = 100  # connections opened at a time
LIMIT_SECONDS = 180  # the whole run, streams included


def raise_fd_limit(need):
    """The api inherits this process's RLIMIT_NOFILE: room for every stream on both ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    check(soft == resource.RLIM_INFINITY or soft >= need,
          "RLIMIT_NOFILE is %d (hard %s); %d streams need %d" % (soft, hard, WATCHERS, need))
    say("# RLIMIT_NOFILE %s" % soft)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class Watcher:
    """One :watch stream over a raw asyncio connection."""

    def __init__(self, port, oid):
        self.port, self.oid = port, oid
        self.opened = asyncio.get_running_loop().create_future()  # the first event came
        self.events = 0
        self.terminal = None  # the terminal Operation

    async def run(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(("GET /v1/operations/%s:watch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Accept: text/event-stream\r\n\r\n" % self.oid).encode())
            await writer.drain()
            status = await reader.readline()
            check(status.startswith(b"HTTP/1.1 200 "), "watch %s: %r" % (self.oid, status))
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            data = None
            while True:
                line = await reader.readline()
                if not line:
                    break  # the server closed: after the terminal event, or too early
                line = line.rstrip(b"\n")
                if line.startswith(b"data: "):
                    data = line[len(b"data: "):]
                elif line == b"" and data is not None:
                    op = json.loads(data)
                    data = None
                    self.events += 1
                    if not self.opened.done():
                        self.opened.set_result(True)
                    if op["done"]:
                        self.terminal = op
        finally:
            if not self.opened.done():
                self.opened.set_result(False)
            writer.close()


async def open_watchers(port, oids, n):
    """n streams spread over `oids`, opened CONNECT_BATCH at a time; returns once each has
    its first event (the operation's snapshot, still QUEUED): (watchers, their tasks)."""
    watchers = [Watcher(port, oids[i % len(oids)]) for i in range(n)]
    tasks = []
    for start in range(0, n, CONNECT_BATCH):
        batch = watchers[start:start + CONNECT_BATCH]
        tasks += [asyncio.create_task(w.run()) for w in batch]
        await asyncio.wait_for(asyncio.gather(*(w.opened for w in batch)), 60)
    check(all(w.opened.result() for w in watchers), "a stream ended before its first event")
    return watchers, tasks


def run(env, stubs):
    raise_fd_limit(2 * WATCHERS + 1024)
    http_port_file = os.path.join(env.tmp, "http.port")
    # No worker yet: the operations stay QUEUED until every stream is open.
    env.start_stack(native_worker=False,
                    api_args=["--http-listen=127.0.0.1:0", "--http-port-file=" + http_port_file])
    port = env.await_port_file(http_port_file, time.monotonic() + 30)
    api_pid = next(p.pid for name, p, _ in env.procs if name == "longrun-api")
    http = Http(port)
    oids = []
    for _ in range(OPERATIONS):
        s, _, op = http.call("POST", "/v1/operations",
                             {"kind": "demo.sleep", "input": {"seconds": SLEEP_SECONDS, "steps": 3}})
        check(s == 202, "submit: %d %r" % (s, op))
        oids.append(op_id(op))

    async def main():
        # Warm up (thread pools, allocator arenas, the hub's tables) with a few streams that
        # come and go, so the figure below is what each further stream costs.
        _, warm_tasks = await open_watchers(port, oids, 50)
        for t in warm_tasks:
            t.cancel()
        await asyncio.gather(*warm_tasks, return_exceptions=True)
        await asyncio.sleep(0.5)  # let the api notice the closed streams
        before = rss_kib(api_pid)
        started = time.monotonic()
        watchers, tasks = await open_watchers(port, oids, WATCHERS)
        opened = time.monotonic() - started
        during = rss_kib(api_pid)
        per_stream = (during - before) * 1024.0 / WATCHERS
        say("# %d streams open in %.1fs; api VmRSS %.1f MiB -> %.1f MiB: %.1f KiB per stream"
            % (WATCHERS, opened, before / 1024.0, during / 1024.0, per_stream / 1024.0))
        # Now run the operations: 50 at once.
        env.start_native_worker(concurrency=OPERATIONS)
        done, pending = await asyncio.wait(tasks, timeout=LIMIT_SECONDS / 2)
        check(not pending, "%d streams still open after %ds" % (len(pending), LIMIT_SECONDS / 2))
        for t in done:
            if t.exception() is not None:
                raise t.exception()
        missing = [w.oid for w in watchers if w.terminal is None]
        check(not missing, "%d streams ended without the terminal event, e.g. %s"
              % (len(missing), missing[:3]))
        check(all(w.terminal["metadata"]["state"] == "SUCCEEDED" for w in watchers),
              "a terminal state is not SUCCEEDED")
        events = sum(w.events for w in watchers)
        say("# every one of %d streams got its terminal event (%d events, %.1f per stream)"
            % (WATCHERS, events, events / WATCHERS))
        say("BENCH sse_watchers streams=%d operations=%d rss_before_mib=%.1f "
            "rss_open_mib=%.1f kib_per_stream=%.1f"
            % (WATCHERS, OPERATIONS, before / 1024.0, during / 1024.0, per_stream / 1024.0))

    asyncio.run(asyncio.wait_for(main(), LIMIT_SECONDS))
    env.check_alive()


if __name__ == "__main__":
    sys.exit(harness.main("sse_watchers", __doc__.splitlines()[0], run, stub_names=["status_pb2"]))
