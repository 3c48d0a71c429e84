#include "tools/bench/procs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tools/bench/bench.h"

namespace longrun::bench {

namespace {

std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return "stopped";
}

// Fields of /proc/PID/stat after the command name; field k of proc(5) is index k-3.
bool StatFields(pid_t pid, std::vector<std::string>* out) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  *out = absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
  return out->size() > 14;
}

int64_t Field(const std::vector<std::string>& f, int k) {
  int64_t v = 0;
  (void)absl::SimpleAtoi(f[static_cast<size_t>(k - 3)], &v);
  return v;
}

// utime + stime (+ cutime + cstime) of one process, in clock ticks; 0 if gone.
int64_t ProcTicks(pid_t pid, bool with_children) {
  std::vector<std::string> f;
  if (pid <= 0 || !StatFields(pid, &f)) return 0;
  int64_t t = Field(f, 14) + Field(f, 15);
  if (with_children) t += Field(f, 16) + Field(f, 17);
  return t;
}

// The postmaster with its reaped children, plus every live child process.
int64_t TreeTicks(pid_t root) {
  if (root <= 0) return 0;
  int64_t total = ProcTicks(root, true);
  DIR* d = opendir("/proc");
  if (d == nullptr) return total;
  while (dirent* e = readdir(d)) {
    int64_t pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::vector<std::string> f;
    if (!StatFields(static_cast<pid_t>(pid), &f)) continue;
    if (Field(f, 4) == root) total += Field(f, 14) + Field(f, 15);
  }
  closedir(d);
  return total;
}

}  // namespace

absl::Status WorkerSet::Start(const std::string& bin, const std::vector<std::string>& args,
                              int64_t count, const std::string& log_dir, const std::string& tag) {
  if (access(bin.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("worker binary ", bin,
                                            " is not executable (set --worker-bin)"));
  }
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  for (int64_t i = 0; i < count; ++i) {
    const std::string log = absl::StrCat(log_dir, "/", tag, "-worker-", i, ".log");
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", log, ": ", strerror(errno)));
    std::vector<std::string> all = {bin};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);
      dup2(fd, 1);
      dup2(fd, 2);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(fd);
    if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
    children_.push_back({pid, log});
  }
  return absl::OkStatus();
}

absl::Status WorkerSet::CheckRunning() {
  for (auto& c : children_) {
    if (c.exited) continue;
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
      c.exited = true;
      c.status = status;
      return absl::InternalError(absl::StrCat("worker pid ", c.pid, " ", Describe(status),
                                              "; end of ", c.log, ":\n", Tail(c.log, 2000)));
    }
  }
  return absl::OkStatus();
}

void WorkerSet::Stop(absl::Duration grace) {
  for (auto& c : children_) {
    if (!c.exited) kill(c.pid, SIGTERM);
  }
  const absl::Time until = absl::Now() + grace;
  for (auto& c : children_) {
    while (!c.exited) {
      int status = 0;
      const pid_t r = waitpid(c.pid, &status, WNOHANG);
      if (r == c.pid || r < 0) {
        c.exited = true;
        c.status = status;
        break;
      }
      if (absl::Now() >= until) {
        Log(absl::StrCat("worker pid ", c.pid, " still running after SIGTERM; sending SIGKILL"));
        kill(c.pid, SIGKILL);
        waitpid(c.pid, &status, 0);
        c.exited = true;
        c.status = status;
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  children_.clear();
}

std::vector<pid_t> WorkerSet::pids() const {
  std::vector<pid_t> out;
  for (const auto& c : children_) out.push_back(c.pid);
  return out;
}

std::string SelfDir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return p.parent_path().string();
}

absl::StatusOr<int64_t> ReadRssKib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("no process ", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t kib = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib;
    }
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for process ", pid));
}

bool ProcessAlive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

double ProcessCpuSeconds(pid_t pid) {
  return static_cast<double>(ProcTicks(pid, false)) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

CpuWindow::Sample CpuWindow::Take(const std::vector<pid_t>& workers) const {
  Sample s;
  s.wall_ns = MonoNs();
  s.self = ProcTicks(getpid(), false);
  s.api = ProcTicks(api_pid_, false);
  s.pg = TreeTicks(pg_pid_);
  for (pid_t w : workers) s.workers[w] = ProcTicks(w, false);
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  int64_t v[8] = {0};
  for (int i = 0; i < 8 && in; ++i) in >> v[i];  // user nice system idle iowait irq softirq steal
  for (int64_t x : v) s.host_total += x;
  s.host_idle = v[3];
  s.host_iowait = v[4];
  return s;
}

void CpuWindow::Begin(const std::vector<pid_t>& workers) { begin_ = Take(workers); }

void CpuWindow::End(const std::vector<pid_t>& workers) {
  end_ = Take(workers);
  has_workers_ = !workers.empty();
}

void CpuWindow::Report(RunResult& out) const {
  const Sample& end = end_;
  const double secs = static_cast<double>(end.wall_ns - begin_.wall_ns) / 1e9;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (secs <= 0) return;
  auto cores = [&](int64_t ticks) { return static_cast<double>(ticks) / tick / secs; };
  out.Add("cpu_bench_cores", cores(end.self - begin_.self), 2);
  if (api_pid_ > 0) out.Add("cpu_api_cores", cores(end.api - begin_.api), 2);
  if (pg_pid_ > 0) out.Add("cpu_pg_cores", cores(end.pg - begin_.pg), 2);
  if (has_workers_) {
    int64_t t = 0;
    for (const auto& [pid, ticks] : end.workers) {
      auto it = begin_.workers.find(pid);
      t += ticks - (it == begin_.workers.end() ? 0 : it->second);
    }
    out.Add("cpu_workers_cores", cores(t), 2);
  }
  const double total = static_cast<double>(end.host_total - begin_.host_total);
  if (total > 0) {
    out.Add("host_busy_pct",
            100.0 * (total - static_cast<double>(end.host_idle - begin_.host_idle) -
                     static_cast<double>(end.host_iowait - begin_.host_iowait)) / total, 0);
    out.Add("host_iowait_pct",
            100.0 * static_cast<double>(end.host_iowait - begin_.host_iowait) / total, 0);
  }
}

}  // namespace longrun::bench
