// watch: W WatchOperation streams over W/10 sleeping jobs. Measures the api's memory per
// open stream and how long after a job's end_time each watcher receives the final message.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tools/bench/client.h"
#include "tools/bench/jobs.h"
#include "tools/bench/procs.h"

namespace longrun::bench {

namespace {

class WatchSet;

// One stream on the callback API (as tests/support/watcher.h), recording only what the
// figures need.
class BenchWatcher final : public grpc::ClientReadReactor<google::longrunning::Operation> {
 public:
  explicit BenchWatcher(WatchSet* set) : set_(set) {}
  void Start(longrun::v1::Operations::Stub& stub, const std::string& name, absl::Duration timeout) {
    req_.set_name(name);
    ctx_.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
    stub.async()->WatchOperation(&ctx_, &req_, this);
    StartRead(&op_);
    StartCall();
  }
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& s) override;
  void Cancel() { ctx_.TryCancel(); }

  bool started_ = false;
  int64_t messages_ = 0;
  bool first_was_done_ = false;
  int64_t done_wall_ns_ = 0;  // client receipt of the done message
  int64_t end_time_ns_ = 0;   // metadata.end_time of that message (server clock)
  longrun::v1::OperationMetadata::State final_state_ = {};
  grpc::Status status_;

 private:
  WatchSet* set_;
  grpc::ClientContext ctx_;
  longrun::v1::WatchOperationRequest req_;
  google::longrunning::Operation op_;
};

// Opens W watchers with at most `window` awaiting their first message, and counts firsts
// and ends.
class WatchSet {
 public:
  WatchSet(Clients& cl, const std::vector<std::string>& ops, int64_t w, int64_t window,
           absl::Duration timeout)
      : cl_(cl), ops_(ops), w_(w), window_(window), timeout_(timeout) {
    for (int64_t i = 0; i < w; ++i) watchers_.push_back(std::make_unique<BenchWatcher>(this));
  }

  void OpenAll() {
    const int64_t initial = std::min(w_, window_);
    next_.store(initial);
    for (int64_t i = 0; i < initial; ++i) StartOne(i);
  }

  // Every watcher got its first message (or ended); false on timeout.
  bool AwaitFirsts(absl::Duration timeout) { return Await(firsts_, timeout); }
  bool AwaitEnds(absl::Duration timeout) { return Await(ends_, timeout); }

  // Stops opening, cancels every started stream and waits for them to end.
  void CancelAll() {
    stop_.store(true);
    int64_t started = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& w : watchers_) {
        if (w->started_) {
          ++started;
          w->Cancel();
        }
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ends_ >= started; });
  }

  void OnFirst() {
    bool start_next = false;
    int64_t j = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++firsts_;
      if (firsts_ == w_) cv_.notify_all();
    }
    if (!stop_.load()) {
      j = next_.fetch_add(1);
      start_next = j < w_;
    }
    if (start_next) StartOne(j);
  }

  void OnEnd() {
    std::lock_guard<std::mutex> lock(mu_);
    ++ends_;
    cv_.notify_all();
  }

  const std::vector<std::unique_ptr<BenchWatcher>>& watchers() const { return watchers_; }

 private:
  void StartOne(int64_t i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_.load()) return;
      watchers_[static_cast<size_t>(i)]->started_ = true;
    }
    watchers_[static_cast<size_t>(i)]->Start(cl_.op(i), ops_[static_cast<size_t>(i) % ops_.size()],
                                             timeout_);
  }

  bool Await(const int64_t& counter, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return counter >= w_; });
  }

  Clients& cl_;
  const std::vector<std::string>& ops_;
  const int64_t w_;
  const int64_t window_;
  const absl::Duration timeout_;
  std::vector<std::unique_ptr<BenchWatcher>> watchers_;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t firsts_ = 0;
  int64_t ends_ = 0;
};

void BenchWatcher::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows
  const int64_t t = WallNs();
  const bool first = ++messages_ == 1;
  if (op_.done()) {
    done_wall_ns_ = t;
    longrun::v1::OperationMetadata md;
    op_.metadata().UnpackTo(&md);
    end_time_ns_ = TimestampNs(md.end_time());
    final_state_ = md.state();
  }
  if (first) {
    first_was_done_ = op_.done();
    set_->OnFirst();
  }
  StartRead(&op_);
}

void BenchWatcher::OnDone(const grpc::Status& s) {
  status_ = s;
  if (messages_ == 0) set_->OnFirst();  // failed before its first message: open the next
  set_->OnEnd();
}

}  // namespace

RunResult RunWatch(const Options& o, int run, Params& params) {
  const int64_t w = o.watchers;
  const int64_t m = o.watch_ops;
  const int64_t secs = o.sleep_seconds;
  const std::string input = absl::StrCat(R"({"seconds": )", secs, "}");
  if (run == 0) {
    AddCommonParams(o, params);
    params.Add("watchers", w);
    params.Add("watch_ops", m);
    params.Add("kind", "demo.sleep");
    params.Add("input", input);
    params.Add("watch_spread_s", o.watch_spread_s);
    params.Add("open_window", o.c);
    params.Add("workers", o.workers);
    params.Add("worker_concurrency", o.worker_concurrency);
    params.Add("api_pid", static_cast<int64_t>(o.api_pid));
  }
  RunResult r;
  if (o.api_pid <= 0) return Fail(r, absl::InvalidArgumentError("watch needs --api-pid=PID of longrun-api"));
  if (!ProcessAlive(o.api_pid)) {
    return Fail(r, absl::InvalidArgumentError(absl::StrCat("--api-pid=", o.api_pid, ": no such process")));
  }
  if (o.workers > 0 && o.database_url.empty()) {
    return Fail(r, absl::InvalidArgumentError("watch starts a worker: --database-url is required"));
  }
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  WorkerSet ws;
  if (absl::Status s = StartWorkers(o, ws, o.workers, o.worker_concurrency,
                                    absl::StrCat("watch-", run + 1));
      !s.ok()) {
    return Fail(r, s);
  }
  if (absl::Status s = WaitWorkersUp(ws); !s.ok()) return Fail(r, s);

  std::vector<std::string> names;
  // Job i ends i * spread / m seconds after the first: a steady stream of completions.
  const double spread = static_cast<double>(o.watch_spread_s);
  LoopStats st = SubmitMany(o, **cl, m, std::min<int64_t>(m, 64),
                            SubmitTemplate("demo.sleep", input, RunLabel(o, run)), &names,
                            [&](int64_t i, longrun::v1::SubmitRequest& req) {
                              (*req.mutable_input()->mutable_fields())["seconds"].set_number_value(
                                  static_cast<double>(secs) +
                                  spread * static_cast<double>(i) / static_cast<double>(m));
                            });
  if (st.errors > 0) {
    return Fail(r, absl::InternalError(absl::StrCat("submitting the watched jobs failed: ",
                                                 st.first_errors.empty() ? "" : st.first_errors[0])));
  }
  Log(absl::StrCat("watch: ", m, " demo.sleep jobs of ", secs, "s submitted; opening ", w,
                   " watchers"));

  auto rss0 = ReadRssKib(o.api_pid);
  if (!rss0.ok()) return Fail(r, rss0.status());
  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin(ws.pids());
  WatchSet set(**cl, names, w, o.c, absl::Seconds(secs + o.watch_spread_s) + o.timeout);
  const int64_t t_open = MonoNs();
  set.OpenAll();
  const bool all_open = set.AwaitFirsts(absl::Seconds(secs) + absl::Seconds(60));
  const int64_t t_opened = MonoNs();
  auto rss1 = ReadRssKib(o.api_pid);
  if (!all_open) {
    set.CancelAll();
    return Fail(r, absl::DeadlineExceededError("not every watcher received its first message in time"));
  }
  int64_t early = 0;
  for (const auto& wt : set.watchers()) early += wt->first_was_done_ ? 1 : 0;
  if (early > 0) {
    Log(absl::StrCat("warning: ", early, " watchers opened after their job had finished; "
                     "increase --sleep"));
  }
  Log(absl::StrCat("watch: all ", w, " watchers open in ",
                   absl::FormatDuration(absl::Nanoseconds(t_opened - t_open)),
                   "; waiting for the jobs to finish"));
  const bool all_ended =
      set.AwaitEnds(absl::Seconds(secs + o.watch_spread_s) + absl::Seconds(120));
  cpu.End(ws.pids());
  if (!all_ended) set.CancelAll();
  ws.Stop();

  std::vector<int64_t> lat;
  int64_t terminal = 0;
  for (const auto& wt : set.watchers()) {
    if (wt->done_wall_ns_ > 0) {
      ++terminal;
      if (wt->final_state_ == longrun::v1::OperationMetadata::SUCCEEDED) {
        lat.push_back(wt->done_wall_ns_ - wt->end_time_ns_);
      }
    }
    if (!wt->status_.ok() || wt->done_wall_ns_ == 0 ||
        wt->final_state_ != longrun::v1::OperationMetadata::SUCCEEDED) {
      ++r.errors;
      if (r.error_samples.size() < 5) {
        r.error_samples.push_back(
            !wt->status_.ok() ? StatusText(wt->status_)
            : wt->done_wall_ns_ == 0
                ? "stream ended without a done message"
                : absl::StrCat("job ended ",
                               longrun::v1::OperationMetadata::State_Name(wt->final_state_)));
      }
    }
  }
  const double open_s = static_cast<double>(t_opened - t_open) / 1e9;
  r.Add("open_s", open_s, 2);
  r.Add("opens_per_s", open_s > 0 ? static_cast<double>(w) / open_s : 0, 0);
  r.Add("rss_before_mib", static_cast<double>(*rss0) / 1024, 1);
  if (rss1.ok()) {
    r.Add("rss_open_mib", static_cast<double>(*rss1) / 1024, 1);
    r.Add("rss_per_watcher_kib", static_cast<double>(*rss1 - *rss0) / static_cast<double>(w), 1);
  }
  r.Add("terminal_received", static_cast<double>(terminal), 0);
  r.AddLatencies("end_to_receipt", lat, {50, 99});
  cpu.Report(r);
  if (terminal < w) {
    r.failure = absl::StrCat("only ", terminal, " of ", w, " watchers received the final message");
  } else if (r.errors > 0) {
    r.failure = absl::StrCat(r.errors, " watchers ended badly");
  }
  return r;
}

}  // namespace longrun::bench
