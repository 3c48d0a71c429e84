#include "tools/bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/common/text.h"

namespace longrun::bench {

void Params::Add(const std::string& key, int64_t value) {
  items_.push_back({key, absl::StrCat(value), absl::StrCat(value)});
}

void Params::Add(const std::string& key, double value) {
  items_.push_back({key, absl::StrFormat("%.6g", value), absl::StrFormat("%.6g", value)});
}

void Params::Add(const std::string& key, const std::string& value) {
  items_.push_back({key, JsonQuote(value), value.find(' ') == std::string::npos ? value : "'" + value + "'"});
}

int64_t Percentile(const std::vector<int64_t>& sorted, double pct) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest sample with at least pct% of samples at or below it.
  const double rank = std::ceil(pct / 100.0 * static_cast<double>(sorted.size()));
  const size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(idx, sorted.size() - 1)];
}

void RunResult::AddLatencies(const std::string& prefix, std::vector<int64_t>& ns,
                             const std::vector<int>& which) {
  std::sort(ns.begin(), ns.end());
  for (int p : which) {
    Add(absl::StrCat(prefix, "_p", p, "_ms"), static_cast<double>(Percentile(ns, p)) / 1e6, 2);
  }
  Add(prefix + "_max_ms", ns.empty() ? 0 : static_cast<double>(ns.back()) / 1e6, 2);
}

namespace {

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrFormat("%.6g", v);
}

// Keys in first-seen order across runs.
std::vector<std::string> Keys(const std::vector<RunResult>& runs) {
  std::vector<std::string> keys;
  for (const auto& r : runs) {
    for (const auto& m : r.metrics) {
      if (std::find(keys.begin(), keys.end(), m.key) == keys.end()) keys.push_back(m.key);
    }
  }
  return keys;
}

const Metric* Find(const RunResult& r, const std::string& key) {
  for (const auto& m : r.metrics) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

// Median over the runs that have the key; precision from the first run that has it.
bool Median(const std::vector<RunResult>& runs, const std::string& key, Metric* out) {
  std::vector<double> v;
  for (const auto& r : runs) {
    if (const Metric* m = Find(r, key)) {
      if (v.empty()) *out = *m;
      v.push_back(m->value);
    }
  }
  if (v.empty()) return false;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  out->value = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return true;
}

}  // namespace

void PrintReport(const std::string& mode, const Params& params,
                 const std::vector<RunResult>& runs, bool json) {
  const std::vector<std::string> keys = Keys(runs);
  int64_t errors = 0;
  bool ok = true;
  for (const auto& r : runs) {
    errors += r.errors;
    if (!r.failure.empty()) ok = false;
  }
  if (json) {
    std::string out = absl::StrCat("{\"mode\":", JsonQuote(mode), ",\"params\":{");
    bool first = true;
    for (const auto& item : params.items()) {
      absl::StrAppend(&out, first ? "" : ",", JsonQuote(item.key), ":", item.json);
      first = false;
    }
    absl::StrAppend(&out, "},\"runs\":[");
    for (size_t i = 0; i < runs.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", "{");
      bool f = true;
      for (const auto& m : runs[i].metrics) {
        absl::StrAppend(&out, f ? "" : ",", JsonQuote(m.key), ":", JsonNumber(m.value));
        f = false;
      }
      absl::StrAppend(&out, f ? "" : ",", "\"errors\":", runs[i].errors);
      if (!runs[i].error_samples.empty()) {
        absl::StrAppend(&out, ",\"error_samples\":[");
        for (size_t j = 0; j < runs[i].error_samples.size(); ++j) {
          absl::StrAppend(&out, j ? "," : "", JsonQuote(runs[i].error_samples[j]));
        }
        absl::StrAppend(&out, "]");
      }
      if (!runs[i].failure.empty()) {
        absl::StrAppend(&out, ",\"failure\":", JsonQuote(runs[i].failure));
      }
      absl::StrAppend(&out, "}");
    }
    absl::StrAppend(&out, "],\"median\":{");
    bool f = true;
    for (const auto& k : keys) {
      Metric m;
      if (!Median(runs, k, &m)) continue;
      absl::StrAppend(&out, f ? "" : ",", JsonQuote(k), ":", JsonNumber(m.value));
      f = false;
    }
    absl::StrAppend(&out, "},\"errors\":", errors, ",\"ok\":", ok ? "true" : "false", "}");
    std::cout << out << std::endl;
    return;
  }

  std::string head = absl::StrCat("== ", mode);
  for (const auto& item : params.items()) absl::StrAppend(&head, " ", item.key, "=", item.text);
  std::cout << head << "\n";
  size_t width = 6;
  for (const auto& k : keys) width = std::max(width, k.size());
  std::string line = absl::StrFormat("%-*s", static_cast<int>(width), "metric");
  const bool many = runs.size() > 1;
  for (size_t i = 0; i < runs.size(); ++i) {
    absl::StrAppend(&line, absl::StrFormat(" %11s", many ? absl::StrCat("run ", i + 1) : "value"));
  }
  if (many) absl::StrAppend(&line, absl::StrFormat(" %11s", "median"));
  std::cout << line << "\n";
  for (const auto& k : keys) {
    line = absl::StrFormat("%-*s", static_cast<int>(width), k);
    for (const auto& r : runs) {
      const Metric* m = Find(r, k);
      absl::StrAppend(&line, m ? absl::StrFormat(" %11.*f", m->precision, m->value)
                               : absl::StrFormat(" %11s", "-"));
    }
    Metric med;
    if (many && Median(runs, k, &med)) {
      absl::StrAppend(&line, absl::StrFormat(" %11.*f", med.precision, med.value));
    }
    std::cout << line << "\n";
  }
  line = absl::StrFormat("%-*s", static_cast<int>(width), "errors");
  for (const auto& r : runs) absl::StrAppend(&line, absl::StrFormat(" %11d", r.errors));
  std::cout << line << "\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const auto& e : runs[i].error_samples) {
      std::cout << "  run " << i + 1 << " error: " << e << "\n";
    }
    if (!runs[i].failure.empty()) {
      std::cout << "  run " << i + 1 << " FAILED: " << runs[i].failure << "\n";
    }
  }
  std::cout << std::flush;
}

}  // namespace longrun::bench
