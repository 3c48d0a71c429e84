#!/usr/bin/python3
"""A longrun worker in Python over the remote-worker protocol (longrun.v1.Workers).

Serves example.wordcount, like examples/cpp-worker: input {"text": t} -> {"words": w,
"lines": l}, with w = len(t.split()) and l = len(t.splitlines()); an optional
"sleep_seconds" pretends the work is slow (progress is reported, cancellation honoured).

    /usr/bin/python3 worker.py --server=127.0.0.1:50051 --concurrency=4

It never touches PostgreSQL: it long-polls LeaseJobs, runs jobs on a thread pool, sends one
Heartbeat for all its leases every lease/3 (with each job's latest progress), stops a job
whose cancellation was requested (or whose lease was lost), and reports CompleteJob. On
SIGTERM or SIGINT it stops leasing, gives running jobs --shutdown-grace to finish, hands
the rest back with ReleaseJobs and exits 0.

Needs Debian's python3-grpcio and python3-grpc-tools: the stubs are generated from the
repository's proto/ directory (--proto-dir) into a temporary directory at start-up.
Copy this file as a template: replace wordcount() and KIND.
"""

import argparse
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

KIND = "example.wordcount"
HERE = os.path.dirname(os.path.abspath(__file__))


def load_stubs(proto_dir):
    out = tempfile.mkdtemp(prefix="longrun-worker-stubs-")
    protos = ["google/rpc/status.proto", "longrun/v1/workers.proto"]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + proto_dir,
                    "-I/usr/include", "--python_out=" + out, "--grpc_python_out=" + out]
                   + protos, check=True)
    sys.path.insert(0, out)
    from longrun.v1 import workers_pb2, workers_pb2_grpc
    return workers_pb2, workers_pb2_grpc



def open_channel(args):
    """A plaintext channel, or TLS (mTLS with a client certificate) with --tls-ca-file; with
    --token, every call carries authorization: Bearer <token>."""
    import grpc
    channel = _open_transport(grpc, args)
    if args.token:
        channel = grpc.intercept_channel(channel, _TokenInterceptor(grpc, args.token))
    return channel


def _TokenInterceptor(grpc, token):
    header = ("authorization", "Bearer " + token)

    class Interceptor(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):
            metadata = list(details.metadata or []) + [header]
            details = details._replace(metadata=metadata)
            return continuation(details, request)
    return Interceptor()


def _open_transport(grpc, args):
    if not args.tls_ca_file:
        return grpc.insecure_channel(args.server)

    def read(path):
        with open(path, "rb") as f:
            return f.read()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(args.tls_ca_file),
        private_key=read(args.tls_key_file) if args.tls_key_file else None,
        certificate_chain=read(args.tls_cert_file) if args.tls_cert_file else None)
    options = []
    if args.tls_server_name:
        options.append(("grpc.ssl_target_name_override", args.tls_server_name))
    return grpc.secure_channel(args.server, credentials, options=options)


class Stop(Exception):
    """The job must stop: cancelled, lease lost or the worker is shutting down."""


class Job:
    def __init__(self, leased):
        self.leased = leased
        self.token = leased.lease_token
        self.progress = None          # (percent, message) not yet sent
        self.cancelled = threading.Event()
        self.lost = threading.Event()


def wordcount(job, handing_back):
    """The job's code. Raises ValueError for bad input (not retried)."""
    fields = job.leased.input.fields
    if "text" not in fields or fields["text"].WhichOneof("kind") != "string_value":
        raise ValueError("input.text must be a string")
    text = fields["text"].string_value
    sleep = fields["sleep_seconds"].number_value if "sleep_seconds" in fields else 0.0
    if not 0 <= sleep <= 3600:
        raise ValueError("input.sleep_seconds must be in 0..3600")
    end = time.monotonic() + sleep
    while time.monotonic() < end:
        if job.cancelled.is_set() or job.lost.is_set() or handing_back.is_set():
            raise Stop()
        left = end - time.monotonic()
        job.progress = (int(100 * (1 - left / sleep)), "counting")
        time.sleep(min(0.1, max(0.0, left)))
    return {"words": len(text.split()), "lines": len(text.splitlines())}


class Worker:
    def __init__(self, args, pb, rpc):
        import grpc
        self.args, self.pb, self.grpc = args, pb, grpc
        self.stub = rpc.WorkersStub(open_channel(args))
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency)
        self.jobs = {}                # lease token -> Job, while held
        self.lock = threading.Lock()
        self.shutting_down = threading.Event()   # SIGTERM: lease no more
        self.handing_back = threading.Event()    # the grace is over: running jobs stop
        self.lease_call = None

    def log(self, event, **fields):
        print("event=%s %s" % (event, " ".join("%s=%s" % kv for kv in fields.items())),
              file=sys.stderr, flush=True)

    def run_job(self, job):
        from google.rpc import status_pb2
        request = self.pb.CompleteJobRequest(lease_token=job.token)
        try:
            result = wordcount(job, self.handing_back)
            request.response.update(result)
        except Stop:
            if not job.cancelled.is_set():
                with self.lock:
                    self.jobs.pop(job.token, None)
                return                # lease lost or handed back: nothing to record
            request.error.CopyFrom(status_pb2.Status(code=1, message="cancelled by request"))
        except ValueError as e:
            request.error.CopyFrom(status_pb2.Status(code=3, message=str(e)))
            request.permanent = True
        except Exception as e:        # anything else: retried with back-off
            request.error.CopyFrom(status_pb2.Status(code=13, message=repr(e)))
        try:
            self.stub.CompleteJob(request, timeout=10)
        except self.grpc.RpcError as e:
            # FAILED_PRECONDITION: the lease was lost meanwhile; the job runs elsewhere.
            self.log("complete_failed", job=job.leased.name, code=e.code().name)
        finally:
            with self.lock:
                self.jobs.pop(job.token, None)

    def lease_loop(self):
        lease = self.args.lease_duration
        while not self.shutting_down.is_set():
            with self.lock:
                free = self.args.concurrency - len(self.jobs)
            if free <= 0:
                time.sleep(0.01)
                continue
            request = self.pb.LeaseJobsRequest(worker_id=self.args.worker_id, kinds=[KIND],
                                               max_jobs=free)
            request.wait.FromSeconds(10)
            request.lease_duration.FromMilliseconds(int(lease * 1000))
            self.lease_call = self.stub.LeaseJobs.future(request, timeout=30)
            try:
                response = self.lease_call.result()
            except self.grpc.FutureCancelledError:
                continue              # SIGTERM cancelled the long poll
            except self.grpc.RpcError as e:
                if not self.shutting_down.is_set():
                    self.log("lease_failed", code=e.code().name)
                    time.sleep(1)
                continue
            for leased in response.jobs:
                job = Job(leased)
                with self.lock:
                    self.jobs[job.token] = job
                self.pool.submit(self.run_job, job)

    def heartbeat_loop(self):
        while True:
            time.sleep(self.args.lease_duration / 3)
            with self.lock:
                jobs = list(self.jobs.values())
            if not jobs:
                if self.shutting_down.is_set() and not self.jobs:
                    return
                continue
            request = self.pb.HeartbeatRequest()
            for job in jobs:
                lease = request.leases.add(lease_token=job.token)
                progress, job.progress = job.progress, None
                if progress is not None:
                    lease.progress.percent, lease.progress.message = progress
            try:
                response = self.stub.Heartbeat(request, timeout=10)
            except self.grpc.RpcError as e:
                self.log("heartbeat_failed", code=e.code().name)
                continue
            for job, answer in zip(jobs, response.leases):
                if answer.cancel_requested:
                    job.cancelled.set()
                if answer.lost:
                    job.lost.set()

    def shutdown(self, *_):
        if self.shutting_down.is_set():
            os._exit(1)               # a second signal: exit at once
        self.log("draining", grace=self.args.shutdown_grace)
        self.shutting_down.set()
        if self.lease_call is not None:
            self.lease_call.cancel()

    def run(self):
        signal.signal(signal.SIGTERM, self.shutdown)
        signal.signal(signal.SIGINT, self.shutdown)
        threading.Thread(target=self.heartbeat_loop, daemon=True).start()
        leaser = threading.Thread(target=self.lease_loop, daemon=True)
        leaser.start()
        self.log("worker_started", worker=self.args.worker_id, server=self.args.server,
                 concurrency=self.args.concurrency)
        while not self.shutting_down.wait(0.2):
            pass
        leaser.join()
        # Running jobs get the grace period to finish; what is still running then is handed
        # back without using up its attempt, and its handler told to stop.
        deadline = time.monotonic() + self.args.shutdown_grace
        while time.monotonic() < deadline:
            with self.lock:
                if not self.jobs:
                    break
            time.sleep(0.05)
        with self.lock:
            tokens = list(self.jobs)
        if tokens:
            released = self.stub.ReleaseJobs(self.pb.ReleaseJobsRequest(lease_tokens=tokens),
                                             timeout=10).released
            self.log("released", count=released)
        self.handing_back.set()
        self.pool.shutdown(wait=True)
        self.log("stopped")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="127.0.0.1:50051", help="longrun-api HOST:PORT")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs run at once")
    parser.add_argument("--worker-id", default="%s-py-%d" % (socket.gethostname(), os.getpid()))
    parser.add_argument("--lease-duration", type=float, default=30.0,
                        help="seconds each lease lasts; heartbeats every third of it")
    parser.add_argument("--shutdown-grace", type=float, default=10.0,
                        help="seconds running jobs get to finish on SIGTERM")
    parser.add_argument("--token", default=os.environ.get("LONGRUN_TOKEN"),
                        help="credential sent as authorization: Bearer <token> (env LONGRUN_TOKEN)")
    parser.add_argument("--tls-ca-file", help="PEM bundle to verify the server; turns TLS on")
    parser.add_argument("--tls-cert-file", help="PEM client certificate (mTLS)")
    parser.add_argument("--tls-key-file", help="PEM key of --tls-cert-file")
    parser.add_argument("--tls-server-name", help="name expected in the server's certificate")
    parser.add_argument("--proto-dir", default=os.path.join(HERE, "..", "..", "proto"),
                        help="longrun's proto/ directory (stubs are generated from it)")
    args = parser.parse_args()
    pb, rpc = load_stubs(os.path.abspath(args.proto_dir))
    return Worker(args, pb, rpc).run()


if __name__ == "__main__":
    sys.exit(main())
