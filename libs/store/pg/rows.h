// Decoding rows into core types, and encoding arrays as parameters: shared by the pg stores
// (PgOperationStore, PgCallbackStore, PgEventLog).
#ifndef LONGRUN_STORE_PG_ROWS_H_
#define LONGRUN_STORE_PG_ROWS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "libs/core/operation.h"

namespace longrun::store::pg {

// Column counts of LONGRUN_OPERATION_BASE_COLUMNS and LONGRUN_OPERATION_COLUMNS (queries.h).
inline constexpr int kOperationBaseColumns = 26;
inline constexpr int kOperationColumns = 34;

std::string ToJson(const google::protobuf::Struct& s);
std::string LabelsToJson(const std::map<std::string, std::string>& labels);

// A row this code cannot decode (a bug, or a schema it does not know, such as a state a
// newer migration added) is kInternal naming the column, never a silent default.
absl::Status Undecodable(absl::string_view column, absl::string_view id, absl::string_view why);
absl::StatusOr<core::State> DecodeState(const pqxx::field& f, absl::string_view id);
// A jsonb column that holds a JSON object.
absl::StatusOr<google::protobuf::Struct> DecodeObject(const pqxx::field& f,
                                                      absl::string_view column,
                                                      absl::string_view id);
std::optional<absl::Time> OptTime(const pqxx::field& f);

// Reads LONGRUN_OPERATION_BASE_COLUMNS or LONGRUN_OPERATION_COLUMNS (more columns after them
// are the caller's); `fingerprint` receives the stored request fingerprint.
absl::StatusOr<core::Operation> ReadOperation(const pqxx::row& r,
                                              std::string* fingerprint = nullptr);
// Decodes every row into *ops; the first row that cannot be decoded fails the read.
absl::Status ReadOperations(const pqxx::result& r, std::vector<core::Operation>* ops);

// Builds a PostgreSQL array literal (for text[], uuid[], jsonb[], int[] ... casts):
// elements quoted and escaped, nullopt as NULL.
class ArrayLiteral {
 public:
  ArrayLiteral() : out_("{") {}
  void Add(absl::string_view item) {
    Sep();
    out_.push_back('"');
    for (char c : item) {
      if (c == '"' || c == '\\') out_.push_back('\\');
      out_.push_back(c);
    }
    out_.push_back('"');
  }
  template <typename T>
  void Add(const std::optional<T>& item) {
    if (!item.has_value()) {
      Sep();
      out_.append("NULL");
    } else {
      Add(absl::StrCat(*item));
    }
  }
  std::string Done() { return out_ + "}"; }

 private:
  void Sep() {
    if (out_.size() > 1) out_.push_back(',');
  }
  std::string out_;
};

std::string TextArray(const std::vector<std::string>& items);

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_ROWS_H_
