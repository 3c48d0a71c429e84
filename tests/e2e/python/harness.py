"""Shared setup for longrun's Python end-to-end tests.

Everything a test needs besides its own checks: Python stubs generated at test time with
Debian's grpc_tools.protoc, a fresh PostgreSQL database (from LONGRUN_TEST_PG_DIR, or a
private cluster started with tools/dev/pg.sh), `longrun-api migrate`, longrun-api and
longrun-worker as child processes (stopped by PID), and cleanup. main() wraps a test
function with argument parsing, timing, cleanup and the PASS/FAILED line.

Uses only Debian's python3-grpcio / python3-grpc-tools / python3-protobuf.
"""

import argparse
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import uuid

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
TEST_PROTO_DIR = os.path.join(SCRIPT_DIR, "protos")
PSQL = "/usr/bin/psql"

RPC_TIMEOUT = 10.0

# Short names for the generated modules; each is generated from the .proto of the same path.
STUB_MODULES = {
    "status_pb2": "google.rpc.status_pb2",
    "glro_pb2": "google.longrunning.operations_pb2",
    "glro_grpc": "google.longrunning.operations_pb2_grpc",
    "v1_pb2": "longrun.v1.operations_pb2",
    "v1_grpc": "longrun.v1.operations_pb2_grpc",
    "refl_pb2": "grpc.reflection.v1alpha.reflection_pb2",
    "refl_grpc": "grpc.reflection.v1alpha.reflection_pb2_grpc",
    "health_pb2": "grpc.health.v1.health_pb2",
    "health_grpc": "grpc.health.v1.health_pb2_grpc",
    "workers_pb2": "longrun.v1.workers_pb2",
    "workers_grpc": "longrun.v1.workers_pb2_grpc",
}
# Imports among those protos that protoc must also generate (the google/protobuf ones ship
# with python3-protobuf).
PROTO_IMPORTS = {
    "google/longrunning/operations.proto": ["google/rpc/status.proto"],
    "longrun/v1/operations.proto": ["google/rpc/status.proto", "google/api/http.proto",
                                    "google/api/annotations.proto",
                                    "google/longrunning/operations.proto"],
    "longrun/v1/workers.proto": ["google/rpc/status.proto"],
}


def say(line=""):
    print(line, flush=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


# ---------------------------------------------------------------------------------------
# Stubs.
# ---------------------------------------------------------------------------------------

def _proto_of(module):
    """"google.rpc.status_pb2" or "..._pb2_grpc" -> "google/rpc/status.proto"."""
    base = module.rsplit("_pb2", 1)[0]
    return base.replace(".", "/") + ".proto"


def generate_stubs(repo, out_dir, names=None):
    """Runs grpc_tools.protoc into out_dir and returns the imported modules as a namespace
    whose attributes are the keys of STUB_MODULES (all of them, or just `names`); the
    protos those modules import are generated too."""
    names = list(names or STUB_MODULES)
    protos = []
    for name in names:
        proto = _proto_of(STUB_MODULES[name])
        for p in PROTO_IMPORTS.get(proto, []) + [proto]:
            if p not in protos:
                protos.append(p)
    cmd = [
        sys.executable, "-m", "grpc_tools.protoc",
        "-I" + os.path.join(repo, "proto"),
        "-I/usr/include",
        "-I" + TEST_PROTO_DIR,
        "--python_out=" + out_dir,
        "--grpc_python_out=" + out_dir,
    ] + protos
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise RuntimeError("protoc failed (%d):\n%s" % (result.returncode, result.stdout))
    # "google" is a namespace package shared with the installed google.protobuf; putting
    # out_dir first on sys.path extends it with google.rpc and google.longrunning.
    sys.path.insert(0, out_dir)
    # "grpc" is a regular package (grpcio); like grpcio-reflection and grpcio-health-checking
    # do when installed, the test modules live under it, so extend its search path.
    if any(STUB_MODULES[n].startswith("grpc.") for n in names):
        import grpc
        grpc.__path__.append(os.path.join(out_dir, "grpc"))
    importlib.invalidate_caches()
    return argparse.Namespace(**{n: importlib.import_module(STUB_MODULES[n]) for n in names})


# ---------------------------------------------------------------------------------------
# Database and processes.
# ---------------------------------------------------------------------------------------

def with_database(url, dbname):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def psql(url, sql):
    result = subprocess.run([PSQL, url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=60)
    if result.returncode != 0:
        raise RuntimeError("psql %r failed (%d): %s" % (sql, result.returncode, result.stdout))
    return result.stdout


class Env:
    """Owns everything the test starts; cleanup() undoes it in reverse."""

    def __init__(self, repo, bin_dir):
        self.repo = repo
        self.bin_dir = bin_dir
        self.tmp = tempfile.mkdtemp(prefix="longrun-pytest-")
        self.own_pg_dir = None
        self.admin_url = None
        self.dbname = None
        self.db_url = None
        self.procs = []          # (name, Popen, log path)
        self.logs = []           # every log file, printed on failure
        self.channel = None

    # -- PostgreSQL ---------------------------------------------------------------------
    def setup_database(self):
        pg_dir = os.environ.get("LONGRUN_TEST_PG_DIR")
        if not pg_dir:
            # Not under self.tmp: pg.sh hands the directory to the "postgres" user when run
            # as root, and it must be reachable from /tmp.
            self.own_pg_dir = tempfile.mkdtemp(prefix="longrun-pytest-pg-")
            pg_dir = self.own_pg_dir
            say("# no LONGRUN_TEST_PG_DIR: starting a private cluster in %s" % pg_dir)
            result = subprocess.run([os.path.join(self.repo, "tools/dev/pg.sh"), "start", pg_dir],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    timeout=180)
            if result.returncode != 0:
                raise RuntimeError("pg.sh start failed:\n" + result.stdout)
        with open(os.path.join(pg_dir, "url")) as f:
            cluster_url = f.read().strip()
        check(cluster_url.startswith("postgresql://"), "unexpected cluster URL %r" % cluster_url)
        self.admin_url = with_database(cluster_url, "postgres")
        self.dbname = "t_py_" + uuid.uuid4().hex[:12]
        psql(self.admin_url, "CREATE DATABASE %s" % self.dbname)
        self.db_url = with_database(cluster_url, self.dbname)
        say("# database: %s" % self.db_url)

    # -- processes ----------------------------------------------------------------------
    def binary(self, name):
        path = os.path.join(self.bin_dir, name)
        check(os.access(path, os.X_OK), "binary not found: %s (set LONGRUN_BIN_DIR)" % path)
        return path

    def run_migrate(self):
        log = os.path.join(self.tmp, "migrate.log")
        self.logs.append(log)
        with open(log, "wb") as out:
            rc = subprocess.run([self.binary("longrun-api"), "migrate",
                                 "--database-url=" + self.db_url],
                                stdout=out, stderr=subprocess.STDOUT, timeout=120).returncode
        check(rc == 0, "longrun-api migrate exited with %d" % rc)

    def spawn(self, name, argv):
        log = os.path.join(self.tmp, name + ".log")
        self.logs.append(log)
        out = open(log, "wb")
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        finally:
            out.close()
        self.procs.append((name, proc, log))
        say("# started %s (pid %d): %s" % (name, proc.pid, " ".join(argv)))
        return proc

    def check_alive(self):
        for name, proc, _ in self.procs:
            rc = proc.poll()
            check(rc is None, "%s (pid %d) exited early with %s" % (name, proc.pid, rc))

    def start_stack(self, worker_concurrency=2, ready_timeout=30, worker_binary=None,
                    native_worker=True, api_args=(), credentials=None):
        """Fresh database, migrate, longrun-api (with `api_args`) + longrun-worker (or
        `worker_binary`, a worker built on the SDK; none without `native_worker`); waits
        until the API accepts connections, over TLS with `credentials` (grpc channel
        credentials; the server name checked is "localhost"). Returns (channel,
        "127.0.0.1:PORT")."""
        import grpc
        self.setup_database()
        self.run_migrate()
        # Port 0: the kernel picks a free port and the api writes it to --port-file, so no
        # port is chosen here that someone else could take before the api binds it.
        port_file = os.path.join(self.tmp, "api.port")
        self.spawn("longrun-api", [self.binary("longrun-api"), "--listen=127.0.0.1:0",
                                   "--port-file=" + port_file,
                                   "--database-url=" + self.db_url] + list(api_args))
        if native_worker:
            self.start_native_worker(worker_binary, worker_concurrency)
        deadline = time.monotonic() + ready_timeout
        addr = "127.0.0.1:%d" % self.await_port_file(port_file, deadline)
        if credentials is None:
            self.channel = channel = grpc.insecure_channel(addr)
        else:
            self.channel = channel = grpc.secure_channel(
                addr, credentials, options=(("grpc.ssl_target_name_override", "localhost"),))
        while True:
            self.check_alive()
            try:
                grpc.channel_ready_future(channel).result(timeout=1)
                break
            except grpc.FutureTimeoutError:
                check(time.monotonic() < deadline,
                      "server at %s not ready within %ds" % (addr, ready_timeout))
        say("# server ready at %s" % addr)
        return channel, addr

    def stop(self, proc, timeout=30):
        """SIGTERM one child we started and wait for it; returns its exit status."""
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=timeout)
        self.procs = [p for p in self.procs if p[1] is not proc]
        say("# pid %d exited with %s after SIGTERM" % (proc.pid, rc))
        return rc

    def kill(self, proc):
        """SIGKILL one child we started (a crash); it is no longer checked or stopped."""
        proc.kill()
        proc.wait(timeout=10)
        self.procs = [p for p in self.procs if p[1] is not proc]
        say("# killed pid %d (SIGKILL)" % proc.pid)

    def start_native_worker(self, worker_binary=None, concurrency=2, name=None, extra=()):
        worker = worker_binary or self.binary("longrun-worker")
        return self.spawn(name or os.path.basename(worker),
                          [worker, "--database-url=" + self.db_url,
                           "--concurrency=%d" % concurrency] + list(extra))

    def start_python_worker(self, addr, name="worker.py", extra=()):
        """examples/python-worker/worker.py against the api at `addr`, with `extra` flags."""
        return self.spawn(name, [sys.executable,
                                 os.path.join(self.repo, "examples", "python-worker", "worker.py"),
                                 "--server=" + addr,
                                 "--proto-dir=" + os.path.join(self.repo, "proto")] + list(extra))

    def wait_done(self, ops, get_request, seconds=60, metadata=()):
        """Polls ops.GetOperation(get_request) until the operation is done; returns it. Fails
        after `seconds`, or at once if a process the test started has died."""
        deadline = time.monotonic() + seconds
        while True:
            op = ops.GetOperation(get_request, timeout=RPC_TIMEOUT, metadata=metadata)
            if op.done:
                return op
            self.check_alive()
            check(time.monotonic() < deadline,
                  "%s not done within %ds" % (get_request.name, seconds))
            time.sleep(0.05)

    def await_port_file(self, path, deadline):
        """The port longrun-api wrote to its --port-file (renamed into place whole)."""
        while True:
            self.check_alive()
            try:
                with open(path) as f:
                    return int(f.read().strip())
            except FileNotFoundError:
                check(time.monotonic() < deadline, "longrun-api wrote no %s in time" % path)
                time.sleep(0.01)

    def stop_processes(self):
        """SIGTERM each child we started (by its PID), then SIGKILL what is left."""
        for name, proc, _ in self.procs:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for name, proc, _ in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say("# %s (pid %d) ignored SIGTERM; killing" % (name, proc.pid))
                proc.kill()
                proc.wait(timeout=10)
            say("# %s (pid %d) exited with %s" % (name, proc.pid, proc.returncode))
        self.procs = []

    def cleanup(self, failed):
        errors = []
        if self.channel is not None:
            self.channel.close()
        try:
            self.stop_processes()
        except Exception as e:  # keep going: the database and cluster still need cleanup
            errors.append("stopping processes: %r" % e)
        if failed:
            self.dump_logs()
        if self.dbname and self.admin_url:
            try:
                psql(self.admin_url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.dbname)
                say("# dropped database %s" % self.dbname)
            except Exception as e:
                errors.append("dropping database: %r" % e)
        if self.own_pg_dir:
            subprocess.run([os.path.join(self.repo, "tools/dev/pg.sh"), "stop",
                            self.own_pg_dir, "immediate"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            shutil.rmtree(self.own_pg_dir, ignore_errors=True)
            say("# stopped private cluster %s" % self.own_pg_dir)
        if os.environ.get("LONGRUN_TEST_KEEP_TMP"):
            say("# kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        for e in errors:
            say("# cleanup error: " + e)
        return not errors

    def dump_logs(self):
        for log in self.logs:
            say("=" * 30 + " " + os.path.basename(log) + " " + "=" * 30)
            try:
                with open(log, "rb") as f:
                    data = f.read()
                say(data[-20000:].decode("utf-8", "replace"))
            except OSError as e:
                say("(cannot read: %s)" % e)


# ---------------------------------------------------------------------------------------
# Entry point.
# ---------------------------------------------------------------------------------------

def main(test_name, description, run_test, stub_names=None):
    """Parses --repo-root, generates stubs, runs run_test(env, stubs), cleans up and prints
    PASS/FAILED. Returns the exit code: 0 on success, 1 on any failure (with the logs of
    everything the test started)."""
    default_repo = os.path.abspath(os.path.join(SCRIPT_DIR, "..", "..", ".."))
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repo-root", default=default_repo,
                        help="longrun repository root (default: %(default)s)")
    args = parser.parse_args()
    repo = os.path.abspath(args.repo_root)
    bin_dir = os.environ.get("LONGRUN_BIN_DIR") or os.path.join(repo, "build", "bin")

    started = time.monotonic()
    env = Env(repo, bin_dir)
    failed = True
    try:
        stub_dir = os.path.join(env.tmp, "gen")
        os.makedirs(stub_dir)
        stubs = generate_stubs(repo, stub_dir, stub_names)
        run_test(env, stubs)
        failed = False
    except BaseException:
        say()
        say("FAIL: " + traceback.format_exc())
    finally:
        clean = env.cleanup(failed)
    elapsed = time.monotonic() - started
    if failed or not clean:
        say("FAILED (%.1fs)" % elapsed)
        return 1
    say("PASS %s (%.1fs)" % (test_name, elapsed))
    return 0
