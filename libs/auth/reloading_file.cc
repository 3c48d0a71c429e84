#include "libs/auth/reloading_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libs/common/logging.h"

namespace longrun::auth {
namespace {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace

void ReloadRunResult::Merge(const ReloadRunResult& other) {
  ok = ok && other.ok;
  changed = changed || other.changed;
  reloaded = reloaded || other.reloaded;
  logged = logged || other.logged;
}

ReloadingFileBase::ReloadingFileBase(ReloadingFileConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

absl::StatusOr<std::string> ReloadingFileBase::Read() const {
  const int fd = ::open(config_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open");
  struct stat st;
  std::string content;
  absl::Status status;
  if (::fstat(fd, &st) != 0) {
    status = ErrnoStatus(errno, "cannot stat");
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError("is not a regular file");
  } else {
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = ErrnoStatus(errno, "cannot read");
        break;
      }
      if (n == 0) break;
      content.append(buf, static_cast<size_t>(n));
      if (content.size() > config_.max_bytes) {
        status = absl::FailedPreconditionError(
            absl::StrCat("is larger than ", config_.max_bytes, " bytes"));
        break;
      }
    }
  }
  ::close(fd);
  if (!status.ok()) return status;
  return content;
}

absl::Status ReloadingFileBase::LoadInitial() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::string> content = Read();
  absl::Status status = content.status();
  if (status.ok()) status = Install(*content);
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat(config_.name, " ", config_.path, ": ", status.message()));
  }
  seen_ = internal::Sha256(*content);
  seen_installed_ = true;
  loaded_at_ = clock_.Now();
  return absl::OkStatus();
}

void ReloadingFileBase::Fail(absl::string_view error, bool new_content, ReloadRunResult* result) {
  result->ok = false;
  const absl::Time now = clock_.Now();
  if (new_content || error != failing_ || now - last_error_log_ >= config_.repeat_error_log) {
    LONGRUN_LOG(kWarning, "file_reload_failed",
                {{"file", config_.name},
                 {"path", config_.path},
                 {"error", error},
                 {"action", "keeping the previous value"}});
    last_error_log_ = now;
    result->logged = true;
  }
  failing_ = std::string(error);
}

ReloadRunResult ReloadingFileBase::RunOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  ReloadRunResult result;
  absl::StatusOr<std::string> content = Read();
  if (!content.ok()) {
    Fail(content.status().message(), /*new_content=*/false, &result);
    return result;
  }
  const internal::Sha256Digest digest = internal::Sha256(*content);
  if (seen_.has_value() && *seen_ == digest) {
    if (!seen_installed_) {
      Fail(seen_error_, /*new_content=*/false, &result);  // the same bad content: not parsed again
    } else {
      failing_.clear();  // back to the content in use (e.g. after a read error)
    }
    return result;
  }
  result.changed = true;
  seen_ = digest;
  if (absl::Status s = Install(*content); !s.ok()) {
    seen_installed_ = false;
    seen_error_ = std::string(s.message());
    Fail(seen_error_, /*new_content=*/true, &result);
    return result;
  }
  seen_installed_ = true;
  failing_.clear();
  loaded_at_ = clock_.Now();
  result.reloaded = true;
  result.logged = true;
  LONGRUN_LOG(kInfo, "file_reloaded", {{"file", config_.name}, {"path", config_.path}});
  return result;
}

absl::Time ReloadingFileBase::loaded_at() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_at_;
}

}  // namespace longrun::auth
