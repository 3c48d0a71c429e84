// One behaviour suite for every OperationStore: PostgreSQL (tests/store/
// operation_store_conformance_pgtest.cc, label pg) and the in-memory store
// (operation_store_conformance_test.cc, label unit, no libpqxx). A case that passes on one
// and fails on the other is a disagreement to fix, not to skip.
//
// Time moves without sleeping: each store says how to move its clock forward
// (StoreHarness::AdvanceTime). The memory store advances its FakeClock; the PostgreSQL
// harness shifts every stored timestamp of the test database back instead
// (TestDatabase::AdvanceClock), which is the same thing as far as now() can tell. So a test
// compares times read in one call (end_time - start_time), or against Now() read after the
// last move, never a time it read before moving the clock with one read after.
//
// To run the suite against a store, link operation_store_conformance.cc into a test binary
// and instantiate it with a factory:
//   INSTANTIATE_TEST_SUITE_P(Memory, OperationStoreConformanceTest,
//                            ::testing::Values(StoreFactory{"Memory", &MakeMemoryHarness}),
//                            StoreFactoryName);
#ifndef LONGRUN_TESTS_STORE_OPERATION_STORE_CONFORMANCE_H_
#define LONGRUN_TESTS_STORE_OPERATION_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/store/operation_store.h"

namespace longrun::store::testing {

// A fresh, empty store and the means to move its time.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual OperationStore& store() = 0;
  // A second client of the same data for races (PostgreSQL: its own connection; memory: the
  // same store, whose calls are atomic).
  virtual OperationStore& other_client() = 0;
  // The store's "now" (PostgreSQL: the database's now()).
  virtual absl::Time Now() = 0;
  // Moves the store's clock forward by `d` (> 0).
  virtual void AdvanceTime(absl::Duration d) = 0;
};

struct StoreFactory {
  std::string name;
  std::function<std::unique_ptr<StoreHarness>()> make;
};

inline void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }
inline std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

class OperationStoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { harness_ = GetParam().make(); }

  OperationStore& store() { return harness_->store(); }
  absl::Time Now() { return harness_->Now(); }
  void AdvanceTime(absl::Duration d) { harness_->AdvanceTime(d); }

  // Inserts an operation (the fingerprint computed when it has a request_id); returns its id.
  std::string Insert(core::SubmitSpec spec, int max_attempts = 5,
                     const std::string& tenant = "default");
  std::string InsertKind(const std::string& kind, int priority = 0);
  std::vector<ClaimedJob> Claim(int limit, std::vector<std::string> kinds = {"k"},
                                absl::Duration lease = absl::Seconds(30),
                                const std::string& worker = "w");
  core::Operation Get(const std::string& id, const std::string& tenant = "default");
  // Every operation of the tenant, through OperationList pages of `page_size`.
  std::vector<core::Operation> ListAll(const std::string& tenant, int page_size,
                                       const std::string& filter = "");

  std::unique_ptr<StoreHarness> harness_;
};

}  // namespace longrun::store::testing

#endif  // LONGRUN_TESTS_STORE_OPERATION_STORE_CONFORMANCE_H_
