// Channels and the closed-loop driver: C calls outstanding, each completion (on a gRPC
// callback thread) records its latency and starts the next call, until N calls are done.
// No thread per call and none of our own: the callback API's threads do everything.
#ifndef LONGRUN_TOOLS_BENCH_RPC_LOOP_H_
#define LONGRUN_TOOLS_BENCH_RPC_LOOP_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "libs/rpc/tls.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace longrun::bench {

// `n` separate HTTP/2 connections to `server`: each channel has its own subchannel pool
// and a distinct channel argument, so gRPC does not share a connection between them.
absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> MakeChannels(
    const std::string& server, int64_t n, const longrun::rpc::ClientConfig& client);
// Connects every channel (or fails after `timeout`).
absl::Status ConnectAll(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                        absl::Duration timeout);

std::string StatusText(const grpc::Status& s);

struct LoopStats {
  int64_t issued = 0;
  int64_t ok = 0;
  int64_t errors = 0;
  std::vector<int64_t> latency_ns;  // successful calls only
  std::vector<std::string> first_errors;  // up to 5
  int64_t start_mono_ns = 0;  // first call started
  int64_t end_mono_ns = 0;    // last call finished
  bool aborted = false;       // stopped early: more than max_errors errors
  double seconds() const { return static_cast<double>(end_mono_ns - start_mono_ns) / 1e9; }
};

// Starts call `i`; must call `done` exactly once with the outcome (typically from the gRPC
// callback). `done` may start the next call before returning.
using Done = std::function<void(const grpc::Status&)>;
using IssueFn = std::function<void(int64_t i, Done done)>;

// Runs calls 0..n-1 with at most `c` outstanding; stops issuing after more than
// `max_errors` errors. Returns once every issued call has finished.
LoopStats RunClosedLoop(int64_t n, int64_t c, int64_t max_errors, const IssueFn& issue);

// One unary call's state, alive until its callback has run.
template <typename Req, typename Resp>
struct UnaryCall {
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
};

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_RPC_LOOP_H_
