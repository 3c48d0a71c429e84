#include "tools/bench/client.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace longrun::bench {

absl::StatusOr<std::unique_ptr<Clients>> Connect(const Options& o) {
  auto cl = std::make_unique<Clients>();
  auto channels = MakeChannels(o.server, o.channels, o.client);
  if (!channels.ok()) return channels.status();
  cl->channels = *std::move(channels);
  if (absl::Status s = ConnectAll(cl->channels, absl::Seconds(10)); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot reach ", o.server, ": ", s.message()));
  }
  for (const auto& ch : cl->channels) {
    cl->ops.push_back(longrun::v1::Operations::NewStub(ch));
    cl->health.push_back(grpc::health::v1::Health::NewStub(ch));
  }
  return cl;
}

std::string RunLabel(const Options& o, int run) { return absl::StrCat(o.run_id, "-", run + 1); }

longrun::v1::SubmitRequest SubmitTemplate(const std::string& kind, const std::string& input_json,
                                          const std::string& label) {
  longrun::v1::SubmitRequest req;
  req.set_kind(kind);
  (void)google::protobuf::util::JsonStringToMessage(input_json, req.mutable_input());
  (*req.mutable_labels())["bench_run"] = label;
  return req;
}

namespace {
std::chrono::system_clock::time_point Deadline(const Options& o) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(o.rpc_timeout);
}
}  // namespace

LoopStats SubmitMany(const Options& o, Clients& cl, int64_t n, int64_t c,
                     const longrun::v1::SubmitRequest& req, std::vector<std::string>* names,
                     const std::function<void(int64_t i, longrun::v1::SubmitRequest&)>& vary) {
  using Call = UnaryCall<longrun::v1::SubmitRequest, google::longrunning::Operation>;
  if (names != nullptr) names->assign(static_cast<size_t>(n), "");
  IssueFn issue = [&](int64_t i, Done done) {
    auto* call = new Call;
    call->req = req;
    if (vary) vary(i, call->req);
    call->ctx.set_deadline(Deadline(o));
    cl.op(i).async()->Submit(&call->ctx, &call->req, &call->resp,
                             [call, i, names, done = std::move(done)](grpc::Status s) {
                               if (s.ok() && names != nullptr) {
                                 (*names)[static_cast<size_t>(i)] = call->resp.name();
                               }
                               delete call;
                               done(s);
                             });
  };
  return RunClosedLoop(n, c, o.max_errors, issue);
}

LoopStats SubmitPaced(const Options& o, Clients& cl, int64_t n, int64_t c, double rate,
                      const longrun::v1::SubmitRequest& req, std::vector<std::string>* names) {
  if (rate <= 0) return SubmitMany(o, cl, n, c, req, names);
  using Call = UnaryCall<longrun::v1::SubmitRequest, google::longrunning::Operation>;
  if (names != nullptr) names->assign(static_cast<size_t>(n), "");
  LoopStats st;
  std::vector<int64_t> latency(static_cast<size_t>(n), -1);
  std::mutex mu;
  std::condition_variable cv;
  int64_t outstanding = 0;
  int64_t end_ns = 0;
  st.start_mono_ns = MonoNs();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t due = st.start_mono_ns + static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate);
    if (const int64_t now = MonoNs(); due > now) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return outstanding < c; });
      if (st.errors > o.max_errors) {
        st.aborted = true;
        break;
      }
      ++outstanding;
      ++st.issued;
    }
    auto* call = new Call;
    call->req = req;
    call->ctx.set_deadline(Deadline(o));
    const int64_t t0 = MonoNs();
    cl.op(i).async()->Submit(&call->ctx, &call->req, &call->resp, [&, call, i, t0](grpc::Status s) {
      const int64_t t1 = MonoNs();
      std::lock_guard<std::mutex> lock(mu);
      if (s.ok()) {
        latency[static_cast<size_t>(i)] = t1 - t0;
        if (names != nullptr) (*names)[static_cast<size_t>(i)] = call->resp.name();
      } else {
        ++st.errors;
        if (st.first_errors.size() < 5) {
          st.first_errors.push_back(StatusText(s));
          Log(absl::StrCat("RPC error (call ", i, "): ", StatusText(s)));
        }
      }
      delete call;
      end_ns = t1;
      --outstanding;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outstanding == 0; });
  st.end_mono_ns = end_ns;
  for (int64_t v : latency) {
    if (v >= 0) st.latency_ns.push_back(v);
  }
  st.ok = static_cast<int64_t>(st.latency_ns.size());
  return st;
}

int64_t CancelAll(const Options& o, Clients& cl, const std::vector<std::string>& names) {
  using Call = UnaryCall<longrun::v1::CancelOperationRequest, google::longrunning::Operation>;
  std::vector<std::string> live;
  for (const auto& n : names) {
    if (!n.empty()) live.push_back(n);
  }
  IssueFn issue = [&](int64_t i, Done done) {
    auto* call = new Call;
    call->req.set_name(live[static_cast<size_t>(i)]);
    call->ctx.set_deadline(Deadline(o));
    cl.op(i).async()->CancelOperation(&call->ctx, &call->req, &call->resp,
                                      [call, done = std::move(done)](grpc::Status s) {
                                        delete call;
                                        done(s);
                                      });
  };
  const int64_t t0 = MonoNs();
  LoopStats st = RunClosedLoop(static_cast<int64_t>(live.size()), 64, static_cast<int64_t>(live.size()), issue);
  Log(absl::StrCat("clean-up: cancelled ", st.ok, " queued operations in ",
                   absl::FormatDuration(absl::Nanoseconds(MonoNs() - t0)),
                   st.errors ? absl::StrCat(" (", st.errors, " errors)") : ""));
  return st.errors;
}

void AddLoop(RunResult& r, const LoopStats& st, const std::string& rps_key,
             const std::string& latency_prefix) {
  const double secs = st.seconds();
  r.Add(rps_key, secs > 0 ? static_cast<double>(st.ok) / secs : 0, 0);
  std::vector<int64_t> lat = st.latency_ns;
  r.AddLatencies(latency_prefix, lat);
  r.errors += st.errors;
  for (const auto& e : st.first_errors) {
    if (r.error_samples.size() < 5) r.error_samples.push_back(e);
  }
  if (st.aborted && r.failure.empty()) {
    r.failure = absl::StrCat(st.errors, " RPC errors, more than --max-errors; stopped after ",
                             st.issued, " calls");
  }
}

void AddCommonParams(const Options& o, Params& p) {
  p.Add("server", o.server);
  p.Add("channels", o.channels);
}

void AddRpcParams(const Options& o, Params& p, const std::string& rpc) {
  AddCommonParams(o, p);
  p.Add("rpc", rpc);
  p.Add("n", o.n);
  p.Add("c", o.c);
  p.Add("warmup", o.warmup);
}

RunResult Fail(RunResult& r, const absl::Status& s) {
  if (r.failure.empty()) r.failure = std::string(s.message());
  return r;
}

}  // namespace longrun::bench
