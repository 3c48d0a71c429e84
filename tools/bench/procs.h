// Worker processes started by the bench (fork/exec, stopped by PID: SIGTERM, then SIGKILL;
// never by name) and /proc readings: CPU time per process and the api's resident memory.
#ifndef LONGRUN_TOOLS_BENCH_PROCS_H_
#define LONGRUN_TOOLS_BENCH_PROCS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/bench/report.h"

namespace longrun::bench {

class WorkerSet {
 public:
  WorkerSet() = default;
  ~WorkerSet() { Stop(); }
  WorkerSet(const WorkerSet&) = delete;
  WorkerSet& operator=(const WorkerSet&) = delete;

  // Starts `count` copies of `bin args...`; worker i logs to LOG_DIR/TAG-worker-i.log. The
  // children get SIGTERM if the bench dies.
  absl::Status Start(const std::string& bin, const std::vector<std::string>& args, int64_t count,
                     const std::string& log_dir, const std::string& tag);
  // An error (with the end of its log) if a worker has exited.
  absl::Status CheckRunning();
  // SIGTERM to each, wait up to `grace`, then SIGKILL whatever is left.
  void Stop(absl::Duration grace = absl::Seconds(15));
  std::vector<pid_t> pids() const;

 private:
  struct Child {
    pid_t pid;
    std::string log;
    bool exited = false;
    int status = 0;
  };
  std::vector<Child> children_;
};

// Directory of the running executable.
std::string SelfDir();
// VmRSS of `pid` in KiB.
absl::StatusOr<int64_t> ReadRssKib(pid_t pid);
bool ProcessAlive(pid_t pid);
// CPU seconds (user + system) used so far by `pid`; 0 if it cannot be read.
double ProcessCpuSeconds(pid_t pid);

// CPU used between Begin and End by the bench itself, the api, PostgreSQL (the postmaster and
// all its children, exited ones included) and the given workers, in cores (CPU seconds per
// wall second), plus how busy the whole machine was.
class CpuWindow {
 public:
  CpuWindow(pid_t api_pid, pid_t pg_pid) : api_pid_(api_pid), pg_pid_(pg_pid) {}
  void Begin(const std::vector<pid_t>& workers = {});
  void End(const std::vector<pid_t>& workers = {});
  // Adds cpu_bench_cores, cpu_api_cores, cpu_pg_cores, cpu_workers_cores (those known),
  // host_busy_pct and host_iowait_pct.
  void Report(RunResult& out) const;

 private:
  struct Sample {
    int64_t wall_ns = 0;
    int64_t self = 0, api = 0, pg = 0;
    std::map<pid_t, int64_t> workers;
    int64_t host_total = 0, host_idle = 0, host_iowait = 0;
  };
  Sample Take(const std::vector<pid_t>& workers) const;
  pid_t api_pid_;
  pid_t pg_pid_;
  Sample begin_;
  Sample end_;
  bool has_workers_ = false;
};

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_PROCS_H_
