// A minimal HTTP/1.1 receiver for the webhooks mode: one epoll thread on 127.0.0.1 (a port
// from the kernel) that answers every complete request 200 with an empty body, keeps
// connections alive unless the client says `connection: close` (or speaks HTTP/1.0 without
// keep-alive), and records each request's receipt time, webhook-id and body. Test tooling:
// no chunked bodies, no pipelining limits, no TLS.
#ifndef LONGRUN_TOOLS_BENCH_HOOK_RECEIVER_H_
#define LONGRUN_TOOLS_BENCH_HOOK_RECEIVER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace longrun::bench {

class HookReceiver {
 public:
  struct Hook {
    int64_t wall_ns = 0;     // the request's last byte was read
    std::string webhook_id;  // "" if the header was missing
    std::string body;
  };
  struct Counts {
    int64_t requests = 0;
    int64_t unique_ids = 0;
    int64_t connections = 0;  // accepted
    int64_t bad = 0;          // unparseable requests (answered 400 and closed)
    int64_t foreign = 0;      // requests for another path (answered 410)
  };

  // Requests for any other path than `path` are answered 410 Gone (which stops that
  // delivery: stale ones of an earlier run whose port the kernel handed out again) and
  // counted in `foreign`, not recorded.
  static absl::StatusOr<std::unique_ptr<HookReceiver>> Start(const std::string& path);
  ~HookReceiver();
  HookReceiver(const HookReceiver&) = delete;
  HookReceiver& operator=(const HookReceiver&) = delete;

  int port() const { return port_; }
  // Waits until `n` distinct webhook-ids have arrived; false on timeout.
  bool AwaitUnique(int64_t n, absl::Duration timeout);
  Counts counts();
  // Every request so far, in arrival order (the receiver keeps running).
  std::vector<Hook> Take();
  void Stop();

 private:
  HookReceiver(std::string path, int listen_fd, int epoll_fd, int wake_fd, int port)
      : path_(std::move(path)), listen_fd_(listen_fd), epoll_fd_(epoll_fd), wake_fd_(wake_fd),
        port_(port) {}
  void Loop();
  // Parses and answers the complete requests in `buf`; false: close the connection.
  bool Serve(int fd, std::string& buf);
  void Record(Hook hook);

  const std::string path_;
  const int listen_fd_;
  const int epoll_fd_;
  const int wake_fd_;
  const int port_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Hook> hooks_;
  absl::flat_hash_set<std::string> ids_;
  Counts counts_;
  bool stopped_ = false;
};

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_HOOK_RECEIVER_H_
