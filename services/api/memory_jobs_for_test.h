// Test-only: moves operations through a MemoryOperationStore the way a worker would, so api
// unit tests can make the changes a watcher sees (insert, claim, progress, completion).
#ifndef LONGRUN_SERVICES_API_MEMORY_JOBS_FOR_TEST_H_
#define LONGRUN_SERVICES_API_MEMORY_JOBS_FOR_TEST_H_

#include <string>

#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/core/ids.h"
#include "libs/store/memory/memory_operation_store.h"

namespace longrun::api {

class MemoryJobs {
 public:
  MemoryJobs(const Clock& clock, store::memory::MemoryOperationStore& store)
      : clock_(clock), store_(store) {}

  // A new QUEUED operation of kind "k"; returns its id.
  std::string Insert() {
    auto r = store_.OperationInsert(
        {.id = core::NewOperationId(clock_.Now()), .spec = {.kind = "k"}, .max_attempts = 3});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->operation.id : "";
  }
  // Claims the next queued operation (its attempt 1).
  void Claim() { EXPECT_TRUE(store_.JobClaim({.worker_id = "w", .kinds = {"k"}}).ok()); }
  void Progress(const std::string& id, int percent) {
    EXPECT_TRUE(store_.JobProgress({.id = id, .attempt = 1, .percent = percent}).ok());
  }
  void Complete(const std::string& id) {
    EXPECT_TRUE(
        store_.JobComplete({.id = id, .attempt = 1, .response = google::protobuf::Struct()}).ok());
  }

 private:
  const Clock& clock_;
  store::memory::MemoryOperationStore& store_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_MEMORY_JOBS_FOR_TEST_H_
