#!/usr/bin/python3
"""TLS and mTLS on longrun-api, with certificates rotated on disk.

Certificates are made in the test with the openssl command: two CAs, server certificates for
"localhost" from each, and a client certificate from the first.
  1. --tls-client-auth=require: a client with the CA and its certificate calls Submit and
     GetOperation; a client without a certificate, and a plaintext client, are refused;
     longrunctl --tls-ca-file/--tls-cert-file/--tls-key-file works too, and so does a remote
     worker (examples/python-worker) with the same flags.
  2. The server's certificate and key files are replaced by ones from the second CA (as
     cert-manager or a Secret mount does): within --tls-reload-interval a client that trusts
     only the second CA connects, without a restart, and the process is the same one.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 tls_test.py
"""

import os
import subprocess
import sys
import time

import grpc

from harness import RPC_TIMEOUT, check, main as harness_main, say

STUBS = ("status_pb2", "v1_pb2", "v1_grpc")


def openssl(*args):
    result = subprocess.run(["openssl"] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=60)
    check(result.returncode == 0, "openssl %s failed: %s" % (" ".join(args), result.stdout))


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + name)
    return key, crt


def make_leaf(d, name, ca, san):
    key, csr, crt = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".crt"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n" % san)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
    return key, crt


def read(path):
    with open(path, "rb") as f:
        return f.read()


def replace_file(src, dst):
    """Writes src's bytes to dst atomically (a rename, as a Secret mount's symlink swap)."""
    tmp = dst + ".new"
    with open(tmp, "wb") as f:
        f.write(read(src))
    os.replace(tmp, dst)


def reachable(addr, credentials, stubs, timeout=5):
    """True if a GetOperation gets an answer (NOT_FOUND) over a fresh channel."""
    if credentials is None:
        channel = grpc.insecure_channel(addr, options=(("grpc.use_local_subchannel_pool", 1),))
    else:
        channel = grpc.secure_channel(addr, credentials,
                                      options=(("grpc.ssl_target_name_override", "localhost"),
                                               ("grpc.use_local_subchannel_pool", 1)))
    try:
        stubs.v1_grpc.OperationsStub(channel).GetOperation(
            stubs.v1_pb2.GetOperationRequest(name="operations/00000000-0000-0000-0000-000000000000"),
            timeout=timeout)
        return True
    except grpc.RpcError as e:
        return e.code() == grpc.StatusCode.NOT_FOUND
    finally:
        channel.close()


def run_test(env, stubs):
    v1 = stubs.v1_pb2
    d = os.path.join(env.tmp, "pki")
    os.makedirs(d)
    ca1, ca2 = make_ca(d, "ca-one"), make_ca(d, "ca-two")
    server1 = make_leaf(d, "server-one", ca1, "DNS:localhost,IP:127.0.0.1")
    server2 = make_leaf(d, "server-two", ca2, "DNS:localhost,IP:127.0.0.1")
    client = make_leaf(d, "client", ca1, "DNS:client")
    # The files the api watches (as a Secret mount would hold them).
    live_key, live_crt = os.path.join(d, "tls.key"), os.path.join(d, "tls.crt")
    replace_file(server1[0], live_key)
    replace_file(server1[1], live_crt)

    with_cert = grpc.ssl_channel_credentials(root_certificates=read(ca1[1]),
                                             private_key=read(client[0]),
                                             certificate_chain=read(client[1]))
    channel, addr = env.start_stack(
        credentials=with_cert,
        api_args=["--tls-cert-file=" + live_crt, "--tls-key-file=" + live_key,
                  "--tls-client-ca-file=" + ca1[1], "--tls-client-auth=require",
                  "--tls-reload-interval=1s"])
    api_pid = env.procs[0][1].pid
    ops = stubs.v1_grpc.OperationsStub(channel)
    request = v1.SubmitRequest(kind="demo.echo")
    request.input.update({"over": "mtls"})
    name = ops.Submit(request, timeout=RPC_TIMEOUT).name
    env.wait_done(ops, v1.GetOperationRequest(name=name), seconds=30)
    say("# mTLS: Submit and GetOperation work with a client certificate")

    no_cert = grpc.ssl_channel_credentials(root_certificates=read(ca1[1]))
    check(not reachable(addr, no_cert, stubs), "a client without a certificate was served")
    check(not reachable(addr, None, stubs), "a plaintext client was served")
    say("# refused: a client without a certificate, and plaintext")

    ctl = subprocess.run([env.binary("longrunctl"), "--server=" + addr, "get", name,
                          "--tls-ca-file=" + ca1[1], "--tls-cert-file=" + client[1],
                          "--tls-key-file=" + client[0], "--tls-server-name=localhost"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    check(ctl.returncode == 0 and '"done":true' in ctl.stdout.replace(" ", ""),
          "longrunctl over mTLS: exit %d: %s" % (ctl.returncode, ctl.stdout))
    say("# longrunctl --tls-ca-file/--tls-cert-file/--tls-key-file works")

    # A remote worker (examples/python-worker) over mTLS: longrun.v1.Workers behind TLS too.
    env.start_python_worker(addr, extra=["--tls-ca-file=" + ca1[1], "--tls-cert-file=" + client[1],
                                         "--tls-key-file=" + client[0],
                                         "--tls-server-name=localhost"])
    request = v1.SubmitRequest(kind="example.wordcount")
    request.input.update({"text": "two words"})
    counted = ops.Submit(request, timeout=RPC_TIMEOUT).name
    op = env.wait_done(ops, v1.GetOperationRequest(name=counted))
    check(op.HasField("response"), "the remote worker's job failed: %s" % op.error.message)
    say("# a remote worker leased and completed a job over mTLS")

    # Rotation: the server's files now hold a certificate from the second CA.
    trusts_two = grpc.ssl_channel_credentials(root_certificates=read(ca2[1]),
                                              private_key=read(client[0]),
                                              certificate_chain=read(client[1]))
    check(not reachable(addr, trusts_two, stubs), "served a certificate from ca-two too early")
    replace_file(server2[0], live_key)
    replace_file(server2[1], live_crt)
    deadline = time.monotonic() + 30
    while not reachable(addr, trusts_two, stubs, timeout=2):
        check(time.monotonic() < deadline, "the rotated certificate was not picked up in 30s")
        time.sleep(0.2)
    check(env.procs[0][1].pid == api_pid and env.procs[0][1].poll() is None,
          "the api restarted")
    check(not reachable(addr, with_cert, stubs), "still serving the old certificate")
    say("# rotated on disk: the new certificate is served by the same process")


def main():
    return harness_main("tls_test", __doc__.splitlines()[0], run_test, STUBS)


if __name__ == "__main__":
    sys.exit(main())
