#include "libs/store/pg/pool.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/logging.h"

namespace longrun::store::pg {

std::string WithConnectDefaults(const std::string& url, const std::string& application_name) {
  const bool is_uri = absl::StartsWith(url, "postgres://") || absl::StartsWith(url, "postgresql://");
  std::string out = url;
  auto add = [&](absl::string_view key, absl::string_view value) {
    if (absl::StrContains(url, absl::StrCat(key, "="))) return;
    if (is_uri) {
      absl::StrAppend(&out, absl::StrContains(out, "?") ? "&" : "?", key, "=", value);
    } else {
      absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", value);
    }
  };
  add("connect_timeout", "3");
  if (!application_name.empty()) add("application_name", application_name);
  return out;
}

absl::Status StatusFromException(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat("database unreachable: ", e.what()));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(
        "database connection lost during commit; the outcome is unknown: retry with the same "
        "request_id");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql != nullptr) {
    const std::string& state = sql->sqlstate();
    if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat("unique constraint violated (SQLSTATE ", state, ")"));
    }
    if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
        dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
      return absl::AbortedError(absl::StrCat("transaction conflict (SQLSTATE ", state, ")"));
    }
    if (state == "57014") {
      return absl::DeadlineExceededError("database statement timed out (SQLSTATE 57014)");
    }
    // Class 08 (connection exception) and 57P0x (server shutting down / starting up).
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") || state == "53300") {
      return absl::UnavailableError(absl::StrCat("database unavailable (SQLSTATE ", state, ")"));
    }
    return absl::InternalError(absl::StrCat("database error (SQLSTATE ", state.empty() ? "?" : state, ")"));
  }
  return absl::InternalError(absl::StrCat("database client error: ", e.what()));
}

PgPool::PgPool(PgPoolConfig config) : config_(std::move(config)) {
  if (config_.size < 1) config_.size = 1;
  slots_.resize(config_.size);
  for (int i = config_.size - 1; i >= 0; --i) free_.push_back(i);
}

PgPool::~PgPool() = default;

int PgPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !free_.empty(); });
  const int slot = free_.back();
  free_.pop_back();
  return slot;
}

void PgPool::Release(int slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }
  cv_.notify_one();
}

absl::Status PgPool::Run(const std::function<void(pqxx::connection&)>& fn, RetryPolicy retry) {
  const int slot = Acquire();
  Slot& s = slots_[slot];
  absl::Status status;
  // A read that fails because a connection opened before a database restart turned out to
  // be dead is retried once on a fresh one, so a restart costs clients nothing. Writes are
  // never retried here: their outcome is unknown when the connection broke mid-statement.
  for (int round = 0; round < 2; ++round) {
    status = absl::OkStatus();
    bool reused = s.conn != nullptr && s.conn->is_open();
    if (!reused) {
      s.conn.reset();
      status = Connect(s);
      if (!status.ok()) break;
    }
    try {
      fn(*s.conn);
      break;
    } catch (const std::exception& e) {
      status = StatusFromException(e);
      if (status.code() == absl::StatusCode::kUnavailable || !s.conn->is_open()) {
        s.conn.reset();  // re-open on next use
      }
      if (!(retry == RetryPolicy::kRetryReadOnStaleConnection && reused &&
            status.code() == absl::StatusCode::kUnavailable)) {
        break;
      }
    }
  }
  Release(slot);
  if (!status.ok() && config_.on_error) config_.on_error(status);
  return status;
}

PgPoolStats PgPool::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  PgPoolStats stats{.size = static_cast<int>(slots_.size())};
  stats.in_use = stats.size - static_cast<int>(free_.size());
  // A free slot is nobody's: its connection only changes under mu_ (Acquire/Release).
  for (int slot : free_) stats.idle += slots_[slot].conn != nullptr ? 1 : 0;
  return stats;
}

absl::Status PgPool::Connect(Slot& s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Now() - last_failed_connect_ < config_.reconnect_interval) {
      return last_connect_error_;
    }
  }
  try {
    auto conn = std::make_unique<pqxx::connection>(config_.url);
    if (config_.on_connect) config_.on_connect(*conn);
    s.conn = std::move(conn);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    absl::Status status = StatusFromException(e);
    if (status.code() != absl::StatusCode::kUnavailable) {
      status = absl::UnavailableError(absl::StrCat("cannot connect to the database: ", e.what()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    last_failed_connect_ = absl::Now();
    last_connect_error_ = status;
    return status;
  }
}

}  // namespace longrun::store::pg
