#!/usr/bin/python3
"""End-to-end test of the out-of-tree C++ worker built on the installed SDK.

tools/dev/sdk_example.sh (the CTest fixture "sdk") installs the SDK into a prefix and builds
examples/cpp-worker from that prefix alone; this test starts longrun-api and that binary,
longrun-example-worker, on a fresh database, submits 200 example.wordcount jobs with texts
full of the whitespace and line breaks Python knows, and checks every result against
Python's own len(text.split()) and len(text.splitlines()).

    [LONGRUN_TEST_PG_DIR=DIR] [LONGRUN_EXAMPLE_WORKER=PATH] /usr/bin/python3 example_worker_test.py
"""

import os
import random
import sys
import time

from harness import RPC_TIMEOUT, check, main as harness_main, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")
JOBS = 200
# Everything Python's str.split() splits on, the line breaks of str.splitlines(), and
# characters that look like separators but are neither.
PIECES = ["word", "naïve", "日本語", "x", " ", "  ", "\t", "\n", "\r", "\r\n", "\n\r",
          "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
          "\u2000", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
          "\u200b", "\ufeff", "-", ".", "\u00e9"]


def texts(seed):
    rng = random.Random(seed)
    out = ["", " ", "\n", "a", "a\n", "a\nb", "\r\n\r\n", "one two  three\n"]
    while len(out) < JOBS:
        out.append("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40))))
    return out


def run_test(env, stubs):
    from google.protobuf import struct_pb2
    v1 = stubs.v1_pb2
    State = v1.OperationMetadata.State
    build = os.path.dirname(env.bin_dir)
    worker = os.environ.get("LONGRUN_EXAMPLE_WORKER") or os.path.join(
        build, "sdk-example", "longrun-example-worker")
    check(os.access(worker, os.X_OK), "%s is missing: run tools/dev/sdk_example.sh" % worker)
    channel, _ = env.start_stack(worker_concurrency=8, worker_binary=worker)
    ops = stubs.v1_grpc.OperationsStub(channel)

    cases = texts(seed=20261124)
    names = []
    for text in cases:
        request = v1.SubmitRequest(kind="example.wordcount")
        request.input.update({"text": text})
        names.append(ops.Submit(request, timeout=RPC_TIMEOUT).name)
    say("# submitted %d example.wordcount jobs" % len(names))

    deadline = time.monotonic() + 120

    def done(name):
        """Polls until the operation is done; returns it and its metadata."""
        while True:
            op = ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT)
            if op.done:
                meta = v1.OperationMetadata()
                op.metadata.Unpack(meta)
                return op, meta
            check(time.monotonic() < deadline, "%s not done within 120 s" % name)
            time.sleep(0.05)

    wrong = []
    for name, text in zip(names, cases):
        op, meta = done(name)
        check(meta.state == State.SUCCEEDED, "%s: %s %s" % (name, State.Name(meta.state), op.error))
        got = struct_pb2.Struct()
        op.response.Unpack(got)
        want = {"words": len(text.split()), "lines": len(text.splitlines())}
        have = {"words": int(got["words"]), "lines": int(got["lines"])}
        if have != want:
            wrong.append("%r: got %s, want %s" % (text, have, want))
    check(not wrong, "%d wrong results:\n  %s" % (len(wrong), "\n  ".join(wrong[:20])))
    say("# all %d results match Python's str.split() / str.splitlines()" % len(names))

    # Bad input is a permanent error, not retried.
    request = v1.SubmitRequest(kind="example.wordcount", max_attempts=5)
    request.input.update({"text": 42})
    op, meta = done(ops.Submit(request, timeout=RPC_TIMEOUT).name)
    check(meta.state == State.FAILED and op.error.code == 3 and meta.attempt == 1,
          "text=42: %s attempt %d error %s" % (State.Name(meta.state), meta.attempt, op.error))
    say("# {\"text\": 42} failed at once with INVALID_ARGUMENT: %s" % op.error.message)
    env.check_alive()


def main():
    return harness_main("example_worker_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
