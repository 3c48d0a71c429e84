#include "services/api/watch_hub.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "libs/common/logging.h"

namespace longrun::api {

WatchHub::WatchHub(store::OperationStore& store, WatchHubConfig config, const Clock& clock)
    : store_(store), config_(config), clock_(clock), read_backoff_(config.read_backoff) {
  last_refresh_ = clock_.Now();
}

WatchHub::~WatchHub() { Shutdown(); }

void WatchHub::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_refresh_ = clock_.Now();
  }
  thread_ = std::thread([this] { Loop(); });
}

void WatchHub::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      CloseAllLocked(
          absl::UnavailableError("server shutting down; reconnect to continue watching"));
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

int WatchHub::Subscribers() {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [id, set] : subs_) n += static_cast<int>(set.size());
  return n;
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
    // The database answers again: re-read at once rather than at the end of the back-off.
    read_backoff_.Reset();
    retry_at_ = absl::InfinitePast();
  }
  cv_.notify_all();
}

void WatchHub::CloseAllLocked(const absl::Status& why) {
  for (auto& [id, set] : subs_) {
    for (Subscriber* s : set) s->OnClosed(why);
  }
  subs_.clear();
  dirty_.clear();
  deadlines_.clear();
  deadline_of_.clear();
}

void WatchHub::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const WatchHubRunResult result = RunOnceLocked(lock);
    if (stopping_) break;
    const absl::Duration wait = result.next_run - clock_.Now();
    if (wait <= absl::ZeroDuration()) continue;
    // Woken early by a notification (unless the back-off is running), a new deadline or
    // shutdown.
    cv_.wait_for(lock, absl::ToChronoNanoseconds(std::min(wait, absl::Hours(1))), [&] {
      return stopping_ || timers_changed_ || (!dirty_.empty() && clock_.Now() >= retry_at_);
    });
    timers_changed_ = false;
  }
}

WatchHubRunResult WatchHub::RunOnce() {
  std::unique_lock<std::mutex> lock(mu_);
  return RunOnceLocked(lock);
}

WatchHubRunResult WatchHub::RunOnceLocked(std::unique_lock<std::mutex>& lock) {
  WatchHubRunResult result;
  if (stopping_) return result;
  absl::Time now = clock_.Now();
  // Deadlines.
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto [id, s] = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    deadline_of_.erase(s);
    s->OnDeadline();
    ++result.deadlines;
  }
  // Periodic safety net.
  if (now - last_refresh_ >= config_.refresh_interval) {
    last_refresh_ = now;
    for (const auto& [id, _] : subs_) dirty_.insert(id);
  }
  if (!dirty_.empty() && now >= retry_at_) {
    std::vector<std::string> ids(dirty_.begin(), dirty_.end());
    dirty_.clear();
    lock.unlock();
    ReadAndDeliver(std::move(ids), result);
    lock.lock();
    now = clock_.Now();
  }
  result.next_run = last_refresh_ + config_.refresh_interval;
  if (!deadlines_.empty()) result.next_run = std::min(result.next_run, deadlines_.begin()->first);
  // Ids that arrived during the read, or that a failed read put back.
  if (!dirty_.empty()) result.next_run = std::min(result.next_run, std::max(now, retry_at_));
  return result;
}

void WatchHub::ReadAndDeliver(std::vector<std::string> ids, WatchHubRunResult& result) {
  static log::RateLimiter error_log(absl::Seconds(10));
  for (size_t start = 0; start < ids.size(); start += config_.read_batch) {
    const size_t end = std::min(ids.size(), start + static_cast<size_t>(config_.read_batch));
    std::vector<std::string> batch(ids.begin() + start, ids.begin() + end);
    auto ops = store_.OperationGetMany(batch);
    ++result.reads;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (!ops.ok()) {
      ++result.failed_reads;
      const absl::Time now = clock_.Now();
      if (failing_since_ == absl::InfiniteFuture()) failing_since_ = now;
      const absl::Duration delay = read_backoff_.Next();
      retry_at_ = now + delay;
      if (error_log.Allow()) {
        LONGRUN_LOG(kWarning, "watch_refresh_failed",
                    {{"error", ops.status().message()}, {"retry_in", delay}});
      }
      // Give up on subscribers after a long outage, so clients reconnect elsewhere.
      if (config_.outage_timeout > absl::ZeroDuration() &&
          now - failing_since_ >= config_.outage_timeout) {
        CloseAllLocked(absl::UnavailableError(
            "database unreachable for too long; reconnect to continue watching"));
        failing_since_ = absl::InfiniteFuture();
        return;
      }
      // This batch and the ones not read yet wait for the next try.
      for (auto it = ids.begin() + start; it != ids.end(); ++it) {
        if (subs_.count(*it) > 0) dirty_.insert(std::move(*it));
      }
      return;
    }
    failing_since_ = absl::InfiniteFuture();
    read_backoff_.Reset();
    retry_at_ = absl::InfinitePast();
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
