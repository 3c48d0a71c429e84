#!/usr/bin/python3
"""Completion webhooks end to end: longrun-api + longrun-worker (its deliverer) + a real HTTP
receiver on loopback (allowed with --webhook-allow-cidrs), every signature checked by the
receiver's own Python implementation of Standard Webhooks.

  1. The receiver is down (port bound, not listening) for 30 s, then answers 500 three
     times, then 200: the callback arrives exactly once as a success, after the recorded
     retries, all attempts with one webhook-id; CallbackStatus tells the story throughout.
  2. kill -9 of the worker while its deliverer is mid-post (the receiver holds the request):
     a `longrun-worker --only-deliveries` started afterwards delivers it after the lease,
     with the same webhook-id and the same body (jobs then run in a worker of their own).
  3. RedeliverCallback sends a delivered callback again, same webhook-id.
  4. ALL_CHANGES posts operation.updated events and one operation.completed.
  5. 410 Gone stops the callback (state GONE); bad URLs are refused at Submit.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 webhooks_test.py
"""

import base64
import json
import os
import sys
import time

import grpc

from harness import RPC_TIMEOUT, check, main as harness_main, say
from webhook_receiver import HOLD, Receiver, payload, verify

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")
DOWN_SECONDS = 30


def run_test(env, stubs):
    v1 = stubs.v1_pb2
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    secret_file = os.path.join(env.tmp, "webhook-secrets")
    with open(secret_file, "w") as f:
        f.write("# signing secrets, one per line\n%s\n" % secret)
    common = ["--webhook-secret-file=" + secret_file, "--webhook-allow-insecure",
              "--webhook-allow-cidrs=127.0.0.0/8"]
    worker_flags = common + ["--webhook-retry-base=1s", "--webhook-retry-cap=4s"]
    channel, _ = env.start_stack(native_worker=False, api_args=common)
    worker = env.start_native_worker(extra=worker_flags)
    ops = stubs.v1_grpc.OperationsStub(channel)
    receivers = []

    def receiver():
        rx = Receiver()
        receivers.append(rx)
        return rx

    def submit(kind, input_, url, events=None):
        request = v1.SubmitRequest(kind=kind)
        request.input.update(input_)
        request.callback.url = url
        if events is not None:
            request.callback.events = events
        return ops.Submit(request, timeout=RPC_TIMEOUT)

    def callback_of(name):
        op = ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT)
        meta = v1.OperationMetadata()
        op.metadata.Unpack(meta)
        return meta.callback

    def wait_callback(name, states, seconds):
        deadline = time.monotonic() + seconds
        while True:
            cb = callback_of(name)
            if cb.state in states:
                return cb
            env.check_alive()
            check(time.monotonic() < deadline, "%s: callback state %s after %ds (%s)" %
                  (name, v1.CallbackStatus.State.Name(cb.state), seconds, cb))
            time.sleep(0.1)

    def check_signed(records):
        for r in records:
            verify([secret], r["headers"], r["body"])
            check(r["headers"].get("content-type") == "application/json",
                  "content-type %r" % r["headers"].get("content-type"))

    try:
        # -- 1. down for 30 s, then 500 x3, then 200 ------------------------------------
        rx = receiver()
        op = submit("demo.echo", {"n": 1}, rx.url("/hooks/one"))
        meta = v1.OperationMetadata()
        op.metadata.Unpack(meta)
        check(meta.callback.url == rx.url("/hooks/one"), "callback url %r" % meta.callback.url)
        check(meta.callback.state == v1.CallbackStatus.WAITING, "new: %s" % meta.callback)
        down_until = time.monotonic() + DOWN_SECONDS
        env.wait_done(ops, v1.GetOperationRequest(name=op.name))
        cb = wait_callback(op.name, [v1.CallbackStatus.PENDING], 10)
        deadline = time.monotonic() + 15
        # A claim counts the attempt before its post fails: wait for the recorded failure.
        while cb.attempts < 1 or not cb.last_error:
            check(time.monotonic() < deadline, "no attempt recorded while down: %s" % cb)
            time.sleep(0.1)
            cb = callback_of(op.name)
        check(cb.last_http_status == 0 and cb.last_error, "attempt while down: %s" % cb)
        check(cb.webhook_id.startswith("msg_"), "webhook_id %r" % cb.webhook_id)
        say("# receiver down: %s" % cb.last_error)
        time.sleep(max(0.0, down_until - time.monotonic()))
        attempts_down = callback_of(op.name).attempts
        rx.script = [500, 500, 500]
        rx.listen()
        cb = wait_callback(op.name, [v1.CallbackStatus.DELIVERED], 60)
        records = rx.wait_for(4, 10)
        check(len(records) == 4, "receiver saw %d requests, want 4" % len(records))
        check([r["status"] for r in records] == [500, 500, 500, 200],
              "answers %r" % [r["status"] for r in records])
        check_signed(records)
        ids = {r["headers"]["webhook-id"] for r in records}
        check(ids == {cb.webhook_id}, "webhook-ids %r, status says %r" % (ids, cb.webhook_id))
        # Each refused connection and each of the 4 answers is one recorded attempt (one
        # claimed just before listen() may land on either side).
        check(attempts_down + 3 <= cb.attempts <= attempts_down + 5 and attempts_down >= 2,
              "attempts %d (while down: %d)" % (cb.attempts, attempts_down))
        check(cb.last_http_status == 200 and cb.last_error == "", "delivered: %s" % cb)
        body = payload(records[-1])
        check(body["type"] == "operation.completed", "type %r" % body["type"])
        check(body["data"]["name"] == op.name and body["data"]["done"] is True, "data %r" % body)
        check("callback" not in body["data"]["metadata"], "body carries callback state")
        check(body["data"]["response"]["value"]["n"] == 1,  # an Any holding a Struct
              "response %r" % body["data"].get("response"))
        say("# 1: delivered after %d attempts (%d while down)" % (cb.attempts, attempts_down))

        # -- 3. RedeliverCallback: the same webhook-id again -----------------------------
        again = ops.RedeliverCallback(v1.RedeliverCallbackRequest(name=op.name),
                                      timeout=RPC_TIMEOUT)
        again_meta = v1.OperationMetadata()
        again.metadata.Unpack(again_meta)
        check(again_meta.callback.state == v1.CallbackStatus.PENDING, "redeliver: %s" %
              again_meta.callback)
        cb = wait_callback(op.name, [v1.CallbackStatus.DELIVERED], 30)
        records = rx.wait_for(5, 10)
        check_signed(records)
        check(records[4]["headers"]["webhook-id"] == cb.webhook_id and cb.attempts == 1,
              "redelivered: %s / %r" % (cb, records[4]["headers"]))
        try:
            ops.RedeliverCallback(v1.RedeliverCallbackRequest(name="operations/" + "0" * 36),
                                  timeout=RPC_TIMEOUT)
            check(False, "RedeliverCallback of an unknown operation succeeded")
        except grpc.RpcError as e:
            check(e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT),
                  "unknown operation: %s" % e.code())

        # -- 2. kill -9 mid-delivery -----------------------------------------------------
        rx2 = receiver()
        rx2.script = [HOLD]
        rx2.listen()
        op2 = submit("demo.echo", {"n": 2}, rx2.url("/hooks/two"))
        first = rx2.wait_for(1, 60)[0]
        env.kill(worker)
        # From here on, jobs and deliveries run in separate processes: a worker without
        # webhook flags, and `longrun-worker --only-deliveries` (the one that re-posts).
        worker = env.start_native_worker(name="longrun-worker-jobs")
        env.start_native_worker(extra=worker_flags + ["--only-deliveries"],
                                name="longrun-deliverer")
        cb = wait_callback(op2.name, [v1.CallbackStatus.DELIVERED], 90)
        records = rx2.wait_for(2, 10)
        rx2.release()
        check_signed(records)
        check(records[0]["headers"]["webhook-id"] == records[1]["headers"]["webhook-id"] ==
              cb.webhook_id, "webhook-ids differ after the crash: %r" %
              [r["headers"]["webhook-id"] for r in records])
        check(records[0]["body"] == records[1]["body"], "the retry's body differs")
        check(first["headers"]["webhook-id"] == cb.webhook_id, "first id")
        say("# 2: delivered by the new worker after the lease (attempts %d)" % cb.attempts)

        # -- 4. ALL_CHANGES ---------------------------------------------------------------
        rx3 = receiver()
        rx3.listen()
        op3 = submit("demo.progress", {"seconds": 1, "reports": 3}, rx3.url("/hooks/all"),
                     events=v1.Callback.ALL_CHANGES)
        env.wait_done(ops, v1.GetOperationRequest(name=op3.name))
        deadline = time.monotonic() + 60
        while True:
            types = [payload(r)["type"] for r in list(rx3.requests)]
            if "operation.completed" in types:
                break
            check(time.monotonic() < deadline, "no completed event; got %r" % types)
            time.sleep(0.1)
        wait_callback(op3.name, [v1.CallbackStatus.DELIVERED], 30)
        records = list(rx3.requests)
        check_signed(records)
        types = [payload(r)["type"] for r in records]
        check(types.count("operation.completed") == 1 and types.count("operation.updated") >= 2,
              "ALL_CHANGES types %r" % types)
        check(len({r["headers"]["webhook-id"] for r in records}) == len(records),
              "each change has its own webhook-id")
        say("# 4: ALL_CHANGES posted %r" % types)

        # -- 5. 410 Gone and bad URLs -----------------------------------------------------
        rx4 = receiver()
        rx4.script = [410]
        rx4.listen()
        op4 = submit("demo.echo", {"n": 4}, rx4.url("/hooks/gone"))
        cb = wait_callback(op4.name, [v1.CallbackStatus.GONE], 60)
        check(cb.last_http_status == 410 and len(rx4.requests) == 1, "gone: %s" % cb)
        for bad, why in [("ftp://127.0.0.1/x", "scheme"), ("not a url", "parse"),
                         ("http://user:pw@127.0.0.1/x", "userinfo"), ("", "empty"),
                         ("https://" + "a" * 2100 + ".example/", "length")]:
            try:
                submit("demo.echo", {}, bad)
                check(False, "Submit accepted callback url %r (%s)" % (bad, why))
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and
                      "callback.url" in e.details(), "%r: %s %s" % (bad, e.code(), e.details()))
        say("# 5: 410 -> GONE; bad URLs refused at Submit")
    finally:
        for rx in receivers:
            rx.close()


if __name__ == "__main__":
    sys.exit(harness_main("webhooks", __doc__.splitlines()[0], run_test, STUBS))
