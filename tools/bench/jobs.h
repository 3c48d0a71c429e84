// Helpers of the modes that run jobs (modes_jobs.cc, mode_watch.cc).
#ifndef LONGRUN_TOOLS_BENCH_JOBS_H_
#define LONGRUN_TOOLS_BENCH_JOBS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"
#include "tools/bench/bench.h"
#include "tools/bench/db.h"
#include "tools/bench/procs.h"

namespace longrun::bench {

int64_t TimestampNs(const google::protobuf::Timestamp& t);

// Starts `count` longrun-worker processes (--database-url, --poll-interval, --concurrency).
absl::Status StartWorkers(const Options& o, WorkerSet& ws, int64_t count, int64_t concurrency,
                          const std::string& tag);
// Gives started workers a second to connect; an error if one has exited.
absl::Status WaitWorkersUp(WorkerSet& ws);
// Logs a warning if unfinished operations (of any run) are in the database.
void WarnIfBacklog(Db& db);
// Polls every `interval` until no operation labelled bench_run=`label` is unfinished (a
// constant-cost probe; see modes_jobs.cc);
// *done_mono_ns is the start of the query that saw none left, *backend_cpu_s the CPU its
// PostgreSQL backend spent meanwhile (readable when the cluster runs on this machine).
absl::Status WaitAllFinished(Db& db, const std::string& label, absl::Duration interval,
                             absl::Duration timeout, WorkerSet* workers, int64_t* done_mono_ns,
                             double* backend_cpu_s);
// An error unless every operation of the run SUCCEEDED and at least `acked` did.
absl::Status VerifySucceeded(Db& db, const std::string& label, int64_t acked);

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_JOBS_H_
