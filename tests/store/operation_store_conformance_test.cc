// The OperationStore conformance suite against MemoryOperationStore (no PostgreSQL, no
// libpqxx): its clock is a FakeClock the suite advances.
#include "libs/store/memory/memory_operation_store.h"
#include "tests/store/operation_store_conformance.h"

namespace longrun::store::testing {
namespace {

class MemoryHarness final : public StoreHarness {
 public:
  OperationStore& store() override { return store_; }
  OperationStore& other_client() override { return store_; }
  absl::Time Now() override { return clock_.Now(); }
  void AdvanceTime(absl::Duration d) override { clock_.Advance(d); }

 private:
  FakeClock clock_;
  memory::MemoryOperationStore store_{clock_};
};

INSTANTIATE_TEST_SUITE_P(Memory, OperationStoreConformanceTest,
                         ::testing::Values(StoreFactory{
                             "Memory", [] { return std::make_unique<MemoryHarness>(); }}),
                         StoreFactoryName);

}  // namespace
}  // namespace longrun::store::testing
