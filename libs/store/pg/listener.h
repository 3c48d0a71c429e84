// PgListener: one dedicated connection that LISTENs on a channel and hands each payload to a
// callback, reconnecting with capped exponential back-off and jitter when the connection
// breaks or cannot be opened. After every (re)connect it
// calls on_connected, because notifications sent while disconnected are lost: callers re-read
// what they care about.
#ifndef LONGRUN_STORE_PG_LISTENER_H_
#define LONGRUN_STORE_PG_LISTENER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "libs/common/backoff.h"
#include "libs/store/operation_store.h"

namespace longrun::store::pg {

struct PgListenerConfig {
  std::string url;
  std::vector<std::string> channels;
  std::string application_name = "longrun-listener";  // visible in pg_stat_activity
  std::function<void(const std::string& channel, const std::string& payload)> on_notify;
  std::function<void()> on_connected;
  // With each notification that says when it was sent: how long it took to arrive.
  std::function<void(const std::string& channel, absl::Duration lag)> on_lag;
  // Wait between failed connection attempts; reset once connected.
  BackoffConfig backoff = {.initial = absl::Milliseconds(100), .max = absl::Seconds(5)};
};

// A notification's payload without its sending time, which longrun's notifications end with
// as "@<microseconds since the epoch>" (after a comma if there is more); see
// 0008_notify_timestamp.sql. A payload without one comes back whole, with no time.
struct SentPayload {
  std::string payload;
  std::optional<absl::Time> sent;
};
SentPayload SplitSentTime(const std::string& payload);

class PgListener {
 public:
  explicit PgListener(PgListenerConfig config);
  ~PgListener();  // stops
  void Start();
  void Stop();

 private:
  void Loop();
  PgListenerConfig config_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;               // with stop_cv_: Stop() ends a back-off wait at once
  std::condition_variable stop_cv_;
  std::thread thread_;
};

// JobNotifier over PgListener on channels "longrun_jobs" and "longrun_cancel".
class PgJobNotifier final : public JobNotifier {
 public:
  PgJobNotifier(std::string url, std::string application_name,
                std::function<void(const std::string&, absl::Duration)> on_lag = nullptr)
      : url_(std::move(url)),
        application_name_(std::move(application_name)),
        on_lag_(std::move(on_lag)) {}
  ~PgJobNotifier() override { Stop(); }
  void Start(std::function<void()> on_wake,
             std::function<void(const std::string& id)> on_cancel) override;
  void Stop() override;

 private:
  std::string url_;
  std::string application_name_;
  std::function<void(const std::string&, absl::Duration)> on_lag_;
  std::unique_ptr<PgListener> listener_;
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_LISTENER_H_
