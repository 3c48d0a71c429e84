#!/usr/bin/python3
"""The deliverer's SSRF guard, through the real delivery path (longrun-api + longrun-worker).

A listener on loopback (IPv4 and IPv6, one port) counts every TCP connection. Operations are
submitted with callback URLs on that port at an address of every refused class: loopback
(v4, v6, and the name "localhost"), unspecified, private, CGNAT, link-local (incl. the
cloud metadata address), unique-local, multicast, reserved, and loopback hidden in
IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 addresses. Loopback is not in
--webhook-allow-cidrs, so the listener must see 0 connections, and each operation's
CallbackStatus must record the refusal. Then a worker with --webhook-allow-cidrs=127.0.0.0/8
delivers to 127.0.0.1, which the listener does see: the count can fail.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 ssrf_test.py
"""

import base64
import os
import socket
import sys
import threading
import time

from harness import RPC_TIMEOUT, check, main as harness_main, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")

# host part of the URL -> the class the guard must name
TARGETS = [
    ("127.0.0.1", "loopback"), ("127.3.2.1", "loopback"), ("[::1]", "loopback"),
    ("localhost", "loopback"),
    ("0.0.0.0", "unspecified"), ("[::]", "unspecified"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"), ("169.254.169.254", "link-local"), ("[fe80::1]", "link-local"),
    ("[fc00::1]", "unique-local"), ("[fd12:3456::1]", "unique-local"),
    ("224.0.0.1", "multicast"), ("[ff02::1]", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "broadcast"), ("192.0.2.1", "documentation"),
    ("198.18.0.1", "reserved"),
    ("[::ffff:127.0.0.1]", "loopback"), ("[::127.0.0.1]", "loopback"),
    ("[64:ff9b::7f00:1]", "loopback"), ("[2002:7f00:1::1]", "loopback"),
    ("[::ffff:169.254.169.254]", "link-local"), ("[64:ff9b::a00:1]", "private"),
]


class CountingListener:
    """Accepts on 127.0.0.1:PORT and [::1]:PORT, answers 200 to each request, counts."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        self.socks = []
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.bind(("0.0.0.0", 0))
        self.port = v4.getsockname()[1]
        v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        v6.bind(("::", self.port))
        for s in (v4, v6):
            s.listen(64)
            self.socks.append(s)
            threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self.lock:
                self.count += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn):
        try:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        for s in self.socks:
            s.close()


def run_test(env, stubs):
    v1 = stubs.v1_pb2
    secret_file = os.path.join(env.tmp, "webhook-secrets")
    with open(secret_file, "w") as f:
        f.write("whsec_%s\n" % base64.b64encode(os.urandom(32)).decode())
    common = ["--webhook-secret-file=" + secret_file, "--webhook-allow-insecure"]
    channel, _ = env.start_stack(native_worker=False, api_args=common)
    worker = env.start_native_worker(extra=common + ["--webhook-retry-base=1s"])
    ops = stubs.v1_grpc.OperationsStub(channel)
    listener = CountingListener()
    try:
        names = {}
        for host, why in TARGETS:
            request = v1.SubmitRequest(kind="demo.echo")
            request.callback.url = "http://%s:%d/hook" % (host, listener.port)
            names[host] = (ops.Submit(request, timeout=RPC_TIMEOUT).name, why)
        deadline = time.monotonic() + 60
        refused = {}
        while len(refused) < len(names):
            for host, (name, why) in names.items():
                if host in refused:
                    continue
                op = ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT)
                meta = v1.OperationMetadata()
                op.metadata.Unpack(meta)
                if meta.callback.attempts >= 1 and meta.callback.last_error:
                    refused[host] = meta.callback
            env.check_alive()
            check(time.monotonic() < deadline,
                  "no recorded attempt for %r" % sorted(set(names) - set(refused)))
            time.sleep(0.2)
        for host, cb in sorted(refused.items()):
            why = names[host][1]
            say("# %-26s %s" % (host, cb.last_error))
            check(cb.state == v1.CallbackStatus.PENDING and cb.last_http_status == 0,
                  "%s: %s" % (host, cb))
            check("refuse" in cb.last_error and why in cb.last_error,
                  "%s: error %r does not name %r" % (host, cb.last_error, why))
        check(listener.count == 0, "the listener saw %d connections" % listener.count)
        say("# %d targets refused, 0 connections" % len(refused))

        # Positive control: loopback allowed, the same listener is reached.
        env.stop(worker)
        env.start_native_worker(extra=common + ["--webhook-allow-cidrs=127.0.0.0/8"],
                                name="longrun-worker-allowed")
        request = v1.SubmitRequest(kind="demo.echo")
        request.callback.url = "http://127.0.0.1:%d/hook" % listener.port
        name = ops.Submit(request, timeout=RPC_TIMEOUT).name
        deadline = time.monotonic() + 60
        while True:
            op = ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT)
            meta = v1.OperationMetadata()
            op.metadata.Unpack(meta)
            if meta.callback.state == v1.CallbackStatus.DELIVERED:
                break
            check(time.monotonic() < deadline, "allowed delivery: %s" % meta.callback)
            time.sleep(0.1)
        check(listener.count >= 1, "allowed delivery made no connection")
        say("# control: allowed loopback delivered (%d connections)" % listener.count)
    finally:
        listener.close()


if __name__ == "__main__":
    sys.exit(harness_main("ssrf", __doc__.splitlines()[0], run_test, STUBS))
