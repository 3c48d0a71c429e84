// longrun-bench: an async gRPC load generator for longrun (docs/BENCHMARKS.md).
//
//   longrun-bench MODE [flags]     MODE: baseline submit http-submit poll e2e drain remote-drain
//                                        idle-leases pickup watch webhooks event-lag metrics-cost
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/common/flags.h"
#include "libs/common/process.h"
#include "tools/bench/bench.h"
#include "tools/bench/procs.h"

namespace longrun::bench {

void Log(const std::string& msg) {
  std::cerr << "longrun-bench: " << msg << std::endl;
}

int64_t MonoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace longrun::bench

namespace {

using longrun::bench::Options;

constexpr char kUsage[] =
    "Usage: longrun-bench MODE [flags]\n"
    "\n"
    "A closed-loop load generator for longrun-api on gRPC's callback API: C calls\n"
    "outstanding over --channels separate HTTP/2 connections. Prints the parameters and\n"
    "a table of figures (one JSON object with --json). Every mode is bounded and stops by\n"
    "itself; the exit status is 1 if RPC errors exceed --max-errors or a run fails.\n"
    "\n"
    "Modes:\n"
    "  baseline  N grpc.health.v1.Health/Check calls: the gRPC ceiling of the same server.\n"
    "            (n 20000, c 64)\n"
    "  submit    N Submit(demo.echo) calls. (n 20000, c 64) The queued operations are\n"
    "            cancelled afterwards (unmeasured; --cleanup=false keeps them).\n"
    "  poll      Submits --ops operations, then N GetOperation calls round-robin over them.\n"
    "            (n 20000, c 64, ops 1000)\n"
    "  e2e       Starts --workers workers, submits N demo.echo jobs with C outstanding and\n"
    "            waits until all are done (database polled every 20ms). jobs/s and\n"
    "            submit->done latency (end_time - create_time, from the database).\n"
    "            (n 20000, c 64, workers 1 x concurrency 256; needs --database-url)\n"
    "  drain     Enqueues N jobs with no worker running, then starts the workers and times\n"
    "            until all are done (polled every 10ms). (n 20000, c 64, workers 1 x 256)\n"
    "  remote-drain  Like drain, but the jobs are leased and completed over longrun.v1.Workers\n"
    "            by --workers remote workers inside the bench (each on its own connection,\n"
    "            leasing up to --worker-concurrency jobs at a time and reporting a batch's\n"
    "            results in one CompleteJobs call). (n 20000, c 64, workers 2 x 256)\n"
    "  metrics-cost  In-process, no server: nanoseconds the metrics add per Submit and per\n"
    "            job (what the interceptor and the store observer record), and one scrape's\n"
    "            rendering. (n 1000000)\n"
    "  idle-leases  --watchers LeaseJobs long polls (wait 30 s) for a kind nobody submits,\n"
    "            held open for 10 s: the api's and PostgreSQL's CPU meanwhile (needs\n"
    "            --api-pid, --pg-pid). (watchers 1000)\n"
    "  pickup    One worker (concurrency 8); N times in sequence: Submit, WatchOperation,\n"
    "            until done. Submit->start (server clock), ->RUNNING seen, ->done seen.\n"
    "            (n 200)\n"
    "  watch     --watchers streams over --watch-ops demo.sleep jobs; the api's RSS per\n"
    "            open stream (needs --api-pid) and end_time->receipt of the final message.\n"
    "            Job i of M sleeps --sleep + i * --watch-spread / M seconds, so the ends\n"
    "            arrive at a steady rate (--watch-spread=0: all at once, a burst).\n"
    "            (watchers 1000, watch-ops watchers/10, sleep 5 + watchers/1000 s,\n"
    "            watch-spread 5 s, c = streams opening at once 256, one worker)\n"
    "  webhooks  Starts its own longrun-api and one worker with webhooks on (a fresh\n"
    "            whsec_ secret, http allowed, 127.0.0.0/8 allowed) and an HTTP/1.1 receiver in\n"
    "            the bench; submits N demo.echo jobs with a TERMINAL callback to it (closed loop,\n"
    "            or --rate per second) and waits for every callback. Deliveries/s (first to last\n"
    "            callback, and from the first Submit), end_time->callback received, duplicates\n"
    "            (same webhook-id twice), outbox row updates per post. (n 5000, c 64,\n"
    "            worker concurrency 256, --webhook-concurrency 16, --webhook-concurrency-per-host\n"
    "            4; needs --database-url)\n"
    "  event-lag  One WatchOperations consumer (filter: this run's label), then N demo.echo\n"
    "            jobs submitted at --rate per second (0: closed loop, c outstanding) and run by\n"
    "            a worker. For each operation's terminal event: receipt - metadata.update_time\n"
    "            (the committing transaction's now()); events/s. (n 20000, rate 2000, c 64,\n"
    "            workers 1 x 256)\n"
    "\n"
    "Modes that start workers run --worker-bin with --database-url, --poll-interval and\n"
    "--concurrency, stop them with SIGTERM (then SIGKILL) by PID, and label every job\n"
    "bench_run=<random id>-<run> so runs never mix.";

int Usage(const std::string& msg) {
  std::cerr << "longrun-bench: " << msg << "\nRun longrun-bench --help for usage.\n";
  return 2;
}

std::string RandomId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(getpid()));
  return absl::StrFormat("%08x", static_cast<uint32_t>(gen()));
}

}  // namespace

int main(int argc, char** argv) {
  longrun::ConfigureProcess();
  Options o;
  int64_t api_pid = 0, pg_pid = 0;
  longrun::FlagSet flags("longrun-bench", kUsage);
  flags.String("server", &o.server, "longrun-api address");
  flags.String("http-addr", &o.http_addr,
               "http-submit: HOST:PORT of the api's HTTP/JSON listener (--http-listen)");
  flags.String("database-url", &o.database_url,
               "PostgreSQL URL (e2e, drain: required; pickup, watch: for the worker)",
               "LONGRUN_DATABASE_URL");
  flags.Int("channels", &o.channels, "separate HTTP/2 connections; calls are spread over them");
  flags.Bool("json", &o.json, "print one JSON object instead of the table");
  flags.Int("n", &o.n, "calls / jobs / pickups (-1: the mode's default, see above)");
  flags.Int("c", &o.c,
            "calls outstanding (closed loop); watch: streams opening at once (-1: default)");
  flags.Int("warmup", &o.warmup, "baseline, submit, http-submit, poll: unmeasured calls first");
  flags.Int("ops", &o.ops, "poll: operations polled round-robin");
  flags.Int("workers", &o.workers,
            "worker processes to start (-1: 1; 0: none, use running workers)");
  flags.Int("worker-concurrency", &o.worker_concurrency,
            "--concurrency of each started worker (-1: 256 e2e/drain, 8 pickup, "
            "max(8, watch ops) watch)");
  flags.String("worker-bin", &o.worker_bin, "longrun-worker binary (default: next to this one)");
  longrun::rpc::AddClientFlags(flags, &o.client);
  flags.String("worker-flags", &o.worker_flags,
               "extra flags for every worker the bench starts, space-separated, e.g. "
               "\"--metrics-listen=127.0.0.1:0\"");
  flags.Duration("worker-poll-interval", &o.worker_poll_interval, "--poll-interval of workers");
  flags.Int("watchers", &o.watchers, "watch: streams (1..10000)");
  flags.Int("watch-ops", &o.watch_ops, "watch: jobs watched (-1: max(1, watchers/10))");
  flags.Int("sleep", &o.sleep_seconds, "watch: demo.sleep seconds (-1: 5 + watchers/1000)");
  flags.Int("watch-spread", &o.watch_spread_s,
            "watch: the jobs' ends are spread evenly over this many seconds after --sleep "
            "(0: all end together, a burst)");
  flags.Int("rate", &o.rate,
            "event-lag, webhooks: Submit calls per second, open loop with at most C outstanding "
            "(0: closed loop; -1: 2000 event-lag, 0 webhooks)");
  flags.Int("webhook-concurrency", &o.webhook_concurrency,
            "webhooks: the worker's --webhook-concurrency");
  flags.Int("webhook-concurrency-per-host", &o.webhook_concurrency_per_host,
            "webhooks: the worker's --webhook-concurrency-per-host (every post goes to one host)");
  flags.String("api-bin", &o.api_bin, "webhooks: longrun-api binary (default: next to this one)");
  flags.String("api-flags", &o.api_flags,
               "webhooks: extra flags for the api it starts, space-separated");
  flags.Int("api-pid", &api_pid, "PID of longrun-api: its CPU and RSS (required by watch)");
  flags.Int("pg-pid", &pg_pid, "PID of the PostgreSQL postmaster: CPU of the cluster");
  flags.Int("runs", &o.runs, "repeat the mode; print every run and the median");
  flags.Int("max-errors", &o.max_errors, "RPC errors tolerated per run");
  flags.Duration("rpc-timeout", &o.rpc_timeout, "deadline of each unary call");
  flags.Duration("timeout", &o.timeout, "bound on each waiting phase (jobs to finish, ...)");
  flags.Bool("cleanup", &o.cleanup, "submit, poll: cancel the operations left queued");
  flags.String("log-dir", &o.log_dir, "worker logs (default: /tmp/longrun-bench-RUNID)");
  auto args = flags.Parse(argc, argv);
  if (!args.ok()) return Usage(std::string(args.status().message()));
  if (flags.help_requested()) return 0;
  if (args->size() != 1) return Usage("expected exactly one MODE");
  o.mode = (*args)[0];
  o.api_pid = static_cast<pid_t>(api_pid);
  o.pg_pid = static_cast<pid_t>(pg_pid);
  o.run_id = RandomId();
  if (o.log_dir.empty()) o.log_dir = "/tmp/longrun-bench-" + o.run_id;
  if (o.worker_bin.empty()) o.worker_bin = longrun::bench::SelfDir() + "/longrun-worker";
  if (o.api_bin.empty()) o.api_bin = longrun::bench::SelfDir() + "/longrun-api";

  using Fn = longrun::bench::RunResult (*)(const Options&, int, longrun::bench::Params&);
  Fn fn = nullptr;
  const std::string& m = o.mode;
  const bool job_mode =
      m == "e2e" || m == "drain" || m == "remote-drain" || m == "webhooks" || m == "event-lag";
  if (m == "baseline") fn = longrun::bench::RunBaseline;
  if (m == "submit") fn = longrun::bench::RunSubmit;
  if (m == "http-submit") fn = longrun::bench::RunHttpSubmit;
  if (m == "poll") fn = longrun::bench::RunPoll;
  if (m == "e2e") fn = longrun::bench::RunE2e;
  if (m == "drain") fn = longrun::bench::RunDrain;
  if (m == "remote-drain") fn = longrun::bench::RunRemoteDrain;
  if (m == "idle-leases") fn = longrun::bench::RunIdleLeases;
  if (m == "pickup") fn = longrun::bench::RunPickup;
  if (m == "watch") fn = longrun::bench::RunWatch;
  if (m == "webhooks") fn = longrun::bench::RunWebhooks;
  if (m == "event-lag") fn = longrun::bench::RunEventLag;
  if (m == "metrics-cost") fn = longrun::bench::RunMetricsCost;
  if (fn == nullptr) return Usage("unknown mode \"" + m + "\"");

  if (o.n < 0) {
    o.n = m == "pickup" ? 200 : m == "metrics-cost" ? 1000000 : m == "webhooks" ? 5000 : 20000;
  }
  if (o.rate < 0) o.rate = m == "event-lag" ? 2000 : 0;
  if (o.c < 0) o.c = m == "watch" ? 256 : 64;
  // Job modes: one worker process with 256 slots. A worker claims at most its free slots per
  // round, so for short jobs its slots set the batch size (see docs/BENCHMARKS.md).
  // remote-drain: two remote workers leasing 256 at a time, so one's lease overlaps the
  // other's completions, as a native worker's two dispatchers overlap their rounds (one
  // client alone waits for its completions before it leases again: 17.8k jobs/s against
  // 30.3k with two, same session; docs/BENCHMARKS.md).
  if (o.workers < 0) o.workers = m == "remote-drain" ? 2 : 1;
  if (o.watch_ops < 0) o.watch_ops = std::max<int64_t>(1, o.watchers / 10);
  if (o.sleep_seconds < 0) o.sleep_seconds = 5 + o.watchers / 1000;
  if (o.worker_concurrency < 0) {
    o.worker_concurrency = job_mode ? 256 : m == "pickup" ? 8 : std::max<int64_t>(8, o.watch_ops);
  }
  if (o.channels < 1) return Usage("--channels must be at least 1");
  if (o.n < 1) return Usage("--n must be at least 1");
  if (o.c < 1) return Usage("--c must be at least 1");
  if (o.warmup < 0) return Usage("--warmup must not be negative");
  if (o.ops < 1) return Usage("--ops must be at least 1");
  if (o.runs < 1 || o.runs > 100) return Usage("--runs must be in 1..100");
  if (o.watchers < 1 || o.watchers > 10000) return Usage("--watchers must be in 1..10000");
  if (o.watch_ops < 1 || o.watch_ops > o.watchers) return Usage("--watch-ops must be in 1..watchers");
  if (o.watch_spread_s < 0 || o.watch_spread_s > 3600) return Usage("--watch-spread must be in 0..3600");
  if (o.webhook_concurrency < 1 || o.webhook_concurrency_per_host < 1) {
    return Usage("--webhook-concurrency and --webhook-concurrency-per-host must be at least 1");
  }
  if (o.max_errors < 0) return Usage("--max-errors must not be negative");
  if (job_mode && o.database_url.empty()) return Usage(m + " needs --database-url");
  if (m == "http-submit" && o.http_addr.empty()) return Usage("http-submit needs --http-addr");
  if (m == "watch" && o.api_pid <= 0) return Usage("watch needs --api-pid=PID of longrun-api");

  longrun::bench::Params params;
  std::vector<longrun::bench::RunResult> runs;
  bool ok = true;
  for (int run = 0; run < o.runs; ++run) {
    if (o.runs > 1) longrun::bench::Log(absl::StrCat(m, ": run ", run + 1, "/", o.runs));
    runs.push_back(fn(o, run, params));
    const auto& r = runs.back();
    if (!r.failure.empty()) {
      longrun::bench::Log(absl::StrCat(m, " run ", run + 1, " failed: ", r.failure));
      ok = false;
    }
    if (r.errors > o.max_errors) ok = false;
  }
  params.Add("runs", o.runs);
  params.Add("run_id", o.run_id);
  longrun::bench::PrintReport(m, params, runs, o.json);
  return ok ? 0 : 1;
}
