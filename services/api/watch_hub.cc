#include "services/api/watch_hub.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/common/logging.h"

namespace longrun::api {

WatchHub::WatchHub(store::OperationStore& store, WatchHubConfig config)
    : store_(store), config_(config) {}

WatchHub::~WatchHub() { Shutdown(); }

void WatchHub::Start() {
  last_refresh_ = absl::Now();
  thread_ = std::thread([this] { Loop(); });
}

void WatchHub::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      const absl::Status why = absl::UnavailableError(
          "server shutting down; reconnect to continue watching");
      for (auto& [id, set] : subs_) {
        for (Subscriber* s : set) s->OnClosed(why);
      }
      subs_.clear();
      deadlines_.clear();
      deadline_of_.clear();
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool WatchHub::Subscribe(const std::string& id, Subscriber* s, absl::Time deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  subs_[id].insert(s);
  if (deadline != absl::InfiniteFuture()) {
    deadline_of_[s] = deadlines_.emplace(deadline, std::make_pair(id, s));
    timers_changed_ = true;
    cv_.notify_all();
  }
  return true;
}

void WatchHub::Unsubscribe(const std::string& id, Subscriber* s) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = subs_.find(id);
  if (it != subs_.end() && it->second.erase(s) > 0 && it->second.empty()) subs_.erase(it);
  DropDeadlineLocked(s);
}

void WatchHub::DropDeadlineLocked(Subscriber* s) {
  if (auto d = deadline_of_.find(s); d != deadline_of_.end()) {
    deadlines_.erase(d->second);
    deadline_of_.erase(d);
  }
}

void WatchHub::OnNotify(const std::string& payload) {
  bool any = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (absl::string_view id : absl::StrSplit(payload, ',', absl::SkipEmpty())) {
      std::string key(id);
      if (subs_.count(key) > 0) {
        dirty_.insert(std::move(key));
        any = true;
      }
    }
  }
  if (any) cv_.notify_all();
}

void WatchHub::OnListenerConnected() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, _] : subs_) dirty_.insert(id);
  }
  cv_.notify_all();
}

void WatchHub::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    // Deadlines.
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto [id, s] = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      deadline_of_.erase(s);
      s->OnDeadline();
    }
    // Periodic safety net.
    if (now - last_refresh_ >= config_.refresh_interval) {
      last_refresh_ = now;
      for (const auto& [id, _] : subs_) dirty_.insert(id);
    }
    if (!dirty_.empty()) {
      std::vector<std::string> ids(dirty_.begin(), dirty_.end());
      dirty_.clear();
      lock.unlock();
      ReadAndDeliver(std::move(ids));
      lock.lock();
      continue;
    }
    absl::Time wake = last_refresh_ + config_.refresh_interval;
    if (!deadlines_.empty()) wake = std::min(wake, deadlines_.begin()->first);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(std::max(wake - absl::Now(), absl::ZeroDuration())),
                 [&] { return stopping_ || !dirty_.empty() || timers_changed_; });
    timers_changed_ = false;
  }
}

void WatchHub::ReadAndDeliver(std::vector<std::string> ids) {
  static log::RateLimiter error_log(absl::Seconds(10));
  for (size_t start = 0; start < ids.size(); start += config_.read_batch) {
    const size_t end = std::min(ids.size(), start + static_cast<size_t>(config_.read_batch));
    std::vector<std::string> batch(ids.begin() + start, ids.begin() + end);
    auto ops = store_.OperationGetMany(batch);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (!ops.ok()) {
      // Try again on the next round; give up on subscribers after a long outage.
      const absl::Time now = absl::Now();
      if (failing_since_ == absl::InfiniteFuture()) failing_since_ = now;
      if (error_log.Allow()) {
        LONGRUN_LOG(kWarning, "watch_refresh_failed", {{"error", ops.status().message()}});
      }
      if (config_.outage_timeout > absl::ZeroDuration() &&
          now - failing_since_ >= config_.outage_timeout) {
        const absl::Status why = absl::UnavailableError(
            "database unreachable for too long; reconnect to continue watching");
        for (auto& [id, set] : subs_) {
          for (Subscriber* s : set) {
            DropDeadlineLocked(s);
            s->OnClosed(why);
          }
        }
        subs_.clear();
        failing_since_ = absl::InfiniteFuture();
        return;
      }
      for (auto& id : batch) dirty_.insert(std::move(id));
      continue;
    }
    failing_since_ = absl::InfiniteFuture();
    std::unordered_set<std::string> found;
    for (const core::Operation& op : *ops) {
      found.insert(op.id);
      auto it = subs_.find(op.id);
      if (it == subs_.end()) continue;
      for (Subscriber* s : it->second) s->OnOperation(op);
    }
    // Watched operations that no longer exist (deleted).
    for (const std::string& id : batch) {
      if (found.count(id) > 0) continue;
      auto it = subs_.find(id);
      if (it == subs_.end()) continue;
      const absl::Status gone = absl::NotFoundError("operation operations/" + id + " was deleted");
      for (Subscriber* s : it->second) {
        DropDeadlineLocked(s);
        s->OnClosed(gone);
      }
      subs_.erase(it);
    }
  }
}

}  // namespace longrun::api
