#!/usr/bin/python3
"""End-to-end test of remote workers: examples/python-worker/worker.py over longrun.v1.Workers.

Starts longrun-api (no native worker) on a fresh database and checks, with the real
example worker and with raw protocol calls:
  1. 200 example.wordcount jobs through worker.py, each result equal to Python's own
     len(text.split()) / len(text.splitlines());
  2. a worker kill -9'd mid-job: the job is re-leased once its lease expires (the api's
     rescuer) and completes on another worker;
  3. a stale CompleteJob (its lease lost) gets FAILED_PRECONDITION and changes nothing, and
     CompleteJobs answers each completion on its own;
  4. a cancel reaches a remote worker through Heartbeat and ends the job CANCELLED;
  5. a native worker (the C++ example on the SDK) and a remote one drain one queue together,
     every job run exactly once;
  6. SIGTERM: worker.py hands its running job back (attempt not used up) and exits 0.

    [LONGRUN_TEST_PG_DIR=DIR] [LONGRUN_EXAMPLE_WORKER=PATH] /usr/bin/python3 remote_worker_test.py
"""

import os
import sys
import time

from harness import RPC_TIMEOUT, check, main as harness_main, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc", "workers_pb2", "workers_grpc")
KIND = "example.wordcount"
FAILED_PRECONDITION = 9


def run_test(env, stubs):
    import grpc
    from google.protobuf import struct_pb2

    v1, w = stubs.v1_pb2, stubs.workers_pb2
    State = v1.OperationMetadata.State
    example_worker = os.environ.get("LONGRUN_EXAMPLE_WORKER") or os.path.join(
        os.path.dirname(env.bin_dir), "sdk-example", "longrun-example-worker")
    worker_py = os.path.join(env.repo, "examples", "python-worker", "worker.py")
    channel, addr = env.start_stack(native_worker=False,
                                    api_args=["--rescue-interval=200ms",
                                              "--lease-poll-interval=200ms"])
    ops = stubs.v1_grpc.OperationsStub(channel)
    workers = stubs.workers_grpc.WorkersStub(channel)

    def python_worker(name, *extra):
        return env.spawn(name, [sys.executable, worker_py, "--server=" + addr,
                                "--proto-dir=" + os.path.join(env.repo, "proto")] + list(extra))

    def submit(text, **extra):
        request = v1.SubmitRequest(kind=KIND, **extra)
        request.input.update({"text": text})
        return ops.Submit(request, timeout=RPC_TIMEOUT).name

    def submit_slow(seconds, **extra):
        request = v1.SubmitRequest(kind=KIND, **extra)
        request.input.update({"text": "slow job", "sleep_seconds": seconds})
        return ops.Submit(request, timeout=RPC_TIMEOUT).name

    def get(name):
        op = ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT)
        meta = v1.OperationMetadata()
        op.metadata.Unpack(meta)
        return op, meta

    def wait_for(name, predicate, seconds, what):
        deadline = time.monotonic() + seconds
        while True:
            op, meta = get(name)
            if predicate(op, meta):
                return op, meta
            check(time.monotonic() < deadline, "%s: not %s within %ds (state %s)"
                  % (name, what, seconds, State.Name(meta.state)))
            env.check_alive()
            time.sleep(0.05)

    def done(name, seconds=60):
        return wait_for(name, lambda op, m: op.done, seconds, "done")

    def result(op):
        s = struct_pb2.Struct()
        op.response.Unpack(s)
        return {k: int(v) for k, v in s.items()}

    # -- 1. 200 jobs through worker.py ------------------------------------------------------
    first = python_worker("worker-py-1", "--concurrency=8", "--lease-duration=2")
    texts = ["", "a b\nc", "line one\r\nline two\r\n", "tab\tseparated\u2028next"] + [
        ("word %d " % i) * (i % 7) + "\n" * (i % 3) for i in range(196)]
    names = [submit(t) for t in texts]
    wrong = []
    for name, text in zip(names, texts):
        op, meta = done(name)
        check(meta.state == State.SUCCEEDED, "%s: %s %s" % (name, State.Name(meta.state), op.error))
        want = {"words": len(text.split()), "lines": len(text.splitlines())}
        if result(op) != want:
            wrong.append("%r: got %s want %s" % (text, result(op), want))
    check(not wrong, "wrong results: %s" % wrong[:10])
    say("# 1. 200 jobs through worker.py: every result matches Python")

    # -- 2. kill -9 mid-job: re-leased after the lease expires, done elsewhere ---------------
    slow = submit_slow(3, max_attempts=3)
    op, meta = wait_for(slow, lambda op, m: m.state == State.RUNNING, 30, "RUNNING")
    env.kill(first)
    second = python_worker("worker-py-2", "--concurrency=4", "--lease-duration=2")
    op, meta = done(slow, 60)
    check(meta.state == State.SUCCEEDED and meta.attempt == 2,
          "after kill -9: %s attempt %d" % (State.Name(meta.state), meta.attempt))
    check(meta.attempts[0].outcome == "LEASE_EXPIRED",
          "first attempt's outcome: %r" % meta.attempts[0].outcome)
    say("# 2. killed mid-job: attempt 1 LEASE_EXPIRED, attempt 2 SUCCEEDED on another worker")

    # -- 3. a stale CompleteJob changes nothing ----------------------------------------------
    check(env.stop(second) == 0, "worker-py-2 did not exit cleanly")  # the test leases now
    name = submit("stale")
    lease = w.LeaseJobsRequest(worker_id="test-stale", kinds=[KIND], max_jobs=1)
    lease.wait.FromSeconds(10)
    lease.lease_duration.FromSeconds(1)
    jobs = workers.LeaseJobs(lease, timeout=30).jobs
    check(len(jobs) == 1 and jobs[0].name == name, "leased %s" % [j.name for j in jobs])
    check(jobs[0].trace_id == get(name)[1].trace_id and len(jobs[0].trace_id) == 32,
          "the leased job's trace_id %r is not the operation's" % jobs[0].trace_id)
    stale = jobs[0].lease_token
    # No heartbeat: the lease expires, the rescuer re-queues the job, we lease it again.
    lease.worker_id = "test-fresh"
    lease.lease_duration.FromSeconds(30)
    deadline = time.monotonic() + 30
    fresh = []
    while not fresh:
        check(time.monotonic() < deadline, "the expired lease was never re-leased")
        fresh = list(workers.LeaseJobs(lease, timeout=30).jobs)
    check(fresh[0].attempt == 2, "re-leased attempt %d" % fresh[0].attempt)
    before, before_meta = get(name)
    complete = w.CompleteJobRequest(lease_token=stale)
    complete.response.update({"words": 999, "lines": 999})
    try:
        workers.CompleteJob(complete, timeout=RPC_TIMEOUT)
        check(False, "a stale CompleteJob was accepted")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION, "stale CompleteJob: %s" % e.code())
        say("# 3. stale CompleteJob: %s %s" % (e.code().name, e.details()))
    after, after_meta = get(name)
    check(after.SerializeToString() == before.SerializeToString(),
          "the stale CompleteJob changed the operation:\n%s\n%s" % (before, after))
    forged = stale[:5] + ("A" if stale[5] != "A" else "B") + stale[6:]
    try:
        workers.Heartbeat(w.HeartbeatRequest(leases=[w.HeartbeatRequest.Lease(lease_token=forged)]),
                          timeout=RPC_TIMEOUT)
        check(False, "a forged token was accepted")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "forged token: %s" % e.code())
    # CompleteJobs: each completion on its own, results in order.
    batch = w.CompleteJobsRequest()
    for token in (stale, fresh[0].lease_token):
        batch.completions.add(lease_token=token).response.update({"words": 1, "lines": 1})
    results = workers.CompleteJobs(batch, timeout=RPC_TIMEOUT).results
    check([r.code for r in results] == [FAILED_PRECONDITION, 0],
          "CompleteJobs results: %s" % [(r.code, r.message) for r in results])
    check(get(name)[1].state == State.SUCCEEDED, "fresh completion not recorded")

    # -- 4. cancel reaches a remote worker through Heartbeat -----------------------------------
    third = python_worker("worker-py-3", "--concurrency=2", "--lease-duration=1.5")
    slow = submit_slow(60)
    wait_for(slow, lambda op, m: m.state == State.RUNNING, 30, "RUNNING")
    ops.CancelOperation(v1.CancelOperationRequest(name=slow), timeout=RPC_TIMEOUT)
    op, meta = done(slow, 30)
    check(meta.state == State.CANCELLED, "after cancel: %s" % State.Name(meta.state))
    say("# 4. cancel reached the remote worker: CANCELLED")

    # -- 5. native + remote workers drain one queue together -----------------------------------
    check(os.access(example_worker, os.X_OK), "%s missing: tools/dev/sdk_example.sh" % example_worker)
    native = env.start_native_worker(example_worker, concurrency=4, name="native-example")
    names = [submit("drain %d" % i) for i in range(400)]
    by_worker = {}
    for name in names:
        op, meta = done(name)
        check(meta.state == State.SUCCEEDED and meta.attempt == 1 and len(meta.attempts) == 1,
              "%s: %s attempt %d" % (name, State.Name(meta.state), meta.attempt))
        worker = meta.attempts[0].worker_id
        by_worker[worker] = by_worker.get(worker, 0) + 1
    say("# 5. 400 jobs, each run exactly once, by worker: %s" % by_worker)
    check(len(by_worker) == 2, "both workers should have taken part: %s" % by_worker)

    # -- 6. SIGTERM hands a running job back -----------------------------------------------------
    check(env.stop(native) == 0, "the native worker did not exit cleanly")
    slow = submit_slow(60)
    # Running in worker.py's handler (its progress came back with a heartbeat), not only
    # claimed: a lease answer still on its way when SIGTERM cancels the long poll is lost to
    # the worker, and that job comes back by lease expiry, not by ReleaseJobs.
    wait_for(slow, lambda op, m: m.state == State.RUNNING and m.progress_message == "counting",
             30, "RUNNING in the handler")
    check(env.stop(third) == 0, "worker.py did not exit 0 after SIGTERM")
    op, meta = get(slow)
    say("# 6. after SIGTERM: %s attempt %d of %d" % (State.Name(meta.state), meta.attempt,
                                                    meta.max_attempts))
    # Handed back: queued again, no attempt used up (max_attempts grew by one), and the
    # released attempt's number retired so its lease token can never write again.
    check(meta.state == State.QUEUED and meta.attempt == 1 and meta.max_attempts == 6,
          "not handed back: %s attempt %d of %d" % (State.Name(meta.state), meta.attempt,
                                                    meta.max_attempts))
    env.check_alive()
    # worker.py must never have died of an exception in one of its threads.
    for log in env.logs:
        if os.path.basename(log).startswith("worker-py"):
            with open(log) as f:
                check("Traceback" not in f.read(), "%s has a Python traceback" % log)


def main():
    return harness_main("remote_worker_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
