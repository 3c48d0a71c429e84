// e2e, drain, pickup: modes that run jobs through workers the bench starts itself, and
// read completion from the database.
#include <atomic>
#include <chrono>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/rpc/tls.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "longrun/v1/workers.grpc.pb.h"
#include "tools/bench/client.h"
#include "tools/bench/db.h"
#include "tools/bench/jobs.h"
#include "tools/bench/procs.h"

namespace longrun::bench {

int64_t TimestampNs(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000000LL + t.nanos();
}

absl::Status StartWorkers(const Options& o, WorkerSet& ws, int64_t count, int64_t concurrency,
                          const std::string& tag) {
  if (count <= 0) return absl::OkStatus();
  std::vector<std::string> args = {
      absl::StrCat("--database-url=", o.database_url),
      absl::StrCat("--poll-interval=", absl::FormatDuration(o.worker_poll_interval)),
      absl::StrCat("--concurrency=", concurrency)};
  for (absl::string_view flag : absl::StrSplit(o.worker_flags, ' ', absl::SkipEmpty())) {
    args.emplace_back(flag);
  }
  return ws.Start(o.worker_bin, args, count, o.log_dir, tag);
}

absl::Status WaitWorkersUp(WorkerSet& ws) {
  absl::SleepFor(absl::Seconds(1));
  return ws.CheckRunning();
}

void WarnIfBacklog(Db& db) {
  auto n = db.QueryInt(
      "SELECT count(*) FROM operations WHERE state IN ('QUEUED', 'RETRY_WAIT', 'RUNNING', "
      "'CANCELLING')");
  if (n.ok() && *n > 0) {
    Log(absl::StrCat("warning: ", *n,
                     " operations of other runs are not finished; workers will spend time on "
                     "them and the figures will be off"));
  }
}

// Whether an operation of the run is unfinished. Each probe walks one partial index (the
// runnable and the leased rows) in its own order and stops at the first match, so a poll
// costs about the same (~0.2ms) with 20,000 jobs queued as with none. A count(*) over the
// run, or over its SUCCEEDED rows, grows with the run: ~8-15ms a poll at 20,000, which at a
// 10ms poll interval took ~15% of PostgreSQL's CPU in drain.
constexpr char kAnyUnfinishedSql[] =
    "SELECT (SELECT 1 FROM operations"
    "         WHERE state IN ('QUEUED', 'RETRY_WAIT') AND labels->>'bench_run' = $1"
    "         ORDER BY priority DESC, run_at, id LIMIT 1) IS NOT NULL"
    "    OR (SELECT 1 FROM operations"
    "         WHERE state IN ('RUNNING', 'CANCELLING') AND labels->>'bench_run' = $1"
    "         ORDER BY lease_expires_at LIMIT 1) IS NOT NULL";

absl::Status WaitAllFinished(Db& db, const std::string& label, absl::Duration interval,
                             absl::Duration timeout, WorkerSet* workers, int64_t* done_mono_ns,
                             double* backend_cpu_s) {
  const int64_t deadline = MonoNs() + absl::ToInt64Nanoseconds(timeout);
  const double cpu0 = ProcessCpuSeconds(db.BackendPid());
  // Without statistics (a fresh table) the planner reads every queued row through a bitmap
  // scan and sorts them (8-15ms a poll with 20,000 queued): make it walk the index in order,
  // and plan once.
  for (const char* set : {"SET enable_bitmapscan = off", "SET enable_seqscan = off",
                          "SET plan_cache_mode = force_generic_plan"}) {
    if (auto r = db.Query(set); !r.ok()) return r.status();
  }
  absl::Cleanup reset = [&db] {
    for (const char* q : {"RESET enable_bitmapscan", "RESET enable_seqscan",
                          "RESET plan_cache_mode", "DEALLOCATE any_unfinished"}) {
      (void)db.Query(q);
    }
  };
  if (absl::Status s = db.Prepare("any_unfinished", kAnyUnfinishedSql); !s.ok()) return s;
  for (;;) {
    const int64_t t = MonoNs();
    auto rows = db.Execute("any_unfinished", {label});
    if (!rows.ok()) return rows.status();
    if (rows->empty() || rows->front().empty()) return absl::InternalError("no result");
    if ((*rows)[0][0] != "t") {
      *done_mono_ns = t;  // the query's snapshot is no older than its start
      *backend_cpu_s = ProcessCpuSeconds(db.BackendPid()) - cpu0;
      return absl::OkStatus();
    }
    if (t > deadline) {
      auto n = db.QueryInt(
          "SELECT count(*) FROM operations WHERE labels->>'bench_run' = $1 "
          "AND state NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED')",
          {label});
      return absl::DeadlineExceededError(
          absl::StrCat(n.ok() ? absl::StrCat(*n) : "some", " operations still unfinished after ",
                       absl::FormatDuration(timeout)));
    }
    if (workers != nullptr) {
      if (absl::Status s = workers->CheckRunning(); !s.ok()) return s;
    }
    const int64_t next = t + absl::ToInt64Nanoseconds(interval);
    const int64_t now = MonoNs();
    if (next > now) std::this_thread::sleep_for(std::chrono::nanoseconds(next - now));
  }
}

absl::Status VerifySucceeded(Db& db, const std::string& label, int64_t acked) {
  auto rows = db.Query(
      "SELECT state::text, count(*) FROM operations WHERE labels->>'bench_run' = $1 GROUP BY 1",
      {label});
  if (!rows.ok()) return rows.status();
  int64_t succeeded = 0;
  std::string other;
  for (const auto& row : *rows) {
    int64_t n = 0;
    (void)absl::SimpleAtoi(row[1], &n);
    if (row[0] == "SUCCEEDED") {
      succeeded = n;
    } else {
      absl::StrAppend(&other, other.empty() ? "" : ", ", n, " ", row[0]);
    }
  }
  if (!other.empty() || succeeded < acked) {
    return absl::InternalError(absl::StrCat("expected ", acked, " SUCCEEDED operations, found ",
                                            succeeded, other.empty() ? "" : " and ", other));
  }
  return absl::OkStatus();
}

static absl::StatusOr<std::vector<int64_t>> ServerLatenciesNs(Db& db, const std::string& label,
                                                       const std::string& from,
                                                       const std::string& to) {
  auto rows = db.Query(absl::StrCat("SELECT (extract(epoch FROM ", to, " - ", from,
                                    ") * 1000000)::bigint FROM operations "
                                    "WHERE labels->>'bench_run' = $1 AND state = 'SUCCEEDED'"),
                       {label});
  if (!rows.ok()) return rows.status();
  std::vector<int64_t> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    int64_t us = 0;
    if (absl::SimpleAtoi(row[0], &us)) out.push_back(us * 1000);
  }
  return out;
}

namespace {

void AddWorkerParams(const Options& o, Params& p, int64_t workers, int64_t concurrency) {
  p.Add("workers", workers);
  p.Add("worker_concurrency", concurrency);
  p.Add("worker_poll_interval", absl::FormatDuration(o.worker_poll_interval));
}

// Parameters shared by the modes that submit echo jobs to running workers (e2e, drain).
void AddJobRunParams(const Options& o, Params& p, int64_t workers, int64_t concurrency,
                     const char* done_poll) {
  AddCommonParams(o, p);
  p.Add("kind", "demo.echo");
  p.Add("n", o.n);
  p.Add("c", o.c);
  AddWorkerParams(o, p, workers, concurrency);
  p.Add("done_poll", done_poll);
}

// Submits N demo.echo jobs with no worker running (drain, remote-drain).
LoopStats Enqueue(const Options& o, Clients& cl, const std::string& label, const char* mode,
                  RunResult& r) {
  Log(absl::StrCat(mode, ": enqueueing ", o.n, " jobs (label bench_run=", label, ")"));
  LoopStats st =
      SubmitMany(o, cl, o.n, o.c, SubmitTemplate("demo.echo", kEchoInput, label), nullptr);
  r.Add("enqueue_s", st.seconds(), 2);
  AddLoop(r, st, "enqueue_rps", "enqueue_rpc");
  return st;
}

// One remote worker of remote-drain: leases up to `max_jobs` at a time over its own
// connection and reports the batch's results (each job's input) in one CompleteJobs call,
// until `stop`. Returns the first RPC error.
absl::Status RemoteWorkerLoop(const Options& o, int index, int64_t max_jobs,
                              std::atomic<bool>& stop, std::atomic<int64_t>& completed) {
  auto channel = longrun::rpc::MakeChannel(o.server, o.client);
  if (!channel.ok()) return channel.status();
  auto stub = longrun::v1::Workers::NewStub(*channel);
  longrun::v1::LeaseJobsRequest lease;
  lease.set_worker_id(absl::StrCat("bench-remote-", index));
  lease.add_kinds("demo.echo");
  lease.set_max_jobs(static_cast<int32_t>(max_jobs));
  lease.mutable_wait()->set_nanos(200000000);
  lease.mutable_lease_duration()->set_seconds(30);
  auto deadline = [&] {
    return std::chrono::system_clock::now() + absl::ToChronoSeconds(o.rpc_timeout);
  };
  while (!stop.load()) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    longrun::v1::LeaseJobsResponse leased;
    if (grpc::Status s = stub->LeaseJobs(&ctx, lease, &leased); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("LeaseJobs: ", s.error_message()));
    }
    if (leased.jobs_size() == 0) continue;
    longrun::v1::CompleteJobsRequest request;
    for (longrun::v1::Job& job : *leased.mutable_jobs()) {
      longrun::v1::CompleteJobRequest* c = request.add_completions();
      c->set_lease_token(job.lease_token());
      *c->mutable_response() = std::move(*job.mutable_input());
    }
    grpc::ClientContext complete_ctx;
    complete_ctx.set_deadline(deadline());
    longrun::v1::CompleteJobsResponse results;
    if (grpc::Status s = stub->CompleteJobs(&complete_ctx, request, &results); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("CompleteJobs: ", s.error_message()));
    }
    for (const google::rpc::Status& r : results.results()) {
      if (r.code() != 0) return absl::InternalError(absl::StrCat("CompleteJobs: ", r.message()));
      completed.fetch_add(1);
    }
  }
  return absl::OkStatus();
}

}  // namespace

RunResult RunE2e(const Options& o, int run, Params& params) {
  const int64_t workers = o.workers;
  const int64_t conc = o.worker_concurrency;
  if (run == 0) AddJobRunParams(o, params, workers, conc, "20ms");
  RunResult r;
  const std::string label = RunLabel(o, run);
  auto db = Db::Connect(o.database_url);
  if (!db.ok()) return Fail(r, db.status());
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  WarnIfBacklog(**db);
  WorkerSet ws;
  if (absl::Status s = StartWorkers(o, ws, workers, conc, absl::StrCat("e2e-", run + 1)); !s.ok()) {
    return Fail(r, s);
  }
  if (absl::Status s = WaitWorkersUp(ws); !s.ok()) return Fail(r, s);
  Log(absl::StrCat("e2e: ", workers, " workers up; submitting ", o.n, " jobs (label bench_run=",
                   label, ")"));

  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin(ws.pids());
  // The poller waits for the submit loop, then for the run's last unfinished operation.
  std::atomic<bool> submitted{false};
  int64_t done_ns = 0;
  absl::Status poll_status;
  double poll_cpu_s = 0;
  std::thread poller([&] {
    auto pdb = Db::Connect(o.database_url);
    if (!pdb.ok()) {
      poll_status = pdb.status();
      return;
    }
    while (!submitted.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    poll_status = WaitAllFinished(**pdb, label, absl::Milliseconds(20), o.timeout, &ws, &done_ns,
                                  &poll_cpu_s);
  });
  LoopStats st = SubmitMany(o, **cl, o.n, o.c,
                            SubmitTemplate("demo.echo", kEchoInput, label), nullptr);
  submitted.store(true);
  poller.join();
  cpu.End(ws.pids());
  ws.Stop();

  const double total_s = static_cast<double>(done_ns - st.start_mono_ns) / 1e9;
  if (poll_status.ok()) {
    r.Add("jobs_per_s", static_cast<double>(st.ok) / total_s, 0);
    r.Add("total_s", total_s, 2);
  }
  r.Add("submit_s", st.seconds(), 2);
  AddLoop(r, st, "submit_rps", "submit_rpc");
  if (!poll_status.ok()) return Fail(r, poll_status);
  if (absl::Status s = VerifySucceeded(**db, label, st.ok); !s.ok()) Fail(r, s);
  auto lat = ServerLatenciesNs(**db, label, "create_time", "end_time");
  if (!lat.ok()) return Fail(r, lat.status());
  r.AddLatencies("submit_to_done", *lat);
  cpu.Report(r);
  // PostgreSQL CPU spent on the bench's own done-polling (should be ~0).
  r.Add("cpu_done_poll_cores", total_s > 0 ? poll_cpu_s / total_s : 0, 3);
  return r;
}

RunResult RunDrain(const Options& o, int run, Params& params) {
  const int64_t workers = o.workers;
  const int64_t conc = o.worker_concurrency;
  if (run == 0) AddJobRunParams(o, params, workers, conc, "10ms");
  RunResult r;
  const std::string label = RunLabel(o, run);
  if (workers <= 0) return Fail(r, absl::InvalidArgumentError("drain needs --workers >= 1"));
  auto db = Db::Connect(o.database_url);
  if (!db.ok()) return Fail(r, db.status());
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  WarnIfBacklog(**db);

  const LoopStats st = Enqueue(o, **cl, label, "drain", r);
  if (!r.failure.empty()) return r;

  Log(absl::StrCat("drain: starting ", workers, " workers"));
  WorkerSet ws;
  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin();
  const int64_t start_mono = MonoNs();
  const int64_t start_wall = WallNs();
  if (absl::Status s = StartWorkers(o, ws, workers, conc, absl::StrCat("drain-", run + 1));
      !s.ok()) {
    return Fail(r, s);
  }
  int64_t done_ns = 0;
  double poll_cpu_s = 0;
  absl::Status s = WaitAllFinished(**db, label, absl::Milliseconds(10), o.timeout, &ws, &done_ns,
                                   &poll_cpu_s);
  cpu.End(ws.pids());
  ws.Stop();
  if (!s.ok()) return Fail(r, s);
  const double drain_s = static_cast<double>(done_ns - start_mono) / 1e9;
  r.Add("drain_s", drain_s, 2);
  r.Add("jobs_per_s", static_cast<double>(st.ok) / drain_s, 0);
  auto first = db->get()->QueryInt(
      "SELECT (extract(epoch FROM min(start_time)) * 1000000)::bigint FROM operations "
      "WHERE labels->>'bench_run' = $1",
      {label});
  if (first.ok()) {
    r.Add("first_claim_after_s", static_cast<double>(*first * 1000 - start_wall) / 1e9, 2);
  }
  if (absl::Status v = VerifySucceeded(**db, label, st.ok); !v.ok()) Fail(r, v);
  cpu.Report(r);
  r.Add("cpu_done_poll_cores", poll_cpu_s / drain_s, 3);
  return r;
}

RunResult RunRemoteDrain(const Options& o, int run, Params& params) {
  const int64_t workers = o.workers;
  const int64_t max_jobs = o.worker_concurrency;
  if (run == 0) {
    AddCommonParams(o, params);
    params.Add("kind", "demo.echo");
    params.Add("n", o.n);
    params.Add("c", o.c);
    params.Add("remote_workers", workers);
    params.Add("max_jobs", max_jobs);
    params.Add("done_poll", "10ms");
  }
  RunResult r;
  const std::string label = RunLabel(o, run);
  if (workers <= 0) return Fail(r, absl::InvalidArgumentError("remote-drain needs --workers >= 1"));
  auto db = Db::Connect(o.database_url);
  if (!db.ok()) return Fail(r, db.status());
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  WarnIfBacklog(**db);
  const LoopStats st = Enqueue(o, **cl, label, "remote-drain", r);
  if (!r.failure.empty()) return r;

  Log(absl::StrCat("remote-drain: starting ", workers, " remote workers (in this process, over "
                   "longrun.v1.Workers)"));
  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin();
  const int64_t start_mono = MonoNs();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> completed{0};
  std::vector<absl::Status> errors(static_cast<size_t>(workers));
  std::vector<std::thread> threads;
  for (int64_t i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      errors[static_cast<size_t>(i)] = RemoteWorkerLoop(o, static_cast<int>(i), max_jobs, stop,
                                                        completed);
    });
  }
  int64_t done_ns = 0;
  double poll_cpu_s = 0;
  absl::Status s = WaitAllFinished(**db, label, absl::Milliseconds(10), o.timeout, nullptr,
                                   &done_ns, &poll_cpu_s);
  cpu.End();
  stop.store(true);
  for (std::thread& t : threads) t.join();
  if (!s.ok()) return Fail(r, s);
  for (const absl::Status& e : errors) {
    if (!e.ok()) return Fail(r, e);
  }
  const double drain_s = static_cast<double>(done_ns - start_mono) / 1e9;
  r.Add("drain_s", drain_s, 2);
  r.Add("jobs_per_s", static_cast<double>(st.ok) / drain_s, 0);
  r.Add("completed_rpcs", static_cast<double>(completed.load()), 0);
  if (absl::Status v = VerifySucceeded(**db, label, st.ok); !v.ok()) Fail(r, v);
  cpu.Report(r);
  r.Add("cpu_done_poll_cores", poll_cpu_s / drain_s, 3);
  return r;
}

RunResult RunIdleLeases(const Options& o, int run, Params& params) {
  const int64_t polls = o.watchers;
  const absl::Duration window = absl::Seconds(10);
  if (run == 0) {
    AddCommonParams(o, params);
    params.Add("long_polls", polls);
    params.Add("wait", "30s");
    params.Add("window", absl::FormatDuration(window));
  }
  RunResult r;
  // A kind nobody submits: every call waits its full 30 s unless cancelled.
  longrun::v1::LeaseJobsRequest lease;
  lease.set_worker_id("bench-idle");
  lease.add_kinds(absl::StrCat("bench.idle.", o.run_id));
  lease.mutable_wait()->set_seconds(30);
  auto channel = longrun::rpc::MakeChannel(o.server, o.client);
  if (!channel.ok()) {
    r.failure = std::string(channel.status().message());
    return r;
  }
  auto stub = longrun::v1::Workers::NewStub(*channel);
  struct Call {
    grpc::ClientContext ctx;
    longrun::v1::LeaseJobsResponse response;
  };
  std::vector<std::unique_ptr<Call>> calls;
  absl::Mutex mu;
  int64_t open = polls;
  int64_t early = 0;  // answered before we cancelled them: should be none
  for (int64_t i = 0; i < polls; ++i) {
    calls.push_back(std::make_unique<Call>());
    stub->async()->LeaseJobs(&calls.back()->ctx, &lease, &calls.back()->response,
                             [&](grpc::Status s) {
                               absl::MutexLock lock(&mu);
                               if (s.error_code() != grpc::StatusCode::CANCELLED) ++early;
                               --open;
                             });
  }
  absl::SleepFor(absl::Seconds(1));  // all open and waiting
  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin();
  absl::SleepFor(window);
  cpu.End();
  for (auto& call : calls) call->ctx.TryCancel();
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(+[](int64_t* n) { return *n == 0; }, &open));
  if (early > 0) {
    return Fail(r, absl::InternalError(absl::StrCat(early, " long polls ended before their wait")));
  }
  cpu.Report(r);
  return r;
}

RunResult RunPickup(const Options& o, int run, Params& params) {
  const int64_t workers = o.workers;
  const int64_t conc = o.worker_concurrency;
  if (run == 0) {
    AddCommonParams(o, params);
    params.Add("kind", "demo.echo");
    params.Add("n", o.n);
    AddWorkerParams(o, params, workers, conc);
  }
  RunResult r;
  const std::string label = RunLabel(o, run);
  auto cl = Connect(o);
  if (!cl.ok()) return Fail(r, cl.status());
  if (o.database_url.empty() && workers > 0) {
    return Fail(r, absl::InvalidArgumentError("pickup starts a worker: --database-url is required"));
  }
  if (!o.database_url.empty()) {
    auto db = Db::Connect(o.database_url);
    if (!db.ok()) return Fail(r, db.status());
    WarnIfBacklog(**db);
  }
  WorkerSet ws;
  if (absl::Status s = StartWorkers(o, ws, workers, conc, absl::StrCat("pickup-", run + 1));
      !s.ok()) {
    return Fail(r, s);
  }
  if (absl::Status s = WaitWorkersUp(ws); !s.ok()) return Fail(r, s);
  Log(absl::StrCat("pickup: ", o.n, " sequential submit + watch"));

  const auto req = SubmitTemplate("demo.echo", kEchoInput, label);
  std::vector<int64_t> server_start, seen_running, seen_done;
  CpuWindow cpu(o.api_pid, o.pg_pid);
  cpu.Begin(ws.pids());
  auto error = [&](const std::string& e) {
    ++r.errors;
    if (r.error_samples.size() < 5) {
      r.error_samples.push_back(e);
      Log("error: " + e);
    }
  };
  for (int64_t k = 0; k < o.n && r.errors <= o.max_errors; ++k) {
    auto& stub = (*cl)->op(k);
    const int64_t t0 = MonoNs();
    google::longrunning::Operation op;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(o.rpc_timeout));
      grpc::Status s = stub.Submit(&ctx, req, &op);
      if (!s.ok()) {
        error("Submit: " + StatusText(s));
        continue;
      }
    }
    longrun::v1::WatchOperationRequest wreq;
    wreq.set_name(op.name());
    grpc::ClientContext wctx;
    wctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(o.timeout));
    auto reader = stub.WatchOperation(&wctx, wreq);
    int64_t t_run = 0, t_done = 0;
    longrun::v1::OperationMetadata md;
    google::longrunning::Operation msg;
    while (reader->Read(&msg)) {
      const int64_t t = MonoNs();
      longrun::v1::OperationMetadata m;
      msg.metadata().UnpackTo(&m);
      if (t_run == 0 && (msg.done() || m.state() != longrun::v1::OperationMetadata::QUEUED)) {
        t_run = t;
      }
      if (msg.done()) {
        t_done = t;
        md = m;
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok() || t_done == 0) {
      error(absl::StrCat("WatchOperation ", op.name(), ": ",
                         s.ok() ? "ended without a done message" : StatusText(s)));
      continue;
    }
    if (md.state() != longrun::v1::OperationMetadata::SUCCEEDED) {
      error(absl::StrCat(op.name(), " ended ", longrun::v1::OperationMetadata::State_Name(md.state())));
      continue;
    }
    server_start.push_back(TimestampNs(md.start_time()) - TimestampNs(md.create_time()));
    seen_running.push_back(t_run - t0);
    seen_done.push_back(t_done - t0);
  }
  cpu.End(ws.pids());
  ws.Stop();
  r.Add("pickups", static_cast<double>(seen_done.size()), 0);
  r.AddLatencies("start_server", server_start, {50, 99});
  r.AddLatencies("running_seen", seen_running, {50, 99});
  r.AddLatencies("done_seen", seen_done, {50, 99});
  cpu.Report(r);
  if (r.errors > o.max_errors) Fail(r, absl::InternalError("more than --max-errors errors"));
  return r;
}

}  // namespace longrun::bench
