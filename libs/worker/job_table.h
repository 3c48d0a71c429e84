// JobTable: the attempts this worker holds (claimed, result not yet recorded), by id.
// The dispatch loop adds and forgets them; the heartbeat loop extends their leases; the
// progress loop writes their progress; cancellation and drain find them here. Thread-safe;
// it never calls out while holding its lock.
#ifndef LONGRUN_WORKER_JOB_TABLE_H_
#define LONGRUN_WORKER_JOB_TABLE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "libs/worker/attempt.h"

namespace longrun::worker {

class JobTable {
 public:
  // An older attempt of the same job (its lease lost) may still be here: this one replaces
  // it, and Forget never removes another attempt's entry.
  void Add(std::shared_ptr<Attempt> attempt) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = attempt->id();
    jobs_[id] = std::move(attempt);
  }
  void Forget(const store::JobRef& ref) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = jobs_.find(ref.id); it != jobs_.end() && it->second->attempt() == ref.attempt) {
      jobs_.erase(it);
    }
  }
  std::shared_ptr<Attempt> Find(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second;
  }
  std::vector<std::shared_ptr<Attempt>> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Attempt>> out;
    out.reserve(jobs_.size());
    for (const auto& [id, attempt] : jobs_) out.push_back(attempt);
    return out;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return jobs_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Attempt>> jobs_;
};

}  // namespace longrun::worker

#endif  // LONGRUN_WORKER_JOB_TABLE_H_
