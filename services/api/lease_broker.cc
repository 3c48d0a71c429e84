#include "services/api/lease_broker.h"

#include <algorithm>
#include <utility>

#include "libs/common/logging.h"

namespace longrun::api {

LeaseBroker::LeaseBroker(store::OperationStore& store, LeaseBrokerConfig config, const Clock& clock)
    : store_(store), config_(config), clock_(clock), next_poll_(clock.Now()) {}

LeaseBroker::~LeaseBroker() { Shutdown(); }

void LeaseBroker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void LeaseBroker::Shutdown() {
  std::vector<Done> orphans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [key, group] : groups_) {
      for (Waiter& w : group.waiters) orphans.push_back(std::move(w.done));
    }
    groups_.clear();
    group_of_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Done& done : orphans) {
    done(absl::UnavailableError("server shutting down; lease again from another replica"));
  }
}

uint64_t LeaseBroker::Lease(LeaseRequest request, Done done) {
  uint64_t handle = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      handle = next_handle_++;
      GroupKey key{request.kinds, request.queues, request.tenant};
      Group& group = groups_[key];
      // A newcomer gets a claim, unless the group's last one found the queue dry and no
      // wake-up or poll came since (idle long polls that keep arriving cost nothing).
      if (!group.dry) group.due = true;
      group.waiters.push_back({handle, std::move(request), std::move(done)});
      group_of_.emplace(handle, std::move(key));
    }
  }
  if (handle == 0) {
    done(absl::UnavailableError("server shutting down; lease again from another replica"));
    return 0;
  }
  cv_.notify_all();
  return handle;
}

bool LeaseBroker::Cancel(uint64_t handle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = group_of_.find(handle);
  if (it == group_of_.end()) return false;
  auto g = groups_.find(it->second);
  auto& waiters = g->second.waiters;
  waiters.erase(std::find_if(waiters.begin(), waiters.end(),
                             [&](const Waiter& w) { return w.handle == handle; }));
  if (waiters.empty()) groups_.erase(g);
  group_of_.erase(it);
  return true;
}

void LeaseBroker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

size_t LeaseBroker::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return group_of_.size();
}

LeaseRunResult LeaseBroker::RunOnce() {
  LeaseRunResult result;
  std::vector<GroupKey> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    const bool poll = now >= next_poll_;
    if (poll) next_poll_ = now + config_.poll_interval;
    const bool woke = std::exchange(woken_, false);
    for (auto& [key, group] : groups_) {
      if (poll || woke) {
        group.due = true;
        group.dry = false;
      }
      if (group.due) due.push_back(key);
    }
  }
  for (const GroupKey& key : due) {
    while (TryHead(key, result)) {
    }
  }
  // Waiters whose wait ran out (each got at least one claim when it arrived).
  std::vector<Done> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    for (auto g = groups_.begin(); g != groups_.end();) {
      auto& waiters = g->second.waiters;
      for (auto w = waiters.begin(); w != waiters.end();) {
        if (w->request.deadline > now || g->second.due) {
          ++w;
          continue;
        }
        expired.push_back(std::move(w->done));
        group_of_.erase(w->handle);
        w = waiters.erase(w);
      }
      g = waiters.empty() ? groups_.erase(g) : std::next(g);
    }
  }
  result.expired = static_cast<int>(expired.size());
  for (Done& done : expired) done(std::vector<store::ClaimedJob>{});
  return result;
}

bool LeaseBroker::TryHead(const GroupKey& key, LeaseRunResult& result) {
  LeaseRequest request;
  uint64_t handle = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto g = groups_.find(key);
    if (g == groups_.end() || !g->second.due || g->second.waiters.empty()) return false;
    handle = g->second.waiters.front().handle;
    request = g->second.waiters.front().request;
  }
  auto claimed = store_.JobClaim({.worker_id = request.worker_id,
                                  .kinds = request.kinds,
                                  .queues = request.queues,
                                  .tenant = request.tenant,
                                  .limit = request.max_jobs,
                                  .lease = request.lease});
  ++result.claims;
  std::vector<Done> failed;
  Done done;
  bool more = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto g = groups_.find(key);
    const bool present = group_of_.count(handle) > 0;
    if (!claimed.ok()) {
      // Everyone waiting for this group hears about the outage now, rather than at their
      // deadline; clients retry with back-off.
      if (g != groups_.end()) {
        for (Waiter& w : g->second.waiters) {
          failed.push_back(std::move(w.done));
          group_of_.erase(w.handle);
        }
        groups_.erase(g);
      }
    } else if (present) {
      Group& group = g->second;
      if (!claimed->empty()) {
        done = std::move(group.waiters.front().done);
        group.waiters.pop_front();
        group_of_.erase(handle);
      }
      // A full batch: there may be more for the next waiter. Otherwise the queue is dry.
      const bool full = static_cast<int>(claimed->size()) == request.max_jobs;
      group.dry = !full;
      more = full && !group.waiters.empty();
      group.due = more;
      if (group.waiters.empty()) groups_.erase(g);
    } else {
      more = true;  // the waiter left while we claimed: try the next one
    }
  }
  if (!claimed.ok()) {
    static log::RateLimiter error_log(absl::Seconds(10));
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "lease_failed", {{"error", claimed.status().message()}});
    }
    result.failed += static_cast<int>(failed.size());
    for (Done& d : failed) d(claimed.status());
    return false;
  }
  if (done) {
    result.leased += static_cast<int>(claimed->size());
    done(*std::move(claimed));
    return more;
  }
  // Claimed for a waiter that is gone: hand the jobs back (attempt number given back: no
  // token was issued for them).
  for (const store::ClaimedJob& job : *claimed) {
    if (store_.JobRelease({job.id, job.attempt}).ok()) ++result.released;
  }
  return more;
}

void LeaseBroker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    absl::Time wake = next_poll_;
    bool due = woken_;
    for (const auto& [key, group] : groups_) {
      due = due || group.due;
      for (const Waiter& w : group.waiters) wake = std::min(wake, w.request.deadline);
    }
    if (!due) {
      const absl::Duration wait = std::max(wake - clock_.Now(), absl::ZeroDuration());
      cv_.wait_for(lock, absl::ToChronoNanoseconds(wait), [&] {
        if (stopping_ || woken_) return true;
        for (const auto& [key, group] : groups_) {
          if (group.due) return true;
        }
        return false;
      });
      if (stopping_) break;
    }
    // Idle: no claims at all while nobody waits (the poll is for waiters only).
    if (groups_.empty()) {
      woken_ = false;
      next_poll_ = clock_.Now() + config_.poll_interval;
      continue;
    }
    lock.unlock();
    RunOnce();
    lock.lock();
  }
}

}  // namespace longrun::api
