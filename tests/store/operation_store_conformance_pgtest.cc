// The OperationStore conformance suite against PgOperationStore on a fresh migrated database
// per test; time moves by shifting the database's stored times (TestDatabase::AdvanceClock).
#include "libs/store/pg/pg_operation_store.h"
#include "tests/store/operation_store_conformance.h"
#include "tests/support/test_pg.h"

namespace longrun::store::testing {
namespace {

class PgHarness final : public StoreHarness {
 public:
  OperationStore& store() override { return store_; }
  OperationStore& other_client() override { return other_; }
  absl::Time Now() override { return db_.Now(); }
  void AdvanceTime(absl::Duration d) override { db_.AdvanceClock(d); }

 private:
  longrun::testing::TestDatabase db_;
  pg::PgOperationStore store_{{.url = db_.url(), .pool_size = 4}};
  pg::PgOperationStore other_{{.url = db_.url(), .pool_size = 1}};  // its own connection
};

INSTANTIATE_TEST_SUITE_P(Pg, OperationStoreConformanceTest,
                         ::testing::Values(StoreFactory{
                             "Pg", [] { return std::make_unique<PgHarness>(); }}),
                         StoreFactoryName);

}  // namespace
}  // namespace longrun::store::testing
