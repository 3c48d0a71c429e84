// JobWaker: tells idle workers that new jobs exist, off the Submit path. Poke() is cheap and
// never blocks; one background thread sends at most one wake-up at a time, so any number of
// pokes while one is in flight become a single NOTIFY (debounced by construction).
#ifndef LONGRUN_SERVICES_API_JOB_WAKE_H_
#define LONGRUN_SERVICES_API_JOB_WAKE_H_

#include <condition_variable>
#include <mutex>
#include <thread>

#include "libs/store/operation_store.h"

namespace longrun::api {

class JobWaker {
 public:
  explicit JobWaker(store::OperationStore& store);
  ~JobWaker();  // Stop()
  void Poke();
  void Stop();

 private:
  void Loop();
  store::OperationStore& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_JOB_WAKE_H_
