// Child processes for end-to-end tests: the real binaries, started with fork/exec, their
// output in a log file, stopped by PID (never by name).
#ifndef LONGRUN_TESTS_SUPPORT_PROCESS_H_
#define LONGRUN_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace longrun::testing {

class ChildProcess {
 public:
  // Starts `path` with `args`; stdout and stderr go to `log_path`.
  ChildProcess(const std::string& path, const std::vector<std::string>& args,
               const std::string& log_path);
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits up to `timeout`; returns the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);
  bool Running();
  std::string Log() const;
  // Waits until the process has written a port number to `path` (longrun-api
  // --port-file); nullopt if it exits or `timeout` passes first.
  std::optional<int> AwaitPortFile(const std::string& path, absl::Duration timeout);
  // CPU time the process has used so far (user + system, from /proc/PID/stat).
  absl::Duration CpuTime() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::string log_path_;
};

// Directory holding the built binaries (longrun-api, longrun-worker, longrunctl).
std::string BinDir();
// A fresh directory for a test's logs, under the build tree.
std::string TestOutputDir(const std::string& test_name);

}  // namespace longrun::testing

#endif  // LONGRUN_TESTS_SUPPORT_PROCESS_H_
