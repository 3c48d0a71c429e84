// metrics-cost: what counting costs per call and per job, in-process (no server): the
// calls the api's metrics interceptor and store observer make for one Submit, and those a
// worker's store observer makes for one job. Compared with a process's CPU per Submit or
// per job (cpu_*_cores / rate in the submit and drain modes) it gives the share of CPU the
// metrics take, a figure that does not move with the machine's noise the way throughput does.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "libs/metrics/metrics.h"
#include "tools/bench/bench.h"

namespace longrun::bench {
namespace {

template <typename Fn>
double NanosPerCall(int64_t n, Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) fn(i);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(n);
}

}  // namespace

RunResult RunMetricsCost(const Options& o, int run, Params& params) {
  if (run == 0) params.Add("n", o.n);
  metrics::Metrics m;
  RunResult r;
  // One Submit: the interceptor's start and end, and the store's new-operation count.
  r.Add("submit_path_ns", NanosPerCall(o.n, [&m](int64_t) {
          m.RpcStarted("unary", "/longrun.v1.Operations/Submit");
          m.OperationSubmitted("default", "demo.echo");
          m.RpcHandled("unary", "/longrun.v1.Operations/Submit", "OK", absl::Microseconds(800));
        }));
  // One job: its claim (pickup) and its end (outcome, run time).
  const store::JobTransition done{.queue = "default", .kind = "demo.echo",
                                  .state = core::State::kSucceeded,
                                  .run_time = absl::Microseconds(300)};
  r.Add("job_path_ns", NanosPerCall(o.n, [&m, &done](int64_t) {
          m.JobStarted("default", "demo.echo", absl::Milliseconds(2));
          m.JobEnded(done);
        }));
  // A scrape of what that left (rendering, not per call).
  r.Add("scrape_us", NanosPerCall(100, [&m](int64_t) { (void)m.Text(); }) / 1000);
  return r;
}

}  // namespace longrun::bench
