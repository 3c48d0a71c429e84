// What several modes share: connected stubs over --channels connections, batches of
// Submit / Cancel through the closed loop, and turning loop statistics into figures.
#ifndef LONGRUN_TOOLS_BENCH_CLIENT_H_
#define LONGRUN_TOOLS_BENCH_CLIENT_H_

#include <memory>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "longrun/v1/operations.grpc.pb.h"
#include "tools/bench/bench.h"
#include "tools/bench/rpc_loop.h"

namespace longrun::bench {

struct Clients {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<longrun::v1::Operations::Stub>> ops;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health;
  longrun::v1::Operations::Stub& op(int64_t i) { return *ops[static_cast<size_t>(i) % ops.size()]; }
};

// Opens and connects --channels channels.
absl::StatusOr<std::unique_ptr<Clients>> Connect(const Options& o);

// The label value tying a run's operations together: RUNID-RUN.
std::string RunLabel(const Options& o, int run);

// A Submit request: kind, input (a JSON object) and label bench_run=`label`.
longrun::v1::SubmitRequest SubmitTemplate(const std::string& kind, const std::string& input_json,
                                          const std::string& label);

// Submits `n` copies of `req` with `c` outstanding; names[i] is call i's operation ("" if
// it failed). `names` may be null. `vary`, if set, adjusts call i's copy before it is sent.
LoopStats SubmitMany(const Options& o, Clients& cl, int64_t n, int64_t c,
                     const longrun::v1::SubmitRequest& req, std::vector<std::string>* names,
                     const std::function<void(int64_t i, longrun::v1::SubmitRequest&)>& vary = {});

// Open loop: starts call i at `rate` calls per second from the first (never more than `c`
// outstanding: a slow server delays the schedule rather than piling up calls). rate <= 0 is
// SubmitMany's closed loop. Latencies are per call, as SubmitMany's.
LoopStats SubmitPaced(const Options& o, Clients& cl, int64_t n, int64_t c, double rate,
                      const longrun::v1::SubmitRequest& req, std::vector<std::string>* names);

// Cancels the named operations (unmeasured clean-up so that no runnable work is left for
// later modes); returns how many calls failed.
int64_t CancelAll(const Options& o, Clients& cl, const std::vector<std::string>& names);

// rps, PREFIX latencies; errors and samples; a failure if the loop exceeded --max-errors.
void AddLoop(RunResult& r, const LoopStats& st, const std::string& rps_key,
             const std::string& latency_prefix);

// Common parameters: server, channels.
void AddCommonParams(const Options& o, Params& p);
// Parameters of a closed-loop RPC mode: the common ones, the RPC, n, c and warmup.
void AddRpcParams(const Options& o, Params& p, const std::string& rpc);

// Records s as the run's failure (the first one wins) and returns the result.
RunResult Fail(RunResult& r, const absl::Status& s);

// The input of the no-op demo.echo jobs the modes submit.
inline constexpr char kEchoInput[] = R"({"hello": "bench"})";

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_CLIENT_H_
