// Property test: for random ListOperations filters over random rows, core::Matches() (the
// reference semantics, used by the in-memory store) and FilterToSql (what PostgreSQL runs)
// select exactly the same operations.
//
// Deterministic: the seed is fixed unless LONGRUN_PROPERTY_SEED is set, and it is printed,
// so any failure reproduces. LONGRUN_PROPERTY_CASES sets the number of filters (default
// 2,500). To explore many seeds, loop over LONGRUN_PROPERTY_SEED values running
// build/tests/filter_agreement_pgtest with LONGRUN_TEST_PG_DIR or LONGRUN_TEST_DATABASE_URL
// set (docs/TESTING.md shows a loop).
#include <pqxx/pqxx>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/core/filter.h"
#include "libs/core/ids.h"
#include "libs/core/submit.h"
#include "libs/store/pg/filter_sql.h"
#include "libs/store/pg/pg_operation_store.h"
#include "libs/store/pg/queries.h"
#include "tests/support/test_pg.h"

namespace longrun::store::pg {
namespace {

using longrun::testing::TestDatabase;

constexpr uint64_t kDefaultSeed = 20261122;
constexpr int kDefaultCases = 2500;
constexpr int kFiltersPerRound = 100;
constexpr int kRowsPerRound = 32;

// The UTC range filters accept (years 0000-9999), in microseconds since the Unix epoch.
constexpr int64_t kMinMicros = -62167219200LL * 1000000;
constexpr int64_t kMaxMicros = 253402300799LL * 1000000 + 999999;

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  uint64_t value = 0;
  if (text == nullptr || !absl::SimpleAtoi(text, &value)) return fallback;
  return value;
}

// Deterministic choices on every platform (no std::*_distribution).
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t Next() { return engine_(); }
  // Uniform in [0, n).
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(engine_() % n); }
  int64_t Between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(int percent) { return static_cast<int>(engine_() % 100) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) { return items[Below(items.size())]; }

 private:
  std::mt19937_64 engine_;
};

// Values rows and filters share, so comparisons hit as well as miss.
const std::vector<std::string>& Kinds() {
  static const auto* v = new std::vector<std::string>{
      "a", "b", "a.b", "demo.echo", "demo.echo2", "demo-echo", "x_y", "0", "9z",
      std::string(64, 'k')};
  return *v;
}
const std::vector<std::string>& Queues() {
  static const auto* v = new std::vector<std::string>{"default", "batch", "q-1", "q.2", "z"};
  return *v;
}
// Kind and queue values only filters use: near misses of the ones above.
const std::vector<std::string>& NearMisses() {
  static const auto* v = new std::vector<std::string>{
      "A", "demo.echo ", " demo.echo", "", "demo.%", "demo._cho", "_", "*", "a\"b", "a\\b",
      "\xe6\x97\xa5\xe6\x9c\xac", "demo.ech", "DEFAULT", "default\n", std::string(65, 'k')};
  return *v;
}
const std::vector<std::string>& LabelKeys() {
  static const auto* v = new std::vector<std::string>{
      "env", "team", "a", "a-b", "x_1", std::string("k") + std::string(62, '9')};
  return *v;
}
// Keys no row has.
const std::vector<std::string>& MissingLabelKeys() {
  static const auto* v = new std::vector<std::string>{"missing", "e", "env2", "a_b"};
  return *v;
}
const std::vector<std::string>& LabelValues() {
  static const auto* v = new std::vector<std::string>{
      "", "prod", "Prod", "prod ", " prod", "dev", "say \"hi\"", "back\\slash", "tab\there",
      "line\nbreak", "cr\r", "\xc3\xa9" /* é */, "e\xcc\x81" /* e + combining acute */,
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xf0\x9f\x98\x80" /* emoji */, "*", "AND",
      "a:b+c", "NULL", "null", "{}", "'quoted'", "%", "_", std::string(256, 'v')};
  return *v;
}

// A random short string of ASCII and multi-byte UTF-8 (never U+0000).
std::string RandomText(Rng& rng) {
  static const std::vector<std::string> kPieces = {
      "a", "b", "Z", "0", " ", "\"", "\\", "\t", "\n", "-", ":", "*", "%", "'",
      "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  std::string out;
  const size_t n = rng.Below(6);
  for (size_t i = 0; i < n; ++i) out += rng.Pick(kPieces);
  return out;
}

absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

// Times rows get: the ends of the range, around the epoch, far from it (where a float8
// loses microseconds), and anywhere.
int64_t RowMicros(Rng& rng) {
  static const std::vector<int64_t> kAnchors = {
      0, 1, -1, 999999, -1000000, kMinMicros, kMinMicros + 1, kMaxMicros, kMaxMicros - 1,
      1709208000LL * 1000000 /* 2024-02-29T12:00:00Z */, 1709208000LL * 1000000 + 1,
      -11676096000LL * 1000000 + 123457 /* 1600-01-01 */,
      10413792000LL * 1000000 + 987653 /* 2300-01-01 */, 1700000000123456LL};
  switch (rng.Below(4)) {
    case 0:
      return rng.Pick(kAnchors);
    case 1:
      return rng.Between(kMinMicros, kMaxMicros);
    case 2:  // the recent past, as real rows
      return 1700000000LL * 1000000 + rng.Between(0, 400LL * 86400 * 1000000);
    default:
      return rng.Pick(kAnchors) + rng.Between(-3, 3) * (rng.Chance(50) ? 1 : 1000000);
  }
}

struct Row {
  std::string kind;
  std::string queue;
  core::State state = core::State::kQueued;
  std::map<std::string, std::string> labels;
  int64_t create_us = 0;
  int64_t update_us = 0;
};

Row RandomRow(Rng& rng) {
  static const std::vector<core::State> kStates = {
      core::State::kQueued,    core::State::kRunning, core::State::kRetryWait,
      core::State::kCancelling, core::State::kSucceeded, core::State::kFailed,
      core::State::kCancelled};
  Row r;
  r.kind = rng.Pick(Kinds());
  r.queue = rng.Pick(Queues());
  r.state = rng.Pick(kStates);
  const size_t labels = rng.Below(5);
  for (size_t i = 0; i < labels; ++i) {
    r.labels[rng.Pick(LabelKeys())] = rng.Chance(80) ? rng.Pick(LabelValues()) : RandomText(rng);
  }
  r.create_us = std::clamp<int64_t>(RowMicros(rng), kMinMicros, kMaxMicros);
  r.update_us = rng.Chance(30) ? r.create_us
                               : std::clamp<int64_t>(RowMicros(rng), kMinMicros, kMaxMicros);
  return r;
}

// ---------------------------------------------------------------------------------------
// Filter text generation: follows the grammar in libs/core/filter.h, with its optional
// spellings (quotes, bare words, ':' for labels, '-' for NOT, implicit AND, offsets, case
// of 'T' and 'Z', any number of fraction digits).

class FilterGen {
 public:
  FilterGen(Rng& rng, const std::vector<core::Operation>& rows) : rng_(rng), rows_(rows) {}

  std::string Generate() {
    comparisons_ = 0;
    return Expression(0);
  }

 private:
  std::string Space() {
    static const std::vector<std::string> kSpaces = {" ", " ", " ", "  ", "\t", "\n", " \r\n "};
    return rng_.Pick(kSpaces);
  }
  std::string MaybeSpace() { return rng_.Chance(50) ? "" : Space(); }

  bool Leaf(int depth) { return depth >= 5 || comparisons_ >= 12 || rng_.Chance(40 + 10 * depth); }

  std::string Expression(int depth) {
    std::string out = Sequence(depth);
    while (!Leaf(depth) && rng_.Chance(35)) out += Space() + "AND" + Space() + Sequence(depth);
    return out;
  }
  std::string Sequence(int depth) {
    std::string out = Factor(depth);
    while (!Leaf(depth) && rng_.Chance(25)) out += Space() + Factor(depth);
    return out;
  }
  std::string Factor(int depth) {
    std::string out = Term(depth);
    while (!Leaf(depth) && rng_.Chance(35)) out += Space() + "OR" + Space() + Term(depth);
    return out;
  }
  std::string Term(int depth) {
    std::string prefix;
    if (rng_.Chance(20)) prefix = rng_.Chance(50) ? "NOT" + Space() : "-";
    return prefix + Simple(depth);
  }
  std::string Simple(int depth) {
    if (!Leaf(depth) && rng_.Chance(30)) {
      return "(" + MaybeSpace() + Expression(depth + 1) + MaybeSpace() + ")";
    }
    ++comparisons_;
    return Restriction();
  }

  std::string Op(const std::vector<std::string>& ops) {
    return MaybeSpace() + rng_.Pick(ops) + MaybeSpace();
  }

  // A string value: quoted (escaped, or raw where the grammar allows), or a bare word when
  // it is one.
  std::string Value(const std::string& v) {
    const bool word = !v.empty() && v != "AND" && v != "OR" && v != "NOT" &&
                      std::all_of(v.begin(), v.end(), [](char c) {
                        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                               c == '_' || c == '-' || c == ':' || c == '+';
                      });
    if (word && rng_.Chance(50)) return v;
    const bool raw = rng_.Chance(30);  // raw tab, newline, CR are allowed inside quotes
    std::string out = "\"";
    for (char c : v) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += raw ? "\n" : "\\n"; break;
        case '\r': out += raw ? "\r" : "\\r"; break;
        case '\t': out += raw ? "\t" : "\\t"; break;
        default: out.push_back(c); break;
      }
    }
    return out + "\"";
  }

  // Mostly values some row has, so equality is exercised, sometimes near misses.
  const core::Operation& SomeRow() { return rows_[rng_.Below(rows_.size())]; }

  std::string Restriction() {
    static const std::vector<std::string> kEqNe = {"=", "!="};
    static const std::vector<std::string> kTimeOps = {"=", "!=", "<", "<=", ">", ">="};
    static const std::vector<std::string> kStates = {
        "QUEUED", "RUNNING", "RETRY_WAIT", "CANCELLING", "SUCCEEDED", "FAILED", "CANCELLED"};
    switch (rng_.Below(6)) {
      case 0:
        return "state" + Op(kEqNe) + Value(rng_.Pick(kStates));
      case 1:
        return "kind" + Op(kEqNe) +
               Value(rng_.Chance(70) ? SomeRow().kind
                                     : (rng_.Chance(50) ? rng_.Pick(Kinds())
                                                        : rng_.Pick(NearMisses())));
      case 2:
        return "queue" + Op(kEqNe) +
               Value(rng_.Chance(70) ? SomeRow().queue
                                     : (rng_.Chance(50) ? rng_.Pick(Queues())
                                                        : rng_.Pick(NearMisses())));
      case 3:
      case 4:
        return Label();
      default:
        return Time(rng_.Chance(50) ? "create_time" : "update_time", kTimeOps);
    }
  }

  std::string Label() {
    static const std::vector<std::string> kOps = {"=", "!=", ":"};
    const core::Operation& row = SomeRow();
    std::string key;
    std::string value;
    if (!row.labels.empty() && rng_.Chance(60)) {
      auto it = row.labels.begin();
      std::advance(it, rng_.Below(row.labels.size()));
      key = it->first;
      value = it->second;
    } else {
      key = rng_.Chance(70) ? rng_.Pick(LabelKeys()) : rng_.Pick(MissingLabelKeys());
    }
    if (value.empty() || rng_.Chance(30)) {
      value = rng_.Chance(70) ? rng_.Pick(LabelValues())
                              : (rng_.Chance(70) ? RandomText(rng_) : rng_.Pick(NearMisses()));
    }
    const std::string op = rng_.Pick(kOps);
    if (op == ":" && rng_.Chance(50)) return "labels." + key + MaybeSpace() + ":" + MaybeSpace() + "*";
    return "labels." + key + MaybeSpace() + op + MaybeSpace() + Value(value);
  }

  // A timestamp near a row's time (often within a microsecond of it), written with a random
  // UTC offset, fraction length and spelling.
  std::string Time(const std::string& field, const std::vector<std::string>& ops) {
    static const std::vector<int64_t> kDeltaNanos = {
        0, 0, 0, 0, 1, -1, 499, -499, 500, -500, 501, -501, 999, -999, 1000, -1000, 1001,
        -1001, 1000000000, -1000000000};
    const core::Operation& row = SomeRow();
    absl::Time base = rng_.Chance(50) ? row.create_time : row.update_time;
    if (rng_.Chance(15)) base = FromMicros(RowMicros(rng_));
    int64_t delta = rng_.Chance(85) ? rng_.Pick(kDeltaNanos) : rng_.Between(-999999999, 999999999);
    absl::Time t = base + absl::Nanoseconds(delta);
    t = std::clamp(t, FromMicros(kMinMicros), FromMicros(kMaxMicros) + absl::Nanoseconds(999));
    return field + Op(ops) + TimeText(t);
  }

  std::string TimeText(absl::Time t) {
    static const std::vector<int> kOffsetMinutes = {0, 0, 0, 60, -60, 330, -480, 840, -1439,
                                                    1439, 45};
    int offset = rng_.Pick(kOffsetMinutes);
    const auto year = [&](int minutes) {
      return absl::ToCivilSecond(t, absl::FixedTimeZone(minutes * 60)).year();
    };
    if (year(offset) < 0 || year(offset) > 9999) offset = 0;
    const absl::TimeZone zone = absl::FixedTimeZone(offset * 60);
    std::string text = absl::FormatTime("%E4Y-%m-%dT%H:%M:%S", t, zone);
    if (rng_.Chance(10)) text[10] = 't';
    // Nanoseconds within the second, always non-negative.
    const absl::Time second = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
    const int64_t nanos = absl::ToInt64Nanoseconds(t - second);
    std::string fraction = absl::StrCat(absl::Dec(nanos, absl::kZeroPad9));
    switch (rng_.Below(4)) {
      case 0:  // shortest
        while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
        break;
      case 1:  // all nine
        break;
      case 2:  // finer than a nanosecond
        fraction += absl::StrCat(rng_.Below(1000));
        break;
      default:  // trailing zeros
        fraction += "000";
        break;
    }
    if (!fraction.empty()) text += "." + fraction;
    if (offset == 0) {
      static const std::vector<std::string> kUtc = {"Z", "Z", "z", "+00:00", "-00:00"};
      text += rng_.Pick(kUtc);
    } else {
      const int abs_offset = std::abs(offset);
      text += absl::StrCat(offset < 0 ? "-" : "+", absl::Dec(abs_offset / 60, absl::kZeroPad2),
                           ":", absl::Dec(abs_offset % 60, absl::kZeroPad2));
    }
    return rng_.Chance(50) ? text : "\"" + text + "\"";
  }

  Rng& rng_;
  const std::vector<core::Operation>& rows_;
  int comparisons_ = 0;
};

// ---------------------------------------------------------------------------------------

std::string ShowTime(absl::Time t) {
  return absl::StrCat(absl::FormatTime("%E4Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone()), " (",
                      absl::ToUnixMicros(t), "us)");
}

std::string ShowRow(const core::Operation& op) {
  std::vector<std::string> labels;
  for (const auto& [k, v] : op.labels) labels.push_back(absl::StrCat(k, "=\"", absl::CHexEscape(v), "\""));
  return absl::StrCat("{id ", op.id, ", kind \"", absl::CHexEscape(op.kind), "\", queue \"",
                      absl::CHexEscape(op.queue), "\", state ", core::StateName(op.state),
                      ", labels {", absl::StrJoin(labels, ", "), "}, create_time ",
                      ShowTime(op.create_time), ", update_time ", ShowTime(op.update_time), "}");
}

class FilterAgreementTest : public ::testing::Test {
 protected:
  FilterAgreementTest() : store_({.url = db_.url(), .pool_size = 2}), conn_(db_.url()) {}

  // Replaces every operation with `rows`; returns them as the store reads them back.
  std::vector<core::Operation> Load(const std::vector<Row>& rows) {
    {
      pqxx::nontransaction tx(conn_);
      tx.exec("DELETE FROM operations");
    }
    std::vector<OperationInsertParams> batch;
    for (const Row& r : rows) {
      OperationInsertParams p;
      p.id = core::NewOperationId(absl::Now());
      p.spec.kind = r.kind;
      p.spec.queue = r.queue;
      p.spec.labels = r.labels;
      p.max_attempts = 1;
      EXPECT_TRUE(core::ValidateSubmit(p.spec, {}, absl::Now()).ok()) << r.kind;
      batch.push_back(std::move(p));
    }
    auto inserted = store_.OperationInsertBatch(batch);
    EXPECT_TRUE(inserted.ok()) << inserted.status();
    {
      pqxx::nontransaction tx(conn_);
      for (size_t i = 0; i < rows.size(); ++i) {
        tx.exec_params("UPDATE operations SET state = $2::operation_state, create_time = " +
                           std::string(LONGRUN_MICROS_TO_TS("$3")) +
                           ", update_time = " + std::string(LONGRUN_MICROS_TO_TS("$4")) +
                           " WHERE id = $1::uuid",
                       batch[i].id, std::string(core::StateName(rows[i].state)),
                       rows[i].create_us, rows[i].update_us);
      }
    }
    auto read = store_.OperationList({.limit = 10000});
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok()) return {};
    // The rows read back are what both sides see; they must also be what was written.
    std::map<std::string, const Row*> by_id;
    for (size_t i = 0; i < rows.size(); ++i) by_id[batch[i].id] = &rows[i];
    EXPECT_EQ(read->size(), rows.size());
    for (const core::Operation& op : *read) {
      const Row& r = *by_id.at(op.id);
      EXPECT_EQ(absl::ToUnixMicros(op.create_time), r.create_us) << ShowRow(op);
      EXPECT_EQ(absl::ToUnixMicros(op.update_time), r.update_us) << ShowRow(op);
      EXPECT_EQ(op.labels, r.labels) << ShowRow(op);
    }
    return *read;
  }

  // Ids PostgreSQL selects with `filter`.
  absl::StatusOr<std::set<std::string>> SqlSelects(const core::FilterNode& filter) {
    auto ops = store_.OperationList({.filter = filter, .limit = 10000});
    if (!ops.ok()) return ops.status();
    std::set<std::string> ids;
    for (const core::Operation& op : *ops) ids.insert(op.id);
    return ids;
  }

  bool Disagree(const core::FilterNode& filter, const core::Operation& row) {
    auto sql = SqlSelects(filter);
    return !sql.ok() || (sql->count(row.id) > 0) != core::Matches(filter, row);
  }

  // The smallest subtree of `filter` on which the two sides still disagree about `row`.
  const core::FilterNode& Shrink(const core::FilterNode& filter, const core::Operation& row) {
    for (const core::FilterNode& child : filter.children) {
      if (Disagree(child, row)) return Shrink(child, row);
    }
    return filter;
  }

  std::string Reproducer(const std::string& text, const core::FilterNode& filter,
                         const core::Operation& row) {
    const core::FilterNode& minimal = Shrink(filter, row);
    std::vector<std::string> params;
    const std::string sql = FilterToSql(minimal, &params);
    for (std::string& p : params) p = absl::StrCat("'", absl::CHexEscape(p), "'");
    auto sql_ids = SqlSelects(minimal);
    return absl::StrCat(
        "\n  filter:          \"", absl::CHexEscape(text), "\"",
        "\n  minimal filter:  ", FormatFilter(minimal),
        "\n  row:             ", ShowRow(row),
        "\n  Matches():       ", core::Matches(minimal, row) ? "true" : "false",
        "\n  SQL:             ",
        sql_ids.ok() ? (sql_ids->count(row.id) > 0 ? "true" : "false") : sql_ids.status().ToString(),
        "\n  SQL text:        ", sql, "   params: ", absl::StrJoin(params, ", "));
  }

  TestDatabase db_;
  PgOperationStore store_;
  pqxx::connection conn_;
};

TEST_F(FilterAgreementTest, MatchesAndSqlSelectTheSameRows) {
  const uint64_t seed = EnvU64("LONGRUN_PROPERTY_SEED", kDefaultSeed);
  const int cases = static_cast<int>(EnvU64("LONGRUN_PROPERTY_CASES", kDefaultCases));
  std::cout << "filter agreement: seed " << seed << ", " << cases
            << " cases (reproduce with LONGRUN_PROPERTY_SEED=" << seed << ")" << std::endl;
  Rng rng(seed);
  const absl::Time start = absl::Now();
  int done = 0, failures = 0, none = 0, all = 0, rejected = 0;
  while (done < cases && failures < 5) {
    std::vector<Row> rows;
    for (int i = 0; i < kRowsPerRound; ++i) rows.push_back(RandomRow(rng));
    const std::vector<core::Operation> ops = Load(rows);
    ASSERT_EQ(ops.size(), rows.size());
    FilterGen gen(rng, ops);
    for (int f = 0; f < kFiltersPerRound && done < cases && failures < 5; ++f) {
      const std::string text = gen.Generate();
      auto parsed = core::ParseFilter(text);
      if (!parsed.ok() && absl::StrContains(parsed.status().message(), "limit is")) {
        ++rejected;  // over kMaxFilterBytes: the generator's problem, not a case
        continue;
      }
      ASSERT_TRUE(parsed.ok() && parsed->has_value())
          << "generated filter refused: \"" << absl::CHexEscape(text) << "\": " << parsed.status();
      const core::FilterNode& filter = **parsed;
      ++done;
      auto sql = SqlSelects(filter);
      if (!sql.ok()) {
        ++failures;
        ADD_FAILURE() << "case " << done << ": PostgreSQL refused the filter: " << sql.status()
                      << Reproducer(text, filter, ops[0]);
        continue;
      }
      size_t matched = 0;
      for (const core::Operation& op : ops) {
        const bool expected = core::Matches(filter, op);
        matched += expected ? 1 : 0;
        if (expected != (sql->count(op.id) > 0)) {
          ++failures;
          ADD_FAILURE() << "case " << done << " (seed " << seed
                        << "): Matches() and SQL disagree" << Reproducer(text, filter, op);
          break;
        }
      }
      if (matched == 0) ++none;
      if (matched == ops.size()) ++all;
    }
  }
  std::cout << "filter agreement: " << done << " cases in "
            << absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))
            << "; " << none << " selected no row, " << all << " every row, "
            << done - none - all << " some; " << rejected << " generated filters over the size limit"
            << std::endl;
  EXPECT_GE(done, std::min(cases, 2000)) << "too few cases ran";
  // A generator that only produced trivial filters would prove nothing.
  EXPECT_GE(done - none - all, done / 3) << "too few filters split the rows";
}

}  // namespace
}  // namespace longrun::store::pg
