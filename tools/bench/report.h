// Results of a benchmark mode: the exact parameters, one set of named figures per run, the
// median over runs, printed as a table or as one JSON object.
#ifndef LONGRUN_TOOLS_BENCH_REPORT_H_
#define LONGRUN_TOOLS_BENCH_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace longrun::bench {

// Parameters, in the order added; values are kept as JSON literals.
class Params {
 public:
  void Add(const std::string& key, int64_t value);
  void Add(const std::string& key, double value);
  void Add(const std::string& key, const std::string& value);
  void Add(const std::string& key, const char* value) { Add(key, std::string(value)); }
  struct Item {
    std::string key;
    std::string json;  // a JSON literal
    std::string text;  // as shown in the table
  };
  const std::vector<Item>& items() const { return items_; }

 private:
  std::vector<Item> items_;
};

struct Metric {
  std::string key;    // e.g. "rps", "p99_ms"
  double value = 0;
  int precision = 1;  // digits after the point in the table
};

// One run's figures plus what went wrong.
struct RunResult {
  std::vector<Metric> metrics;
  int64_t errors = 0;                   // failed RPCs (or watchers) in the measured part
  std::vector<std::string> error_samples;
  std::string failure;                  // non-empty: the run is invalid (why)

  void Add(const std::string& key, double value, int precision = 1) {
    metrics.push_back({key, value, precision});
  }
  // PREFIX_p50_ms, _p90_ms, _p99_ms, _max_ms from nanosecond samples (sorted in place).
  // `which` picks the percentiles, e.g. {50, 90, 99}; max is always added.
  void AddLatencies(const std::string& prefix, std::vector<int64_t>& ns,
                    const std::vector<int>& which = {50, 90, 99});
};

// Nearest-rank percentile of sorted samples; 0 when empty.
int64_t Percentile(const std::vector<int64_t>& sorted, double pct);

// Prints the table (stdout), or with `json` one JSON object on one line (stdout). Errors
// and failures also go to stderr in table mode.
void PrintReport(const std::string& mode, const Params& params,
                 const std::vector<RunResult>& runs, bool json);

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_REPORT_H_
