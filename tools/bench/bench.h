// Shared declarations of longrun-bench: options, the modes, and small helpers.
#ifndef LONGRUN_TOOLS_BENCH_BENCH_H_
#define LONGRUN_TOOLS_BENCH_BENCH_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/rpc/tls.h"
#include "tools/bench/report.h"

namespace longrun::bench {

// Every flag. -1 means "the mode's default" (resolved in main.cc before a mode runs).
struct Options {
  std::string mode;
  std::string server = "127.0.0.1:50051";
  std::string http_addr;     // http-submit: HOST:PORT of longrun-api --http-listen
  std::string database_url;
  int64_t channels = 4;
  bool json = false;
  int64_t n = -1;            // calls / jobs / pickups
  int64_t c = -1;            // outstanding calls (closed loop)
  int64_t warmup = 100;      // unmeasured calls first (baseline, submit, poll)
  int64_t ops = 1000;        // poll: operations polled round-robin
  int64_t workers = -1;      // e2e/drain: 2; pickup/watch: 1; 0: use already running workers
  int64_t worker_concurrency = -1;  // e2e/drain: 32; pickup: 8; watch: max(8, watch ops)
  std::string worker_bin;    // default: longrun-worker next to this binary
  std::string worker_flags;  // extra flags for every worker started, space-separated
  longrun::rpc::ClientConfig client;  // TLS and the token
  absl::Duration worker_poll_interval = absl::Seconds(1);
  int64_t watchers = 1000;
  int64_t watch_ops = -1;    // default max(1, watchers / 10)
  int64_t sleep_seconds = -1;  // watch: demo.sleep seconds, default 5 + watchers / 1000
  int64_t watch_spread_s = 5;  // watch: job ends spread evenly over this many seconds
  int64_t rate = -1;         // event-lag, webhooks: Submit calls per second (0: closed loop)
  int64_t webhook_concurrency = 16;          // webhooks: the worker's --webhook-concurrency
  int64_t webhook_concurrency_per_host = 4;  // ...and --webhook-concurrency-per-host
  std::string api_bin;       // webhooks: default longrun-api next to this binary
  std::string api_flags;     // webhooks: extra flags for the api it starts
  pid_t api_pid = 0;         // for CPU and RSS figures; required by watch
  pid_t pg_pid = 0;          // PostgreSQL postmaster, for CPU figures
  int64_t runs = 1;
  int64_t max_errors = 10;   // RPC errors tolerated per run before it fails
  absl::Duration rpc_timeout = absl::Seconds(30);
  absl::Duration timeout = absl::Minutes(10);  // bound on each waiting phase
  bool cleanup = true;       // submit/poll: cancel the operations they queued
  std::string log_dir;       // worker logs; default /tmp/longrun-bench-<run id>
  std::string run_id;        // random, set by main.cc
};

// One run of a mode. `run` counts from 0. The mode adds its parameters to `params` on run 0.
RunResult RunBaseline(const Options& o, int run, Params& params);
RunResult RunSubmit(const Options& o, int run, Params& params);
RunResult RunPoll(const Options& o, int run, Params& params);
RunResult RunHttpSubmit(const Options& o, int run, Params& params);
RunResult RunE2e(const Options& o, int run, Params& params);
RunResult RunDrain(const Options& o, int run, Params& params);
RunResult RunRemoteDrain(const Options& o, int run, Params& params);
RunResult RunIdleLeases(const Options& o, int run, Params& params);
RunResult RunPickup(const Options& o, int run, Params& params);
RunResult RunWatch(const Options& o, int run, Params& params);
RunResult RunWebhooks(const Options& o, int run, Params& params);
RunResult RunEventLag(const Options& o, int run, Params& params);
RunResult RunMetricsCost(const Options& o, int run, Params& params);

// Progress lines on stderr ("longrun-bench: ...").
void Log(const std::string& msg);

// Nanoseconds on the monotonic clock, and on the wall clock (comparable with server
// timestamps on the same machine).
int64_t MonoNs();
int64_t WallNs();

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_BENCH_H_
