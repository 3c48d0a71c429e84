// baseline, submit, poll: closed-loop request rates against the api alone (no workers).
#include <chrono>

#include "absl/strings/str_cat.h"
#include "tools/bench/client.h"
#include "tools/bench/procs.h"

namespace longrun::bench {

namespace {

std::chrono::system_clock::time_point Deadline(const Options& o) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(o.rpc_timeout);
}

// Warms up with loop(o.warmup, true), then measures loop(o.n, false) with CPU accounting,
// adding rps, latencies and CPU figures to r. loop(n, warmup) runs n calls at o.c
// outstanding and returns their LoopStats.
template <typename Loop>
void MeasureLoop(const Options& o, const Loop& loop, RunResult& r) {
  (void)loop(o.warmup, true);
  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin();
  LoopStats st = loop(o.n, false);
  cpu.End();
  AddLoop(r, st, "rps", "lat");
  cpu.Report(r);
}

// MeasureLoop over RunClosedLoop(issue); errors during the warmup do not count.
void MeasureClosedLoop(const Options& o, const IssueFn& issue, RunResult& r) {
  MeasureLoop(
      o,
      [&](int64_t n, bool warmup) {
        return RunClosedLoop(n, o.c, warmup ? n : o.max_errors, issue);
      },
      r);
}

}  // namespace

RunResult RunBaseline(const Options& o, int run, Params& params) {
  if (run == 0) {
    AddRpcParams(o, params, "grpc.health.v1.Health/Check");
  }
  RunResult r;
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  using Call = UnaryCall<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>;
  IssueFn issue = [&](int64_t i, Done done) {
    auto* call = new Call;
    call->ctx.set_deadline(Deadline(o));
    (*cl)->health[static_cast<size_t>(i) % (*cl)->health.size()]->async()->Check(
        &call->ctx, &call->req, &call->resp, [call, done = std::move(done)](grpc::Status s) {
          if (s.ok() && call->resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
            s = grpc::Status(grpc::StatusCode::UNAVAILABLE, "health: not SERVING");
          }
          delete call;
          done(s);
        });
  };
  MeasureClosedLoop(o, issue, r);
  return r;
}

RunResult RunSubmit(const Options& o, int run, Params& params) {
  if (run == 0) {
    AddRpcParams(o, params, "longrun.v1.Operations/Submit");
    params.Add("kind", "demo.echo");
    params.Add("input", kEchoInput);
    params.Add("cleanup", o.cleanup ? "cancel" : "none");
  }
  RunResult r;
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  const auto req = SubmitTemplate("demo.echo", kEchoInput, RunLabel(o, run));
  std::vector<std::string> warm_names, names;
  MeasureLoop(
      o,
      [&](int64_t n, bool warmup) {
        return SubmitMany(o, **cl, n, o.c, req, warmup ? &warm_names : &names);
      },
      r);
  if (o.cleanup) {
    names.insert(names.end(), warm_names.begin(), warm_names.end());
    (void)CancelAll(o, **cl, names);
  }
  return r;
}

RunResult RunPoll(const Options& o, int run, Params& params) {
  if (run == 0) {
    AddRpcParams(o, params, "longrun.v1.Operations/GetOperation");
    params.Add("ops", o.ops);
    params.Add("cleanup", o.cleanup ? "cancel" : "none");
  }
  RunResult r;
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  std::vector<std::string> names;
  LoopStats setup = SubmitMany(o, **cl, o.ops, o.c,
                               SubmitTemplate("demo.echo", kEchoInput, RunLabel(o, run)), &names);
  if (setup.errors > 0) {
    r.failure = absl::StrCat("submitting the ", o.ops, " operations to poll failed: ",
                             setup.first_errors.empty() ? "" : setup.first_errors[0]);
    return r;
  }
  Log(absl::StrCat("poll: submitted ", names.size(), " operations"));
  using Call = UnaryCall<longrun::v1::GetOperationRequest, google::longrunning::Operation>;
  IssueFn issue = [&](int64_t i, Done done) {
    auto* call = new Call;
    call->req.set_name(names[static_cast<size_t>(i) % names.size()]);
    call->ctx.set_deadline(Deadline(o));
    (*cl)->op(i).async()->GetOperation(&call->ctx, &call->req, &call->resp,
                                       [call, done = std::move(done)](grpc::Status s) {
                                         delete call;
                                         done(s);
                                       });
  };
  MeasureClosedLoop(o, issue, r);
  if (o.cleanup) (void)CancelAll(o, **cl, names);
  return r;
}

}  // namespace longrun::bench
