// webhooks, event-lag: the push channel (docs/WEBHOOKS.md). webhooks measures how fast a
// deliverer posts completion callbacks to one receiver (inside the bench) and how long after
// an operation's end_time each arrives; event-lag measures how long after a change commits
// a WatchOperations consumer receives it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tools/bench/client.h"
#include "tools/bench/db.h"
#include "tools/bench/hook_receiver.h"
#include "tools/bench/jobs.h"
#include "tools/bench/procs.h"

namespace longrun::bench {

namespace {

// "whsec_" + base64 of 32 random bytes, in LOG_DIR/NAME (mode 0600).
absl::StatusOr<std::string> WriteSecretFile(const Options& o, const std::string& name) {
  std::random_device rd;
  std::string bytes(32, '\0');
  for (char& b : bytes) b = static_cast<char>(rd() & 0xff);
  const std::string path = absl::StrCat(o.log_dir, "/", name);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", path));
  const std::string line = absl::StrCat("whsec_", absl::Base64Escape(bytes), "\n");
  const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", path));
  return path;
}

// The webhook flags given to the api and the worker: loopback receivers over http.
std::vector<std::string> WebhookFlags(const std::string& secret_file) {
  return {absl::StrCat("--webhook-secret-file=", secret_file), "--webhook-allow-insecure",
          "--webhook-allow-cidrs=127.0.0.0/8"};
}

// Starts a longrun-api on a loopback port of its choosing (--port-file) with the webhook
// flags; *server is its address once it answers.
absl::Status StartApi(const Options& o, WorkerSet& api, const std::string& tag,
                      const std::string& secret_file, std::string* server) {
  const std::string port_file = absl::StrCat(o.log_dir, "/", tag, "-api.port");
  unlink(port_file.c_str());
  std::vector<std::string> args = {"--listen=127.0.0.1:0", absl::StrCat("--port-file=", port_file),
                                   absl::StrCat("--database-url=", o.database_url)};
  for (std::string& f : WebhookFlags(secret_file)) args.push_back(std::move(f));
  for (absl::string_view f : absl::StrSplit(o.api_flags, ' ', absl::SkipEmpty())) {
    args.emplace_back(f);
  }
  if (absl::Status s = api.Start(o.api_bin, args, 1, o.log_dir, absl::StrCat(tag, "-api"));
      !s.ok()) {
    return s;
  }
  const int64_t deadline = MonoNs() + 30'000'000'000LL;
  while (MonoNs() < deadline) {
    if (absl::Status s = api.CheckRunning(); !s.ok()) return s;
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      *server = absl::StrCat("127.0.0.1:", port);
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("the api started for webhooks wrote no port file in 30s");
}

// A Struct field path, or nullptr.
const google::protobuf::Value* Path(const google::protobuf::Struct& s,
                                    std::initializer_list<const char*> keys) {
  const google::protobuf::Struct* at = &s;
  const google::protobuf::Value* v = nullptr;
  for (const char* k : keys) {
    if (at == nullptr) return nullptr;
    auto it = at->fields().find(k);
    if (it == at->fields().end()) return nullptr;
    v = &it->second;
    at = v->has_struct_value() ? &v->struct_value() : nullptr;
  }
  return v;
}

absl::StatusOr<int64_t> ParseRfc3339Ns(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("bad time \"", text, "\": ", err));
  }
  return absl::ToUnixNanos(t);
}

// Updates of webhook_deliveries so far (claims, records, releases), from the statistics
// collector; -1 if unreadable.
int64_t DeliveryUpdates(Db& db) {
  auto n = db.QueryInt(
      "SELECT coalesce(sum(n_tup_upd), 0)::bigint FROM pg_stat_user_tables "
      "WHERE relname = 'webhook_deliveries'");
  return n.ok() ? *n : -1;
}

}  // namespace

RunResult RunWebhooks(const Options& o, int run, Params& params) {
  const int64_t conc = o.worker_concurrency;
  if (run == 0) {
    params.Add("api", "started by the bench, webhook flags on");
    params.Add("channels", o.channels);
    params.Add("kind", "demo.echo");
    params.Add("callback", "TERMINAL, http://127.0.0.1:PORT (receiver in the bench)");
    params.Add("n", o.n);
    params.Add("c", o.c);
    params.Add("rate", o.rate > 0 ? absl::StrCat(o.rate, "/s") : std::string("closed loop"));
    params.Add("workers", int64_t{1});
    params.Add("worker_concurrency", conc);
    params.Add("webhook_concurrency", o.webhook_concurrency);
    params.Add("webhook_concurrency_per_host", o.webhook_concurrency_per_host);
  }
  RunResult r;
  const std::string label = RunLabel(o, run);
  const std::string tag = absl::StrCat("webhooks-", run + 1);
  auto db = Db::Connect(o.database_url);
  if (!db.ok()) return Fail(r, db.status());
  WarnIfBacklog(**db);
  std::error_code ec;
  std::filesystem::create_directories(o.log_dir, ec);
  auto secret = WriteSecretFile(o, absl::StrCat(tag, "-webhook-secret"));
  if (!secret.ok()) return Fail(r, secret.status());
  const std::string path = absl::StrCat("/hook/", label);
  auto receiver = HookReceiver::Start(path);
  if (!receiver.ok()) return Fail(r, receiver.status());
  const std::string url = absl::StrCat("http://127.0.0.1:", (*receiver)->port(), path);

  WorkerSet api;
  Options ao = o;
  if (absl::Status s = StartApi(o, api, tag, *secret, &ao.server); !s.ok()) return Fail(r, s);
  const pid_t api_pid = api.pids().front();
  auto cl = Connect(ao);
  if (!cl.ok()) return Fail(r, cl.status());
  WorkerSet ws;
  Options wo = o;
  for (std::string& f : WebhookFlags(*secret)) absl::StrAppend(&wo.worker_flags, " ", f);
  absl::StrAppend(&wo.worker_flags, " --webhook-concurrency=", o.webhook_concurrency,
                  " --webhook-concurrency-per-host=", o.webhook_concurrency_per_host);
  if (absl::Status s = StartWorkers(wo, ws, 1, conc, tag); !s.ok()) return Fail(r, s);
  if (absl::Status s = WaitWorkersUp(ws); !s.ok()) return Fail(r, s);
  const int64_t updates0 = DeliveryUpdates(**db);
  Log(absl::StrCat("webhooks: api ", ao.server, ", receiver ", url, "; submitting ", o.n,
                   " demo.echo jobs with a callback (label bench_run=", label, ")"));

  longrun::v1::SubmitRequest req = SubmitTemplate("demo.echo", kEchoInput, label);
  req.mutable_callback()->set_url(url);
  std::vector<std::string> names;
  CpuWindow cpu(api_pid, o.pg_pid);
  cpu.Begin(ws.pids());
  const int64_t submit_wall = WallNs();
  LoopStats st = SubmitPaced(ao, **cl, o.n, o.c, static_cast<double>(o.rate), req, &names);
  AddLoop(r, st, "submit_rps", "submit_rpc");
  const bool all = (*receiver)->AwaitUnique(st.ok, o.timeout);
  cpu.End(ws.pids());
  ws.Stop();
  api.Stop();
  const HookReceiver::Counts counts = (*receiver)->counts();
  std::vector<HookReceiver::Hook> hooks = (*receiver)->Take();
  (*receiver)->Stop();
  absl::SleepFor(absl::Milliseconds(500));  // exited backends' statistics reach the collector
  const int64_t updates1 = DeliveryUpdates(**db);

  // Every submitted operation delivered, once per webhook-id; latency from end_time.
  absl::flat_hash_set<std::string> expected;
  for (const std::string& n : names) {
    if (!n.empty()) expected.insert(n);
  }
  absl::flat_hash_map<std::string, std::string> id_to_name;
  absl::flat_hash_set<std::string> delivered;
  std::vector<int64_t> lat;
  int64_t first_ns = 0, last_ns = 0, unparsed = 0, unexpected = 0, not_done = 0, last_end = 0;
  for (const HookReceiver::Hook& h : hooks) {
    if (first_ns == 0) first_ns = h.wall_ns;
    last_ns = std::max(last_ns, h.wall_ns);
    google::protobuf::Struct body;
    if (!google::protobuf::util::JsonStringToMessage(h.body, &body).ok()) {
      ++unparsed;
      continue;
    }
    const google::protobuf::Value* name = Path(body, {"data", "name"});
    const google::protobuf::Value* done = Path(body, {"data", "done"});
    const google::protobuf::Value* end = Path(body, {"data", "metadata", "endTime"});
    if (name == nullptr || end == nullptr) {
      ++unparsed;
      continue;
    }
    if (done == nullptr || !done->bool_value()) ++not_done;
    if (!expected.contains(name->string_value())) ++unexpected;
    auto [it, fresh] = id_to_name.emplace(h.webhook_id, name->string_value());
    if (!fresh) continue;  // a duplicate: the first receipt counts
    delivered.insert(name->string_value());
    auto end_ns = ParseRfc3339Ns(end->string_value());
    if (!end_ns.ok()) {
      ++unparsed;
      continue;
    }
    last_end = std::max(last_end, *end_ns);
    lat.push_back(h.wall_ns - *end_ns);
  }
  const int64_t missing = static_cast<int64_t>(expected.size()) -
                          static_cast<int64_t>(std::count_if(
                              expected.begin(), expected.end(),
                              [&](const std::string& n) { return delivered.contains(n); }));
  const int64_t posts = static_cast<int64_t>(hooks.size());
  const int64_t unique = static_cast<int64_t>(id_to_name.size());
  r.Add("delivered", static_cast<double>(unique), 0);
  r.Add("duplicates", static_cast<double>(posts - unique), 0);
  r.Add("connections", static_cast<double>(counts.connections), 0);
  if (unique > 1 && last_ns > first_ns) {
    r.Add("deliveries_per_s", static_cast<double>(unique - 1) * 1e9 /
                                  static_cast<double>(last_ns - first_ns), 0);
  }
  if (last_ns > submit_wall) {
    r.Add("from_submit_per_s",
          static_cast<double>(unique) * 1e9 / static_cast<double>(last_ns - submit_wall), 0);
    r.Add("total_s", static_cast<double>(last_ns - submit_wall) / 1e9, 2);
  }
  if (last_end > submit_wall) {
    r.Add("jobs_done_s", static_cast<double>(last_end - submit_wall) / 1e9, 2);
  }
  r.AddLatencies("end_to_callback", lat, {50, 90, 99});
  if (updates0 >= 0 && updates1 >= 0 && posts > 0) {
    r.Add("outbox_updates_per_post", static_cast<double>(updates1 - updates0) /
                                         static_cast<double>(posts), 1);
  }
  cpu.Report(r);
  if (!all || missing > 0) {
    return Fail(r, absl::DeadlineExceededError(absl::StrCat(
        missing, " of ", expected.size(), " operations had no callback after ",
        absl::FormatDuration(o.timeout))));
  }
  if (unparsed > 0 || unexpected > 0 || not_done > 0 || counts.bad > 0) {
    return Fail(r, absl::InternalError(absl::StrCat(
        unparsed, " unparseable bodies, ", unexpected, " for operations not submitted, ",
        not_done, " not done, ", counts.bad, " bad requests")));
  }
  if (counts.foreign > 0) {
    Log(absl::StrCat("webhooks: ", counts.foreign,
                     " posts for another path (an earlier run's) answered 410"));
  }
  return r;
}

namespace {

// One WatchOperations consumer on its own connection and thread (the generated blocking
// stub), resuming from its last cursor when the server ends the stream.
class EventConsumer {
 public:
  struct Event {
    int64_t wall_ns;    // receipt
    int64_t update_ns;  // metadata.update_time (server clock)
    std::string name;
    bool done;
  };

  EventConsumer(std::shared_ptr<grpc::Channel> channel, std::string filter)
      : stub_(longrun::v1::Operations::NewStub(channel)), filter_(std::move(filter)) {}
  ~EventConsumer() { Stop(); }

  void Start() { thread_ = std::thread([this] { Loop(); }); }

  // Waits until `n` distinct operations have been seen done; false on timeout or when the
  // stream failed for good.
  bool AwaitDone(int64_t n, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [&] { return !failure_.empty() || static_cast<int64_t>(done_.size()) >= n; }) &&
           failure_.empty();
  }
  bool SawDone(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return done_.contains(name);
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      if (ctx_ != nullptr) ctx_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  // After Stop().
  std::vector<Event>& events() { return events_; }
  int64_t reconnects() const { return reconnects_; }
  const std::string& failure() const { return failure_; }
  std::string failure_now() {
    std::lock_guard<std::mutex> lock(mu_);
    return failure_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }

 private:
  void Loop() {
    std::string cursor;
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext ctx;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        ctx_ = &ctx;
      }
      longrun::v1::WatchOperationsRequest req;
      req.set_filter(filter_);
      req.set_start_after(cursor);
      auto reader = stub_->WatchOperations(&ctx, req);
      longrun::v1::OperationEvent ev;
      while (reader->Read(&ev)) {
        const int64_t t = WallNs();
        longrun::v1::OperationMetadata md;
        ev.operation().metadata().UnpackTo(&md);
        cursor = ev.cursor();
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back({t, TimestampNs(md.update_time()), ev.operation().name(),
                           ev.operation().done()});
        if (ev.operation().done() && done_.insert(ev.operation().name()).second) {
          cv_.notify_all();
        }
      }
      const grpc::Status s = reader->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      ctx_ = nullptr;
      if (stopping_) return;
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE || cursor.empty()) {
        failure_ = absl::StrCat("WatchOperations ended: ", StatusText(s));
        cv_.notify_all();
        return;
      }
      ++reconnects_;  // --max-watch-duration or shutdown: resume after the cursor
    }
  }

  std::unique_ptr<longrun::v1::Operations::Stub> stub_;
  const std::string filter_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  grpc::ClientContext* ctx_ = nullptr;
  bool stopping_ = false;
  std::vector<Event> events_;
  absl::flat_hash_set<std::string> done_;
  int64_t reconnects_ = 0;
  std::string failure_;
};

}  // namespace

RunResult RunEventLag(const Options& o, int run, Params& params) {
  const int64_t workers = o.workers;
  const int64_t conc = o.worker_concurrency;
  const std::string label = RunLabel(o, run);
  const std::string filter = absl::StrCat("labels.bench_run = \"", label, "\"");
  if (run == 0) {
    AddCommonParams(o, params);
    params.Add("kind", "demo.echo");
    params.Add("n", o.n);
    params.Add("c", o.c);
    params.Add("rate", o.rate > 0 ? absl::StrCat(o.rate, "/s") : std::string("closed loop"));
    params.Add("workers", workers);
    params.Add("worker_concurrency", conc);
    params.Add("consumer", "1 WatchOperations stream, filter labels.bench_run = RUN");
  }
  RunResult r;
  if (!o.database_url.empty()) {
    auto db = Db::Connect(o.database_url);
    if (!db.ok()) return Fail(r, db.status());
    WarnIfBacklog(**db);
  } else if (workers > 0) {
    return Fail(r, absl::InvalidArgumentError("event-lag starts a worker: --database-url is required"));
  }
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  auto channel = MakeChannels(o.server, 1, o.client);
  if (!channel.ok()) return Fail(r, channel.status());
  WorkerSet ws;
  if (absl::Status s = StartWorkers(o, ws, workers, conc, absl::StrCat("event-lag-", run + 1));
      !s.ok()) {
    return Fail(r, s);
  }
  if (absl::Status s = WaitWorkersUp(ws); !s.ok()) return Fail(r, s);

  EventConsumer consumer(channel->front(), filter);
  consumer.Start();
  // A marker job first: once its end arrives the stream is surely open (a stream without
  // start_after starts at the head when the server takes it, which may be after a first
  // marker ended: then another) and the path warm.
  const longrun::v1::SubmitRequest req = SubmitTemplate("demo.echo", kEchoInput, label);
  absl::flat_hash_set<std::string> markers;
  bool open = false;
  for (int k = 0; k < 5 && !open; ++k) {
    std::vector<std::string> marker;
    LoopStats ms = SubmitMany(o, **cl, 1, 1, req, &marker);
    if (ms.ok != 1) return Fail(r, absl::UnavailableError("the marker Submit failed"));
    markers.insert(marker[0]);
    const int64_t until = MonoNs() + 10'000'000'000LL;
    while (!open && MonoNs() < until && consumer.failure_now().empty()) {
      open = consumer.AwaitDone(1, absl::Milliseconds(100)) && consumer.SawDone(marker[0]);
    }
  }
  if (!open) {
    consumer.Stop();
    return Fail(r, absl::DeadlineExceededError(absl::StrCat(
        "no marker's end arrived on the stream ", consumer.failure())));
  }
  const size_t skip = consumer.size();
  Log(absl::StrCat("event-lag: stream open; submitting ", o.n, " jobs",
                   o.rate > 0 ? absl::StrCat(" at ", o.rate, "/s") : std::string(" (closed loop)"),
                   " (label bench_run=", label, ")"));

  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin(ws.pids());
  std::vector<std::string> names;
  LoopStats st = SubmitPaced(o, **cl, o.n, o.c, static_cast<double>(o.rate), req, &names);
  AddLoop(r, st, "submit_rps", "submit_rpc");
  const int64_t markers_seen = static_cast<int64_t>(
      std::count_if(markers.begin(), markers.end(), [&](const std::string& m) { return consumer.SawDone(m); }));
  const bool all = consumer.AwaitDone(st.ok + markers_seen, o.timeout);
  cpu.End(ws.pids());
  consumer.Stop();
  ws.Stop();

  // The first receipt of each operation's terminal event.
  absl::flat_hash_set<std::string> seen;
  std::vector<int64_t> lag;
  int64_t terminal_events = 0;
  const auto& evs = consumer.events();
  for (size_t i = skip; i < evs.size(); ++i) {
    const EventConsumer::Event& e = evs[i];
    if (!e.done || markers.contains(e.name)) continue;
    ++terminal_events;
    if (!seen.insert(e.name).second) continue;
    lag.push_back(e.wall_ns - e.update_ns);
  }
  const int64_t received = static_cast<int64_t>(evs.size() - skip);
  r.Add("events", static_cast<double>(received), 0);
  r.Add("terminal_ops", static_cast<double>(seen.size()), 0);
  r.Add("terminal_duplicates", static_cast<double>(terminal_events) - static_cast<double>(seen.size()), 0);
  if (received > 1) {
    const double secs = static_cast<double>(evs.back().wall_ns - evs[skip].wall_ns) / 1e9;
    if (secs > 0) r.Add("events_per_s", static_cast<double>(received - 1) / secs, 0);
    r.Add("stream_s", secs, 2);
  }
  r.Add("reconnects", static_cast<double>(consumer.reconnects()), 0);
  r.AddLatencies("commit_to_consumer", lag, {50, 90, 99});
  cpu.Report(r);
  if (!consumer.failure().empty()) return Fail(r, absl::UnavailableError(consumer.failure()));
  if (!all || static_cast<int64_t>(seen.size()) < st.ok) {
    return Fail(r, absl::DeadlineExceededError(absl::StrCat(
        "only ", seen.size(), " of ", st.ok, " operations' ends arrived on the stream")));
  }
  return r;
}

}  // namespace longrun::bench
