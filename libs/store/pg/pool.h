// A fixed-size PostgreSQL connection pool. The only place connections are made.
//
// Connections are opened lazily and re-opened after they break, so a database restart
// heals without restarting the process. While the database is down, callers get
// kUnavailable at once (one reconnect attempt per `reconnect_interval`) instead of piling
// up behind connect timeouts.
#ifndef LONGRUN_STORE_PG_POOL_H_
#define LONGRUN_STORE_PG_POOL_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/store/pg/pool_stats.h"

namespace longrun::store::pg {

struct PgPoolConfig {
  std::string url;
  int size = 8;
  absl::Duration reconnect_interval = absl::Milliseconds(250);
  // Called once per new connection (prepare statements, set session parameters).
  std::function<void(pqxx::connection&)> on_connect;
  // Called with every failure Run returns (metrics); must be quick and thread-safe.
  std::function<void(const absl::Status&)> on_error;
};



// Adds connect_timeout (and application_name) to a libpq URL or key=value string when
// absent, so an unreachable host fails in seconds rather than minutes.
std::string WithConnectDefaults(const std::string& url, const std::string& application_name);

// Maps a libpqxx (or std) exception to a Status. The only such mapping in longrun.
absl::Status StatusFromException(const std::exception& e);

class PgPool {
 public:
  explicit PgPool(PgPoolConfig config);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  enum class RetryPolicy { kNever, kRetryReadOnStaleConnection };

  // Runs fn on a pooled connection; exceptions become Status. Blocks while all
  // connections are in use. With kRetryReadOnStaleConnection (reads only), a failure because
  // a previously opened connection died (database restarted) is retried once on a new one.
  absl::Status Run(const std::function<void(pqxx::connection&)>& fn,
                   RetryPolicy retry = RetryPolicy::kNever);

  PgPoolStats Stats() const;

 private:
  struct Slot {
    std::unique_ptr<pqxx::connection> conn;
  };
  int Acquire();
  void Release(int slot);
  absl::Status Connect(Slot& s);  // opens s.conn, or fails fast while the database is down

  PgPoolConfig config_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  std::vector<int> free_;
  absl::Time last_failed_connect_ = absl::InfinitePast();
  absl::Status last_connect_error_;
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_POOL_H_
