#!/usr/bin/env python3
"""HTTP/JSON front end end to end (docs/API.md, "HTTP/JSON"): longrun-api with
--http-listen, driven with urllib and with curl over every route: 202 + Location +
Retry-After, polling to done, the 303 to the result, /result while running and after a
failure, idempotency through Idempotency-Key, list paging, :wait, :cancel, DELETE, the SSE
:watch stream with Last-Event-ID resumption, the Google JSON error shape, 404/405/413/431,
slowloris, auth (401/403 with --auth=token), and the /v1/events stream: refusals before it
starts, filter, snapshot, and Last-Event-ID resumption after a disconnect. The process must
be alive at the end."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, say  # noqa: E402

TIMEOUT = 15


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


class Http:
    def __init__(self, port):
        self.port = port
        self.base = "http://127.0.0.1:%d" % port

    def call(self, method, path, body=None, headers=None):
        """(status, headers, parsed JSON body or raw text); never raises on HTTP errors."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=dict(headers or {}))
        try:
            resp = OPENER.open(req, timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            resp = e
        raw = resp.read()
        status = resp.status if hasattr(resp, "status") else resp.code
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, resp.headers, parsed

    def curl(self, *args):
        """curl -i: (status, {lower-case header: value}, body text)."""
        out = subprocess.run(["curl", "-sS", "-i", "--max-time", str(TIMEOUT)] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=TIMEOUT + 5)
        check(out.returncode == 0, "curl %s failed: %s" % (args, out.stderr))
        head, _, body = out.stdout.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        say("# curl %s -> %d" % (" ".join(args[:3]), status))
        return status, headers, body


def check_error(status, body, code, grpc_status, fragment=""):
    check(isinstance(body, dict) and "error" in body, "not the Google error shape: %r" % body)
    err = body["error"]
    check(err["code"] == code and status == code, "want HTTP %d, got %d %r" % (code, status, err))
    check(err["status"] == grpc_status, "want %s, got %r" % (grpc_status, err))
    check(err["details"] == [], "details: %r" % err)
    check(fragment in err["message"], "message %r lacks %r" % (err["message"], fragment))


def op_id(op):
    return op["name"].split("/", 1)[1]


def raw_exchange(port, data, read_timeout):
    """Sends `data` on a fresh connection and returns what comes back until the server
    closes (or `read_timeout` passes): (bytes, seconds, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    start = time.monotonic()
    try:
        if data:
            s.sendall(data)
        s.settimeout(read_timeout)
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return got, time.monotonic() - start, False
            if not chunk:
                return got, time.monotonic() - start, True
            got += chunk
    finally:
        s.close()


def sse_events(http, path, last_event_id=None, limit_seconds=60):
    """Reads a text/event-stream to its end: [(id, event, data)]."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    req = urllib.request.Request(http.base + path, headers=headers)
    resp = OPENER.open(req, timeout=limit_seconds)
    check(resp.status == 200, "watch: %d" % resp.status)
    check(resp.headers["Content-Type"].startswith("text/event-stream"),
          "watch content type %r" % resp.headers["Content-Type"])
    events, cur, heartbeats = [], {}, 0
    for raw in resp:
        line = raw.decode().rstrip("\n")
        if line == "":
            if cur:
                events.append((cur.get("id"), cur.get("event"), cur.get("data")))
            cur = {}
        elif line.startswith(":"):
            heartbeats += 1
        else:
            field, _, value = line.partition(": ")
            cur[field] = value
    resp.close()
    return events


class SseStream:
    """An open text/event-stream read event by event, with a deadline per read."""

    def __init__(self, port, path, headers=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.conn.connect()
        self.sock = self.conn.sock  # the response takes it over (Connection: close)
        self.conn.request("GET", path, headers=dict(headers or {}, Accept="text/event-stream"))
        self.resp = self.conn.getresponse()
        self.status = self.resp.status

    def next_event(self, seconds):
        """(id, event, data) of the next event, skipping heartbeats; None at the end of the
        stream. Fails after `seconds` without one."""
        self.sock.settimeout(seconds)
        cur = {}
        while True:
            try:
                raw = self.resp.fp.readline()
            except socket.timeout:
                check(False, "no event within %ss" % seconds)  # the stream is unusable now
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if line == "":
                if cur:
                    return cur.get("id"), cur.get("event"), cur.get("data")
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                cur[field] = value

    def close(self):
        self.resp.close()
        self.sock.close()


def check_events_stream(env, http):
    """GET /v1/events: WatchOperations over SSE."""
    # Refused before the stream starts, with the JSON error shape.
    s, _, b = http.call("GET", "/v1/events?cursor=nope")
    check_error(s, b, 400, "INVALID_ARGUMENT", "cursor")
    s, _, b = http.call("GET", "/v1/events", headers={"Last-Event-ID": "e1.x"})
    check_error(s, b, 400, "INVALID_ARGUMENT", "Last-Event-ID")
    s, _, b = http.call("GET", "/v1/events?filter=" + urllib.parse.quote("state = "))
    check_error(s, b, 400, "INVALID_ARGUMENT")
    s, _, b = http.call("GET", "/v1/events?snapshot=maybe")
    check_error(s, b, 400, "INVALID_ARGUMENT", "snapshot")
    s, hh, b = http.call("POST", "/v1/events")
    check(s == 405 and hh["Allow"] == "GET", "POST /v1/events: %d" % s)

    batch = "b" + uuid.uuid4().hex[:12]
    flt = urllib.parse.quote('labels.batch = "%s"' % batch)
    stream = SseStream(http.port, "/v1/events?filter=" + flt)
    check(stream.status == 200 and
          stream.resp.getheader("Content-Type").startswith("text/event-stream"),
          "events: %d %r" % (stream.status, stream.resp.getheader("Content-Type")))
    # The headers come once the stream has its starting point: what is submitted now follows.
    s, _, o = http.call("POST", "/v1/operations", {"kind": "demo.echo", "input": {},
                                                   "labels": {"batch": batch}})
    check(s == 202, "submit %d %r" % (s, o))
    names = {o["name"]}
    first = stream.next_event(30)
    check(first is not None, "the events stream ended")
    check(first[1] is None and json.loads(first[2])["name"] in names, "first event %r" % (first,))
    last_id = first[0]
    stream.close()  # disconnect: what follows is only in the log
    for i in range(5):
        s, _, o = http.call("POST", "/v1/operations", {"kind": "demo.sleep",
                                                       "input": {"seconds": 0.2 * i},
                                                       "labels": {"batch": batch}})
        names.add(o["name"])
        http.call("POST", "/v1/operations", {"kind": "demo.echo", "input": {},
                                             "labels": {"batch": "other"}})
    for name in names:
        s, _, w = http.call("GET", "/v1/%s:wait?timeout=30s" % name)
        check(s == 200 and w["done"], "wait %s: %r" % (name, w))
    # Resume: Last-Event-ID wins over the (here unusable) cursor parameter; every later
    # terminal event follows, in order per operation, and only matching operations.
    resumed = SseStream(http.port, "/v1/events?cursor=nope&filter=" + flt,
                        {"Last-Event-ID": last_id})
    check(resumed.status == 200, "resume: %d" % resumed.status)
    versions, done = {}, set()
    first_name = json.loads(first[2])["name"]
    if json.loads(first[2])["done"]:
        done.add(first_name)
    while done != names:
        ev = resumed.next_event(30)
        check(ev is not None, "the resumed stream ended; missing %s" % (names - done))
        op = json.loads(ev[2])
        check(op["name"] in names and op["metadata"]["labels"]["batch"] == batch,
              "filter let through %r" % op)
        v = int(op["metadata"]["version"])
        check(v >= versions.get(op["name"], 0), "%s went back to version %d" % (op["name"], v))
        versions[op["name"]] = v
        if op["done"]:
            done.add(op["name"])
        env.check_alive()
    resumed.close()
    # snapshot=true: every matching operation as it is now, each carrying the start cursor.
    snap = SseStream(http.port, "/v1/events?snapshot=true&filter=" + flt)
    got = [snap.next_event(30) for _ in names]
    check({json.loads(e[2])["name"] for e in got} == names and
          all(json.loads(e[2])["done"] for e in got) and len({e[0] for e in got}) == 1,
          "snapshot: %r" % got)
    snap.close()
    say("# /v1/events: %d operations resumed after a disconnect, filter and snapshot" % len(names))


def run(env, stubs):
    http_port_file = os.path.join(env.tmp, "http.port")
    env.start_stack(api_args=["--http-listen=127.0.0.1:0", "--http-port-file=" + http_port_file])
    port = env.await_port_file(http_port_file, time.monotonic() + 30)
    http = Http(port)
    say("# HTTP on %d" % port)

    # -- probes --------------------------------------------------------------------------
    for path in ("/healthz", "/readyz"):
        status, _, body = http.call("GET", path)
        check(status == 200 and body["status"] == "SERVING", "%s: %d %r" % (path, status, body))

    # -- the "Done when" flow, with curl --------------------------------------------------
    status, h, body = http.curl("-X", "POST", http.base + "/v1/operations",
                                "-d", '{"kind":"demo.sleep","input":{"seconds":2}}')
    check(status == 202, "submit: %d %s" % (status, body))
    op = json.loads(body)
    oid = op_id(op)
    check(h["location"] == "/v1/operations/" + oid, "Location %r" % h.get("location"))
    check(int(h["retry-after"]) >= 1, "Retry-After %r" % h.get("retry-after"))
    check(op["done"] is False and op["metadata"]["kind"] == "demo.sleep", "op %r" % op)
    # Not done yet: /result is 202 with the status URL.
    status, h2, body = http.curl(http.base + "/v1/operations/%s/result" % oid)
    check(status == 202 and h2["location"] == "/v1/operations/" + oid and "retry-after" in h2,
          "result while running: %d %r" % (status, h2))
    deadline = time.monotonic() + 60
    while True:
        status, hdrs, op = http.call("GET", h["location"])
        check(status == 200, "poll: %d %r" % (status, op))
        if op["done"]:
            break
        check(hdrs["Retry-After"] is not None and hdrs["Link"] is None, "running headers")
        env.check_alive()
        check(time.monotonic() < deadline, "not done in time")
        time.sleep(0.2)
    check(hdrs["Retry-After"] is None, "Retry-After on a done operation")
    check(hdrs["Link"] == '</v1/operations/%s/result>; rel="result"' % oid, "Link %r" % hdrs["Link"])
    status, h3, _ = http.curl(http.base + h["location"] + "?redirect=true")
    check(status == 303 and h3["location"] == "/v1/operations/%s/result" % oid,
          "303: %d %r" % (status, h3))
    status, _, body = http.curl("-L", http.base + h["location"] + "?redirect=true")
    check(status == 303, "curl -L first status %d" % status)
    check(json.loads(body.split("\n\n")[-1]) == {"slept_seconds": 2}, "result after 303: %r" % body)
    status, hp, _ = http.call("GET", h["location"], headers={"Prefer": "respond-async, return=minimal"})
    check(status == 303 and hp["Location"].endswith("/result"), "Prefer: %d" % status)
    status, _, result = http.call("GET", "/v1/operations/%s/result" % oid)
    check(status == 200 and result == {"slept_seconds": 2}, "result %d %r" % (status, result))

    # -- idempotency ------------------------------------------------------------------------
    key = "http-" + uuid.uuid4().hex
    sub = {"kind": "demo.echo", "input": {"a": 1}}
    s1, _, o1 = http.call("POST", "/v1/operations", sub, {"Idempotency-Key": key})
    s2, _, o2 = http.call("POST", "/v1/operations", sub, {"Idempotency-Key": key})
    check(s1 == 202 and s2 == 202 and o1["name"] == o2["name"], "replay: %r %r" % (o1, o2))
    check(o1["metadata"]["requestId"] == key, "request id %r" % o1["metadata"])
    s, _, b = http.call("POST", "/v1/operations", {"kind": "demo.echo", "input": {"a": 2}},
                        {"Idempotency-Key": key})
    check_error(s, b, 409, "ALREADY_EXISTS")
    s, _, b = http.call("POST", "/v1/operations", dict(sub, requestId="other"),
                        {"Idempotency-Key": key})
    check_error(s, b, 400, "INVALID_ARGUMENT", "Idempotency-Key")

    # -- errors -------------------------------------------------------------------------------
    s, _, b = http.call("GET", "/console/missing.js")  # GET / is the console
    check_error(s, b, 404, "NOT_FOUND")
    s, _, b = http.call("GET", "/v1/nothing")
    check_error(s, b, 404, "NOT_FOUND")
    s, hh, b = http.call("PUT", "/v1/operations")
    check_error(s, b, 405, "UNIMPLEMENTED")
    check(hh["Allow"] == "GET, POST", "Allow %r" % hh["Allow"])
    s, hh, b = http.call("GET", "/v1/operations/%s:cancel" % oid)
    check(s == 405 and hh["Allow"] == "POST", "cancel with GET: %d" % s)
    s, _, b = http.call("POST", "/v1/operations", b'{"kind": "demo.echo",')
    check_error(s, b, 400, "INVALID_ARGUMENT", "body")
    s, _, b = http.call("POST", "/v1/operations", {"kind": "demo.echo", "bogus": 1})
    check_error(s, b, 400, "INVALID_ARGUMENT", "bogus")
    s, _, b = http.call("POST", "/v1/operations", {"input": {}})
    check_error(s, b, 400, "INVALID_ARGUMENT", "kind")
    s, _, b = http.call("GET", "/v1/operations/not-a-uuid")
    check_error(s, b, 400, "INVALID_ARGUMENT")
    s, _, b = http.call("GET", "/v1/operations/%s" % uuid.uuid4())
    check_error(s, b, 404, "NOT_FOUND")
    s, _, b = http.curl("-X", "DELETE", http.base + "/v1/operations/%s" % uuid.uuid4())
    check_error(s, json.loads(b), 404, "NOT_FOUND")

    # -- list ---------------------------------------------------------------------------------
    s, _, _ = http.call("POST", "/v1/operations", {"kind": "demo.echo", "input": {"b": 1}})
    check(s == 202, "second echo: %d" % s)
    s, _, page = http.call("GET", "/v1/operations?page_size=1&filter=" +
                           urllib.parse.quote('kind = "demo.echo"'))
    check(s == 200 and len(page["operations"]) == 1 and page["nextPageToken"], "page 1 %r" % page)
    s, _, page2 = http.call("GET", "/v1/operations?page_size=1&filter=%s&page_token=%s" % (
        urllib.parse.quote('kind = "demo.echo"'), urllib.parse.quote(page["nextPageToken"])))
    check(s == 200 and page2["nextPageToken"] == "" and
          page2["operations"][0]["name"] != page["operations"][0]["name"], "page 2 %r" % page2)
    s, _, b = http.call("GET", "/v1/operations?filter=" + urllib.parse.quote("nope ="))
    check_error(s, b, 400, "INVALID_ARGUMENT")

    # -- :wait, :cancel, /result of a cancelled operation, DELETE -------------------------------
    s, _, long_op = http.call("POST", "/v1/operations", {"kind": "demo.sleep",
                                                         "input": {"seconds": 60}})
    lid = op_id(long_op)
    s, hw, w = http.call("GET", "/v1/operations/%s:wait?timeout=0.3s" % lid)
    check(s == 200 and w["done"] is False and hw["Retry-After"], "wait timeout: %d %r" % (s, w))
    s, _, b = http.call("GET", "/v1/operations/%s:wait?timeout=soon" % lid)
    check_error(s, b, 400, "INVALID_ARGUMENT", "timeout")
    s, _, b = http.call("DELETE", "/v1/operations/%s" % lid)
    check_error(s, b, 400, "FAILED_PRECONDITION")
    s, _, c = http.curl("-X", "POST", http.base + "/v1/operations/%s:cancel" % lid)
    check(s == 200, "cancel: %d %s" % (s, c))
    s, _, w = http.call("GET", "/v1/operations/%s:wait?timeout=30s" % lid)
    check(s == 200 and w["done"] and w["metadata"]["state"] == "CANCELLED", "wait: %r" % w)
    s, _, b = http.call("GET", "/v1/operations/%s/result" % lid)
    check_error(s, b, 499, "CANCELLED")
    s, _, b = http.call("DELETE", "/v1/operations/%s" % lid)
    check(s == 200 and b == {}, "delete: %d %r" % (s, b))
    s, _, b = http.call("GET", "/v1/operations/%s" % lid)
    check_error(s, b, 404, "NOT_FOUND")
    # A failed operation's /result: its error with its HTTP status.
    s, _, f = http.call("POST", "/v1/operations", {"kind": "demo.fail",
                                                   "input": {"failures": 1, "permanent": True}})
    s, _, fw = http.call("GET", "/v1/operations/%s:wait?timeout=30s" % op_id(f))
    check(fw["done"] and fw["metadata"]["state"] == "FAILED", "fail op %r" % fw)
    s, _, b = http.call("GET", "/v1/operations/%s/result" % op_id(f))
    check(s >= 400 and b["error"]["code"] == s and b["error"]["status"] == fw["error"].get(
        "status", b["error"]["status"]), "failed result %d %r" % (s, b))

    # -- SSE :watch, Last-Event-ID ---------------------------------------------------------
    s, _, w_op = http.call("POST", "/v1/operations", {"kind": "demo.sleep",
                                                      "input": {"seconds": 1, "steps": 4}})
    wid = op_id(w_op)
    events = sse_events(http, "/v1/operations/%s:watch" % wid)
    check(events, "no events")
    versions = [int(e[0]) for e in events]
    check(versions == sorted(set(versions)), "versions not increasing: %r" % versions)
    ops = [json.loads(e[2]) for e in events]
    check(ops[-1]["done"] and all(not o["done"] for o in ops[:-1]), "terminal last: %r" % ops)
    check(all(int(o["metadata"]["version"]) == v for o, v in zip(ops, versions)),
          "id is metadata.version")
    # Resume: only versions after Last-Event-ID, then the stream closes.
    resumed = sse_events(http, "/v1/operations/%s:watch" % wid, last_event_id=versions[-1] - 1)
    check([int(e[0]) for e in resumed] == [versions[-1]], "resumed: %r" % resumed)
    check(sse_events(http, "/v1/operations/%s:watch" % wid, last_event_id=versions[-1]) == [],
          "a client that saw the terminal event gets nothing more")
    s, _, b = http.call("GET", "/v1/operations/%s:watch" % uuid.uuid4())
    check_error(s, b, 404, "NOT_FOUND")
    # curl sees the stream too.
    s, hs, body = http.curl("-N", http.base + "/v1/operations/%s:watch" % wid)
    check(s == 200 and hs["content-type"].startswith("text/event-stream") and
          ("id: %d" % versions[-1]) in body, "curl watch: %d %r" % (s, body[:200]))

    check_events_stream(env, http)

    # -- malformed requests: bounded answers, the process stays up -------------------------
    got, secs, closed = raw_exchange(
        port, b"POST /v1/operations HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n", 10)
    check(got.startswith(b"HTTP/1.1 413 "), "huge Content-Length: %r" % got[:80])
    check(b'"status":"RESOURCE_EXHAUSTED"' in got, "413 body: %r" % got[-200:])
    flood = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-Flood-%d: %s\r\n" % (i, b"a" * 100) for i in range(400)) + b"\r\n"
    got, secs, closed = raw_exchange(port, flood, 10)
    check(got.startswith(b"HTTP/1.1 431 "), "header flood: %r" % got[:80])
    got, secs, closed = raw_exchange(port, b"NOT HTTP AT ALL\r\n\r\n", 10)
    check(got.startswith(b"HTTP/1.1 400 ") and closed, "garbage: %r" % got[:80])
    # Slowloris: an unfinished header is dropped by the header timeout (10 s), not held.
    got, secs, closed = raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ", 30)
    check(closed and got == b"", "slowloris not closed within 30 s (%r, %.1fs)" % (got, secs))
    say("# slowloris closed after %.1fs" % secs)
    status, _, body = http.call("GET", "/healthz")
    check(status == 200, "healthz after abuse: %d" % status)
    env.check_alive()

    # -- auth: a second api with --auth=token on the same database --------------------------
    keys_file = os.path.join(env.tmp, "api-keys")
    open(keys_file, "w").close()

    def new_key(tenant, scopes):
        return subprocess.run([env.binary("longrunctl"), "new-api-key", tenant, scopes,
                               "--api-keys-file=" + keys_file], stdout=subprocess.PIPE,
                              text=True, check=True, timeout=30).stdout.strip()

    reader = new_key("tenant-a", "operations.read")
    writer = new_key("tenant-a", "operations.submit,operations.read")
    submit_only = new_key("tenant-a", "operations.submit")
    auth_port_file = os.path.join(env.tmp, "http-auth.port")
    env.spawn("longrun-api-auth", [env.binary("longrun-api"), "--listen=127.0.0.1:0",
                                   "--database-url=" + env.db_url, "--auth=token",
                                   "--api-keys-file=" + keys_file, "--rescue-interval=0",
                                   "--http-listen=127.0.0.1:0",
                                   "--http-port-file=" + auth_port_file])
    ahttp = Http(env.await_port_file(auth_port_file, time.monotonic() + 30))
    s, ha, b = ahttp.call("GET", "/v1/operations")
    check_error(s, b, 401, "UNAUTHENTICATED")
    check(ha["WWW-Authenticate"] == "Bearer", "WWW-Authenticate %r" % ha["WWW-Authenticate"])
    s, _, b = ahttp.call("GET", "/v1/operations", headers={"Authorization": "Bearer nope"})
    check_error(s, b, 401, "UNAUTHENTICATED")
    s, _, b = ahttp.call("POST", "/v1/operations", sub, {"Authorization": "Bearer " + reader})
    check_error(s, b, 403, "PERMISSION_DENIED")
    s, _, mine = ahttp.call("POST", "/v1/operations", sub, {"Authorization": "Bearer " + writer})
    check(s == 202, "authorized submit %d %r" % (s, mine))
    s, _, got = ahttp.call("GET", "/v1/operations/%s" % op_id(mine),
                           headers={"Authorization": "Bearer " + reader})
    check(s == 200 and got["name"] == mine["name"], "tenant read %d" % s)
    # Another tenant's operation (the first api's, tenant "default") is NOT_FOUND.
    s, _, b = ahttp.call("GET", "/v1/operations/%s" % oid,
                         headers={"Authorization": "Bearer " + reader})
    check_error(s, b, 404, "NOT_FOUND")
    # /v1/events: the WatchOperations scope (operations.read).
    s, _, b = ahttp.call("GET", "/v1/events")
    check_error(s, b, 401, "UNAUTHENTICATED")
    s, _, b = ahttp.call("GET", "/v1/events", headers={"Authorization": "Bearer " + submit_only})
    check_error(s, b, 403, "PERMISSION_DENIED")
    tenant_stream = SseStream(ahttp.port, "/v1/events", {"Authorization": "Bearer " + reader})
    check(tenant_stream.status == 200, "events with operations.read: %d" % tenant_stream.status)
    tenant_stream.close()
    s, _, b = ahttp.call("GET", "/healthz")
    check(s == 200, "healthz needs no credential: %d" % s)
    env.check_alive()

    # -- shutdown: an open /v1/events stream ends with `event: error` and where to resume ----
    stream = SseStream(port, "/v1/events")
    check(stream.status == 200, "events before shutdown: %d" % stream.status)
    env.stop(next(p for name, p, _ in env.procs if name == "longrun-api"))
    ev = stream.next_event(30)
    check(ev is not None and ev[1] == "error" and ev[0], "last event %r" % (ev,))
    err = json.loads(ev[2])["error"]
    check(err["status"] == "UNAVAILABLE" and ev[0] in err["message"], "shutdown error %r" % err)
    check(stream.next_event(30) is None, "the stream did not end after its error")
    stream.close()


if __name__ == "__main__":
    sys.exit(harness.main("http", __doc__.splitlines()[0], run, stub_names=["status_pb2"]))
