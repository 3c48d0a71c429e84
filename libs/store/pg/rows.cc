#include "libs/store/pg/rows.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "libs/core/struct_json.h"

namespace longrun::store::pg {
std::string ToJson(const google::protobuf::Struct& s) { return core::StructToJson(s); }

absl::Status Undecodable(absl::string_view column, absl::string_view id, absl::string_view why) {
  return absl::InternalError(absl::StrCat("column operations.", column, " of operations/", id,
                                          " cannot be decoded: ", why));
}

absl::StatusOr<core::State> DecodeState(const pqxx::field& f, absl::string_view id) {
  const std::string text = f.as<std::string>();
  absl::StatusOr<core::State> state = core::ParseState(text);
  if (!state.ok()) return Undecodable("state", id, absl::StrCat("unknown state \"", text, "\""));
  return *state;
}

absl::StatusOr<google::protobuf::Struct> DecodeObject(const pqxx::field& f,
                                                      absl::string_view column,
                                                      absl::string_view id) {
  absl::StatusOr<google::protobuf::Struct> s = core::StructFromJson(f.as<std::string>());
  if (!s.ok()) return Undecodable(column, id, s.status().message());
  return s;
}

std::string LabelsToJson(const std::map<std::string, std::string>& labels) {
  google::protobuf::Struct s;
  for (const auto& [k, v] : labels) (*s.mutable_fields())[k].set_string_value(v);
  return ToJson(s);
}

std::optional<absl::Time> OptTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return absl::FromUnixMicros(f.as<int64_t>());
}

namespace {

// The attempts column (0004_attempts_inline.sql):
// [[attempt, worker_id, start_us, end_us, outcome, error_code, error_message], ...], where
// worker_id, start_us, error_code and error_message may be null.
absl::StatusOr<std::vector<core::AttemptRecord>> DecodeAttempts(const pqxx::field& f,
                                                                absl::string_view id) {
  std::vector<core::AttemptRecord> attempts;
  if (f.is_null()) return attempts;
  const absl::StatusOr<google::protobuf::Value> list = core::ValueFromJson(f.as<std::string>());
  if (!list.ok()) return Undecodable("attempts", id, list.status().message());
  if (!list->has_list_value()) return Undecodable("attempts", id, "not an array");
  using Kind = google::protobuf::Value::KindCase;
  auto is = [](const google::protobuf::Value& v, Kind kind, bool nullable) {
    return v.kind_case() == kind || (nullable && v.kind_case() == Kind::kNullValue);
  };
  for (int i = 0; i < list->list_value().values_size(); ++i) {
    const google::protobuf::Value& entry = list->list_value().values(i);
    const auto& e = entry.list_value().values();
    if (!entry.has_list_value() || e.size() != 7 || !is(e[0], Kind::kNumberValue, false) ||
        !is(e[1], Kind::kStringValue, true) || !is(e[2], Kind::kNumberValue, true) ||
        !is(e[3], Kind::kNumberValue, false) || !is(e[4], Kind::kStringValue, false) ||
        !is(e[5], Kind::kNumberValue, true) || !is(e[6], Kind::kStringValue, true)) {
      return Undecodable("attempts", id,
                         absl::StrCat("entry ", i, " is not [attempt, worker_id, start_us, "
                                      "end_us, outcome, error_code, error_message]"));
    }
    core::AttemptRecord a;
    a.attempt = static_cast<int32_t>(e[0].number_value());
    a.worker_id = e[1].string_value();
    if (e[2].has_number_value()) {
      a.start_time = absl::FromUnixMicros(static_cast<int64_t>(e[2].number_value()));
    }
    a.end_time = absl::FromUnixMicros(static_cast<int64_t>(e[3].number_value()));
    a.outcome = e[4].string_value();
    if (e[5].has_number_value()) {
      a.error = core::OperationError{static_cast<int>(e[5].number_value()), e[6].string_value()};
    }
    attempts.push_back(std::move(a));
  }
  return attempts;
}

}  // namespace

absl::StatusOr<core::Operation> ReadOperation(const pqxx::row& r, std::string* fingerprint) {
  core::Operation op;
  op.id = r[0].as<std::string>();
  op.tenant = r[1].as<std::string>();
  op.kind = r[2].as<std::string>();
  op.queue = r[3].as<std::string>();
  LONGRUN_ASSIGN_OR_RETURN(op.state, DecodeState(r[4], op.id));
  op.priority = r[5].as<int32_t>();
  op.attempt = r[6].as<int32_t>();
  op.max_attempts = r[7].as<int32_t>();
  if (!r[8].is_null()) op.timeout = absl::Microseconds(r[8].as<int64_t>());
  op.progress_percent = r[9].as<int32_t>();
  op.progress_message = r[10].as<std::string>();
  op.request_id = r[11].as<std::string>();
  LONGRUN_ASSIGN_OR_RETURN(const google::protobuf::Struct labels,
                           DecodeObject(r[12], "labels", op.id));
  for (const auto& [k, v] : labels.fields()) {
    if (!v.has_string_value()) {
      return Undecodable("labels", op.id, absl::StrCat("label \"", k, "\" is not a string"));
    }
    op.labels[k] = v.string_value();
  }
  op.create_time = absl::FromUnixMicros(r[13].as<int64_t>());
  op.update_time = absl::FromUnixMicros(r[14].as<int64_t>());
  op.run_at = absl::FromUnixMicros(r[15].as<int64_t>());
  op.start_time = OptTime(r[16]);
  op.end_time = OptTime(r[17]);
  op.version = r[18].as<int64_t>();
  if (!r[19].is_null()) {
    LONGRUN_ASSIGN_OR_RETURN(op.response, DecodeObject(r[19], "response", op.id));
  }
  if (!r[20].is_null()) {
    op.error = core::OperationError{r[20].as<int>(), r[21].is_null() ? "" : r[21].as<std::string>()};
  }
  if (fingerprint != nullptr && !r[22].is_null()) *fingerprint = r[22].as<std::string>();
  op.trace_id = r[23].as<std::string>();
  if (!r[24].is_null()) {
    core::CallbackStatus cb;
    cb.url = r[24].as<std::string>();
    if (!r[25].is_null() &&
        !core::ParseCallbackEvents(r[25].as<std::string>(), &cb.events)) {
      return Undecodable("callback_events", op.id,
                         absl::StrCat("unknown value \"", r[25].as<std::string>(), "\""));
    }
    op.callback = std::move(cb);
  }
  if (r.size() > kOperationBaseColumns) {
    LONGRUN_ASSIGN_OR_RETURN(op.attempts, DecodeAttempts(r[26], op.id));
  }
  // The latest delivery (LONGRUN_CALLBACK_LATERAL); none: WAITING, as the insert path knows.
  if (r.size() >= kOperationColumns && op.callback.has_value() && !r[27].is_null()) {
    core::CallbackStatus& cb = *op.callback;
    const std::string state = r[27].as<std::string>();
    if (!core::ParseCallbackState(state, &cb.state)) {
      return Undecodable("webhook_deliveries.state", op.id,
                         absl::StrCat("unknown state \"", state, "\""));
    }
    cb.attempts = r[28].as<int32_t>();
    cb.last_http_status = r[29].is_null() ? 0 : r[29].as<int32_t>();
    cb.last_error = r[30].is_null() ? "" : r[30].as<std::string>();
    cb.webhook_id = r[31].as<std::string>();
    cb.last_attempt_time = OptTime(r[32]);
    if (cb.state == core::CallbackState::kPending) cb.next_attempt_time = OptTime(r[33]);
  }
  return op;
}

absl::Status ReadOperations(const pqxx::result& r, std::vector<core::Operation>* ops) {
  ops->clear();
  ops->reserve(r.size());
  for (const auto& row : r) {
    LONGRUN_ASSIGN_OR_RETURN(core::Operation op, ReadOperation(row));
    ops->push_back(std::move(op));
  }
  return absl::OkStatus();
}

std::string TextArray(const std::vector<std::string>& items) {
  ArrayLiteral a;
  for (const std::string& item : items) a.Add(item);
  return a.Done();
}

}  // namespace longrun::store::pg
