#include "libs/worker/worker.h"

#include "absl/random/random.h"
#include "absl/strings/str_join.h"
#include "libs/common/check.h"
#include "libs/common/logging.h"

namespace longrun::worker {

Worker::Worker(WorkerConfig config, store::OperationStore& store, store::JobNotifier& notifier,
               const Registry& registry, const Clock& clock)
    : config_(std::move(config)),
      store_(store),
      notifier_(notifier),
      kinds_(config_.kinds.empty() ? registry.Kinds() : config_.kinds),
      runner_({.lease_duration = config_.lease_duration, .retry = config_.retry}, store, registry,
              clock,
              [this](const store::JobRef& ref, std::optional<store::JobCompleteParams> success) {
                dispatch_.HandlerReturned(ref, std::move(success));
              }),
      dispatch_({.worker_id = config_.worker_id,
                 .kinds = kinds_,
                 .queues = config_.queues,
                 .concurrency = static_cast<int>(config_.concurrency),
                 .lease_duration = config_.lease_duration,
                 .poll_interval = config_.poll_interval},
                store, table_, clock,
                [this](std::shared_ptr<Attempt> attempt) {
                  // Runner threads == concurrency and claims never exceed the free slots,
                  // so Post never refuses. If it did, the job would silently wait for its
                  // lease to expire: crash instead, which has the same outcome, loudly.
                  const bool posted = runners_->Post(
                      [this, attempt = std::move(attempt)] { runner_.Run(*attempt); });
                  LONGRUN_CHECK(posted);
                }),
      heartbeat_({.interval = config_.EffectiveHeartbeatInterval(),
                  .lease_duration = config_.lease_duration,
                  .disabled_for_test = config_.disable_heartbeats_for_test},
                 store, table_, clock),
      progress_({.interval = config_.progress_interval}, store, table_),
      rescue_({.interval = config_.rescue_interval,
               .schedule_to_start = config_.schedule_to_start,
               .worker_id = config_.worker_id},
              store),
      prune_({.interval = config_.prune_interval,
              .retain_succeeded = config_.retain_succeeded,
              .retain_failed = config_.retain_failed,
              .retain_cancelled = config_.retain_cancelled},
             store, [this] { return draining_.load(); }) {}

Worker::~Worker() { Drain(); }

void Worker::Start() {
  const int concurrency = static_cast<int>(config_.concurrency);
  runners_ = std::make_unique<concurrency::Executor>("runner", concurrency,
                                                     static_cast<size_t>(concurrency));
  notifier_.Start([this] { dispatch_.Wake(); },
                  [this](const std::string& id) { CancelRunning(id); });
  // Two dispatchers when there are enough slots to split: while one round is in flight, the
  // other can start the next, so a busy worker is never idle waiting for a commit. With few
  // slots, two rounds would each carry half a batch, and a job's cost in PostgreSQL grows as
  // batches shrink (measured: 1 x 256 slots drained 20.6k -> 30.8k jobs/s with two; 2 x 32
  // fell from ~16.8k to ~14.2k).
  const int dispatchers = concurrency >= kTwoDispatchersFrom ? 2 : 1;
  for (int i = 0; i < dispatchers; ++i) dispatchers_.emplace_back([this] { dispatch_.Run(); });
  // Spread the first rescue/prune a little so replicas started together do not align.
  absl::BitGen gen;
  auto spread = [&](absl::Duration d) { return d * absl::Uniform(gen, 0.0, 1.0); };
  attempt_loops_.push_back(std::make_unique<concurrency::LoopThread>(
      concurrency::LoopThreadConfig{heartbeat_.interval(), heartbeat_.interval()},
      [this] { return heartbeat_.RunOnce().ok; }));
  attempt_loops_.push_back(std::make_unique<concurrency::LoopThread>(
      concurrency::LoopThreadConfig{progress_.interval(), progress_.interval()},
      [this] { return progress_.RunOnce().ok; }));
  maintenance_.push_back(std::make_unique<concurrency::LoopThread>(
      concurrency::LoopThreadConfig{rescue_.interval(), spread(rescue_.interval())},
      [this] { return rescue_.RunOnce().ok; }));
  maintenance_.push_back(std::make_unique<concurrency::LoopThread>(
      concurrency::LoopThreadConfig{prune_.interval(), spread(prune_.interval())},
      [this] { return prune_.RunOnce().ok; }));
  for (auto& loop : attempt_loops_) loop->Start();
  for (auto& loop : maintenance_) loop->Start();
  started_ = true;
  LONGRUN_LOG(kInfo, "worker_started",
              {{"worker", config_.worker_id},
               {"concurrency", config_.concurrency},
               {"kinds", absl::StrJoin(kinds_, ",")}});
}

void Worker::CancelRunning(const std::string& id) {
  // Claimed but not started yet: the handler starts stopped and returns at once.
  if (std::shared_ptr<Attempt> attempt = table_.Find(id); attempt != nullptr) {
    attempt->Stop(absl::CancelledError("cancellation requested"));
  }
}

int Worker::Drain() {
  if (!started_ || draining_.exchange(true)) return 0;
  dispatch_.StopClaiming();
  notifier_.Stop();
  // While draining only heartbeats and progress go on: the jobs still running or waiting
  // for their round keep their leases until the hand-back below.
  for (auto& loop : maintenance_) loop->Stop();
  dispatch_.WaitIdle(config_.shutdown_grace);
  // Hand unfinished jobs back at once, so another worker starts them without waiting for a
  // lease to expire.
  int released = 0;
  for (const std::shared_ptr<Attempt>& attempt : table_.Snapshot()) {
    {
      std::lock_guard<std::mutex> lock(attempt->write_mu);
      if (attempt->finished) continue;  // its outcome is recorded or waiting for a round
      attempt->released = true;
      const absl::Status s = store_.JobRelease({attempt->id(), attempt->attempt()});
      if (s.ok()) ++released;
      LONGRUN_LOG(kInfo, "job_released",
                  {{"operation", attempt->id()},
                   {"attempt", attempt->attempt()},
                   {"trace_id", attempt->trace_id()},
                   {"status", s.ok() ? "ok" : std::string(s.message())}});
    }
    attempt->Stop(absl::CancelledError("worker shutting down"));
  }
  // Record the successes still waiting, then stop the dispatchers and the other loops.
  dispatch_.Exit();
  for (std::thread& t : dispatchers_) t.join();
  dispatchers_.clear();
  for (auto& loop : attempt_loops_) loop->Stop();
  // Handlers ignoring the stop request: the caller exits anyway.
  if (!dispatch_.WaitIdle(absl::Seconds(2))) return released;
  runners_->Shutdown();
  runners_.reset();
  return released;
}

}  // namespace longrun::worker
