#!/usr/bin/python3
"""--auth=token on the real binaries: the auth matrix, tenant isolation and rate limits.

longrun-api runs with an HS256 secret, an RSA public key (RS256) and an API-keys file.
  1. Auth matrix: every RPC of longrun.v1.Operations, google.longrunning.Operations and
     longrun.v1.Workers, called with no token, a bad signature, an expired token, a wrong
     audience, `alg: none`, an HS256 token MACed with the server's RSA public key (algorithm
     confusion) and a revoked API key, gets UNAUTHENTICATED. A valid credential without the
     method's scope gets PERMISSION_DENIED. Health stays open; reflection needs a credential.
  2. Tenant isolation: tenant B's Get, Wait, Watch, Cancel and Delete (both services) of
     tenant A's operation give NOT_FOUND, B's List shows none of A's, B's page token is not
     A's, B's remote worker leases none of A's jobs, and B's identical request_id creates
     B's own operation.
  3. Rate limits: a burst of Submits over tenant R's limit gets RESOURCE_EXHAUSTED with a
     retry-after header, while tenant A's Submits meanwhile all succeed.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 auth_test.py
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import grpc

from harness import RPC_TIMEOUT, check, main as harness_main, psql, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc", "glro_pb2", "glro_grpc", "workers_pb2",
         "workers_grpc", "health_pb2", "health_grpc", "refl_pb2", "refl_grpc")
AUDIENCE = "longrun-test"
ALL_SCOPES = "operations.submit operations.read operations.cancel operations.delete workers.lease"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header, claims, sign):
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return signing_input + "." + b64url(sign(signing_input.encode()))


def hs256(secret):
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def rs256(key_file):
    def sign(data):
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file], input=data,
                              stdout=subprocess.PIPE, check=True, timeout=30).stdout
    return sign


def claims(tenant, scope=ALL_SCOPES, **extra):
    now = int(time.time())
    c = {"sub": "test", "tenant": tenant, "scope": scope, "aud": AUDIENCE, "iat": now,
         "exp": now + 600}
    c.update(extra)
    return c


def code_of(fn):
    """The status code of calling fn() (OK if it returns)."""
    try:
        fn()
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def run_test(env, stubs):
    v1, glro, wk = stubs.v1_pb2, stubs.glro_pb2, stubs.workers_pb2
    d = os.path.join(env.tmp, "keys")
    os.makedirs(d)
    secret = os.urandom(32)
    secret_file = os.path.join(d, "hs256.secret")
    with open(secret_file, "wb") as f:
        f.write(secret)
    rsa_key, rsa_pub = os.path.join(d, "rsa.key"), os.path.join(d, "rsa.pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", rsa_key], check=True, timeout=60, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "pkey", "-in", rsa_key, "-pubout", "-out", rsa_pub], check=True,
                   timeout=30)
    keys_file = os.path.join(d, "api-keys")
    open(keys_file, "w").close()

    def new_key(tenant, scopes):
        out = subprocess.run([env.binary("longrunctl"), "new-api-key", tenant, scopes,
                              "--api-keys-file=" + keys_file], stdout=subprocess.PIPE,
                             text=True, check=True, timeout=30)
        return out.stdout.strip()

    revoked_key = new_key("tenant-a", "operations.read")
    read_only_key = new_key("tenant-a", "operations.read")
    channel, addr = env.start_stack(api_args=[
        "--auth=token", "--jwt-hs256-secret-file=" + secret_file,
        "--jwt-public-key-file=" + rsa_pub, "--jwt-audience=" + AUDIENCE,
        "--api-keys-file=" + keys_file, "--auth-reload-interval=200ms",
        "--rate-limit-submit=20,20", "--rate-limit-read=0"])

    def md(token):
        return [] if token is None else [("authorization", "Bearer " + token)]

    token_a = jwt({"alg": "HS256", "typ": "JWT"}, claims("tenant-a"), hs256(secret))
    token_b = jwt({"alg": "RS256", "typ": "JWT"}, claims("tenant-b"), rs256(rsa_key))
    ops = stubs.v1_grpc.OperationsStub(channel)
    gops = stubs.glro_grpc.OperationsStub(channel)
    workers = stubs.workers_grpc.WorkersStub(channel)

    request = v1.SubmitRequest(kind="demo.echo", request_id="same-key")
    request.input.update({"who": "a"})
    op_a = ops.Submit(request, timeout=RPC_TIMEOUT, metadata=md(token_a)).name
    say("# tenant-a submitted %s with an HS256 JWT" % op_a)

    # Revoke one key: remove its line; the file is re-read within the reload interval.
    with open(keys_file) as f:
        lines = f.read().splitlines()
    revoked_sha = hashlib.sha256(revoked_key.encode()).hexdigest()
    with open(keys_file + ".new", "w") as f:
        f.write("".join(l + "\n" for l in lines if not l.startswith(revoked_sha)))
    os.replace(keys_file + ".new", keys_file)
    deadline = time.monotonic() + 15
    while code_of(lambda: ops.GetOperation(v1.GetOperationRequest(name=op_a), timeout=RPC_TIMEOUT,
                                           metadata=md(revoked_key))) != grpc.StatusCode.UNAUTHENTICATED:
        check(time.monotonic() < deadline, "the revoked API key still works after 15s")
        time.sleep(0.1)
    check(code_of(lambda: ops.GetOperation(v1.GetOperationRequest(name=op_a), timeout=RPC_TIMEOUT,
                                           metadata=md(read_only_key))) == grpc.StatusCode.OK,
          "a valid API key was refused")

    # --- 1. the auth matrix ---------------------------------------------------------------
    pub_pem = open(rsa_pub, "rb").read()
    bad_credentials = {
        "no token": None,
        "bad signature": token_a[:-4] + ("AAAA" if not token_a.endswith("AAAA") else "BBBB"),
        "expired": jwt({"alg": "HS256"}, claims("tenant-a", exp=int(time.time()) - 3600,
                                                  iat=int(time.time()) - 7200), hs256(secret)),
        "wrong audience": jwt({"alg": "HS256"}, claims("tenant-a", aud="someone-else"),
                              hs256(secret)),
        "alg none": jwt({"alg": "none"}, claims("tenant-a"), lambda data: b""),
        "HS/RS confusion": jwt({"alg": "HS256"}, claims("tenant-a"), hs256(pub_pem)),
        "revoked API key": revoked_key,
    }
    name = op_a
    rows_before = psql(env.db_url, "SELECT count(*) || ' ' || count(*) FILTER (WHERE state = 'CANCELLED') FROM operations")
    calls = {
        "v1.Submit": lambda m: ops.Submit(v1.SubmitRequest(kind="demo.echo"), timeout=RPC_TIMEOUT, metadata=m),
        "v1.GetOperation": lambda m: ops.GetOperation(v1.GetOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "v1.ListOperations": lambda m: ops.ListOperations(v1.ListOperationsRequest(), timeout=RPC_TIMEOUT, metadata=m),
        "v1.WaitOperation": lambda m: ops.WaitOperation(v1.WaitOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "v1.WatchOperation": lambda m: list(ops.WatchOperation(v1.WatchOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m)),
        "v1.CancelOperation": lambda m: ops.CancelOperation(v1.CancelOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "v1.DeleteOperation": lambda m: ops.DeleteOperation(v1.DeleteOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "lro.GetOperation": lambda m: gops.GetOperation(glro.GetOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "lro.ListOperations": lambda m: gops.ListOperations(glro.ListOperationsRequest(), timeout=RPC_TIMEOUT, metadata=m),
        "lro.WaitOperation": lambda m: gops.WaitOperation(glro.WaitOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "lro.CancelOperation": lambda m: gops.CancelOperation(glro.CancelOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "lro.DeleteOperation": lambda m: gops.DeleteOperation(glro.DeleteOperationRequest(name=name), timeout=RPC_TIMEOUT, metadata=m),
        "workers.LeaseJobs": lambda m: workers.LeaseJobs(wk.LeaseJobsRequest(worker_id="w", kinds=["demo.echo"]), timeout=RPC_TIMEOUT, metadata=m),
        "workers.Heartbeat": lambda m: workers.Heartbeat(wk.HeartbeatRequest(), timeout=RPC_TIMEOUT, metadata=m),
        "workers.CompleteJob": lambda m: workers.CompleteJob(wk.CompleteJobRequest(lease_token="x"), timeout=RPC_TIMEOUT, metadata=m),
        "workers.CompleteJobs": lambda m: workers.CompleteJobs(wk.CompleteJobsRequest(), timeout=RPC_TIMEOUT, metadata=m),
        "workers.ReleaseJobs": lambda m: workers.ReleaseJobs(wk.ReleaseJobsRequest(), timeout=RPC_TIMEOUT, metadata=m),
    }
    for what, token in bad_credentials.items():
        for rpc_name, call in calls.items():
            got = code_of(lambda: call(md(token)))
            check(got == grpc.StatusCode.UNAUTHENTICATED,
                  "%s with %s: %s, expected UNAUTHENTICATED" % (rpc_name, what, got))
    rows_after = psql(env.db_url, "SELECT count(*) || ' ' || count(*) FILTER (WHERE state = 'CANCELLED') FROM operations")
    check(rows_after == rows_before,
          "refused calls changed the table: %s -> %s" % (rows_before.strip(), rows_after.strip()))
    say("# %d RPCs x %d bad credentials: all UNAUTHENTICATED" % (len(calls), len(bad_credentials)))

    # A valid credential without the scope: PERMISSION_DENIED (read-only key).
    for rpc_name in ("v1.Submit", "v1.CancelOperation", "v1.DeleteOperation",
                     "lro.CancelOperation", "lro.DeleteOperation", "workers.LeaseJobs",
                     "workers.Heartbeat"):
        got = code_of(lambda: calls[rpc_name](md(read_only_key)))
        check(got == grpc.StatusCode.PERMISSION_DENIED,
              "%s with a read-only key: %s, expected PERMISSION_DENIED" % (rpc_name, got))
    health = stubs.health_grpc.HealthStub(channel)
    check(health.Check(stubs.health_pb2.HealthCheckRequest(), timeout=RPC_TIMEOUT).status ==
          stubs.health_pb2.HealthCheckResponse.SERVING, "health needs no credential")
    refl = stubs.refl_grpc.ServerReflectionStub(channel)

    def reflect(m):
        req = stubs.refl_pb2.ServerReflectionRequest(list_services="")
        return list(refl.ServerReflectionInfo(iter([req]), timeout=RPC_TIMEOUT, metadata=m))
    refused = code_of(lambda: reflect(md(None)))
    check(refused in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.CANCELLED),
          "reflection without a credential: %s" % refused)
    check(code_of(lambda: reflect(md(read_only_key))) == grpc.StatusCode.OK,
          "reflection refused a valid credential")
    say("# missing scope: PERMISSION_DENIED; health open; reflection needs a credential")

    # --- 2. tenant isolation --------------------------------------------------------------
    b = md(token_b)
    not_found = grpc.StatusCode.NOT_FOUND
    for rpc_name in ("v1.GetOperation", "v1.WaitOperation", "v1.WatchOperation",
                     "v1.CancelOperation", "v1.DeleteOperation", "lro.GetOperation",
                     "lro.WaitOperation", "lro.CancelOperation", "lro.DeleteOperation"):
        got = code_of(lambda: calls[rpc_name](b))
        check(got == not_found, "tenant-b's %s of tenant-a's operation: %s" % (rpc_name, got))
    check(not ops.ListOperations(v1.ListOperationsRequest(), timeout=RPC_TIMEOUT,
                                 metadata=b).operations, "tenant-b's List shows operations")
    check(not gops.ListOperations(glro.ListOperationsRequest(), timeout=RPC_TIMEOUT,
                                  metadata=b).operations, "tenant-b's lro List shows operations")
    # tenant-a's page token is refused for tenant-b.
    for i in range(2):
        r = v1.SubmitRequest(kind="demo.sleep")
        r.input.update({"seconds": 0})
        ops.Submit(r, timeout=RPC_TIMEOUT, metadata=md(token_a))
    page = ops.ListOperations(v1.ListOperationsRequest(page_size=1), timeout=RPC_TIMEOUT,
                              metadata=md(token_a))
    check(page.next_page_token, "tenant-a's first page has no next token")
    check(code_of(lambda: ops.ListOperations(v1.ListOperationsRequest(
        page_size=1, page_token=page.next_page_token), timeout=RPC_TIMEOUT, metadata=b)) ==
          grpc.StatusCode.INVALID_ARGUMENT, "tenant-b used tenant-a's page token")
    # The same request_id in tenant-b is tenant-b's own operation.
    same = v1.SubmitRequest(kind="demo.echo", request_id="same-key")
    same.input.update({"who": "b"})
    op_b = ops.Submit(same, timeout=RPC_TIMEOUT, metadata=b).name
    check(op_b != op_a, "tenant-b's request_id returned tenant-a's operation")
    # A remote worker of tenant-b leases none of tenant-a's jobs.
    queued = v1.SubmitRequest(kind="auth.test.kind")
    a_job = ops.Submit(queued, timeout=RPC_TIMEOUT, metadata=md(token_a)).name
    leased = workers.LeaseJobs(wk.LeaseJobsRequest(worker_id="b-worker", kinds=["auth.test.kind"],
                                                   max_jobs=10), timeout=RPC_TIMEOUT, metadata=b)
    check(not leased.jobs, "tenant-b's worker leased tenant-a's job")
    leased = workers.LeaseJobs(wk.LeaseJobsRequest(worker_id="a-worker", kinds=["auth.test.kind"],
                                                   max_jobs=10), timeout=RPC_TIMEOUT,
                               metadata=md(token_a))
    check([j.name for j in leased.jobs] == [a_job],
          "tenant-a's worker leased %s, expected %s" % ([j.name for j in leased.jobs], a_job))
    say("# tenant isolation: NOT_FOUND / empty for every cross-tenant probe")

    # The Python remote worker with --token: it leases tenant-a's job and completes it.
    env.start_python_worker(addr, extra=["--token=" + token_a])
    counted = v1.SubmitRequest(kind="example.wordcount")
    counted.input.update({"text": "three little words"})
    counted_name = ops.Submit(counted, timeout=RPC_TIMEOUT, metadata=md(token_a)).name
    op = env.wait_done(ops, v1.GetOperationRequest(name=counted_name), metadata=md(token_a))
    check(op.HasField("response"), "the remote worker's job failed: %s" % op.error.message)
    say("# the Python remote worker with --token completed tenant-a's job")

    # --- 3. rate limits (20/s, burst 20, per tenant) --------------------------------------
    token_r = jwt({"alg": "HS256"}, claims("tenant-r"), hs256(secret))
    futures = [ops.Submit.future(v1.SubmitRequest(kind="demo.echo"), timeout=RPC_TIMEOUT,
                                           metadata=md(token_r)) for _ in range(60)]
    a_futures = [ops.Submit.future(v1.SubmitRequest(kind="demo.echo"), timeout=RPC_TIMEOUT,
                                   metadata=md(token_a)) for _ in range(5)]
    limited = ok = 0
    for f in futures:
        try:
            f.result()
            ok += 1
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, "burst: %s" % e.code())
            retry = dict(e.initial_metadata() or ()).get("retry-after")
            check(retry is not None and int(retry) >= 1, "no retry-after on %s" % e.details())
            limited += 1
    check(limited > 0 and ok >= 20, "burst of 60: %d ok, %d limited" % (ok, limited))
    for f in a_futures:
        f.result()  # another tenant is untouched
    say("# rate limit: %d of 60 over the limit got RESOURCE_EXHAUSTED + retry-after; "
        "tenant-a unaffected" % limited)


def main():
    return harness_main("auth_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
