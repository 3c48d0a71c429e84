"""A webhook receiver for tests: an HTTP server on loopback that records every request,
answers from a script, and verifies Standard Webhooks signatures with its own code (Python's
hmac), independent of longrun's C++ signer.

    rx = Receiver()             # bound to 127.0.0.1:PORT but not listening: connections refused
    rx.script = [500, 500, 500] # then answer these statuses in order, then 200
    rx.listen()
"""

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

HOLD = "hold"  # script entry: keep the request open until release() (a deliverer killed mid-post)


def sign(secret, webhook_id, timestamp, body):
    """v1 signature of Standard Webhooks: base64(HMAC-SHA256(key, id.timestamp.body))."""
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, b"%s.%s.%s" % (webhook_id.encode(), timestamp.encode(), body),
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secrets, headers, body, tolerance=300):
    """Raises AssertionError unless some secret's signature is among the header's and the
    timestamp is within `tolerance` seconds of now."""
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = (headers.get("webhook-signature") or "").split(" ")
    if not webhook_id or not timestamp or not signatures[0]:
        raise AssertionError("missing webhook headers: %r" % dict(headers))
    if abs(time.time() - int(timestamp)) > tolerance:
        raise AssertionError("webhook-timestamp %s is not now" % timestamp)
    for secret in secrets:
        if any(hmac.compare_digest(sign(secret, webhook_id, timestamp, body), s)
               for s in signatures):
            return
    raise AssertionError("no valid signature among %r" % signatures)


class Receiver:
    def __init__(self, host="127.0.0.1"):
        self.requests = []  # {"path", "headers" (lower-case keys), "body" (bytes), "status"}
        self.script = []
        self.cond = threading.Condition()
        self._released = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.cond:
                    status = receiver.script.pop(0) if receiver.script else 200
                    record = {"path": self.path, "body": body, "status": status,
                              "headers": {k.lower(): v for k, v in self.headers.items()}}
                    receiver.requests.append(record)
                    receiver.cond.notify_all()
                if status == HOLD:
                    receiver._released.wait(120)
                    status = record["status"] = 200
                out = b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the deliverer is gone

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler, bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.thread = None

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def listen(self):
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def release(self):
        self._released.set()

    def wait_for(self, count, seconds):
        """Waits until `count` requests arrived; returns them all."""
        deadline = time.monotonic() + seconds
        with self.cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("receiver got %d of %d requests in %ds" %
                                         (len(self.requests), count, seconds))
                self.cond.wait(left)
            return list(self.requests)

    def close(self):
        self.release()
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()


def payload(record):
    return json.loads(record["body"])
