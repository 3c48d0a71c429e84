#!/usr/bin/python3
"""End-to-end test of longrun that plays the role of grpcurl against the real binaries.

It starts longrun-api and longrun-worker on a fresh PostgreSQL database and talks to the
API the way grpcurl would: it discovers services and message types through server
reflection only, builds a descriptor pool from what the server sends, and uses that pool
to write requests from JSON and print responses (including the Any payloads) as JSON.
It also drives the API with stubs generated at test time to check results precisely.

Uses only Debian's python3-grpcio / python3-grpc-tools / python3-protobuf. Run with

    [LONGRUN_TEST_PG_DIR=DIR] [LONGRUN_BIN_DIR=BIN] /usr/bin/python3 grpcurl_like_test.py [--repo-root=REPO]

LONGRUN_TEST_PG_DIR names a cluster started with `tools/dev/pg.sh start DIR`; without it
the test starts (and stops) a private cluster of its own. LONGRUN_BIN_DIR defaults to
REPO/build/bin; REPO defaults to three directories above this file. Exits 0 on success.
"""

import queue
import sys
import time
import uuid

from harness import RPC_TIMEOUT, check, main as harness_main, say

EXPECTED_SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# ---------------------------------------------------------------------------------------
# A grpcurl-like reflection client.
# ---------------------------------------------------------------------------------------

class ReflectionStream:
    """One ServerReflectionInfo stream, used request by request. grpcurl opens one such
    stream per invocation and sends all its lookups on it."""

    def __init__(self, channel, stubs):
        self.pb = stubs.refl_pb2
        self.requests = queue.Queue()
        stub = stubs.refl_grpc.ServerReflectionStub(channel)
        self.responses = stub.ServerReflectionInfo(self._request_iter(), timeout=60)

    def _request_iter(self):
        while True:
            request = self.requests.get()
            if request is None:
                return
            yield request

    def ask(self, **kwargs):
        self.requests.put(self.pb.ServerReflectionRequest(**kwargs))
        return next(self.responses)

    def close(self):
        self.requests.put(None)
        for _ in self.responses:  # drain to the end of the stream
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def list_services(self):
        response = self.ask(list_services="")
        check(response.WhichOneof("message_response") == "list_services_response",
              "list_services answered %s" % response)
        return [s.name for s in response.list_services_response.service]

    def files_for(self, **kwargs):
        from google.protobuf import descriptor_pb2
        response = self.ask(**kwargs)
        kind = response.WhichOneof("message_response")
        if kind == "error_response":
            raise LookupError("reflection error %d: %s" % (response.error_response.error_code,
                                                           response.error_response.error_message))
        check(kind == "file_descriptor_response", "%s answered %s" % (kwargs, kind))
        files = []
        for raw in response.file_descriptor_response.file_descriptor_proto:
            fdp = descriptor_pb2.FileDescriptorProto()
            fdp.ParseFromString(raw)
            files.append(fdp)
        check(files, "%s answered no files" % kwargs)
        return files


def defines(fdp, symbol):
    """Whether the FileDescriptorProto itself declares the fully qualified symbol."""
    prefix = fdp.package + "." if fdp.package else ""
    names = set()

    def messages(msgs, scope):
        for m in msgs:
            names.add(scope + m.name)
            names.update(scope + m.name + "." + e.name for e in m.enum_type)
            messages(m.nested_type, scope + m.name + ".")

    messages(fdp.message_type, prefix)
    names.update(prefix + e.name for e in fdp.enum_type)
    names.update(prefix + s.name for s in fdp.service)
    return symbol in names


class ReflectedTypes:
    """What grpcurl knows about a server: FileDescriptorProtos fetched by reflection."""

    def __init__(self, channel, stubs):
        self.channel = channel
        self.stubs = stubs
        self.files = {}          # name -> FileDescriptorProto
        self.by_filename = []    # dependencies fetched with file_by_filename

    def _add(self, fdps):
        for fdp in fdps:
            self.files.setdefault(fdp.name, fdp)

    def resolve_symbol(self, symbol):
        """Like one grpcurl invocation: a new stream, file_containing_symbol, then any
        missing imports by file_by_filename. Returns the name of the defining file."""
        with ReflectionStream(self.channel, self.stubs) as stream:
            fdps = stream.files_for(file_containing_symbol=symbol)
            # The first file is the answer; the rest are its (transitive) imports.
            check(defines(fdps[0], symbol), "file_containing_symbol %s answered %s, which "
                  "does not define it" % (symbol, [f.name for f in fdps]))
            self._add(fdps)
            self._complete(stream)
        return fdps[0].name

    def _complete(self, stream):
        # Like grpcurl (protoreflect's grpcreflect client): any import not yet known is
        # fetched with file_by_filename until the set of files is closed.
        while True:
            missing = sorted({dep for fdp in self.files.values() for dep in fdp.dependency
                              if dep not in self.files})
            if not missing:
                return
            for name in missing:
                self.by_filename.append(name)
                fdps = stream.files_for(file_by_filename=name)
                check(fdps[0].name == name, "file_by_filename %s answered %s"
                      % (name, [f.name for f in fdps]))
                self._add(fdps)

    def pool(self, exclude=()):
        """A fresh DescriptorPool holding the reflected files in dependency order."""
        from google.protobuf import descriptor_pool
        pool = descriptor_pool.DescriptorPool()
        added = set()

        def add(name):
            if name in added or name in exclude:
                return
            fdp = self.files[name]
            for dep in fdp.dependency:
                add(dep)
            pool.Add(fdp)
            added.add(name)

        for name in sorted(self.files):
            add(name)
        return pool


def probe_stale_reflection_responses(channel, stubs):
    """Several lookups on one stream, as `grpcurl describe A B` does. Returns a description
    of the problem, or None when every answer starts with the file asked for."""
    with ReflectionStream(channel, stubs) as stream:
        problems = []
        for symbol, filename in (("google.protobuf.Struct", "google/protobuf/struct.proto"),
                                 ("google.rpc.Status", "google/rpc/status.proto")):
            names = [f.name for f in stream.files_for(file_containing_symbol=symbol)]
            if names[0] != filename:
                problems.append("file_containing_symbol %s answered %s" % (symbol, names))
        return "; ".join(problems) or None


def message_class(pool, full_name):
    from google.protobuf import message_factory
    return message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName(full_name))


def identity(b):
    return b


# ---------------------------------------------------------------------------------------
# The test.
# ---------------------------------------------------------------------------------------

def run_test(env, stubs):
    import grpc
    from google.protobuf import json_format, struct_pb2

    v1, glro, health_pb2 = stubs.v1_pb2, stubs.glro_pb2, stubs.health_pb2

    channel, addr = env.start_stack(worker_concurrency=2)
    grpcurl = "$ grpcurl -plaintext"

    # --- reflection: list ---------------------------------------------------------------
    say()
    say("%s %s list" % (grpcurl, addr))
    with ReflectionStream(channel, stubs) as stream:
        services = stream.list_services()
    for s in sorted(services):
        say(s)
    for want in ("longrun.v1.Operations", "google.longrunning.Operations",
                 "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"):
        check(want in services, "reflection list lacks %s: %s" % (want, services))

    # --- reflection: resolve the services and the types packed in Any ------------------
    types = ReflectedTypes(channel, stubs)
    say()
    for symbol in ("longrun.v1.Operations", "google.longrunning.Operations",
                   "longrun.v1.OperationMetadata", "google.protobuf.Struct", "google.rpc.Status"):
        filename = types.resolve_symbol(symbol)
        say("# file_containing_symbol %s -> %s" % (symbol, filename))
    expected_files = {"longrun/v1/operations.proto": "longrun.v1.OperationMetadata",
                      "google/protobuf/struct.proto": "google.protobuf.Struct",
                      "google/rpc/status.proto": "google.rpc.Status"}
    for filename, symbol in expected_files.items():
        check(filename in types.files, "reflection did not provide %s" % filename)
    say("# reflected files (%d): %s" % (len(types.files), ", ".join(sorted(types.files))))
    say("# fetched by file_by_filename: %s" % (", ".join(types.by_filename) or "(none needed)"))
    # file_by_filename works on its own too, and unknown symbols get an error_response.
    with ReflectionStream(channel, stubs) as stream:
        names = [f.name for f in stream.files_for(file_by_filename="google/rpc/status.proto")]
        check(names[0] == "google/rpc/status.proto", "file_by_filename answered %s" % names)
        say("# file_by_filename google/rpc/status.proto -> %s" % ", ".join(names))
    with ReflectionStream(channel, stubs) as stream:
        try:
            stream.files_for(file_containing_symbol="longrun.v1.NoSuchThing")
            raise AssertionError("unknown symbol resolved")
        except LookupError as e:
            say("# file_containing_symbol longrun.v1.NoSuchThing -> %s" % e)
            check("error 5:" in str(e), "unknown symbol: want NOT_FOUND (5), got %s" % e)
    stale = probe_stale_reflection_responses(channel, stubs)
    if stale:
        say("# NOTE (server defect, not failed on): several lookups on one reflection stream "
            "get stale files from earlier answers (gRPC C++ reuses the response message; "
            "grpc/grpc#18009), so `grpcurl describe A B` can fail: " + stale)
    else:
        say("# several lookups on one reflection stream: answers are correct")

    pool = types.pool()
    for symbol in expected_files.values():
        pool.FindMessageTypeByName(symbol)  # raises KeyError if missing
    service = pool.FindServiceByName("longrun.v1.Operations")
    say()
    say("%s %s describe longrun.v1.Operations" % (grpcurl, addr))
    say("service Operations {")
    for m in service.methods:
        say("  rpc %s ( %s%s ) returns ( %s%s );" % (
            m.name, "stream " if m.client_streaming else "", "." + m.input_type.full_name,
            "stream " if m.server_streaming else "", "." + m.output_type.full_name))
    say("}")

    # --- health ---------------------------------------------------------------------------
    say()
    say("%s -d '{\"service\": \"\"}' %s grpc.health.v1.Health/Check" % (grpcurl, addr))
    hstub = stubs.health_grpc.HealthStub(channel)
    hresp = hstub.Check(health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
    say(json_format.MessageToJson(hresp))
    check(hresp.status == health_pb2.HealthCheckResponse.SERVING,
          "health status %s" % health_pb2.HealthCheckResponse.ServingStatus.Name(hresp.status))

    # --- grpcurl-style Submit: request from JSON, response printed as JSON, using only the
    # reflected pool ---------------------------------------------------------------------
    submit_json = '{"kind": "demo.sha256", "input": {"text": "abc", "repeat": 1}}'
    DynSubmitRequest = message_class(pool, "longrun.v1.SubmitRequest")
    DynOperation = message_class(pool, "google.longrunning.Operation")
    dyn_request = json_format.Parse(submit_json, DynSubmitRequest(), descriptor_pool=pool)
    raw_submit = channel.unary_unary("/longrun.v1.Operations/Submit",
                                     request_serializer=identity,
                                     response_deserializer=identity)
    say()
    say("%s -d '%s' %s longrun.v1.Operations/Submit" % (grpcurl, submit_json, addr))
    started = time.monotonic()
    raw, call = raw_submit.with_call(dyn_request.SerializeToString(), timeout=RPC_TIMEOUT)
    submit_seconds = time.monotonic() - started
    dyn_op = DynOperation.FromString(raw)
    op_json = json_format.MessageToJson(dyn_op, descriptor_pool=pool)
    say(op_json)
    check('"@type": "type.googleapis.com/longrun.v1.OperationMetadata"' in op_json,
          "JSON lacks the OperationMetadata @type")
    check('"state": "QUEUED"' in op_json, "JSON lacks state QUEUED")
    check(dyn_op.metadata.type_url == "type.googleapis.com/longrun.v1.OperationMetadata",
          "metadata type_url %r" % dyn_op.metadata.type_url)
    # Negative control: without the reflected longrun/v1 file, the Any cannot be printed,
    # so the output above really came from the reflected descriptors.
    partial_pool = types.pool(exclude={"longrun/v1/operations.proto"})
    partial_op = message_class(partial_pool, "google.longrunning.Operation").FromString(raw)
    try:
        json_format.MessageToJson(partial_op, descriptor_pool=partial_pool)
        raise AssertionError("Any printed without the OperationMetadata descriptor")
    except TypeError:
        pass
    retry_after = [v for k, v in call.initial_metadata() if k == "retry-after"]
    say("# submit took %.3fs; retry-after header: %s" % (submit_seconds, retry_after or "absent"))

    # --- typed Submit with generated stubs ---------------------------------------------
    v1_stub = stubs.v1_grpc.OperationsStub(channel)
    glro_stub = stubs.glro_grpc.OperationsStub(channel)
    request = v1.SubmitRequest(kind="demo.sha256")
    request.input.update({"text": "abc", "repeat": 1})
    say()
    say("# typed Submit (generated stubs): %s" % json_format.MessageToJson(request, indent=None))
    started = time.monotonic()
    op = v1_stub.Submit(request, timeout=RPC_TIMEOUT)
    elapsed = time.monotonic() - started
    meta = v1.OperationMetadata()
    check(op.metadata.Unpack(meta), "metadata is not OperationMetadata: %s" % op.metadata.type_url)
    say("# -> %s done=%s state=%s in %.3fs" % (op.name, op.done,
                                                v1.OperationMetadata.State.Name(meta.state), elapsed))
    check(not op.done, "Submit returned a done operation")
    check(meta.state == v1.OperationMetadata.QUEUED,
          "state %s, want QUEUED" % v1.OperationMetadata.State.Name(meta.state))
    check(meta.kind == "demo.sha256", "metadata.kind %r" % meta.kind)
    check(elapsed < 5.0, "Submit took %.2fs" % elapsed)
    check(op.name.startswith("operations/"), "operation name %r" % op.name)
    uuid.UUID(op.name[len("operations/"):])  # raises if not a UUID

    # --- poll both services until done --------------------------------------------------
    say()
    say("%s -d '{\"name\": \"%s\"}' %s google.longrunning.Operations/GetOperation   (polling)"
        % (grpcurl, op.name, addr))
    deadline = time.monotonic() + 30
    polls = 0
    while True:
        env.check_alive()
        g = glro_stub.GetOperation(glro.GetOperationRequest(name=op.name), timeout=RPC_TIMEOUT)
        o = v1_stub.GetOperation(v1.GetOperationRequest(name=op.name), timeout=RPC_TIMEOUT)
        polls += 1
        if g.done and o.done:
            break
        check(time.monotonic() < deadline, "operation %s not done after 30s" % op.name)
        time.sleep(0.2)
    say(json_format.MessageToJson(g))
    say("# done after %d polls of each service" % polls)
    for label, done_op in (("google.longrunning", g), ("longrun.v1", o)):
        check(done_op.name == op.name, "%s name %r" % (label, done_op.name))
        check(done_op.WhichOneof("result") == "response",
              "%s result is %s: %s" % (label, done_op.WhichOneof("result"), done_op.error))
        check(done_op.response.type_url == "type.googleapis.com/google.protobuf.Struct",
              "%s response type_url %r" % (label, done_op.response.type_url))
        result = struct_pb2.Struct()
        check(done_op.response.Unpack(result), "%s response does not unpack" % label)
        check(result["sha256"] == EXPECTED_SHA256_ABC,
              "%s sha256 %r" % (label, result["sha256"] if "sha256" in result else None))
        done_meta = v1.OperationMetadata()
        check(done_op.metadata.Unpack(done_meta), "%s metadata does not unpack" % label)
        check(done_meta.state == v1.OperationMetadata.SUCCEEDED,
              "%s state %s" % (label, v1.OperationMetadata.State.Name(done_meta.state)))
    check(g.SerializeToString(deterministic=True) == o.SerializeToString(deterministic=True),
          "the two services disagree about the done operation")

    # The grpcurl-style operation finishes too; print it through the reflected pool.
    get_raw = channel.unary_unary("/google.longrunning.Operations/GetOperation",
                                  request_serializer=identity, response_deserializer=identity)
    DynGetRequest = message_class(pool, "google.longrunning.GetOperationRequest")
    deadline = time.monotonic() + 30
    while True:
        dyn_done = DynOperation.FromString(get_raw(
            DynGetRequest(name=dyn_op.name).SerializeToString(), timeout=RPC_TIMEOUT))
        if dyn_done.done:
            break
        check(time.monotonic() < deadline, "operation %s not done after 30s" % dyn_op.name)
        time.sleep(0.2)
    done_json = json_format.MessageToJson(dyn_done, descriptor_pool=pool)
    say()
    say("%s -d '{\"name\": \"%s\"}' %s google.longrunning.Operations/GetOperation"
        % (grpcurl, dyn_op.name, addr))
    say(done_json)
    check('"@type": "type.googleapis.com/google.protobuf.Struct"' in done_json,
          "done JSON lacks the Struct @type")
    check(EXPECTED_SHA256_ABC in done_json, "done JSON lacks the digest")

    # --- errors ----------------------------------------------------------------------------
    say()

    def expect_error(label, fn, code, must_mention=None):
        try:
            fn()
        except grpc.RpcError as e:
            say("%s\nERROR:\n  Code: %s\n  Message: %s" % (label, e.code().name, e.details()))
            check(e.code() == code, "%s: got %s, want %s" % (label, e.code(), code))
            if must_mention:
                check(must_mention in (e.details() or ""),
                      "%s: message %r does not mention %r" % (label, e.details(), must_mention))
            return
        raise AssertionError("%s succeeded; want %s" % (label, code))

    for bad in ("not-an-operation", "operations/not-a-uuid"):
        expect_error("%s -d '{\"name\": \"%s\"}' %s longrun.v1.Operations/GetOperation"
                     % (grpcurl, bad, addr),
                     lambda: v1_stub.GetOperation(v1.GetOperationRequest(name=bad),
                                                  timeout=RPC_TIMEOUT),
                     grpc.StatusCode.INVALID_ARGUMENT)
        expect_error("%s -d '{\"name\": \"%s\"}' %s google.longrunning.Operations/GetOperation"
                     % (grpcurl, bad, addr),
                     lambda: glro_stub.GetOperation(glro.GetOperationRequest(name=bad),
                                                    timeout=RPC_TIMEOUT),
                     grpc.StatusCode.INVALID_ARGUMENT)
    missing = "operations/%s" % uuid.uuid4()
    expect_error("%s -d '{\"name\": \"%s\"}' %s longrun.v1.Operations/GetOperation"
                 % (grpcurl, missing, addr),
                 lambda: v1_stub.GetOperation(v1.GetOperationRequest(name=missing),
                                              timeout=RPC_TIMEOUT),
                 grpc.StatusCode.NOT_FOUND)
    expect_error("%s -d '{\"name\": \"%s\"}' %s google.longrunning.Operations/GetOperation"
                 % (grpcurl, missing, addr),
                 lambda: glro_stub.GetOperation(glro.GetOperationRequest(name=missing),
                                                timeout=RPC_TIMEOUT),
                 grpc.StatusCode.NOT_FOUND)
    expect_error("%s -d '{\"kind\": \"\"}' %s longrun.v1.Operations/Submit" % (grpcurl, addr),
                 lambda: v1_stub.Submit(v1.SubmitRequest(kind=""), timeout=RPC_TIMEOUT),
                 grpc.StatusCode.INVALID_ARGUMENT, must_mention="kind")
    env.check_alive()


def main():
    return harness_main("grpcurl_like_test", __doc__.splitlines()[0], run_test)


if __name__ == "__main__":
    sys.exit(main())
