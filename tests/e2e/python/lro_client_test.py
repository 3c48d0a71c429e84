#!/usr/bin/python3
"""End-to-end test of longrun through the standard google.longrunning.Operations service.

A second-language client: it starts longrun-api and longrun-worker on a fresh PostgreSQL
database and drives operations the way a generic long-running-operation client would,
using only google.longrunning.Operations (Get, Wait, List, Cancel, Delete) with stubs
generated from proto/google/longrunning/operations.proto at test time. The standard
service has no create, so work is submitted with longrun.v1.Operations/Submit; results
unpack to google.protobuf.Struct and metadata to longrun.v1.OperationMetadata.

Uses only Debian's python3-grpcio / python3-grpc-tools / python3-protobuf. Run with

    [LONGRUN_TEST_PG_DIR=DIR] [LONGRUN_BIN_DIR=BIN] /usr/bin/python3 lro_client_test.py [--repo-root=REPO]

LONGRUN_TEST_PG_DIR names a cluster started with `tools/dev/pg.sh start DIR`; without it
the test starts (and stops) a private cluster of its own. LONGRUN_BIN_DIR defaults to
REPO/build/bin; REPO defaults to three directories above this file. Exits 0 on success,
1 on any failure (after printing the api and worker logs).
"""

import sys
import time
import uuid

from harness import RPC_TIMEOUT, check, main as harness_main, say

STUBS = ("status_pb2", "glro_pb2", "glro_grpc", "v1_pb2", "v1_grpc")
CANCELLED = 1  # google.rpc.Code.CANCELLED


def run_test(env, stubs):
    import grpc
    from google.protobuf import empty_pb2, json_format, struct_pb2, timestamp_pb2

    glro, v1 = stubs.glro_pb2, stubs.v1_pb2
    State = v1.OperationMetadata.State

    channel, addr = env.start_stack(worker_concurrency=4)
    lro = stubs.glro_grpc.OperationsStub(channel)
    submit_stub = stubs.v1_grpc.OperationsStub(channel)  # only for Submit
    suite = "py-" + uuid.uuid4().hex[:10]

    # -- helpers ----------------------------------------------------------------------------
    def meta(op):
        m = v1.OperationMetadata()
        check(op.metadata.Unpack(m), "%s: metadata is %r, not longrun.v1.OperationMetadata"
              % (op.name, op.metadata.type_url))
        return m

    def state(op):
        return State.Name(meta(op).state)

    def short(op):
        m = meta(op)
        text = "%s done=%s state=%s v%d" % (op.name, op.done, State.Name(m.state), m.version)
        if op.WhichOneof("result") == "error":
            text += " error={code=%d message=%r}" % (op.error.code, op.error.message)
        return text

    def submit(kind, input_, labels=None, schedule_time=None):
        request = v1.SubmitRequest(kind=kind, labels=labels or {})
        request.input.update(input_)
        if schedule_time is not None:
            request.schedule_time.CopyFrom(schedule_time)
        op = submit_stub.Submit(request, timeout=RPC_TIMEOUT)
        say("> longrun.v1.Operations/Submit %s %s%s%s -> %s" % (
            kind, json_format.MessageToJson(request.input, indent=None, sort_keys=True),
            " labels=%s" % dict(labels) if labels else "",
            " schedule_time=%s" % schedule_time.ToJsonString() if schedule_time else "",
            short(op)))
        check(not op.done, "Submit returned a done operation: %s" % op)
        check(meta(op).state == State.QUEUED, "Submit: state %s, want QUEUED" % state(op))
        return op

    def get(name, quiet=False):
        op = lro.GetOperation(glro.GetOperationRequest(name=name), timeout=RPC_TIMEOUT)
        if not quiet:
            say("> GetOperation %s -> %s" % (name, short(op)))
        check(op.name == name, "GetOperation %s answered %s" % (name, op.name))
        return op

    def wait(name, seconds):
        request = glro.WaitOperationRequest(name=name)
        request.timeout.FromSeconds(seconds)
        started = time.monotonic()
        op = lro.WaitOperation(request, timeout=seconds + 10)
        say("> WaitOperation %s timeout=%ds -> %s (%.2fs)"
            % (name, seconds, short(op), time.monotonic() - started))
        check(op.name == name, "WaitOperation %s answered %s" % (name, op.name))
        check(op.done, "WaitOperation(timeout=%ds) returned before done: %s" % (seconds, op))
        return op

    def cancel(name):
        result = lro.CancelOperation(glro.CancelOperationRequest(name=name), timeout=RPC_TIMEOUT)
        say("> CancelOperation %s -> %s {}" % (name, type(result).__name__))
        check(isinstance(result, empty_pb2.Empty), "CancelOperation returned %r" % result)

    def delete(name):
        result = lro.DeleteOperation(glro.DeleteOperationRequest(name=name), timeout=RPC_TIMEOUT)
        say("> DeleteOperation %s -> %s {}" % (name, type(result).__name__))
        check(isinstance(result, empty_pb2.Empty), "DeleteOperation returned %r" % result)

    def expect_error(label, fn, code, must_mention=None):
        try:
            fn()
        except grpc.RpcError as e:
            say("> %s -> %s: %s" % (label, e.code().name, e.details()))
            check(e.code() == code, "%s: got %s (%s), want %s"
                  % (label, e.code().name, e.details(), code.name))
            if must_mention:
                check(must_mention in (e.details() or ""),
                      "%s: details %r do not mention %r" % (label, e.details(), must_mention))
            return
        raise AssertionError("%s succeeded; want %s" % (label, code.name))

    def poll_until(name, predicate, what, seconds):
        deadline = time.monotonic() + seconds
        polls = 0
        while True:
            env.check_alive()
            op = get(name, quiet=True)
            polls += 1
            if predicate(op):
                say("> GetOperation %s (polled %d times) -> %s" % (name, polls, short(op)))
                return op
            check(time.monotonic() < deadline, "%s not %s after %ds: %s"
                  % (name, what, seconds, short(op)))
            time.sleep(0.1)

    labels = {"suite": suite}

    # --- 1. Submit ----------------------------------------------------------------------
    say()
    say("# 1. submit (longrun.v1.Operations/Submit; google.longrunning has no create)")
    op1 = submit("demo.sleep", {"seconds": 1, "steps": 2}, labels)
    n1 = op1.name

    # --- 2. WaitOperation ---------------------------------------------------------------
    say()
    say("# 2. WaitOperation")
    done1 = wait(n1, 30)
    check(done1.WhichOneof("result") == "response",
          "result is %s: %s" % (done1.WhichOneof("result"), done1.error))
    check(done1.response.type_url == "type.googleapis.com/google.protobuf.Struct",
          "response type_url %r" % done1.response.type_url)
    result = struct_pb2.Struct()
    check(done1.response.Unpack(result), "response does not unpack to Struct")
    result_dict = json_format.MessageToDict(result)
    say("  response (google.protobuf.Struct): %s" % json_format.MessageToJson(result, indent=None))
    check(result_dict == {"slept_seconds": 1}, "response %r, want {slept_seconds: 1}" % result_dict)
    m1 = meta(done1)
    check(done1.metadata.type_url == "type.googleapis.com/longrun.v1.OperationMetadata",
          "metadata type_url %r" % done1.metadata.type_url)
    check(m1.state == State.SUCCEEDED, "state %s, want SUCCEEDED" % State.Name(m1.state))
    check(m1.kind == "demo.sleep", "metadata.kind %r" % m1.kind)
    check(dict(m1.labels) == labels, "metadata.labels %r" % dict(m1.labels))
    say("  metadata (longrun.v1.OperationMetadata): kind=%s state=%s attempt=%d progress=%d%% "
        "labels=%s" % (m1.kind, State.Name(m1.state), m1.attempt, m1.progress_percent,
                       dict(m1.labels)))

    # --- 3. GetOperation ------------------------------------------------------------------
    say()
    say("# 3. GetOperation")
    got1 = get(n1)
    check(got1.done, "GetOperation: not done")
    check(got1.SerializeToString(deterministic=True) == done1.SerializeToString(deterministic=True),
          "GetOperation and WaitOperation disagree:\n%s\nvs\n%s" % (got1, done1))

    # --- 4. ListOperations ---------------------------------------------------------------
    say()
    say("# 4. ListOperations")
    n2 = submit("demo.sleep", {"seconds": 0.1}, labels).name
    decoy = submit("demo.sleep", {"seconds": 0.1}, {"suite": suite + "-other"}).name
    n3 = submit("demo.sleep", {"seconds": 0.1}, labels).name
    for name in (n2, decoy, n3):
        wait(name, 30)
    flt = 'labels.suite = "%s"' % suite
    listed, token, pages = [], "", 0
    while True:
        response = lro.ListOperations(
            glro.ListOperationsRequest(filter=flt, page_size=1, page_token=token),
            timeout=RPC_TIMEOUT)
        pages += 1
        names = [o.name for o in response.operations]
        say("> ListOperations filter=%r page_size=1 page_token=%s -> %s next_page_token=%s"
            % (flt, (token[:12] + "...") if token else '""', names,
               (response.next_page_token[:12] + "...") if response.next_page_token else '""'))
        check(len(names) <= 1, "page_size=1 answered %d operations" % len(names))
        for o in response.operations:
            check(dict(meta(o).labels) == labels, "%s has labels %r" % (o.name, dict(meta(o).labels)))
        listed += names
        token = response.next_page_token
        if not token:
            break
        check(pages < 10, "still a next_page_token after %d pages" % pages)
    check(listed == [n3, n2, n1], "listed %s, want newest first %s" % (listed, [n3, n2, n1]))
    say("  %d pages, %d operations, newest first, each once" % (pages, len(listed)))

    response = lro.ListOperations(glro.ListOperationsRequest(name="operations", filter=flt),
                                  timeout=RPC_TIMEOUT)
    names = [o.name for o in response.operations]
    say("> ListOperations name=\"operations\" filter=%r -> %s next_page_token=%r"
        % (flt, names, response.next_page_token))
    check(names == [n3, n2, n1], "name=\"operations\" listed %s" % names)
    check(not response.next_page_token, "unexpected next_page_token")

    expect_error("ListOperations filter='colour = \"red\"'",
                 lambda: lro.ListOperations(glro.ListOperationsRequest(filter='colour = "red"'),
                                            timeout=RPC_TIMEOUT),
                 grpc.StatusCode.INVALID_ARGUMENT, must_mention="colour")
    expect_error("ListOperations page_size=-1",
                 lambda: lro.ListOperations(glro.ListOperationsRequest(page_size=-1),
                                            timeout=RPC_TIMEOUT),
                 grpc.StatusCode.INVALID_ARGUMENT)

    # --- 5. CancelOperation --------------------------------------------------------------
    say()
    say("# 5. CancelOperation")
    running = submit("demo.sleep", {"seconds": 30, "steps": 30}).name
    poll_until(running, lambda o: meta(o).state == State.RUNNING, "RUNNING", 15)
    started = time.monotonic()
    cancel(running)
    cancelled = wait(running, 20)
    cancel_seconds = time.monotonic() - started
    check(cancelled.WhichOneof("result") == "error",
          "cancelled op has result %s" % cancelled.WhichOneof("result"))
    check(cancelled.error.code == CANCELLED, "error.code %d, want 1 (CANCELLED)"
          % cancelled.error.code)
    check(meta(cancelled).state == State.CANCELLED, "state %s, want CANCELLED" % state(cancelled))
    say("  running op cancelled in %.2fs" % cancel_seconds)

    before = get(n1)
    cancel(n1)
    after = get(n1)
    check(meta(after).version == meta(before).version,
          "cancel of a finished op changed its version %d -> %d"
          % (meta(before).version, meta(after).version))
    check(after.SerializeToString(deterministic=True) == before.SerializeToString(deterministic=True),
          "cancel of a finished op changed it:\n%s\nvs\n%s" % (before, after))
    check(meta(after).state == State.SUCCEEDED, "state %s after cancel" % state(after))

    later = timestamp_pb2.Timestamp()
    later.FromSeconds(int(time.time()) + 3600)
    scheduled = submit("demo.sleep", {"seconds": 1}, schedule_time=later).name
    cancel(scheduled)
    sched_op = get(scheduled)
    check(sched_op.done, "scheduled op not done right after CancelOperation: %s" % short(sched_op))
    check(meta(sched_op).state == State.CANCELLED, "state %s, want CANCELLED" % state(sched_op))
    check(sched_op.WhichOneof("result") == "error" and sched_op.error.code == CANCELLED,
          "scheduled op result %s %s" % (sched_op.WhichOneof("result"), sched_op.error))

    # --- 6. DeleteOperation --------------------------------------------------------------
    say()
    say("# 6. DeleteOperation")
    live = submit("demo.sleep", {"seconds": 30, "steps": 30}).name
    live_op = get(live)
    check(not live_op.done and meta(live_op).state in (State.RUNNING, State.QUEUED),
          "live op is %s" % short(live_op))
    expect_error("DeleteOperation %s (live)" % live,
                 lambda: lro.DeleteOperation(glro.DeleteOperationRequest(name=live),
                                             timeout=RPC_TIMEOUT),
                 grpc.StatusCode.FAILED_PRECONDITION)
    finished = [n1, n2, decoy, n3, running, scheduled]
    for name in finished:
        delete(name)
    for name in finished:
        expect_error("GetOperation %s (deleted)" % name,
                     lambda: lro.GetOperation(glro.GetOperationRequest(name=name),
                                              timeout=RPC_TIMEOUT),
                     grpc.StatusCode.NOT_FOUND)
    response = lro.ListOperations(glro.ListOperationsRequest(filter=flt), timeout=RPC_TIMEOUT)
    say("> ListOperations filter=%r -> %s" % (flt, [o.name for o in response.operations]))
    check(not response.operations, "deleted operations still listed")

    cancel(live)
    live_done = wait(live, 20)
    check(meta(live_done).state == State.CANCELLED and live_done.error.code == CANCELLED,
          "live op after cancel: %s" % short(live_done))
    env.check_alive()


def main():
    return harness_main("lro_client_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
