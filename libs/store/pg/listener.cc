#include "libs/store/pg/listener.h"

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "libs/common/logging.h"
#include "libs/store/pg/pool.h"

namespace longrun::store::pg {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& c, const std::string& channel, const PgListenerConfig& config)
      : pqxx::notification_receiver(c, channel), config_(config) {}
  void operator()(const std::string& payload, int) override {
    SentPayload p = SplitSentTime(payload);
    if (p.sent.has_value() && config_.on_lag) {
      config_.on_lag(channel(), std::max(absl::ZeroDuration(), absl::Now() - *p.sent));
    }
    if (config_.on_notify) config_.on_notify(channel(), p.payload);
  }

 private:
  const PgListenerConfig& config_;
};

}  // namespace

SentPayload SplitSentTime(const std::string& payload) {
  const size_t at = payload.rfind('@');
  int64_t micros = 0;
  if (at == std::string::npos || (at > 0 && payload[at - 1] != ',') ||
      !absl::SimpleAtoi(absl::string_view(payload).substr(at + 1), &micros)) {
    return {payload, std::nullopt};
  }
  return {payload.substr(0, at == 0 ? 0 : at - 1), absl::FromUnixMicros(micros)};
}

PgListener::PgListener(PgListenerConfig config) : config_(std::move(config)) {}

PgListener::~PgListener() { Stop(); }

void PgListener::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void PgListener::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PgListener::Loop() {
  Backoff backoff(config_.backoff);
  static log::RateLimiter limiter(absl::Seconds(10));
  while (!stop_) {
    try {
      pqxx::connection c(WithConnectDefaults(config_.url, config_.application_name));
      std::vector<std::unique_ptr<Receiver>> receivers;
      for (const std::string& channel : config_.channels) {
        receivers.push_back(std::make_unique<Receiver>(c, channel, config_));
      }
      c.get_notifs();  // issues LISTEN
      backoff.Reset();
      LONGRUN_LOG(kDebug, "listener_connected", {{"channels", absl::StrJoin(config_.channels, ",")}});
      if (config_.on_connected) config_.on_connected();
      while (!stop_) c.await_notification(0, 200000);
    } catch (const std::exception& e) {
      if (stop_) break;
      const absl::Duration delay = backoff.Next();
      if (limiter.Allow()) {
        LONGRUN_LOG(kWarning, "listener_disconnected",
                    {{"channels", absl::StrJoin(config_.channels, ",")}, {"error", StatusFromException(e).message()},
                     {"retry_in", delay}});
      }
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(delay), [this] { return stop_.load(); });
    }
  }
}

void PgJobNotifier::Start(std::function<void()> on_wake,
                          std::function<void(const std::string& id)> on_cancel) {
  listener_ = std::make_unique<PgListener>(PgListenerConfig{
      .url = url_,
      .channels = {"longrun_jobs", "longrun_cancel"},
      .application_name = application_name_,
      .on_notify =
          [on_wake, on_cancel](const std::string& channel, const std::string& payload) {
            if (channel == "longrun_cancel") {
              on_cancel(payload);
            } else {
              on_wake();
            }
          },
      .on_connected = on_wake,
      .on_lag = on_lag_,
  });
  listener_->Start();
}

void PgJobNotifier::Stop() {
  if (listener_) listener_->Stop();
}

}  // namespace longrun::store::pg
