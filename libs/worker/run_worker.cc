// RunWorker: flags -> WorkerConfig -> wiring (PostgreSQL store and notifier) -> run -> drain.
#include <atomic>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/common/flags.h"
#include "libs/common/logging.h"
#include "libs/common/process.h"
#include "libs/common/signals.h"
#include "libs/metrics/metrics_server.h"
#include "libs/store/pg/listener.h"
#include "libs/concurrency/loop_thread.h"
#include "libs/store/pg/pg_event_log.h"
#include "libs/store/pg/pg_operation_store.h"
#include "libs/worker/event_prune_loop.h"
#include "libs/worker/run_worker.h"
#include "libs/worker/worker.h"
#include "longrun/worker.h"

namespace longrun {
namespace {

constexpr char kDescription[] =
    "Claims queued operations of the kinds it has handlers for (FOR UPDATE SKIP LOCKED),\n"
    "runs up to --concurrency at once and records progress and outcomes. Extends leases\n"
    "while jobs run, rescues jobs of crashed workers, fails jobs nobody starts, prunes old\n"
    "operations and events. SIGTERM/SIGINT stop claiming, let running jobs finish within\n"
    "--shutdown-grace and hand the rest back to the queue; a second signal exits at once.";

int Fail(const std::string& program, const absl::Status& status) {
  std::cerr << program << ": " << status.message() << "\n";
  return 2;
}

std::string DefaultWorkerId() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  absl::BitGen gen;
  return absl::StrCat(host, "-", getpid(), "-",
                      absl::Hex(absl::Uniform<uint32_t>(gen), absl::kZeroPad8));
}

}  // namespace

int RunWorker(int argc, char** argv, const Registry& registry, const WorkerOptions& options) {
  return worker::RunWorkerWith(argc, argv, registry, options, nullptr);
}

int worker::RunWorkerWith(int argc, char** argv, const Registry& registry,
                          const WorkerOptions& options, WorkerExtension* extension) {
  ConfigureProcess();
  sigset_t signals = BlockTerminationSignals();
  std::string program = options.program;
  if (program.empty()) {
    program = argc > 0 ? std::string(argv[0]) : "longrun-worker";
    program = program.substr(program.find_last_of('/') + 1);
  }
  const std::string usage =
      absl::StrCat("Usage: ", program, " [flags]\n\n",
                   options.description.empty() ? kDescription : options.description);
  worker::WorkerConfig config;
  std::string kinds;
  FlagSet flags(program, usage);
  flags.String("database-url", &config.database_url, "PostgreSQL connection URL",
               "LONGRUN_DATABASE_URL");
  flags.Int("concurrency", &config.concurrency,
            "jobs run at once (runner threads); also the largest batch claimed per round "
            "trip, so short jobs go faster with more");
  flags.String("kinds", &kinds, "comma-separated kinds to run (default: every registered kind)");
  std::string queues;
  flags.String("queues", &queues, "comma-separated queues to claim from (default: every queue)");
  flags.String("worker-id", &config.worker_id,
               "identity recorded on claimed jobs (default: host-pid-random)");
  flags.Duration("poll-interval", &config.poll_interval,
                 "look for work at least this often, whatever else wakes the worker "
                 "(retries and scheduled jobs coming due get no notification)");
  flags.Duration("lease-duration", &config.lease_duration, "lease taken on each claimed job");
  flags.Duration("shutdown-grace", &config.shutdown_grace,
                 "on SIGTERM/SIGINT, time running jobs get to finish");
  flags.Duration("heartbeat-interval", &config.heartbeat_interval,
                 "how often leases of running jobs are extended (default: lease-duration/3)");
  flags.Duration(
      "rescue-interval", &config.rescue_interval,
      "how often this worker looks for jobs whose lease expired (any worker may rescue)");
  flags.Duration("schedule-to-start", &config.schedule_to_start,
                 "fail jobs no worker started this long after their scheduled time (0: never)");
  flags.Duration("prune-interval", &config.prune_interval,
                 "how often finished operations are pruned");
  flags.Duration("retain-succeeded", &config.retain_succeeded,
                 "keep SUCCEEDED operations this long");
  flags.Duration("retain-failed", &config.retain_failed, "keep FAILED operations this long");
  flags.Duration("retain-cancelled", &config.retain_cancelled,
                 "keep CANCELLED operations this long");
  flags.Duration("progress-interval", &config.progress_interval,
                 "write a running job's progress at most this often (the latest value wins)");
  flags.Duration("retry-base", &config.retry.base, "first retry backoff ceiling (full jitter)");
  flags.Duration("retry-cap", &config.retry.cap, "largest retry backoff");
  absl::Duration event_retention = absl::Hours(24);
  flags.Duration("event-retention", &event_retention,
                 "keep WatchOperations events this long (an older cursor gets OUT_OF_RANGE)");
  if (extension != nullptr) extension->add_flags(flags);
  metrics::MetricsFlags metrics_flags;
  metrics::AddMetricsFlags(flags, &metrics_flags);
  auto args = flags.Parse(argc, argv);
  if (!args.ok()) return Fail(program, args.status());
  if (flags.help_requested()) return 0;
  if (!args->empty()) {
    return Fail(program, absl::InvalidArgumentError("unexpected argument \"" + (*args)[0] + "\""));
  }
  if (config.worker_id.empty()) config.worker_id = DefaultWorkerId();
  // Tests only (never a flag, so it is not in --help): leases are never extended.
  if (const char* v = std::getenv("LONGRUN_TEST_DISABLE_HEARTBEATS"); v != nullptr && *v == '1') {
    config.disable_heartbeats_for_test = true;
  }

  bool run_jobs = true;
  if (extension != nullptr) {
    absl::StatusOr<bool> jobs = extension->validate();
    if (!jobs.ok()) return Fail(program, jobs.status());
    run_jobs = *jobs;
  }
  if (event_retention < absl::Minutes(1)) {
    return Fail(program, absl::InvalidArgumentError("--event-retention must be at least 1m"));
  }
  if (registry.Kinds().empty() && run_jobs) {
    return Fail(program, absl::FailedPreconditionError("no job kinds are registered"));
  }
  if (!kinds.empty()) {
    for (absl::string_view k : absl::StrSplit(kinds, ',', absl::SkipWhitespace())) {
      if (registry.Find(std::string(k)) == nullptr) {
        return Fail(program, absl::InvalidArgumentError(absl::StrCat(
                                 "--kinds: no handler for \"", k,
                                 "\"; known: ", absl::StrJoin(registry.Kinds(), ","))));
      }
      config.kinds.emplace_back(k);
    }
  }
  for (absl::string_view q : absl::StrSplit(queues, ',', absl::SkipWhitespace())) {
    config.queues.emplace_back(q);
  }
  if (absl::Status s = config.Validate(); !s.ok()) return Fail(program, s);

  // Runner threads use a connection only while writing progress or a result.
  store::pg::PgOperationStore store(
      {.url = config.database_url,
       .pool_size = static_cast<int>(std::min<int64_t>(config.concurrency + 1, 16)),
       .application_name = program,
       // Every statement the worker runs touches a few rows found through an index: the
       // claim walks the runnable index in claim order and stops at its LIMIT; everything
       // else finds its rows by id (or the lease/finished indexes). A queue table's
       // statistics lag behind bursts, and plans made from them went wrong: scanning and
       // sorting every runnable row for a claim (21ms instead of 0.5ms at 20,000 queued
       // jobs), or a sequential scan of the whole table (see kJobCompleteAndClaimSql).
       // Nothing the worker runs needs a sort, a bitmap scan or a sequential scan, so its
       // connections disable them (hash joins stay: the change trigger joins its
       // transition tables), and plan each statement once (generic plans). JIT is off: a
       // plan that contains a disabled node costs over 10^10, far past jit_above_cost, and
       // a generic plan compiles again at every execution (150 ms for a prune batch whose
       // plan had gone wrong; nothing here runs long enough to win that back).
       .session_settings = {"enable_sort = off", "enable_bitmapscan = off", "enable_seqscan = off",
                            "plan_cache_mode = force_generic_plan", "jit = off"}});
  // Metrics: counted by the store as it changes rows, read at scrape for the gauges.
  auto metrics = std::make_shared<metrics::Metrics>();
  std::function<void(const std::string&, absl::Duration)> on_lag;
  if (metrics_flags.on()) {
    store.SetObserver(metrics.get());
    on_lag = [metrics](const std::string& channel, absl::Duration lag) {
      metrics->NotificationArrived(channel, lag);
    };
  }
  store::pg::PgJobNotifier notifier(config.database_url, program + "-listener", on_lag);
  worker::Worker worker(config, store, notifier, registry);
  metrics::AddDbPoolGauge(*metrics, [&store] {
    const store::pg::PgPoolStats s = store.PoolStats();
    return std::make_pair(s.in_use, s.idle);
  });
  metrics->AddScrapeGauge(
      "longrun_worker_slots", "This worker's job slots (--concurrency): busy or free.",
      [&worker, slots = static_cast<double>(config.concurrency)] {
        const double busy = worker.busy();
        return metrics::Metrics::GaugeReading{{{{"state", "busy"}}, busy},
                                              {{{"state", "free"}}, slots - busy}};
      });
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> metrics_server =
      metrics::ServeMetrics(metrics_flags, metrics);
  if (!metrics_server.ok()) return Fail(program, metrics_server.status());

  if (extension != nullptr) {
    if (absl::Status s = extension->start(store, config.worker_id); !s.ok()) {
      return Fail(program, s);
    }
  }
  // Events past --event-retention.
  store::pg::PgEventLog event_log(store);
  // A pass takes the whole backlog; a stop request ends it between batches (and pauses).
  std::atomic<bool> stopping{false};
  worker::EventPruneLoop event_prune({.retention = event_retention}, event_log,
                                     [&stopping] { return stopping.load(); });
  concurrency::LoopThread event_pruning(
      {.interval = event_prune.interval(), .first_delay = event_prune.interval()},
      [&event_prune] { return event_prune.RunOnce().ok; });
  if (run_jobs) {
    worker.Start();
    event_pruning.Start();
  }

  int sig = 0;
  sigwait(&signals, &sig);
  LONGRUN_LOG(kInfo, "draining", {{"signal", sig}, {"grace", config.shutdown_grace}});
  // A second signal exits at once.
  std::thread([signals]() mutable {
    int again = 0;
    sigwait(&signals, &again);
    LONGRUN_LOG(kWarning, "exiting_now", {{"signal", again}});
    _exit(1);
  }).detach();
  stopping = true;
  event_pruning.Stop();
  if (extension != nullptr) extension->stop();
  const int released = worker.Drain();
  LONGRUN_LOG(kInfo, "stopped", {{"claimed", worker.claimed()}, {"handed_back", released}});
  // Handlers that ignored the stop request may still be running; do not wait for them.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace longrun
