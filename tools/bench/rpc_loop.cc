#include "tools/bench/rpc_loop.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tools/bench/bench.h"

namespace longrun::bench {

absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> MakeChannels(
    const std::string& server, int64_t n, const longrun::rpc::ClientConfig& client) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (int64_t i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("longrun.bench.channel", static_cast<int>(i));  // distinct args: own connection
    auto channel = longrun::rpc::MakeChannel(server, client, args);
    if (!channel.ok()) return channel.status();
    out.push_back(*std::move(channel));
  }
  return out;
}

absl::Status ConnectAll(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                        absl::Duration timeout) {
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout);
  for (size_t i = 0; i < channels.size(); ++i) {
    if (!channels[i]->WaitForConnected(deadline)) {
      return absl::UnavailableError(
          absl::StrCat("channel ", i, " did not connect within ", absl::FormatDuration(timeout)));
    }
  }
  return absl::OkStatus();
}

std::string StatusText(const grpc::Status& s) {
  // gRPC and absl share the canonical codes and their names.
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())),
                      ": ", s.error_message());
}

namespace {

class ClosedLoop {
 public:
  ClosedLoop(int64_t n, int64_t c, int64_t max_errors, const IssueFn& issue)
      : n_(n), c_(c), max_errors_(max_errors), issue_(issue), latency_(n, -1) {}

  LoopStats Run() {
    LoopStats st;
    const int64_t initial = std::min(n_, std::max<int64_t>(c_, 1));
    st.start_mono_ns = MonoNs();
    if (initial == 0) {
      st.end_mono_ns = st.start_mono_ns;
      return st;
    }
    inflight_.store(initial);
    next_.store(initial);
    for (int64_t i = 0; i < initial; ++i) Start(i);
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return finished_; });
      st.first_errors = first_errors_;
    }
    st.end_mono_ns = end_ns_;
    st.issued = std::min(next_.load(), n_);
    st.errors = errors_.load();
    st.aborted = stop_.load();
    st.latency_ns.reserve(static_cast<size_t>(n_));
    for (int64_t v : latency_) {
      if (v >= 0) st.latency_ns.push_back(v);
    }
    st.ok = static_cast<int64_t>(st.latency_ns.size());
    return st;
  }

 private:
  void Start(int64_t i) {
    const int64_t t0 = MonoNs();
    issue_(i, [this, i, t0](const grpc::Status& s) { OnDone(i, t0, s); });
  }

  void OnDone(int64_t i, int64_t t0, const grpc::Status& s) {
    const int64_t t1 = MonoNs();
    if (s.ok()) {
      latency_[static_cast<size_t>(i)] = t1 - t0;
    } else {
      const int64_t e = errors_.fetch_add(1) + 1;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (first_errors_.size() < 5) {
          first_errors_.push_back(StatusText(s));
          Log(absl::StrCat("RPC error (call ", i, "): ", StatusText(s)));
        }
      }
      if (e > max_errors_) stop_.store(true);
    }
    if (!stop_.load()) {
      const int64_t j = next_.fetch_add(1);
      if (j < n_) {
        Start(j);  // keeps this slot's inflight count
        return;
      }
    }
    if (inflight_.fetch_sub(1) == 1) {
      end_ns_ = MonoNs();
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
      cv_.notify_all();
    }
  }

  const int64_t n_;
  const int64_t c_;
  const int64_t max_errors_;
  const IssueFn& issue_;
  std::vector<int64_t> latency_;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> inflight_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<bool> stop_{false};
  int64_t end_ns_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::vector<std::string> first_errors_;
};

}  // namespace

LoopStats RunClosedLoop(int64_t n, int64_t c, int64_t max_errors, const IssueFn& issue) {
  ClosedLoop loop(n, c, max_errors, issue);
  return loop.Run();
}

}  // namespace longrun::bench
