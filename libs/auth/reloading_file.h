// ReloadingFile<T>: a file's parsed value, re-read when the file changes, for files that
// Kubernetes secret mounts and cert-manager rotate under a running process (API keys, JWT
// keys; later TLS certificates and webhook secrets).
//
// Shaped like the other loops (docs/ARCHITECTURE.md): RunOnce() does one pass and says what
// it did; a LoopThread (libs/concurrency) drives it every interval, and sooner, with a
// doubling back-off, while passes fail. A pass reads the file and compares the SHA-256 of its
// content with the content it last saw, so a rotation by rename, by symlink swap (the
// `..data` link of a secret volume) or by rewriting in place is noticed, and a touch is not.
// Changed content is parsed and the new value swapped in atomically: callers of Get() see the
// old value or the new one, never a mix. A file that cannot be read or parsed keeps the
// previous value; the failure is logged when it starts, when it or the file changes, and
// again every `repeat_error_log` while it lasts (not on every pass), and the same bad content
// is not parsed twice.
//
// Create() loads the file once and fails if it cannot: a process should not start with a
// keys file it cannot use.
#ifndef LONGRUN_AUTH_RELOADING_FILE_H_
#define LONGRUN_AUTH_RELOADING_FILE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/encoding.h"
#include "libs/common/clock.h"

namespace longrun::auth {

struct ReloadingFileConfig {
  std::string path;
  std::string name;  // what the file is, for logs and errors: "api keys file"
  size_t max_bytes = 4 << 20;
  absl::Duration repeat_error_log = absl::Minutes(10);
};

struct ReloadRunResult {
  bool ok = true;         // false: the file could not be read or parsed (previous value kept)
  bool changed = false;   // the content differed from what the previous pass saw
  bool reloaded = false;  // a new value replaced the previous one
  bool logged = false;    // this pass wrote a log line (a reload or a failure)
  // Combines the passes over several files: ok if all were, changed/reloaded/logged if any.
  void Merge(const ReloadRunResult& other);
};

// The part that does not depend on T: reading, change detection, logging.
class ReloadingFileBase {
 public:
  virtual ~ReloadingFileBase() = default;
  ReloadingFileBase(const ReloadingFileBase&) = delete;
  ReloadingFileBase& operator=(const ReloadingFileBase&) = delete;

  ReloadRunResult RunOnce();
  // When the value in use was loaded (clock time).
  absl::Time loaded_at() const;
  const std::string& path() const { return config_.path; }

 protected:
  ReloadingFileBase(ReloadingFileConfig config, const Clock& clock);
  // The first load: INVALID_ARGUMENT/NOT_FOUND/... "<name> <path>: <why>".
  absl::Status LoadInitial();
  // Parses `content` and, if that worked, makes it the current value.
  virtual absl::Status Install(absl::string_view content) = 0;

 private:
  absl::StatusOr<std::string> Read() const;
  // Records a failed pass; logs it if it is new (new content, or another error than the last
  // pass's) or the last log is `repeat_error_log` old.
  void Fail(absl::string_view error, bool new_content, ReloadRunResult* result);

  const ReloadingFileConfig config_;
  const Clock& clock_;
  mutable std::mutex mu_;                       // one pass at a time
  std::optional<internal::Sha256Digest> seen_;  // the content the last successful read saw
  bool seen_installed_ = false;                 // ...and whether it is the value in use
  std::string seen_error_;                      // ...or why it could not be parsed
  std::string failing_;                         // the current failure; empty if none
  absl::Time last_error_log_ = absl::InfinitePast();
  absl::Time loaded_at_ = absl::InfinitePast();
};

template <typename T>
class ReloadingFile final : public ReloadingFileBase {
 public:
  using Parser = std::function<absl::StatusOr<T>(absl::string_view content)>;

  static absl::StatusOr<std::unique_ptr<ReloadingFile>> Create(ReloadingFileConfig config,
                                                               Parser parser, const Clock& clock) {
    std::unique_ptr<ReloadingFile> file(
        new ReloadingFile(std::move(config), std::move(parser), clock));
    if (absl::Status s = file->LoadInitial(); !s.ok()) return s;
    return file;
  }

  // The current value; never null after Create succeeded. Callers keep the pointer for as
  // long as they use the value (a reload does not pull it from under them).
  std::shared_ptr<const T> Get() const { return value_.load(std::memory_order_acquire); }

 private:
  ReloadingFile(ReloadingFileConfig config, Parser parser, const Clock& clock)
      : ReloadingFileBase(std::move(config), clock), parser_(std::move(parser)) {}

  absl::Status Install(absl::string_view content) override {
    absl::StatusOr<T> parsed = parser_(content);
    if (!parsed.ok()) return parsed.status();
    value_.store(std::make_shared<const T>(*std::move(parsed)), std::memory_order_release);
    return absl::OkStatus();
  }

  const Parser parser_;
  std::atomic<std::shared_ptr<const T>> value_;
};

}  // namespace longrun::auth

#endif  // LONGRUN_AUTH_RELOADING_FILE_H_
